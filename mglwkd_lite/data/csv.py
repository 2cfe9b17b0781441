"""Bring your own data: a device's CSV export or in-memory arrays, checked and resampled.

:func:`load_csv` and :func:`from_arrays` share their checks: every value finite, labels among the
declared classes, time stamps sorted, unique, regular, without long gaps and at a plausible sampling
rate. What can be repaired safely (unsorted or repeated stamps, jitter) is repaired, counted in the
returned :class:`~mglwkd_lite.data.Recordings`' ``report`` and announced by a
:class:`~mglwkd_lite.data.RepairWarning`; ``strict=True`` raises instead. Anything else raises a
:class:`~mglwkd_lite.data.DataError` subclass naming the file, column and row, and, where the cause
is a setting, the setting that fits: the ``encoding`` a file can be read with, the ``sep`` that splits
its header into the expected columns, the ``time_unit`` that gives a plausible sampling rate.

Time stamps are numbers in a unit (``time_unit``) or ISO 8601 date-times
(``2022-07-11T10:00:00.020+02:00``, also with a space for the ``T`` and without an offset). Each
recording's first stamp is subtracted in the stamps' own unit before they are converted to
seconds, so that large epoch stamps (milliseconds since 1970) lose no precision; it is kept in
``Recordings.rec_t0``.
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

from .records import (
    UNLABELLED, DataError, EmptyFileError, EncodingError, FormatError, GapError, MissingColumnError,
    NonFiniteError, NonNumericError, Recordings, RecordingTooShortError, RepairReport, RepairWarning,
    TimestampError, TimeUnitError, UnknownLabelError, did_you_mean,
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


#: Seconds per unit of the time column, for each accepted ``time_unit``.
TIME_UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}
#: Sampling rates (Hz) a body-worn accelerometer records at; stamps giving a median rate outside
#: this range were read in the wrong unit (or are not time stamps).
PLAUSIBLE_RATE_HZ = (1.0, 10_000.0)

# Units per second, exact integers: stamps are divided by these, so 1602483447972 ms -> the float
# nearest to 1602483447.972 s.
_PER_SECOND = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}
_UNIT_WORDS = {"s": "seconds", "ms": "milliseconds", "us": "microseconds", "ns": "nanoseconds"}
_NAN_TOKENS = {"", "nan", "na", "n/a", "null", "none"}
# Separators tried on the header line when a configured column is missing.
_COMMON_SEPS = (",", ";", "\t", "|")
# What a user can type for a tab on the command line.
_SEP_ALIASES = {"\\t": "\t", "tab": "\t"}


@dataclass(frozen=True)
class _Clock:
    """How one input stamps time: its column, unit and form, for conversions and messages."""

    column: str
    unit: str = "s"  # a key of TIME_UNITS; "ns" for date-times
    iso: str | None = None  # UTC offset of ISO 8601 date-times ("" naive); None for numbers
    arrays: bool = False  # from_arrays: advice speaks of seconds, not of time_unit


def _row_name(source: str, row: int) -> str:
    """Rows are numbered from 1 over data rows; in a CSV file data row i is on line i + 1."""
    return f"row {row + 1} (line {row + 2})" if source != "<arrays>" else f"index {row}"


def _hz(rate: float) -> str:
    """A sampling rate for messages: whole hertz above 100, three digits below."""
    return f"{rate:.0f}" if rate >= 100 else f"{rate:.3g}"


def _plausible(rate: float) -> bool:
    return bool(PLAUSIBLE_RATE_HZ[0] <= rate <= PLAUSIBLE_RATE_HZ[1])


def _unit_advice(clock: _Clock, step_s: float, rate_hz: float) -> str:
    """Advice to read the stamps in another unit, or "".

    The unit whose median step is closest (on a log scale) to the target ``rate_hz`` is suggested
    when it is not the one given and its rate is plausible. Date-times carry their unit.
    """
    if clock.iso is not None or not step_s > 0:
        return ""
    step_raw = step_s * _PER_SECOND[clock.unit]  # the median step in the stamps' own numbers
    best = min(TIME_UNITS, key=lambda u: abs(np.log(rate_hz * step_raw * TIME_UNITS[u])))
    rate = 1.0 / (step_raw * TIME_UNITS[best])
    if best == clock.unit or not _plausible(rate):
        return ""
    if clock.arrays:
        return (f"time is taken in seconds; if it is in {_UNIT_WORDS[best]}, pass time * {TIME_UNITS[best]:g}, "
                f"which gives {_hz(rate)} Hz")
    return (f"the stamps look like {_UNIT_WORDS[best]}: use time_unit={best!r} (--time-unit {best}), "
            f"which gives {_hz(rate)} Hz")


def _resample_one(source: str, stamps: np.ndarray, rows_in: np.ndarray, shown: np.ndarray | None,
                  xyz: np.ndarray, lab: np.ndarray, rate_hz: float, max_gap_s: float, jitter_tol: float,
                  strict: bool, clock: _Clock) -> tuple[np.ndarray, np.ndarray, float, list[dict]]:
    """Sort, de-duplicate and resample one recording to ``rate_hz``.

    ``stamps`` are in the clock's unit (float64, or int64 nanoseconds for date-times), ``rows_in``
    their rows in the input (for messages) and ``shown`` their text as written (None: numbers).
    Returns the samples, the labels, the first stamp in seconds and the repairs made.
    """
    rows: list[dict] = []
    n_in = len(stamps)
    col = clock.column
    origin = stamps.min()
    # Subtract the first stamp in the stamps' own unit, then convert: epoch milliseconds stay exact.
    t = (stamps - origin) / _PER_SECOND[clock.unit]
    idx = np.arange(n_in)  # position of each kept row in this recording's input, for messages

    def at(i: int) -> str:
        j = int(idx[i])
        return shown[j] if shown is not None else np.format_float_positional(float(stamps[j]), trim="-")

    # Unsorted stamps: count the steps backwards, then sort stably (the first of equal stamps stays).
    back = int((np.diff(t) < 0).sum())
    if back:
        if strict:
            i = int(np.flatnonzero(np.diff(t) < 0)[0]) + 1
            raise TimestampError(f"{source}: column {col!r} {_row_name(source, int(rows_in[i]))} goes back in time "
                                 f"({at(i)} after {at(i - 1)}); strict mode expects sorted time stamps")
        order = np.argsort(t, kind="stable")
        t, xyz, lab, idx = t[order], xyz[order], lab[order], idx[order]
        rows.append({"source": source, "kind": "unsorted_rows", "count": back,
                     "detail": "time stamps going back; rows sorted by time"})
    dup = np.flatnonzero(np.diff(t) == 0) + 1
    if len(dup):
        if strict:
            raise TimestampError(f"{source}: column {col!r} has {len(dup)} duplicate time stamps "
                                 f"(first at {at(int(dup[0]))}); strict mode expects unique time stamps")
        keep = np.ones(len(t), dtype=bool)
        keep[dup] = False
        t, xyz, lab, idx = t[keep], xyz[keep], lab[keep], idx[keep]
        rows.append({"source": source, "kind": "duplicate_rows", "count": int(len(dup)),
                     "detail": "repeated time stamps; first row kept"})
    dt = np.diff(t)
    if len(dt):
        nominal = float(np.median(dt))
        advice = _unit_advice(clock, nominal, rate_hz)
        # The unit first: a wrong one makes every step a "gap" and the gap advice point the wrong way.
        if not _plausible(1.0 / nominal):
            lo, hi = PLAUSIBLE_RATE_HZ
            raise TimeUnitError(f"{source}: column {col!r} steps {nominal:.6g} s between samples (median), "
                                f"{_hz(1.0 / nominal)} Hz, not a plausible sampling rate ({lo:g} to {hi:g} Hz); "
                                f"{advice or 'check the time column and its unit'}")
        if dt.max() > max_gap_s:
            i = int(dt.argmax())
            raise GapError(f"{source}: column {col!r} jumps {dt[i]:.3f} s between time {at(i)} and {at(i + 1)}, "
                           f"more than the allowed gap of {max_gap_s} s; "
                           f"{advice or 'split the recording there or raise max_gap_s'}")
        jitter = int((np.abs(dt - nominal) > jitter_tol * nominal).sum())
        if jitter:
            if strict:
                raise TimestampError(f"{source}: {jitter} intervals of column {col!r} differ from the median "
                                     f"{nominal:.6f} s by more than {jitter_tol:.0%}; strict mode expects regular stamps")
            rows.append({"source": source, "kind": "jittery_intervals", "count": jitter,
                         "detail": f"intervals off the median {nominal:.4g} s by > {jitter_tol:.0%}; "
                                   "fixed by resampling"})
    # Uniform grid from the first stamp; axes linear, label of the nearest input sample. A last stamp
    # within the floating-point rounding of the stamps (a few units in the last place of the largest
    # stamp, in samples) of a grid point counts as on it, so the last sample is kept.
    span = float(t[-1])
    scale = abs(float(origin)) / _PER_SECOND[clock.unit] + span
    tol = 1e-9 + 8 * np.finfo(np.float64).eps * scale * rate_hz
    n_out = int(np.floor(span * rate_hz + tol)) + 1
    grid = np.arange(n_out) / rate_hz
    out = np.stack([np.interp(grid, t, xyz[:, k]) for k in range(xyz.shape[1])], axis=1)
    right = np.clip(np.searchsorted(t, grid), 1, len(t) - 1) if len(t) > 1 else np.zeros(n_out, int)
    left = np.maximum(right - 1, 0)
    nearest = np.where(np.abs(grid - t[left]) <= np.abs(t[right] - grid), left, right)
    rows.append({"source": source, "kind": "resampled_rows", "count": n_out,
                 "detail": f"{n_in} input rows resampled to {n_out} at {rate_hz:g} Hz"})
    return out.astype(np.float32), lab[nearest], float(origin) / _PER_SECOND[clock.unit], rows


def _build(source: str, stamps: np.ndarray | None, shown: np.ndarray | None, xyz: np.ndarray, lab: np.ndarray,
           subj: np.ndarray, rec: np.ndarray | None, classes: tuple[str, ...], rate_hz: float, max_gap_s: float,
           jitter_tol: float, strict: bool, min_length: int | None, columns: Sequence[str], clock: _Clock,
           name: str, value_limit: float | None = None) -> Recordings:
    """Shared checks and resampling of the CSV and array entry points.

    One recording per subject, or per (subject, recording id) pair when ``rec`` is given, in order
    of first appearance.
    """
    if len(xyz) == 0:
        raise EmptyFileError(f"{source}: no data rows; expected at least one sample")
    for k, col in enumerate(columns):
        bad = np.flatnonzero(~np.isfinite(xyz[:, k]))
        if len(bad):
            raise NonFiniteError(f"{source}: column {col!r} {_row_name(source, int(bad[0]))} is "
                                 f"{xyz[bad[0], k]}; expected a finite number ({len(bad)} such values)")
    if stamps is not None and stamps.dtype.kind == "f":
        bad = np.flatnonzero(~np.isfinite(stamps))
        if len(bad):
            raise NonFiniteError(f"{source}: column {clock.column!r} {_row_name(source, int(bad[0]))} is "
                                 f"{stamps[bad[0]]}; expected a finite time stamp")
    rows = [] if value_limit is None else _implausible(source, xyz, columns, value_limit)
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
                                           lab[m], rate_hz, max_gap_s, jitter_tol, strict, clock)
            rows += rep
            t0s.append(t0)  # where the grid starts: the earliest stamp
        if min_length is not None and len(a) < min_length:
            raise RecordingTooShortError(f"{src}: {len(a)} samples at {rate_hz:g} Hz, shorter than one window "
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
        rec_id=np.asarray(ids, np.int64), rate_hz=float(rate_hz), name=name,
        channels=tuple(columns), units="as given", sources=(source,) * n, report=report,
        rec_t0=np.asarray(t0s, np.float64) if stamps is not None else None,
        time_iso=clock.iso if stamps is not None else None,
    )


def _implausible(source: str, xyz: np.ndarray, columns: Sequence[str], limit: float) -> list[dict]:
    """The report row of values beyond +-``limit`` (kept), naming the first rows; [] when none."""
    beyond = np.abs(xyz) > limit
    bad = np.flatnonzero(beyond.any(axis=1))
    if not len(bad):
        return []
    first = []
    for i in bad[:3]:
        k = int(np.flatnonzero(beyond[i])[0])
        first.append(f"{_row_name(source, int(i))} {columns[k]}={xyz[i, k]:.6g}")
    more = f" and {len(bad) - 3} more" if len(bad) > 3 else ""
    return [{"source": source, "kind": "implausible_values", "count": int(len(bad)),
             "detail": f"rows with a value beyond +-{limit:g}, kept: {', '.join(first)}{more}"}]


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


def _encoding_message(path: Path, encoding: str, exc: UnicodeError) -> str:
    """Why a file could not be decoded, and the ``encoding`` that likely reads it."""
    with open(path, "rb") as fh:
        head = fh.read(1 << 16)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        guess, why = "utf-16", "it starts with a UTF-16 byte-order mark"
    elif codecs.lookup(encoding).name != "utf-8" and _decodes(head, "utf-8"):
        guess, why = "utf-8", "its start reads as UTF-8"
    else:
        guess, why = "latin-1", "exports of older or Windows software are often Latin-1 (or cp1252)"
    where = ""
    if isinstance(exc, UnicodeDecodeError) and exc.start < len(exc.object):
        where = f" (byte 0x{exc.object[exc.start]:02x} cannot be decoded)"
    return (f"{path.name}: not {encoding} text{where}; {why}: pass the file's encoding with "
            f"encoding={guess!r} (--encoding {guess} on the command line)")


def _decodes(data: bytes, encoding: str) -> bool:
    """True if ``data`` (possibly cut inside a character at its end) decodes in ``encoding``."""
    try:
        codecs.getincrementaldecoder(encoding)().decode(data, final=False)
    except UnicodeError:
        return False
    return True


def _separator_advice(path: Path, encoding: str, sep: str, wanted: Sequence[str]) -> str:
    """"; ... sep=';' ..." when another common separator splits the header into the wanted columns."""
    try:
        with open(path, encoding=encoding, newline="") as fh:
            header = fh.readline().lstrip("\ufeff").rstrip("\r\n")
    except (OSError, UnicodeError):
        return ""
    for other in _COMMON_SEPS:
        if other != sep and set(wanted) <= {c.strip() for c in header.split(other)}:
            return (f"; the header splits into the expected columns with sep={other!r} "
                    f"(--sep {other!r} on the command line)")
    return ""


def _utc_offset(ts: pd.Series) -> str:
    """The UTC offset of parsed date-times as ``"+02:00"``; ``""`` when they have none."""
    if ts.dt.tz is None:
        return ""
    first = ts.dropna()
    delta = first.iloc[0].utcoffset() if len(first) else None
    minutes = int(delta.total_seconds() // 60) if delta is not None else 0
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _time_column(source: str, col: str, raw: pd.Series) -> tuple[np.ndarray, str | None]:
    """The time column as numbers (float64), or as ISO 8601 date-times (int64 ns since 1970 UTC).

    Returns the stamps and, for date-times, their UTC offset (``""`` when naive; mixed offsets are
    shown in UTC); None for numbers.
    """
    text = raw.str.strip()
    missing = text.str.lower().isin(_NAN_TOKENS).to_numpy()
    val = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64)
    bad = np.flatnonzero(np.isnan(val) & ~missing)
    if not len(bad):
        return val, None
    first = int(bad[0])
    if pd.isna(pd.to_datetime(pd.Series([text.iloc[first]]), format="ISO8601", errors="coerce").iloc[0]):
        raise NonNumericError(f"{source}: column {col!r} {_row_name(source, first)} holds {text.iloc[first]!r}; "
                              "expected a number or an ISO 8601 date-time")
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
        raise NonNumericError(f"{source}: column {col!r} {_row_name(source, i)} holds {text.iloc[i]!r}; "
                              "expected an ISO 8601 date-time like the other rows")
    if missing.any():
        i = int(np.flatnonzero(missing)[0])
        raise NonFiniteError(f"{source}: column {col!r} {_row_name(source, i)} is {text.iloc[i]!r}; "
                             "expected a time stamp")
    ts = ts.dt.as_unit("ns")
    if ts.dt.tz is not None:
        ts = ts.dt.tz_convert("UTC").dt.tz_localize(None)
    return ts.to_numpy(dtype="datetime64[ns]").astype(np.int64), offset


def load_csv(path: str | Path, rate_hz: float, columns: ColumnMap = ColumnMap(), *,
             classes: Sequence[str] | None = None, time_unit: str = "s", subject: int = 0,
             max_gap_s: float = 1.0, jitter_tol: float = 0.1, strict: bool = False,
             min_length: int | None = None, unlabelled: Sequence[str] = ("",), name: str | None = None,
             sep: str = ",", encoding: str = "utf-8", value_limit: float | None = None) -> Recordings:
    """Load a device's CSV export and resample it to ``rate_hz``.

    Rows are grouped by subject (one recording per subject, in order of first appearance). Per
    recording: time stamps going back are sorted (stable), repeated stamps keep their first row, and
    the axes are interpolated linearly onto a uniform grid at ``rate_hz`` from the first stamp; each
    grid point takes the label of the nearest input row. Each of these repairs is counted in
    ``report`` and announced by a :class:`RepairWarning`; ``strict=True`` raises
    :class:`TimestampError` instead (unsorted, duplicate, or intervals off the median by more than
    ``jitter_tol``). The first stamp is subtracted in the file's unit before the conversion to
    seconds, and a last stamp within rounding of a grid point keeps its sample.

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

    Returns
    -------
    Recordings
        ``acc`` (n, 3) float32 in the file's units, ``report`` with the repairs, ``rec_t0`` the
        first stamp of each recording in seconds and ``time_iso`` the UTC offset of date-time stamps.

    Raises
    ------
    DataError
        ``time_unit`` or ``encoding`` is unknown.
    EncodingError
        The file is not text in ``encoding`` (the message names the encoding that likely fits).
    EmptyFileError, MissingColumnError, NonNumericError, NonFiniteError, UnknownLabelError
        The file cannot be read as described (the message names file, column and row; for a missing
        column, the separator that would split the header into the expected columns).
    TimeUnitError
        The stamps give a sampling rate outside :data:`PLAUSIBLE_RATE_HZ` (the message names the
        ``time_unit`` that gives a plausible one).
    GapError, TimestampError, RecordingTooShortError
        The time stamps or the length cannot be repaired safely.
    """
    path = Path(path)
    source = path.name
    sep = _SEP_ALIASES.get(sep, sep)
    if time_unit not in TIME_UNITS:
        raise DataError(f"time_unit must be one of {list(TIME_UNITS)}, got {time_unit!r}")
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise DataError(f"unknown encoding {encoding!r}; expected a Python codec name such as 'utf-8', "
                        "'utf-16' or 'latin-1'") from None
    if not path.is_file() or path.stat().st_size == 0:
        raise EmptyFileError(f"{source}: the file is empty or missing; expected a header and data rows")
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, sep=sep, skipinitialspace=True,
                         encoding=encoding)
    except pd.errors.EmptyDataError:
        raise EmptyFileError(f"{source}: the file has no header; expected columns "
                             f"{[c for c in dataclasses.astuple(columns) if c]}") from None
    except UnicodeError as exc:
        raise EncodingError(_encoding_message(path, encoding, exc)) from None
    header = [str(c).strip() for c in df.columns]
    df.columns = header
    wanted = [c for c in dataclasses.astuple(columns) if c is not None]
    for col in wanted:
        if col not in header:
            raise MissingColumnError(f"{source}: column {col!r} not found{did_you_mean(col, header)} "
                                     f"(columns in the file: {header})"
                                     f"{_separator_advice(path, encoding, sep, wanted)}")
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
    stamps, iso = _time_column(source, columns.time, df[columns.time])
    clock = _Clock(columns.time, "ns" if iso is not None else time_unit, iso)
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
    shown = df[columns.time].str.strip().to_numpy(dtype=object)
    return _build(source, stamps, shown, xyz, lab, subj, None, classes, rate_hz, max_gap_s, jitter_tol, strict,
                  min_length, axes, clock, name or path.stem, value_limit)


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
    clock = _Clock("time", arrays=True)
    if time is not None:
        time = np.asarray(time)
        if time.shape != (n,):
            raise FormatError(f"{source}: time has shape {time.shape}; expected ({n},)")
        if np.issubdtype(time.dtype, np.datetime64):
            bad = np.flatnonzero(np.isnat(time))
            if len(bad):
                raise NonFiniteError(f"{source}: column 'time' {_row_name(source, int(bad[0]))} is NaT; "
                                     "expected a time stamp")
            time, clock = time.astype("datetime64[ns]").astype(np.int64), _Clock("time", "ns", "", arrays=True)
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
    return _build(source, time, None, acc, lab, subj, rec, classes, rate_hz, max_gap_s, jitter_tol, strict,
                  min_length, tuple(channels), clock, name, value_limit)
