"""Tests of mglwkd_lite.data: packaged data, windows, splits, normalisation and own-data loaders."""

from __future__ import annotations

import re
import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mglwkd_lite import data as D
from mglwkd_lite.report import data as RD

# ------------------------------------------------------------------------------------------
# helpers


def write_csv(path: Path, rows: list[str], header: str = "time,x,y,z,label,subject") -> Path:
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def regular_rows(n: int = 200, rate: float = 50.0, label: str = "walk", subject: int = 1) -> list[str]:
    t = np.arange(n) / rate
    return [f"{ti:.4f},{np.sin(ti):.4f},{np.cos(ti):.4f},1.0,{label},{subject}" for ti in t]


def toy_recordings(labels: list[list[int]], subjects: list[int] | None = None) -> D.Recordings:
    """Recordings whose sample value equals its global row index (easy to trace windows)."""
    lens = [len(l) for l in labels]
    n = sum(lens)
    acc = np.repeat(np.arange(n, dtype=np.float32)[:, None], 3, axis=1)
    return D.Recordings(
        acc=acc, label=np.concatenate([np.asarray(l, np.int64) for l in labels]), classes=("a", "b", "c"),
        rec_len=np.asarray(lens, np.int64), rec_subject=np.asarray(subjects or range(1, len(lens) + 1), np.int64),
        rec_id=np.arange(1, len(lens) + 1, dtype=np.int64), rate_hz=10.0, name="toy",
    )


# ------------------------------------------------------------------------------------------
# packaged data


@pytest.fixture(scope="module")
def hapt() -> D.Recordings:
    return D.load_dataset("hapt")


def test_load_hapt_shapes_and_units(hapt):
    assert hapt.acc.shape == (1_122_772, 3) and hapt.acc.dtype == np.float32
    assert hapt.rec_len.sum() == len(hapt.acc) == len(hapt.label)
    assert hapt.n_recordings == 61 and len(np.unique(hapt.rec_subject)) == 30
    assert hapt.rate_hz == 50.0 and hapt.classes[:6] == D.HAPT_BASIC
    # a waist phone at rest measures about 1 g
    assert 0.9 < np.median(np.linalg.norm(hapt.acc, axis=1)) < 1.1


def test_load_spsw():
    rec = D.load_dataset("spsw")
    assert rec.acc.shape == (262_553, 3) and rec.n_recordings == 223
    assert len(np.unique(rec.rec_subject)) == 23 and rec.rate_hz == 100.0 and len(rec.classes) == 5


def test_checksum_mismatch_names_file(tmp_path):
    bad = tmp_path / "hapt_acc50hz.npz"
    shutil.copy(D.packaged_path("hapt"), bad)
    bad.chmod(0o644)
    with open(bad, "r+b") as fh:
        fh.seek(1000)
        byte = fh.read(1)
        fh.seek(1000)
        fh.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(D.ChecksumError, match=r"hapt_acc50hz\.npz: sha256 .* does not match the expected b95d262e"):
        D.load_dataset("hapt", path=bad)


def test_unknown_dataset_suggests_name():
    with pytest.raises(D.DataError, match=r"unknown data set 'hap'.*did you mean 'hapt'"):
        D.load_dataset("hap")


# ------------------------------------------------------------------------------------------
# windows


def test_windows_never_cross_recordings_and_are_pure(hapt):
    w = D.make_windows(hapt, D.WindowConfig(128, 64, classes=D.HAPT_BASIC))
    off = hapt.rec_offsets
    assert w.x.shape == (len(w), 3, 128) and w.x.dtype == np.float32 and w.y.dtype == np.int64
    assert np.all(w.start >= 0) and np.all(w.start + 128 <= hapt.rec_len[w.recording])
    rows = off[w.recording][:, None] + w.start[:, None] + np.arange(128)
    src = hapt.label[rows]
    assert np.all(src == src[:, :1])  # pure
    assert np.array_equal(np.array(hapt.classes)[src[:, 0]], np.array(D.HAPT_BASIC)[w.y])
    assert np.array_equal(w.x[:, :, 5], hapt.acc[rows[:, 5]])  # samples are where start says


def test_hapt_counts_match_uci_har(hapt):
    w = D.make_windows(hapt, D.WindowConfig(128, 64, classes=D.HAPT_BASIC))
    is_test = np.isin(w.subject, D.UCI_HAR_TEST_SUBJECTS)
    n_train, n_test = int((~is_test).sum()), int(is_test.sum())
    assert abs(n_train - 7352) / 7352 < 0.02, n_train
    assert abs(n_test - 2947) / 2947 < 0.02, n_test


def test_pure_rule_on_toy_segments():
    rec = toy_recordings([[0] * 10 + [1] * 5 + [-1] * 3 + [1] * 8])
    w = D.make_windows(rec, D.WindowConfig(4, 2))
    # segment of 10 -> starts 0,2,4,6 ; 5 -> start 10 ; 8 -> starts 18,20,22
    assert w.start.tolist() == [0, 2, 4, 6, 10, 18, 20, 22]
    assert w.y.tolist() == [0, 0, 0, 0, 1, 1, 1, 1]
    grid = D.make_windows(rec, D.WindowConfig(4, 2, align="recording"))
    assert grid.start.tolist() == [0, 2, 4, 6, 10, 18, 20, 22]  # 8 and 12,14,16 mix labels


def test_majority_and_endpoint_rules():
    rec = toy_recordings([[0, 0, 0, 1, 1, 1, 1, 1, 2, 1]])
    maj = D.make_windows(rec, D.WindowConfig(4, 2, rule="majority", min_share=0.75, align="recording"))
    assert maj.start.tolist() == [0, 2, 4, 6] and maj.y.tolist() == [0, 1, 1, 1]
    strict = D.make_windows(rec, D.WindowConfig(4, 2, rule="majority", min_share=0.8, align="recording"))
    assert strict.start.tolist() == [4]
    # endpoints: first and last label agree; the middle (a 2 at row 8) is not looked at
    ends = D.make_windows(rec, D.WindowConfig(5, 1, rule="endpoints", align="recording"))
    assert ends.start.tolist() == [3, 5] and ends.y.tolist() == [1, 1]
    with pytest.raises(D.DataError, match="min_share must be in"):
        D.WindowConfig(4, 2, rule="majority", min_share=0.4, align="recording")
    with pytest.raises(D.DataError, match="align='segment' needs rule='pure'"):
        D.WindowConfig(4, 2, rule="majority")


def test_windows_keep_chosen_classes_and_count_drops():
    rec = toy_recordings([[0] * 8 + [1] * 8 + [2] * 8])
    cfg = D.WindowConfig(4, 4, classes=("c", "a"))
    w = D.make_windows(rec, cfg)
    assert w.classes == ("c", "a") and w.y.tolist() == [1, 1, 0, 0]
    assert D.window_counts(rec, cfg) == {"candidates": 6, "kept": 4, "no_label": 0, "other_class": 2}
    with pytest.raises(D.UnknownLabelError, match=r"classes \['d'\] not in the data set"):
        D.make_windows(rec, D.WindowConfig(4, 4, classes=("d",)))


@settings(max_examples=40, deadline=None)
@given(labels=st.lists(st.lists(st.integers(-1, 2), min_size=8, max_size=40), min_size=1, max_size=4),
       length=st.integers(2, 8), stride=st.integers(1, 5),
       rule=st.sampled_from(["pure", "pure-grid", "majority", "endpoints"]))
def test_window_invariants_hold_for_any_labels(labels, length, stride, rule):
    rec = toy_recordings(labels)
    cfg = {"pure": D.WindowConfig(length, stride),
           "pure-grid": D.WindowConfig(length, stride, align="recording"),
           "majority": D.WindowConfig(length, stride, rule="majority", min_share=0.6, align="recording"),
           "endpoints": D.WindowConfig(length, stride, rule="endpoints", align="recording")}[rule]
    w = D.make_windows(rec, cfg)
    off = rec.rec_offsets
    assert np.all(w.start + length <= rec.rec_len[w.recording])  # inside one recording
    rows = off[w.recording][:, None] + w.start[:, None] + np.arange(length)
    assert np.array_equal(w.x[:, 0, :], rec.acc[rows, 0])
    src = rec.label[rows]
    if rule.startswith("pure"):
        assert np.all(src == w.y[:, None])
    elif rule == "majority":
        assert np.all((src == w.y[:, None]).mean(axis=1) >= 0.6)
    else:
        assert np.all((src[:, 0] == w.y) & (src[:, -1] == w.y))


@settings(max_examples=60, deadline=None)
@given(labels=st.lists(st.integers(-1, 2), max_size=30))
def test_label_segments_tile_the_labels_in_runs(labels):
    starts, stops, values = D.label_segments(labels)
    lab = np.asarray(labels, dtype=np.int64)
    assert starts.dtype == stops.dtype == np.int64
    assert starts.tolist() == [0, *stops[:-1].tolist()][:len(starts)] and stops.tolist()[-1:] == [len(lab)][:len(lab)]
    for a, e, v in zip(starts, stops, values):
        assert e > a and np.all(lab[a:e] == v)
    assert np.all(values[1:] != values[:-1])  # maximal runs


def test_label_segments_of_names_and_masks():
    starts, stops, values = D.label_segments(np.array(["sit", "sit", "", "walk"], dtype=object))
    assert starts.tolist() == [0, 2, 3] and stops.tolist() == [2, 3, 4] and values.tolist() == ["sit", "", "walk"]
    starts, stops, values = D.label_segments(np.array([False, True, True, False]))
    assert list(zip(starts.tolist(), stops.tolist(), values.tolist())) == [(0, 1, False), (1, 3, True), (3, 4, False)]
    assert [len(a) for a in D.label_segments([])] == [0, 0, 0]


def test_recording_shorter_than_window_raises():
    rec = toy_recordings([[0] * 20, [1] * 6])
    with pytest.raises(D.RecordingTooShortError, match=r"recording 2 \(subject 2\) has 6 samples, shorter than one window of 8"):
        D.make_windows(rec, D.WindowConfig(8, 4))


# ------------------------------------------------------------------------------------------
# splits and normalisation


def test_split_disjoint_and_subject_errors():
    rec = toy_recordings([[0] * 8] * 5, subjects=[1, 2, 3, 4, 5])
    w = D.make_windows(rec, D.WindowConfig(4, 4))
    s = D.split_by_subject(w, test_subjects=[2, 3], val_subjects=[5])
    assert s.subjects() == {"train": (1, 4), "val": (5,), "test": (2, 3)}
    assert len(s.train) + len(s.val) + len(s.test) == len(w)
    with pytest.raises(D.SubjectOverlapError, match=r"subjects \[3\] are in both the test and the validation"):
        D.split_by_subject(w, test_subjects=[2, 3], val_subjects=[3])
    with pytest.raises(D.UnknownSubjectError, match=r"subjects \[9\] have no windows"):
        D.split_by_subject(w, test_subjects=[9])
    leaky = D.Split(train=s.train, val=s.val, test=w.subset(w.subject == 1))
    with pytest.raises(D.SubjectOverlapError, match=r"subjects \[1\] are in both train and test"):
        D.check_disjoint(leaky)


def test_normaliser_uses_training_statistics_only():
    rng = np.random.default_rng(0)
    train = rng.normal([[1.0], [-2.0], [5.0]], [[2.0], [0.5], [3.0]], size=(50, 3, 16))
    test = train + 100.0
    norm = D.Normaliser().fit(train)
    z = norm.transform(train)
    assert z.dtype == np.float32 and np.allclose(z.mean(axis=(0, 2)), 0, atol=1e-5)
    assert np.allclose(z.std(axis=(0, 2)), 1, atol=1e-5)
    assert np.allclose(norm.transform(test).mean(axis=(0, 2)), 100.0 / norm.std, rtol=1e-5)
    const = np.ones((4, 1, 8))
    assert np.all(D.Normaliser().fit(const).transform(const) == 0)  # no division by zero
    with pytest.raises(D.DataError, match="before fit"):
        D.Normaliser().transform(train)


def test_prepare_hapt_standard_split():
    p = D.prepare("hapt", "quick")
    assert p.classes == D.HAPT_BASIC
    subs = p.subjects()
    assert subs["test"] == D.UCI_HAR_TEST_SUBJECTS and subs["val"] == D.HAPT_VAL_SUBJECTS
    assert not set(subs["train"]) & (set(subs["val"]) | set(subs["test"]))
    assert len(subs["train"]) == 18
    # normalised with training statistics: train is standardised, the others only approximately
    assert np.allclose(p.train.x.mean(axis=(0, 2)), 0, atol=1e-4)
    assert np.allclose(p.train.x.std(axis=(0, 2)), 1, atol=1e-3)
    raw = D.make_windows(D.load_dataset("hapt"), p.config.window)
    raw_train = raw.subset(np.isin(raw.subject, subs["train"]))
    assert np.allclose(p.normaliser.mean, raw_train.x.mean(axis=(0, 2)), atol=1e-6)
    table = RD.split_table(p)
    assert table.loc["total", "train"] == len(p.train) and table.loc["total", "test"] == len(p.test)
    # cached in memory, but each call gets its own writeable arrays
    p.train.x[0] = 1e6
    again = D.prepare("hapt", "full")
    assert again.key == p.key and np.allclose(again.train.x.mean(axis=(0, 2)), 0, atol=1e-4)
    assert D.prepare("hapt", "group").key == p.key  # the 200-epoch recipe trains on the same windows
    with pytest.raises(D.DataError, match="unknown preset 'medium'"):
        D.prepare("hapt", "medium")


def test_prepare_spsw_classes_keep_hundreds():
    p = D.prepare("spsw")
    counts = RD.split_table(p)["all"].drop("total")
    assert len(counts) == 5 and counts.min() >= 400
    assert p.subjects()["test"] == D.SPSW_TEST_SUBJECTS and p.subjects()["val"] == D.SPSW_VAL_SUBJECTS
    assert p.train.x.shape[1:] == (3, 64)


# ------------------------------------------------------------------------------------------
# CSV loader: resampling and repairs


def test_csv_regular_file_loads_without_repair(tmp_path):
    path = write_csv(tmp_path / "ok.csv", regular_rows(100))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rec = D.load_csv(path, rate_hz=50.0)
    assert rec.acc.shape == (100, 3) and rec.classes == ("walk",) and rec.rec_subject.tolist() == [1]
    assert not rec.report.repaired and rec.report.total("resampled_rows") == 100
    assert np.allclose(rec.acc[:, 0], np.sin(np.arange(100) / 50.0), atol=1e-4)


def test_csv_resampling_repairs_are_counted(tmp_path):
    rng = np.random.default_rng(1)
    t = np.arange(300) / 100.0 + rng.uniform(-0.003, 0.003, 300)  # 100 Hz with jitter
    t[0] = 0.0
    rows = [f"{ti:.5f},{2 * ti:.6f},0,1,walk,1" for ti in t]
    rows.insert(50, rows[49])          # one duplicate stamp
    rows[100], rows[101] = rows[101], rows[100]  # one step back in time
    path = write_csv(tmp_path / "jitter.csv", rows)
    with pytest.warns(D.RepairWarning, match="jitter.csv"):
        rec = D.load_csv(path, rate_hz=50.0)
    rep = rec.report
    assert rep.total("duplicate_rows") == 1 and rep.total("unsorted_rows") == 1
    assert rep.total("jittery_intervals") > 0 and rep.repaired
    assert set(RD.repair_table(rep)["kind"]) >= {"duplicate_rows", "unsorted_rows", "jittery_intervals"}
    # linear signal x = 2 t is reproduced exactly on the 50 Hz grid
    grid = np.arange(len(rec.acc)) / 50.0
    assert np.allclose(rec.acc[:, 0], 2 * grid, atol=1e-4) and rec.rate_hz == 50.0


def test_csv_strict_mode_raises_instead_of_repairing(tmp_path):
    rows = regular_rows(50)
    rows[10], rows[11] = rows[11], rows[10]
    path = write_csv(tmp_path / "unsorted.csv", rows)
    with pytest.raises(D.TimestampError, match=r"unsorted.csv: column 'time' row 12 \(line 13\) goes back in time"):
        D.load_csv(path, rate_hz=50.0, strict=True)


def test_csv_nearest_label_and_column_names(tmp_path):
    rows = [f"{i * 10},{i},0,0,{'a' if i < 5 else 'b'}" for i in range(10)]  # ms, 100 Hz
    path = write_csv(tmp_path / "named.csv", rows, header="ts_ms,ax,ay,az,activity")
    cols = D.ColumnMap(time="ts_ms", x="ax", y="ay", z="az", label="activity", subject=None)
    rec = D.load_csv(path, rate_hz=50.0, columns=cols, time_unit="ms", subject=7, classes=("a", "b"))
    assert rec.label.tolist() == [0, 0, 0, 1, 1] and rec.rec_subject.tolist() == [7]
    assert np.allclose(rec.acc[:, 0], [0, 2, 4, 6, 8])


def test_csv_nan_raises(tmp_path):
    rows = regular_rows(20)
    rows[4] = "0.08,NaN,1,1,walk,1"
    with pytest.raises(D.NonFiniteError, match=r"nan.csv: column 'x' row 5 \(line 6\) is nan; expected a finite"):
        D.load_csv(write_csv(tmp_path / "nan.csv", rows), rate_hz=50.0)


def test_csv_inf_raises(tmp_path):
    rows = regular_rows(20)
    rows[7] = "0.14,1,inf,1,walk,1"
    with pytest.raises(D.NonFiniteError, match=r"inf.csv: column 'y' row 8 \(line 9\) is inf"):
        D.load_csv(write_csv(tmp_path / "inf.csv", rows), rate_hz=50.0)


def test_csv_empty_file_raises(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(D.EmptyFileError, match=r"empty.csv: the file is empty"):
        D.load_csv(empty, rate_hz=50.0)
    header_only = write_csv(tmp_path / "header.csv", [])
    with pytest.raises(D.EmptyFileError, match=r"header.csv: no data rows after the header"):
        D.load_csv(header_only, rate_hz=50.0)


def test_csv_misspelt_column_suggests_closest(tmp_path):
    path = write_csv(tmp_path / "typo.csv", regular_rows(20), header="time,x,y,z,lable,subject")
    with pytest.raises(D.MissingColumnError, match=r"typo.csv: column 'label' not found; did you mean 'lable'\?"):
        D.load_csv(path, rate_hz=50.0)


def test_csv_missing_column_lists_columns(tmp_path):
    path = write_csv(tmp_path / "noz.csv", [r.rsplit(",", 3)[0] for r in regular_rows(5)], header="time,x,y")
    with pytest.raises(D.MissingColumnError, match=r"noz.csv: column 'z' not found.*columns in the file: \['time', 'x', 'y'\]"):
        D.load_csv(path, rate_hz=50.0, columns=D.ColumnMap(label=None, subject=None))


def test_csv_non_numeric_names_row(tmp_path):
    rows = regular_rows(20)
    rows[12] = "0.24,1,1,abc,walk,1"
    with pytest.raises(D.NonNumericError, match=r"text.csv: column 'z' row 13 \(line 14\) holds 'abc'; expected a number"):
        D.load_csv(write_csv(tmp_path / "text.csv", rows), rate_hz=50.0)


def test_csv_unknown_label_raises(tmp_path):
    rows = regular_rows(20)
    rows[3] = rows[3].replace("walk", "walkk")
    with pytest.raises(D.UnknownLabelError, match=r"labels.csv: column 'label' row 4 \(line 5\) has label 'walkk'; expected one of \['walk', 'sit'\]; did you mean 'walk'"):
        D.load_csv(write_csv(tmp_path / "labels.csv", rows), rate_hz=50.0, classes=("walk", "sit"))


def test_csv_gap_longer_than_limit_raises(tmp_path):
    t = np.concatenate([np.arange(50), np.arange(50) + 200]) / 50.0  # 3 s hole
    rows = [f"{ti:.4f},0,0,1,walk,1" for ti in t]
    with pytest.raises(D.GapError, match=r"gap.csv: column 'time' jumps 3.020 s .* more than the allowed gap of 1.0 s"):
        D.load_csv(write_csv(tmp_path / "gap.csv", rows), rate_hz=50.0)


def test_csv_recording_shorter_than_window_raises(tmp_path):
    path = write_csv(tmp_path / "short.csv", regular_rows(40))
    with pytest.raises(D.RecordingTooShortError, match=r"short.csv: 40 samples at 50 Hz, shorter than one window of 128"):
        D.load_csv(path, rate_hz=50.0, min_length=128)


def test_csv_two_subjects_make_two_recordings(tmp_path):
    rows = regular_rows(80, subject=1) + regular_rows(60, subject=2, label="sit")
    rec = D.load_csv(write_csv(tmp_path / "two.csv", rows), rate_hz=50.0)
    assert rec.rec_subject.tolist() == [1, 2] and rec.rec_len.tolist() == [80, 60]
    w = D.make_windows(rec, D.WindowConfig(32, 16))
    assert set(w.recording.tolist()) == {0, 1} and rec.classes == ("sit", "walk")


# ------------------------------------------------------------------------------------------
# array entry point


def test_from_arrays_shares_checks():
    acc = np.zeros((100, 3))
    rec = D.from_arrays(acc, 50.0, label=["a"] * 100, subject=3)
    assert rec.acc.shape == (100, 3) and rec.classes == ("a",) and rec.sources == ("<arrays>",)
    acc[7, 2] = np.nan
    with pytest.raises(D.NonFiniteError, match=r"<arrays>: column 'z' index 7 is nan"):
        D.from_arrays(acc, 50.0)
    with pytest.raises(D.FormatError, match=r"acc has shape \(100, 2\); expected \(n, 3\)"):
        D.from_arrays(np.zeros((100, 2)), 50.0)
    t = np.arange(100) / 50.0
    t[[10, 11]] = t[[11, 10]]
    with pytest.warns(D.RepairWarning):
        rep = D.from_arrays(np.zeros((100, 3)), 50.0, time=t).report
    assert rep.total("unsorted_rows") == 1


# ------------------------------------------------------------------------------------------
# PAMAP2


def write_pamap2(path: Path, ids: list[int], seed: int = 0, nan_rows: tuple[int, ...] = ()) -> Path:
    """A small file in PAMAP2's 54-column, space-separated layout (100 Hz)."""
    rng = np.random.default_rng(seed)
    n = len(ids)
    a = rng.normal(size=(n, 54))
    a[:, 0] = np.arange(n) / 100.0
    a[:, 1] = ids
    a[:, 2] = np.nan
    a[::11, 2] = 80.0  # heart rate at ~9 Hz: NaN in between, as in the real files
    hand_acc16 = 3 + np.arange(1, 4)  # hand IMU starts at column 3: temperature, then acc16 x, y, z
    a[:, hand_acc16] = np.arange(n)[:, None] * 9.80665  # acc in m/s^2 = row number in g
    for r in nan_rows:
        a[r, 3:] = np.nan  # a dropped packet: every IMU column NaN
    lines = [" ".join("NaN" if np.isnan(v) else f"{v:.6f}" for v in row) for row in a]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_pamap2_protocol(tmp_path):
    ids = [1] * 450 + [0] * 60 + [4] * 450
    write_pamap2(tmp_path / "subject101.dat", ids, nan_rows=(20, 21, 22))
    write_pamap2(tmp_path / "subject102.dat", [24] * 400 + [2] * 400, seed=1)
    with pytest.warns(D.RepairWarning, match="PAMAP2 repairs"):
        rec = D.load_pamap2(tmp_path)
    assert rec.acc.shape[1] == 40 and rec.channels == D.PAMAP2_CHANNELS_40 and len(D.PAMAP2_CHANNELS_40) == 40
    assert rec.rec_subject.tolist() == [101, 102] and rec.rec_len.tolist() == [320, 267]  # every 3rd row
    assert abs(rec.rate_hz - 33.333) < 1e-2 and np.isfinite(rec.acc).all()
    assert rec.report.total("imu_nan_interpolated") == 3 * 39 and rec.report.total("heart_rate_interpolated") > 0
    w = D.pamap2_windows(rec)
    assert w.x.shape[1:] == (40, 100)
    off = rec.rec_offsets
    first = rec.label[off[w.recording] + w.start]
    last = rec.label[off[w.recording] + w.start + 99]
    assert np.all(first == last) and np.all(first >= 0)
    assert np.all(np.diff(w.start[w.recording == 0]) % 22 == 0)
    folds = dict(D.leave_one_subject_out(w))
    assert sorted(folds) == [101, 102] and folds[101].subjects()["train"] == (102,)
    assert len(folds[101].val) == 0


def test_pamap2_acc_channels_in_g_and_interpolated(tmp_path):
    path = write_pamap2(tmp_path / "subject103.dat", [3] * 120, nan_rows=(30,))
    with pytest.warns(D.RepairWarning):
        rec = D.load_pamap2(path, channels="acc_hand")
    assert rec.channels == ("hand_acc16_x", "hand_acc16_y", "hand_acc16_z") and rec.units == "g"
    assert np.allclose(rec.acc[:, 0], np.arange(0, 120, 3), atol=1e-4)  # row 30 interpolated exactly


def test_pamap2_long_gap_is_unlabelled_not_dropped(tmp_path):
    path = write_pamap2(tmp_path / "subject104.dat", [5] * 300, nan_rows=tuple(range(100, 160)))
    with pytest.warns(D.RepairWarning):
        rec = D.load_pamap2(path, max_gap=30)
    assert rec.report.total("long_gap_rows_unlabelled") == 60 and rec.rec_len.tolist() == [100]
    assert (rec.label == -1).sum() == 20


def test_pamap2_unknown_activity_and_bad_layout(tmp_path):
    path = write_pamap2(tmp_path / "subject105.dat", [1] * 10 + [8] + [1] * 10)
    with pytest.raises(D.UnknownLabelError, match=r"subject105.dat: column 'activity_id' row 11 has id 8"):
        D.load_pamap2(path)
    text = tmp_path / "subject107.dat"
    lines = write_pamap2(text, [1] * 12).read_text().splitlines()
    cells = lines[6].split()
    cells[10] = "oops"
    lines[6] = " ".join(cells)
    text.write_text("\n".join(lines) + "\n")
    with pytest.raises(D.NonNumericError, match=r"subject107.dat: column 'hand_gyro_x' row 7 holds 'oops'"):
        D.load_pamap2(text)
    short = tmp_path / "subject106.dat"
    short.write_text("0.0 1 80 1 2 3\n")
    with pytest.raises(D.FormatError, match=r"subject106.dat: 6 columns; expected PAMAP2's 54"):
        D.load_pamap2(short)


@pytest.mark.parametrize("name, n_subjects", [("hapt", 30), ("spsw", 23)])
def test_subject_folds_partition_the_subjects(name, n_subjects):
    folds = D.subject_folds(name)
    assert len(folds) == D.N_FOLDS
    tests = [s for test, _ in folds for s in test]
    assert sorted(tests) == list(range(1, n_subjects + 1))  # every subject tests exactly once
    vals = [s for _, val in folds for s in val]
    assert len(vals) == len(set(vals)) == D.N_FOLDS * D.FOLD_VAL_SUBJECTS[name]
    for test, val in folds:
        assert not set(test) & set(val) and len(val) == D.FOLD_VAL_SUBJECTS[name]


def test_a_fold_split_has_disjoint_subjects_and_the_standard_windows():
    p = D.prepare("hapt", config=D.DataConfig.fold("hapt", 2))
    subjects = p.subjects()
    assert subjects["test"] == (3, 8, 13, 18, 23, 28) and subjects["val"] == (4, 9, 14, 19)
    assert len(p.train) + len(p.val) + len(p.test) == 7415 + 2996
    with pytest.raises(D.DataError, match="fold must be in"):
        D.DataConfig.fold("hapt", 5)


# ------------------------------------------------------------------------------------------
# CSV loader: real device exports (issue 16)


def epoch_ms_rows(t0_ms: int, n: int, step_ms: float = 20.0) -> list[str]:
    """Rows of an export stamped in epoch milliseconds (no label, no subject)."""
    return [f"{t0_ms + i * step_ms:.0f},{np.sin(i / 10):.4f},0.1,0.98" for i in range(n)]


def test_csv_epoch_ms_keeps_the_last_sample(tmp_path):
    # Converted to seconds before subtracting the first stamp, this file lost its last sample.
    path = write_csv(tmp_path / "epoch.csv", epoch_ms_rows(1_602_483_447_972, 445), header="time,x,y,z")
    rec = D.load_csv(path, 50.0, D.ColumnMap(label=None, subject=None), time_unit="ms")
    assert rec.rec_len.tolist() == [445]
    assert rec.rec_t0 is not None and rec.rec_t0.tolist() == [1_602_483_447.972]
    assert rec.time_iso is None
    rng = np.random.default_rng(0)
    for t0, n, rate in zip(rng.integers(1_600_000_000_000, 1_700_000_000_000, 40), rng.integers(300, 3000, 40),
                           rng.choice([25.0, 50.0, 100.0], 40)):
        path = write_csv(tmp_path / "sweep.csv", epoch_ms_rows(int(t0), int(n), 1000 / rate), header="time,x,y,z")
        got = D.load_csv(path, rate, D.ColumnMap(label=None, subject=None), time_unit="ms").rec_len
        assert got.tolist() == [n], (t0, n, rate)


def test_csv_iso_datetime_time_column(tmp_path):
    stamps = pd.date_range("2022-07-11T10:00:00+02:00", periods=120, freq="20ms")
    rows = [f"{s.isoformat()},{i % 7},0,1" for i, s in enumerate(stamps)]
    rec = D.load_csv(write_csv(tmp_path / "iso.csv", rows, header="time,x,y,z"), 50.0,
                     D.ColumnMap(label=None, subject=None))
    assert rec.rec_len.tolist() == [120] and rec.time_iso == "+02:00"
    assert rec.rec_t0.tolist() == [stamps[0].timestamp()]
    assert np.allclose(rec.acc[:, 0], np.arange(120) % 7)
    # naive date-times with a space, as spreadsheets write them
    naive = [f"2022-07-11 10:00:{i * 0.02:06.3f},0,0,1" for i in range(100)]
    rec = D.load_csv(write_csv(tmp_path / "naive.csv", naive, header="time,x,y,z"), 50.0,
                     D.ColumnMap(label=None, subject=None))
    assert rec.rec_len.tolist() == [100] and rec.time_iso == ""
    # a broken stamp among date-times is named
    rows[30] = "2022-07-11T10:00:00.600+02:00x,0,0,1"
    with pytest.raises(D.NonNumericError, match=r"iso.csv: column 'time' row 31 \(line 32\) holds .*ISO 8601"):
        D.load_csv(write_csv(tmp_path / "iso.csv", rows, header="time,x,y,z"), 50.0,
                   D.ColumnMap(label=None, subject=None))


def test_csv_wrong_encoding_names_the_encoding_option(tmp_path):
    text = "time,x,y,z,label\n" + "\n".join(f"{i / 50:.2f},0,0,1,marché" for i in range(60)) + "\n"
    utf16 = tmp_path / "utf16.csv"
    utf16.write_text(text, encoding="utf-16")
    with pytest.raises(D.EncodingError, match=r"utf16.csv: .*not utf-8 text.*encoding='utf-16'.*--encoding utf-16"):
        D.load_csv(utf16, 50.0, D.ColumnMap(subject=None))
    assert D.load_csv(utf16, 50.0, D.ColumnMap(subject=None), encoding="utf-16").classes == ("marché",)
    latin = tmp_path / "latin.csv"
    latin.write_text(text, encoding="latin-1")
    with pytest.raises(D.DataError, match=r"latin.csv: .*byte 0xe9.*encoding='latin-1'"):
        D.load_csv(latin, 50.0, D.ColumnMap(subject=None))
    assert D.load_csv(latin, 50.0, D.ColumnMap(subject=None), encoding="latin-1").classes == ("marché",)
    with pytest.raises(D.DataError, match=r"unknown encoding 'utf-99'"):
        D.load_csv(latin, 50.0, encoding="utf-99")


@pytest.mark.parametrize("sep, shown", [(";", "';'"), ("\t", r"'\t'"), ("|", "'|'")])
def test_csv_other_separator_is_suggested(tmp_path, sep, shown):
    rows = [r.replace(",", sep) for r in regular_rows(20)]
    path = write_csv(tmp_path / "sep.csv", rows, header=sep.join(["time", "x", "y", "z", "label", "subject"]))
    hint = re.escape(f"sep={shown} (--sep {shown}")
    with pytest.raises(D.MissingColumnError, match=rf"sep.csv: column 'time' not found.*{hint}"):
        D.load_csv(path, 50.0)
    assert D.load_csv(path, 50.0, sep=sep).rec_len.tolist() == [20]


def test_csv_forgotten_time_unit_suggests_the_unit_not_the_gap(tmp_path):
    path = write_csv(tmp_path / "ms.csv", epoch_ms_rows(1_657_530_000_000, 300, 64), header="time,x,y,z")
    cols = D.ColumnMap(label=None, subject=None)
    with pytest.raises(D.TimeUnitError, match=r"ms.csv: column 'time' steps 64 s .*0.0156 Hz.*time_unit='ms' "
                                              r"\(--time-unit ms\).*15.6 Hz") as err:
        D.load_csv(path, 16.0, cols)
    assert "max_gap_s" not in str(err.value)
    with pytest.raises(D.TimeUnitError, match="time_unit='ms'"):  # a raised gap limit does not hide it
        D.load_csv(path, 16.0, cols, max_gap_s=1000)
    assert D.load_csv(path, 15.625, cols, time_unit="ms").rec_len.tolist() == [300]
    # the other way round: seconds read as milliseconds
    secs = write_csv(tmp_path / "s.csv", regular_rows(100), header="time,x,y,z,label,subject")
    with pytest.raises(D.TimeUnitError, match=r"s.csv: .*50000 Hz.*time_unit='s' \(--time-unit s\).*50 Hz"):
        D.load_csv(secs, 50.0, time_unit="ms")
    # arrays in milliseconds
    with pytest.raises(D.TimeUnitError, match=r"<arrays>: .*seconds.*time \* 0.001.*50 Hz"):
        D.from_arrays(np.zeros((100, 3)), 50.0, time=np.arange(100) * 20.0)
    # a real gap in seconds keeps its advice
    t = np.concatenate([np.arange(50), np.arange(50) + 200]) / 50.0
    with pytest.raises(D.GapError, match="raise max_gap_s"):
        D.from_arrays(np.zeros((100, 3)), 50.0, time=t)


def test_from_arrays_recording_ids_keep_series_apart():
    acc = np.r_[np.zeros((100, 3)), np.ones((80, 3))]
    rec = D.from_arrays(acc, 50.0, label=["a"] * 180, subject=4, recording=[7] * 100 + [9] * 80)
    assert rec.n_recordings == 2 and rec.rec_subject.tolist() == [4, 4] and rec.rec_id.tolist() == [7, 9]
    assert rec.rec_len.tolist() == [100, 80]
    w = D.make_windows(rec, D.WindowConfig(32, 16))
    assert all(np.ptp(x) == 0 for x in w.x)  # no window mixes the two series
    with pytest.raises(D.FormatError, match=r"recording has shape \(3,\); expected \(180,\)"):
        D.from_arrays(acc, 50.0, recording=[1, 2, 3])
    # with time stamps, each series is resampled on its own (both start at t = 0)
    t = np.r_[np.arange(100), np.arange(80)] / 50.0
    rec = D.from_arrays(acc, 50.0, time=t, subject=4, recording=[7] * 100 + [9] * 80)
    assert rec.rec_len.tolist() == [100, 80] and rec.rec_t0.tolist() == [0.0, 0.0]


def test_values_beyond_a_limit_are_counted_with_their_rows(tmp_path):
    rows = regular_rows(100)
    rows[41] = "0.82,1e30,0,1,walk,1"
    rows[60] = "1.2,0,-75,1,walk,1"
    path = write_csv(tmp_path / "huge.csv", rows)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert D.load_csv(path, 50.0).report.total("implausible_values") == 0  # no limit, no check
    with pytest.warns(D.RepairWarning, match=r"implausible_values=2 .*row 42 \(line 43\) x=1e\+30, "
                                             r"row 61 \(line 62\) y=-75"):
        rec = D.load_csv(path, 50.0, value_limit=50.0)
    assert rec.report.total("implausible_values") == 2 and rec.rec_len.tolist() == [100]
    acc = np.zeros((20, 3))
    acc[5, 2] = 99.0
    with pytest.warns(D.RepairWarning, match=r"<arrays>: implausible_values=1 .*index 5 z=99"):
        D.from_arrays(acc, 50.0, value_limit=16.0)
