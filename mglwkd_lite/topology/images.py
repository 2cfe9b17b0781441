"""Persistence images of accelerometer windows: the fast exact renderer, the ``persim`` reference
path, and a scikit-learn transformer (definitions in :mod:`mglwkd_lite.topology`)."""

from __future__ import annotations

import dataclasses
import math
import warnings
from typing import Any, Literal

import numpy as np
from joblib import Parallel, delayed
from scipy.special import ndtr
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.exceptions import NotFittedError
from tqdm import tqdm  # the plain text bar: no widget machinery needed in notebooks

from ..repro import available_cpus
from .config import PIConfig, TopologyError
from .diagrams import fit_dataset_scaling, kept_pairs, reference_diagram, scale_windows, window_pairs

__all__ = [
    "persistence_images",
    "clipped_mass",
    "pool_images",
    "PersistenceImageTransformer",
]

#: Most samples (windows x channels x time) per chunk of the fast path (bounds its work memory).
_MAX_CHUNK_SAMPLES = 1 << 17
#: Half-width of a rendered Gaussian patch, in standard deviations: the mass left out is below
#: ``2 * Phi(-7) ~ 3e-12`` of a point's weight, while the image maximum is at least ~0.23 times the
#: largest weight when a pixel is 2 sigma wide (~0.15 at ``sigma_px = 1``), so truncation moves
#: normalised pixels by < 2e-11.
_TRUNCATE_SIGMAS = 7.0


# ----------------------------------------------------------------------------------------------
# images


def _axis_weights(
    centre: np.ndarray, lo: float, hi: float, R: int, sigma: float, width: int
) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian mass of each point in ``width`` consecutive pixels around it along one axis.

    Parameters
    ----------
    centre : numpy.ndarray
        ``(M,)`` point coordinates on this axis.
    lo, hi : float
        The image range on this axis.
    R : int
        Pixels on this axis.
    sigma : float
        Standard deviation of the Gaussian.
    width : int
        Pixels per point (see :func:`_patch_size`).

    Returns
    -------
    first, mass : numpy.ndarray
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
    reach = 2 * _TRUNCATE_SIGMAS * cfg.axis_sigma(axis) * cfg.resolution / (hi - lo)  # in pixels
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
    jb, wb = _axis_weights(birth, *cfg.birth_range, R, cfg.axis_sigma("birth"), width)
    ip, wp = _axis_weights(pers, *cfg.pers_range, R, cfg.axis_sigma("pers"), height)
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
    row, birth, pers = kept_pairs(x.reshape(n * C, T), cfg.cut)
    _render(row, birth, pers, cfg, out.reshape(n * C, R, R))


def _reference_images_chunk(x: np.ndarray, cfg: PIConfig, out: np.ndarray) -> None:
    """``ripser`` + ``persim.PersistenceImager`` images of scaled ``(n, C, T)`` windows, into ``out``."""
    # Imported here, not at the top: persim is slow to import (it pulls in matplotlib) and only
    # this cross-check path needs it.
    with warnings.catch_warnings():  # persim imports a deprecated helper on first use
        warnings.simplefilter("ignore", DeprecationWarning)
        from persim import PersistenceImager

    R = cfg.resolution
    pixel = (cfg.birth_range[1] - cfg.birth_range[0]) / R
    # persim needs square pixels: persistence is stretched by k so that its pixels match the birth
    # pixels (ranges, points and sigma alike; the linear weight p / max p does not change).
    k = pixel / ((cfg.pers_range[1] - cfg.pers_range[0]) / R)
    if math.isclose(k, 1.0, rel_tol=1e-12):
        k = 1.0
    sb, sp = cfg.axis_sigma("birth"), cfg.axis_sigma("pers") * k

    def linear(birth: np.ndarray, pers: np.ndarray) -> np.ndarray:
        return pers / pers.max()

    imager = PersistenceImager(
        birth_range=cfg.birth_range,
        pers_range=(cfg.pers_range[0] * k, cfg.pers_range[1] * k),
        pixel_size=pixel,
        weight=linear,
        weight_params={},
        kernel="gaussian",
        kernel_params={"sigma": [[sb**2, 0.0], [0.0, sp**2]]},  # persim wants a (co)variance
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
            if k != 1.0:
                dgm = np.column_stack([dgm[:, 0], dgm[:, 0] + (dgm[:, 1] - dgm[:, 0]) * k])
            img = np.asarray(imager.transform(dgm, skew=True)).T  # persim: [birth, pers]
            out[i, c] = img / img.max()


def _chunks(n: int, size: int) -> list[slice]:
    """Consecutive slices of at most ``size`` over ``range(n)``."""
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
    windows : numpy.ndarray
        ``(N, C, T)`` real, finite (e.g. ``Windows.x``); any float or integer dtype.
    cfg : PIConfig
        Image settings and the input scaling.
    method : {"fast", "reference"}
        ``"fast"`` (default, exact, vectorised) or ``"reference"`` (``ripser`` + ``persim``).
    dtype : numpy dtype
        Output dtype (a float dtype); the fast path computes in float64 and rounds once when writing.
    chunk_size : int
        Windows per chunk (fewer for long windows, so that a chunk holds at most 131,072 samples).
    n_jobs : int or None
        ``joblib`` workers over chunks (``1``: this process; ``None`` / ``-1``: every core).
    progress : bool or None
        Show a ``tqdm`` bar (``None``: only on a terminal).
    out : numpy.ndarray, optional
        ``(N, C, R, R)`` array of ``dtype`` to write into (e.g. a memory map); returned.

    Returns
    -------
    numpy.ndarray
        ``(N, C, R, R)``, each image in ``[0, 1]`` with maximum 1 (or all zero: no pairs).

    Raises
    ------
    TopologyError
        If ``windows`` is not ``(N, C, T)``, is not real, or holds NaN / inf (the message names the
        first window and channel); or for an unknown ``method``, a non-float ``dtype`` or an ``out``
        of the wrong shape or dtype.
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
    with tqdm(total=N, desc=f"persistence images ({method})", unit="win",
              disable=None if progress is None else not progress) as bar:
        if n_jobs == 1 or len(slices) <= 1:
            for sl in slices:
                worker(x[sl], cfg, out[sl])
                bar.update(sl.stop - sl.start)
        else:
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
    return out


def _n_workers(n_jobs: int | None) -> int:
    """Workers ``joblib`` starts for ``n_jobs`` (``None`` or negative: every usable core)."""
    if n_jobs is None or n_jobs < 0:
        return available_cpus()
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
    windows : numpy.ndarray
        ``(N, C, T)`` real, finite; scaled as for the images.
    cfg : PIConfig
        Image settings and the input scaling.

    Returns
    -------
    numpy.ndarray
        ``(N, C)`` float64 in ``[0, 1]``; 0 for a channel without pairs. With the default scaling
        every point lies >= 0.1 inside the border, so this is ~0 everywhere; with fitted dataset
        ranges, mass is lost only above the persistence range (its top 0.1 % of pairs) and at the
        padded borders.
    """
    (N, C), row, birth, pers = window_pairs(windows, cfg)
    (blo, bhi), (plo, phi) = cfg.birth_range, cfg.pers_range
    sb, sp = cfg.axis_sigma("birth"), cfg.axis_sigma("pers")
    inside = (ndtr((bhi - birth) / sb) - ndtr((blo - birth) / sb)) * (ndtr((phi - pers) / sp) - ndtr((plo - pers) / sp))
    total = np.bincount(row, weights=pers, minlength=N * C)
    kept = np.bincount(row, weights=pers * inside, minlength=N * C)
    frac = np.divide(total - kept, total, out=np.zeros_like(total), where=total > 0)
    return np.clip(frac, 0.0, 1.0).reshape(N, C)


def pool_images(images: np.ndarray, factor: int) -> np.ndarray:
    """Average-pool images by ``factor`` along both pixel axes.

    Parameters
    ----------
    images : numpy.ndarray
        ``(N, C, R, R)`` images.
    factor : int
        Pooling factor; must divide ``R``.

    Returns
    -------
    numpy.ndarray
        ``(N, C, R / factor, R / factor)`` means of ``factor x factor`` pixel blocks.

    Raises
    ------
    TopologyError
        If ``factor`` does not divide the resolution.
    """
    N, C, R, _ = images.shape
    if factor < 1 or R % factor:
        raise TopologyError(f"pool factor {factor} must divide the resolution {R}")
    return images.reshape(N, C, R // factor, factor, R // factor, factor).mean(axis=(3, 5))


# ----------------------------------------------------------------------------------------------
# scikit-learn transformer


class PersistenceImageTransformer(TransformerMixin, BaseEstimator):
    """``(N, C, T)`` windows -> persistence images, as a scikit-learn transformer.

    With ``scaling="window"`` or ``"none"`` the image ranges are fixed by the parameters: :meth:`fit`
    only checks the input and records the number of channels. With ``scaling="dataset"``, :meth:`fit`
    fits the channel, birth and persistence ranges on the ``X`` it is given
    (:func:`~mglwkd_lite.topology.fit_dataset_scaling`; in a ``Pipeline``, the training windows) and
    :meth:`transform` applies them to every ``X``; ``config_`` holds the fitted settings.

    Parameters
    ----------
    resolution, sigma, birth_range, pers_range, min_persistence, noise_floor, scaling, span
        As in :class:`PIConfig` (same types and defaults).
    channel_range, target_range, clip, sigma_px
        As in :class:`PIConfig` (``channel_range`` is refitted by :meth:`fit` for ``"dataset"``).
    percentiles, pers_percentile, pad_px
        The fit of ``scaling="dataset"`` (see :func:`~mglwkd_lite.topology.fit_dataset_scaling`).
    method : {"fast", "reference"}
        The path of :func:`persistence_images`.
    flatten : bool
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
        channel_range: tuple[tuple[float, float], ...] | None = None,
        target_range: tuple[float, float] = (0.0, 1.0),
        clip: bool = True,
        sigma_px: float | None = None,
        percentiles: tuple[float, float] = (0.1, 99.9),
        pers_percentile: float = 99.9,
        pad_px: float = 1.0,
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
        self.channel_range = channel_range
        self.target_range = target_range
        self.clip = clip
        self.sigma_px = sigma_px
        self.percentiles = percentiles
        self.pers_percentile = pers_percentile
        self.pad_px = pad_px
        self.method = method
        self.flatten = flatten

    @classmethod
    def from_config(cls, cfg: PIConfig, **kwargs: Any) -> "PersistenceImageTransformer":
        """A transformer with the settings of a :class:`PIConfig`.

        Parameters
        ----------
        cfg : PIConfig
            The image settings.
        **kwargs
            ``method``, ``flatten`` and the fit settings (``percentiles``, ``pers_percentile``, ``pad_px``).

        Returns
        -------
        PersistenceImageTransformer
        """
        return cls(**dataclasses.asdict(cfg), **kwargs)

    def config(self) -> PIConfig:
        """The settings these parameters describe (before any fit).

        Returns
        -------
        PIConfig

        Raises
        ------
        TopologyError
            If a parameter is out of range (``scaling="dataset"`` without ``channel_range`` is
            allowed here: :meth:`fit` fits it).
        """
        dataset = self.scaling == "dataset" and self.channel_range is None
        cfg = PIConfig(
            resolution=self.resolution, sigma=self.sigma, birth_range=tuple(self.birth_range),
            pers_range=tuple(self.pers_range), min_persistence=self.min_persistence,
            noise_floor=self.noise_floor, scaling="window" if dataset else self.scaling, span=self.span,
            channel_range=None if self.channel_range is None else tuple(map(tuple, self.channel_range)),
            target_range=tuple(self.target_range), clip=self.clip, sigma_px=self.sigma_px,
        )
        return cfg

    def fit(self, X: np.ndarray, y: Any = None) -> "PersistenceImageTransformer":
        """Check the settings and the shape of ``X``; for ``scaling="dataset"`` fit the ranges on ``X``.

        Parameters
        ----------
        X : numpy.ndarray
            ``(N, C, T)`` windows (the training windows).
        y : ignored

        Returns
        -------
        PersistenceImageTransformer
            ``self``, with ``n_channels_in_`` and ``config_`` (the settings :meth:`transform` uses) set.
        """
        cfg = self.config()
        X = np.asarray(X)
        if X.ndim != 3:
            raise TopologyError(f"X must have shape (N, C, T), got {X.shape}")
        if self.scaling == "dataset":
            cfg = fit_dataset_scaling(X, cfg, percentiles=tuple(self.percentiles),
                                      pers_percentile=self.pers_percentile, pad_px=self.pad_px)
        self.n_channels_in_ = int(X.shape[1])
        self.config_ = cfg
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Persistence images of windows with the fitted number of channels.

        Parameters
        ----------
        X : numpy.ndarray
            ``(N, C, T)`` windows.

        Returns
        -------
        numpy.ndarray
            ``(N, C, R, R)`` float32, or ``(N, C * R * R)`` with ``flatten=True``.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before :meth:`fit`.
        """
        if not hasattr(self, "n_channels_in_"):
            raise NotFittedError("call fit before transform")
        X = np.asarray(X)
        if X.ndim != 3 or X.shape[1] != self.n_channels_in_:
            raise TopologyError(f"X must have shape (N, {self.n_channels_in_}, T), got {X.shape}")
        imgs = persistence_images(X, self.config_, method=self.method)
        return imgs.reshape(len(imgs), -1) if self.flatten else imgs
