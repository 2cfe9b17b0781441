"""The packaged data sets and their standard, normalised subject splits.

Data sets
---------
``hapt``
    UCI HAPT (Reyes-Ortiz et al., Neurocomputing 171, 2016), waist smartphone, 50 Hz, 30 subjects,
    61 recordings, 12 labels (6 basic activities, 6 postural transitions). CC BY 4.0.
``spsw``
    The smartwatch part of Matey-Sanz, Casteleyn and Granell (Data in Brief 51, 2023), wrist watch,
    100 Hz, 23 subjects, 223 recordings of the Timed Up and Go test, 5 labels. CC BY 4.0.

Both ship as package data (``mglwkd_lite/_data``) and are verified by sha256 on every load.
:func:`prepare` turns one into the standard windows of :class:`DataConfig`, split by subject and
normalised with the training windows' statistics.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from .._io import stable_hash
from ..presets import MODEL_PRESETS
from .records import ChecksumError, DataError, FormatError, Recordings, Windows, did_you_mean
from .windows import Normaliser, Split, WindowConfig, make_windows, split_by_subject

__all__ = [
    "DATASETS", "HAPT_BASIC", "UCI_HAR_TEST_SUBJECTS", "HAPT_VAL_SUBJECTS", "SPSW_TEST_SUBJECTS",
    "SPSW_VAL_SUBJECTS", "PRESET_NAMES", "N_FOLDS", "FOLD_VAL_SUBJECTS",
    "subject_folds", "packaged_path", "load_dataset", "DataConfig", "Prepared", "prepare",
]

#: File name and sha256 of each packaged data set (in ``mglwkd_lite/_data``).
DATASETS: dict[str, dict] = {
    "hapt": {"file": "hapt_acc50hz.npz",
             "sha256": "b95d262ea039261a58d1ce9279dbc51c9959f26ba0a7f3d7f0f778e6223280b8"},
    "spsw": {"file": "spsw_watch_acc100hz.npz",
             "sha256": "e2fafe9c9d617bde886933bee4d44598d89ca42e3e65b92b8c0135805a2615fa"},
}
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

#: Number of subject folds of the fold sweep.
N_FOLDS = 5
#: Validation subjects per fold, taken from the fold's training subjects (see :func:`subject_folds`).
FOLD_VAL_SUBJECTS = {"hapt": 4, "spsw": 3}


def subject_folds(name: str, k: int = N_FOLDS) -> tuple[tuple[tuple[int, ...], tuple[int, ...]], ...]:
    """The fixed subject folds of a data set: ``(test_subjects, val_subjects)`` per fold.

    Fold ``f`` tests on the subjects whose number ``s`` has ``(s - 1) % k == f`` (HAPT: 6 subjects
    per fold; SPSW: 5, 5, 5, 4, 4). Its validation subjects are the first
    ``FOLD_VAL_SUBJECTS[name]`` subjects of fold ``(f + 1) % k``, so they are always training
    subjects of fold ``f`` and every subject validates in exactly one fold. The rule is fixed here,
    before any fold was run, and uses only the subject numbers.

    Parameters
    ----------
    name : {"hapt", "spsw"}
        The data set.
    k : int
        Number of folds.

    Returns
    -------
    tuple
        ``k`` pairs ``(test_subjects, val_subjects)`` of sorted subject numbers.
    """
    if name not in FOLD_VAL_SUBJECTS:
        raise DataError(f"no subject folds for data set {name!r}; expected one of {sorted(FOLD_VAL_SUBJECTS)}")
    subjects = range(1, {"hapt": 30, "spsw": 23}[name] + 1)
    if not 2 <= k <= len(subjects):
        raise DataError(f"subject_folds: k must be in [2, {len(subjects)}], got {k}")
    folds = [tuple(s for s in subjects if (s - 1) % k == f) for f in range(k)]
    n_val = FOLD_VAL_SUBJECTS[name]
    return tuple((folds[f], folds[(f + 1) % k][:n_val]) for f in range(k))


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
    name : {"hapt", "spsw"}
        A key of :data:`DATASETS`.

    Returns
    -------
    pathlib.Path
        The file in the installed package's ``_data`` folder.
    """
    return Path(str(resources.files("mglwkd_lite") / "_data" / DATASETS[name]["file"]))


def load_dataset(name: str, path: str | Path | None = None) -> Recordings:
    """Load a packaged data set after checking its sha256.

    Parameters
    ----------
    name : {"hapt", "spsw"}
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
    if name not in DATASETS:
        hint = did_you_mean(str(name), DATASETS, cutoff=0.6)
        raise DataError(f"unknown data set {name!r}: expected one of {sorted(DATASETS)}{hint}")
    path = Path(path) if path is not None else packaged_path(name)
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
        name : {"hapt", "spsw"}
            The data set.

        Returns
        -------
        DataConfig
            Its windows, test and validation subjects, all training windows.

        Raises
        ------
        DataError
            No standard configuration exists for ``name``.
        """
        if name == "hapt":
            # UCI HAR's protocol: 6 basic activities, 128 samples (2.56 s), 50 % overlap.
            return cls("hapt", WindowConfig(128, 64, classes=HAPT_BASIC), UCI_HAR_TEST_SUBJECTS,
                       HAPT_VAL_SUBJECTS)
        if name == "spsw":
            # TUG segments are short (median 0.7-2.6 s): 0.64 s pure windows keep >= 450 per class.
            return cls("spsw", WindowConfig(64, 32), SPSW_TEST_SUBJECTS, SPSW_VAL_SUBJECTS)
        raise DataError(f"no standard configuration for data set {name!r}; expected one of {sorted(DATASETS)}")

    @classmethod
    def fold(cls, name: str, fold: int, k: int = N_FOLDS) -> "DataConfig":
        """The standard windows of a data set, split by one subject fold of :func:`subject_folds`.

        Parameters
        ----------
        name : {"hapt", "spsw"}
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
        folds = subject_folds(name, k)
        if not 0 <= fold < k:
            raise DataError(f"fold must be in [0, {k}), got {fold}")
        test, val = folds[fold]
        return dataclasses.replace(cls.full(name), test_subjects=test, val_subjects=val)

    @classmethod
    def preset(cls, name: str, preset: str) -> "DataConfig":
        """The configuration of a data set under a named preset.

        Parameters
        ----------
        name : {"hapt", "spsw"}
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
    elif config.name != name:
        raise DataError(f"prepare: config is for {config.name!r}, not {name!r}")
    cached = _prepare_cached(config)
    # Hand out writeable copies (torch.from_numpy warns on read-only arrays); the cached original
    # stays read-only, so a caller changing its arrays in place cannot affect a later call.
    parts = {k: _copy(getattr(cached, k)) for k in ("train", "val", "test")}
    return dataclasses.replace(cached, normaliser=Normaliser.from_state(cached.normaliser.state()), **parts)
