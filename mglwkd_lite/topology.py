"""Persistence diagrams and persistence images of accelerometer windows.

Each channel of a window is a 1-D signal. Its **0-dimensional sublevel-set persistence** tracks the
connected components of ``{t : x(t) <= a}`` as the level ``a`` rises: a component is born at a local
minimum and dies when it merges with a component born earlier (the *elder rule*). The global minimum
never dies; its infinite pair is dropped. Every finite pair ``(birth, death)`` becomes the point
``(birth, persistence = death - birth)`` of a **persistence image** :cite:`adams2017persistence`: a
sum of Gaussians, one per point, weighted linearly by persistence, integrated over the pixels of a
fixed grid and divided by the image maximum. The three channels' images are stacked.

Definition (both paths compute exactly this)
--------------------------------------------
1. **Scaling** (``PIConfig.scaling = "window"``, the default). Each channel of each window is mapped
   affinely onto ``[-span/2, span/2]`` (``span = 0.9``): ``x' = span * (x - (max + min) / 2) /
   (max - min)``. Then every birth lies in ``[-0.45, 0.45]`` and every persistence in ``[0, 0.9]``, so
   all points fall inside the paper's fixed ranges ``[-1, 1] x [-1, 1]`` and at least ``0.1`` (6.7
   sigma) from the border: nothing is clipped. A constant channel maps to zeros (no pairs, an all-zero
   image). ``scaling = "none"`` uses the values as given (the caller scales them).
2. **Diagram**: the finite pairs of the 0-dimensional lower-star (sublevel-set) filtration of the
   path graph ``0 - 1 - ... - T-1``, in float64. Pairs with persistence ``<= noise_floor`` (1e-3) are
   removed, then only pairs with persistence ``> min_persistence`` (0.01) are kept (the group's two
   steps; the second implies the first). Pairs within 1e-7 of the cut count as at the cut and are
   dropped (:attr:`PIConfig.cut`): quantised signals do hit it exactly, and rounding must not decide.
3. **Image**: pixel edges ``e_k = lo + k * (hi - lo) / R`` on each axis (as ``persim`` builds them),
   a point ``(b, p)`` with weight ``w = p / max p`` adds ``w * [Phi((e_{j+1} - b) / s) - Phi((e_j -
   b) / s)] * [Phi((e_{i+1} - p) / s) - Phi((e_i - p) / s)]`` to pixel ``(i, j)`` (``Phi`` the standard
   normal CDF, ``s = sigma`` a standard deviation). Mass falling outside the ranges is lost. The image
   is divided by its maximum; an image with no points stays zero.
4. **Layout**: ``images[n, c, i, j]`` holds persistence bin ``i`` (rows) and birth bin ``j``
   (columns), so ``plt.imshow(img, origin="lower", extent=(*birth_range, *pers_range))`` draws birth
   along x and persistence upwards. (``persim.PersistenceImager`` returns the transpose.)

Two paths
---------
``method="reference"`` runs ``ripser`` :cite:`bauer2021ripser` on the lower-star filtration (a sparse
distance matrix with the signal on its diagonal and ``max(x_i, x_{i+1})`` on the path edges) and
``persim.PersistenceImager``, one channel at a time. Note two traps of ``PersistenceImager``: its
``kernel_params["sigma"]`` is a *variance* (we pass ``sigma ** 2``), and its pixel size is derived from
the ranges (we pass ``(hi - lo) / R`` and check the resolution). ``ripser`` computes in float32, so its
values agree with the float64 definition only to float32 rounding.

``method="fast"`` (default) is exact in float64 and has no Python loop over windows or samples:

- by the elder rule, a local minimum ``i`` dies at ``min(max x(L+1..i), max x(i..R-1))`` where ``L``
  and ``R`` are its nearest *earlier* samples in the total order ``(value, index)`` on the left and on
  the right (``+inf`` if there is none); ``L`` and ``R`` come from binary lifting on a sparse table
  of block minima and the two maxima from one query each on a table of block maxima: ``O(T log T)``
  array operations over a whole chunk of windows;
- the Gaussian is separable and narrow (``sigma = 0.015`` is half a pixel), so with the defaults
  each point touches an 8 x 8 patch of pixels (7 sigma each way; the mass left out changes
  normalised pixels by < 1e-11);
  its per-axis CDF differences (float64) form an outer product added into the output with one
  unbuffered ``np.add.at`` per chunk, in the output dtype (float32 by default), and each image is then
  divided by its maximum in place: the output is written once, chunk by chunk.

Speed: on real HAPT windows (3 x 128, ~23 kept pairs per channel) the fast path is about 50x faster
than the reference path on a shared 2-core machine (``benchmarks/pi_throughput.py``).
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Sequence

import numpy as np
from scipy.special import ndtr
from sklearn.base import BaseEstimator, TransformerMixin

from . import _io

__all__ = [
    "TopologyError",
    "PIConfig",
    "scale_windows",
    "persistence_diagrams",
    "reference_diagram",
    "persistence_images",
    "clipped_mass",
    "PersistenceImageTransformer",
    "cached_persistence_images",
    "pi_cache_path",
    "summary_table",
    "plot_examples",
    "plot_class_means",
    "pool_images",
    "linear_probe",
    "compare_paths",
]

#: Bump when the definition of the images changes, so that old cache files are never reused.
_CACHE_VERSION = 2
#: Most samples (windows x channels x time) per chunk of the fast path (bounds its work memory).
_MAX_CHUNK_SAMPLES = 1 << 17
#: Pairs with persistence within this of the threshold count as at the threshold (see PIConfig.cut).
_CUT_TOLERANCE = 1e-7
#: Half-width of a rendered Gaussian patch, in standard deviations: the mass left out is below
#: ``2 * Phi(-7) ~ 3e-12`` of a point's weight, while the image maximum is at least ~0.23 times the
#: largest weight (a pixel is 2 sigma wide), so truncation moves normalised pixels by < 1.2e-11.
_TRUNCATE_SIGMAS = 7.0


class TopologyError(ValueError):
    """Bad input or settings for persistence diagrams and images."""


@dataclass(frozen=True)
class PIConfig:
    """Settings of the persistence images (defaults: the paper's, see the module docstring).

    Parameters
    ----------
    resolution
        Pixels per axis ``R`` (images are ``R x R``); 64 in the paper, 32 is ~4-6x cheaper to train on.
    sigma
        Standard deviation of the Gaussian around each point, in diagram units.
    birth_range, pers_range
        ``(lo, hi)`` covered by the image along birth and persistence.
    min_persistence
        Keep only pairs with persistence strictly above this.
    noise_floor
        Pairs with persistence ``<=`` this are removed first (the group's code; implied by
        ``min_persistence`` when it is larger).
    scaling
        ``"window"``: map each channel of each window onto ``[-span/2, span/2]``; ``"none"``: as given.
    span
        Width of the scaled signal range for ``scaling="window"`` (0.9 keeps every point >= 0.1 from
        the image border with the default ranges).
    """

    resolution: int = 64
    sigma: float = 0.015
    birth_range: tuple[float, float] = (-1.0, 1.0)
    pers_range: tuple[float, float] = (-1.0, 1.0)
    min_persistence: float = 0.01
    noise_floor: float = 1e-3
    scaling: Literal["window", "none"] = "window"
    span: float = 0.9

    def __post_init__(self) -> None:
        if not isinstance(self.resolution, (int, np.integer)) or self.resolution < 1:
            raise TopologyError(f"PIConfig.resolution must be a positive integer, got {self.resolution!r}")
        if not (np.isfinite(self.sigma) and self.sigma > 0):
            raise TopologyError(f"PIConfig.sigma must be a positive finite number, got {self.sigma!r}")
        for name in ("birth_range", "pers_range"):
            rng = getattr(self, name)
            if len(rng) != 2 or not all(np.isfinite(v) for v in rng) or not rng[0] < rng[1]:
                raise TopologyError(f"PIConfig.{name} must be (lo, hi) with finite lo < hi, got {rng!r}")
            object.__setattr__(self, name, (float(rng[0]), float(rng[1])))
        for name in ("min_persistence", "noise_floor"):
            if not (np.isfinite(getattr(self, name)) and getattr(self, name) >= 0):
                raise TopologyError(f"PIConfig.{name} must be finite and >= 0, got {getattr(self, name)!r}")
        if self.scaling not in ("window", "none"):
            raise TopologyError(f"PIConfig.scaling must be 'window' or 'none', got {self.scaling!r}")
        if not (np.isfinite(self.span) and self.span > 0):
            raise TopologyError(f"PIConfig.span must be positive, got {self.span!r}")

    @classmethod
    def quick(cls) -> "PIConfig":
        """The CI / Binder preset: the same images (they are cheap; see the benchmark)."""
        return cls()

    @property
    def threshold(self) -> float:
        """The effective lifetime threshold: pairs with persistence ``> threshold`` are kept."""
        return max(self.min_persistence, self.noise_floor)

    @property
    def cut(self) -> float:
        """The cut actually applied: ``threshold + 1e-7``.

        Quantised sensors give pairs whose persistence *equals* the threshold (for example one
        quantisation step in a window 90 steps high, scaled to 0.9). Rounding then decides whether
        such a pair is kept, differently in float32 (ripser) and float64; the tolerance, above
        float32 rounding (~3e-8 here) and far below the spacing of real persistence values, drops
        them consistently in both paths.
        """
        return self.threshold + _CUT_TOLERANCE

    def edges(self, axis: Literal["birth", "pers"]) -> np.ndarray:
        """Pixel edges ``(R + 1,)`` along one axis, computed exactly as ``persim`` does."""
        lo, hi = self.birth_range if axis == "birth" else self.pers_range
        size = (hi - lo) / self.resolution
        return np.linspace(lo, hi + size, self.resolution + 1, endpoint=False, dtype=np.float64)


# ----------------------------------------------------------------------------------------------
# input checks and scaling


def _check_windows(windows: Any) -> np.ndarray:
    """Validate ``(N, C, T)`` real windows; return them as a float64 array."""
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
    windows
        ``(N, C, T)`` real, finite.
    cfg
        ``cfg.scaling == "window"`` maps each channel of each window affinely onto
        ``[-cfg.span / 2, cfg.span / 2]`` (a constant channel becomes zeros); ``"none"`` leaves it.

    Returns
    -------
    ``(N, C, T)`` float64.
    """
    x = _check_windows(windows)
    if cfg.scaling == "none":
        return x.copy() if x is windows else x
    hi = x.max(axis=2, keepdims=True)
    lo = x.min(axis=2, keepdims=True)
    rng = hi - lo
    factor = np.divide(cfg.span, rng, out=np.zeros_like(rng), where=rng > 0)
    return (x - (hi + lo) / 2.0) * factor


# ----------------------------------------------------------------------------------------------
# fast exact diagrams: elder rule with sparse tables over a whole batch


def _elder_pairs(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All finite 0-dimensional sublevel-set pairs of many 1-D signals at once (float64, exact).

    Parameters
    ----------
    x
        ``(B, T)`` float64 signals (rows are independent).

    Returns
    -------
    row, birth, death, position
        ``(M,)`` arrays, one entry per local minimum that dies (``position``: its sample index; the
        global minimum of each row is left out), in row-major order of the minima. ``death == birth`` happens for a minimum that merges at
        its own value (a tie), which the caller's ``persistence > threshold`` removes.
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


def _batch_pairs(x: np.ndarray, threshold: float | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(row, birth, persistence)`` of the pairs of ``(B, T)`` signals, persistence > threshold."""
    row, birth, death, _ = _elder_pairs(x)
    pers = death - birth
    keep = pers > (0.0 if threshold is None else threshold)
    return row[keep], birth[keep], pers[keep]


def reference_diagram(signal: np.ndarray) -> np.ndarray:
    """Finite pairs of one 1-D signal with ``ripser`` on the lower-star filtration (float32 values).

    Parameters
    ----------
    signal
        ``(T,)`` finite values (already scaled).

    Returns
    -------
    ``(k, 2)`` float64 ``(birth, death)`` rows, ``death > birth``, sorted; the infinite pair dropped.
    """
    from ripser import ripser
    from scipy import sparse

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
    windows
        ``(N, C, T)`` real, finite.
    cfg
        Scaling and thresholds (see :class:`PIConfig`).
    method
        ``"fast"`` (float64, exact) or ``"reference"`` (``ripser``, float32 values).
    threshold
        Keep only pairs with persistence ``> cfg.cut`` (as the images do); otherwise every
        finite pair with positive persistence.

    Returns
    -------
    ``diagrams[n][c]``: ``(k, 2)`` float64 array of ``(birth, death)``, sorted by birth then death.
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
    row, birth, pers = _batch_pairs(x.reshape(N * C, T), thr)
    dgm_all = np.stack([birth, birth + pers], axis=1)
    order = np.lexsort((dgm_all[:, 1], dgm_all[:, 0], row))
    row, dgm_all = row[order], dgm_all[order]
    bounds = np.searchsorted(row, np.arange(N * C + 1))
    for r in range(N * C):
        out[r // C][r % C] = dgm_all[bounds[r] : bounds[r + 1]]
    return out


# ----------------------------------------------------------------------------------------------
# images


def _axis_weights(
    centre: np.ndarray, lo: float, hi: float, R: int, sigma: float, width: int
) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian mass of each point in ``width`` consecutive pixels around it along one axis.

    Parameters
    ----------
    centre
        ``(M,)`` point coordinates on this axis.

    Returns
    -------
    first, mass
        First pixel index ``(M,)`` and the masses ``(M, width)`` of pixels ``first .. first+width-1``.
    """
    size = (hi - lo) / R
    u = (centre - lo) / size  # position in pixel units
    first = np.clip(np.floor(u - _TRUNCATE_SIGMAS * sigma / size), 0, R - width).astype(np.intp)
    # z of edge first + k is (first + k - u) * size / sigma: one broadcast add, one CDF, one difference.
    scale = size / sigma
    cdf = ndtr(((first - u) * scale)[:, None] + np.arange(width + 1) * scale)
    return first, cdf[:, 1:] - cdf[:, :-1]



def _patch_size(cfg: PIConfig, axis: Literal["birth", "pers"]) -> int:
    """Pixels per axis that a truncated Gaussian can touch."""
    lo, hi = cfg.birth_range if axis == "birth" else cfg.pers_range
    reach = 2 * _TRUNCATE_SIGMAS * cfg.sigma * cfg.resolution / (hi - lo)  # in pixels
    return min(cfg.resolution, int(math.ceil(reach)) + 1)


def _render(row: np.ndarray, birth: np.ndarray, pers: np.ndarray, cfg: PIConfig, out: np.ndarray) -> None:
    """Render the points of ``len(out)`` diagrams into ``out`` (``(B, R, R)`` float, overwritten).

    Each point adds its weight times the outer product of its per-axis pixel masses to a small patch;
    all patches of the chunk go into ``out`` with one unbuffered ``np.add.at`` in ``out``'s dtype
    (float64 sums are exact to rounding; float32 ones to a few float32 ulps), then each image is
    divided by its maximum.
    """
    R = cfg.resolution
    n_rows = out.shape[0]
    flat = out.reshape(n_rows, R * R)
    flat[...] = 0
    if row.size == 0:
        return
    width, height = _patch_size(cfg, "birth"), _patch_size(cfg, "pers")
    jb, wb = _axis_weights(birth, *cfg.birth_range, R, cfg.sigma, width)
    ip, wp = _axis_weights(pers, *cfg.pers_range, R, cfg.sigma, height)
    # Linear weight p / max p per diagram (the max cancels in the final normalisation, but it keeps
    # the sums on the reference path's scale).
    pmax = np.zeros(n_rows)
    np.maximum.at(pmax, row, pers)
    wp = (wp * (pers / pmax[row])[:, None]).astype(out.dtype, copy=False)
    wb = wb.astype(out.dtype, copy=False)
    patch = np.einsum("mi,mj->mij", wp, wb)  # (M, height, width): rows persistence, columns birth
    offsets = (np.arange(height) * R)[:, None] + np.arange(width)
    index = (row * (R * R) + ip * R + jb)[:, None, None] + offsets
    np.add.at(flat.reshape(-1), index.reshape(-1), patch.reshape(-1))
    peak = flat.max(axis=1, keepdims=True)
    peak[peak == 0] = 1  # an image without points stays zero
    flat /= peak  # a division (not a reciprocal product), so the maximum is exactly 1


def _fast_images_chunk(x: np.ndarray, cfg: PIConfig, out: np.ndarray) -> None:
    """Fast images of scaled ``(n, C, T)`` float64 windows, written into ``out`` ``(n, C, R, R)``."""
    n, C, T = x.shape
    R = cfg.resolution
    row, birth, pers = _batch_pairs(x.reshape(n * C, T), cfg.cut)
    _render(row, birth, pers, cfg, out.reshape(n * C, R, R))


def _reference_images_chunk(x: np.ndarray, cfg: PIConfig, out: np.ndarray) -> None:
    """``ripser`` + ``persim.PersistenceImager`` images of scaled ``(n, C, T)`` windows, into ``out``."""
    import warnings

    with warnings.catch_warnings():  # persim imports a deprecated helper on first use
        warnings.simplefilter("ignore", DeprecationWarning)
        from persim import PersistenceImager

    R = cfg.resolution
    pixel = (cfg.birth_range[1] - cfg.birth_range[0]) / R
    if not math.isclose((cfg.pers_range[1] - cfg.pers_range[0]) / R, pixel, rel_tol=1e-12):
        raise TopologyError("the reference path (persim) needs square pixels: equal birth and persistence "
                            "range widths")

    def linear(birth: np.ndarray, pers: np.ndarray) -> np.ndarray:
        return pers / pers.max()

    imager = PersistenceImager(
        birth_range=cfg.birth_range,
        pers_range=cfg.pers_range,
        pixel_size=pixel,
        weight=linear,
        weight_params={},
        kernel="gaussian",
        kernel_params={"sigma": [[cfg.sigma**2, 0.0], [0.0, cfg.sigma**2]]},  # persim wants a variance
    )
    if tuple(imager.resolution) != (R, R):
        raise TopologyError(f"persim chose resolution {imager.resolution} for ranges {cfg.birth_range}, "
                            f"{cfg.pers_range}, not {(R, R)}")
    n, C, _ = x.shape
    out[...] = 0
    for i in range(n):
        for c in range(C):
            dgm = reference_diagram(x[i, c])
            dgm = dgm[dgm[:, 1] - dgm[:, 0] > cfg.cut]
            if len(dgm) == 0:
                continue
            img = np.asarray(imager.transform(dgm, skew=True)).T  # persim: [birth, pers]
            out[i, c] = img / img.max()


def _chunks(n: int, size: int) -> list[slice]:
    return [slice(s, min(n, s + size)) for s in range(0, n, size)]


def persistence_images(
    windows: np.ndarray,
    cfg: PIConfig = PIConfig(),
    method: Literal["fast", "reference"] = "fast",
    dtype: Any = np.float32,
    chunk_size: int = 128,
    n_jobs: int | None = 1,
    progress: bool | None = False,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Persistence images of every channel of every window, stacked per window.

    Parameters
    ----------
    windows
        ``(N, C, T)`` real, finite (e.g. ``Windows.x``); any float or integer dtype.
    cfg
        Image settings and the input scaling (:class:`PIConfig`).
    method
        ``"fast"`` (default, exact, vectorised) or ``"reference"`` (``ripser`` + ``persim``).
    dtype
        Output dtype; the fast path computes in float64 and rounds once when writing.
    chunk_size
        Windows per chunk (fewer for long windows, so that a chunk holds at most 131,072 samples).
    n_jobs
        ``joblib`` workers over chunks (``1``: this process; ``None`` / ``-1``: every core).
    progress
        Show a ``tqdm`` bar (``None``: only on a terminal).
    out
        Optional ``(N, C, R, R)`` array of ``dtype`` to write into (e.g. a memory map); returned.

    Returns
    -------
    ``(N, C, R, R)`` array, each image in ``[0, 1]`` with maximum 1 (or all zero: no pairs).

    Raises
    ------
    TopologyError
        If ``windows`` is not ``(N, C, T)``, is not real, or holds NaN / inf (the message names the
        first window and channel).
    """
    if method not in ("fast", "reference"):
        raise TopologyError(f"method must be 'fast' or 'reference', got {method!r}")
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TopologyError(f"dtype must be a float dtype, got {dtype}")
    x = scale_windows(windows, cfg)
    N, C, _ = x.shape
    R = cfg.resolution
    worker = _fast_images_chunk if method == "fast" else _reference_images_chunk
    # Long windows get smaller chunks: the sparse tables hold ~2 log2(T) float64 copies of a chunk.
    chunk_size = max(1, min(int(chunk_size), _MAX_CHUNK_SAMPLES // max(1, C * x.shape[2])))
    slices = _chunks(N, chunk_size)
    if out is None:
        out = np.empty((N, C, R, R), dtype=dtype)
    elif out.shape != (N, C, R, R) or out.dtype != dtype:
        raise TopologyError(f"out must be a {(N, C, R, R)} array of {dtype}, got {out.shape} of {out.dtype}")
    bar = _progress_bar(N, f"persistence images ({method})", progress)
    try:
        if n_jobs == 1 or len(slices) <= 1:
            for sl in slices:
                worker(x[sl], cfg, out[sl])
                bar.update(sl.stop - sl.start)
        else:
            from joblib import Parallel, delayed

            # Large blocks per task amortise the worker round trip; results stream back in order.
            block = max(1, len(slices) // (8 * max(1, _n_workers(n_jobs))))
            groups = [slice(slices[i].start, slices[min(i + block, len(slices)) - 1].stop)
                      for i in range(0, len(slices), block)]
            jobs = Parallel(n_jobs=n_jobs, return_as="generator")(
                delayed(_chunked_worker)(x[g], cfg, dtype, chunk_size, method) for g in groups
            )
            for g, res in zip(groups, jobs):
                out[g] = res
                bar.update(g.stop - g.start)
    finally:
        bar.close()
    return out


def _progress_bar(total: int, desc: str, progress: bool | None):
    """A ``tqdm`` text bar (``progress=None``: only on a terminal), or a silent stand-in."""
    if progress is False:
        return _NoBar()
    from tqdm import tqdm  # the plain text bar: no widget machinery needed in notebooks

    return tqdm(total=total, desc=desc, unit="win", disable=None if progress is None else False)


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _n_workers(n_jobs: int | None) -> int:
    import os

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if n_jobs is None or n_jobs < 0:
        return cores
    return int(n_jobs)


def _chunked_worker(x: np.ndarray, cfg: PIConfig, dtype: np.dtype, chunk_size: int, method: str) -> np.ndarray:
    """Run one worker over a block of scaled windows, chunk by chunk (for joblib)."""
    worker = _fast_images_chunk if method == "fast" else _reference_images_chunk
    out = np.empty((x.shape[0], x.shape[1], cfg.resolution, cfg.resolution), dtype=dtype)
    for sl in _chunks(x.shape[0], max(1, int(chunk_size))):
        worker(x[sl], cfg, out[sl])
    return out


def clipped_mass(windows: np.ndarray, cfg: PIConfig = PIConfig()) -> np.ndarray:
    """Share of each image's (weighted) Gaussian mass that falls outside the image ranges.

    Parameters
    ----------
    windows
        ``(N, C, T)`` real, finite.

    Returns
    -------
    ``(N, C)`` float64 in ``[0, 1]``; 0 for a channel without pairs. With the default scaling every
    point lies >= 0.1 inside the border, so this is ~0 everywhere.
    """
    x = scale_windows(windows, cfg)
    N, C, T = x.shape
    row, birth, pers = _batch_pairs(x.reshape(N * C, T), cfg.cut)
    (blo, bhi), (plo, phi) = cfg.birth_range, cfg.pers_range
    s = cfg.sigma
    inside = (ndtr((bhi - birth) / s) - ndtr((blo - birth) / s)) * (ndtr((phi - pers) / s) - ndtr((plo - pers) / s))
    total = np.bincount(row, weights=pers, minlength=N * C)
    kept = np.bincount(row, weights=pers * inside, minlength=N * C)
    frac = np.divide(total - kept, total, out=np.zeros_like(total), where=total > 0)
    return np.clip(frac, 0.0, 1.0).reshape(N, C)


# ----------------------------------------------------------------------------------------------
# scikit-learn transformer


class PersistenceImageTransformer(TransformerMixin, BaseEstimator):
    """``(N, C, T)`` windows -> persistence images, as a scikit-learn transformer.

    The image ranges are fixed by the parameters (not learnt): :meth:`fit` only checks the input and
    records the number of channels, so the transformer drops into a ``Pipeline``.

    Parameters
    ----------
    resolution, sigma, birth_range, pers_range, min_persistence, noise_floor, scaling, span
        As in :class:`PIConfig`.
    method
        ``"fast"`` or ``"reference"``.
    flatten
        Return ``(N, C * R * R)`` (for linear models) instead of ``(N, C, R, R)``.
    """

    def __init__(
        self,
        resolution: int = 64,
        sigma: float = 0.015,
        birth_range: tuple[float, float] = (-1.0, 1.0),
        pers_range: tuple[float, float] = (-1.0, 1.0),
        min_persistence: float = 0.01,
        noise_floor: float = 1e-3,
        scaling: str = "window",
        span: float = 0.9,
        method: str = "fast",
        flatten: bool = False,
    ) -> None:
        self.resolution = resolution
        self.sigma = sigma
        self.birth_range = birth_range
        self.pers_range = pers_range
        self.min_persistence = min_persistence
        self.noise_floor = noise_floor
        self.scaling = scaling
        self.span = span
        self.method = method
        self.flatten = flatten

    @classmethod
    def from_config(cls, cfg: PIConfig, **kwargs: Any) -> "PersistenceImageTransformer":
        """A transformer with the settings of ``cfg`` (``kwargs``: ``method``, ``flatten``)."""
        return cls(**dataclasses.asdict(cfg), **kwargs)

    def config(self) -> PIConfig:
        """The :class:`PIConfig` these parameters describe."""
        return PIConfig(
            resolution=self.resolution, sigma=self.sigma, birth_range=tuple(self.birth_range),
            pers_range=tuple(self.pers_range), min_persistence=self.min_persistence,
            noise_floor=self.noise_floor, scaling=self.scaling, span=self.span,
        )

    def fit(self, X: np.ndarray, y: Any = None) -> "PersistenceImageTransformer":
        """Check the settings and the shape of ``X`` (``(N, C, T)``); nothing is learnt."""
        self.config()
        X = np.asarray(X)
        if X.ndim != 3:
            raise TopologyError(f"X must have shape (N, C, T), got {X.shape}")
        self.n_channels_in_ = int(X.shape[1])
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Images ``(N, C, R, R)`` float32, or ``(N, C * R * R)`` with ``flatten=True``."""
        if not hasattr(self, "n_channels_in_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError("call fit before transform")
        X = np.asarray(X)
        if X.ndim != 3 or X.shape[1] != self.n_channels_in_:
            raise TopologyError(f"X must have shape (N, {self.n_channels_in_}, T), got {X.shape}")
        imgs = persistence_images(X, self.config(), method=self.method)
        return imgs.reshape(len(imgs), -1) if self.flatten else imgs


# ----------------------------------------------------------------------------------------------
# cache


def pi_cache_path(windows: np.ndarray, cfg: PIConfig = PIConfig(), cache_dir: str | Path | None = None) -> Path:
    """Cache file of the images of ``windows`` under ``cfg``: ``<cache>/pi/pi-<hash>.npz``.

    The key hashes the definition version, every setting and the exact window values (dtype, shape,
    bytes), so a changed setting or input never reuses old images.
    """
    root = Path(cache_dir) if cache_dir is not None else _io.default_cache_dir()
    key = _io.stable_hash("persistence_images", _CACHE_VERSION, cfg, np.asarray(windows))
    return root / "pi" / f"pi-{key}.npz"


def cached_persistence_images(
    windows: np.ndarray,
    cfg: PIConfig = PIConfig(),
    cache_dir: str | Path | None = None,
    n_jobs: int | None = None,
    progress: bool | None = None,
    parallel_min: int = 4096,
) -> np.ndarray:
    """Fast persistence images (float32), loaded from the cache when present, else computed and saved.

    Parameters
    ----------
    windows
        ``(N, C, T)`` real, finite.
    cfg
        Image settings; part of the cache key.
    cache_dir
        Cache root (default: ``.cache/`` at the repository root).
    n_jobs
        ``joblib`` workers for sets of at least ``parallel_min`` windows (``None``: every core);
        smaller sets run in this process.
    progress
        ``tqdm`` bar while computing (``None``: only on a terminal).

    Returns
    -------
    ``(N, C, R, R)`` float32, identical to ``persistence_images(windows, cfg)``.

    Notes
    -----
    The file is written atomically (temporary file, then rename), so an interrupted run never leaves
    a file that a later run trusts; a file that does not match the expected shape or key is recomputed.
    """
    windows = np.asarray(windows)
    path = pi_cache_path(windows, cfg, cache_dir)
    R = cfg.resolution
    expected = (windows.shape[0], windows.shape[1] if windows.ndim == 3 else -1, R, R)
    if path.is_file():
        try:
            data = _io.load_npz(path)
            imgs = data["images"]
            if imgs.shape == expected and imgs.dtype == np.float32 and str(data["key"]) == path.stem:
                return imgs
        except (OSError, ValueError, KeyError):
            pass  # unreadable or foreign file: recompute and replace it
    jobs = 1 if windows.ndim == 3 and windows.shape[0] < parallel_min else n_jobs
    imgs = persistence_images(windows, cfg, method="fast", dtype=np.float32, n_jobs=jobs, progress=progress)
    _io.atomic_save_npz(path, images=imgs, key=np.array(path.stem))
    return imgs


# ----------------------------------------------------------------------------------------------
# tables and figures for the book


def summary_table(windows: np.ndarray, y: np.ndarray, classes: Sequence[str], cfg: PIConfig = PIConfig(),
                  images: np.ndarray | None = None):
    """Per class: windows, kept pairs per channel, empty images and clipped mass (a pandas DataFrame).

    Parameters
    ----------
    windows
        ``(N, C, T)``; ``y`` ``(N,)`` class indices into ``classes``.
    images
        Their images, if already computed (else computed here).
    """
    import pandas as pd

    x = np.asarray(windows)
    y = np.asarray(y)
    if images is None:
        images = persistence_images(x, cfg)
    scaled = scale_windows(x, cfg)
    N, C, T = scaled.shape
    row, _, _ = _batch_pairs(scaled.reshape(N * C, T), cfg.cut)
    points = np.bincount(row, minlength=N * C).reshape(N, C)
    signal = np.ptp(x, axis=2) > 0
    empty = (images.reshape(N, C, -1).max(axis=2) == 0) & signal
    clipped = clipped_mass(x, cfg)
    rows = []
    for k, name in enumerate(classes):
        m = y == k
        rows.append({
            "class": name,
            "windows": int(m.sum()),
            "pairs per channel (mean)": round(float(points[m].mean()), 1) if m.any() else np.nan,
            "pairs per channel (min-max)": f"{points[m].min()}-{points[m].max()}" if m.any() else "",
            "empty images (with signal)": int(empty[m].sum()),
            "constant channels": int((~signal[m]).sum()),
            "max clipped mass": f"{clipped[m].max():.0e}" if m.any() else "",
        })
    return pd.DataFrame(rows).set_index("class")


def plot_examples(windows: np.ndarray, y: np.ndarray, classes: Sequence[str], show: Sequence[str],
                  cfg: PIConfig = PIConfig(), channel: int = 0, index: Sequence[int] | None = None):
    """One row per activity: the scaled signal, its diagram and its persistence image (one channel).

    Parameters
    ----------
    windows, y, classes
        Windows ``(N, C, T)`` with class indices into ``classes``.
    show
        Names of the classes to draw (one window each: the first of the class unless ``index``).
    channel
        The channel (axis) to draw.

    Returns
    -------
    matplotlib Figure.
    """
    import matplotlib.pyplot as plt

    x = np.asarray(windows)
    fig, axes = plt.subplots(len(show), 3, figsize=(10.5, 2.5 * len(show)), squeeze=False,
                             gridspec_kw={"width_ratios": [2.2, 1, 1]})
    lo, hi = cfg.pers_range
    for r, name in enumerate(show):
        k = list(classes).index(name)
        n = int(index[r]) if index is not None else int(np.flatnonzero(np.asarray(y) == k)[0])
        sig = scale_windows(x[n : n + 1, channel : channel + 1], cfg)[0, 0]
        dgm = persistence_diagrams(x[n : n + 1, channel : channel + 1], cfg)[0][0]
        img = persistence_images(x[n : n + 1, channel : channel + 1], cfg)[0, 0]
        ax = axes[r, 0]
        ax.plot(sig, lw=1, color="0.2")
        _, b, d, births = _elder_pairs(sig[None])
        births = births[d - b > cfg.cut]
        ax.plot(births, sig[births], "v", ms=4, color="tab:blue", label="birth of a kept component")
        ax.set_ylabel(name.replace("_", " ").lower(), fontsize=9)
        ax.set_xlim(0, len(sig) - 1)
        if r == 0:
            ax.set_title(f"scaled signal (channel {channel})", fontsize=10)
            ax.legend(fontsize=7, loc="upper right")
        ax = axes[r, 1]
        ax.scatter(dgm[:, 0], dgm[:, 1] - dgm[:, 0], s=9, color="tab:blue")
        ax.set_xlim(*cfg.birth_range)
        ax.set_ylim(lo, hi)
        ax.axhline(cfg.threshold, color="tab:red", lw=0.6, ls="--")
        ax.set_xlabel("birth", fontsize=8)
        ax.set_ylabel("persistence", fontsize=8)
        if r == 0:
            ax.set_title(f"diagram ({len(dgm)} pairs)", fontsize=10)
        else:
            ax.set_title(f"{len(dgm)} pairs", fontsize=8)
        ax = axes[r, 2]
        ax.imshow(img, origin="lower", extent=(*cfg.birth_range, *cfg.pers_range), cmap="magma", aspect="auto")
        ax.set_xlabel("birth", fontsize=8)
        if r == 0:
            ax.set_title(f"persistence image ({cfg.resolution}x{cfg.resolution})", fontsize=10)
    fig.tight_layout()
    return fig


def plot_class_means(images: np.ndarray, y: np.ndarray, classes: Sequence[str], cfg: PIConfig = PIConfig(),
                     zoom: bool = True):
    """Mean persistence image per class (rows) and channel (columns).

    ``zoom`` crops to the region the default scaling can reach (birth in ``[-span/2, span/2]``,
    persistence in ``[0, span]``); each panel has its own colour scale.
    """
    import matplotlib.pyplot as plt

    images = np.asarray(images)
    y = np.asarray(y)
    C = images.shape[1]
    fig, axes = plt.subplots(len(classes), C, figsize=(2.3 * C + 1, 1.9 * len(classes)), squeeze=False)
    extent = (*cfg.birth_range, *cfg.pers_range)
    for k, name in enumerate(classes):
        mean = images[y == k].mean(axis=0)
        for c in range(C):
            ax = axes[k, c]
            ax.imshow(mean[c], origin="lower", extent=extent, cmap="magma", aspect="auto")
            if zoom and cfg.scaling == "window":
                half = cfg.span / 2 + 3 * cfg.sigma
                ax.set_xlim(-half, half)
                ax.set_ylim(0, cfg.span + 3 * cfg.sigma)
            ax.tick_params(labelsize=6)
            if k == 0:
                ax.set_title(f"channel {c}", fontsize=9)
            if c == 0:
                ax.set_ylabel(name.replace("_", " ").lower(), fontsize=8)
    fig.supxlabel("birth", fontsize=9)
    fig.supylabel("persistence", fontsize=9)
    fig.tight_layout()
    return fig


def pool_images(images: np.ndarray, factor: int) -> np.ndarray:
    """Average-pool ``(N, C, R, R)`` images by ``factor`` along both pixel axes -> ``(N, C, R/f, R/f)``."""
    N, C, R, _ = images.shape
    if factor < 1 or R % factor:
        raise TopologyError(f"pool factor {factor} must divide the resolution {R}")
    return images.reshape(N, C, R // factor, factor, R // factor, factor).mean(axis=(3, 5))


def linear_probe(features: dict[str, tuple[np.ndarray, np.ndarray]], y_train: np.ndarray, y_test: np.ndarray,
                 max_train: int | None = 2000, seed: int = 0, max_iter: int = 300):
    """Logistic regression on flattened features; accuracy and macro F1 on the test set.

    Parameters
    ----------
    features
        ``name -> (train_features, test_features)``, any shapes ``(N, ...)`` (flattened here).
    y_train, y_test
        Class indices.
    max_train
        Keep a seeded random subset of this many training windows (speed); ``None`` keeps all.

    Returns
    -------
    pandas DataFrame: one row per feature set (features, training windows, accuracy, macro F1).
    """
    import warnings

    import pandas as pd
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    y_train, y_test = np.asarray(y_train), np.asarray(y_test)
    rng = np.random.default_rng(seed)
    pick = np.arange(len(y_train))
    if max_train is not None and len(pick) > max_train:
        pick = np.sort(rng.choice(len(pick), size=max_train, replace=False))
    rows = []
    for name, (tr, te) in features.items():
        tr = np.asarray(tr).reshape(len(y_train), -1)[pick]
        te = np.asarray(te).reshape(len(y_test), -1)
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=max_iter))
        # One BLAS thread: on a small shared machine, threaded BLAS on these small matrices is many
        # times slower. An unconverged fit is reported in the table, not as a warning.
        with threadpool_limits(1), warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            pred = model.fit(tr, y_train[pick]).predict(te)
        rows.append({"features": name, "dimensions": tr.shape[1], "training windows": len(pick),
                     "iterations": int(model[-1].n_iter_.max()),
                     "accuracy": accuracy_score(y_test, pred), "macro F1": f1_score(y_test, pred, average="macro")})
    return pd.DataFrame(rows).set_index("features")


def compare_paths(windows: np.ndarray, cfg: PIConfig = PIConfig(), n_reference: int = 100, repeats: int = 3):
    """Time the reference and the fast path on the same windows (this process, CPU time).

    Returns a pandas DataFrame with ms per window and windows per second of each path, the speed-up,
    and the largest difference between their images on the windows both computed.
    """
    import pandas as pd

    x = np.asarray(windows)
    ref_x = x[:n_reference]
    persistence_images(x[:2], cfg, method="reference")  # first-call costs (imports)
    t = time.process_time()
    ref = persistence_images(ref_x, cfg, method="reference")
    ref_s = (time.process_time() - t) / len(ref_x)
    fast_s = np.inf
    for _ in range(repeats):
        t = time.process_time()
        fast = persistence_images(x, cfg)
        fast_s = min(fast_s, (time.process_time() - t) / len(x))
    diff = float(np.abs(fast[: len(ref_x)] - ref).max())
    return pd.DataFrame(
        {"ms per window": [round(1e3 * ref_s, 3), round(1e3 * fast_s, 3)],
         "windows per s": [round(1 / ref_s), round(1 / fast_s)],
         "speed-up": [1.0, round(ref_s / fast_s, 1)], "max abs difference": ["", f"{diff:.1e}"]},
        index=pd.Index([f"reference (ripser + persim), {len(ref_x)} windows", f"fast, {len(x)} windows"], name="path"),
    )
