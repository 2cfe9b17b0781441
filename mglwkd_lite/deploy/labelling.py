"""Labelling of whole recordings with a model bundle: sliding windows over an array or a CSV file.

:func:`predict_csv` is what ``python -m mglwkd_lite predict`` runs (the options are defined in
:mod:`mglwkd_lite.cli`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm  # a text bar: this runs from the command line (and quietly in notebooks)

from .._io import atomic_write_text
from ..data import ColumnMap, Recordings, load_csv
from .bundle import DeployError, ModelBundle, load_bundle
from .export import Backend, onnx_backend, torch_backend

__all__ = ["sliding_starts", "predict_windows", "predict_csv", "recording_to_csv"]


def sliding_starts(n_samples: int, length: int, stride: int) -> np.ndarray:
    """Start indices of the full windows of ``length`` every ``stride`` samples in ``n_samples``.

    A tail shorter than ``stride`` after the last full window is not labelled (see
    :func:`predict_windows`).

    Parameters
    ----------
    n_samples, length, stride : int
        Samples of the recording, per window and between window starts.

    Returns
    -------
    numpy.ndarray
        ``(n_windows,)`` int64 start indices (empty when the recording is shorter than a window).
    """
    if n_samples < length:
        return np.zeros(0, dtype=np.int64)
    return np.arange(0, n_samples - length + 1, stride, dtype=np.int64)


def _softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax of ``(N, K)`` logits (shifted by the row maximum, so it never overflows)."""
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def predict_windows(
    bundle: ModelBundle,
    acc: np.ndarray,
    t0: float = 0.0,
    backend: Backend | None = None,
    batch_size: int = 256,
    progress: bool | None = None,
    source: str = "recording",
) -> pd.DataFrame:
    """Label a recording sampled at ``bundle.rate_hz`` with sliding windows.

    Parameters
    ----------
    bundle : ModelBundle
        The model bundle.
    acc : numpy.ndarray
        ``(n, C)`` acceleration in g at the bundle's rate (unnormalised).
    t0 : float
        Time of sample 0 in seconds (the times in the output are ``t0 + index / rate``).
    backend : Backend, optional
        Windows -> logits; default eager PyTorch on ``bundle.model``.
    batch_size : int
        Windows per forward pass.
    progress : bool or None
        ``tqdm`` bar (None: only on a terminal).
    source : str
        A name for error messages.

    Returns
    -------
    pandas.DataFrame
        One row per window: ``start_s``, ``end_s``, ``activity`` and ``p_<class>`` per class
        (softmax probabilities). Windows start every ``window_stride`` samples; a tail shorter than a
        stride after the last full window is left unlabelled.

    Raises
    ------
    DeployError
        If ``acc`` has the wrong shape, holds NaN or inf, or is shorter than one window.
    """
    acc = np.asarray(acc, dtype=np.float32)
    if acc.ndim != 2 or acc.shape[1] != bundle.in_channels:
        raise DeployError(f"{source}: expected acceleration of shape (n, {bundle.in_channels}), got {acc.shape}")
    if not np.all(np.isfinite(acc)):
        row = int(np.argwhere(~np.isfinite(acc))[0, 0])
        raise DeployError(f"{source}: non-finite acceleration at row {row}")
    L, S = bundle.window_length, bundle.window_stride
    starts = sliding_starts(len(acc), L, S)
    if len(starts) == 0:
        raise DeployError(
            f"{source}: {len(acc)} samples ({len(acc) / bundle.rate_hz:.2f} s) is shorter than one window of "
            f"{L} samples ({bundle.window_seconds:.2f} s)"
        )
    backend = backend or torch_backend(bundle.model, batch_size)
    signal = ((acc - bundle.mean) / bundle.std).astype(np.float32).T  # (C, n), normalised once
    idx = starts[:, None] + np.arange(L)[None, :]
    probs = np.empty((len(starts), len(bundle.classes)), dtype=np.float64)
    bar = tqdm(range(0, len(starts), batch_size), desc="windows", unit="batch",
               disable=None if progress is None else not progress)
    for i in bar:
        sel = idx[i : i + batch_size]
        windows = np.ascontiguousarray(signal[:, sel].transpose(1, 0, 2))  # (B, C, L)
        probs[i : i + len(sel)] = _softmax(np.asarray(backend(windows), dtype=np.float64))
    table = pd.DataFrame({
        "start_s": t0 + starts / bundle.rate_hz,
        "end_s": t0 + (starts + L) / bundle.rate_hz,
        "activity": np.asarray(bundle.classes, dtype=object)[probs.argmax(1)],
    })
    for k, name in enumerate(bundle.classes):
        table[f"p_{name}"] = probs[:, k]
    return table


def predict_csv(
    csv_path: str | os.PathLike,
    model: ModelBundle | str | os.PathLike,
    out_path: str | os.PathLike | None = None,
    *,
    columns: ColumnMap | None = None,
    time_unit: str = "s",
    scale: float = 1.0,
    onnx_path: str | os.PathLike | None = None,
    batch_size: int = 256,
    progress: bool | None = None,
    **loader_options: Any,
) -> pd.DataFrame:
    """Label every window of a recording CSV (the data module's bring-your-own loader reads it).

    Parameters
    ----------
    csv_path : str or os.PathLike
        The recording; columns as in :func:`mglwkd_lite.data.load_csv` (time, x, y, z and
        optionally label and subject; names set by ``columns``).
    model : ModelBundle, str or os.PathLike
        A bundle or the path of one.
    out_path : str or os.PathLike, optional
        Where to write the table as CSV (atomically); None writes nothing.
    columns : mglwkd_lite.data.ColumnMap, optional
        Default: time, x, y, z, no label, no subject.
    time_unit : {"s", "ms", "us", "ns"}
        Unit of the time column.
    scale : float
        Factor that turns the file's acceleration into g (e.g. ``1 / 9.80665`` for m/s^2).
    onnx_path : str or os.PathLike, optional
        Run this ONNX export (float or int8) with ONNX Runtime instead of PyTorch.
    batch_size : int
        Windows per forward pass.
    progress : bool or None
        ``tqdm`` bar (None: only on a terminal).
    **loader_options
        Passed to :func:`~mglwkd_lite.data.load_csv` (``max_gap_s``, ``strict``, ``jitter_tol``,
        ``sep``, ``classes``, ``unlabelled``, ...).

    Returns
    -------
    pandas.DataFrame
        One row per window: ``start_s``, ``end_s`` (on the file's time axis, in seconds),
        ``activity``, ``p_<class>`` per class; with a subject column, ``subject`` first; with a label
        column, ``label``: the label at the window's centre ("" if unlabelled).

    Raises
    ------
    mglwkd_lite.data.DataError
        Bad input, as the loader reports it (missing column, non-numeric value, gap, too short...).
    DeployError
        A bad bundle, or a bundle/recording mismatch.
    """
    bundle = model if isinstance(model, ModelBundle) else load_bundle(model)
    if columns is None:
        columns = ColumnMap(label=None, subject=None)
    if not (np.isfinite(scale) and scale > 0):
        raise DeployError(f"scale must be a positive number, got {scale!r}")
    path = Path(csv_path)
    rec = load_csv(path, bundle.rate_hz, columns, time_unit=time_unit, min_length=bundle.window_length,
                   **loader_options)
    if rec.acc.shape[1] != bundle.in_channels:
        raise DeployError(f"{path.name}: {rec.acc.shape[1]} channels, the model expects {bundle.in_channels}")
    backend = onnx_backend(onnx_path, batch_size=batch_size) if onnx_path is not None else None
    tables = []
    for r in range(rec.n_recordings):
        acc, lab = rec.recording(r)
        # Times on the file's axis: each recording's grid starts at its first time stamp.
        table = predict_windows(bundle, acc * np.float32(scale), t0=float(rec.rec_t0[r]), backend=backend,
                                batch_size=batch_size, progress=progress, source=rec.source_of(r))
        if columns.label is not None:
            centre = sliding_starts(len(acc), bundle.window_length, bundle.window_stride) + bundle.window_length // 2
            names = np.asarray(list(rec.classes) + [""], dtype=object)
            table.insert(3, "label", names[np.where(lab[centre] >= 0, lab[centre], len(rec.classes))])
        if columns.subject is not None:
            table.insert(0, "subject", int(rec.rec_subject[r]))
        tables.append(table)
    out = pd.concat(tables, ignore_index=True)
    if out_path is not None:
        atomic_write_text(out_path, out.to_csv(index=False, float_format="%.6g"))
    return out


def recording_to_csv(rec: Recordings, index: int, path: str | os.PathLike, t0: float = 0.0) -> Path:
    """Write one recording as a device export would look, to try :func:`predict_csv` on real data.

    Columns ``time`` (s, from ``t0``), ``x``, ``y``, ``z`` (g) and ``label`` (class name, empty when
    unlabelled); written atomically.

    Parameters
    ----------
    rec : mglwkd_lite.data.Recordings
        The recordings.
    index : int
        Which recording.
    path : str or os.PathLike
        Target file.
    t0 : float
        Time of the first sample in seconds.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    acc, lab = rec.recording(index)
    names = np.asarray(list(rec.classes) + [""], dtype=object)
    df = pd.DataFrame({"time": t0 + np.arange(len(acc)) / rec.rate_hz})
    for k, c in enumerate(rec.channels):
        df[c] = acc[:, k]
    df["label"] = names[np.where(lab >= 0, lab, len(rec.classes))]
    return atomic_write_text(path, df.to_csv(index=False, float_format="%.7g"))
