"""The paper's claims beside what the run records measured: paired differences and verdicts.

Each claim reads "method a beats method b" on a test metric. The runs of one data set are paired
by seed; the per-seed differences give a mean, a spread and a count of seeds won, and a simple rule
turns them into a verdict (:func:`verdict`). Everything here reads the frame of
:func:`mglwkd_lite.report.results.load_runs` (one row per run: dataset, method, seed and metrics in
[0, 1]) and nothing else, so this module can be replaced as a whole.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "CLAIMS",
    "paired_difference",
    "verdict",
    "format_difference",
    "best_single_teacher",
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
    ("The working memory (3 iterations, GRU) helps", "mglwkd", "mglwkd_one_iter", "ablation"),
    ("The dynamic coefficient helps", "mglwkd", "mglwkd_fixed_alpha", "ablation"),
    ("The alignment loss helps", "mglwkd", "mglwkd_no_align", "ablation"),
)
"""(claim, method a, method b, why it matters): each claim reads "a beats b" on test accuracy."""

_NO_DATA: dict[str, Any] = {"seeds": 0, "mean": np.nan, "std": np.nan, "wins": 0}


def paired_difference(df: pd.DataFrame, a: str, b: str, dataset: str, metric: str = "accuracy") -> dict[str, Any]:
    """Per-seed difference ``a - b`` of a test metric (points), paired by seed.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per run.
    a, b : str
        Methods.
    dataset : str
    metric : str

    Returns
    -------
    dict
        ``{"mean", "std", "seeds", "wins"}`` where ``wins`` counts the seeds with ``a > b``;
        ``seeds == 0`` when the two methods share no seed on that data set.
    """
    sub = df[df["dataset"] == dataset].pivot_table(index="seed", columns="method", values=metric)
    if a not in sub or b not in sub:
        return dict(_NO_DATA)
    d = 100 * (sub[a] - sub[b]).dropna()
    return {"mean": float(d.mean()) if len(d) else np.nan, "std": float(d.std(ddof=1)) if len(d) > 1 else np.nan,
            "seeds": int(len(d)), "wins": int((d > 0).sum())}


def verdict(diff: dict[str, Any]) -> str:
    """The verdict of a :func:`paired_difference`.

    Parameters
    ----------
    diff : dict

    Returns
    -------
    str
        ``holds`` when ``a`` beats ``b`` on every seed (at least 3), ``does not hold`` when the mean
        difference is <= 0, ``unclear`` otherwise (mixed seeds, or fewer than 3 seeds), ``not run``
        when the comparison has no data.
    """
    if diff["seeds"] == 0:
        return "not run"
    if diff["mean"] <= 0:
        return "does not hold"
    if diff["seeds"] >= 3 and diff["wins"] == diff["seeds"]:
        return "holds"
    return "unclear"


def format_difference(diff: dict[str, Any]) -> str:
    """A :func:`paired_difference` as text: ``+m ± s`` (points), ``+m`` for one seed, ``-`` for none."""
    if diff["seeds"] == 0:
        return "-"
    return f"{diff['mean']:+.2f}" + (f" ± {diff['std']:.2f}" if diff["seeds"] > 1 else "")


def best_single_teacher(df: pd.DataFrame, dataset: str, metric: str = "accuracy") -> str | None:
    """The single-teacher KD method (``kd_signal`` or ``kd_pi``) with the higher mean test metric.

    Returns
    -------
    str or None
        None when neither ran on ``dataset``.
    """
    sub = df[(df["dataset"] == dataset) & df["method"].isin(["kd_signal", "kd_pi"])]
    if sub.empty:
        return None
    return str(sub.groupby("method")[metric].mean().idxmax())


def claims_table(df: pd.DataFrame, metric: str = "accuracy") -> pd.DataFrame:
    """The paper's claims beside what was measured: one row per claim and data set.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per run.
    metric : str

    Returns
    -------
    pandas.DataFrame
        Columns: claim, dataset, compared, difference (mean +- std over seeds, points), seeds won,
        verdict (see :func:`verdict`).
    """
    rows = []
    for dataset in sorted(df["dataset"].unique()) if not df.empty else []:
        for claim, a, b, _ in CLAIMS:
            b_name = best_single_teacher(df, dataset, metric) if b == "best_single" else b
            diff = paired_difference(df, a, b_name, dataset, metric) if b_name else dict(_NO_DATA)
            rows.append({"claim": claim, "dataset": dataset, "compared": f"{a} - {b_name or b}",
                         "difference": format_difference(diff),
                         "seeds won": f"{diff['wins']}/{diff['seeds']}", "verdict": verdict(diff)})
    return pd.DataFrame(rows)


_NAMES = {"scratch": "the student from scratch", "mglwkd": "mGLW-KD", "kd_signal": "KD from the signal teacher",
          "kd_pi": "KD from the PI teacher"}


def headline(df: pd.DataFrame, dataset: str = "hapt", metric: str = "accuracy") -> str:
    """The headline comparison on one data set as Markdown.

    Scratch, the best single-teacher KD and mGLW-KD (mean ± std over seeds), then mGLW-KD's paired
    differences and their verdicts. Written from the records only, so the results chapter's summary
    never holds a typed number.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per run.
    dataset, metric : str

    Returns
    -------
    str
    """
    sub = df[df["dataset"] == dataset]
    if not {"scratch", "mglwkd"} <= set(sub["method"]):
        return f"*{dataset.upper()}: the scratch and mGLW-KD runs are not on record yet.*"
    best = best_single_teacher(df, dataset, metric)
    methods = ["scratch"] + ([best] if best else []) + ["mglwkd"]

    def score(m: str) -> str:
        values = 100 * sub.loc[sub["method"] == m, metric]
        spread = f" ± {values.std(ddof=1):.1f}" if len(values) > 1 else ""
        return f"{_NAMES[m]} {values.mean():.1f}{spread} % ({len(values)} seed{'s' if len(values) != 1 else ''})"

    label = metric.replace("_", " ")
    lines = [f"**{dataset.upper()}**, test {label}: " + ", ".join(score(m) for m in methods) + "."]
    for other in methods[:-1]:
        diff = paired_difference(df, "mglwkd", other, dataset, metric)
        lines.append(f"mGLW-KD minus {_NAMES[other]}: {format_difference(diff)} points, higher on "
                     f"{diff['wins']} of {diff['seeds']} seeds: **{verdict(diff)}**.")
    return " ".join(lines)
