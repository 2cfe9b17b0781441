"""Batches of the training loop: in-memory data sets of dict samples and their loaders.

Data sets yield dict batches ``{"x": (B, ...), "y": (B,), "index": (B,)}``; ``index`` is the position
of each sample in its data set, so a distillation objective can look up cached teacher outputs
(:func:`mglwkd_lite.checkpoint.cached_outputs`) for exactly the windows of the batch. The training
loop itself is :mod:`mglwkd_lite.train`, which re-exports these names.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from ._io import stable_hash

__all__ = [
    "TrainError",
    "Batch",
    "ArrayDataset",
    "as_dataset",
    "make_loader",
    "to_device",
]

Batch = dict[str, torch.Tensor]
"""A batch: ``{"x": (B, ...), "y": (B,), "index": (B,)}``."""


class TrainError(ValueError):
    """Invalid training input or setting (data set shapes, config values, a diverging loss)."""


class ArrayDataset(Dataset):
    """In-memory samples ``x`` (N, ...) and labels ``y`` (N,) yielding ``{"x", "y", "index"}``.

    Arrays are wrapped without copying (``torch.from_numpy``). Batches are gathered in one indexing
    operation (``__getitems__``), which is much faster than collating single samples.

    Parameters
    ----------
    x : numpy.ndarray or torch.Tensor
        Floating-point samples ``(N, ...)``.
    y : numpy.ndarray or torch.Tensor
        Integer class indices ``(N,)``, all >= 0.

    Raises
    ------
    TrainError
        On mismatched lengths, non-float samples or labels that are not class indices.
    """

    def __init__(self, x: np.ndarray | torch.Tensor, y: np.ndarray | torch.Tensor) -> None:
        x = torch.as_tensor(x)
        y = torch.as_tensor(y)
        if x.dim() < 2 or y.dim() != 1 or len(x) != len(y):
            raise TrainError(f"need x (N, ...) and y (N,) with equal N, got x {tuple(x.shape)}, y {tuple(y.shape)}")
        if not torch.is_floating_point(x):
            raise TrainError(f"x must be floating point, got {x.dtype}")
        if y.dtype not in (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8):
            raise TrainError(f"y must hold integer class indices, got {y.dtype}")
        if len(y) and int(y.min()) < 0:
            raise TrainError(f"y must hold class indices >= 0, found {int(y.min())} at row {int(y.argmin())}")
        self.x = x.float()
        self.y = y.long()

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int) -> Batch:
        return {"x": self.x[i], "y": self.y[i], "index": torch.tensor(i)}

    def __getitems__(self, indices: Sequence[int]) -> Batch:
        idx = torch.as_tensor(indices, dtype=torch.long)
        return {"x": self.x[idx], "y": self.y[idx], "index": idx}

    def fingerprint(self) -> str:
        """Hash of the samples and labels (a cache key part)."""
        return stable_hash(self.x.numpy(), self.y.numpy())


def as_dataset(data: Any) -> Dataset:
    """A data set yielding dict samples.

    Parameters
    ----------
    data : torch.utils.data.Dataset, object with ``.x`` and ``.y``, or pair ``(x, y)``
        E.g. a :class:`mglwkd_lite.data.Windows`.

    Returns
    -------
    torch.utils.data.Dataset
        ``data`` itself when it is a ``Dataset``, else an :class:`ArrayDataset`.
    """
    if isinstance(data, Dataset):
        return data
    if hasattr(data, "x") and hasattr(data, "y"):
        return ArrayDataset(data.x, data.y)
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return ArrayDataset(*data)
    raise TrainError(f"cannot use {type(data).__name__} as a data set: pass a Dataset, an object with "
                     f".x and .y, or a pair (x, y)")


def _collate(items: Any) -> Batch:
    # ArrayDataset.__getitems__ already returns a batch; other data sets give a list of dicts.
    if isinstance(items, Mapping):
        return dict(items)
    return torch.utils.data.default_collate(items)


def make_loader(dataset: Dataset, batch_size: int, shuffle: bool = False, seed: int = 0) -> DataLoader:
    """A ``DataLoader`` of dict batches in the main process.

    Parameters
    ----------
    dataset : torch.utils.data.Dataset
    batch_size : int
    shuffle : bool
        Shuffle with its own ``torch.Generator(seed)`` (global random state is untouched).
    seed : int

    Returns
    -------
    torch.utils.data.DataLoader
    """
    generator = torch.Generator().manual_seed(int(seed)) if shuffle else None
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, generator=generator,
                      collate_fn=_collate, num_workers=0)


def to_device(batch: Batch, device: torch.device, channels_last: bool) -> Batch:
    """``batch`` on ``device``; 4-D inputs in the channels-last memory format when ``channels_last``."""
    out = {k: (v.to(device, non_blocking=True) if torch.is_tensor(v) else v) for k, v in batch.items()}
    if channels_last and out["x"].dim() == 4:
        out["x"] = out["x"].contiguous(memory_format=torch.channels_last)
    return out
