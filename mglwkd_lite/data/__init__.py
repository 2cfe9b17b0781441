"""Data: packaged recordings, fixed-length windows, subject splits, normalisation, own-data loaders.

The stage turns continuous accelerometer recordings into labelled windows ``(N, C, T)`` and splits
them by person, so that no subject's data is seen in training and in testing. Every public name of
the submodules is available from here (``from mglwkd_lite import data as D; D.prepare("hapt")``).
Tables and figures of these data are in :mod:`mglwkd_lite.report.data`.

=========================================  ==================================================
module                                     job
=========================================  ==================================================
:mod:`~mglwkd_lite.data.records`           errors, :class:`Recordings`, :class:`Windows`,
                                           :class:`RepairReport`
:mod:`~mglwkd_lite.data.windows`           :class:`WindowConfig` and its label rules,
                                           :func:`label_segments`, subject splits,
                                           :class:`Normaliser`
:mod:`~mglwkd_lite.data.datasets`          the packaged data sets, :class:`DataConfig`,
                                           :func:`prepare`
:mod:`~mglwkd_lite.data.csv`               bring your own data: :func:`load_csv`,
                                           :func:`from_arrays`
:mod:`~mglwkd_lite.data.pamap2`            PAMAP2 with the protocol of the paper's group
:mod:`~mglwkd_lite.data.registry`          one entry per data set (:class:`DatasetEntry`):
                                           facts, windows, subjects, folds, loader; the
                                           ``csv:FOLDER`` and ``pamap2:PATH`` sources
=========================================  ==================================================

The modules import downwards only: ``records`` <- ``windows`` <- ``csv``, ``pamap2`` <- ``registry``
<- ``datasets``.
"""

from __future__ import annotations

from .csv import PLAUSIBLE_RATE_HZ, TIME_UNITS, ColumnMap, from_arrays, load_csv
from .datasets import (
    DATASETS, HAPT_BASIC, HAPT_VAL_SUBJECTS, PRESET_NAMES, SPSW_TEST_SUBJECTS, SPSW_VAL_SUBJECTS,
    UCI_HAR_TEST_SUBJECTS, DataConfig, Prepared, load_dataset, load_dataset_file, packaged_path, prepare,
    N_FOLDS, FOLD_VAL_SUBJECTS, subject_folds,
)
from .pamap2 import (
    PAMAP2_ACTIVITIES, PAMAP2_CHANNEL_SETS, PAMAP2_CHANNELS_40, PAMAP2_COLUMNS, PAMAP2_WINDOW,
    leave_one_subject_out, load_pamap2, pamap2_windows,
)
from .registry import (
    DatasetEntry, FolderOptions, concat_recordings, csv_folder_entry, dataset_entry, load_csv_folder, pamap2_entry,
    recordings_digest, register, registered,
)
from .records import (
    UNLABELLED, ChecksumError, DataError, EmptyFileError, EncodingError, FormatError, GapError,
    MissingColumnError, NonFiniteError, NonNumericError, Recordings, RecordingTooShortError, RepairReport,
    RepairWarning, SubjectOverlapError, TimestampError, TimeUnitError, UnknownLabelError,
    UnknownSubjectError, Windows, did_you_mean,
)
from .windows import (
    Normaliser, Split, WindowConfig, check_disjoint, label_segments, make_windows, split_by_subject,
    window_counts,
)

__all__ = [
    # errors and warnings
    "DataError", "ChecksumError", "FormatError", "EncodingError", "EmptyFileError", "MissingColumnError",
    "NonNumericError", "NonFiniteError", "UnknownLabelError", "GapError", "TimestampError",
    "TimeUnitError", "RecordingTooShortError", "SubjectOverlapError", "UnknownSubjectError", "RepairWarning",
    # containers
    "Recordings", "RepairReport", "WindowConfig", "Windows", "Split", "Normaliser", "DataConfig",
    "Prepared", "ColumnMap", "DatasetEntry", "FolderOptions",
    # functions
    "load_dataset", "load_dataset_file", "packaged_path", "label_segments", "make_windows", "window_counts", "split_by_subject",
    "check_disjoint", "prepare", "load_csv", "from_arrays", "load_pamap2", "pamap2_windows",
    "leave_one_subject_out", "did_you_mean", "subject_folds", "dataset_entry", "register", "registered",
    "csv_folder_entry", "pamap2_entry", "load_csv_folder", "concat_recordings", "recordings_digest",
    # constants
    "N_FOLDS", "FOLD_VAL_SUBJECTS",
    "DATASETS", "HAPT_BASIC", "UCI_HAR_TEST_SUBJECTS", "HAPT_VAL_SUBJECTS", "SPSW_TEST_SUBJECTS",
    "SPSW_VAL_SUBJECTS", "PRESET_NAMES", "TIME_UNITS", "PLAUSIBLE_RATE_HZ", "PAMAP2_ACTIVITIES", "PAMAP2_WINDOW",
    "PAMAP2_COLUMNS", "PAMAP2_CHANNELS_40", "PAMAP2_CHANNEL_SETS", "UNLABELLED",
]
