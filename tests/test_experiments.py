"""The experiment runner: one JSON per run, skip when done, rerun when a setting changes; the tables of
the records (mglwkd_lite.report.results) and the judging of the claims (mglwkd_lite.claims)."""

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mglwkd_lite.distill import TABLE_METHODS
from mglwkd_lite.runrecord import SCHEMA, RecordError, RunRecord
from mglwkd_lite.experiments import (
    ExperimentError, ExperimentPreset, RunSpec, experiment_preset, record_paths, result_path, run_all, run_done,
    run_key, run_specs,
)
from mglwkd_lite.pipeline import ModelsPreset
from mglwkd_lite.presets import MODEL_PRESETS, PRESETS, SWEEP_PRESETS
from mglwkd_lite._io import stable_hash
from mglwkd_lite.checkpoint import code_version
from mglwkd_lite.report.results import (ARCHIVED_PAPER, first_epoch_table, load_runs, paired_runs, recipe_table,
                                        robustness_table, seed_summary, shown_sweep)
from mglwkd_lite.stats import MIN_PAIRS
from mglwkd_lite.train import TrainConfig

TINY = ModelsPreset.quick(train=TrainConfig.quick(epochs=1), train_fraction=0.04)

RESULTS = Path(__file__).resolve().parents[1] / "results"


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    """A one-run sweep on 4 % of HAPT's training windows, seed 1, run once for the module."""
    root = tmp_path_factory.mktemp("exp")
    preset = ExperimentPreset("tiny", ("hapt",), ("scratch",), (1,), TINY)
    records = run_all(preset, results_dir=root / "results", cache_dir=root / "cache", progress=False)
    return preset, root, records


def test_presets_cover_the_results_table():
    paper = experiment_preset("paper")
    assert set(paper.datasets) == {"hapt", "spsw"} and len(paper.seeds) >= 3
    assert {"scratch", "kd_signal", "kd_pi", "kd_two_fixed", "kd_two_avg", "sp", "mglwkd",
            "mglwkd_one_iter", "mglwkd_fixed_alpha", "mglwkd_no_align"} <= set(paper.methods)
    assert len(run_specs(paper)) == len(paper.datasets) * len(paper.methods) * len(paper.seeds)
    with pytest.raises(ExperimentError, match="unknown experiment preset 'huge'"):
        experiment_preset("huge")


def test_one_registry_names_every_preset():
    assert MODEL_PRESETS == ("quick", "full", "group") and SWEEP_PRESETS == ("quick", "paper", "folds", "group_folds")
    quick, paper = experiment_preset("quick"), experiment_preset("paper")
    assert quick == ExperimentPreset("quick", ("hapt",), ("scratch", "kd_signal", "mglwkd"), (0,), "quick")
    assert paper == ExperimentPreset("paper", ("hapt", "spsw"), TABLE_METHODS, (0, 1, 2), "full")
    assert paper.models_preset() == ModelsPreset.full() and quick.models_preset() == ModelsPreset.quick()
    assert all(p.models in MODEL_PRESETS for p in PRESETS.values())


def test_folds_sweep():
    folds = experiment_preset("folds")
    assert folds.datasets == ("hapt", "spsw") and folds.folds == (0, 1, 2, 3, 4) and folds.seeds == (0, 1)
    assert folds.methods == ("scratch", "kd_signal", "kd_pi", "kd_two_fixed", "kd_two_avg", "mglwkd",
                             "kd_two_mean_alpha")
    assert folds.models_preset() == ModelsPreset.full(teacher_seed=0)  # teachers once per fold
    specs = run_specs(folds)
    assert len(specs) == 2 * 5 * 2 * 7 and specs[0] == RunSpec("hapt", "scratch", 0, 0)
    spec = RunSpec("spsw", "mglwkd", 1, 3)
    assert result_path("results", folds, spec).as_posix() == "results/folds/spsw/fold3/mglwkd/seed1.json"
    # a fold is part of the key; the standard split (fold None) hashes like the three-field spec did
    assert run_key(folds, spec) != run_key(folds, dataclasses.replace(spec, fold=2))
    assert stable_hash(RunSpec("hapt", "scratch", 0).key_part()) == stable_hash(
        {"__type__": "RunSpec", "dataset": "hapt", "method": "scratch", "seed": 0})
    # the mean-alpha control's key follows the key of the run its alpha comes from
    mean = RunSpec("hapt", "kd_two_mean_alpha", 0, 0)
    other = dataclasses.replace(folds, models=dataclasses.replace(folds.models_preset(), student=(16, 2)))
    assert run_key(folds, mean) != run_key(other, mean)


def test_run_writes_one_complete_record(sweep):
    preset, root, records = sweep
    path = result_path(root / "results", preset, RunSpec("hapt", "scratch", 1))
    rec = json.loads(path.read_text())
    assert rec["key"] == run_key(preset, RunSpec("hapt", "scratch", 1)) == records[0]["key"]
    assert rec["schema"] == SCHEMA and RunRecord.from_dict(rec).to_dict() == rec  # the one schema, round trip
    assert record_paths(root / "results") == [path] and run_done(root / "results", preset, RunSpec("hapt", "scratch", 1))
    # the true seed: the record's training config holds the run's seed (the preset's holds 0)
    assert rec["spec"]["seed"] == rec["models"]["train"]["seed"] == 1
    # auditable: selection, the optimistic best-test epoch, the per-epoch history and the code
    assert rec["selected_epoch"] == 1 and rec["best_test"]["optimistic"] is True
    assert [row["epoch"] for row in rec["history"]] == [1]
    assert {"lr", "loss", "ce", "val_macro_f1", "test_accuracy", "test_macro_f1"} <= set(rec["history"][0])
    assert rec["code"] == code_version() and set(rec["trained_with_code"]) == {"commit", "dirty"}
    assert 0 <= rec["metrics"]["test"]["accuracy"] <= 1 and rec["metrics"]["test"]["n"] == 2996
    assert np.asarray(rec["metrics"]["test"]["confusion"]).sum() == 2996
    assert {"torch", "numpy", "python"} <= set(rec["versions"]) and rec["machine"]["torch_threads"] >= 1
    assert set(rec["robustness"]) == {"noise", "missing", "rate"}
    # The clean level of every perturbation is the clean test score.
    assert rec["robustness"]["noise"]["0.0"]["accuracy"] == pytest.approx(rec["metrics"]["test"]["accuracy"])


def test_done_runs_are_skipped_and_changed_settings_rerun(sweep):
    preset, root, _ = sweep
    again = run_all(preset, results_dir=root / "results", cache_dir=root / "cache", progress=False)
    assert again[0].get("skipped") is True
    changed = dataclasses.replace(preset, models=dataclasses.replace(TINY, train_fraction=0.03))
    assert run_key(changed, RunSpec("hapt", "scratch", 1)) != run_key(preset, RunSpec("hapt", "scratch", 1))
    best_val = dataclasses.replace(preset, models=dataclasses.replace(TINY, train=TINY.train.__class__.quick(
        epochs=1, select="best_val")))
    assert run_key(best_val, RunSpec("hapt", "scratch", 1)) != run_key(preset, RunSpec("hapt", "scratch", 1))


def test_tables_from_records(sweep):
    _, root, _ = sweep
    df = load_runs(root / "results")
    assert list(df[["dataset", "method", "seed"]].itertuples(index=False, name=None)) == [("hapt", "scratch", 1)]
    table = seed_summary(df)
    assert table.loc[("hapt", "scratch"), "seeds"] == 1
    assert table.loc[("hapt", "scratch"), "accuracy_mean"] == pytest.approx(100 * df["accuracy"][0])
    rob = robustness_table(root / "results")
    assert rob.loc[("hapt", "scratch"), "missing"].notna().sum() == 4
    assert list(rob.loc[("hapt", "scratch"), "noise"].index) == [0.0, 0.06, 0.09, 0.12]


def test_summary_std_over_seeds():
    df = pd.DataFrame({"dataset": ["hapt"] * 3, "method": ["m"] * 3, "seed": [0, 1, 2],
                       "accuracy": [0.8, 0.9, 1.0], "macro_f1": [0.5, 0.5, 0.5]})
    row = seed_summary(df).loc[("hapt", "m")]
    assert row["accuracy_mean"] == pytest.approx(90.0) and row["accuracy_std"] == pytest.approx(10.0)
    assert row["macro_f1_std"] == pytest.approx(0.0)


def test_unreadable_record_names_its_file(tmp_path):
    bad = tmp_path / "p" / "hapt" / "scratch" / "seed0.json"
    bad.parent.mkdir(parents=True)
    bad.write_text('{"preset": "p"}')
    with pytest.raises(RecordError, match="seed0.json: not a run record"):
        load_runs(tmp_path)


def _frame(rows):
    return pd.DataFrame(rows, columns=["dataset", "method", "fold", "seed", "accuracy", "macro_f1"])


def test_runs_pair_up_only_on_the_same_fold_and_seed():
    assert paired_runs(_frame([])) == 0
    df = _frame([("hapt", "scratch", None, 0, 0.9, 0.9)])
    assert paired_runs(df) == 0  # mGLW-KD missing
    df = pd.concat([df, _frame([("hapt", "mglwkd", None, 0, 0.9, 0.9), ("spsw", "mglwkd", None, 1, 0.9, 0.9)])])
    assert paired_runs(df) == 1 and paired_runs(df, dataset="spsw") == 0
    folds = _frame([("hapt", m, f, s, 0.9, 0.9) for m in ("scratch", "mglwkd") for f in (0, 1) for s in (0, 1)])
    assert paired_runs(folds) == 4
    assert paired_runs(folds.iloc[1:]) == 3  # scratch fold 0 seed 0 gone: its mGLW-KD run has no partner


def test_the_archived_sweep_is_shown_until_the_new_one_exists(tmp_path):
    assert shown_sweep(tmp_path) == "quick"
    old = tmp_path / ARCHIVED_PAPER / "hapt" / "scratch" / "seed0.json"
    old.parent.mkdir(parents=True)
    old.write_text("{}")
    assert shown_sweep(tmp_path) == ARCHIVED_PAPER


def _write_record(root, preset, method, fold, seed):
    """A copy of a committed quick record, moved to another sweep, fold and seed."""
    rec = json.loads((RESULTS / "quick" / "hapt" / method / "seed0.json").read_text())
    rec["preset"], rec["spec"] = preset, {**rec["spec"], "fold": fold, "seed": seed}
    folder = root / preset / "hapt" / (f"fold{fold}" if fold is not None else "") / method
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"seed{seed}.json").write_text(json.dumps(rec))


def test_the_fold_sweep_is_shown_once_it_has_enough_pairs(tmp_path):
    _write_record(tmp_path, "paper", "scratch", None, 0)
    assert shown_sweep(tmp_path) == "quick"  # scratch alone: no pair
    _write_record(tmp_path, "paper", "mglwkd", None, 0)
    assert shown_sweep(tmp_path) == "paper"
    pairs = [(f, s) for f in range(5) for s in (0, 1)][:MIN_PAIRS]
    for fold, seed in pairs[:-1]:
        for method in ("scratch", "mglwkd"):
            _write_record(tmp_path, "folds", method, fold, seed)
    assert shown_sweep(tmp_path) == "paper"  # one pair short of a verdict
    _write_record(tmp_path, "folds", "scratch", *pairs[-1])
    _write_record(tmp_path, "folds", "mglwkd", *pairs[-1])
    assert shown_sweep(tmp_path) == "folds"


def test_a_fixed_teacher_seed_trains_the_teachers_of_a_split_once(tmp_path):
    """The fold sweep trains its teachers once per split: students of seeds 0 and 1 distil from the
    same teachers (seed 0); without a fixed teacher seed each student seed has its own teachers."""
    fixed = ExperimentPreset("tiny_fixed", ("hapt",), ("kd_signal",), (0, 1),
                             dataclasses.replace(TINY, teacher_seed=0))
    records = run_all(fixed, results_dir=tmp_path / "results", cache_dir=tmp_path / "cache", progress=False)
    keys = [r["teachers"]["signal_teacher"]["key"] for r in records]
    assert len(records) == 2 and keys[0] == keys[1]
    assert [r["spec"]["seed"] for r in records] == [0, 1]
    assert experiment_preset("folds").models_preset().teacher_seed == 0
    own = ExperimentPreset("tiny_own", ("hapt",), ("kd_signal",), (1,), TINY)
    rec = run_all(own, results_dir=tmp_path / "results", cache_dir=tmp_path / "cache", progress=False)[0]
    assert rec["teachers"]["signal_teacher"]["key"] != keys[1]


def test_a_sweep_of_scratch_trained_as_long_trains_no_teacher(tmp_path):
    """``scratch_long`` learns from no teacher: its sweep trains the scratch students it starts from, not teachers."""
    long = ExperimentPreset("tiny_long", ("hapt",), ("scratch_long",), (0,), TINY)
    record = run_all(long, results_dir=tmp_path / "results", cache_dir=tmp_path / "cache", progress=False)[0]
    trained = sorted(p.name.split("-")[0] for p in (tmp_path / "cache" / "models").glob("*.pt"))
    assert trained == ["distill", "student"] and record["method"]["anneal"] and "teachers" not in record


def test_recipe_table_keeps_the_variant_order_in_percent(tmp_path):
    row = {"val_macro_f1": 0.5261, "val_macro_f1_epoch_1": 0.129, "test_macro_f1": 0.45, "test_accuracy": 0.6,
           "code": "abc"}
    variants = {"student from scratch": {**row, "val_macro_f1": 0.81}, "no logit std": row}
    path = tmp_path / "kd_recipe_spsw.json"
    path.write_text(json.dumps({"dataset": "spsw", "variants": variants}))
    table = recipe_table(path)
    assert list(table.index) == ["student from scratch", "no logit std"]
    assert list(table.columns) == ["val_macro_f1", "val_macro_f1_epoch_1", "test_macro_f1", "test_accuracy"]
    assert table.loc["student from scratch", "val_macro_f1"] == pytest.approx(81.0)
    assert table.loc["no logit std", "val_macro_f1_epoch_1"] == pytest.approx(12.9)


def test_first_epoch_table_shows_the_collapse_per_method():
    runs = pd.DataFrame({"dataset": ["spsw"] * 4, "method": ["kd_signal", "kd_signal", "scratch", "scratch"],
                         "val_macro_f1_epoch_1": [0.129, 0.131, 0.60, 0.70], "val_macro_f1": [0.5, 0.6, 0.8, 0.82]})
    table = first_epoch_table(runs)
    assert table.loc[("spsw", "kd_signal"), "runs"] == 2
    assert table.loc[("spsw", "kd_signal"), "epoch 1 mean"] == pytest.approx(13.0)
    assert table.loc[("spsw", "scratch"), "epoch 1 max"] == pytest.approx(70.0)
    assert table.loc[("spsw", "scratch"), "end mean"] == pytest.approx(81.0)


def test_records_carry_the_first_epoch_score():
    runs = load_runs(Path(__file__).resolve().parents[1] / "results", "folds")
    assert not runs.empty
    assert runs["val_macro_f1_epoch_1"].between(0, 1).all()
