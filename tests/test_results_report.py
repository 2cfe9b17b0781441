"""The results chapter's teacher table and verdict table, checked on the committed fold records.

The teacher table is recomputed here from the JSON files with plain json and pandas, without the
project's helpers, and compared with :func:`mglwkd_lite.report.results.teacher_summary` and
:func:`mglwkd_lite.report.results.teacher_gaps`.
"""

import json
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from mglwkd_lite.claims import METHOD_NAMES, claims_table
from mglwkd_lite.report import results as R

RESULTS = Path(__file__).resolve().parents[1] / "results"
FOLD_RECORDS = sorted(RESULTS.glob("folds/*/fold*/*/seed*.json"))

pytestmark = pytest.mark.skipif(not FOLD_RECORDS, reason="the fold sweep's records are not in results/folds")


def independent_teacher_table() -> tuple[pd.DataFrame, pd.DataFrame]:
    """(teachers, scratch) straight from the record files, scores in percent.

    teachers: one row per (dataset, fold, teacher kind) with its test accuracy and macro F1 (the same
    teacher is in every record of a fold: duplicates are dropped after checking they agree); scratch:
    the scratch students' test scores averaged over the seeds of each (dataset, fold).
    """
    teacher_rows, scratch_rows = [], []
    for path in FOLD_RECORDS:
        rec = json.loads(path.read_text())
        spec = rec["spec"]
        for kind, entry in (rec.get("teachers") or {}).items():
            teacher_rows.append({"dataset": spec["dataset"], "fold": spec["fold"], "kind": kind,
                                 "accuracy": 100 * entry["test"]["accuracy"],
                                 "macro_f1": 100 * entry["test"]["macro_f1"]})
        if spec["method"] == "scratch":
            scratch_rows.append({"dataset": spec["dataset"], "fold": spec["fold"],
                                 "accuracy": 100 * rec["metrics"]["test"]["accuracy"],
                                 "macro_f1": 100 * rec["metrics"]["test"]["macro_f1"]})
    teachers = pd.DataFrame(teacher_rows)
    spread = teachers.groupby(["dataset", "fold", "kind"])[["accuracy", "macro_f1"]].agg(lambda s: s.max() - s.min())
    assert (spread == 0).all().all(), "a fold's records disagree on its teacher"
    teachers = teachers.drop_duplicates(["dataset", "fold", "kind"]).set_index(["dataset", "fold", "kind"])
    scratch = pd.DataFrame(scratch_rows).groupby(["dataset", "fold"])[["accuracy", "macro_f1"]].mean()
    return teachers.sort_index(), scratch


def test_teacher_summary_has_one_row_per_fold_and_teacher():
    teachers, _ = independent_teacher_table()
    summary = R.teacher_summary(RESULTS, "folds")
    names = {"signal_teacher": "signal teacher", "pi_teacher": "PI teacher"}
    expected = teachers.rename(index=names, level="kind").rename_axis(["dataset", "fold", "teacher"]).sort_index()
    assert len(summary) == len(expected) == 2 * 5 * 2  # data sets x folds x teachers
    assert (summary["models"] == 1).all()  # each fold's teachers trained once
    pd.testing.assert_frame_equal(summary[["accuracy", "macro_f1"]], expected[["accuracy", "macro_f1"]],
                                  check_exact=False, rtol=0, atol=1e-9)


def test_teacher_gaps_are_paired_per_fold_then_averaged():
    teachers, scratch = independent_teacher_table()
    runs = R.load_runs(RESULTS, "folds")
    gaps = R.teacher_gaps(RESULTS, "folds", runs)
    per_fold = R.teacher_fold_gaps(RESULTS, "folds", runs)
    names = {"signal_teacher": "signal teacher", "pi_teacher": "PI teacher"}
    for (dataset, fold, kind), row in teachers.iterrows():
        for m in ("accuracy", "macro_f1"):
            gap = row[m] - scratch.loc[(dataset, fold), m]
            assert per_fold.loc[(dataset, names[kind], fold), f"{m}_gap"] == pytest.approx(gap, abs=1e-9)
    for (dataset, kind), sub in teachers.groupby(level=["dataset", "kind"]):
        folds = sub.index.get_level_values("fold")
        row = gaps.loc[(dataset, names[kind])]
        assert row["folds"] == 5
        for m in ("accuracy", "macro_f1"):
            fold_scratch = scratch.loc[dataset].loc[folds, m].to_numpy()
            assert row[f"{m}_teacher"] == pytest.approx(sub[m].mean(), abs=1e-9)
            assert row[f"{m}_scratch"] == pytest.approx(fold_scratch.mean(), abs=1e-9)
            assert row[f"{m}_gap"] == pytest.approx((sub[m].to_numpy() - fold_scratch).mean(), abs=1e-9)
    # The case that showed the fault: the last fold's HAPT signal teacher (-2.82 points against the
    # scratch mean of all folds) is not the paired mean over the folds (-0.90).
    assert gaps.loc[("hapt", "signal teacher"), "accuracy_gap"] == pytest.approx(-0.90, abs=0.005)


def test_teacher_tables_work_without_folds(tmp_path):
    # Records of the standard split carry no fold; teachers trained per student seed.
    def record(method, seed, acc, teachers=None):
        return {"key": f"{method}-{seed}", "preset": "quick", "method": {"name": method},
                "spec": {"dataset": "hapt", "method": method, "seed": seed},
                "models": {"teacher_seed": None},
                "metrics": {"test": {"accuracy": acc, "macro_f1": acc}, "val": {"accuracy": acc, "macro_f1": acc}},
                "residual": None, "timings": {}, "teachers": teachers}

    def teacher(acc):
        return {"test": {"accuracy": acc, "macro_f1": acc}}

    for seed, (scratch, signal) in enumerate([(0.80, 0.85), (0.90, 0.87)]):
        for method, rec in (("scratch", record("scratch", seed, scratch)),
                            ("kd_signal", record("kd_signal", seed, 0.5, {"signal_teacher": teacher(signal)}))):
            path = tmp_path / "quick" / "hapt" / method / f"seed{seed}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(rec))
    summary = R.teacher_summary(tmp_path, "quick")
    assert summary.index.tolist() == [("hapt", -1, "signal teacher")]
    assert summary.iloc[0]["models"] == 2 and summary.iloc[0]["accuracy"] == pytest.approx(86.0)
    gaps = R.teacher_gaps(tmp_path, "quick", R.load_runs(tmp_path, "quick"))
    row = gaps.loc[("hapt", "signal teacher")]
    assert row["folds"] == 1 and row["accuracy_scratch"] == pytest.approx(85.0)
    assert row["accuracy_gap"] == pytest.approx(1.0)


def test_verdict_table_gives_every_comparator_with_runs_a_verdict():
    runs = R.load_runs(RESULTS, "folds")
    table = R.verdict_table(claims_table(runs, every_single_teacher=True))
    slugs = {name: slug for slug, name in METHOD_NAMES.items()}
    held = set(zip(runs["dataset"], runs["method"]))
    assert len(table) == 6  # scratch, both single-teacher KDs, the three two-teacher KDs
    for comparison, row in table.iterrows():
        b = slugs[comparison.split(" vs ", 1)[1]]
        for (dataset, metric), cell in row.items():
            if {(dataset, "mglwkd"), (dataset, b)} <= held:
                assert cell != "not run", (comparison, dataset, metric)
                assert cell.split(": ", 1)[1].startswith(("holds", "does not hold", "unclear", "too few runs"))
    # The cells that read "not run" before: KD from the signal teacher on HAPT, from the PI teacher on SPSW.
    assert "[not a claim]" in table.loc["mGLW-KD vs KD, signal teacher", ("hapt", "accuracy")]
    assert "[not a claim]" in table.loc["mGLW-KD vs KD, PI teacher", ("spsw", "accuracy")]
    assert "[best single teacher on validation]" in table.loc["mGLW-KD vs KD, PI teacher", ("hapt", "accuracy")]
    assert not (table == "not run").any().any()


def test_verdict_table_reads_not_run_only_without_runs():
    rows = []
    for method, acc in (("scratch", 0.85), ("mglwkd", 0.88), ("kd_two_avg", 0.86)):
        for fold in range(5):
            for seed in (0, 1):
                score = acc + 0.001 * fold + 0.0005 * seed * (method == "mglwkd")
                rows.append({"dataset": "hapt", "method": method, "fold": fold, "seed": seed, "accuracy": score,
                             "macro_f1": score, "val_accuracy": score, "val_macro_f1": score})
    spsw = [dict(r, dataset="spsw") for r in rows if r["method"] != "kd_two_avg"]
    table = R.verdict_table(claims_table(pd.DataFrame(rows + spsw), every_single_teacher=True))
    assert table.loc["mGLW-KD vs two-teacher KD, averaged", ("spsw", "accuracy")] == "not run"
    assert table.loc["mGLW-KD vs student from scratch", ("spsw", "accuracy")].endswith(
        ": holds (gain of a point or more)")
    assert table.loc["mGLW-KD vs two-teacher KD, averaged", ("hapt", "accuracy")].endswith(
        ": holds (gain of a point or more)")


def _synthetic_runs(methods: dict[str, float]) -> pd.DataFrame:
    rows = []
    for method, acc in methods.items():
        for fold in range(5):
            for seed in (0, 1):
                score = acc + 0.001 * fold + 0.0005 * seed * (method == "mglwkd")
                rows.append({"dataset": "hapt", "method": method, "fold": fold, "seed": seed, "accuracy": score,
                             "macro_f1": score, "val_accuracy": score, "val_macro_f1": score})
    return pd.DataFrame(rows)


def test_both_protocols_side_by_side_in_one_table_and_one_figure():
    cold = _synthetic_runs({"scratch": 0.85, "mglwkd": 0.84})
    warm = _synthetic_runs({"scratch": 0.85, "scratch_long": 0.87, "mglwkd": 0.875})
    claims = R.claims_by_protocol({"cold": cold, "warm": warm})
    assert set(claims["protocol"]) == {"cold", "warm"}
    # the warm start's control is a claim only where its runs are (the warm sweep)
    control = claims[claims["b"] == METHOD_NAMES["scratch_long"]]
    assert set(control["protocol"]) == {"warm"} and (control["verdict"] == "holds").all()  # +0.5 points, tight
    table = R.verdict_table(claims)
    assert table.loc["mGLW-KD vs student from scratch", ("hapt", "cold", "accuracy")].endswith(": does not hold (worse)")
    assert table.loc["mGLW-KD vs student from scratch", ("hapt", "warm", "accuracy")].endswith(
        ": holds (gain of a point or more)")
    assert table.loc["mGLW-KD vs student from scratch, trained as long", ("hapt", "cold", "accuracy")] == "not run"
    fig = R.plot_claims(claims)
    ax = fig.axes[0]
    assert len(fig.axes) == 2  # accuracy and macro F1
    # one marker series per (data set, protocol) and the claims as rows
    assert [t.get_text() for t in ax.get_yticklabels()][:2] == ["mGLW-KD vs student from scratch",
                                                               "mGLW-KD vs student from scratch, trained as long"]
    assert fig.axes[-1].get_legend_handles_labels()[1][1:] == ["HAPT, cold", "HAPT, warm"]
    f2, given = plt.subplots(1, 2)  # drawn into given axes
    assert R.plot_claims(claims, axes=given) is f2
    plt.close("all")
