"""The packaged data sets and their standard, normalised subject splits.

Data sets
---------
``hapt``
    UCI HAPT (Reyes-Ortiz et al., Neurocomputing 171, 2016), waist smartphone, 50 Hz, 30 subjects,
    61 recordings, 12 labels (6 basic activities, 6 postural transitions). CC BY 4.0.
``spsw``
    The smartwatch part of Matey-Sanz, Casteleyn and Granell (Data in Brief 51, 2023), wrist watch,
    100 Hz, 23 subjects, 223 recordings of the Timed Up and Go test, 5 labels. CC BY 4.0.

Both ship as package data (``mglwkd_lite/_data``) and are verified by sha256 on every load. Each is
one entry of the registry (:mod:`mglwkd_lite.data.registry`): adding a packaged data set is one
:func:`~mglwkd_lite.data.registry.register` call here and its file. :func:`prepare` turns any
registered data set (or a ``csv:FOLDER`` / ``pamap2:PATH`` source) into the standard windows of
:class:`DataConfig`, split by subject and normalised with the training windows' statistics.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from .._io import stable_hash
from ..presets import MODEL_PRESETS
from .records import ChecksumError, DataError, FormatError, Recordings, Windows
from .registry import N_FOLDS, DatasetEntry, dataset_entry, register, registered  # re-exported: N_FOLDS
from .windows import Normaliser, Split, WindowConfig, make_windows, split_by_subject

__all__ = [
    "DATASETS", "HAPT_BASIC", "UCI_HAR_TEST_SUBJECTS", "HAPT_VAL_SUBJECTS", "SPSW_TEST_SUBJECTS",
    "SPSW_VAL_SUBJECTS", "PRESET_NAMES", "N_FOLDS", "FOLD_VAL_SUBJECTS",
    "subject_folds", "packaged_path", "load_dataset", "load_dataset_file", "DataConfig", "Prepared", "prepare",
]

_NPZ_KEYS = ("acc", "acc_unit_g", "label", "classes", "rec_len", "rec_subject", "rec_experiment",
             "sampling_rate_hz")

#: The 6 basic activities of HAPT, the classes of UCI HAR.
HAPT_BASIC = ("WALKING", "WALKING_UPSTAIRS", "WALKING_DOWNSTAIRS", "SITTING", "STANDING", "LAYING")
#: The 9 test subjects of UCI HAR (the other 21 are its training subjects).
UCI_HAR_TEST_SUBJECTS = (2, 4, 9, 10, 12, 13, 18, 20, 24)
#: Three UCI HAR training subjects held out for validation (fixed: every tenth from 5).
HAPT_VAL_SUBJECTS = (5, 15, 25)
#: SPSW subject split (fixed): test every fifth subject from 3, validation three others.
SPSW_TEST_SUBJECTS = (3, 8, 13, 18, 23)
SPSW_VAL_SUBJECTS = (6, 11, 16)


def subject_folds(name: str, k: int = N_FOLDS) -> tuple[tuple[tuple[int, ...], tuple[int, ...]], ...]:
    """The fixed subject folds of a data set: ``(test_subjects, val_subjects)`` per fold.

    Fold ``f`` tests on the subjects whose position ``i`` in sorted order has ``i % k == f`` (HAPT,
    subjects 1-30: ``(s - 1) % k == f``, 6 subjects per fold; SPSW: 5, 5, 5, 4, 4). Its validation
    subjects are the first ``FOLD_VAL_SUBJECTS[name]`` subjects of fold ``(f + 1) % k``, so they are
    always training subjects of fold ``f`` and every subject validates in exactly one fold. The rule
    is fixed here, before any fold was run, and uses only the subject numbers
    (:meth:`mglwkd_lite.data.registry.DatasetEntry.folds`).

    Parameters
    ----------
    name : str
        A registered data set (:func:`mglwkd_lite.data.registry.dataset_entry`).
    k : int
        Number of folds.

    Returns
    -------
    tuple
        ``k`` pairs ``(test_subjects, val_subjects)`` of sorted subject numbers.
    """
    return dataset_entry(name).folds(k)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def packaged_path(name: str) -> Path:
    """Where the archive of a packaged data set lies.

    Parameters
    ----------
    name : str
        A registered data set (``"hapt"``, ``"spsw"``) or a source (``"csv:FOLDER"``, ``"pamap2:PATH"``).
        A key of :data:`DATASETS`.

    Returns
    -------
    pathlib.Path
        The file in the installed package's ``_data`` folder.
    """
    entry = dataset_entry(name)
    if not entry.packaged:
        raise DataError(f"data set {name!r} is not packaged (it is {entry.source!r})")
    return Path(str(resources.files("mglwkd_lite") / "_data" / entry.file))


def load_dataset(name: str, path: str | Path | None = None) -> Recordings:
    """Load a registered data set: a packaged one after checking its sha256, any other by its loader.

    Parameters
    ----------
    name : str
        A registered data set (``"hapt"``, ``"spsw"``) or a source (``"csv:FOLDER"``, ``"pamap2:PATH"``).
        A key of :data:`DATASETS`.
    path : str or pathlib.Path, optional
        Another copy of the archive (checked against the same sha256); default the packaged file.

    Returns
    -------
    Recordings
        ``acc`` (n, 3) float32 in g, labels, recording lengths and subjects.

    Raises
    ------
    DataError
        ``name`` is not a packaged data set.
    ChecksumError
        The file's sha256 differs from the recorded one.
    FormatError
        A key is missing or the recording lengths do not add up.
    """
    entry = dataset_entry(name)
    if not entry.packaged:
        return entry.load()
    return load_dataset_file(name, path)


def load_dataset_file(name: str, path: str | Path | None = None) -> Recordings:
    """Load the archive of a packaged data set after checking its sha256 (the loader of its entry)."""
    path = Path(path) if path is not None else packaged_path(name)
    expected = dataset_entry(name).sha256
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
# The packaged data sets: one registry entry each

register(DatasetEntry(
    "hapt", 50.0, "g", "smartphone", "waist",
    # UCI HAR's protocol: 6 basic activities, 128 samples (2.56 s), 50 % overlap.
    WindowConfig(128, 64, classes=HAPT_BASIC), tuple(range(1, 31)), UCI_HAR_TEST_SUBJECTS, HAPT_VAL_SUBJECTS,
    fold_val_subjects=4, loader=functools.partial(load_dataset_file, "hapt"), file="hapt_acc50hz.npz",
    sha256="b95d262ea039261a58d1ce9279dbc51c9959f26ba0a7f3d7f0f778e6223280b8",
    description="UCI HAPT (Reyes-Ortiz et al., Neurocomputing 171, 2016), CC BY 4.0"))
register(DatasetEntry(
    "spsw", 100.0, "g", "smartwatch", "wrist",
    # TUG segments are short (median 0.7-2.6 s): 0.64 s pure windows keep >= 450 per class.
    WindowConfig(64, 32), tuple(range(1, 24)), SPSW_TEST_SUBJECTS, SPSW_VAL_SUBJECTS,
    fold_val_subjects=3, loader=functools.partial(load_dataset_file, "spsw"), file="spsw_watch_acc100hz.npz",
    sha256="e2fafe9c9d617bde886933bee4d44598d89ca42e3e65b92b8c0135805a2615fa",
    description="Matey-Sanz, Casteleyn and Granell, Data in Brief 51, 2023 (smartwatch part), CC BY 4.0"))

#: File name and sha256 of each packaged data set (in ``mglwkd_lite/_data``), from the registry.
DATASETS: dict[str, dict] = {name: {"file": e.file, "sha256": e.sha256}
                             for name in registered() if (e := dataset_entry(name)).packaged}
#: Validation subjects per fold of the packaged data sets (:attr:`DatasetEntry.fold_val_subjects`).
FOLD_VAL_SUBJECTS = {name: dataset_entry(name).n_val() for name in DATASETS}


# --------------------------------------------------------------------------------------------
# The standard, normalised splits


PRESET_NAMES = MODEL_PRESETS
"""Names accepted wherever a preset is asked for (notebooks' ``preset`` parameter, scripts): the models
presets of the one registry, :data:`mglwkd_lite.presets.MODEL_PRESETS` (this is the same object)."""


@dataclass(frozen=True)
class DataConfig:
    """The standard data of one data set: windows, subject split and training subsample.

    ``train_fraction`` < 1 keeps a seeded, class-stratified share of the training windows (val and
    test untouched); every preset uses 1.0, so quick, full and group give the same windows.

    Parameters
    ----------
    name : str
        Data set (a key of :data:`DATASETS`).
    window : WindowConfig
        How recordings are cut into windows.
    test_subjects, val_subjects : tuple of int
        Subjects of the test and validation parts; every other subject trains.
    train_fraction : float
        Share of the training windows kept (class-stratified).
    seed : int
        Seed of the training subsample.
    """

    name: str
    window: WindowConfig
    test_subjects: tuple[int, ...]
    val_subjects: tuple[int, ...]
    train_fraction: float = 1.0
    seed: int = 0

    @classmethod
    def full(cls, name: str) -> "DataConfig":
        """The standard configuration of a data set.

        Parameters
        ----------
        name : str
            A registered data set or a source (:func:`mglwkd_lite.data.registry.dataset_entry`).

        Returns
        -------
        DataConfig
            Its entry's windows and standard split (HAPT: UCI HAR's 6 basic activities, 128 samples,
            50 % overlap; SPSW: 64 / 32 pure windows), all training windows.

        Raises
        ------
        DataError
            For a name that is not a data set.
        """
        entry = dataset_entry(name)
        test, val = entry.standard_split()
        return cls(entry.name, entry.window, test, val)

    @classmethod
    def fold(cls, name: str, fold: int, k: int = N_FOLDS) -> "DataConfig":
        """The standard windows of a data set, split by one subject fold of :func:`subject_folds`.

        Parameters
        ----------
        name : str
        A registered data set (``"hapt"``, ``"spsw"``) or a source (``"csv:FOLDER"``, ``"pamap2:PATH"``).
            The data set.
        fold : int
            Fold number, ``0 <= fold < k``.
        k : int
            Number of folds.

        Returns
        -------
        DataConfig
            :meth:`full`'s windows with the fold's test and validation subjects.
        """
        folds = subject_folds(name, dataset_entry(name).n_folds(k))
        k = len(folds)
        if not 0 <= fold < k:
            raise DataError(f"fold must be in [0, {k}), got {fold}")
        test, val = folds[fold]
        return dataclasses.replace(cls.full(name), test_subjects=test, val_subjects=val)

    @classmethod
    def preset(cls, name: str, preset: str) -> "DataConfig":
        """The configuration of a data set under a named preset.

        Parameters
        ----------
        name : str
        A registered data set (``"hapt"``, ``"spsw"``) or a source (``"csv:FOLDER"``, ``"pamap2:PATH"``).
            The data set.
        preset : {"quick", "full", "group"}
            One of :data:`PRESET_NAMES`.

        Returns
        -------
        DataConfig

        Raises
        ------
        DataError
            ``preset`` is not a preset name.
        """
        # Every preset of the registry trains on the standard windows (quick saves on epochs, not data).
        if preset not in PRESET_NAMES:
            raise DataError(f"unknown preset {preset!r}; expected one of {list(PRESET_NAMES)}")
        return cls.full(name)


@dataclass(frozen=True, eq=False)
class Prepared:
    """A normalised, subject-split data set ready for training.

    Attributes
    ----------
    train, val, test : Windows
        Normalised with ``normaliser`` (fitted on ``train`` only).
    classes : tuple of str
        The kept classes.
    normaliser : Normaliser
        Fitted on the training windows.
    config : DataConfig
        The configuration that made them.
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
        """str : Data set name."""
        return self.config.name

    @property
    def split(self) -> Split:
        """Split : The three parts as a :class:`Split`."""
        return Split(self.train, self.val, self.test)

    def subjects(self) -> dict[str, tuple[int, ...]]:
        """Sorted subjects of each part.

        Returns
        -------
        dict of str to tuple of int
            Keys ``"train"``, ``"val"``, ``"test"``.
        """
        return self.split.subjects()


def _readonly(w: Windows) -> Windows:
    for a in (w.x, w.y, w.subject, w.recording, w.start):
        a.flags.writeable = False
    return w


def _copy(w: Windows) -> Windows:
    return dataclasses.replace(w, x=w.x.copy(), y=w.y.copy(), subject=w.subject.copy(),
                               recording=w.recording.copy(), start=w.start.copy())


@lru_cache(maxsize=8)
def _prepare_cached(config: DataConfig) -> Prepared:
    entry = dataset_entry(config.name)
    rec = load_dataset(config.name)
    windows = make_windows(rec, config.window)
    split = split_by_subject(windows, config.test_subjects, config.val_subjects)
    train = split.train.stratified_subset(config.train_fraction, config.seed)
    norm = Normaliser().fit(train.x)
    parts = {k: _readonly(w.with_x(norm.transform(w.x))) for k, w in
             (("train", train), ("val", split.val), ("test", split.test))}
    key = stable_hash(config, entry.sha256)
    return Prepared(classes=windows.classes, normaliser=norm, config=config, key=key, **parts)


def prepare(name: str, preset: str = "quick", config: DataConfig | None = None) -> Prepared:
    """The standard normalised split of a registered data set (or of a ``csv:`` / ``pamap2:`` source).

    The split is computed once per configuration and process (well under a second) and kept in
    memory; every call returns fresh, writeable copies of the arrays.

    Parameters
    ----------
    name : str
        A registered data set (``"hapt"``, ``"spsw"``) or a source (``"csv:FOLDER"``, ``"pamap2:PATH"``).
        The data set.
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

    Raises
    ------
    DataError
        Unknown preset, or ``config`` is for another data set.
    """
    if config is None:
        config = DataConfig.preset(name, preset)
    elif config.name != dataset_entry(name).name:
        raise DataError(f"prepare: config is for {config.name!r}, not {name!r}")
    cached = _prepare_cached(config)
    # Hand out writeable copies (torch.from_numpy warns on read-only arrays); the cached original
    # stays read-only, so a caller changing its arrays in place cannot affect a later call.
    parts = {k: _copy(getattr(cached, k)) for k in ("train", "val", "test")}
    return dataclasses.replace(cached, normaliser=Normaliser.from_state(cached.normaliser.state()), **parts)
