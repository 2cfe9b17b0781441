"""Labelling of whole recordings with a model bundle: sliding windows over an array or a CSV file.

:func:`predict_csv` is what ``python -m mglwkd_lite predict`` runs (the options are defined in
:mod:`mglwkd_lite.cli`). Before it labels, it checks the recording against the bundle's profile of
its training data (:mod:`~mglwkd_lite.deploy.checks`): units (an error naming the ``--scale`` to
use), physically implausible values (counted with their rows), device and placement (a warning).
Each output row carries the model's confidence and, with a profile, an out-of-distribution score
and flag. Warnings are :class:`~mglwkd_lite.deploy.checks.DeployWarning` and the loader's
:class:`~mglwkd_lite.data.RepairWarning`; the command line prints them as ``warning:`` lines.
"""

from __future__ import annotations

import os
import warnings
from datetime import timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm  # a text bar: this runs from the command line (and quietly in notebooks)

from .._io import atomic_write_text
from ..data import TIME_UNITS, ColumnMap, Recordings, load_csv
from .bundle import DeployError, ModelBundle, load_bundle
from .checks import (
    MIN_RATE_RATIO, PLAUSIBLE_G, UNITS_IN_G, DeployWarning, device_warning, median_magnitude, ood_scores,
    rate_warning, unit_error, unit_warning,
)
from .export import Backend, onnx_backend, torch_backend

__all__ = ["sliding_starts", "predict_windows", "predict_csv", "recording_to_csv", "table_to_csv"]


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


def _limit(bundle: ModelBundle) -> float:
    """:data:`PLAUSIBLE_G` in the bundle's training units (g when it has no profile)."""
    units = bundle.profile.units if bundle.profile is not None else "g"
    return PLAUSIBLE_G / UNITS_IN_G[units]


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
        ``(n, C)`` acceleration in the training units (g) at the bundle's rate (unnormalised).
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
        One row per window: ``start_s``, ``end_s``, ``activity``, ``confidence`` (the largest class
        probability); with a bundle profile, ``ood_score`` (:func:`~mglwkd_lite.deploy.checks.ood_scores`;
        inf for a window holding a value beyond :data:`~mglwkd_lite.deploy.checks.PLAUSIBLE_G`) and
        ``ood`` (True when the score is above the profile's threshold: the window is unlike the
        training windows); then ``p_<class>`` per class (softmax probabilities). A window whose
        logits are not finite gets activity ``""`` and NaN confidence. Windows start every ``window_stride`` samples; a tail shorter
        than a stride after the last full window is left unlabelled.

    Raises
    ------
    DeployError
        If ``acc`` has the wrong shape, holds NaN or inf, or is shorter than one window, or
        ``batch_size`` is not positive.
    """
    acc = np.asarray(acc, dtype=np.float32)
    if acc.ndim != 2 or acc.shape[1] != bundle.in_channels:
        raise DeployError(f"{source}: expected acceleration of shape (n, {bundle.in_channels}), got {acc.shape}")
    if not np.all(np.isfinite(acc)):
        row = int(np.argwhere(~np.isfinite(acc))[0, 0])
        raise DeployError(f"{source}: non-finite acceleration at row {row}")
    if int(batch_size) < 1:
        raise DeployError(f"batch size must be a positive number of windows, got {batch_size}")
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
    scores = np.empty(len(starts), dtype=np.float64)
    beyond = np.zeros(len(starts), dtype=bool)
    limit = _limit(bundle)
    bar = tqdm(range(0, len(starts), batch_size), desc="windows", unit="batch",
               disable=None if progress is None else not progress)
    for i in bar:
        sel = idx[i : i + batch_size]
        windows = np.ascontiguousarray(signal[:, sel].transpose(1, 0, 2))  # (B, C, L)
        with np.errstate(over="ignore", invalid="ignore"):  # absurd inputs give inf logits: NaN, shown below
            probs[i : i + len(sel)] = _softmax(np.asarray(backend(windows), dtype=np.float64))
        raw = acc.T[:, sel].transpose(1, 0, 2)  # the same windows in g, for the input checks
        beyond[i : i + len(sel)] = (np.abs(raw) > limit).any(axis=(1, 2))
        if bundle.profile is not None:
            scores[i : i + len(sel)] = ood_scores(bundle.profile, raw)
    usable = np.isfinite(probs).all(axis=1)
    names = np.asarray(list(bundle.classes) + [""], dtype=object)
    table = pd.DataFrame({
        "start_s": t0 + starts / bundle.rate_hz,
        "end_s": t0 + (starts + L) / bundle.rate_hz,
        "activity": names[np.where(usable, np.nan_to_num(probs, nan=-1.0).argmax(1), len(bundle.classes))],
        "confidence": np.where(usable, probs.max(axis=1, initial=-np.inf, where=np.isfinite(probs)), np.nan),
    })
    if bundle.profile is not None:
        scores[beyond | ~usable] = np.inf  # physically implausible input: unlike anything trained on
        table["ood"] = scores > bundle.profile.threshold
        table["ood_score"] = scores
    for k, name in enumerate(bundle.classes):
        table[f"p_{name}"] = probs[:, k]
    return table


def _iso(seconds: np.ndarray, offset: str) -> list[str]:
    """Seconds since 1970 (UTC) as ISO 8601 date-times in ``offset`` (``""``: no offset written)."""
    stamps = pd.to_datetime(np.round(np.asarray(seconds) * 1e6).astype(np.int64), unit="us", utc=True)
    if offset:
        sign = -1 if offset.startswith("-") else 1
        hours, minutes = (int(v) for v in offset[1:].split(":"))
        stamps = stamps.tz_convert(timezone(sign * timedelta(hours=hours, minutes=minutes)))
    else:
        stamps = stamps.tz_localize(None)
    spec = "milliseconds" if (stamps.microsecond % 1000 == 0).all() else "microseconds"
    return [t.isoformat(timespec=spec) for t in stamps]


def _full_precision(seconds: pd.Series) -> pd.Series:
    """Times as text to the microsecond, trailing zeros trimmed (``%.6g`` would round epochs to 1e3 s)."""
    return seconds.map(lambda v: np.format_float_positional(v, precision=6, unique=False, trim="-"))


def table_to_csv(table: pd.DataFrame) -> str:
    """A labelled table as CSV text: times in full, probabilities and scores to six digits.

    Parameters
    ----------
    table : pandas.DataFrame
        From :func:`predict_windows` or :func:`predict_csv`.

    Returns
    -------
    str
    """
    out = table.copy()
    for col in ("start_s", "end_s"):
        if col in out:
            out[col] = _full_precision(out[col])
    return out.to_csv(index=False, float_format="%.6g")


def _onnx(path: str | os.PathLike, batch_size: int) -> Backend:
    """:func:`onnx_backend` with ONNX Runtime's own exceptions (raised from C++) as :class:`DeployError`."""
    if not Path(path).is_file():
        raise DeployError(f"{path}: ONNX model not found")
    try:
        run = onnx_backend(path, batch_size=batch_size)
    except Exception as exc:  # onnxruntime's exception types are not importable in a stable place
        raise DeployError(f"{path}: not a readable ONNX model ({type(exc).__name__}: {exc})") from None

    def checked(x: np.ndarray) -> np.ndarray:
        try:
            return run(x)
        except Exception as exc:  # same: a model for other inputs fails inside ONNX Runtime
            raise DeployError(f"{path}: the ONNX model does not run on windows of shape {x.shape[1:]} "
                              f"({type(exc).__name__})") from None

    return checked


def _same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """True when two paths name one file (the second need not exist)."""
    a, b = Path(a), Path(b)
    if a.exists() and b.exists():
        return os.path.samefile(a, b)
    return a.resolve() == b.resolve()


def _check_output(out_path: str | os.PathLike, inputs: dict[str, str | os.PathLike | None]) -> None:
    """Refuse an output path that is one of the inputs (the recording, the bundle, the ONNX file)."""
    for what, given in inputs.items():
        if given is not None and _same_file(out_path, given):
            raise DeployError(f"{out_path}: the output is the {what} itself, which it would overwrite; "
                              "choose another output file (-o)")


def _rate_warnings(bundle: ModelBundle, rec: Recordings) -> list[str]:
    """The loader's measured rate of each recording against the model's (warnings when they differ)."""
    said = (rate_warning(bundle.rate_hz, row.get("input_rate_hz"), row["source"])
            for row in rec.report.rows if row["kind"] == "resampled_rows")
    return [w for w in said if w]


def _check_recording(bundle: ModelBundle, rec: Recordings, scale: float | None, device: str | None,
                     placement: str | None, source: str) -> None:
    """Units (error unless ``scale`` was given), then rate, device and placement (warnings)."""
    profile = bundle.profile
    said = []
    if profile is not None:
        magnitude = median_magnitude(rec.acc)
        if scale is None:
            message = unit_error(profile, magnitude, source)
            if message:
                raise DeployError(message)
        else:
            said.append(unit_warning(profile, magnitude * scale, scale, source))
    said += _rate_warnings(bundle, rec)
    if profile is not None:
        said.append(device_warning(profile, device, placement, source))
    for message in filter(None, said):
        warnings.warn(message, DeployWarning, stacklevel=3)


def predict_csv(
    csv_path: str | os.PathLike,
    model: ModelBundle | str | os.PathLike,
    out_path: str | os.PathLike | None = None,
    *,
    columns: ColumnMap | None = None,
    time_unit: str = "s",
    scale: float | None = None,
    onnx_path: str | os.PathLike | None = None,
    batch_size: int = 256,
    progress: bool | None = None,
    device: str | None = None,
    placement: str | None = None,
    **loader_options: Any,
) -> pd.DataFrame:
    """Label every window of a recording CSV (the data module's bring-your-own loader reads it).

    Parameters
    ----------
    csv_path : str or os.PathLike
        The recording; columns as in :func:`mglwkd_lite.data.load_csv` (time, x, y, z and
        optionally label and subject; names set by ``columns``). The time column holds numbers in
        ``time_unit`` or ISO 8601 date-times.
    model : ModelBundle, str or os.PathLike
        A bundle or the path of one.
    out_path : str or os.PathLike, optional
        Where to write the table as CSV (atomically, :func:`table_to_csv`); None writes nothing.
    columns : mglwkd_lite.data.ColumnMap, optional
        Default: time, x, y, z, no label, no subject.
    time_unit : {"s", "ms", "us", "ns"}
        Unit of a numeric time column.
    scale : float, optional
        Factor that turns the file's acceleration into the training units, g (``1 / 9.80665`` for
        m/s^2). None: the file is taken to be in g, and a median magnitude unlike the training data's
        raises :class:`DeployError` naming the likely unit and the scale; a number given is used as
        is (only a warning if the magnitude still differs).
    onnx_path : str or os.PathLike, optional
        Run this ONNX export (float or int8) with ONNX Runtime instead of PyTorch.
    batch_size : int
        Windows per forward pass.
    progress : bool or None
        ``tqdm`` bar (None: only on a terminal).
    device, placement : str, optional
        The recording's device and where it was worn, as the user states them; a
        :class:`~mglwkd_lite.deploy.checks.DeployWarning` when they differ from the bundle's.
    **loader_options
        Passed to :func:`~mglwkd_lite.data.load_csv` (``max_gap_s``, ``strict``, ``jitter_tol``,
        ``sep``, ``encoding``, ``decimal``, ``skip_rows``, ``input_rate_hz``, ``classes``,
        ``unlabelled``, ...). ``min_rate_hz`` defaults to :data:`~mglwkd_lite.deploy.checks.MIN_RATE_RATIO`
        of the bundle's rate: a recording sampled more coarsely stops with the time unit that may
        have been meant, or says that it is too coarse for the model.

    Returns
    -------
    pandas.DataFrame
        One row per window as in :func:`predict_windows`: ``start_s``, ``end_s`` (on the file's
        time axis, in seconds; seconds since 1970 UTC for date-times), ``activity``,
        ``confidence``, ``ood`` and ``ood_score`` (with a profile), ``p_<class>``. For date-time input,
        ``start`` and ``end`` as ISO 8601 date-times (in the input's UTC offset) come first; with a
        subject column, ``subject`` first; with a label column, ``label`` (the label at the window's
        centre, "" if unlabelled) after ``activity``.

    Raises
    ------
    mglwkd_lite.data.DataError
        Bad input, as the loader reports it (encoding, missing column, non-numeric value, time unit,
        gap, too short...).
    DeployError
        A bad bundle or ONNX file, a bundle/recording mismatch, units unlike the training data's
        without an explicit ``scale``, or an ``out_path`` that is one of the inputs.

    Warns
    -----
    DeployWarning
        The bundle has no profile (checks skipped), the device or placement differs, an explicit
        ``scale`` leaves the magnitude unlike the training data's, or the recording's rate is off
        the model's (it is resampled).
    mglwkd_lite.data.RepairWarning
        The loader repaired the time stamps or found implausible values (named by row).
    """
    bundle = model if isinstance(model, ModelBundle) else load_bundle(model)
    if bundle.note:
        warnings.warn(bundle.note, DeployWarning, stacklevel=2)
    if columns is None:
        columns = ColumnMap(label=None, subject=None)
    if scale is not None and not (np.isfinite(scale) and scale > 0):
        raise DeployError(f"scale must be a positive number, got {scale!r}")
    path = Path(csv_path)
    if out_path is not None:
        _check_output(out_path, {"recording": path, "model bundle": None if isinstance(model, ModelBundle) else model,
                                 "ONNX model": onnx_path})
    backend = _onnx(onnx_path, batch_size) if onnx_path is not None else None
    loader_options.setdefault("min_rate_hz", MIN_RATE_RATIO * bundle.rate_hz)
    # The loader's warnings wait until the units are known to be right: a unit error comes alone.
    with warnings.catch_warnings(record=True) as held:
        warnings.simplefilter("always")
        rec = load_csv(path, bundle.rate_hz, columns, time_unit=time_unit, min_length=bundle.window_length,
                       value_limit=_limit(bundle) / (scale or 1.0), **loader_options)
    if rec.acc.shape[1] != bundle.in_channels:
        raise DeployError(f"{path.name}: {rec.acc.shape[1]} channels, the model expects {bundle.in_channels}")
    _check_recording(bundle, rec, scale, device, placement, path.name)
    for w in held:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    tables = []
    for r in range(rec.n_recordings):
        acc, lab = rec.recording(r)
        # Times on the file's axis: each recording's grid starts at its first time stamp.
        with np.errstate(over="ignore"):  # a scale that overflows float32 gives inf: refused just below
            scaled = acc * np.float32(scale or 1.0)
        if not np.isfinite(scaled).all():
            raise DeployError(f"{rec.source_of(r)}: --scale {scale:g} takes the acceleration beyond the float32 "
                              "range; expected a factor that turns the file's values into g")
        table = predict_windows(bundle, scaled, t0=float(rec.rec_t0[r]), backend=backend,
                                batch_size=batch_size, progress=progress, source=rec.source_of(r))
        if columns.label is not None:
            centre = sliding_starts(len(acc), bundle.window_length, bundle.window_stride) + bundle.window_length // 2
            names = np.asarray(list(rec.classes) + [""], dtype=object)
            table.insert(3, "label", names[np.where(lab[centre] >= 0, lab[centre], len(rec.classes))])
        if rec.time_iso is not None:
            table.insert(0, "end", _iso(table["end_s"].to_numpy(), rec.time_iso))
            table.insert(0, "start", _iso(table["start_s"].to_numpy(), rec.time_iso))
        if columns.subject is not None:
            table.insert(0, "subject", int(rec.rec_subject[r]))
        tables.append(table)
    out = pd.concat(tables, ignore_index=True)
    if out_path is not None:
        atomic_write_text(out_path, table_to_csv(out))
    return out


def recording_to_csv(rec: Recordings, index: int, path: str | os.PathLike, t0: float = 0.0,
                     time_unit: str = "s", units: str = "g") -> Path:
    """Write one recording as a device export would look, to try :func:`predict_csv` on real data.

    Columns ``time`` (from ``t0``, in ``time_unit``; whole numbers for ``"ms"`` and finer, as
    devices stamp them), ``x``, ``y``, ``z`` (in ``units``) and ``label`` (class name, empty when
    unlabelled); written atomically.

    Parameters
    ----------
    rec : mglwkd_lite.data.Recordings
        The recordings (in g).
    index : int
        Which recording.
    path : str or os.PathLike
        Target file.
    t0 : float
        Time of the first sample in seconds (for example an epoch: ``1657530000.0``).
    time_unit : {"s", "ms", "us", "ns"}
        Unit of the written time column.
    units : str
        Unit of the written acceleration (a key of :data:`~mglwkd_lite.deploy.checks.UNITS_IN_G`).

    Returns
    -------
    pathlib.Path
        The CSV written (``path``), as a device would export it.

    Raises
    ------
    DeployError
        Unknown ``time_unit`` or ``units``.
    """
    if time_unit not in TIME_UNITS or units not in UNITS_IN_G:
        raise DeployError(f"time_unit must be one of {list(TIME_UNITS)} and units one of {list(UNITS_IN_G)}, "
                          f"got {time_unit!r} and {units!r}")
    acc, lab = rec.recording(index)
    names = np.asarray(list(rec.classes) + [""], dtype=object)
    seconds = t0 + np.arange(len(acc)) / rec.rate_hz
    if time_unit == "s":
        df = pd.DataFrame({"time": _full_precision(pd.Series(seconds))})
    else:
        per_second = round(1 / TIME_UNITS[time_unit])
        df = pd.DataFrame({"time": np.round(seconds * per_second).astype(np.int64)})
    for k, c in enumerate(rec.channels):
        df[c] = acc[:, k] / np.float32(UNITS_IN_G[units])
    df["label"] = names[np.where(lab >= 0, lab, len(rec.classes))]
    return atomic_write_text(path, df.to_csv(index=False, float_format="%.7g"))
