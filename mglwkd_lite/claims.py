"""The paper's claims judged on the run records: paired differences, intervals and verdicts.

Each claim reads "method a beats method b" on a test metric (accuracy and macro F1 are judged
separately). The runs of a data set are paired by ``(fold, seed)``: both methods trained on the same
subjects, from the same teachers, with the same seed. :func:`mglwkd_lite.stats.paired_comparison`
turns the paired differences into a mean, a 95 % interval and a verdict by the rule fixed in
:mod:`mglwkd_lite.stats` (margin and minimum number of pairs set before any fold was run).

The interval's correction for overlapping training sets depends on the design of the records:
subject folds (the ``folds`` sweep) use the ratio of test to training subjects of a fold
(:func:`holdout_ratio`); runs on one fixed split that differ only by seed use the plain paired t
interval (ratio 0), which speaks of that split only.

The "best single teacher" comparator is chosen on **validation** scores (mean over the runs), never on
test. The claim is judged against that one teacher's KD student; :func:`claims_table` can add mGLW-KD
against the other single-teacher KD student beside it (``every_single_teacher``), so that every
comparator that ran has a verdict in the tables, marked as not one of the claims set in advance. Everything here reads the frame of :func:`mglwkd_lite.report.results.load_runs` (one
row per run: dataset, method, seed, fold when present, test and validation metrics in [0, 1]).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .data import subject_folds
from .stats import MARGIN, PairedComparison, format_comparison, paired_comparison, verdict_label, verdict_text

__all__ = [
    "CLAIMS",
    "METHOD_NAMES",
    "method_name",
    "holdout_ratio",
    "paired_scores",
    "best_single_teacher",
    "SINGLE_TEACHER_METHODS",
    "COMPARATOR_ROLES",
    "compare",
    "claims_table",
    "headline",
]

CLAIMS: tuple[tuple[str, str, str, str], ...] = (
    ("mGLW-KD beats the student trained from scratch (paper's group: +3 points on GENEActiv, +4-5 on PAMAP2)",
     "mglwkd", "scratch", "the central claim: distilled fused knowledge helps a time-series-only student"),
    ("mGLW-KD beats the best single-teacher KD", "mglwkd", "best_single", "fusing two modalities beats one"),
    ("mGLW-KD beats two-teacher KD with fixed weights (0.7 PI / 0.3 signal)", "mglwkd", "kd_two_fixed",
     "the workspace adds over plain two-teacher KD"),
    ("mGLW-KD beats two-teacher KD with averaged weights", "mglwkd", "kd_two_avg",
     "the dynamic, workspace-based weighting adds over a plain average"),
    ("mGLW-KD beats two-teacher KD at the mean weight mGLW-KD used", "mglwkd", "kd_two_mean_alpha",
     "the control: does the per-batch coefficient add over its own average?"),
    ("mGLW-KD beats the student from scratch trained as long (under a warm start)", "mglwkd", "scratch_long",
     "the warm start's control: a gain from distillation, not from the extra epochs a warm start gives"),
    ("The working memory (3 iterations, GRU) helps", "mglwkd", "mglwkd_one_iter", "ablation"),
    ("The dynamic coefficient helps", "mglwkd", "mglwkd_fixed_alpha", "ablation"),
    ("The alignment loss helps", "mglwkd", "mglwkd_no_align", "ablation"),
)
"""(claim, method a, method b, why it matters): each claim reads "a beats b"."""

METHOD_NAMES: dict[str, str] = {
    "scratch": "student from scratch",
    "scratch_long": "student from scratch, trained as long",
    "kd_signal": "KD, signal teacher",
    "kd_pi": "KD, PI teacher",
    "kd_two_fixed": "two-teacher KD, 0.7 PI / 0.3 signal",
    "kd_two_avg": "two-teacher KD, averaged",
    "kd_two_mean_alpha": "two-teacher KD at mGLW-KD's mean weight",
    "sp": "SP feature distillation",
    "at": "AT feature distillation",
    "mglwkd": "mGLW-KD",
    "mglwkd_anneal": "mGLW-KD, annealed",
    "mglwkd_one_iter": "mGLW-KD, one iteration",
    "mglwkd_fixed_alpha": "mGLW-KD, fixed coefficient",
    "mglwkd_no_align": "mGLW-KD, no alignment loss",
    "mglwkd_alpha_swapped": "mGLW-KD, coefficient swapped",
    "mglwkd_no_residual": "mGLW-KD, no residual head",
}
"""Readable names of the methods (tables and figures never show code slugs)."""


SINGLE_TEACHER_METHODS: tuple[str, ...] = ("kd_signal", "kd_pi")
"""The single-teacher KD methods, in the order the tables show them."""

COMPARATOR_ROLES: tuple[str, ...] = ("set in advance", "best single teacher on validation",
                                     "other single teacher")
"""How a row of :func:`claims_table` chose its comparator ``b``: fixed by the claim; the single-teacher
KD with the better validation score (the claim "beats the best single-teacher KD"); or the other
single-teacher KD, shown beside it and not one of the claims."""


def method_name(method: str) -> str:
    """The readable name of a method (the slug itself when it has none)."""
    return METHOD_NAMES.get(method, method)


def holdout_ratio(dataset: str, folded: bool) -> float:
    """``n_test / n_train`` (subjects) of the Nadeau-Bengio correction.

    Parameters
    ----------
    dataset : str
    folded : bool
        True for runs on the subject folds; False for runs on one fixed split (ratio 0: plain t).

    Returns
    -------
    float
    """
    if not folded:
        return 0.0
    folds = subject_folds(dataset)
    n_subjects = sum(len(test) for test, _ in folds)
    test = np.mean([len(t) for t, _ in folds])
    train = np.mean([n_subjects - len(t) - len(v) for t, v in folds])
    return float(test / train)


def _pair_key(df: pd.DataFrame) -> pd.Series:
    fold = df["fold"] if "fold" in df else pd.Series(np.nan, index=df.index)
    return pd.Series(list(zip(fold.fillna(-1).astype(int), df["seed"].astype(int))), index=df.index)


def paired_scores(df: pd.DataFrame, dataset: str, method: str, metric: str) -> dict[tuple[int, int], float]:
    """``{(fold, seed): score}`` of one method on one data set (fold -1: the standard split)."""
    sub = df[(df["dataset"] == dataset) & (df["method"] == method)]
    return dict(zip(_pair_key(sub), sub[metric].astype(float)))


def best_single_teacher(df: pd.DataFrame, dataset: str, metric: str = "accuracy") -> str | None:
    """The single-teacher KD method with the higher mean **validation** score.

    Parameters
    ----------
    df : pandas.DataFrame
    dataset : str
    metric : {"accuracy", "macro_f1"}
        Judged on ``val_<metric>``.

    Returns
    -------
    str or None
        ``"kd_signal"`` or ``"kd_pi"``; None when neither ran on ``dataset``.
    """
    sub = df[(df["dataset"] == dataset) & df["method"].isin(["kd_signal", "kd_pi"])]
    if sub.empty:
        return None
    return str(sub.groupby("method")[f"val_{metric}"].mean().idxmax())


def compare(df: pd.DataFrame, a: str, b: str, dataset: str, metric: str = "accuracy") -> PairedComparison:
    """:func:`mglwkd_lite.stats.paired_comparison` of methods ``a`` and ``b`` on one data set.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per run (:func:`mglwkd_lite.report.results.load_runs`).
    a, b : str
        Methods.
    dataset : str
    metric : {"accuracy", "macro_f1"}

    Returns
    -------
    PairedComparison
    """
    sub = df[df["dataset"] == dataset]
    folded = "fold" in sub and sub["fold"].notna().any()
    counts = sub[["fold", "test_subjects", "train_subjects"]].drop_duplicates("fold") if (
        folded and {"test_subjects", "train_subjects"} <= set(sub) and sub["train_subjects"].notna().all()) else None
    # From the records' own data summaries where they have them (a user's data set needs no entry here).
    ratio = (float(counts["test_subjects"].mean() / counts["train_subjects"].mean()) if counts is not None
             else holdout_ratio(dataset, bool(folded)))
    return paired_comparison(paired_scores(df, dataset, a, metric), paired_scores(df, dataset, b, metric),
                             test_train_ratio=ratio)


def claims_table(df: pd.DataFrame, metrics: tuple[str, ...] = ("accuracy", "macro_f1"),
                 every_single_teacher: bool = False) -> pd.DataFrame:
    """Every claim on every data set and metric: paired differences, interval, tests, verdict.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per run.
    metrics : tuple of str
    every_single_teacher : bool
        Also judge mGLW-KD against the single-teacher KD student that was *not* the best on validation
        (role ``"other single teacher"``), so that every comparator that ran has a row. Such rows are not
        claims: leave them out (the default) to count verdicts.

    Returns
    -------
    pandas.DataFrame
        Columns: claim, dataset, metric, a, b (readable names), role (one of
        :data:`COMPARATOR_ROLES`), n, mean, low, high (points), wins, t_pvalue, wilcoxon_pvalue,
        difference (text), verdict (the rule of :mod:`mglwkd_lite.stats`), label (its finer wording,
        :func:`mglwkd_lite.stats.verdict_label`), verdict_text (both, e.g. "does not hold (worse)").
        Claims whose methods were not run on a data set are left out.
    """
    rows = []
    datasets = sorted(df["dataset"].unique()) if not df.empty else []
    for dataset in datasets:
        present = set(df.loc[df["dataset"] == dataset, "method"])
        for metric in metrics:
            for claim, a, b, _ in CLAIMS:
                if b != "best_single":
                    comparators = [(claim, b, COMPARATOR_ROLES[0])]
                else:
                    best = best_single_teacher(df, dataset, metric)
                    comparators = [(claim, best, COMPARATOR_ROLES[1])] if best else []
                    if every_single_teacher:
                        comparators += [(f"mGLW-KD beats {method_name(m)} (not the best single teacher on "
                                         "validation; shown beside the claims)", m, COMPARATOR_ROLES[2])
                                        for m in SINGLE_TEACHER_METHODS if m != best]
                        order = {m: i for i, m in enumerate(SINGLE_TEACHER_METHODS)}
                        comparators.sort(key=lambda item: order.get(item[1], len(order)))
                for text, b_name, role in comparators:
                    if not {a, b_name} <= present:
                        continue
                    c = compare(df, a, b_name, dataset, metric)
                    label = verdict_label(c.low, c.high, c.n)
                    rows.append({"claim": text, "dataset": dataset, "metric": metric, "a": method_name(a),
                                 "b": method_name(b_name), "role": role,
                                 **{k: v for k, v in c.as_dict().items()
                                    if k not in ("test_train_ratio", "verdict")},
                                 "difference": format_comparison(c), "verdict": c.verdict, "label": label,
                                 "verdict_text": verdict_text(c.verdict, label)})
    return pd.DataFrame(rows)


def headline(df: pd.DataFrame, dataset: str = "hapt", metric: str = "accuracy") -> str:
    """The headline comparison on one data set as Markdown, written from the records only.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per run.
    dataset, metric : str

    Returns
    -------
    str
        Scratch, the best single-teacher KD (chosen on validation) and mGLW-KD, mean test score over
        the paired runs, then mGLW-KD's paired differences with their intervals and verdicts (the rule's
        verdict in bold, its finer label of :func:`mglwkd_lite.stats.verdict_label` beside it).
    """
    sub = df[df["dataset"] == dataset]
    if not {"scratch", "mglwkd"} <= set(sub["method"]):
        return f"*{dataset.upper()}: the scratch and mGLW-KD runs are not on record yet.*"
    best = best_single_teacher(df, dataset, metric)
    methods = ["scratch"] + ([best] if best else []) + ["mglwkd"]
    label = metric.replace("_", " ")

    def score(m: str) -> str:
        values = 100 * sub.loc[sub["method"] == m, metric]
        return f"{method_name(m)} {values.mean():.1f} % ({len(values)} runs)"

    lines = [f"**{dataset.upper()}**, test {label}: " + ", ".join(score(m) for m in methods) + "."]
    for other in methods[:-1]:
        c = compare(df, "mglwkd", other, dataset, metric)
        interval = ("" if not math.isfinite(c.low)
                    else f", 95 % interval [{c.low:+.2f}, {c.high:+.2f}]")
        label = verdict_label(c.low, c.high, c.n)
        finer = "" if label == c.verdict else f"{label}; "
        lines.append(f"mGLW-KD minus {method_name(other)}: {c.mean:+.2f} points{interval} over {c.n} paired "
                     f"runs: **{c.verdict}** ({finer}margin {MARGIN:g} point).")
    return " ".join(lines)
