"""Bring your own data: a device's CSV export or in-memory arrays, checked and resampled.

:func:`load_csv` and :func:`from_arrays` share their checks: every value finite, labels among the
declared classes, time stamps sorted, unique, regular, without long gaps and at a plausible sampling
rate. What can be repaired safely (unsorted stamps, rows repeated exactly, jitter) is repaired,
counted in the returned :class:`~mglwkd_lite.data.Recordings`' ``report`` and announced by a
:class:`~mglwkd_lite.data.RepairWarning`; ``strict=True`` raises instead. Anything else raises a
:class:`~mglwkd_lite.data.DataError` subclass naming the file, column and row, and, where the cause
is a setting, the setting that fits: the ``encoding`` a file can be read with, the ``sep`` that splits
its header into the expected columns, the ``decimal`` mark of its numbers, the ``time_unit`` that
gives a plausible sampling rate, or ``input_rate_hz`` when its stamps cannot hold the samples.

Time stamps that cannot hold the samples are an error, never a repair: rows that share a stamp but
hold other values (stamps to the whole second, or to 0.1 s, at 50 Hz; stamps written with too few
digits; several series one after another, each starting at 0) would lose most of the samples if
de-duplicated. The error names the stamps' resolution and the rate the rows imply; with
``input_rate_hz`` (``--rate``) the rows are taken, in file order, as evenly spaced at that rate from
the first stamp.

Time stamps are numbers in a unit (``time_unit``) or ISO 8601 date-times
(``2022-07-11T10:00:00.020+02:00``, also with a space for the ``T`` and without an offset). Each
recording's first stamp is subtracted in the stamps' own unit before they are converted to
seconds, so that large epoch stamps (milliseconds since 1970) lose no precision; it is kept in
``Recordings.rec_t0``. Reading the file's text (encoding, comment lines and a preamble before the
header, a trailing separator, rows that cannot be split) is :mod:`~mglwkd_lite.data.csvfile`'s job.
"""

from __future__ import annotations

import codecs
import dataclasses
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd  # parsing only: the loader reads every cell as text, then checks it

from .csvfile import check_separator, decimal_comma_hint, read_table, separator_advice
from .records import (
    UNLABELLED, DataError, EmptyFileError, FormatError, MissingColumnError, NonFiniteError, NonNumericError,
    Recordings, RecordingTooShortError, RepairReport, RepairWarning, TimeUnitError, UnknownLabelError,
    did_you_mean,
)
from .timestamps import (  # TIME_UNITS and PLAUSIBLE_RATE_HZ re-exported: the options load_csv reads
    PER_SECOND, PLAUSIBLE_RATE_HZ, TIME_UNITS, Clock, TimeRules, check_steps, even_axis, low_rate_message, row_name,
    sorted_unique,
)

__all__ = ["ColumnMap", "TIME_UNITS", "PLAUSIBLE_RATE_HZ", "load_csv", "from_arrays"]


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


_NAN_TOKENS = {"", "nan", "na", "n/a", "null", "none"}
_FLOAT32_MAX = float(np.finfo(np.float32).max)


def _resample_one(source: str, stamps: np.ndarray, rows_in: np.ndarray, shown: np.ndarray | None,
                  xyz: np.ndarray, lab: np.ndarray, rules: TimeRules,
                  clock: Clock) -> tuple[np.ndarray, np.ndarray, float, list[dict]]:
    """Sort, de-duplicate and resample one recording to ``rules.rate_hz``.

    ``stamps`` are in the clock's unit (float64, or int64 nanoseconds for date-times), ``rows_in``
    their rows in the input (for messages) and ``shown`` their text as written (None: numbers).
    Returns the samples, the labels, the first stamp in seconds and the repairs made.
    """
    n_in = len(stamps)

    def at(j: int) -> str:
        return shown[j] if shown is not None else np.format_float_positional(float(stamps[j]), trim="-")

    def name(j: int) -> str:
        return row_name(source, int(rows_in[j]), clock.line0)

    if rules.input_rate_hz is not None:
        nominal = 1.0 / float(rules.input_rate_hz)
        if rules.min_rate_hz is not None and rules.input_rate_hz < rules.min_rate_hz:
            raise TimeUnitError(low_rate_message(source, clock, nominal, rules, ""))
        t, t0, rows = even_axis(source, stamps, clock, rules, at, name)
    else:
        t0 = float(stamps.min()) / PER_SECOND[clock.unit]
        t, xyz, lab, kept, rows = sorted_unique(source, stamps, xyz, lab, clock, rules, at, name)
        nominal = check_steps(source, t, clock, rules, lambda i: at(int(kept[i])), rows)
    # Uniform grid from the first stamp; axes linear, label of the nearest input sample. A last stamp
    # within the floating-point rounding of the stamps (a few units in the last place of the largest
    # stamp, in samples) of a grid point counts as on it, so the last sample is kept.
    rate_hz = rules.rate_hz
    span = float(t[-1])
    scale = abs(t0) + span
    tol = 1e-9 + 8 * np.finfo(np.float64).eps * scale * rate_hz
    n_out = int(np.floor(span * rate_hz + tol)) + 1
    grid = np.arange(n_out) / rate_hz
    out = np.stack([np.interp(grid, t, xyz[:, k]) for k in range(xyz.shape[1])], axis=1)
    right = np.clip(np.searchsorted(t, grid), 1, len(t) - 1) if len(t) > 1 else np.zeros(n_out, int)
    left = np.maximum(right - 1, 0)
    nearest = np.where(np.abs(grid - t[left]) <= np.abs(t[right] - grid), left, right)
    rows.append({"source": source, "kind": "resampled_rows", "count": n_out,
                 "detail": f"{n_in} input rows resampled to {n_out} at {rate_hz:g} Hz",
                 "input_rate_hz": 1.0 / nominal if nominal > 0 else None})
    return out.astype(np.float32), lab[nearest], t0, rows


def _build(source: str, stamps: np.ndarray | None, shown: np.ndarray | None, xyz: np.ndarray, lab: np.ndarray,
           subj: np.ndarray, rec: np.ndarray | None, classes: tuple[str, ...], rules: TimeRules,
           min_length: int | None, columns: Sequence[str], clock: Clock, name: str,
           value_limit: float | None = None, extra_rows: Sequence[dict] = ()) -> Recordings:
    """Shared checks and resampling of the CSV and array entry points.

    One recording per subject, or per (subject, recording id) pair when ``rec`` is given, in order
    of first appearance. ``extra_rows`` are repairs made before (lines skipped before a header).
    """
    if len(xyz) == 0:
        raise EmptyFileError(f"{source}: no data rows; expected at least one sample")
    for k, col in enumerate(columns):
        bad = np.flatnonzero(~np.isfinite(xyz[:, k]))
        if len(bad):
            raise NonFiniteError(f"{source}: column {col!r} {row_name(source, int(bad[0]), clock.line0)} is "
                                 f"{xyz[bad[0], k]}; expected a finite number ({len(bad)} such values)")
        huge = np.flatnonzero(np.abs(xyz[:, k]) > _FLOAT32_MAX)
        if len(huge):  # samples are kept as float32: these would become inf
            raise NonFiniteError(f"{source}: column {col!r} {row_name(source, int(huge[0]), clock.line0)} is "
                                 f"{xyz[huge[0], k]:.6g}, beyond the range of the float32 samples "
                                 f"({_FLOAT32_MAX:.3g}); expected a sensor value ({len(huge)} such values)")
    if stamps is not None and stamps.dtype.kind == "f":
        bad = np.flatnonzero(~np.isfinite(stamps))
        if len(bad):
            raise NonFiniteError(f"{source}: column {clock.column!r} {row_name(source, int(bad[0]), clock.line0)} "
                                 f"is {stamps[bad[0]]}; expected a finite time stamp")
    rows = list(extra_rows) + ([] if value_limit is None else _implausible(source, xyz, columns, value_limit,
                                                                             clock.line0))
    rec_key = np.zeros(len(subj), np.int64) if rec is None else rec
    groups = list(dict.fromkeys(zip(subj.tolist(), rec_key.tolist())))
    accs, labs, lens, subs, ids, t0s = [], [], [], [], [], []
    for g, (s, r) in enumerate(groups):
        m = (subj == s) & (rec_key == r)
        src = source
        if len(groups) > 1:
            src = f"{source} [subject {s}]" if rec is None else f"{source} [subject {s}, recording {r}]"
        if stamps is None:
            a, lb = xyz[m].astype(np.float32), lab[m]
        else:
            where = np.flatnonzero(m)
            a, lb, t0, rep = _resample_one(src, stamps[m], where, None if shown is None else shown[m], xyz[m],
                                           lab[m], rules, clock)
            rows += rep
            t0s.append(t0)  # where the grid starts: the earliest stamp
        if min_length is not None and len(a) < min_length:
            raise RecordingTooShortError(f"{src}: {len(a)} samples at {rules.rate_hz:g} Hz, shorter than one window "
                                         f"of {min_length}; expected at least {min_length}")
        accs.append(a)
        labs.append(lb)
        lens.append(len(a))
        subs.append(int(s))
        ids.append(g + 1 if rec is None else int(r))
    report = RepairReport(tuple(rows))
    if report.repaired:
        warnings.warn(f"repaired input: {report}", RepairWarning, stacklevel=3)
    n = len(lens)
    return Recordings(
        acc=np.concatenate(accs), label=np.concatenate(labs).astype(np.int64), classes=classes,
        rec_len=np.asarray(lens, np.int64), rec_subject=np.asarray(subs, np.int64),
        rec_id=np.asarray(ids, np.int64), rate_hz=float(rules.rate_hz), name=name,
        channels=tuple(columns), units="as given", sources=(source,) * n, report=report,
        rec_t0=np.asarray(t0s, np.float64) if stamps is not None else None,
        time_iso=clock.iso if stamps is not None else None,
    )


def _implausible(source: str, xyz: np.ndarray, columns: Sequence[str], limit: float, line0: int = 2) -> list[dict]:
    """The report row of values beyond +-``limit`` (kept), naming the first rows; [] when none."""
    beyond = np.abs(xyz) > limit
    bad = np.flatnonzero(beyond.any(axis=1))
    if not len(bad):
        return []
    first = []
    for i in bad[:3]:
        k = int(np.flatnonzero(beyond[i])[0])
        first.append(f"{row_name(source, int(i), line0)} {columns[k]}={xyz[i, k]:.6g}")
    more = f" and {len(bad) - 3} more" if len(bad) > 3 else ""
    return [{"source": source, "kind": "implausible_values", "count": int(len(bad)),
             "detail": f"rows with a value beyond +-{limit:g}, kept: {', '.join(first)}{more}"}]


def _encode_labels(source: str, col: str, values: Sequence, classes: Sequence[str] | None,
                   unlabelled: Sequence[str], line0: int = 2) -> tuple[np.ndarray, tuple[str, ...]]:
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
            raise UnknownLabelError(f"{source}: column {col!r} {row_name(source, int(i), line0)} has label {text[i]!r}; "
                                    f"expected one of {list(classes)}{did_you_mean(text[i], classes)}")
        out[i] = j
    return out, classes


def _utc_offset(ts: pd.Series) -> str:
    """The UTC offset of parsed date-times as ``"+02:00"``; ``""`` when they have none."""
    if ts.dt.tz is None:
        return ""
    first = ts.dropna()
    delta = first.iloc[0].utcoffset() if len(first) else None
    minutes = int(delta.total_seconds() // 60) if delta is not None else 0
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _numbers(source: str, col: str, raw: pd.Series, decimal: str = ".", line0: int = 2) -> np.ndarray:
    """A column of text cells as float64 (NaN tokens -> NaN); other text or an empty cell raises."""
    text = raw.str.strip()
    if decimal != ".":
        text = text.str.replace(decimal, ".", regex=False)
    val = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64)
    empty = np.flatnonzero((text == "").to_numpy())
    bad = np.flatnonzero(np.isnan(val) & ~text.str.lower().isin(_NAN_TOKENS).to_numpy())
    if len(bad):
        i, cell = int(bad[0]), raw.iloc[int(bad[0])].strip()
        raise NonNumericError(f"{source}: column {col!r} {row_name(source, i, line0)} holds {cell!r}; expected a "
                              f"number{decimal_comma_hint(cell, decimal)}")
    if len(empty):
        raise NonFiniteError(f"{source}: column {col!r} {row_name(source, int(empty[0]), line0)} is empty; expected "
                             f"a number (a missing value, or a row with fewer fields than the header; "
                             f"{len(empty)} such cells)")
    return val


def _time_column(source: str, col: str, raw: pd.Series, decimal: str = ".",
                 line0: int = 2) -> tuple[np.ndarray, str | None]:
    """The time column as numbers (float64), or as ISO 8601 date-times (int64 ns since 1970 UTC).

    Returns the stamps and, for date-times, their UTC offset (``""`` when naive; mixed offsets are
    shown in UTC); None for numbers.
    """
    text = raw.str.strip()
    missing = text.str.lower().isin(_NAN_TOKENS).to_numpy()
    numbers = text.str.replace(decimal, ".", regex=False) if decimal != "." else text
    val = pd.to_numeric(numbers, errors="coerce").to_numpy(dtype=np.float64)
    bad = np.flatnonzero(np.isnan(val) & ~missing)
    if not len(bad):
        return val, None
    first = int(bad[0])
    if pd.isna(pd.to_datetime(pd.Series([text.iloc[first]]), format="ISO8601", errors="coerce").iloc[0]):
        raise NonNumericError(f"{source}: column {col!r} {row_name(source, first, line0)} holds "
                              f"{text.iloc[first]!r}; expected a number or an ISO 8601 date-time"
                              f"{decimal_comma_hint(text.iloc[first], decimal)}")
    cells = text.where(~missing)
    try:
        ts = pd.to_datetime(cells, format="ISO8601", errors="coerce")
        offset = _utc_offset(ts)
    except (ValueError, TypeError):  # mixed offsets: shown in UTC
        ts = pd.to_datetime(cells, format="ISO8601", errors="coerce", utc=True)
        offset = "+00:00"
    bad = np.flatnonzero(ts.isna().to_numpy() & ~missing)
    if len(bad):
        i = int(bad[0])
        raise NonNumericError(f"{source}: column {col!r} {row_name(source, i, line0)} holds {text.iloc[i]!r}; "
                              "expected an ISO 8601 date-time like the other rows")
    if missing.any():
        i = int(np.flatnonzero(missing)[0])
        raise NonFiniteError(f"{source}: column {col!r} {row_name(source, i, line0)} is {text.iloc[i]!r}; "
                             "expected a time stamp")
    ts = ts.dt.as_unit("ns")
    if ts.dt.tz is not None:
        ts = ts.dt.tz_convert("UTC").dt.tz_localize(None)
    return ts.to_numpy(dtype="datetime64[ns]").astype(np.int64), offset


def load_csv(path: str | Path, rate_hz: float, columns: ColumnMap = ColumnMap(), *,
             classes: Sequence[str] | None = None, time_unit: str = "s", subject: int = 0,
             max_gap_s: float = 1.0, jitter_tol: float = 0.1, strict: bool = False,
             min_length: int | None = None, unlabelled: Sequence[str] = ("",), name: str | None = None,
             sep: str = ",", encoding: str = "utf-8", value_limit: float | None = None, decimal: str = ".",
             skip_rows: int | None = None, input_rate_hz: float | None = None,
             min_rate_hz: float | None = None) -> Recordings:
    """Load a device's CSV export and resample it to ``rate_hz``.

    Rows are grouped by subject (one recording per subject, in order of first appearance). Per
    recording: time stamps going back are sorted (stable), rows that repeat the row before exactly
    (time and values) are dropped, and the axes are interpolated linearly onto a uniform grid at
    ``rate_hz`` from the first stamp; each grid point takes the label of the nearest input row. Each
    of these repairs is counted in ``report`` and announced by a :class:`RepairWarning`;
    ``strict=True`` raises :class:`TimestampError` instead (unsorted, duplicate, or intervals off the
    median by more than ``jitter_tol``). Rows that share a stamp but hold other values raise
    :class:`TimestampError` naming the stamps' step and the rate the rows imply (see the module
    notes). The first stamp is subtracted in the file's unit before the conversion to seconds, and a
    last stamp within rounding of a grid point keeps its sample.

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
        Unit of a numeric time column (a key of :data:`TIME_UNITS`); ignored for ISO 8601
        date-times, which are recognised by themselves.
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
        Field separator (``"\\t"`` or ``"tab"`` for a tab, as typed on a command line).
    encoding : str
        Text encoding of the file (a Python codec name: ``"utf-8"``, ``"utf-16"``, ``"latin-1"``...).
    value_limit : float, optional
        Largest physically plausible magnitude of an axis value, in the file's units. Rows beyond it
        are kept but counted in ``report`` as ``"implausible_values"``, naming the first rows (so a
        :class:`RepairWarning` is emitted). None: no check.
    decimal : {".", ","}
        The decimal mark of the numbers (``","``: ``0,98``; the separator must then be another).
    skip_rows : int, optional
        Lines before the header. None: comment lines and a preamble before the header are found
        and skipped (counted in ``report`` as ``"skipped_lines"``).
    input_rate_hz : float, optional
        The recording's own sampling rate. When given, the rows of each recording are taken, in
        file order, as evenly spaced at this rate from its first stamp (for stamps too coarse to
        hold the samples, or a column that counts samples); the stamps must not go back and must
        span the same time as the rows (within one stamp step and 2 %). Counted in ``report`` as
        ``"rebuilt_time"``.
    min_rate_hz : float, optional
        Least median sampling rate of a recording (for a model: what it can use); a lower one raises
        :class:`TimeUnitError` naming the time unit that fits, or saying that the recording is too
        coarse. None: only :data:`PLAUSIBLE_RATE_HZ` is checked.

    Returns
    -------
    Recordings
        ``acc`` (n, 3) float32 in the file's units, ``report`` with the repairs (the
        ``"resampled_rows"`` row of each recording also holds its ``input_rate_hz``), ``rec_t0`` the
        first stamp of each recording in seconds and ``time_iso`` the UTC offset of date-time stamps.

    Raises
    ------
    DataError
        ``time_unit``, ``encoding``, ``sep``, ``decimal``, ``skip_rows`` or ``input_rate_hz`` is not
        usable.
    EncodingError
        The file is not text in ``encoding`` (the message names the encoding that likely fits).
    EmptyFileError, MissingColumnError, NonNumericError, NonFiniteError, UnknownLabelError
        The file cannot be read as described (the message names file, column and row; for a missing
        column, the separator that would split the header into the expected columns).
    FormatError
        A row has more fields than the header, or a quote is never closed (the message names the line).
    TimeUnitError
        The stamps give a sampling rate outside :data:`PLAUSIBLE_RATE_HZ`, or below ``min_rate_hz``
        (the message names the ``time_unit`` that gives a plausible one).
    GapError, TimestampError, RecordingTooShortError
        The time stamps or the length cannot be repaired safely.
    """
    path = Path(path)
    source = path.name
    sep = check_separator(sep, decimal)
    if time_unit not in TIME_UNITS:
        raise DataError(f"time_unit must be one of {list(TIME_UNITS)}, got {time_unit!r}")
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise DataError(f"unknown encoding {encoding!r}; expected a Python codec name such as 'utf-8', "
                        "'utf-16' or 'latin-1'") from None
    if input_rate_hz is not None and not (np.isfinite(input_rate_hz) and input_rate_hz > 0):
        raise DataError(f"input_rate_hz (--rate) must be a positive number of hertz, got {input_rate_hz!r}")
    if not path.is_file() or path.stat().st_size == 0:
        raise EmptyFileError(f"{source}: the file is empty or missing; expected a header and data rows")
    wanted = [c for c in dataclasses.astuple(columns) if c is not None]
    table = read_table(path, sep=sep, encoding=encoding, wanted=wanted, skip_rows=skip_rows)
    df, header, line0 = table.frame, list(table.frame.columns), table.header_line + 1
    for col in wanted:
        if col not in header:
            raise MissingColumnError(f"{source}: column {col!r} not found{did_you_mean(col, header)} "
                                     f"(columns in the file: {header})"
                                     f"{separator_advice(table.header, sep, wanted)}")
    if len(df) == 0:
        raise EmptyFileError(f"{source}: no data rows after the header; expected at least one sample")
    axes = (columns.x, columns.y, columns.z)
    xyz = np.stack([_numbers(source, c, df[c], decimal, line0) for c in axes], axis=1)
    stamps, iso = _time_column(source, columns.time, df[columns.time], decimal, line0)
    clock = Clock(columns.time, "ns" if iso is not None else time_unit, iso, line0=line0)
    if columns.subject is not None:
        sv = _numbers(source, columns.subject, df[columns.subject], decimal, line0)
        bad = np.flatnonzero(~np.isfinite(sv) | (sv != np.round(sv)))
        if len(bad):
            raise NonNumericError(f"{source}: column {columns.subject!r} {row_name(source, int(bad[0]), line0)} "
                                  f"holds {df[columns.subject].iloc[bad[0]]!r}; expected an integer subject id")
        subj = sv.astype(np.int64)
    else:
        subj = np.full(len(df), int(subject), dtype=np.int64)
    if columns.label is not None:
        lab, classes = _encode_labels(source, columns.label, df[columns.label].tolist(), classes, unlabelled, line0)
    else:
        lab, classes = np.full(len(df), UNLABELLED, np.int64), tuple(classes or ())
    shown = df[columns.time].str.strip().to_numpy(dtype=object)
    skipped = [{"source": source, "kind": "skipped_lines", "count": table.skipped,
                "detail": f"lines before the header on line {table.header_line} (comments or a preamble)"}
               ] if table.skipped else []
    rules = TimeRules(rate_hz, max_gap_s, jitter_tol, strict, input_rate_hz, min_rate_hz)
    return _build(source, stamps, shown, xyz, lab, subj, None, classes, rules, min_length, axes, clock,
                  name or path.stem, value_limit, skipped)


def _ids(source: str, what: str, value: Sequence[int] | int, n: int) -> np.ndarray:
    """One integer id per row from a scalar or a sequence of ``n``."""
    out = np.full(n, int(value), np.int64) if np.isscalar(value) else np.asarray(value, np.int64)
    if out.shape != (n,):
        raise FormatError(f"{source}: {what} has shape {out.shape}; expected ({n},) or a single id")
    return out


def from_arrays(acc: np.ndarray, rate_hz: float, *, time: np.ndarray | None = None,
                label: Sequence | None = None, subject: Sequence[int] | int = 0,
                classes: Sequence[str] | None = None, max_gap_s: float = 1.0, jitter_tol: float = 0.1,
                strict: bool = False, min_length: int | None = None, unlabelled: Sequence[str] = ("", "-1"),
                channels: Sequence[str] = ("x", "y", "z"), name: str = "arrays",
                recording: Sequence[int] | int | None = None, value_limit: float | None = None) -> Recordings:
    """Build :class:`Recordings` from in-memory arrays, with the checks of :func:`load_csv`.

    Parameters
    ----------
    acc : numpy.ndarray, shape (n, C)
        Samples, one column per channel.
    rate_hz : float
        Target rate; with ``time=None`` the samples are taken to be uniform at this rate already.
    time : numpy.ndarray, shape (n,), optional
        Time stamps in seconds, or ``datetime64`` date-times; if given, the rows are sorted,
        de-duplicated and resampled as in :func:`load_csv` (counted in ``report``).
    label : sequence, optional
        Per-row class names (or values whose ``str`` is a class name); ``unlabelled`` values -> -1.
    subject : int or sequence of int
        One subject for all rows or one per row.
    classes, max_gap_s, jitter_tol, strict, min_length, unlabelled
        As in :func:`load_csv`.
    channels : sequence of str
        Channel names, one per column of ``acc``.
    name : str
        Name of the returned recordings.
    recording : int or sequence of int, optional
        Recording id of all rows or of each row: the rows of one (subject, recording) pair form one
        recording (its ``rec_id``), so that two separate series of one subject stay apart (no window
        crosses between them; with ``time``, each is resampled from its own first stamp). Default:
        one recording per subject.
    value_limit : float, optional
        As in :func:`load_csv`.

    Returns
    -------
    Recordings
        ``acc`` (n, C) float32 as given, ``report`` with the repairs.

    Raises
    ------
    FormatError
        An array has the wrong shape.
    NonFiniteError, UnknownLabelError, GapError, TimestampError, TimeUnitError, RecordingTooShortError
        As in :func:`load_csv`.
    """
    source = "<arrays>"
    acc = np.asarray(acc, dtype=np.float64)
    if acc.ndim != 2 or acc.shape[1] != len(channels):
        raise FormatError(f"{source}: acc has shape {acc.shape}; expected (n, {len(channels)}) for channels "
                          f"{list(channels)}")
    n = len(acc)
    clock = Clock("time", arrays=True)
    if time is not None:
        time = np.asarray(time)
        if time.shape != (n,):
            raise FormatError(f"{source}: time has shape {time.shape}; expected ({n},)")
        if np.issubdtype(time.dtype, np.datetime64):
            bad = np.flatnonzero(np.isnat(time))
            if len(bad):
                raise NonFiniteError(f"{source}: column 'time' {row_name(source, int(bad[0]))} is NaT; "
                                     "expected a time stamp")
            time, clock = time.astype("datetime64[ns]").astype(np.int64), Clock("time", "ns", "", arrays=True)
        else:
            time = time.astype(np.float64)
    subj = _ids(source, "subject", subject, n)
    rec = None if recording is None else _ids(source, "recording", recording, n)
    if label is None:
        lab, classes = np.full(n, UNLABELLED, np.int64), tuple(classes or ())
    else:
        if len(label) != n:
            raise FormatError(f"{source}: label has {len(label)} values; expected {n}")
        lab, classes = _encode_labels(source, "label", list(label), classes, unlabelled)
    return _build(source, time, None, acc, lab, subj, rec, classes, TimeRules(rate_hz, max_gap_s, jitter_tol, strict),
                  min_length, tuple(channels), clock, name, value_limit)
