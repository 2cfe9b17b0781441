"""Windows, subject splits and normalisation: from recordings to what a model sees.

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

Splits are by person (:func:`split_by_subject`), so that no subject's data is seen in training and
in testing; :class:`Normaliser` standardises with statistics of the training windows only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Literal, Mapping, Sequence

import numpy as np
from numpy.typing import ArrayLike

from .records import (
    UNLABELLED, DataError, FormatError, NonFiniteError, Recordings, RecordingTooShortError,
    SubjectOverlapError, UnknownLabelError, UnknownSubjectError, Windows,
)

__all__ = [
    "label_segments", "WindowConfig", "make_windows", "window_counts",
    "Split", "split_by_subject", "check_disjoint",
    "Normaliser",
]


def label_segments(labels: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Runs of equal consecutive labels (run-length segmentation).

    The one place where labels are cut into segments: windows laid out per segment, segment
    statistics, examples per activity, NaN runs of a sensor and timelines all use it.

    Parameters
    ----------
    labels : array_like, shape (n,)
        Labels of any dtype that compares with ``!=`` (integers, booleans, strings as objects).

    Returns
    -------
    starts, stops : numpy.ndarray, shape (n_runs,), int64
        Run ``k`` covers ``labels[starts[k]:stops[k]]``; the runs tile ``0..n`` in order.
    values : numpy.ndarray, shape (n_runs,)
        The label of each run (dtype of ``labels``).

    Examples
    --------
    >>> label_segments([0, 0, -1, 2, 2, 2])
    (array([0, 2, 3]), array([2, 3, 6]), array([ 0, -1,  2]))
    """
    labels = np.asarray(labels)
    if len(labels) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty.copy(), labels[:0]
    change = np.flatnonzero(labels[1:] != labels[:-1]) + 1
    starts = np.concatenate([[0], change]).astype(np.int64)
    stops = np.concatenate([change, [len(labels)]]).astype(np.int64)
    return starts, stops, labels[starts]


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

    Raises
    ------
    DataError
        A setting is out of range or the rule and alignment do not fit together.
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
            seg = [a + np.arange(0, e - a - L + 1, S)
                   for a, e, lab in zip(*label_segments(rec.label[off[r]:off[r + 1]]))
                   if lab != UNLABELLED and e - a >= L]
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
        The recordings.
    cfg : WindowConfig
        Length, stride, kept classes and label rule.

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

    Parameters
    ----------
    rec : Recordings
        The recordings.
    cfg : WindowConfig
        The window configuration to count under.

    Returns
    -------
    dict of str to int
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


@dataclass(frozen=True, eq=False)
class Split:
    """Train / validation / test windows with disjoint subjects.

    Attributes
    ----------
    train, val, test : Windows
        The three parts.
    """

    train: Windows
    val: Windows
    test: Windows

    def subjects(self) -> dict[str, tuple[int, ...]]:
        """Sorted subjects of each part.

        Returns
        -------
        dict of str to tuple of int
            Keys ``"train"``, ``"val"``, ``"test"``.
        """
        return {k: tuple(int(s) for s in np.unique(getattr(self, k).subject)) for k in ("train", "val", "test")}


def split_by_subject(windows: Windows, test_subjects: Iterable[int],
                     val_subjects: Iterable[int] = ()) -> Split:
    """Split windows by person: the named test and validation subjects, every other one trains.

    Parameters
    ----------
    windows : Windows
        The windows to split.
    test_subjects : iterable of int
        Subjects of the test part.
    val_subjects : iterable of int
        Subjects of the validation part (may be empty).

    Returns
    -------
    Split

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
    """Check that no subject has windows in two parts of a split.

    Parameters
    ----------
    split : Split
        The split to check.

    Raises
    ------
    SubjectOverlapError
        A subject is in two parts.
    """
    subs = split.subjects()
    for a, b in (("train", "val"), ("train", "test"), ("val", "test")):
        common = sorted(set(subs[a]) & set(subs[b]))
        if common:
            raise SubjectOverlapError(f"{split.train.name}: subjects {common} are in both {a} and {b}; "
                                      "expected disjoint subjects")


# --------------------------------------------------------------------------------------------
# Normalisation


class Normaliser:
    """Per-channel standardisation with statistics of the training windows only.

    ``fit(x_train)`` stores the mean and standard deviation of every channel over windows and time;
    ``transform(x)`` returns ``(x - mean) / std`` as float32. A channel with (near) zero spread is
    divided by 1 instead, so a constant channel stays finite.

    Parameters
    ----------
    eps : float
        A standard deviation at or below this counts as zero spread.

    Attributes
    ----------
    mean, std : numpy.ndarray, shape (C,), float64, or None
        Per-channel statistics (None before ``fit``).
    """

    def __init__(self, eps: float = 1e-8) -> None:
        self.eps = float(eps)
        self.mean: np.ndarray | None = None
        self.std: np.ndarray | None = None

    def fit(self, x: np.ndarray) -> "Normaliser":
        """Fit on training windows.

        Parameters
        ----------
        x : numpy.ndarray, shape (N, C, T)
            Non-empty, finite training windows.

        Returns
        -------
        Normaliser
            ``self``.

        Raises
        ------
        FormatError
            ``x`` is not a non-empty 3-D array.
        NonFiniteError
            ``x`` holds NaN or inf.
        """
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
        """Standardise windows.

        Parameters
        ----------
        x : numpy.ndarray, shape (N, C, T)
            Windows with the fitted number of channels.

        Returns
        -------
        numpy.ndarray, shape (N, C, T), float32

        Raises
        ------
        DataError
            Called before :meth:`fit`.
        FormatError
            ``x`` has another number of channels.
        """
        if self.mean is None or self.std is None:
            raise DataError("Normaliser.transform called before fit")
        x = np.asarray(x)
        if x.ndim != 3 or x.shape[1] != len(self.mean):
            raise FormatError(f"Normaliser.transform: expected (N, {len(self.mean)}, T), got shape {x.shape}")
        out = (x - self.mean[None, :, None]) / self.std[None, :, None]
        return out.astype(np.float32)

    def fit_transform(self, x: np.ndarray) -> np.ndarray:
        """:meth:`fit` on ``x``, then :meth:`transform` it.

        Parameters
        ----------
        x : numpy.ndarray, shape (N, C, T)

        Returns
        -------
        numpy.ndarray, shape (N, C, T), float32
        """
        return self.fit(x).transform(x)

    def state(self) -> dict[str, np.ndarray]:
        """The statistics, for saving next to a model (deployment applies the same scaling).

        Returns
        -------
        dict of str to numpy.ndarray
            Copies of ``mean`` and ``std``.

        Raises
        ------
        DataError
            Called before :meth:`fit`.
        """
        if self.mean is None:
            raise DataError("Normaliser.state called before fit")
        return {"mean": self.mean.copy(), "std": self.std.copy()}

    @classmethod
    def from_state(cls, state: Mapping[str, np.ndarray]) -> "Normaliser":
        """A fitted normaliser from saved statistics.

        Parameters
        ----------
        state : mapping of str to numpy.ndarray
            ``{"mean", "std"}`` as written by :meth:`state`.

        Returns
        -------
        Normaliser
        """
        norm = cls()
        norm.mean = np.asarray(state["mean"], dtype=np.float64)
        norm.std = np.asarray(state["std"], dtype=np.float64)
        return norm

    def __repr__(self) -> str:
        if self.mean is None:
            return "Normaliser(unfitted)"
        return f"Normaliser(mean={np.round(self.mean, 4).tolist()}, std={np.round(self.std, 4).tolist()})"
