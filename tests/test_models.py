"""Tests for mglwkd_lite.models: exact parameter counts, shapes, features, MACs."""

from __future__ import annotations

import pytest
import torch

from mglwkd_lite.models import (
    ModelError,
    ModelSpec,
    build_model,
    count_macs,
    count_parameters,
    wrn1d,
    wrn2d,
)
from mglwkd_lite.report.teachers import fidelity_table

# The group's released checkpoints (40 channels, 12 classes: PAMAP2) and the same architectures for
# 3 channels and 14 classes (GENEActiv).
# Written out here (not imported) so a changed constant in the package cannot hide a regression.
PAPER_COUNTS = [
    (1, 16, 1, 40, 12, 63_020),
    (1, 28, 1, 40, 12, 128_428),
    (2, 16, 1, 40, 12, 180_524),
    (2, 28, 1, 40, 12, 374_956),
    (1, 16, 1, 3, 14, 61_374),
    (1, 16, 3, 3, 14, 536_254),
    (2, 16, 1, 3, 14, 175_326),
    (2, 16, 3, 3, 14, 1_550_302),
]


@pytest.mark.parametrize("dim,depth,width,cin,ncls,expected", PAPER_COUNTS)
def test_parameter_counts_match_the_group_checkpoints(dim, depth, width, cin, ncls, expected):
    model = build_model(ModelSpec(dim, depth, width, cin, ncls))
    assert count_parameters(model) == expected


@pytest.mark.parametrize("depth,width", [(10, 1), (16, 1), (16, 3), (28, 1)])
def test_1d_shapes_and_features(depth, width):
    model = wrn1d(depth, width, in_channels=3, num_classes=6).eval()
    x = torch.randn(2, 3, 128)
    logits, feats = model(x, return_features=True)
    assert logits.shape == (2, 6)
    # strides [1, 1, 2, 2]: 128 -> 32 time steps, 64k channels
    assert feats.shape == (2, 64 * width, 32)
    assert model.feature_channels == 64 * width
    # features are post BN-ReLU and the logits are their pooled linear map
    assert (feats >= 0).all()
    torch.testing.assert_close(model.fc(feats.mean(-1)), logits)
    torch.testing.assert_close(model(x), logits)


@pytest.mark.parametrize("depth,width,res", [(10, 1, 16), (16, 1, 32), (16, 2, 16), (22, 1, 8)])
def test_2d_shapes_and_features(depth, width, res):
    model = wrn2d(depth, width, in_channels=3, num_classes=5).eval()
    x = torch.randn(2, 3, res, res)
    logits, feats = model(x, return_features=True)
    assert logits.shape == (2, 5)
    assert feats.shape == (2, 64 * width, res // 4, res // 4)
    torch.testing.assert_close(model.fc(feats.mean((-2, -1))), logits)


def test_odd_lengths_round_up():
    model = wrn1d(10, 1, 3, 4).eval()
    _, feats = model(torch.randn(1, 3, 100 + 1), return_features=True)
    assert feats.shape[-1] == 26  # ceil(ceil(101 / 2) / 2)


def test_batch_independence_in_eval_mode():
    model = wrn1d(10, 1, 3, 4).eval()
    x = torch.randn(4, 3, 64)
    torch.testing.assert_close(model(x)[1:2], model(x[1:2]))


def test_1d_and_2d_share_one_implementation():
    a, b = wrn1d(16, 1, 3, 6), wrn2d(16, 1, 3, 6)
    assert type(a) is type(b)
    assert [n for n, _ in a.named_parameters()] == [n for n, _ in b.named_parameters()]


def test_macs_from_flop_counter():
    # The stem alone: 3 -> 16 channels, kernel 3, 128 outputs = 3 * 16 * 3 * 128 MACs.
    model = wrn1d(16, 1, 3, 6)
    macs = count_macs(model, (1, 3, 128))
    assert macs > 3 * 16 * 3 * 128
    assert count_macs(model, (2, 3, 128)) == 2 * macs  # linear in the batch
    assert model.training  # counting leaves the train/eval mode alone
    # Convolutions scale with the pixel count, the final linear layer (192 -> 6) does not.
    big = wrn2d(16, 3, 3, 6)
    linear = 192 * 6
    assert count_macs(big, (1, 3, 64, 64)) - linear == 4 * (count_macs(big, (1, 3, 32, 32)) - linear)


def test_invalid_settings_raise():
    with pytest.raises(ModelError, match="6n \\+ 4"):
        wrn1d(15, 1, 3, 6)
    with pytest.raises(ModelError, match="dim"):
        build_model(ModelSpec(3, 16, 1, 3, 6))
    with pytest.raises(ModelError, match="in_channels"):
        wrn1d(16, 0, 3, 6)
    model = wrn1d(10, 1, 3, 6)
    with pytest.raises(ModelError, match=r"expects input \(N, C, T\) with C=3"):
        model(torch.zeros(2, 4, 32))


def test_fidelity_table():
    table = fidelity_table()
    assert len(table) == len(PAPER_COUNTS) and table["equal"].all()
    assert sorted(table["group"]) == sorted(c[-1] for c in PAPER_COUNTS)
