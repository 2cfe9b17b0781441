"""Data: packaged recordings, fixed-length windows, subject splits, normalisation, own-data loaders.

The stage turns continuous accelerometer recordings into labelled windows ``(N, C, T)`` and splits
them by person, so that no subject's data is seen in training and in testing.

Data sets
---------
``hapt``
    UCI HAPT (Reyes-Ortiz et al., Neurocomputing 171, 2016), waist smartphone, 50 Hz, 30 subjects,
    61 recordings, 12 labels (6 basic activities, 6 postural transitions). CC BY 4.0.
``spsw``
    The smartwatch part of Matey-Sanz, Casteleyn and Granell (Data in Brief 51, 2023), wrist watch,
    100 Hz, 23 subjects, 223 recordings of the Timed Up and Go test, 5 labels. CC BY 4.0.

Both ship as package data (``mglwkd_lite/_data``) and are verified by sha256 on every load.

Label rules (:class:`WindowConfig`)
-----------------------------------
``"pure"`` (default)
    A window gets a label only if one label covers all its samples. With ``align="segment"``
    (default) the windows are laid out from the first sample of each labelled segment, which is how
    UCI HAR was cut; with ``align="recording"`` they lie on one grid from the recording's start.
``"majority"``
    The most frequent label, if it covers at least ``min_share`` (> 0.5) of the samples; other
    labels and unlabelled samples inside the window count against the share. Grid from the
    recording's start.
``"endpoints"``
    The PAMAP2 protocol of the paper's group: a window is kept if its first and last samples carry
    the same label. Grid from the recording's start.

Windows without a label under the rule, or whose label is not among ``classes``, are not produced;
:func:`window_counts` reports how many candidate windows each rule kept, so the drop is visible.
No window ever crosses the border between two recordings.

Repairs
-------
Loaders of own data (:func:`load_csv`, :func:`from_arrays`, :func:`load_pamap2`) return
:class:`Recordings` whose ``report`` (:class:`RepairReport`) counts every repair made, and emit a
:class:`RepairWarning` when there was one. Input that cannot be repaired safely raises a
:class:`DataError` subclass naming the file, column and row and what was expected.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import re
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Iterable, Iterator, Literal, Mapping, Sequence

import numpy as np

from ._io import stable_hash

__all__ = [
    # errors and warnings
    "DataError", "ChecksumError", "FormatError", "EmptyFileError", "MissingColumnError",
    "NonNumericError", "NonFiniteError", "UnknownLabelError", "GapError", "TimestampError",
    "RecordingTooShortError", "SubjectOverlapError", "UnknownSubjectError", "RepairWarning",
    # containers
    "Recordings", "RepairReport", "WindowConfig", "Windows", "Split", "Normaliser", "DataConfig",
    "Prepared",
    # functions
    "load_dataset", "make_windows", "window_counts", "split_by_subject", "check_disjoint",
    "prepare", "load_csv", "from_arrays", "ColumnMap", "load_pamap2", "pamap2_windows",
    "leave_one_subject_out", "summary_table", "segment_table", "rule_comparison", "uci_har_comparison",
    "normalisation_table", "activity_examples", "plot_activity_examples", "plot_class_balance",
    # constants
    "DATASETS", "HAPT_BASIC", "UCI_HAR_TEST_SUBJECTS", "HAPT_VAL_SUBJECTS", "SPSW_TEST_SUBJECTS",
    "SPSW_VAL_SUBJECTS", "PAMAP2_ACTIVITIES", "PAMAP2_WINDOW", "PAMAP2_COLUMNS", "PAMAP2_CHANNELS_40",
    "UCI_HAR_COUNTS", "UNLABELLED",
]

UNLABELLED = -1

# --------------------------------------------------------------------------------------------
# Errors


class DataError(ValueError):
    """Base class of every data error; the message names file / column / row and the expectation."""


class ChecksumError(DataError):
    """A packaged data file does not match its recorded sha256."""


class FormatError(DataError):
    """A file or array does not have the expected layout (keys, columns, shapes)."""


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


class RecordingTooShortError(DataError):
    """A recording has fewer samples than one window."""


class SubjectOverlapError(DataError):
    """A subject appears in two splits."""


class UnknownSubjectError(DataError):
    """A split names a subject that has no windows."""


class RepairWarning(UserWarning):
    """Input was repaired (sorted, de-duplicated, resampled, interpolated); see the report."""


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
        """Sum of ``count`` over every row of this ``kind`` (0 if none)."""
        return int(sum(r["count"] for r in self.rows if r["kind"] == kind))

    @property
    def repaired(self) -> bool:
        """True if a value or time stamp was changed or an irregularity flagged (not mere resampling)."""
        return any(r["count"] > 0 and r["kind"] != "resampled_rows" for r in self.rows)

    def to_frame(self):
        """The rows as a pandas DataFrame (columns source, kind, count, detail)."""
        import pandas as pd

        return pd.DataFrame(list(self.rows), columns=["source", "kind", "count", "detail"])

    def __str__(self) -> str:
        if not self.rows:
            return "no repairs"
        return "; ".join(f"{r['source']}: {r['kind']}={r['count']} ({r['detail']})" for r in self.rows)


@dataclass(frozen=True, eq=False)
class Recordings:
    """Continuous recordings stored back to back.

    Attributes
    ----------
    acc : ndarray, (n, C) float32
        Samples; for the packaged sets ``C = 3`` (x, y, z) in units of g.
    label : ndarray, (n,) int64
        Index into ``classes`` per sample, ``-1`` = unlabelled.
    classes : tuple of str
        Label names.
    rec_len, rec_subject, rec_id : ndarray, (n_recordings,) int64
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

    @property
    def rec_offsets(self) -> np.ndarray:
        """Start row of each recording, ``(n_recordings + 1,)`` with the total at the end."""
        return np.concatenate([[0], np.cumsum(self.rec_len)]).astype(np.int64)

    @property
    def n_recordings(self) -> int:
        return int(len(self.rec_len))

    def source_of(self, r: int) -> str:
        """A readable name of recording ``r`` for messages."""
        src = f" in {self.sources[r]}" if self.sources else ""
        return f"recording {int(self.rec_id[r])} (subject {int(self.rec_subject[r])}){src}"

    def recording(self, r: int) -> tuple[np.ndarray, np.ndarray]:
        """``(acc (n_r, C), label (n_r,))`` of recording ``r``."""
        off = self.rec_offsets
        return self.acc[off[r]:off[r + 1]], self.label[off[r]:off[r + 1]]


@dataclass(frozen=True, eq=False)
class Windows:
    """Fixed-length labelled windows.

    Attributes
    ----------
    x : ndarray, (N, C, T) float32
    y : ndarray, (N,) int64, index into ``classes``
    subject, recording, start : ndarray, (N,) int64
        Subject, recording index (into the source :class:`Recordings`) and first sample (within the
        recording) of each window.
    classes : tuple of str
        The kept classes.
    rate_hz : float
    name : str
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
        """The windows at ``index`` (integer or boolean array), same classes."""
        index = np.asarray(index)
        return dataclasses.replace(
            self, x=self.x[index], y=self.y[index], subject=self.subject[index],
            recording=self.recording[index], start=self.start[index],
        )

    def with_x(self, x: np.ndarray) -> "Windows":
        """The same windows with other samples ``x`` (same N)."""
        if len(x) != len(self):
            raise FormatError(f"with_x: expected {len(self)} windows, got {len(x)}")
        return dataclasses.replace(self, x=x)

    def class_counts(self) -> np.ndarray:
        """Windows per class, ``(len(classes),)`` int64."""
        return np.bincount(self.y, minlength=len(self.classes)).astype(np.int64)

    def stratified_subset(self, fraction: float, seed: int = 0) -> "Windows":
        """A seeded subsample of ``fraction`` of the windows of every class (order kept)."""
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


@dataclass(frozen=True)
class WindowConfig:
    """How recordings are cut into windows.

    Parameters
    ----------
    length, stride : int
        Window length and step in samples.
    classes : tuple of str or None
        Classes to keep (``y`` indexes into them, in this order); None keeps all.
    rule : {"pure", "majority", "endpoints"}
        Label rule (see the module docstring).
    min_share : float
        For ``rule="majority"``: the least share (> 0.5) of samples the label must cover.
    align : {"segment", "recording"}
        Where windows start: from each labelled segment (``"pure"`` only) or on one grid per
        recording.
    """

    length: int
    stride: int
    classes: tuple[str, ...] | None = None
    rule: Literal["pure", "majority", "endpoints"] = "pure"
    min_share: float = 0.5
    align: Literal["segment", "recording"] = "segment"

    def __post_init__(self) -> None:
        if int(self.length) < 1 or int(self.stride) < 1:
            raise DataError(f"WindowConfig: length and stride must be >= 1, got {self.length}, {self.stride}")
        if self.rule not in ("pure", "majority", "endpoints"):
            raise DataError(f"WindowConfig: rule must be 'pure', 'majority' or 'endpoints', got {self.rule!r}")
        if self.align not in ("segment", "recording"):
            raise DataError(f"WindowConfig: align must be 'segment' or 'recording', got {self.align!r}")
        if self.align == "segment" and self.rule != "pure":
            raise DataError(f"WindowConfig: align='segment' needs rule='pure' (got rule={self.rule!r}); "
                            "use align='recording'")
        if self.rule == "majority" and not 0.5 < self.min_share <= 1:
            raise DataError(f"WindowConfig: min_share must be in (0.5, 1], got {self.min_share}")
        if self.classes is not None:
            object.__setattr__(self, "classes", tuple(self.classes))


@dataclass(frozen=True, eq=False)
class Split:
    """Train / validation / test windows with disjoint subjects."""

    train: Windows
    val: Windows
    test: Windows

    def subjects(self) -> dict[str, tuple[int, ...]]:
        """Sorted subjects of each part."""
        return {k: tuple(int(s) for s in np.unique(getattr(self, k).subject)) for k in ("train", "val", "test")}


class Normaliser:
    """Per-channel standardisation with statistics of the training windows only.

    ``fit(x_train)`` stores the mean and standard deviation of every channel over windows and time;
    ``transform(x)`` returns ``(x - mean) / std`` as float32. A channel with (near) zero spread is
    divided by 1 instead, so a constant channel stays finite.

    Attributes
    ----------
    mean, std : ndarray, (C,) float64 (after ``fit``)
    """

    def __init__(self, eps: float = 1e-8) -> None:
        self.eps = float(eps)
        self.mean: np.ndarray | None = None
        self.std: np.ndarray | None = None

    def fit(self, x: np.ndarray) -> "Normaliser":
        """Fit on training windows ``x`` (N, C, T); returns ``self``."""
        x = np.asarray(x)
        if x.ndim != 3 or len(x) == 0:
            raise FormatError(f"Normaliser.fit: expected non-empty windows (N, C, T), got shape {x.shape}")
        if not np.isfinite(x).all():
            raise NonFiniteError("Normaliser.fit: windows hold NaN or inf; expected finite values")
        self.mean = x.mean(axis=(0, 2), dtype=np.float64)
        std = x.std(axis=(0, 2), dtype=np.float64)
        self.std = np.where(std > self.eps, std, 1.0)
        return self

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Standardise windows ``x`` (N, C, T) -> float32 of the same shape."""
        if self.mean is None or self.std is None:
            raise DataError("Normaliser.transform called before fit")
        x = np.asarray(x)
        if x.ndim != 3 or x.shape[1] != len(self.mean):
            raise FormatError(f"Normaliser.transform: expected (N, {len(self.mean)}, T), got shape {x.shape}")
        out = (x - self.mean[None, :, None]) / self.std[None, :, None]
        return out.astype(np.float32)

    def fit_transform(self, x: np.ndarray) -> np.ndarray:
        return self.fit(x).transform(x)

    def state(self) -> dict[str, np.ndarray]:
        """``{"mean", "std"}`` for saving next to a model (deployment applies the same scaling)."""
        if self.mean is None:
            raise DataError("Normaliser.state called before fit")
        return {"mean": self.mean.copy(), "std": self.std.copy()}

    @classmethod
    def from_state(cls, state: Mapping[str, np.ndarray]) -> "Normaliser":
        norm = cls()
        norm.mean = np.asarray(state["mean"], dtype=np.float64)
        norm.std = np.asarray(state["std"], dtype=np.float64)
        return norm

    def __repr__(self) -> str:
        if self.mean is None:
            return "Normaliser(unfitted)"
        return f"Normaliser(mean={np.round(self.mean, 4).tolist()}, std={np.round(self.std, 4).tolist()})"


# --------------------------------------------------------------------------------------------
# Packaged data sets

DATASETS: dict[str, dict] = {
    "hapt": {"file": "hapt_acc50hz.npz",
             "sha256": "b95d262ea039261a58d1ce9279dbc51c9959f26ba0a7f3d7f0f778e6223280b8"},
    "spsw": {"file": "spsw_watch_acc100hz.npz",
             "sha256": "e2fafe9c9d617bde886933bee4d44598d89ca42e3e65b92b8c0135805a2615fa"},
}
_NPZ_KEYS = ("acc", "acc_unit_g", "label", "classes", "rec_len", "rec_subject", "rec_experiment",
             "sampling_rate_hz")

HAPT_BASIC = ("WALKING", "WALKING_UPSTAIRS", "WALKING_DOWNSTAIRS", "SITTING", "STANDING", "LAYING")
#: The 9 test subjects of UCI HAR (the other 21 are its training subjects).
UCI_HAR_TEST_SUBJECTS = (2, 4, 9, 10, 12, 13, 18, 20, 24)
#: Three UCI HAR training subjects held out for validation (fixed: every tenth from 5).
HAPT_VAL_SUBJECTS = (5, 15, 25)
#: SPSW subject split (fixed): test every fifth subject from 3, validation three others.
SPSW_TEST_SUBJECTS = (3, 8, 13, 18, 23)
SPSW_VAL_SUBJECTS = (6, 11, 16)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _packaged_path(name: str) -> Path:
    return Path(str(resources.files("mglwkd_lite") / "_data" / DATASETS[name]["file"]))


def load_dataset(name: str, path: str | Path | None = None) -> Recordings:
    """Load a packaged data set after checking its sha256.

    Parameters
    ----------
    name : {"hapt", "spsw"}
    path : path, optional
        Another copy of the archive (checked against the same sha256); default the packaged file.

    Returns
    -------
    Recordings
        ``acc`` (n, 3) float32 in g, labels, recording lengths and subjects.

    Raises
    ------
    ChecksumError
        The file's sha256 differs from the recorded one.
    FormatError
        A key is missing or the recording lengths do not add up.
    """
    if name not in DATASETS:
        close = difflib.get_close_matches(str(name), DATASETS, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise DataError(f"unknown data set {name!r}: expected one of {sorted(DATASETS)}{hint}")
    path = Path(path) if path is not None else _packaged_path(name)
    expected = DATASETS[name]["sha256"]
    got = _sha256(path)
    if got != expected:
        raise ChecksumError(f"{path.name}: sha256 {got} does not match the expected {expected}; "
                            "the file is damaged or not the packaged version")
    with np.load(path, allow_pickle=False) as npz:
        missing = [k for k in _NPZ_KEYS if k not in npz.files]
        if missing:
            raise FormatError(f"{path.name}: missing keys {missing}; expected {list(_NPZ_KEYS)}")
        d = {k: npz[k] for k in _NPZ_KEYS}
    rec_len = d["rec_len"].astype(np.int64)
    if rec_len.sum() != len(d["acc"]) or len(d["label"]) != len(d["acc"]):
        raise FormatError(f"{path.name}: recording lengths sum to {rec_len.sum()}, "
                          f"expected the {len(d['acc'])} rows of 'acc'")
    acc = (d["acc"].astype(np.float32) * np.float32(d["acc_unit_g"]))
    return Recordings(
        acc=acc, label=d["label"].astype(np.int64), classes=tuple(str(c) for c in d["classes"]),
        rec_len=rec_len, rec_subject=d["rec_subject"].astype(np.int64),
        rec_id=d["rec_experiment"].astype(np.int64), rate_hz=float(d["sampling_rate_hz"]), name=name,
    )


# --------------------------------------------------------------------------------------------
# Windows


def _class_map(rec: Recordings, classes: Sequence[str] | None) -> tuple[tuple[str, ...], np.ndarray]:
    """Kept class names and a lookup from source label (+1 offset for -1) to kept index or -1."""
    if classes is None:
        kept = tuple(rec.classes)
    else:
        kept = tuple(classes)
        unknown = [c for c in kept if c not in rec.classes]
        if unknown:
            raise UnknownLabelError(f"{rec.name}: classes {unknown} not in the data set; "
                                    f"expected names from {list(rec.classes)}")
    lut = np.full(len(rec.classes) + 1, -1, dtype=np.int64)  # lut[label + 1]
    for i, c in enumerate(kept):
        lut[rec.classes.index(c) + 1] = i
    return kept, lut


def _candidate_starts(rec: Recordings, cfg: WindowConfig) -> tuple[np.ndarray, np.ndarray]:
    """Global start rows and recording index of every candidate window."""
    L, S = int(cfg.length), int(cfg.stride)
    off = rec.rec_offsets
    starts, recs = [], []
    for r in range(rec.n_recordings):
        n = int(rec.rec_len[r])
        if n < L:
            raise RecordingTooShortError(
                f"{rec.name}: {rec.source_of(r)} has {n} samples, shorter than one window of {L}; "
                "expected at least one window per recording (drop it or use shorter windows)")
        if cfg.align == "recording":
            s = off[r] + np.arange(0, n - L + 1, S)
        else:
            lab = rec.label[off[r]:off[r + 1]]
            cut = np.concatenate([[0], np.flatnonzero(np.diff(lab)) + 1, [n]])
            seg = [a + np.arange(0, e - a - L + 1, S) for a, e in zip(cut[:-1], cut[1:])
                   if lab[a] != UNLABELLED and e - a >= L]
            s = off[r] + (np.concatenate(seg) if seg else np.zeros(0, np.int64))
        starts.append(s.astype(np.int64))
        recs.append(np.full(len(s), r, dtype=np.int64))
    return np.concatenate(starts), np.concatenate(recs)


def _window_labels(rec: Recordings, starts: np.ndarray, cfg: WindowConfig) -> np.ndarray:
    """Source label of each candidate window under the rule (-1 = no label)."""
    L = int(cfg.length)
    lw = rec.label[starts[:, None] + np.arange(L)[None, :]]  # (N, L)
    if cfg.rule == "pure":
        ok = (lw == lw[:, :1]).all(axis=1)
        return np.where(ok, lw[:, 0], UNLABELLED)
    if cfg.rule == "endpoints":
        return np.where(lw[:, 0] == lw[:, -1], lw[:, 0], UNLABELLED)
    k = len(rec.classes)
    counts = np.stack([(lw == c).sum(axis=1) for c in range(k)], axis=1)  # (N, K)
    best = counts.argmax(axis=1)
    ok = counts[np.arange(len(best)), best] >= cfg.min_share * L
    return np.where(ok, best, UNLABELLED)


def make_windows(rec: Recordings, cfg: WindowConfig) -> Windows:
    """Cut recordings into labelled windows that never cross two recordings.

    Parameters
    ----------
    rec : Recordings
    cfg : WindowConfig

    Returns
    -------
    Windows
        ``x`` (N, C, T=cfg.length) float32, ``y`` indexes ``cfg.classes`` (or all classes).

    Raises
    ------
    RecordingTooShortError
        A recording is shorter than one window.
    UnknownLabelError
        ``cfg.classes`` names a class the data do not have.
    """
    kept, lut = _class_map(rec, cfg.classes)
    starts, recs = _candidate_starts(rec, cfg)
    src = _window_labels(rec, starts, cfg)
    y = lut[src + 1]
    keep = y >= 0
    starts, recs, y = starts[keep], recs[keep], y[keep]
    idx = starts[:, None] + np.arange(int(cfg.length))[None, :]
    x = np.ascontiguousarray(rec.acc[idx].transpose(0, 2, 1), dtype=np.float32)
    return Windows(
        x=x, y=y.astype(np.int64), subject=rec.rec_subject[recs].astype(np.int64), recording=recs,
        start=(starts - rec.rec_offsets[recs]).astype(np.int64), classes=kept, rate_hz=rec.rate_hz,
        name=rec.name,
    )


def window_counts(rec: Recordings, cfg: WindowConfig) -> dict[str, int]:
    """How many candidate windows the rule kept and why the others were dropped.

    Returns
    -------
    dict
        ``candidates`` (windows laid out), ``kept``, ``no_label`` (mixed or unlabelled under the
        rule) and ``other_class`` (labelled with a class not in ``cfg.classes``).
    """
    _, lut = _class_map(rec, cfg.classes)
    starts, _ = _candidate_starts(rec, cfg)
    src = _window_labels(rec, starts, cfg)
    y = lut[src + 1]
    return {"candidates": int(len(src)), "kept": int((y >= 0).sum()),
            "no_label": int((src < 0).sum()), "other_class": int(((src >= 0) & (y < 0)).sum())}


# --------------------------------------------------------------------------------------------
# Splits


def _empty_like(w: Windows) -> Windows:
    return w.subset(np.zeros(0, dtype=np.int64))


def split_by_subject(windows: Windows, test_subjects: Iterable[int],
                     val_subjects: Iterable[int] = ()) -> Split:
    """Split windows by person: the named test and validation subjects, every other one trains.

    Raises
    ------
    SubjectOverlapError
        A subject is named for both test and validation.
    UnknownSubjectError
        A named subject has no windows.
    """
    test = sorted({int(s) for s in test_subjects})
    val = sorted({int(s) for s in val_subjects})
    both = sorted(set(test) & set(val))
    if both:
        raise SubjectOverlapError(f"{windows.name}: subjects {both} are in both the test and the validation "
                                  "split; expected each subject in one split only")
    present = set(np.unique(windows.subject).tolist())
    missing = sorted(set(test + val) - present)
    if missing:
        raise UnknownSubjectError(f"{windows.name}: subjects {missing} have no windows; "
                                  f"expected subjects from {sorted(present)}")
    is_test = np.isin(windows.subject, test)
    is_val = np.isin(windows.subject, val)
    split = Split(train=windows.subset(~is_test & ~is_val), val=windows.subset(is_val),
                  test=windows.subset(is_test))
    check_disjoint(split)
    return split


def check_disjoint(split: Split) -> None:
    """Raise :class:`SubjectOverlapError` if any subject has windows in two parts of ``split``."""
    subs = split.subjects()
    for a, b in (("train", "val"), ("train", "test"), ("val", "test")):
        common = sorted(set(subs[a]) & set(subs[b]))
        if common:
            raise SubjectOverlapError(f"{split.train.name}: subjects {common} are in both {a} and {b}; "
                                      "expected disjoint subjects")


# --------------------------------------------------------------------------------------------
# The standard, normalised splits


PRESET_NAMES = ("quick", "full", "group")
"""Names accepted wherever a preset is asked for (notebooks' ``preset`` parameter, scripts); the models
of each are :class:`mglwkd_lite.train.ModelsPreset`'s classmethods of the same name."""


@dataclass(frozen=True)
class DataConfig:
    """The standard data of one data set: windows, subject split and training subsample.

    ``train_fraction`` < 1 keeps a seeded, class-stratified share of the training windows (val and
    test untouched); every preset uses 1.0, so quick, full and group give the same windows.
    """

    name: str
    window: WindowConfig
    test_subjects: tuple[int, ...]
    val_subjects: tuple[int, ...]
    train_fraction: float = 1.0
    seed: int = 0

    @classmethod
    def full(cls, name: str) -> "DataConfig":
        if name == "hapt":
            # UCI HAR's protocol: 6 basic activities, 128 samples (2.56 s), 50 % overlap.
            return cls("hapt", WindowConfig(128, 64, classes=HAPT_BASIC), UCI_HAR_TEST_SUBJECTS,
                       HAPT_VAL_SUBJECTS)
        if name == "spsw":
            # TUG segments are short (median 0.7-2.6 s): 0.64 s pure windows keep >= 450 per class.
            return cls("spsw", WindowConfig(64, 32), SPSW_TEST_SUBJECTS, SPSW_VAL_SUBJECTS)
        raise DataError(f"no standard configuration for data set {name!r}; expected one of {sorted(DATASETS)}")

    @classmethod
    def quick(cls, name: str) -> "DataConfig":
        return cls.full(name)

    @classmethod
    def preset(cls, name: str, preset: str) -> "DataConfig":
        # "group" (the group's 200-epoch training recipe) trains on the full preset's windows.
        if preset not in PRESET_NAMES:
            raise DataError(f"unknown preset {preset!r}; expected one of {list(PRESET_NAMES)}")
        return cls.quick(name) if preset == "quick" else cls.full(name)


@dataclass(frozen=True, eq=False)
class Prepared:
    """A normalised, subject-split data set ready for training.

    Attributes
    ----------
    train, val, test : Windows
        Normalised with ``normaliser`` (fitted on ``train`` only).
    classes : tuple of str
    normaliser : Normaliser
    config : DataConfig
    key : str
        Stable hash of the configuration and the data (for cache file names).
    """

    train: Windows
    val: Windows
    test: Windows
    classes: tuple[str, ...]
    normaliser: Normaliser
    config: DataConfig
    key: str

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def split(self) -> Split:
        return Split(self.train, self.val, self.test)

    def describe(self):
        """Windows per class (rows) and split (columns) as a pandas DataFrame, with totals."""
        import pandas as pd

        table = pd.DataFrame({part: getattr(self, part).class_counts() for part in ("train", "val", "test")},
                             index=pd.Index(self.classes, name="class"))
        table["all"] = table.sum(axis=1)
        table.loc["total"] = table.sum(axis=0)
        return table

    def subjects(self) -> dict[str, tuple[int, ...]]:
        return self.split.subjects()


def _readonly(w: Windows) -> Windows:
    for a in (w.x, w.y, w.subject, w.recording, w.start):
        a.flags.writeable = False
    return w


@lru_cache(maxsize=8)
def _prepare_cached(config: DataConfig) -> Prepared:
    rec = load_dataset(config.name)
    windows = make_windows(rec, config.window)
    split = split_by_subject(windows, config.test_subjects, config.val_subjects)
    train = split.train.stratified_subset(config.train_fraction, config.seed)
    norm = Normaliser().fit(train.x)
    parts = {k: _readonly(w.with_x(norm.transform(w.x))) for k, w in
             (("train", train), ("val", split.val), ("test", split.test))}
    key = stable_hash(config, DATASETS[config.name]["sha256"])
    return Prepared(classes=windows.classes, normaliser=norm, config=config, key=key, **parts)


def prepare(name: str, preset: str = "quick", config: DataConfig | None = None) -> Prepared:
    """The standard normalised split of a packaged data set.

    The split is computed once per configuration and process (well under a second) and kept in
    memory; every call returns fresh, writeable copies of the arrays.

    Parameters
    ----------
    name : {"hapt", "spsw"}
    preset : {"quick", "full", "group"}
        All currently give the same data (see :class:`DataConfig`).
    config : DataConfig, optional
        Overrides the preset.

    Returns
    -------
    Prepared
        HAPT: 6 basic activities, 128 samples / stride 64 pure windows, UCI HAR test subjects,
        validation subjects :data:`HAPT_VAL_SUBJECTS`. SPSW: 5 classes, 64 / 32 pure windows,
        test :data:`SPSW_TEST_SUBJECTS`, validation :data:`SPSW_VAL_SUBJECTS`.
    """
    if config is None:
        config = DataConfig.preset(name, preset)
    elif config.name != name:
        raise DataError(f"prepare: config is for {config.name!r}, not {name!r}")
    cached = _prepare_cached(config)
    # Hand out writeable copies (torch.from_numpy warns on read-only arrays); the cached original
    # stays read-only, so a caller changing its arrays in place cannot affect a later call.
    parts = {k: _copy(getattr(cached, k)) for k in ("train", "val", "test")}
    return dataclasses.replace(cached, normaliser=Normaliser.from_state(cached.normaliser.state()), **parts)


def _copy(w: Windows) -> Windows:
    return dataclasses.replace(w, x=w.x.copy(), y=w.y.copy(), subject=w.subject.copy(),
                               recording=w.recording.copy(), start=w.start.copy())


# --------------------------------------------------------------------------------------------
# Bring your own data: CSV files and arrays


@dataclass(frozen=True)
class ColumnMap:
    """Column names of a CSV export; ``label`` / ``subject`` may be None when the file has none."""

    time: str = "time"
    x: str = "x"
    y: str = "y"
    z: str = "z"
    label: str | None = "label"
    subject: str | None = "subject"


_TIME_UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}
_NAN_TOKENS = {"", "nan", "na", "n/a", "null", "none"}


def _row_name(source: str, row: int) -> str:
    """Rows are numbered from 1 over data rows; in a CSV file data row i is on line i + 1."""
    return f"row {row + 1} (line {row + 2})" if source != "<arrays>" else f"index {row}"


def _suggest(name: str, options: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, list(options), n=1, cutoff=0.5)
    return f"; did you mean {close[0]!r}?" if close else ""


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
    accs, labs, lens, subs, rows = [], [], [], [], []
    for s in dict.fromkeys(subj.tolist()):  # subjects in order of first appearance
        m = subj == s
        src = source if len(np.unique(subj)) == 1 else f"{source} [subject {s}]"
        if t is None:
            a, lb = xyz[m].astype(np.float32), lab[m]
        else:
            a, lb, r = _resample_one(src, t[m], xyz[m], lab[m], rate_hz, max_gap_s, jitter_tol, strict,
                                     columns, time_col)
            rows += r
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
                                    f"expected one of {list(classes)}{_suggest(text[i], classes)}")
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
    path : path
    rate_hz : float
        Target sampling rate.
    columns : ColumnMap
        Column names for time, x, y, z, label and subject.
    classes : sequence of str, optional
        Allowed label names (their order defines ``y``); default the sorted labels found.
    time_unit : {"s", "ms", "us", "ns"}
    subject : int
        Subject of every row when ``columns.subject`` is None.
    max_gap_s : float
        Largest allowed step between consecutive time stamps (after sorting).
    jitter_tol : float
        Relative deviation from the median interval counted as jitter.
    min_length : int, optional
        Least samples per recording after resampling (for example one window).
    unlabelled : sequence of str
        Label values meaning "no label" (label -1).

    Returns
    -------
    Recordings
        ``acc`` (n, 3) float32 in the file's units, ``report`` with the repairs.

    Raises
    ------
    EmptyFileError, MissingColumnError, NonNumericError, NonFiniteError, UnknownLabelError,
    GapError, TimestampError, RecordingTooShortError
    """
    import pandas as pd

    path = Path(path)
    source = path.name
    if time_unit not in _TIME_UNITS:
        raise DataError(f"time_unit must be one of {list(_TIME_UNITS)}, got {time_unit!r}")
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
            raise MissingColumnError(f"{source}: column {col!r} not found{_suggest(col, header)} "
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
    t = numeric(columns.time) * _TIME_UNITS[time_unit]
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
    acc : array, (n, C)
        Samples, one column per channel.
    rate_hz : float
        Target rate; with ``time=None`` the samples are taken to be uniform at this rate already.
    time : array, (n,), optional
        Time stamps in seconds; if given, the rows are sorted, de-duplicated and resampled as in
        :func:`load_csv` (counted in ``report``).
    label : sequence, optional
        Per-row class names (or values whose ``str`` is a class name); ``unlabelled`` values -> -1.
    subject : int or sequence of int
        One subject for all rows or one per row (one recording per subject).
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


# --------------------------------------------------------------------------------------------
# PAMAP2 (the paper's public data set; not shipped -- users download it themselves)

#: The 12 protocol activities (source id -> name) used by the paper's group.
PAMAP2_ACTIVITIES = {1: "lying", 2: "sitting", 3: "standing", 4: "walking", 5: "running", 6: "cycling",
                     7: "Nordic_walking", 12: "ascending_stairs", 13: "descending_stairs",
                     16: "vacuum_cleaning", 17: "ironing", 24: "rope_jumping"}
#: Every activity id PAMAP2 defines (0 = transient; 9-11, 18-20 = optional activities).
_PAMAP2_VALID_IDS = frozenset({0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 16, 17, 18, 19, 20, 24})
_IMUS = ("hand", "chest", "ankle")
_IMU_FIELDS = (["temperature"] + [f"acc16_{a}" for a in "xyz"] + [f"acc6_{a}" for a in "xyz"]
               + [f"gyro_{a}" for a in "xyz"] + [f"mag_{a}" for a in "xyz"]
               + [f"orientation_{i}" for i in range(4)])
#: All 54 columns of a PAMAP2 ``.dat`` file.
PAMAP2_COLUMNS = (("timestamp", "activity_id", "heart_rate")
                  + tuple(f"{imu}_{f}" for imu in _IMUS for f in _IMU_FIELDS))
#: The 40 channels of the group's code: heart rate + per IMU temperature, acc16g, acc6g, gyro, mag
#: (timestamp, activity and the 12 orientation columns, invalid in this data collection, dropped).
PAMAP2_CHANNELS_40 = ("heart_rate",) + tuple(f"{imu}_{f}" for imu in _IMUS for f in _IMU_FIELDS
                                             if not f.startswith("orientation"))
PAMAP2_CHANNEL_SETS = {
    "all40": PAMAP2_CHANNELS_40,
    "acc_hand": ("hand_acc16_x", "hand_acc16_y", "hand_acc16_z"),
    "acc_chest": ("chest_acc16_x", "chest_acc16_y", "chest_acc16_z"),
    "acc_ankle": ("ankle_acc16_x", "ankle_acc16_y", "ankle_acc16_z"),
}
#: The group's protocol at 33.3 Hz: 100 samples (3 s), stride 22, first and last label agree.
PAMAP2_WINDOW = WindowConfig(100, 22, classes=tuple(PAMAP2_ACTIVITIES.values()), rule="endpoints",
                             align="recording")
_G = 9.80665


def _fill_nans(source: str, col: str, v: np.ndarray, max_gap: int) -> tuple[np.ndarray, int, np.ndarray]:
    """Linearly interpolate NaN runs of ``v``; returns (filled, n_filled, mask of runs > max_gap)."""
    nan = np.isnan(v)
    if not nan.any():
        return v, 0, np.zeros(len(v), bool)
    if nan.all():
        raise NonFiniteError(f"{source}: column {col!r} holds only NaN; expected measured values")
    idx = np.arange(len(v))
    filled = v.copy()
    filled[nan] = np.interp(idx[nan], idx[~nan], v[~nan])
    # Runs longer than max_gap are still filled (to keep arrays finite) but masked out of windows.
    long = np.zeros(len(v), bool)
    edges = np.diff(np.concatenate([[0], nan.astype(np.int8), [0]]))
    for a, e in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)):
        if e - a > max_gap:
            long[a:e] = True
    return filled, int(nan.sum()), long


def load_pamap2(paths: str | Path | Sequence[str | Path], channels: str | Sequence[str] = "all40", *,
                downsample: int = 3, max_gap: int = 30, classes: Mapping[int, str] = PAMAP2_ACTIVITIES
                ) -> Recordings:
    """Load PAMAP2 ``.dat`` files (one recording each) following the group's protocol.

    Each file (``subject1NN.dat``; the subject is the number in the name) is read in PAMAP2's
    54-column layout (:data:`PAMAP2_COLUMNS`): timestamp, activity id, heart rate, then three IMUs
    (hand, chest, ankle) of 17 columns each. Then, per file:

    1. activity ids in :data:`PAMAP2_ACTIVITIES` become classes; the transient id 0 and the optional
       activities become unlabelled (-1), keeping time continuous; an id PAMAP2 does not define
       raises :class:`UnknownLabelError`;
    2. NaNs are repaired by linear interpolation along time within the file, counted per column in
       ``report``: heart rate is sampled at about 9 Hz, so most of its rows are NaN by design; NaNs in
       IMU columns are dropped wireless packets. Samples in an IMU gap longer than ``max_gap`` rows
       (0.3 s at 100 Hz) are interpolated too but made unlabelled, so no window is built on them;
    3. every ``downsample``-th row is kept (100 Hz -> 33.3 Hz).

    Parameters
    ----------
    paths : path or sequence of paths
        ``.dat`` files, or a folder whose ``*.dat`` files are read in name order.
    channels : "all40", "acc_hand", "acc_chest", "acc_ankle" or a sequence of column names
        ``"all40"`` (default) are the 40 channels of the group's code; the ``acc_*`` sets are the
        three 16 g accelerometer axes of one IMU, converted from m/s^2 to g.

    Returns
    -------
    Recordings
        Window them with :func:`pamap2_windows`; split with :func:`leave_one_subject_out`.
    """
    import pandas as pd

    if isinstance(paths, (str, Path)):
        p = Path(paths)
        files = sorted(p.glob("*.dat")) if p.is_dir() else [p]
    else:
        files = [Path(p) for p in paths]
    if not files:
        raise EmptyFileError(f"{paths}: no PAMAP2 .dat files found")
    names = tuple(PAMAP2_CHANNEL_SETS[channels]) if isinstance(channels, str) and channels in PAMAP2_CHANNEL_SETS \
        else tuple(channels)
    if isinstance(channels, str) and channels not in PAMAP2_CHANNEL_SETS:
        raise DataError(f"unknown PAMAP2 channel set {channels!r}; expected one of {list(PAMAP2_CHANNEL_SETS)} "
                        "or a sequence of column names")
    for c in names:
        if c not in PAMAP2_COLUMNS:
            raise MissingColumnError(f"PAMAP2: channel {c!r} is not a PAMAP2 column{_suggest(c, PAMAP2_COLUMNS)}")
    cols = [PAMAP2_COLUMNS.index(c) for c in names]
    is_acc = all("acc" in c for c in names)
    class_names = tuple(classes.values())
    lut = {aid: i for i, aid in enumerate(classes)}
    accs, labs, lens, subs, ids, rows = [], [], [], [], [], []
    for f in files:
        src = f.name
        if not f.is_file() or f.stat().st_size == 0:
            raise EmptyFileError(f"{src}: the file is empty or missing; expected PAMAP2 rows")
        m = re.search(r"(\d+)", f.stem)
        if m is None:
            raise FormatError(f"{src}: no subject number in the file name; expected a name like subject101.dat")
        df = pd.read_csv(f, sep=r"\s+", header=None)  # C parser; "NaN" cells become NaN
        if df.shape[1] != len(PAMAP2_COLUMNS):
            raise FormatError(f"{src}: {df.shape[1]} columns; expected PAMAP2's {len(PAMAP2_COLUMNS)}")
        for c in np.flatnonzero([not pd.api.types.is_numeric_dtype(t) for t in df.dtypes]):
            raw = df.iloc[:, c].astype(str)
            bad = pd.to_numeric(raw, errors="coerce").isna() & (raw.str.lower() != "nan")
            r = int(np.flatnonzero(bad.to_numpy())[0])
            raise NonNumericError(f"{src}: column {PAMAP2_COLUMNS[c]!r} row {r + 1} holds {raw.iloc[r]!r}; "
                                  "expected a number or NaN")
        val = df.to_numpy(np.float64)
        if np.isinf(val).any():
            r, c = map(int, np.argwhere(np.isinf(val))[0])
            raise NonFiniteError(f"{src}: column {PAMAP2_COLUMNS[c]!r} row {r + 1} is {val[r, c]}; "
                                 "expected a finite number or NaN")
        aid = val[:, 1]
        if np.isnan(aid).any():
            r = int(np.flatnonzero(np.isnan(aid))[0])
            raise NonFiniteError(f"{src}: column 'activity_id' row {r + 1} is NaN; expected an activity id")
        unknown = np.flatnonzero(~np.isin(aid, list(_PAMAP2_VALID_IDS)))
        if len(unknown):
            r = int(unknown[0])
            raise UnknownLabelError(f"{src}: column 'activity_id' row {r + 1} has id {aid[r]:g}; expected one of "
                                    f"PAMAP2's ids {sorted(_PAMAP2_VALID_IDS)}")
        id_lut = np.full(max(_PAMAP2_VALID_IDS) + 1, UNLABELLED, dtype=np.int64)
        for aid_kept, k in lut.items():
            id_lut[aid_kept] = k
        lab = id_lut[aid.astype(np.int64)]
        # Every third row is kept, which assumes a steady 100 Hz; count steps that break it.
        steps = np.diff(val[:, 0])
        irregular = int((np.abs(steps - 0.01) > 0.005).sum()) if len(steps) else 0
        if irregular:
            rows.append({"source": src, "kind": "irregular_time_steps", "count": irregular,
                         "detail": "time steps not 0.01 s (100 Hz); rows used as they are"})
        out = np.empty((len(val), len(cols)), np.float64)
        masked = np.zeros(len(val), bool)
        for j, c in enumerate(cols):
            v, n_fill, long = _fill_nans(src, PAMAP2_COLUMNS[c], val[:, c], max_gap)
            out[:, j] = v
            if n_fill:
                kind = "heart_rate_interpolated" if PAMAP2_COLUMNS[c] == "heart_rate" else "imu_nan_interpolated"
                rows.append({"source": src, "kind": kind, "count": n_fill,
                             "detail": f"column {PAMAP2_COLUMNS[c]!r}: NaNs filled by linear interpolation"})
            if PAMAP2_COLUMNS[c] != "heart_rate":
                masked |= long
        if masked.any():
            rows.append({"source": src, "kind": "long_gap_rows_unlabelled", "count": int(masked.sum()),
                         "detail": f"IMU gaps longer than {max_gap} rows: interpolated but unlabelled"})
            lab[masked] = UNLABELLED
        if is_acc:
            out = out / _G
        out, lab = out[::downsample], lab[::downsample]
        accs.append(out.astype(np.float32))
        labs.append(lab)
        lens.append(len(out))
        subs.append(int(m.group(1)))
        ids.append(int(m.group(1)))
    report = RepairReport(tuple(rows))
    if report.repaired:
        warnings.warn(f"PAMAP2 repairs: {report}", RepairWarning, stacklevel=2)
    return Recordings(
        acc=np.concatenate(accs), label=np.concatenate(labs), classes=class_names,
        rec_len=np.asarray(lens, np.int64), rec_subject=np.asarray(subs, np.int64),
        rec_id=np.asarray(ids, np.int64), rate_hz=100.0 / downsample, name="pamap2", channels=names,
        units="g" if is_acc else "PAMAP2 units (m/s^2, deg/s, uT, degC, bpm)",
        sources=tuple(f.name for f in files), report=report,
    )


def pamap2_windows(rec: Recordings, cfg: WindowConfig = PAMAP2_WINDOW) -> Windows:
    """Windows of the group's PAMAP2 protocol (100 samples, stride 22, first and last label agree)."""
    return make_windows(rec, cfg)


def leave_one_subject_out(windows: Windows) -> Iterator[tuple[int, Split]]:
    """Yield ``(subject, Split)`` with that subject as test, all others as train, val empty.

    The group's protocol has no validation subjects; pick one from the training subjects with
    :func:`split_by_subject` if epochs are to be selected.
    """
    for s in np.unique(windows.subject):
        yield int(s), split_by_subject(windows, [int(s)])


# --------------------------------------------------------------------------------------------
# Tables and figures for the data notebook

#: Windows per class of UCI HAR (y_train / y_test of the UCI data set), in :data:`HAPT_BASIC` order.
UCI_HAR_COUNTS = {"train": (1226, 1073, 986, 1286, 1374, 1407), "test": (496, 471, 420, 491, 532, 537)}


def summary_table(recs: Sequence[Recordings]):
    """One row per data set: rate, subjects, recordings, rows, hours, labelled share, classes."""
    import pandas as pd

    rows = []
    for r in recs:
        rows.append({"data set": r.name, "rate (Hz)": r.rate_hz, "subjects": len(np.unique(r.rec_subject)),
                     "recordings": r.n_recordings, "rows": len(r.acc),
                     "hours": round(len(r.acc) / r.rate_hz / 3600, 2),
                     "labelled (%)": round(100 * float((r.label >= 0).mean()), 1), "classes": len(r.classes)})
    return pd.DataFrame(rows).set_index("data set")


def segment_table(rec: Recordings):
    """Labelled segments per class: count and median / min length in seconds."""
    import pandas as pd

    off = rec.rec_offsets
    lens: dict[int, list[int]] = {c: [] for c in range(len(rec.classes))}
    for r in range(rec.n_recordings):
        lab = rec.label[off[r]:off[r + 1]]
        cut = np.concatenate([[0], np.flatnonzero(np.diff(lab)) + 1, [len(lab)]])
        for a, e in zip(cut[:-1], cut[1:]):
            if lab[a] >= 0:
                lens[int(lab[a])].append(int(e - a))
    return pd.DataFrame({"segments": [len(v) for v in lens.values()],
                         "median (s)": [round(float(np.median(v)) / rec.rate_hz, 2) if v else np.nan
                                        for v in lens.values()],
                         "min (s)": [round(min(v) / rec.rate_hz, 2) if v else np.nan for v in lens.values()]},
                        index=pd.Index(rec.classes, name="class"))


def rule_comparison(rec: Recordings, configs: Mapping[str, WindowConfig]):
    """Windows per class (rows) under each named window configuration (columns), with totals."""
    import pandas as pd

    cols = {}
    for label, cfg in configs.items():
        w = make_windows(rec, cfg)
        counts = dict(zip(w.classes, w.class_counts().tolist()))
        cols[label] = [counts.get(c, 0) for c in rec.classes]
    table = pd.DataFrame(cols, index=pd.Index(rec.classes, name="class"))
    table.loc["total"] = table.sum(axis=0)
    return table


def uci_har_comparison(rec: Recordings | None = None, cfg: WindowConfig | None = None):
    """HAPT windows (128 / 64, pure) on UCI HAR's train / test subjects next to UCI HAR's counts.

    "train" here is every non-test subject (the validation subjects included), as in UCI HAR.
    """
    import pandas as pd

    rec = rec if rec is not None else load_dataset("hapt")
    cfg = cfg or WindowConfig(128, 64, classes=HAPT_BASIC)
    w = make_windows(rec, cfg)
    is_test = np.isin(w.subject, UCI_HAR_TEST_SUBJECTS)
    here = {"train": np.bincount(w.y[~is_test], minlength=6), "test": np.bincount(w.y[is_test], minlength=6)}
    table = pd.DataFrame(index=pd.Index(HAPT_BASIC, name="class"))
    for part in ("train", "test"):
        table[f"{part} (here)"] = here[part]
        table[f"{part} (UCI HAR)"] = UCI_HAR_COUNTS[part]
    table.loc["total"] = table.sum(axis=0)
    for part in ("train", "test"):
        table[f"{part} diff (%)"] = (100 * (table[f"{part} (here)"] / table[f"{part} (UCI HAR)"] - 1)).round(2)
    return table


def normalisation_table(p: Prepared):
    """Per-channel training mean and std (in g) and each split's mean / std after normalising."""
    import pandas as pd

    ch = ("x", "y", "z") if p.train.x.shape[1] == 3 else tuple(f"ch{i}" for i in range(p.train.x.shape[1]))
    table = pd.DataFrame({"train mean (g)": p.normaliser.mean, "train std (g)": p.normaliser.std},
                         index=pd.Index(ch, name="channel"))
    for part in ("train", "val", "test"):
        x = getattr(p, part).x
        table[f"{part} mean"] = x.mean(axis=(0, 2), dtype=np.float64)
        table[f"{part} std"] = x.std(axis=(0, 2), dtype=np.float64)
    return table.round(3) + 0.0  # + 0.0 turns -0.0 into 0.0 for stable printing


def activity_examples(rec: Recordings, seconds: float, classes: Sequence[str] | None = None
                      ) -> dict[str, np.ndarray]:
    """The first ``seconds`` of the first segment of each class that is long enough.

    Returns
    -------
    dict
        class name -> samples ``(round(seconds * rate), C)``, in ``classes`` order (default all);
        classes without such a segment are left out.
    """
    n = int(round(seconds * rec.rate_hz))
    wanted = tuple(classes) if classes is not None else rec.classes
    off = rec.rec_offsets
    out: dict[str, np.ndarray] = {}
    for r in range(rec.n_recordings):
        lab = rec.label[off[r]:off[r + 1]]
        cut = np.concatenate([[0], np.flatnonzero(np.diff(lab)) + 1, [len(lab)]])
        for a, e in zip(cut[:-1], cut[1:]):
            name = rec.classes[lab[a]] if lab[a] >= 0 else None
            if name in wanted and name not in out and e - a >= n:
                out[name] = rec.acc[off[r] + a:off[r] + a + n]
    return {c: out[c] for c in wanted if c in out}


def plot_activity_examples(recs: Sequence[Recordings], seconds: Sequence[float],
                           classes: Sequence[Sequence[str] | None] | None = None):
    """Raw x, y, z (g) of one example per activity: a row per data set, a panel per class.

    Parameters
    ----------
    recs : sequence of Recordings
    seconds : sequence of float
        Length of the example of each data set.
    classes : sequence of (sequence of str or None), optional
        Classes to show per data set (default all).
    """
    import matplotlib.pyplot as plt

    classes = classes or [None] * len(recs)
    rows = [activity_examples(r, s, c) for r, s, c in zip(recs, seconds, classes)]
    ncols = max(len(ex) for ex in rows)
    fig, axes = plt.subplots(len(rows), ncols, figsize=(2.5 * ncols, 2.3 * len(rows)), sharey=True,
                             constrained_layout=True, squeeze=False)
    for i, (rec, ex) in enumerate(zip(recs, rows)):
        for j in range(ncols):
            ax = axes[i, j]
            if j >= len(ex):
                ax.axis("off")
                continue
            c, a = list(ex.items())[j]
            t = np.arange(len(a)) / rec.rate_hz
            for k, axis in enumerate("xyz"):
                ax.plot(t, a[:, k], lw=0.8, color=f"C{k}", label=axis)
            ax.set_title(f"{rec.name}: {c}", fontsize=8)
            ax.set_xlabel("time (s)", fontsize=8)
            ax.tick_params(labelsize=7)
        axes[i, 0].set_ylabel("acceleration (g)", fontsize=8)
    axes[0, 0].legend(fontsize=7, loc="lower left")
    return fig


def plot_class_balance(prepared: Sequence[Prepared]):
    """Share of windows per class in each split, one panel per data set; returns the figure."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(prepared), figsize=(6 * len(prepared), 3.2), constrained_layout=True)
    for ax, p in zip(np.atleast_1d(axes), prepared):
        table = p.describe().drop(index="total")
        share = 100 * table[["train", "val", "test"]] / table[["train", "val", "test"]].sum(axis=0)
        share.plot.bar(ax=ax, rot=30, width=0.8)
        ax.set_title(f"{p.name}: windows per class (% of each split)")
        ax.set_ylabel("% of split")
        ax.set_xlabel("")
        ax.set_ylim(0, 1.25 * float(share.to_numpy().max()))
        ax.legend(ncol=3, fontsize=8, loc="upper center")
        ax.tick_params(axis="x", labelsize=8)
    return fig
