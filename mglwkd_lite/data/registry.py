"""The data set registry: one entry per data set, everything the book needs to run on it.

An entry (:class:`DatasetEntry`) names a data set's sampling rate, units, device and placement, its
windows, its subjects and subject folds, and a loader that returns :class:`~mglwkd_lite.data.Recordings`.
Every stage reads a data set through its entry (:func:`dataset_entry`), so adding one is one
:func:`register` call (the packaged HAPT and SPSW are two entries of :mod:`mglwkd_lite.data.datasets`).

Two kinds of entry are built from a *source* string, as the command line takes them:

``csv:FOLDER``
    A folder of labelled CSV files, one per recording (:func:`csv_folder_entry`): the columns of
    :class:`~mglwkd_lite.data.ColumnMap` (as ``predict`` reads them), the subject from a column or from a
    pattern in the file name.
``pamap2:PATH``
    The user's copy of PAMAP2's ``Protocol`` folder (:func:`pamap2_entry`; UCI, Reiss and Stricker 2012).

Subject folds are derived from the subjects when an entry does not give them (:meth:`DatasetEntry.folds`).
Nothing here downloads anything; a file that is missing or malformed raises a
:class:`~mglwkd_lite.data.DataError` naming it.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from .._io import stable_hash
from .csv import ColumnMap, load_csv
from .pamap2 import PAMAP2_WINDOW, load_pamap2
from .records import DataError, Recordings, did_you_mean
from .windows import WindowConfig

__all__ = [
    "N_FOLDS",
    "DatasetEntry",
    "register",
    "registered",
    "dataset_entry",
    "recordings_digest",
    "concat_recordings",
    "FolderOptions",
    "load_csv_folder",
    "csv_folder_entry",
    "pamap2_entry",
]

N_FOLDS = 5
"""Subject folds of every fold sweep (fewer where a data set has fewer subjects)."""

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


@dataclass(frozen=True)
class DatasetEntry:
    """One data set: what it is, how it is windowed and split, and how it is loaded.

    Parameters
    ----------
    name : str
        Short name (lower case letters, digits, ``_`` and ``-``): folder of its records and cache entries.
    rate_hz : float
        Sampling rate of the loaded recordings.
    units : str
        Units of the samples (``"g"``).
    device, placement : str
        What recorded it and where it was worn (``"smartphone"``, ``"waist"``).
    window : WindowConfig
        How recordings become windows.
    subjects : tuple of int
        Every subject number.
    test_subjects, val_subjects : tuple of int
        The standard split (empty: fold 0 of :meth:`folds`).
    fold_val_subjects : int
        Validation subjects per fold (0: about one in eight of the subjects, at least one).
    loader : callable
        ``loader() -> Recordings``; a module-level function or a :func:`functools.partial` of one, so that
        an entry can be sent to worker processes.
    file : str or None
        A packaged data set's archive in ``mglwkd_lite/_data`` (None for the user's data).
    sha256 : str or None
        The sha256 of the packaged file (checked on every load), or the digest of the user's data
        (:func:`recordings_digest`): it identifies the data in cache and run keys.
    source : str
        How the entry was named (``"packaged"``, ``"csv:FOLDER"``, ``"pamap2:PATH"``).
    description : str
        Citation and licence, one line.
    """

    name: str
    rate_hz: float
    units: str
    device: str
    placement: str
    window: WindowConfig
    subjects: tuple[int, ...]
    test_subjects: tuple[int, ...] = ()
    val_subjects: tuple[int, ...] = ()
    fold_val_subjects: int = 0
    loader: Callable[[], Recordings] = field(default=None, compare=False, repr=False)  # type: ignore[assignment]
    file: str | None = None
    sha256: str | None = None
    source: str = "packaged"
    description: str = ""

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise DataError(f"data set name {self.name!r}: expected lower case letters, digits, '_' or '-'")
        if len(self.subjects) < 3:
            raise DataError(f"data set {self.name!r}: {len(self.subjects)} subject(s) {list(self.subjects)}; "
                            "a split needs at least 3 (training, validation and test subjects)")
        unknown = sorted((set(self.test_subjects) | set(self.val_subjects)) - set(self.subjects))
        if unknown:
            raise DataError(f"data set {self.name!r}: split subjects {unknown} are not among its subjects")

    @property
    def packaged(self) -> bool:
        """bool : Whether the entry is a packaged data set (its keys hash as before the registry)."""
        return self.source == "packaged"

    def n_folds(self, k: int = N_FOLDS) -> int:
        """Folds of this data set: ``k``, or fewer when it has fewer subjects."""
        return min(int(k), len(self.subjects))

    def n_val(self) -> int:
        """Validation subjects per fold."""
        return self.fold_val_subjects or max(1, len(self.subjects) // 8)

    def folds(self, k: int = N_FOLDS) -> tuple[tuple[tuple[int, ...], tuple[int, ...]], ...]:
        """The fixed subject folds: ``(test_subjects, val_subjects)`` per fold.

        Fold ``f`` tests on the subjects at positions ``i`` (in sorted order) with ``i % k == f``
        (HAPT's subjects 1-30: ``(s - 1) % 5 == f``). Its validation subjects are the first
        :meth:`n_val` subjects of fold ``(f + 1) % k``: always training subjects of fold ``f``, and every
        subject validates in exactly one fold. The rule uses the subject numbers only.

        Raises
        ------
        DataError
            When ``k`` is out of range or a fold would keep no training subject.
        """
        subjects = sorted(self.subjects)
        if not 2 <= k <= len(subjects):
            raise DataError(f"subject folds of {self.name!r}: k must be in [2, {len(subjects)}], got {k}")
        folds = [tuple(s for i, s in enumerate(subjects) if i % k == f) for f in range(k)]
        n_val = self.n_val()
        out = tuple((folds[f], folds[(f + 1) % k][:n_val]) for f in range(k))
        for f, (test, val) in enumerate(out):
            if len(subjects) - len(test) - len(val) < 1:
                raise DataError(f"subject folds of {self.name!r}: fold {f} tests {list(test)} and validates "
                                f"{list(val)}, leaving no training subject; use fewer folds or more subjects")
        return out

    def standard_split(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """``(test_subjects, val_subjects)`` of the standard split: the entry's own, else fold 0."""
        if self.test_subjects:
            return tuple(self.test_subjects), tuple(self.val_subjects)
        return self.folds(self.n_folds())[0]

    def summary(self, fold: int | None = None) -> dict:
        """What a run record says of its data: name, source, digest, facts and the run's subjects.

        The results chapter reads the subject counts from it (the interval's correction), so a record of
        the user's data is judged without its entry.
        """
        test, val = self.folds(self.n_folds())[fold] if fold is not None else self.standard_split()
        return {"name": self.name, "source": self.source, "sha256": self.sha256, "rate_hz": self.rate_hz,
                "units": self.units, "device": self.device, "placement": self.placement,
                "subjects": list(self.subjects), "test_subjects": list(test), "val_subjects": list(val)}

    def load(self) -> Recordings:
        """The recordings (``loader()``), checked to match the entry's rate and subjects."""
        rec = self.loader()
        if abs(rec.rate_hz - self.rate_hz) > 1e-6 * self.rate_hz:
            raise DataError(f"data set {self.name!r}: loaded at {rec.rate_hz} Hz, the entry says {self.rate_hz} Hz")
        return rec


_REGISTRY: dict[str, DatasetEntry] = {}


def register(entry: DatasetEntry) -> DatasetEntry:
    """Add a data set to the registry (the same entry twice is fine; another under a taken name is not).

    Raises
    ------
    DataError
        When another entry holds the name.
    """
    held = _REGISTRY.get(entry.name)
    if held is not None and held != entry:
        raise DataError(f"data set name {entry.name!r} is taken by {held.source!r}; choose another name")
    _REGISTRY[entry.name] = entry
    return entry


def registered() -> tuple[str, ...]:
    """Names of the registered data sets, in registration order (the packaged ones first)."""
    return tuple(_REGISTRY)


def dataset_entry(name: str | DatasetEntry) -> DatasetEntry:
    """The entry of a registered name, or the entry a source string builds (and registers).

    Parameters
    ----------
    name : str or DatasetEntry
        A registered name (``"hapt"``), ``"csv:FOLDER"``, ``"pamap2:PATH"``, or an entry (registered
        and returned).

    Raises
    ------
    DataError
        For a name that is neither registered nor a source.
    """
    if isinstance(name, DatasetEntry):
        return register(name)
    if name in _REGISTRY:
        return _REGISTRY[name]
    kind, sep, path = str(name).partition(":")
    if sep and kind == "csv":
        return register(csv_folder_entry(path))
    if sep and kind == "pamap2":
        return register(pamap2_entry(path))
    hint = did_you_mean(str(name), _REGISTRY, cutoff=0.6)
    raise DataError(f"unknown data set {name!r}: expected one of {sorted(_REGISTRY)}, csv:FOLDER or "
                    f"pamap2:PATH{hint}")


def recordings_digest(rec: Recordings) -> str:
    """A digest of the samples, labels, classes, rate and recording layout (identifies user data in keys)."""
    return stable_hash(rec.acc, rec.label, tuple(rec.classes), rec.rec_len, rec.rec_subject, rec.rec_id,
                       float(rec.rate_hz), length=32)


def concat_recordings(parts: list[Recordings], name: str) -> Recordings:
    """Recordings of several loads back to back, their labels mapped onto the sorted union of classes.

    Raises
    ------
    DataError
        When the parts differ in rate, channels or units, or two parts share a subject's recording id.
    """
    if not parts:
        raise DataError(f"data set {name!r}: no recordings")
    first = parts[0]
    for p in parts[1:]:
        for what in ("rate_hz", "channels", "units"):
            if getattr(p, what) != getattr(first, what):
                raise DataError(f"data set {name!r}: {p.sources or p.name} has {what} {getattr(p, what)!r}, "
                                f"{first.sources or first.name} has {getattr(first, what)!r}")
    classes = tuple(sorted({c for p in parts for c in p.classes}))
    labels = []
    for p in parts:
        lookup = np.array([classes.index(c) for c in p.classes] + [-1], dtype=np.int64)
        labels.append(lookup[np.where(p.label < 0, len(p.classes), p.label)])
    return Recordings(
        acc=np.concatenate([p.acc for p in parts]), label=np.concatenate(labels), classes=classes,
        rec_len=np.concatenate([p.rec_len for p in parts]), rec_subject=np.concatenate([p.rec_subject for p in parts]),
        rec_id=np.arange(sum(p.n_recordings for p in parts), dtype=np.int64), rate_hz=first.rate_hz, name=name,
        channels=first.channels, units=first.units, sources=tuple(s for p in parts for s in (p.sources or (p.name,) * p.n_recordings)),
    )


# --------------------------------------------------------------------------------------------
# Entries built from the command line


@dataclass(frozen=True)
class FolderOptions:
    """How to read a folder of labelled CSV files (the options of ``predict``, and the data set's facts).

    Parameters
    ----------
    rate_hz : float
        Rate every recording is resampled to.
    columns : ColumnMap
        Time, x, y, z, label and subject columns (``subject=None``: from the file name).
    subject_pattern : str
        Regular expression whose first group is the subject number in a file name (used when
        ``columns.subject`` is None).
    time_unit, sep, decimal, encoding : str
        As :func:`~mglwkd_lite.data.load_csv` reads them.
    window_s : float
        Window length in seconds (half of it is the stride).
    units, device, placement : str
    name : str or None
        Data set name; default the folder's name in lower case.
    """

    rate_hz: float = 50.0
    columns: ColumnMap = ColumnMap(subject=None)
    subject_pattern: str = r"(\d+)"
    time_unit: str = "s"
    sep: str = ","
    decimal: str = "."
    encoding: str = "utf-8"
    window_s: float = 2.56
    units: str = "g"
    device: str = "unknown"
    placement: str = "unknown"
    name: str | None = None


def _csv_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise DataError(f"csv:{folder}: not a folder; expected a folder of .csv files, one per recording")
    files = sorted(folder.glob("*.csv"))
    if not files:
        raise DataError(f"csv:{folder}: no .csv file in the folder")
    return files


def _subject_of(path: Path, pattern: str) -> int:
    match = re.search(pattern, path.stem)
    if match is None or not match.groups() or not match.group(1).isdigit():
        raise DataError(f"{path.name}: no subject number in the file name (pattern {pattern!r}); name the files "
                        "e.g. subject03.csv or give the subject column")
    return int(match.group(1))


def load_csv_folder(folder: str | Path, options: FolderOptions) -> Recordings:
    """Every CSV file of ``folder`` (name order) as one recording each, classes united across files."""
    folder = Path(folder)
    parts = []
    for path in _csv_files(folder):
        subject = 0 if options.columns.subject is not None else _subject_of(path, options.subject_pattern)
        parts.append(load_csv(path, options.rate_hz, options.columns, time_unit=options.time_unit, subject=subject,
                              sep=options.sep, decimal=options.decimal, encoding=options.encoding))
    return concat_recordings(parts, options.name or folder.name.lower())


def csv_folder_entry(folder: str | Path, options: FolderOptions = FolderOptions()) -> DatasetEntry:
    """The entry of a folder of labelled CSV files (``csv:FOLDER``).

    The folder is read once here to find the subjects (the folds are derived from them) and the
    data's digest; the entry's loader reads it again where it is used.
    """
    folder = Path(folder).expanduser().resolve()
    rec = load_csv_folder(folder, options)
    name = re.sub(r"[^a-z0-9_-]", "-", (options.name or folder.name).lower()).strip("-") or "csv"
    length = max(8, int(round(options.window_s * options.rate_hz)))
    return DatasetEntry(
        name=name, rate_hz=float(options.rate_hz), units=options.units, device=options.device,
        placement=options.placement, window=WindowConfig(length, max(1, length // 2)),
        subjects=tuple(sorted({int(s) for s in rec.rec_subject})),
        loader=functools.partial(load_csv_folder, folder, dataclasses.replace(options, name=name)),
        sha256=recordings_digest(dataclasses.replace(rec, name=name)), source=f"csv:{folder}",
        description=f"labelled CSV recordings in {folder.name}",
    )


def _load_pamap2_acc(path: Path, channels: str) -> Recordings:
    return dataclasses.replace(load_pamap2(path, channels), name="pamap2")


def pamap2_entry(path: str | Path, channels: str = "acc_hand") -> DatasetEntry:
    """The entry of the user's copy of PAMAP2 (``pamap2:PATH``: its ``Protocol`` folder of ``subject1NN.dat``).

    The 16 g accelerometer of the hand IMU in g (the wrist, like a smartwatch), at 33.3 Hz, in the group's
    windows of 100 samples (3 s), stride 22; the 12 protocol activities.
    """
    path = Path(path).expanduser().resolve()
    if not path.exists():
        raise DataError(f"pamap2:{path}: no such file or folder; expected PAMAP2's Protocol folder of .dat files")
    rec = _load_pamap2_acc(path, channels)
    return DatasetEntry(
        name="pamap2", rate_hz=float(rec.rate_hz), units=rec.units, device="IMU (Colibri)", placement="wrist (hand)",
        window=PAMAP2_WINDOW,
        subjects=tuple(sorted({int(s) for s in rec.rec_subject})),
        loader=functools.partial(_load_pamap2_acc, path, channels), sha256=recordings_digest(rec),
        source=f"pamap2:{path}",
        description="PAMAP2 (Reiss and Stricker 2012, UCI Machine Learning Repository, CC BY 4.0)",
    )
