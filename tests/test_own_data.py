"""A user's own labelled data through the whole book: a CSV folder and a PAMAP2 copy, with no package edit.

Each goes windows -> persistence images -> teachers -> mGLW-KD -> a run record -> the results chapter's
tables, through the command line a user types (``run --preset quick --dataset csv:FOLDER``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mglwkd_lite import cli
from mglwkd_lite.claims import claims_table
from mglwkd_lite.data import DataError, csv_folder_entry, dataset_entry, FolderOptions, subject_folds
from mglwkd_lite.experiments import experiment_preset, on_dataset, run_key, run_specs
from mglwkd_lite.report import results as R

RATE = 50.0


def activity(kind: str, seconds: float, rate: float, rng: np.random.Generator, tilt: float) -> np.ndarray:
    """Accelerometer samples in g: gravity on a tilted axis, plus the activity's movement and sensor noise."""
    t = np.arange(int(seconds * rate)) / rate
    gravity = np.array([np.sin(tilt), 0.0, np.cos(tilt)])
    acc = np.tile(gravity, (len(t), 1))
    if kind in ("walking", "running"):
        step_hz, amp = (1.9, 0.35) if kind == "walking" else (2.8, 0.9)
        phase = rng.uniform(0, 2 * np.pi)
        acc[:, 0] += amp * np.sin(2 * np.pi * step_hz * t + phase)
        acc[:, 1] += 0.4 * amp * np.sin(np.pi * step_hz * t + phase)
        acc[:, 2] += 0.8 * amp * np.abs(np.sin(2 * np.pi * step_hz * t + phase)) - 0.4 * amp
    return acc + rng.normal(scale=0.02, size=acc.shape)


def write_csv_folder(folder: Path, subjects=(1, 2, 3, 4), seconds: float = 40.0) -> Path:
    """One CSV per subject (``subjectNN.csv``): time (s), x, y, z (g) and a label, three activities."""
    folder.mkdir(parents=True, exist_ok=True)
    for s in subjects:
        rng = np.random.default_rng(s)
        parts, labels = [], []
        for kind in ("sitting", "walking", "running"):
            a = activity(kind, seconds, RATE, rng, tilt=0.1 * s)
            parts.append(a)
            labels += [kind] * len(a)
        acc = np.concatenate(parts)
        frame = pd.DataFrame({"time": np.arange(len(acc)) / RATE, "x": acc[:, 0], "y": acc[:, 1], "z": acc[:, 2],
                              "label": labels})
        frame.to_csv(folder / f"subject{s:02d}.csv", index=False, float_format="%.5f")
    return folder


def write_pamap2_folder(folder: Path, subjects=(101, 102, 103), seconds: float = 30.0) -> Path:
    """PAMAP2's 54-column ``.dat`` layout at 100 Hz; the hand IMU's 16 g accelerometer in m/s^2."""
    folder.mkdir(parents=True, exist_ok=True)
    for s in subjects:
        rng = np.random.default_rng(s)
        rows = []
        for kind, activity_id in (("lying", 1), ("walking", 4), ("running", 5)):
            a = activity(kind, seconds, 100.0, rng, tilt=1.4 if kind == "lying" else 0.2)
            block = rng.normal(size=(len(a), 54))
            block[:, 1] = activity_id
            block[:, 2] = np.nan
            block[::11, 2] = 90.0
            block[:, 4:7] = a * 9.80665  # hand acc16 x, y, z (m/s^2)
            rows.append(block)
        data = np.concatenate(rows)
        data[:, 0] = np.arange(len(data)) / 100.0
        np.savetxt(folder / f"subject{s}.dat", data, fmt="%.5f")
    return folder


def _results_tables(results: Path, name: str) -> None:
    runs = R.load_runs(results, "quick")
    assert set(runs["dataset"]) == {name} and set(runs["method"]) == {"scratch", "kd_signal", "mglwkd"}
    assert runs["accuracy"].between(0, 1).all() and (runs["train_subjects"] >= 1).all()
    summary = R.seed_summary(runs)
    assert summary.shape[0] == 3 and summary["accuracy_mean"].notna().all()
    claims = claims_table(runs)
    assert set(claims["dataset"]) == {name} and (claims["verdict"] == "too few runs").all()  # one seed
    assert not R.verdict_table(claims_table(runs, every_single_teacher=True)).empty
    gaps = R.teacher_gaps(results, "quick", runs)
    assert len(gaps) == 2 and gaps.notna().all().all()  # both teachers against the scratch student
    record = json.loads((results / "quick" / name / "mglwkd" / "seed0.json").read_text())
    assert record["data"]["name"] == name and record["data"]["source"] != "packaged"
    assert set(record["teachers"]) == {"signal_teacher", "pi_teacher"}


def test_a_csv_folder_runs_through_the_book(tmp_path, monkeypatch):
    folder = write_csv_folder(tmp_path / "MyWatch")
    monkeypatch.chdir(tmp_path)  # the cache goes to tmp_path/.cache
    results = tmp_path / "results"
    code = cli.main(["run", "--preset", "quick", "--dataset", f"csv:{folder}", "--rate", "50", "--jobs", "2",
                     "--results", str(results), "--device", "smartwatch", "--placement", "wrist"])
    assert code == 0
    _results_tables(results, "mywatch")
    entry = dataset_entry("mywatch")
    assert entry.subjects == (1, 2, 3, 4) and entry.device == "smartwatch" and entry.window.length == 128
    # the folds come from the subjects: 4 folds of one test subject, one validation subject each
    assert subject_folds("mywatch", 4) == (((1,), (2,)), ((2,), (3,)), ((3,), (4,)), ((4,), (1,)))
    # the data's digest is in the run keys: other data, other keys; the same data, the same keys
    preset = on_dataset(experiment_preset("quick"), entry)
    again = on_dataset(experiment_preset("quick"), csv_folder_entry(folder, FolderOptions(name="mywatch2")))
    spec = run_specs(preset)[0]
    assert run_key(preset, spec) != run_key(again, run_specs(again)[0])
    # a second run finds every record on file
    assert cli.main(["run", "--preset", "quick", "--dataset", f"csv:{folder}", "--rate", "50", "--results",
                     str(results), "--device", "smartwatch", "--placement", "wrist", "--list"]) == 0


def test_a_pamap2_copy_runs_through_the_book(tmp_path, monkeypatch):
    folder = write_pamap2_folder(tmp_path / "PAMAP2_Dataset" / "Protocol")
    monkeypatch.chdir(tmp_path)
    results = tmp_path / "results"
    assert cli.main(["run", "--preset", "quick", "--dataset", f"pamap2:{folder}", "--results", str(results)]) == 0
    _results_tables(results, "pamap2")
    entry = dataset_entry("pamap2")
    assert entry.subjects == (101, 102, 103) and entry.units == "g" and entry.window.length == 100


def test_bad_sources_are_named(tmp_path, capsys):
    assert cli.main(["run", "--dataset", f"csv:{tmp_path / 'missing'}"]) == 2
    assert "not a folder" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert cli.main(["run", "--dataset", f"csv:{tmp_path / 'empty'}"]) == 2
    assert "no .csv file" in capsys.readouterr().err
    two = write_csv_folder(tmp_path / "two", subjects=(1, 2), seconds=6)
    with pytest.raises(DataError, match="at least 3"):
        csv_folder_entry(two)
    assert cli.main(["run", "--dataset", "hpat"]) == 2
    assert "did you mean 'hapt'" in capsys.readouterr().err
