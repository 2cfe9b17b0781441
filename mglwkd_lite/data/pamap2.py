"""PAMAP2, the paper's public data set, read with the protocol of the paper's group.

PAMAP2 is not shipped (users download it themselves): :func:`load_pamap2` reads its ``.dat`` files,
:func:`pamap2_windows` cuts the group's windows (:data:`PAMAP2_WINDOW`) and
:func:`leave_one_subject_out` yields the group's folds.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Iterator, Mapping, Sequence

import numpy as np
import pandas as pd  # parsing only: PAMAP2's space-separated .dat files

from .records import (
    UNLABELLED, DataError, EmptyFileError, FormatError, MissingColumnError, NonFiniteError,
    NonNumericError, Recordings, RepairReport, RepairWarning, UnknownLabelError, Windows, did_you_mean,
)
from .windows import Split, WindowConfig, label_segments, make_windows, split_by_subject

__all__ = [
    "PAMAP2_ACTIVITIES", "PAMAP2_COLUMNS", "PAMAP2_CHANNELS_40", "PAMAP2_CHANNEL_SETS", "PAMAP2_WINDOW",
    "load_pamap2", "pamap2_windows", "leave_one_subject_out",
]

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
#: Named channel sets of :func:`load_pamap2`: the group's 40 channels or the 16 g accelerometer of one IMU.
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
    for a, e, is_nan in zip(*label_segments(nan)):
        if is_nan and e - a > max_gap:
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
    paths : str, pathlib.Path or sequence of them
        ``.dat`` files, or a folder whose ``*.dat`` files are read in name order.
    channels : {"all40", "acc_hand", "acc_chest", "acc_ankle"} or sequence of str
        ``"all40"`` (default) are the 40 channels of the group's code; the ``acc_*`` sets are the
        three 16 g accelerometer axes of one IMU, converted from m/s^2 to g. A sequence names
        columns of :data:`PAMAP2_COLUMNS`.
    downsample : int
        Keep every ``downsample``-th row.
    max_gap : int
        Longest IMU NaN run (in rows at 100 Hz) whose samples keep their label.
    classes : mapping of int to str
        Activity ids kept as classes and their names.

    Returns
    -------
    Recordings
        Window them with :func:`pamap2_windows`; split with :func:`leave_one_subject_out`.

    Raises
    ------
    EmptyFileError
        No file, or an empty one.
    DataError, MissingColumnError
        Unknown channel set or column.
    FormatError, NonNumericError, NonFiniteError, UnknownLabelError
        A file does not hold PAMAP2's layout, ids and values.
    """
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
            raise MissingColumnError(f"PAMAP2: channel {c!r} is not a PAMAP2 column{did_you_mean(c, PAMAP2_COLUMNS)}")
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
    """Windows of the group's PAMAP2 protocol (100 samples, stride 22, first and last label agree).

    Parameters
    ----------
    rec : Recordings
        From :func:`load_pamap2`.
    cfg : WindowConfig
        Default :data:`PAMAP2_WINDOW`.

    Returns
    -------
    Windows
    """
    return make_windows(rec, cfg)


def leave_one_subject_out(windows: Windows) -> Iterator[tuple[int, Split]]:
    """The group's folds: each subject in turn as test, all others as train, val empty.

    The group's protocol has no validation subjects; pick one from the training subjects with
    :func:`~mglwkd_lite.data.split_by_subject` if epochs are to be selected.

    Parameters
    ----------
    windows : Windows
        Windows of every subject.

    Yields
    ------
    subject : int
        The test subject.
    split : Split
        Its fold.
    """
    for s in np.unique(windows.subject):
        yield int(s), split_by_subject(windows, [int(s)])
