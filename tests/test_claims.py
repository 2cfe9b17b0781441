"""The paper's claims judged on run records: pairing by (fold, seed), validation-chosen comparator,
intervals and verdicts from mglwkd_lite.stats."""

import numpy as np
import pandas as pd
import pytest

from mglwkd_lite.claims import CLAIMS, best_single_teacher, claims_table, compare, headline, holdout_ratio


def frame(scores, dataset="hapt", folds=range(5), seeds=(0, 1), val=None):
    """One row per (method, fold, seed); ``scores[method]`` is a list over (fold, seed) or a number."""
    rows = []
    for method, values in scores.items():
        values = np.broadcast_to(values, (len(folds) * len(seeds),))
        for i, (fold, seed) in enumerate((f, s) for f in folds for s in seeds):
            v = float(values[i])
            rows.append({"dataset": dataset, "method": method, "fold": fold, "seed": seed, "accuracy": v,
                         "macro_f1": v, "val_accuracy": (val or {}).get(method, v),
                         "val_macro_f1": (val or {}).get(method, v)})
    return pd.DataFrame(rows)


BASE = 0.85 + 0.01 * np.sin(np.arange(10))


def test_fold_runs_use_the_corrected_interval():
    ratio = holdout_ratio("hapt", folded=True)
    assert ratio == pytest.approx(6 / 20)
    df = frame({"mglwkd": BASE + 0.03, "scratch": BASE})
    c = compare(df, "mglwkd", "scratch", "hapt")
    assert c.n == 10 and c.test_train_ratio == pytest.approx(ratio)
    assert c.mean == pytest.approx(3.0) and c.verdict == "holds"


def test_single_split_runs_use_the_plain_interval():
    df = frame({"mglwkd": [0.9, 0.91, 0.92], "scratch": [0.88, 0.90, 0.93]}, folds=[0], seeds=(0, 1, 2))
    df["fold"] = np.nan  # records of the standard split carry no fold
    c = compare(df, "mglwkd", "scratch", "hapt")
    assert c.test_train_ratio == 0.0 and c.n == 3 and c.verdict == "too few runs"


def test_the_best_single_teacher_is_chosen_on_validation_not_test():
    # kd_pi is better on test, kd_signal on validation: the claim must compare with kd_signal.
    df = frame({"mglwkd": BASE, "scratch": BASE, "kd_signal": BASE - 0.02, "kd_pi": BASE + 0.01},
               val={"kd_signal": 0.9, "kd_pi": 0.8})
    assert best_single_teacher(df, "hapt") == "kd_signal"
    table = claims_table(df)
    row = table[(table["claim"].str.contains("single-teacher")) & (table["metric"] == "accuracy")].iloc[0]
    assert row["b"] == "KD, signal teacher" and row["mean"] == pytest.approx(2.0)


def test_claims_table_has_both_metrics_and_leaves_out_methods_not_run():
    df = frame({"mglwkd": BASE + 0.02, "scratch": BASE, "kd_two_avg": BASE + 0.02})
    table = claims_table(df)
    assert set(table["metric"]) == {"accuracy", "macro_f1"}
    assert set(table["b"]) == {"student from scratch", "two-teacher KD, averaged"}
    assert len(table) == 4
    tie = table[table["b"] == "two-teacher KD, averaged"].iloc[0]
    assert (tie["mean"], tie["low"], tie["high"], tie["verdict"]) == (0.0, 0.0, 0.0, "does not hold")
    assert {c[1] for c in CLAIMS} == {"mglwkd"}


def test_headline_is_written_from_the_records():
    df = frame({"mglwkd": BASE + 0.02, "scratch": BASE, "kd_signal": BASE + 0.03, "kd_pi": BASE})
    text = headline(df, "hapt")
    assert "student from scratch 85." in text and "(10 runs)" in text
    assert "mGLW-KD minus student from scratch: +2.00 points, 95 % interval [+2.00, +2.00] over 10 paired runs: **holds**" in text
    assert "mGLW-KD minus KD, signal teacher: -1.00 points" in text and "**does not hold**" in text
    assert "not on record" in headline(df, "spsw")


def test_every_single_teacher_gets_a_row_beside_the_chosen_one():
    df = frame({"mglwkd": BASE, "scratch": BASE, "kd_signal": BASE - 0.02, "kd_pi": BASE + 0.01},
               val={"kd_signal": 0.9, "kd_pi": 0.8})
    claims = claims_table(df)
    assert set(claims["role"]) == {"set in advance", "best single teacher on validation"}
    every = claims_table(df, every_single_teacher=True)
    assert len(every) == len(claims) + 2  # the other single teacher, on each metric
    other = every[every["role"] == "other single teacher"]
    assert set(other["b"]) == {"KD, PI teacher"} and not other["claim"].isin([c[0] for c in CLAIMS]).any()
    assert other["mean"].tolist() == pytest.approx([-1.0, -1.0])


@pytest.mark.parametrize("gain, rule, label", [
    (-0.03 + 0.002 * np.cos(np.arange(10)), "does not hold", "worse"),
    (0.002 * np.cos(np.arange(10)), "does not hold", "no gain of a point"),
    (0.004 + 0.0005 * np.cos(np.arange(10)), "holds", "gain below a point"),
    (0.03 + 0.002 * np.cos(np.arange(10)), "holds", "gain of a point or more"),
    (0.03 * np.cos(np.arange(10)), "unclear", "unclear"),
])
def test_claim_rows_carry_the_rule_and_its_finer_label(gain, rule, label):
    table = claims_table(frame({"mglwkd": BASE + gain, "scratch": BASE}))
    row = table[table["metric"] == "accuracy"].iloc[0]
    assert (row["verdict"], row["label"]) == (rule, label)
    assert row["verdict_text"] == (rule if rule == label else f"{rule} ({label})")
