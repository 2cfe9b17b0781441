"""Tests of the global latent workspace: shapes, attention normalisation, gradients, inference path."""

from __future__ import annotations

import pytest
import torch

from mglwkd_lite.models import wrn1d, wrn2d
from mglwkd_lite.workspace import (
    CrossAttention,
    GlobalWorkspace,
    Preprocess,
    ResidualStudent,
    SlotAttention,
    WorkspaceConfig,
    WorkspaceError,
    common_shape,
    entropy_ratio,
    kts_as_kis,
    token_shape,
)
from mglwkd_lite.report.workspace import shape_table


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


# teacher-1 (1-D) and teacher-2 (2-D) feature shapes of different widths and image sizes,
# with the student's (64, 32) or a smaller student.
CASES = [
    ([(192, 32), (64, 16, 16)], (64, 32)),  # WRN16-3 signal, WRN16-1 PI at 64 x 64, WRN16-1 student
    ([(64, 32), (192, 8, 8)], (64, 32)),    # WRN16-1 signal, WRN16-3 PI at 32 x 32
    ([(128, 16), (32, 4, 4)], (16, 16)),    # narrow student; PI tokens have D = 16 already
    ([(40, 20), (24, 5, 6)], (24, 20)),     # odd sizes: D = 20 with 5 heads of 4
]


def test_token_and_common_shape():
    assert token_shape((64, 16, 16)) == (64, 256)
    assert token_shape((192, 32)) == (192, 32)
    assert common_shape((192, 32), (64, 16, 16), (64, 32)) == (64, 32)
    with pytest.raises(WorkspaceError, match="feature shape"):
        token_shape((5,))


@pytest.mark.parametrize("shape", [(192, 32), (64, 16, 16), (64, 32), (32, 3, 7)])
def test_preprocess_shapes_and_zero_positions(shape):
    pre = Preprocess(shape, tokens=32, dim=21, hidden=10)
    out = pre(torch.randn(3, *shape))
    assert out.shape == (3, 32, 21)
    assert torch.count_nonzero(pre.pos) == 0
    with pytest.raises(WorkspaceError, match="expects features"):
        pre(torch.randn(3, shape[0] + 1, *shape[1:]))


def test_preprocess_is_identity_when_shape_matches():
    pre = Preprocess((8, 6), tokens=8, dim=6)
    x = torch.randn(2, 8, 6)
    assert pre.is_identity_shape
    assert torch.equal(pre(x), x)


@pytest.mark.parametrize("iters", [1, 3])
def test_slot_attention_shapes_and_softmax_over_slots(iters):
    sa = SlotAttention(dim=12, num_sources=2, num_slots=4, num_iters=iters, mlp_hidden=16)
    slots, attn = sa([torch.randn(3, 7, 12), torch.randn(3, 9, 12)])
    assert slots.shape == (3, 4, 12)
    assert [a.shape for a in attn] == [(3, 4, 7), (3, 4, 9)]
    for a in attn:  # softmax over the slots: each token's column sums to one
        torch.testing.assert_close(a.sum(dim=1), torch.ones(a.shape[0], a.shape[2]))
        assert (a >= 0).all()


def test_slot_attention_last_iteration_detached_but_init_learns():
    sa = SlotAttention(dim=8, num_sources=2, num_slots=3, num_iters=3, mlp_hidden=8, dropout=0.0)
    slots, _ = sa([torch.randn(2, 5, 8), torch.randn(2, 5, 8)])
    slots.sum().backward()
    assert sa.slots.grad is not None and sa.slots.grad.abs().sum() > 0
    assert sa.gru.weight_hh.grad.abs().sum() > 0


def test_slot_attention_without_working_memory():
    sa = SlotAttention(dim=8, num_sources=2, num_slots=3, num_iters=1, working_memory=False)
    assert sa.gru is None
    assert sa([torch.randn(2, 5, 8), torch.randn(2, 4, 8)])[0].shape == (2, 3, 8)
    with pytest.raises(WorkspaceError, match="2 sources"):
        sa([torch.randn(2, 5, 8)])


@pytest.mark.parametrize("dim,heads", [(32, 5), (20, 5), (12, 4), (7, 1)])
def test_cross_attention_shapes_rows_sum_to_one(dim, heads):
    ca = CrossAttention(dim, heads)
    q, s = torch.randn(2, 6, dim), torch.randn(2, 5, dim)
    out, kts = ca(q, s)
    assert out.shape == (2, 6, dim) and kts.shape == (2, 6, 5)
    torch.testing.assert_close(kts.sum(-1), torch.ones(2, 6))
    assert ca.head_dim * heads >= dim
    # shared (K, D) slots broadcast over the batch
    assert ca(q, s[0])[1].shape == (2, 6, 5)


@pytest.mark.parametrize("teachers,student", CASES)
def test_workspace_shapes(teachers, student):
    ws = GlobalWorkspace(teachers, student, WorkspaceConfig(mlp_hidden=16))
    feats = [torch.randn(2, *s) for s in teachers]
    out = ws(feats, torch.randn(2, *student))
    L, D = token_shape(student)
    assert (ws.tokens, ws.dim) == (L, D)
    assert out.slots.shape == (2, 5, D)
    assert [k.shape for k in out.kis] == [(2, 5, L)] * 2
    assert out.kts.shape == (2, L, 5)
    assert kts_as_kis(out.kts).shape == out.kis[0].shape
    assert out.enhanced_features.shape == (2, *student)
    assert out.transferred.shape == out.student_tokens.shape == (2, L, D)


def test_workspace_rejects_a_student_larger_than_a_teacher():
    with pytest.raises(WorkspaceError, match="smallest"):
        GlobalWorkspace([(32, 32), (16, 4, 4)], (64, 32))


def test_gradients_reach_student_and_workspace_not_frozen_teachers():
    student = wrn1d(10, 1, 3, 4)
    t1, t2 = wrn1d(10, 2, 3, 4), wrn2d(10, 1, 3, 4)
    for t in (t1, t2):
        t.requires_grad_(False).eval()
    x, pi = torch.randn(4, 3, 32), torch.rand(4, 3, 16, 16)
    _, f1 = t1(x, return_features=True)
    _, f2 = t2(pi, return_features=True)
    _, fs = student(x, return_features=True)
    ws = GlobalWorkspace([f1.shape[1:], f2.shape[1:]], fs.shape[1:])
    out = ws([f1, f2], fs)
    loss = student.fc(out.enhanced_features.mean(-1)).pow(2).sum() + (kts_as_kis(out.kts) - out.kis[0]).pow(2).sum()
    loss.backward()
    assert student.stem.weight.grad.abs().sum() > 0
    for name in ("binding.slots", "binding.to_q.weight", "transfer.to_q.weight", "teacher_pre.0.pos"):
        assert ws.get_parameter(name).grad.abs().sum() > 0, name
    assert all(p.grad is None for t in (t1, t2) for p in t.parameters())


def test_slot_mean_tracks_training_only_and_residual_student_needs_no_teacher():
    ws = GlobalWorkspace([(128, 8), (64, 4, 4)], (64, 8), WorkspaceConfig(slot_momentum=1.0))
    teachers = [torch.randn(2, 128, 8), torch.randn(2, 64, 4, 4)]
    before = ws.slot_mean.clone()
    ws.eval()
    ws(teachers, torch.randn(2, 64, 8))
    assert torch.equal(ws.slot_mean, before)
    ws.train()
    out = ws(teachers, torch.randn(2, 64, 8))
    torch.testing.assert_close(ws.slot_mean, out.slots.detach().mean(0))
    student = wrn1d(10, 1, 3, 5)  # features (64, 8) for 32-sample windows
    model = ResidualStudent(student, ws).eval()
    with torch.no_grad():
        logits = model(torch.randn(3, 3, 32))
    assert logits.shape == (3, 5) and torch.isfinite(logits).all()


def test_invalid_config():
    with pytest.raises(WorkspaceError, match="num_slots"):
        WorkspaceConfig(num_slots=0)
    with pytest.raises(WorkspaceError, match="dropout"):
        WorkspaceConfig(dropout=1.0)


def test_shape_table():
    table = shape_table([(192, 32), (64, 8, 8)], (64, 32))
    assert table.loc["KIS, PI teacher", "shape"] == "2 x 5 x 64"
    assert table.loc["KTS", "shape"] == "2 x 64 x 5"
    assert table.loc["slots", "shape"] == "2 x 5 x 32"
    assert table.loc["enhanced student features", "shape"] == "2 x 64 x 32"
    n = sum(p.numel() for p in GlobalWorkspace([(192, 32), (64, 8, 8)], (64, 32)).parameters())
    assert table.loc["workspace parameters", "shape"] == f"{n:,}"


def test_attention_temperature_sharpens_the_kis_and_defaults_to_the_papers_scaling():
    assert WorkspaceConfig().attn_temperature == 1.0
    sources = [torch.randn(4, 7, 12), torch.randn(4, 9, 12)]
    entropies = []
    for temp in (1.0, 0.1):
        torch.manual_seed(1)
        sa = SlotAttention(dim=12, num_slots=4, num_iters=3, mlp_hidden=16, dropout=0.0, temperature=temp)
        assert sa.scale == pytest.approx(12 ** -0.5 / temp)
        _, attn = sa(sources)
        entropies.append(float(entropy_ratio(attn[0].detach(), dim=1)))
    assert entropies[1] < entropies[0]  # same weights, only the temperature differs
    ws = GlobalWorkspace([(48, 32), (16, 8, 8)], (16, 32), WorkspaceConfig(attn_temperature=0.25))
    assert ws.binding.scale == pytest.approx(32 ** -0.5 / 0.25)
    with pytest.raises(WorkspaceError, match="attn_temperature"):
        WorkspaceConfig(attn_temperature=0.0)
    with pytest.raises(WorkspaceError, match="temperature"):
        SlotAttention(dim=12, temperature=-1.0)
