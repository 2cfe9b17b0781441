"""Time stamps of own data: units, sorting, repeated rows, sampling rate, gaps, jitter, an even axis.

The checks :func:`~mglwkd_lite.data.load_csv` and :func:`~mglwkd_lite.data.from_arrays` run on the
time stamps of one recording before it is resampled (see :mod:`~mglwkd_lite.data.csv` for the rules
and the messages' advice). Stamps are in a :class:`Clock`'s unit; what they must satisfy is a
:class:`TimeRules`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .records import GapError, TimestampError, TimeUnitError

__all__ = [
    "TIME_UNITS", "PLAUSIBLE_RATE_HZ", "PER_SECOND", "MAX_DUPLICATE_SHARE", "Clock", "TimeRules", "row_name", "hz", "sorted_unique",
    "check_steps", "even_axis", "low_rate_message",
]

#: Seconds per unit of the time column, for each accepted ``time_unit``.
TIME_UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}
#: Sampling rates (Hz) a body-worn accelerometer records at; stamps giving a median rate outside
#: this range were read in the wrong unit (or are not time stamps).
PLAUSIBLE_RATE_HZ = (1.0, 10_000.0)

#: Largest share of rows that may repeat the row before exactly and be dropped as true duplicates.
MAX_DUPLICATE_SHARE = 0.1
#: Units per second, exact integers: stamps are divided by these, so 1602483447972 ms -> the float
#: nearest to 1602483447.972 s.
PER_SECOND = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}
_UNIT_WORDS = {"s": "seconds", "ms": "milliseconds", "us": "microseconds", "ns": "nanoseconds"}


@dataclass(frozen=True)
class Clock:
    """How one input stamps time: its column, unit and form, for conversions and messages."""

    column: str
    unit: str = "s"  # a key of TIME_UNITS; "ns" for date-times
    iso: str | None = None  # UTC offset of ISO 8601 date-times ("" naive); None for numbers
    arrays: bool = False  # from_arrays: advice speaks of seconds, not of time_unit
    line0: int = 2  # the file line of data row 0 (the header's line + 1)


@dataclass(frozen=True)
class TimeRules:
    """What the time stamps of one load must satisfy, and the grid they are resampled to."""

    rate_hz: float
    max_gap_s: float = 1.0
    jitter_tol: float = 0.1
    strict: bool = False
    input_rate_hz: float | None = None  # rows evenly spaced at this rate (stamps place the first only)
    min_rate_hz: float | None = None  # a lower median rate raises TimeUnitError


def row_name(source: str, row: int, line0: int = 2) -> str:
    """Rows are numbered from 1 over data rows; in a CSV file data row i is on line i + ``line0``."""
    return f"row {row + 1} (line {row + line0})" if not source.startswith("<arrays>") else f"index {row}"


def hz(rate: float) -> str:
    """A sampling rate for messages: whole hertz above 100, three digits below."""
    return f"{rate:.0f}" if rate >= 100 else f"{rate:.3g}"


def _plausible(rate: float) -> bool:
    return bool(PLAUSIBLE_RATE_HZ[0] <= rate <= PLAUSIBLE_RATE_HZ[1])


def _unit_advice(clock: Clock, step_s: float, rate_hz: float) -> str:
    """Advice to read the stamps in another unit, or "".

    The unit whose median step is closest (on a log scale) to the target ``rate_hz`` is suggested
    when it is not the one given and its rate is plausible. Date-times carry their unit.
    """
    if clock.iso is not None or not step_s > 0:
        return ""
    step_raw = step_s * PER_SECOND[clock.unit]  # the median step in the stamps' own numbers
    best = min(TIME_UNITS, key=lambda u: abs(np.log(rate_hz * step_raw * TIME_UNITS[u])))
    rate = 1.0 / (step_raw * TIME_UNITS[best])
    if best == clock.unit or not _plausible(rate):
        return ""
    if clock.arrays:
        return (f"time is taken in seconds; if it is in {_UNIT_WORDS[best]}, pass time * {TIME_UNITS[best]:g}, "
                f"which gives {hz(rate)} Hz")
    return (f"the stamps look like {_UNIT_WORDS[best]}: use time_unit={best!r} (--time-unit {best}), "
            f"which gives {hz(rate)} Hz")


def _stamp_step(t: np.ndarray) -> float:
    """The median step between distinct stamps (seconds): their resolution when coarse; 0 if all equal."""
    steps = np.diff(np.unique(t))
    return float(np.median(steps)) if len(steps) else 0.0


def _rate_option(clock: Clock, rate: float | None) -> str:
    """How to pass the recording's own rate (load_csv's option and the command line's)."""
    if clock.arrays:
        return "pass the samples without time stamps (time=None), taken as evenly spaced at rate_hz"
    if rate is None:
        return "pass the device's sampling rate with --rate (input_rate_hz)"
    shown = f"{rate:.0f}" if rate >= 10 else f"{rate:.3g}"
    return f"pass the device's sampling rate, about --rate {shown} (input_rate_hz={shown})"


def _coarse_message(source: str, clock: Clock, t: np.ndarray, t_file: np.ndarray, n_repeats: int,
                    n_conflicts: int, first: str, name: Callable[[int], str]) -> str:
    """Why stamps that repeat on many rows, or on rows with other values, cannot be de-duplicated.

    ``t`` are the sorted stamps (s), ``t_file`` the same in file order, ``first`` names the first row
    whose stamp repeats the one before, ``name`` names a row by file position.
    """
    n, step = len(t), _stamp_step(t)
    head = (f"{source}: column {clock.column!r} repeats the time stamp of the row before on {n_repeats} of {n} rows "
            f"({n_conflicts} of them with other values; first {first}), so de-duplicating would throw them away")
    back = np.flatnonzero(np.diff(t_file) < 0) + 1
    restarts = back[t_file[back] <= t_file.min() + step]
    if len(restarts) and len(restarts) == len(back) and len(back) < n / 4:
        return (f"{head}: the stamps start again from the first one {len(restarts)} times (first on "
                f"{name(int(restarts[0]))}), so the file holds {len(restarts) + 1} series one after another; give "
                "each series its own subject (a column numbering them, --subject-col) or split the file")
    if step == 0:
        return (f"{head}: all {n} rows share one time stamp, which cannot place the samples (written with too "
                f"few digits?); if the rows are evenly sampled, {_rate_option(clock, None)} to rebuild the time "
                "axis from the first stamp")
    span = float(t[-1] - t[0]) + step
    return (f"{head}: the stamps step by {step:.3g} s, too coarse for {n} rows over about {span:.4g} s (about "
            f"{hz(n / span)} Hz), so they cannot hold the samples; if the rows are evenly sampled, "
            f"{_rate_option(clock, n / span)}, to rebuild an even time axis from the first stamp; or export the "
            "time with more digits")


def low_rate_message(source: str, clock: Clock, step: float, rules: TimeRules, advice: str) -> str:
    """A recording whose median rate is below ``rules.min_rate_hz``: the likely unit, or too coarse."""
    rate = 1.0 / step
    what = (f"the rate given, {hz(rate)} Hz," if rules.input_rate_hz is not None else
            f"column {clock.column!r} steps {step:.6g} s between samples (median), {hz(rate)} Hz,")
    fix = f"{advice}; " if advice else ""
    counts = "" if rules.input_rate_hz is not None or clock.arrays else (
        "if the column counts samples rather than time, pass the device's rate with --rate (input_rate_hz); ")
    return (f"{source}: {what} is below the {rules.min_rate_hz:g} Hz this model needs (it was trained at "
            f"{rules.rate_hz:g} Hz); {fix}{counts}a recording sampled at {hz(rate)} Hz is too coarse for "
            "this model")


def even_axis(source: str, stamps: np.ndarray, clock: Clock, rules: TimeRules, at: Callable[[int], str],
              row: Callable[[int], str]) -> tuple[np.ndarray, float, list[dict]]:
    """Seconds from the first row for rows evenly spaced at ``rules.input_rate_hz`` (file order).

    The stamps must not go back, and their span must agree with the rows' within one stamp step and
    2 %; otherwise the rate given does not fit them. A column counting samples (numbers that step
    by exactly 1) is converted at the rate given. Returns the times, the first row's time in seconds
    and the repair made.
    """
    col, rate, n = clock.column, float(rules.input_rate_hz), len(stamps)
    raw = np.diff(stamps)
    if clock.iso is None and len(raw) and np.all(raw == 1):
        detail = f"a column counting samples, converted to time at {rate:g} Hz (rate given)"
        return np.arange(n) / rate, float(stamps[0]) / rate, [
            {"source": source, "kind": "rebuilt_time", "count": n, "detail": detail}]
    s = (stamps - stamps[0]) / PER_SECOND[clock.unit]
    back = np.flatnonzero(np.diff(s) < 0)
    if len(back):
        i = int(back[0]) + 1
        raise TimestampError(f"{source}: with the rate given (--rate), rows are taken in file order at even steps, "
                             f"but column {col!r} {row(i)} goes back in time ({at(i)} after {at(i - 1)}); sort "
                             "the rows, or give each series its own subject (--subject-col)")
    step, span_stamps, span_rows = _stamp_step(s), float(s[-1]), (n - 1) / rate
    if span_stamps > 0 and abs(span_stamps - span_rows) > step + 2.0 / rate + 0.02 * span_rows:
        raise TimestampError(f"{source}: with --rate {rate:g} (input_rate_hz) the {n} rows span {span_rows:.6g} s, "
                             f"but column {col!r} spans {span_stamps:.6g} s (about {hz(n / (span_stamps + step))} "
                             "Hz): the rate given does not fit the time stamps; pass the device's sampling rate "
                             "(or check --time-unit)")
    detail = (f"time axis rebuilt from the first stamp at {rate:g} Hz (rate given); the stamps span "
              f"{span_stamps:.6g} s in steps of {step:.3g} s")
    t0 = float(stamps[0]) / PER_SECOND[clock.unit]
    return np.arange(n) / rate, t0, [{"source": source, "kind": "rebuilt_time", "count": n, "detail": detail}]


def check_steps(source: str, t: np.ndarray, clock: Clock, rules: TimeRules, at: Callable[[int], str],
                 rows: list[dict]) -> float:
    """Unit, rate, gap and jitter checks of sorted unique stamps (s); the median step (0: one sample)."""
    dt = np.diff(t)
    if not len(dt):
        return 0.0
    col, nominal = clock.column, float(np.median(dt))
    advice = _unit_advice(clock, nominal, rules.rate_hz)
    # The unit first: a wrong one makes every step a "gap" and the gap advice point the wrong way.
    if not _plausible(1.0 / nominal):
        lo, hi = PLAUSIBLE_RATE_HZ
        raise TimeUnitError(f"{source}: column {col!r} steps {nominal:.6g} s between samples (median), "
                            f"{hz(1.0 / nominal)} Hz, not a plausible sampling rate ({lo:g} to {hi:g} Hz); "
                            f"{advice or 'check the time column and its unit'}")
    if rules.min_rate_hz is not None and 1.0 / nominal < rules.min_rate_hz:
        raise TimeUnitError(low_rate_message(source, clock, nominal, rules, advice))
    if dt.max() > rules.max_gap_s:
        i = int(dt.argmax())
        raise GapError(f"{source}: column {col!r} jumps {dt[i]:.3f} s between time {at(i)} and {at(i + 1)}, "
                       f"more than the allowed gap of {rules.max_gap_s} s; "
                       f"{advice or 'split the recording there or raise max_gap_s'}")
    jitter = int((np.abs(dt - nominal) > rules.jitter_tol * nominal).sum())
    if jitter:
        if rules.strict:
            raise TimestampError(f"{source}: {jitter} intervals of column {col!r} differ from the median "
                                 f"{nominal:.6f} s by more than {rules.jitter_tol:.0%}; strict mode expects "
                                 "regular stamps")
        rows.append({"source": source, "kind": "jittery_intervals", "count": jitter,
                     "detail": f"intervals off the median {nominal:.4g} s by > {rules.jitter_tol:.0%}; "
                               "fixed by resampling"})
    return nominal


def sorted_unique(source: str, stamps: np.ndarray, xyz: np.ndarray, lab: np.ndarray, clock: Clock,
                   rules: TimeRules, at: Callable[[int], str], name: Callable[[int], str]
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[dict]]:
    """Stamps (s from the earliest) sorted, true duplicates dropped; stamps that cannot hold the rows raise.

    A row that repeats the row before exactly (stamp, values and label) is a true duplicate and is
    dropped, when such rows are at most :data:`MAX_DUPLICATE_SHARE` of the rows and no stamp is on
    more than two rows. Rows that share a stamp otherwise raise :class:`TimestampError` naming the
    stamps' step and the rate the rows imply (or the restarts of series one after another).

    Returns the stamps, the samples, the labels, the kept rows' positions in the input and the
    repairs made.
    """
    rows: list[dict] = []
    col = clock.column
    t_file = (stamps - stamps.min()) / PER_SECOND[clock.unit]
    t, idx = t_file, np.arange(len(stamps))
    # Unsorted stamps: count the steps backwards, then sort stably (the first of equal stamps stays).
    back = int((np.diff(t) < 0).sum())
    if back:
        if rules.strict:
            i = int(np.flatnonzero(np.diff(t) < 0)[0]) + 1
            raise TimestampError(f"{source}: column {col!r} {name(i)} goes back in time ({at(i)} after "
                                 f"{at(i - 1)}); strict mode expects sorted time stamps")
        order = np.argsort(t, kind="stable")
        t, xyz, lab, idx = t[order], xyz[order], lab[order], idx[order]
        rows.append({"source": source, "kind": "unsorted_rows", "count": back,
                     "detail": "time stamps going back; rows sorted by time"})
    same = np.diff(t) == 0
    equal = np.all(xyz[1:] == xyz[:-1], axis=1) & (lab[1:] == lab[:-1])
    conflicts = np.flatnonzero(same & ~equal) + 1
    dup = np.flatnonzero(same) + 1
    # A true duplicate is a row written twice: rare, and never three rows on one stamp. Many rows on
    # one stamp, even with equal values (a still device), are stamps too coarse for the samples.
    runs = np.diff(np.flatnonzero(np.r_[True, ~same, True]))
    if len(conflicts) or len(dup) > MAX_DUPLICATE_SHARE * len(t) or (len(runs) and runs.max() > 2):
        j = int(idx[dup[0]])
        raise TimestampError(_coarse_message(source, clock, t, t_file, len(dup), len(conflicts),
                                             f"{name(j)}, {at(j)}", name))
    if len(dup):
        if rules.strict:
            raise TimestampError(f"{source}: column {col!r} has {len(dup)} duplicate time stamps "
                                 f"(first at {at(int(idx[dup[0]]))}); strict mode expects unique time stamps")
        keep = np.ones(len(t), dtype=bool)
        keep[dup] = False
        t, xyz, lab, idx = t[keep], xyz[keep], lab[keep], idx[keep]
        rows.append({"source": source, "kind": "duplicate_rows", "count": int(len(dup)),
                     # The count is the rows dropped; the wording is the one notebook 01 shows.
                     "detail": "repeated time stamps; first row kept"})
    return t, xyz, lab, idx, rows
