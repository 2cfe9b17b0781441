"""The on-disk cache of persistence images, keyed by the image settings and the exact windows."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import _io
from .config import PIConfig
from .images import persistence_images

__all__ = ["pi_cache_path", "cached_persistence_images"]

#: Bump when the definition of the images changes, so that old cache files are never reused.
_CACHE_VERSION = 3


def pi_cache_path(windows: np.ndarray, cfg: PIConfig = PIConfig(), cache_dir: str | Path | None = None) -> Path:
    """Cache file of the images of ``windows`` under ``cfg``: ``<cache>/pi/pi-<hash>.npz``.

    The key hashes the definition version, every setting and the exact window values (dtype, shape,
    bytes), so a changed setting or input never reuses old images.

    Parameters
    ----------
    windows : numpy.ndarray
        ``(N, C, T)`` windows.
    cfg : PIConfig
        Image settings.
    cache_dir : str or pathlib.Path, optional
        Cache root (default: ``.cache/`` at the repository root).

    Returns
    -------
    pathlib.Path
        The file (it may not exist yet).
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
    windows : numpy.ndarray
        ``(N, C, T)`` real, finite.
    cfg : PIConfig
        Image settings; part of the cache key.
    cache_dir : str or pathlib.Path, optional
        Cache root (default: ``.cache/`` at the repository root).
    n_jobs : int or None
        ``joblib`` workers for sets of at least ``parallel_min`` windows (``None``: every core);
        smaller sets run in this process.
    progress : bool or None
        ``tqdm`` bar while computing (``None``: only on a terminal).
    parallel_min : int
        Fewest windows computed with ``n_jobs`` workers.

    Returns
    -------
    numpy.ndarray
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

