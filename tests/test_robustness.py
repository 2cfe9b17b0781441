"""Perturbations for the robustness study: shapes, levels, statistics, determinism, errors."""

import numpy as np
import pytest

from mglwkd_lite.robustness import (
    LEVELS, RobustnessError, add_noise, change_rate, drop_samples, perturb,
)


@pytest.fixture
def windows():
    return np.random.default_rng(0).standard_normal((64, 3, 128)).astype(np.float32)


def test_noise_has_requested_std_and_keeps_input(windows):
    before = windows.copy()
    out = add_noise(windows, 0.12, np.random.default_rng(1))
    assert out.shape == windows.shape and out.dtype == np.float32
    assert np.array_equal(windows, before)
    assert abs(float((out - windows).std()) - 0.12) < 0.005


def test_zero_levels_are_identity(windows):
    assert np.array_equal(perturb(windows, "noise", 0.0), windows)
    assert np.array_equal(perturb(windows, "missing", 0.0), windows)
    assert np.allclose(perturb(windows, "rate", 1.0), windows)


@pytest.mark.parametrize("ratio", LEVELS["missing"][1:])
def test_missing_drops_exact_share_on_all_channels(windows, ratio):
    out = drop_samples(windows, ratio, np.random.default_rng(2))
    lost = np.all(out == 0, axis=1)  # (N, T): time steps zeroed on every channel
    assert np.all(lost.sum(axis=1) == round(ratio * windows.shape[-1]))
    kept = ~lost
    assert np.array_equal(out.transpose(0, 2, 1)[kept], windows.transpose(0, 2, 1)[kept])


def test_rate_change_resamples_a_sine():
    t = np.arange(128)
    x = np.sin(2 * np.pi * t / 32.0)[None, None, :]
    out = change_rate(x, 0.5)
    # Read at half the rate, step j is the signal at time 2j: period 16 samples within the window.
    assert np.allclose(out[0, 0, :60], np.sin(2 * np.pi * (2 * t[:60]) / 32.0), atol=1e-12)
    assert out.shape == x.shape


def test_same_seed_same_perturbation(windows):
    assert np.array_equal(perturb(windows, "missing", 0.3, seed=5), perturb(windows, "missing", 0.3, seed=5))
    assert not np.array_equal(perturb(windows, "noise", 0.1, seed=5), perturb(windows, "noise", 0.1, seed=6))


@pytest.mark.parametrize("kind, level, match", [
    ("noise", -0.1, "sigma must be >= 0"),
    ("missing", 1.0, r"ratio must be in \[0, 1\)"),
    ("rate", 0.0, "factor must be > 0"),
    ("blur", 0.1, "unknown perturbation 'blur'"),
])
def test_bad_levels_raise(windows, kind, level, match):
    with pytest.raises(RobustnessError, match=match):
        perturb(windows, kind, level)


def test_wrong_shape_raises():
    with pytest.raises(RobustnessError, match=r"\(N, C, T\)"):
        add_noise(np.zeros((3, 128)), 0.1, np.random.default_rng(0))
