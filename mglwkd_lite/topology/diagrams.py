"""Persistence diagrams of accelerometer windows: the input scaling, the fast exact elder-rule path
and the ``ripser`` reference path (definitions in :mod:`mglwkd_lite.topology`)."""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Literal

import numpy as np
from ripser import ripser
from scipy import sparse

from .config import PIConfig, TopologyError

__all__ = [
    "scale_windows",
    "fit_dataset_scaling",
    "elder_pairs",
    "kept_pairs",
    "window_pairs",
    "pair_counts",
    "reference_diagram",
    "persistence_diagrams",
]


# ----------------------------------------------------------------------------------------------
# input checks and scaling


def _check_windows(windows: Any) -> np.ndarray:
    """Validate ``(N, C, T)`` real, finite windows; return them as a float64 array."""
    arr = np.asarray(windows)
    if arr.ndim != 3:
        raise TopologyError(f"windows must have shape (N, C, T), got an array of shape {arr.shape}")
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise TopologyError(f"windows must hold real numbers, got dtype {arr.dtype}")
    if arr.shape[2] < 1:
        raise TopologyError(f"windows must have at least one sample (T >= 1), got shape {arr.shape}")
    arr = arr.astype(np.float64, copy=False)
    finite = np.isfinite(arr).all(axis=2)
    if not finite.all():
        n, c = (int(v) for v in np.argwhere(~finite)[0])
        t = int(np.flatnonzero(~np.isfinite(arr[n, c]))[0])
        raise TopologyError(
            f"window {n}, channel {c} holds a non-finite value ({arr[n, c, t]!r} at sample {t}); "
            f"{int((~finite).sum())} window channel(s) affected: persistence needs finite signals"
        )
    return arr


def scale_windows(windows: np.ndarray, cfg: PIConfig = PIConfig()) -> np.ndarray:
    """Apply the documented input scaling.

    Parameters
    ----------
    windows : numpy.ndarray
        ``(N, C, T)`` real, finite.
    cfg : PIConfig
        ``cfg.scaling == "window"`` maps each channel of each window affinely onto
        ``[-cfg.span / 2, cfg.span / 2]`` (a constant channel becomes zeros); ``"dataset"`` maps
        channel ``c`` of every window affinely from ``cfg.channel_range[c]`` onto
        ``cfg.target_range``, clipping values outside first when ``cfg.clip``; ``"none"`` leaves it.

    Returns
    -------
    numpy.ndarray
        ``(N, C, T)`` float64 (a new array).

    Raises
    ------
    TopologyError
        If ``windows`` is not ``(N, C, T)``, not real, or holds NaN / inf (the message names the
        first window and channel), or if ``cfg.channel_range`` has another number of channels.
    """
    x = _check_windows(windows)
    if cfg.scaling == "none":
        return x.copy() if x is windows else x
    if cfg.scaling == "dataset":
        return _scale_dataset(x, cfg)
    hi = x.max(axis=2, keepdims=True)
    lo = x.min(axis=2, keepdims=True)
    rng = hi - lo
    factor = np.divide(cfg.span, rng, out=np.zeros_like(rng), where=rng > 0)
    return (x - (hi + lo) / 2.0) * factor


def _scale_dataset(x: np.ndarray, cfg: PIConfig) -> np.ndarray:
    """``scaling="dataset"``: one fixed affine map per channel, the same for every window."""
    rng = np.asarray(cfg.channel_range, dtype=np.float64)
    if len(rng) != x.shape[1]:
        raise TopologyError(f"PIConfig.channel_range has {len(rng)} channel(s), the windows have {x.shape[1]}")
    lo, hi = rng[None, :, 0, None], rng[None, :, 1, None]
    a, b = cfg.target_range
    if cfg.clip:
        x = np.clip(x, lo, hi)
    return a + (b - a) * (x - lo) / (hi - lo)


def fit_dataset_scaling(
    train_windows: np.ndarray,
    cfg: PIConfig = PIConfig(),
    percentiles: tuple[float, float] = (0.1, 99.9),
    pers_percentile: float = 99.9,
    pad_px: float = 1.0,
) -> PIConfig:
    """``cfg`` with ``scaling="dataset"`` and every range fitted on *training* windows only.

    1. ``channel_range[c]``: the ``percentiles`` of channel ``c`` over every training window and
       sample (``(0, 100)`` gives min / max); a constant channel gets ``(v, v + 1)``. Windows of
       every split are mapped with it onto ``cfg.target_range`` and clipped (``cfg.clip``).
    2. ``birth_range``: min to max of the births of the training windows' kept pairs (persistence
       above ``cfg.cut``), padded by ``pad_px`` pixels on each side; ``pers_range``: 0 to the
       ``pers_percentile`` of their persistences, padded by ``pad_px`` pixels at the top (no pair
       lies below the cut, so the bottom needs none).

    Parameters
    ----------
    train_windows : numpy.ndarray
        ``(N, C, T)`` training windows (after the data normaliser).
    cfg : PIConfig
        The other settings (resolution, cut, ``sigma_px``, target range, clipping) to keep.
    percentiles : tuple of float
        Lower and upper percentile of each channel's range.
    pers_percentile : float
        Percentile of the kept persistences that the persistence range reaches (before padding).
    pad_px : float
        Padding, in pixels of the final image, around the fitted birth and persistence ranges.

    Returns
    -------
    PIConfig
        The fitted settings (all of them part of every cache and run key). Without any kept pair
        the image ranges of ``cfg`` are kept.

    Raises
    ------
    TopologyError
        If the windows are not ``(N, C, T)`` real and finite, or a percentile is out of ``[0, 100]``.
    """
    x = _check_windows(train_windows)
    pcts = (*percentiles, pers_percentile)
    if len(percentiles) != 2 or not all(0.0 <= p <= 100.0 for p in pcts) or not percentiles[0] < percentiles[1]:
        raise TopologyError(f"percentiles must be 0 <= lo < hi <= 100, got {percentiles!r} and {pers_percentile!r}")
    if not (np.isfinite(pad_px) and pad_px >= 0):
        raise TopologyError(f"pad_px must be finite and >= 0, got {pad_px!r}")
    lo, hi = np.percentile(x, percentiles, axis=(0, 2))
    hi = np.where(hi > lo, hi, lo + 1.0)
    out = dataclasses.replace(cfg, scaling="dataset", channel_range=tuple(zip(lo.tolist(), hi.tolist())))
    N, C, T = x.shape
    _, birth, pers = kept_pairs(_scale_dataset(x, out).reshape(N * C, T), out.cut)
    if birth.size == 0:
        return out
    blo, bhi = float(birth.min()), float(birth.max())
    phi = float(np.percentile(pers, pers_percentile))
    R = out.resolution
    # Pixel size p with R pixels over the padded range: (hi - lo) + 2 * pad_px * p = R * p.
    bpad = pad_px * max(bhi - blo, 1e-12) / max(R - 2 * pad_px, 1.0)
    ppad = pad_px * phi / max(R - pad_px, 1.0)
    return dataclasses.replace(out, birth_range=(blo - bpad, bhi + bpad), pers_range=(0.0, phi + ppad))


# ----------------------------------------------------------------------------------------------
# fast exact diagrams: elder rule with sparse tables over a whole batch


def elder_pairs(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """All finite 0-dimensional sublevel-set pairs of many 1-D signals at once (float64, exact).

    Parameters
    ----------
    x : numpy.ndarray
        ``(B, T)`` float64 signals (rows are independent).

    Returns
    -------
    row, birth, death, position : numpy.ndarray
        ``(M,)`` arrays, one entry per local minimum that dies (``position``: its sample index; the
        global minimum of each row is left out), in row-major order of the minima. ``death ==
        birth`` happens for a minimum that merges at its own value (a tie), which
        :func:`kept_pairs` removes.
    """
    B, T = x.shape
    empty = (np.empty(0, dtype=np.intp), np.empty(0), np.empty(0), np.empty(0, dtype=np.intp))
    if T < 3 or B == 0:  # no local minimum besides the global one can exist
        return empty
    # Local minima in the total order (value, index): the left neighbour comes later (strictly
    # greater value) and the right neighbour comes later (greater or equal value); row ends count as
    # later. Only these create components, so only they are lifted below.
    is_min = np.ones((B, T), dtype=bool)
    is_min[:, 1:] = x[:, :-1] > x[:, 1:]
    is_min[:, :-1] &= x[:, 1:] >= x[:, :-1]
    row, t = np.nonzero(is_min)
    if row.size == 0:
        return empty
    # Each row gets a -inf sentinel on both sides, so no jump ever leaves its row: a block holding a
    # sentinel is never skipped. Rows are then laid end to end in one flat array, with a tail of
    # sentinels so that no block index runs past the end.
    W = T + 2
    levels = int(math.floor(math.log2(T - 1))) + 1  # a skipped block holds at most T - 1 samples
    flat = np.full(B * W + (1 << levels), -np.inf)
    flat[: B * W].reshape(B, W)[:, 1:-1] = x
    cand = row * W + t + 1
    xi = flat[cand]

    # Sparse tables: row k holds the min / max of the 2**k samples ending at j. A block cut short at
    # the array start still holds index 0, a sentinel, so it is never skipped either.
    n = flat.size
    mins = np.empty((levels, n))
    maxs = np.empty((levels, n))
    mins[0] = maxs[0] = flat
    for k in range(1, levels):
        h = 1 << (k - 1)
        mins[k, :h] = mins[k - 1, :h]
        maxs[k, :h] = maxs[k - 1, :h]
        np.minimum(mins[k - 1, h:], mins[k - 1, :-h], out=mins[k, h:])
        np.maximum(maxs[k - 1, h:], maxs[k - 1, :-h], out=maxs[k, h:])

    # Left: ``last`` is the last sample not yet passed (starts at i - 1). Jump over the block of 2^k
    # samples ending there if all of them come later than i (value > x_i), largest blocks first
    # (binary lifting); at the end ``last`` is the nearest earlier sample L.
    last = cand - 1
    for k in range(levels - 1, -1, -1):
        last -= (mins[k][last] > xi) * (1 << k)
    # Right: ``done`` is the last sample passed (starts at i); pass the block ending at done + 2^k if
    # all its values are >= x_i (later than i in the total order). Then done + 1 is R.
    done = cand.copy()
    for k in range(levels - 1, -1, -1):
        done += (mins[k][done + (1 << k)] >= xi) * (1 << k)

    def range_max(first: np.ndarray, stop: np.ndarray) -> np.ndarray:
        """max flat[first .. stop] (inclusive, first <= stop) from two overlapping table blocks."""
        k = np.frexp((stop - first + 1).astype(np.float64))[1] - 1  # floor(log2(length)), exact
        return np.maximum(maxs.ravel()[k * n + stop], maxs.ravel()[k * n + first + (1 << k) - 1])

    # The water must rise to the highest sample between i and L (or R) to reach it. A candidate's
    # neighbours come later, so both ranges are non-empty unless L or R is a sentinel (then +inf).
    left_max = range_max(np.minimum(last + 1, cand - 1), cand - 1)
    left_max[flat[last] == -np.inf] = np.inf
    right_max = range_max(cand + 1, np.maximum(done, cand + 1))
    right_max[flat[done + 1] == -np.inf] = np.inf

    death = np.minimum(left_max, right_max)
    finite = np.isfinite(death)  # exactly one infinite death per row: its global minimum
    return row[finite], xi[finite], death[finite], t[finite]


def kept_pairs(x: np.ndarray, threshold: float | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The pairs of many 1-D signals whose persistence is above a threshold.

    Parameters
    ----------
    x : numpy.ndarray
        ``(B, T)`` float64 signals (rows are independent).
    threshold : float or None
        Keep pairs with persistence ``> threshold`` (``None``: ``> 0``).

    Returns
    -------
    row, birth, persistence : numpy.ndarray
        ``(M,)`` arrays in row-major order of the minima (see :func:`elder_pairs`).
    """
    row, birth, death, _ = elder_pairs(x)
    pers = death - birth
    keep = pers > (0.0 if threshold is None else threshold)
    return row[keep], birth[keep], pers[keep]


def reference_diagram(signal: np.ndarray) -> np.ndarray:
    """Finite pairs of one 1-D signal with ``ripser`` on the lower-star filtration (float32 values).

    Parameters
    ----------
    signal : numpy.ndarray
        ``(T,)`` finite values (already scaled).

    Returns
    -------
    numpy.ndarray
        ``(k, 2)`` float64 ``(birth, death)`` rows, ``death > birth``, sorted; the infinite pair
        dropped.
    """
    x = np.asarray(signal, dtype=np.float64).ravel()
    T = x.size
    if T < 2:
        return np.empty((0, 2))
    idx = np.arange(T)
    rows = np.concatenate([idx, idx[:-1]])
    cols = np.concatenate([idx, idx[1:]])
    vals = np.concatenate([x, np.maximum(x[:-1], x[1:])])
    dist = sparse.coo_matrix((vals, (rows, cols)), shape=(T, T)).tocsr()
    dgm = ripser(dist, maxdim=0, distance_matrix=True)["dgms"][0]
    dgm = dgm[np.isfinite(dgm[:, 1]) & (dgm[:, 1] > dgm[:, 0])]
    return dgm[np.lexsort((dgm[:, 1], dgm[:, 0]))]


def persistence_diagrams(
    windows: np.ndarray,
    cfg: PIConfig = PIConfig(),
    method: Literal["fast", "reference"] = "fast",
    threshold: bool = True,
) -> list[list[np.ndarray]]:
    """Persistence diagrams of every channel of every window.

    Parameters
    ----------
    windows : numpy.ndarray
        ``(N, C, T)`` real, finite.
    cfg : PIConfig
        Scaling and thresholds.
    method : {"fast", "reference"}
        ``"fast"`` (float64, exact) or ``"reference"`` (``ripser``, float32 values).
    threshold : bool
        Keep only pairs with persistence ``> cfg.cut`` (as the images do); otherwise every
        finite pair with positive persistence.

    Returns
    -------
    list of list of numpy.ndarray
        ``diagrams[n][c]``: ``(k, 2)`` float64 array of ``(birth, death)``, sorted by birth then
        death.

    Raises
    ------
    TopologyError
        Bad windows (see :func:`scale_windows`) or an unknown ``method``.
    """
    x = scale_windows(windows, cfg)
    N, C, T = x.shape
    thr = cfg.cut if threshold else None
    out: list[list[np.ndarray]] = [[np.empty((0, 2)) for _ in range(C)] for _ in range(N)]
    if method == "reference":
        for n in range(N):
            for c in range(C):
                dgm = reference_diagram(x[n, c])
                if thr is not None:
                    dgm = dgm[dgm[:, 1] - dgm[:, 0] > thr]
                out[n][c] = dgm
        return out
    if method != "fast":
        raise TopologyError(f"method must be 'fast' or 'reference', got {method!r}")
    row, birth, pers = kept_pairs(x.reshape(N * C, T), thr)
    dgm_all = np.stack([birth, birth + pers], axis=1)
    order = np.lexsort((dgm_all[:, 1], dgm_all[:, 0], row))
    row, dgm_all = row[order], dgm_all[order]
    bounds = np.searchsorted(row, np.arange(N * C + 1))
    for r in range(N * C):
        out[r // C][r % C] = dgm_all[bounds[r] : bounds[r + 1]]
    return out


def window_pairs(
    windows: np.ndarray, cfg: PIConfig = PIConfig()
) -> tuple[tuple[int, int], np.ndarray, np.ndarray, np.ndarray]:
    """The pairs the images are drawn from: every channel of every window, scaled, cut at ``cfg.cut``.

    Parameters
    ----------
    windows : numpy.ndarray
        ``(N, C, T)`` real, finite.
    cfg : PIConfig
        The scaling and the cut of the images.

    Returns
    -------
    shape : tuple of int
        ``(N, C)``.
    row, birth, persistence : numpy.ndarray
        ``(M,)`` arrays; ``row = n * C + c`` names the window and channel of each pair.
    """
    x = scale_windows(windows, cfg)
    N, C, T = x.shape
    return (N, C), *kept_pairs(x.reshape(N * C, T), cfg.cut)


def pair_counts(windows: np.ndarray, cfg: PIConfig = PIConfig()) -> np.ndarray:
    """Number of pairs each channel's image is drawn from (see :func:`window_pairs`).

    Parameters
    ----------
    windows : numpy.ndarray
        ``(N, C, T)`` windows, as for :func:`window_pairs`.
    cfg : PIConfig
        Image settings.

    Returns
    -------
    numpy.ndarray
        ``(N, C)`` int64 counts.
    """
    (N, C), row, _, _ = window_pairs(windows, cfg)
    return np.bincount(row, minlength=N * C).reshape(N, C)
