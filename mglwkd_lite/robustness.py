"""Perturbations of normalised windows for the robustness study (DESIGN section 8).

Each function maps windows ``(N, C, T)`` to perturbed windows of the same shape and dtype, takes an
explicit NumPy ``Generator`` (no global random state) and leaves its input untouched.

Definitions (the group's exact code is not public, so these are the project's, stated once here and
in the book):

- **Gaussian noise** ``sigma``: ``x + sigma * e`` with ``e ~ N(0, 1)`` i.i.d. per sample and channel,
  on the *normalised* signal (unit variance per channel over the training set), so ``sigma = 0.12``
  is 12 % of a channel's training standard deviation.
- **Missing data** ``ratio``: a share ``ratio`` of the time steps of each window, drawn at random
  without replacement, is lost on all channels at once (a dropped packet carries all three axes)
  and filled with 0, the training mean after normalisation -- what a device that zero-fills
  dropped samples would deliver.
- **Sampling rate** ``factor``: the window is re-read as if the sensor ran at ``factor`` times the
  training rate: output step ``j`` is the signal at time ``j / factor`` (linear interpolation),
  so ``factor = 0.8`` (a 40 Hz device seen by a 50 Hz model) stretches the motion over fewer
  samples. Times past the window's end are read from its mirror image, keeping the length ``T``.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

__all__ = [
    "RobustnessError",
    "add_noise",
    "drop_samples",
    "change_rate",
    "PERTURBATIONS",
    "LEVELS",
    "perturb",
]


class RobustnessError(ValueError):
    """An invalid perturbation or level."""


def _check(x: np.ndarray) -> np.ndarray:
    """``x`` as an array, if it has the shape ``(N, C, T)`` of windows."""
    x = np.asarray(x)
    if x.ndim != 3:
        raise RobustnessError(f"windows must be (N, C, T), got shape {x.shape}")
    return x


def add_noise(x: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Additive white Gaussian noise.

    Parameters
    ----------
    x : numpy.ndarray
        ``(N, C, T)`` normalised windows (left untouched).
    sigma : float
        Standard deviation of the noise, ``>= 0``.
    rng : numpy.random.Generator
        Source of the noise.

    Returns
    -------
    numpy.ndarray
        ``x + sigma * e`` with ``e ~ N(0, 1)`` i.i.d., same shape and dtype as ``x``.

    Raises
    ------
    RobustnessError
        If ``x`` is not ``(N, C, T)`` or ``sigma < 0``.
    """
    x = _check(x)
    if not sigma >= 0:
        raise RobustnessError(f"noise sigma must be >= 0, got {sigma}")
    return (x + sigma * rng.standard_normal(x.shape)).astype(x.dtype, copy=False)


def drop_samples(x: np.ndarray, ratio: float, rng: np.random.Generator) -> np.ndarray:
    """Zero a share of the time steps of each window, on every channel at once (missing data).

    A dropped packet carries all three axes, so a lost step is lost on every channel; 0 is the
    training mean after normalisation.

    Parameters
    ----------
    x : numpy.ndarray
        ``(N, C, T)`` normalised windows (left untouched).
    ratio : float
        Share of the ``T`` steps lost per window, in ``[0, 1)``; ``round(ratio * T)`` steps, drawn
        without replacement.
    rng : numpy.random.Generator
        Source of the lost steps.

    Returns
    -------
    numpy.ndarray
        A copy of ``x`` with the lost steps set to 0.

    Raises
    ------
    RobustnessError
        If ``x`` is not ``(N, C, T)`` or ``ratio`` is outside ``[0, 1)``.
    """
    x = _check(x)
    if not 0 <= ratio < 1:
        raise RobustnessError(f"missing-data ratio must be in [0, 1), got {ratio}")
    n, _, t = x.shape
    k = int(round(ratio * t))
    out = x.copy()
    if k == 0:
        return out
    # The k smallest of T uniform keys per window: a uniform random subset, vectorised.
    lost = np.argpartition(rng.random((n, t)), k - 1, axis=1)[:, :k]
    out[np.arange(n)[:, None], :, lost] = 0
    return out


def change_rate(x: np.ndarray, factor: float, rng: np.random.Generator | None = None) -> np.ndarray:
    """Re-read windows as if sampled at ``factor`` times the training rate (linear interpolation).

    Parameters
    ----------
    x : numpy.ndarray
        ``(N, C, T)`` windows (left untouched).
    factor : float
        Device rate over training rate, ``> 0``; output step ``j`` is the signal at time
        ``j / factor``, mirrored past the window's end.
    rng : numpy.random.Generator, optional
        Accepted and ignored, so that every perturbation has one signature.

    Returns
    -------
    numpy.ndarray
        ``(N, C, T)``, dtype of ``x``.

    Raises
    ------
    RobustnessError
        If ``x`` is not ``(N, C, T)`` or ``factor <= 0``.
    """
    x = _check(x)
    if not factor > 0:
        raise RobustnessError(f"rate factor must be > 0, got {factor}")
    t = x.shape[-1]
    pos = np.arange(t) / factor
    period = 2 * (t - 1) if t > 1 else 1
    pos = np.mod(pos, period)
    pos = np.where(pos > t - 1, period - pos, pos)  # mirror past the end
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, t - 1)
    w = (pos - lo).astype(x.dtype)
    return x[..., lo] * (1 - w) + x[..., hi] * w


PERTURBATIONS: dict[str, Callable[..., np.ndarray]] = {
    "noise": add_noise,
    "missing": drop_samples,
    "rate": change_rate,
}
"""Perturbation name -> function ``f(x, level, rng)``."""

LEVELS: dict[str, tuple[float, ...]] = {
    "noise": (0.0, 0.06, 0.09, 0.12),
    "missing": (0.0, 0.15, 0.22, 0.30),
    "rate": (1.0, 0.8, 0.9, 1.1, 1.25),
}
"""The levels studied: the group's noise and missing-data levels, and rate factors around 1."""


def perturb(x: np.ndarray, kind: str, level: float, seed: int = 0) -> np.ndarray:
    """Apply one perturbation with a generator seeded by ``seed``.

    Parameters
    ----------
    x : numpy.ndarray
        ``(N, C, T)`` normalised windows (left untouched).
    kind : {"noise", "missing", "rate"}
        A key of :data:`PERTURBATIONS`.
    level : float
        ``sigma``, ``ratio`` or ``factor`` of that perturbation (see :data:`LEVELS`).
    seed : int
        Seed of the ``numpy.random.Generator``.

    Returns
    -------
    numpy.ndarray
        The perturbed windows.

    Raises
    ------
    RobustnessError
        For an unknown ``kind`` or an invalid ``level``.
    """
    if kind not in PERTURBATIONS:
        raise RobustnessError(f"unknown perturbation {kind!r}; expected one of {sorted(PERTURBATIONS)}")
    return PERTURBATIONS[kind](x, level, np.random.default_rng(seed))
