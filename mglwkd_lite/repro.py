"""Reproducibility: one place that seeds every random source, and a record of the software stack.

Importing this module changes nothing; call :func:`seed_everything` explicitly.
"""

from __future__ import annotations

import os
import platform
import random
import sys
from importlib import metadata

import numpy as np

__all__ = ["seed_everything", "versions", "machine", "set_threads", "available_cpus"]

_TRACKED = (
    "mglwkd-lite", "torch", "numpy", "scipy", "scikit-learn", "pandas", "ripser", "persim",
    "joblib", "onnx", "onnxruntime",
)


def seed_everything(seed: int) -> np.random.Generator:
    """Seed Python, NumPy and PyTorch from one integer and return a NumPy ``Generator``.

    PyTorch is put in deterministic mode (``torch.use_deterministic_algorithms``), so the same seed
    and thread count give the same numbers on the same machine. Library code takes the returned
    generator (or a ``torch.Generator`` made from the seed) instead of using global state.

    Parameters
    ----------
    seed : int
        Non-negative.

    Returns
    -------
    numpy.random.Generator

    Raises
    ------
    ValueError
        For a negative or non-integer seed.
    """
    import torch

    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    random.seed(int(seed))
    np.random.seed(int(seed) % 2**32)
    torch.manual_seed(int(seed))
    torch.use_deterministic_algorithms(True, warn_only=True)
    if torch.backends.cudnn.is_available():
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
    return np.random.default_rng(int(seed))


def available_cpus() -> int:
    """Number of cores this process may run on (its CPU affinity where the OS reports one).

    Returns
    -------
    int
        At least 1.
    """
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def set_threads(n: int | None = None) -> int:
    """Use ``n`` intra-op threads in PyTorch.

    Parameters
    ----------
    n : int, optional
        Default: every core the process may use (:func:`available_cpus`).

    Returns
    -------
    int
        The thread count set.
    """
    import torch

    if n is None:
        n = available_cpus()
    torch.set_num_threads(int(n))
    return int(n)


def versions() -> dict[str, str]:
    """Versions of Python and of the packages that shape the numbers.

    Returns
    -------
    dict of str to str
        ``"not installed"`` for a missing package.
    """
    out = {"python": sys.version.split()[0]}
    for name in _TRACKED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def machine() -> dict[str, object]:
    """The machine a result came from: processor, cores, OS, and the accelerator if any.

    Returns
    -------
    dict
        ``platform``, ``processor``, ``cpu_count`` (the machine's, not the process's), ``torch_threads``,
        ``cuda`` and, with CUDA, ``cuda_device``.
    """
    import torch

    info: dict[str, object] = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.is_available(),
    }
    if torch.cuda.is_available():
        info["cuda_device"] = torch.cuda.get_device_name(0)
    return info
