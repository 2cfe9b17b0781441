"""Bring your own data: a device's CSV export or in-memory arrays, checked and resampled.

:func:`load_csv` and :func:`from_arrays` share their checks: every value finite, labels among the
declared classes, time stamps sorted, unique, regular and without long gaps. What can be repaired
safely (unsorted or repeated stamps, jitter) is repaired, counted in the returned
:class:`~mglwkd_lite.data.Recordings`' ``report`` and announced by a
:class:`~mglwkd_lite.data.RepairWarning`; ``strict=True`` raises instead. Anything else raises a
:class:`~mglwkd_lite.data.DataError` subclass naming the file, column and row.
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd  # parsing only: the loader reads every cell as text, then checks it

from .records import (
    UNLABELLED, DataError, EmptyFileError, FormatError, GapError, MissingColumnError, NonFiniteError,
    NonNumericError, Recordings, RecordingTooShortError, RepairReport, RepairWarning, TimestampError,
    UnknownLabelError, did_you_mean,
)

__all__ = ["ColumnMap", "TIME_UNITS", "load_csv", "from_arrays"]


@dataclass(frozen=True)
class ColumnMap:
    """Column names of a CSV export.

    Parameters
    ----------
    time, x, y, z : str
        Columns of the time stamp and the three axes.
    label, subject : str or None
        Columns of the activity label and the subject id; None when the file has none.
    """

    time: str = "time"
    x: str = "x"
    y: str = "y"
    z: str = "z"
    label: str | None = "label"
    subject: str | None = "subject"


#: Seconds per unit of the time column, for each accepted ``time_unit``.
TIME_UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}
_NAN_TOKENS = {"", "nan", "na", "n/a", "null", "none"}


def _row_name(source: str, row: int) -> str:
    """Rows are numbered from 1 over data rows; in a CSV file data row i is on line i + 1."""
    return f"row {row + 1} (line {row + 2})" if source != "<arrays>" else f"index {row}"


def _resample_one(source: str, t: np.ndarray, xyz: np.ndarray, lab: np.ndarray, rate_hz: float,
                  max_gap_s: float, jitter_tol: float, strict: bool, columns: Sequence[str],
                  time_col: str) -> tuple[np.ndarray, np.ndarray, list[dict]]:
    """Sort, de-duplicate and resample one recording to ``rate_hz``; returns repairs made."""
    rows: list[dict] = []
    n_in = len(t)
    # Unsorted stamps: count the steps backwards, then sort stably (the first of equal stamps stays).
    back = int((np.diff(t) < 0).sum())
    if back:
        if strict:
            i = int(np.flatnonzero(np.diff(t) < 0)[0]) + 1
            raise TimestampError(f"{source}: column {time_col!r} {_row_name(source, i)} goes back in time "
                                 f"({t[i]} after {t[i - 1]}); strict mode expects sorted time stamps")
        order = np.argsort(t, kind="stable")
        t, xyz, lab = t[order], xyz[order], lab[order]
        rows.append({"source": source, "kind": "unsorted_rows", "count": back,
                     "detail": "time stamps going back; rows sorted by time"})
    dup = np.flatnonzero(np.diff(t) == 0) + 1
    if len(dup):
        if strict:
            raise TimestampError(f"{source}: column {time_col!r} has {len(dup)} duplicate time stamps "
                                 f"(first at {t[dup[0]]}); strict mode expects unique time stamps")
        keep = np.ones(len(t), dtype=bool)
        keep[dup] = False
        t, xyz, lab = t[keep], xyz[keep], lab[keep]
        rows.append({"source": source, "kind": "duplicate_rows", "count": int(len(dup)),
                     "detail": "repeated time stamps; first row kept"})
    dt = np.diff(t)
    if len(dt) and dt.max() > max_gap_s:
        i = int(dt.argmax())
        raise GapError(f"{source}: column {time_col!r} jumps {dt[i]:.3f} s between time {t[i]} and {t[i + 1]}, "
                       f"more than the allowed gap of {max_gap_s} s; split the recording there or raise max_gap_s")
    if len(dt):
        nominal = float(np.median(dt))
        jitter = int((np.abs(dt - nominal) > jitter_tol * nominal).sum())
        if jitter:
            if strict:
                raise TimestampError(f"{source}: {jitter} intervals of column {time_col!r} differ from the median "
                                     f"{nominal:.6f} s by more than {jitter_tol:.0%}; strict mode expects regular stamps")
            rows.append({"source": source, "kind": "jittery_intervals", "count": jitter,
                         "detail": f"intervals off the median {nominal:.4g} s by > {jitter_tol:.0%}; "
                                   "fixed by resampling"})
    # Uniform grid from the first stamp; axes linear, label of the nearest input sample.
    n_out = int(np.floor((t[-1] - t[0]) * rate_hz + 1e-9)) + 1
    grid = t[0] + np.arange(n_out) / rate_hz
    out = np.stack([np.interp(grid, t, xyz[:, k]) for k in range(xyz.shape[1])], axis=1)
    right = np.clip(np.searchsorted(t, grid), 1, len(t) - 1) if len(t) > 1 else np.zeros(n_out, int)
    left = np.maximum(right - 1, 0)
    nearest = np.where(np.abs(grid - t[left]) <= np.abs(t[right] - grid), left, right)
    rows.append({"source": source, "kind": "resampled_rows", "count": n_out,
                 "detail": f"{n_in} input rows resampled to {n_out} at {rate_hz:g} Hz"})
    return out.astype(np.float32), lab[nearest], rows


def _build(source: str, t: np.ndarray | None, xyz: np.ndarray, lab: np.ndarray, subj: np.ndarray,
           classes: tuple[str, ...], rate_hz: float, max_gap_s: float, jitter_tol: float, strict: bool,
           min_length: int | None, columns: Sequence[str], time_col: str, name: str) -> Recordings:
    """Shared checks and resampling of the CSV and array entry points (one recording per subject)."""
    if len(xyz) == 0:
        raise EmptyFileError(f"{source}: no data rows; expected at least one sample")
    for k, col in enumerate(columns):
        bad = np.flatnonzero(~np.isfinite(xyz[:, k]))
        if len(bad):
            raise NonFiniteError(f"{source}: column {col!r} {_row_name(source, int(bad[0]))} is "
                                 f"{xyz[bad[0], k]}; expected a finite number ({len(bad)} such values)")
    if t is not None:
        bad = np.flatnonzero(~np.isfinite(t))
        if len(bad):
            raise NonFiniteError(f"{source}: column {time_col!r} {_row_name(source, int(bad[0]))} is "
                                 f"{t[bad[0]]}; expected a finite time stamp")
    accs, labs, lens, subs, t0s, rows = [], [], [], [], [], []
    for s in dict.fromkeys(subj.tolist()):  # subjects in order of first appearance
        m = subj == s
        src = source if len(np.unique(subj)) == 1 else f"{source} [subject {s}]"
        if t is None:
            a, lb = xyz[m].astype(np.float32), lab[m]
        else:
            a, lb, r = _resample_one(src, t[m], xyz[m], lab[m], rate_hz, max_gap_s, jitter_tol, strict,
                                     columns, time_col)
            rows += r
            t0s.append(float(t[m].min()))  # where the grid starts: the earliest stamp
        if min_length is not None and len(a) < min_length:
            raise RecordingTooShortError(f"{src}: {len(a)} samples at {rate_hz:g} Hz, shorter than one window "
                                         f"of {min_length}; expected at least {min_length}")
        accs.append(a)
        labs.append(lb)
        lens.append(len(a))
        subs.append(int(s))
    report = RepairReport(tuple(rows))
    if report.repaired:
        warnings.warn(f"repaired input: {report}", RepairWarning, stacklevel=3)
    n = len(lens)
    return Recordings(
        acc=np.concatenate(accs), label=np.concatenate(labs).astype(np.int64), classes=classes,
        rec_len=np.asarray(lens, np.int64), rec_subject=np.asarray(subs, np.int64),
        rec_id=np.arange(1, n + 1, dtype=np.int64), rate_hz=float(rate_hz), name=name,
        channels=tuple(columns), units="as given", sources=(source,) * n, report=report,
        rec_t0=np.asarray(t0s, np.float64) if t is not None else None,
    )


def _encode_labels(source: str, col: str, values: Sequence, classes: Sequence[str] | None,
                   unlabelled: Sequence[str]) -> tuple[np.ndarray, tuple[str, ...]]:
    """Map label values (compared as stripped strings) to class indices; unknown ones raise."""
    text = np.asarray([str(v).strip() for v in values], dtype=object)
    empty = np.isin(text, list(unlabelled))
    if classes is None:
        classes = tuple(sorted(set(text[~empty].tolist())))
    classes = tuple(str(c) for c in classes)
    lut = {c: i for i, c in enumerate(classes)}
    out = np.full(len(text), UNLABELLED, dtype=np.int64)
    for i in np.flatnonzero(~empty):
        j = lut.get(text[i])
        if j is None:
            raise UnknownLabelError(f"{source}: column {col!r} {_row_name(source, int(i))} has label {text[i]!r}; "
                                    f"expected one of {list(classes)}{did_you_mean(text[i], classes)}")
        out[i] = j
    return out, classes


def load_csv(path: str | Path, rate_hz: float, columns: ColumnMap = ColumnMap(), *,
             classes: Sequence[str] | None = None, time_unit: str = "s", subject: int = 0,
             max_gap_s: float = 1.0, jitter_tol: float = 0.1, strict: bool = False,
             min_length: int | None = None, unlabelled: Sequence[str] = ("",), name: str | None = None,
             sep: str = ",") -> Recordings:
    """Load a device's CSV export and resample it to ``rate_hz``.

    Rows are grouped by subject (one recording per subject, in order of first appearance). Per
    recording: time stamps going back are sorted (stable), repeated stamps keep their first row, and
    the axes are interpolated linearly onto a uniform grid at ``rate_hz`` from the first stamp; each
    grid point takes the label of the nearest input row. Each of these repairs is counted in
    ``report`` and announced by a :class:`RepairWarning`; ``strict=True`` raises
    :class:`TimestampError` instead (unsorted, duplicate, or intervals off the median by more than
    ``jitter_tol``).

    Parameters
    ----------
    path : str or pathlib.Path
        The CSV file (one header line, then one row per sample).
    rate_hz : float
        Target sampling rate.
    columns : ColumnMap
        Column names for time, x, y, z, label and subject.
    classes : sequence of str, optional
        Allowed label names (their order defines ``y``); default the sorted labels found.
    time_unit : {"s", "ms", "us", "ns"}
        Unit of the time column (a key of :data:`TIME_UNITS`).
    subject : int
        Subject of every row when ``columns.subject`` is None.
    max_gap_s : float
        Largest allowed step between consecutive time stamps (after sorting).
    jitter_tol : float
        Relative deviation from the median interval counted as jitter.
    strict : bool
        Raise :class:`~mglwkd_lite.data.TimestampError` instead of repairing time stamps.
    min_length : int, optional
        Least samples per recording after resampling (for example one window).
    unlabelled : sequence of str
        Label values meaning "no label" (label -1).
    name : str, optional
        Name of the returned recordings; default the file name without suffix.
    sep : str
        Field separator.

    Returns
    -------
    Recordings
        ``acc`` (n, 3) float32 in the file's units, ``report`` with the repairs.

    Raises
    ------
    DataError
        ``time_unit`` is unknown.
    EmptyFileError, MissingColumnError, NonNumericError, NonFiniteError, UnknownLabelError
        The file cannot be read as described (the message names file, column and row).
    GapError, TimestampError, RecordingTooShortError
        The time stamps or the length cannot be repaired safely.
    """
    path = Path(path)
    source = path.name
    if time_unit not in TIME_UNITS:
        raise DataError(f"time_unit must be one of {list(TIME_UNITS)}, got {time_unit!r}")
    if not path.is_file() or path.stat().st_size == 0:
        raise EmptyFileError(f"{source}: the file is empty or missing; expected a header and data rows")
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, sep=sep, skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise EmptyFileError(f"{source}: the file has no header; expected columns "
                             f"{[c for c in dataclasses.astuple(columns) if c]}") from None
    header = [str(c).strip() for c in df.columns]
    df.columns = header
    wanted = [c for c in dataclasses.astuple(columns) if c is not None]
    for col in wanted:
        if col not in header:
            raise MissingColumnError(f"{source}: column {col!r} not found{did_you_mean(col, header)} "
                                     f"(columns in the file: {header})")
    if len(df) == 0:
        raise EmptyFileError(f"{source}: no data rows after the header; expected at least one sample")

    def numeric(col: str) -> np.ndarray:
        raw = df[col].str.strip()
        val = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64)
        bad = np.flatnonzero(np.isnan(val) & ~raw.str.lower().isin(_NAN_TOKENS).to_numpy())
        if len(bad):
            i = int(bad[0])
            raise NonNumericError(f"{source}: column {col!r} {_row_name(source, i)} holds {raw.iloc[i]!r}; "
                                  "expected a number")
        return val

    axes = (columns.x, columns.y, columns.z)
    xyz = np.stack([numeric(c) for c in axes], axis=1)
    t = numeric(columns.time) * TIME_UNITS[time_unit]
    if columns.subject is not None:
        sv = numeric(columns.subject)
        bad = np.flatnonzero(~np.isfinite(sv) | (sv != np.round(sv)))
        if len(bad):
            raise NonNumericError(f"{source}: column {columns.subject!r} {_row_name(source, int(bad[0]))} holds "
                                  f"{df[columns.subject].iloc[bad[0]]!r}; expected an integer subject id")
        subj = sv.astype(np.int64)
    else:
        subj = np.full(len(df), int(subject), dtype=np.int64)
    if columns.label is not None:
        lab, classes = _encode_labels(source, columns.label, df[columns.label].tolist(), classes, unlabelled)
    else:
        lab, classes = np.full(len(df), UNLABELLED, np.int64), tuple(classes or ())
    return _build(source, t, xyz, lab, subj, classes, rate_hz, max_gap_s, jitter_tol, strict, min_length,
                  axes, columns.time, name or path.stem)


def from_arrays(acc: np.ndarray, rate_hz: float, *, time: np.ndarray | None = None,
                label: Sequence | None = None, subject: Sequence[int] | int = 0,
                classes: Sequence[str] | None = None, max_gap_s: float = 1.0, jitter_tol: float = 0.1,
                strict: bool = False, min_length: int | None = None, unlabelled: Sequence[str] = ("", "-1"),
                channels: Sequence[str] = ("x", "y", "z"), name: str = "arrays") -> Recordings:
    """Build :class:`Recordings` from in-memory arrays, with the checks of :func:`load_csv`.

    Parameters
    ----------
    acc : numpy.ndarray, shape (n, C)
        Samples, one column per channel.
    rate_hz : float
        Target rate; with ``time=None`` the samples are taken to be uniform at this rate already.
    time : numpy.ndarray, shape (n,), optional
        Time stamps in seconds; if given, the rows are sorted, de-duplicated and resampled as in
        :func:`load_csv` (counted in ``report``).
    label : sequence, optional
        Per-row class names (or values whose ``str`` is a class name); ``unlabelled`` values -> -1.
    subject : int or sequence of int
        One subject for all rows or one per row (one recording per subject).
    classes, max_gap_s, jitter_tol, strict, min_length, unlabelled
        As in :func:`load_csv`.
    channels : sequence of str
        Channel names, one per column of ``acc``.
    name : str
        Name of the returned recordings.

    Returns
    -------
    Recordings
        ``acc`` (n, C) float32 as given, ``report`` with the repairs.

    Raises
    ------
    FormatError
        An array has the wrong shape.
    NonFiniteError, UnknownLabelError, GapError, TimestampError, RecordingTooShortError
        As in :func:`load_csv`.
    """
    source = "<arrays>"
    acc = np.asarray(acc, dtype=np.float64)
    if acc.ndim != 2 or acc.shape[1] != len(channels):
        raise FormatError(f"{source}: acc has shape {acc.shape}; expected (n, {len(channels)}) for channels "
                          f"{list(channels)}")
    n = len(acc)
    if time is not None:
        time = np.asarray(time, dtype=np.float64)
        if time.shape != (n,):
            raise FormatError(f"{source}: time has shape {time.shape}; expected ({n},)")
    subj = np.full(n, int(subject), np.int64) if np.isscalar(subject) else np.asarray(subject, np.int64)
    if subj.shape != (n,):
        raise FormatError(f"{source}: subject has shape {subj.shape}; expected ({n},) or a single id")
    if label is None:
        lab, classes = np.full(n, UNLABELLED, np.int64), tuple(classes or ())
    else:
        if len(label) != n:
            raise FormatError(f"{source}: label has {len(label)} values; expected {n}")
        lab, classes = _encode_labels(source, "label", list(label), classes, unlabelled)
    return _build(source, time, acc, lab, subj, classes, rate_hz, max_gap_s, jitter_tol, strict, min_length,
                  tuple(channels), "time", name)
