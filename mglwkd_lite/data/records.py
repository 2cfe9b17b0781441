"""Errors and containers of the data stage: recordings, windows and the report of repairs.

Repairs
-------
Loaders of own data (:func:`~mglwkd_lite.data.load_csv`, :func:`~mglwkd_lite.data.from_arrays`,
:func:`~mglwkd_lite.data.load_pamap2`) return :class:`Recordings` whose ``report``
(:class:`RepairReport`) counts every repair made, and emit a :class:`RepairWarning` when there was
one. Input that cannot be repaired safely raises a :class:`DataError` subclass naming the file,
column and row and what was expected.
"""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass, field
from typing import Iterable

import numpy as np

__all__ = [
    # errors and warnings
    "DataError", "ChecksumError", "FormatError", "EncodingError", "EmptyFileError", "MissingColumnError",
    "NonNumericError", "NonFiniteError", "UnknownLabelError", "GapError", "TimestampError",
    "TimeUnitError", "RecordingTooShortError", "SubjectOverlapError", "UnknownSubjectError", "RepairWarning",
    # containers
    "RepairReport", "Recordings", "Windows",
    # helpers and constants
    "did_you_mean", "UNLABELLED",
]

#: Label of a sample that belongs to no class.
UNLABELLED = -1

# --------------------------------------------------------------------------------------------
# Errors


class DataError(ValueError):
    """Base class of every data error; the message names file / column / row and the expectation."""


class ChecksumError(DataError):
    """A packaged data file does not match its recorded sha256."""


class FormatError(DataError):
    """A file or array does not have the expected layout (keys, columns, shapes)."""


class EncodingError(FormatError):
    """A file is not text in the given encoding (the message names the ``encoding`` option to use)."""


class EmptyFileError(DataError):
    """A file holds no data rows."""


class MissingColumnError(DataError):
    """A configured column is not in the file (the message suggests the closest name)."""


class NonNumericError(DataError):
    """A numeric column holds a value that is not a number."""


class NonFiniteError(DataError):
    """A value is NaN or infinite where a finite number is required."""


class UnknownLabelError(DataError):
    """A label is not among the declared classes."""


class GapError(DataError):
    """Two consecutive time stamps are further apart than the allowed gap."""


class TimestampError(DataError):
    """Time stamps are unsorted, duplicated or irregular and ``strict=True`` forbids repairs."""


class TimeUnitError(TimestampError):
    """The time stamps give an implausible sampling rate (the message suggests the unit that fits)."""


class RecordingTooShortError(DataError):
    """A recording has fewer samples than one window."""


class SubjectOverlapError(DataError):
    """A subject appears in two splits."""


class UnknownSubjectError(DataError):
    """A split names a subject that has no windows."""


class RepairWarning(UserWarning):
    """Input was repaired (sorted, de-duplicated, resampled, interpolated); see the report."""


def did_you_mean(name: str, options: Iterable[str], cutoff: float = 0.5) -> str:
    """The hint an error message ends with when ``name`` looks like a misspelt option.

    Parameters
    ----------
    name : str
        The name that was not found.
    options : iterable of str
        The valid names.
    cutoff : float
        Least :class:`difflib.SequenceMatcher` ratio of a suggestion.

    Returns
    -------
    str
        ``"; did you mean 'closest'?"``, or ``""`` when no option is close enough.
    """
    close = difflib.get_close_matches(name, list(options), n=1, cutoff=cutoff)
    return f"; did you mean {close[0]!r}?" if close else ""


# --------------------------------------------------------------------------------------------
# Containers


@dataclass(frozen=True)
class RepairReport:
    """Counted repairs of one load, one row per (source, kind).

    Attributes
    ----------
    rows : tuple of dict
        Each ``{"source": str, "kind": str, "count": int, "detail": str}``.
    """

    rows: tuple[dict, ...] = ()

    def total(self, kind: str) -> int:
        """Sum of ``count`` over every row of one kind.

        Parameters
        ----------
        kind : str
            A repair kind, for example ``"duplicate_rows"``.

        Returns
        -------
        int
            The total (0 if no row has this kind).
        """
        return int(sum(r["count"] for r in self.rows if r["kind"] == kind))

    @property
    def repaired(self) -> bool:
        """bool : True if a value or time stamp was changed or an irregularity flagged (not mere resampling)."""
        return any(r["count"] > 0 and r["kind"] != "resampled_rows" for r in self.rows)

    def __str__(self) -> str:
        if not self.rows:
            return "no repairs"
        return "; ".join(f"{r['source']}: {r['kind']}={r['count']} ({r['detail']})" for r in self.rows)


@dataclass(frozen=True, eq=False)
class Recordings:
    """Continuous recordings stored back to back.

    Attributes
    ----------
    acc : numpy.ndarray, shape (n, C), float32
        Samples; for the packaged sets ``C = 3`` (x, y, z) in units of g.
    label : numpy.ndarray, shape (n,), int64
        Index into ``classes`` per sample, ``-1`` = unlabelled.
    classes : tuple of str
        Label names.
    rec_len, rec_subject, rec_id : numpy.ndarray, shape (n_recordings,), int64
        Samples, subject and the data set's own number of each recording.
    rate_hz : float
        Sampling rate.
    name : str
        Data set name.
    channels : tuple of str
        Channel names (length ``C``).
    units : str
        Units of ``acc`` (``"g"`` unless a loader says otherwise).
    sources : tuple of str
        File (or ``"<arrays>"``) each recording came from; empty for packaged data.
    report : RepairReport
        Repairs made while loading.
    rec_t0 : numpy.ndarray, shape (n_recordings,), float64, or None
        Time (s) of the first sample of each recording on its file's time axis: its earliest time
        stamp, where the resampled grid starts; None when the input had no time stamps. For ISO 8601
        date-times: seconds since 1970-01-01 UTC.
    time_iso : str or None
        None when the time stamps were numbers; for ISO 8601 date-times the UTC offset to show them
        in (``"+02:00"``; ``""`` when they had none).
    """

    acc: np.ndarray
    label: np.ndarray
    classes: tuple[str, ...]
    rec_len: np.ndarray
    rec_subject: np.ndarray
    rec_id: np.ndarray
    rate_hz: float
    name: str
    channels: tuple[str, ...] = ("x", "y", "z")
    units: str = "g"
    sources: tuple[str, ...] = ()
    report: RepairReport = field(default_factory=RepairReport)
    rec_t0: np.ndarray | None = None
    time_iso: str | None = None

    @property
    def rec_offsets(self) -> np.ndarray:
        """numpy.ndarray : Start row of each recording, ``(n_recordings + 1,)`` with the total at the end."""
        return np.concatenate([[0], np.cumsum(self.rec_len)]).astype(np.int64)

    @property
    def n_recordings(self) -> int:
        """int : Number of recordings."""
        return int(len(self.rec_len))

    def source_of(self, r: int) -> str:
        """A readable name of one recording for messages.

        Parameters
        ----------
        r : int
            Recording index.

        Returns
        -------
        str
            ``"recording <id> (subject <s>)"``, followed by ``" in <file>"`` when the source is known.
        """
        src = f" in {self.sources[r]}" if self.sources else ""
        return f"recording {int(self.rec_id[r])} (subject {int(self.rec_subject[r])}){src}"

    def recording(self, r: int) -> tuple[np.ndarray, np.ndarray]:
        """The samples and labels of one recording.

        Parameters
        ----------
        r : int
            Recording index, ``0 <= r < n_recordings``.

        Returns
        -------
        acc : numpy.ndarray, shape (n_r, C)
        label : numpy.ndarray, shape (n_r,)
        """
        off = self.rec_offsets
        return self.acc[off[r]:off[r + 1]], self.label[off[r]:off[r + 1]]


@dataclass(frozen=True, eq=False)
class Windows:
    """Fixed-length labelled windows.

    Attributes
    ----------
    x : numpy.ndarray, shape (N, C, T), float32
        Samples.
    y : numpy.ndarray, shape (N,), int64
        Index into ``classes``.
    subject, recording, start : numpy.ndarray, shape (N,), int64
        Subject, recording index (into the source :class:`Recordings`) and first sample (within the
        recording) of each window.
    classes : tuple of str
        The kept classes.
    rate_hz : float
        Sampling rate.
    name : str
        Data set name.
    """

    x: np.ndarray
    y: np.ndarray
    subject: np.ndarray
    recording: np.ndarray
    start: np.ndarray
    classes: tuple[str, ...]
    rate_hz: float = 0.0
    name: str = ""

    def __len__(self) -> int:
        return int(len(self.y))

    def subset(self, index: np.ndarray) -> "Windows":
        """The windows at ``index``, same classes.

        Parameters
        ----------
        index : numpy.ndarray
            Integer positions or a boolean mask of length N.

        Returns
        -------
        Windows
        """
        index = np.asarray(index)
        return dataclasses.replace(
            self, x=self.x[index], y=self.y[index], subject=self.subject[index],
            recording=self.recording[index], start=self.start[index],
        )

    def with_x(self, x: np.ndarray) -> "Windows":
        """The same windows with other samples.

        Parameters
        ----------
        x : numpy.ndarray, shape (N, ...)
            New samples, one per window.

        Returns
        -------
        Windows

        Raises
        ------
        FormatError
            ``x`` does not hold N windows.
        """
        if len(x) != len(self):
            raise FormatError(f"with_x: expected {len(self)} windows, got {len(x)}")
        return dataclasses.replace(self, x=x)

    def class_counts(self) -> np.ndarray:
        """Windows per class.

        Returns
        -------
        numpy.ndarray, shape (len(classes),), int64
        """
        return np.bincount(self.y, minlength=len(self.classes)).astype(np.int64)

    def stratified_subset(self, fraction: float, seed: int = 0) -> "Windows":
        """A seeded subsample of a share of the windows of every class (order kept).

        Parameters
        ----------
        fraction : float
            Share in ``(0, 1]`` kept of each class (at least one window of a non-empty class).
        seed : int
            Seed of the draw.

        Returns
        -------
        Windows
            ``self`` when ``fraction == 1``.

        Raises
        ------
        DataError
            ``fraction`` is outside ``(0, 1]``.
        """
        if not 0 < fraction <= 1:
            raise DataError(f"fraction must be in (0, 1], got {fraction}")
        if fraction == 1:
            return self
        rng = np.random.default_rng(seed)
        keep = []
        for c in range(len(self.classes)):
            idx = np.flatnonzero(self.y == c)
            n = max(1, int(round(fraction * len(idx)))) if len(idx) else 0
            keep.append(rng.choice(idx, size=n, replace=False))
        return self.subset(np.sort(np.concatenate(keep)))
