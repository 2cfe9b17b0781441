"""Chapter 06 (results): the run records of the experiment runner as tables and figures.

Every function reads the JSON records written by :func:`mglwkd_lite.experiments.run_one` (found with
:func:`mglwkd_lite.experiments.record_paths`) or the frame of :func:`load_runs`. The judging of the
paper's claims is :mod:`mglwkd_lite.claims`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..claims import claims_table, method_name
from ..experiments import experiment_preset, record_paths, run_done, run_specs
from ..runrecord import load_runs, seed_summary  # re-exported: the frame every table here reads
from ..stats import MARGIN, MIN_PAIRS
from ._figure import AxesLike, panels

if TYPE_CHECKING:  # the styler module needs jinja2, which only the notebooks need
    from pandas.io.formats.style import Styler

__all__ = [
    "load_runs",
    "seed_summary",
    "robustness_table",
    "teacher_summary",
    "format_summary",
    "plot_methods",
    "plot_robustness",
    "paired_runs",
    "ARCHIVED_PAPER",
    "shown_sweep",
    "sweep_progress",
    "optimistic_table",
    "plot_claims",
    "claims_by_protocol",
    "verdict_table",
    "teacher_gaps",
    "teacher_fold_gaps",
    "TEACHER_NAMES",
    "recipe_table",
    "first_epoch_table",
]

ARCHIVED_PAPER = "archive/paper_3seeds_v1"
"""The first 3-seed paper sweep (commit 0771975), kept under ``results/`` as record
(``results/archive/README.md``); shown until the current code's paper sweep exists."""


def robustness_table(results_dir: str | os.PathLike = "results", preset: str | None = None,
                     metric: str = "accuracy") -> pd.DataFrame:
    """Mean test ``metric`` (percent) over seeds under each perturbation.

    Returns
    -------
    pandas.DataFrame
        Rows (data set, method), columns (perturbation, level); empty without robustness scores.
    """
    rows = []
    for path in record_paths(results_dir, preset):
        rec = json.loads(path.read_text())
        for kind, levels in (rec.get("robustness") or {}).items():
            for level, scores in levels.items():
                rows.append({**rec["spec"], "perturbation": kind, "level": float(level),
                             metric: 100 * scores[metric]})
    if not rows:
        return pd.DataFrame()
    df = pd.DataFrame(rows)
    return (df.groupby(["dataset", "method", "perturbation", "level"])[metric].mean()
            .unstack(["perturbation", "level"]).sort_index(axis=1))


TEACHER_NAMES: dict[str, str] = {"signal_teacher": "signal teacher", "pi_teacher": "PI teacher"}
"""Readable names of the teacher kinds of a run record's ``teachers`` field."""


def _fold(spec: dict[str, Any]) -> int:
    """The record's subject fold; -1 for the standard split (records without a fold)."""
    fold = spec.get("fold")
    return -1 if fold is None else int(fold)


def teacher_summary(results_dir: str | os.PathLike = "results", preset: str | None = None) -> pd.DataFrame:
    """Test accuracy and macro F1 (percent) of the teachers, one row per data set, fold and teacher.

    Read from the ``teachers`` field of the run records. A teacher is one trained model: in the fold
    sweep the teachers of a fold are trained once (teacher seed fixed) and shared by every student seed
    of that fold, so each fold has one signal and one PI teacher. Records without a fold (the standard
    split) count as one fold, numbered -1; where their teachers were trained per student seed, the
    fold's row is the mean over those teachers.

    Parameters
    ----------
    results_dir : str or os.PathLike
    preset : str, optional
        The sweep (folder under ``results_dir``).

    Returns
    -------
    pandas.DataFrame
        Indexed by (dataset, fold, teacher) with the readable teacher name
        (:data:`TEACHER_NAMES`); columns ``models`` (how many teachers the row averages: 1 in the fold
        sweep), ``accuracy`` and ``macro_f1`` (test, percent). Empty without teacher scores.
    """
    scores: dict[tuple[str, int, str, int], dict[str, float]] = {}
    for path in record_paths(results_dir, preset):
        rec = json.loads(path.read_text())
        spec = rec["spec"]
        # The teacher's own seed: fixed per fold in the fold sweep, the student's seed otherwise.
        teacher_seed = (rec.get("models") or {}).get("teacher_seed")
        seed = int(spec["seed"] if teacher_seed is None else teacher_seed)
        for kind, entry in (rec.get("teachers") or {}).items():
            scores[(spec["dataset"], _fold(spec), TEACHER_NAMES.get(kind, kind), seed)] = entry["test"]
    if not scores:
        return pd.DataFrame()
    df = pd.DataFrame([{"dataset": d, "fold": f, "teacher": k, "accuracy": 100 * v["accuracy"],
                        "macro_f1": 100 * v["macro_f1"]} for (d, f, k, _), v in scores.items()])
    grouped = df.groupby(["dataset", "fold", "teacher"], sort=True)
    out = grouped[["accuracy", "macro_f1"]].mean()
    out.insert(0, "models", grouped.size())
    return out


def format_summary(table: pd.DataFrame, metrics: Sequence[str] = ("accuracy", "macro_f1")) -> Styler:
    """``mean ± std`` strings per data set (columns) and method (rows), best mean per column in bold.

    Parameters
    ----------
    table : pandas.DataFrame
        A :func:`seed_summary`.
    metrics : sequence of str

    Returns
    -------
    pandas.io.formats.style.Styler
        Its ``.data`` is the plain string table.
    """
    cells: dict[tuple[str, str], dict[str, str]] = {}
    best = {}
    for (dataset, method), row in table.iterrows():
        for m in metrics:
            std = "" if np.isnan(row[f"{m}_std"]) else f" ± {row[f'{m}_std']:.2f}"
            cells.setdefault((dataset, m), {})[method] = f"{row[f'{m}_mean']:.2f}{std}"
    for dataset in table.index.get_level_values(0).unique():
        for m in metrics:
            best[(dataset, m)] = table.loc[dataset][f"{m}_mean"].idxmax()
    out = pd.DataFrame(cells)
    out.columns = pd.MultiIndex.from_tuples(out.columns, names=["dataset", "metric (%)"])

    def bold(col: pd.Series) -> list[str]:
        return ["font-weight: bold" if idx == best[col.name] else "" for idx in col.index]

    return out.style.apply(bold, axis=0)


def plot_methods(table: pd.DataFrame, metrics: Sequence[str] = ("accuracy", "macro_f1"),
                 axes: AxesLike = None) -> Figure:
    """Bar chart of mean test metrics with std error bars, one panel per data set.

    Parameters
    ----------
    table, metrics
        As in :func:`format_summary`.
    axes : sequence of matplotlib.axes.Axes, optional
        Draw into these (one per data set); default a new figure.

    Returns
    -------
    matplotlib.figure.Figure
    """
    datasets = list(table.index.get_level_values(0).unique())
    fig, axes = panels(axes, 1, len(datasets), figsize=(6.5 * len(datasets), 4))
    for ax, dataset in zip(axes[0], datasets):
        sub = table.loc[dataset]
        pos = np.arange(len(sub))
        width = 0.8 / len(metrics)
        for i, m in enumerate(metrics):
            ax.bar(pos + i * width, sub[f"{m}_mean"], width, yerr=sub[f"{m}_std"].fillna(0), capsize=2,
                   label=m.replace("_", " "))
        ax.set_xticks(pos + width * (len(metrics) - 1) / 2, sub.index, rotation=45, ha="right")
        low = float(np.nanmin([sub[f"{m}_mean"].min() for m in metrics]))
        ax.set_ylim(max(0.0, low - 10), 100)
        ax.set_ylabel("test score (%)")
        ax.set_title(dataset.upper())
        ax.legend(loc="lower right")
    fig.tight_layout()
    return fig


def plot_robustness(rob: pd.DataFrame, dataset: str, methods: Sequence[str], axes: AxesLike = None) -> Figure:
    """Test accuracy against perturbation level for a few methods, one panel per perturbation.

    Parameters
    ----------
    rob : pandas.DataFrame
        A :func:`robustness_table`.
    dataset : str
    methods : sequence of str
    axes : sequence of matplotlib.axes.Axes, optional
        Draw into these three (noise, missing data, rate); default a new figure.

    Returns
    -------
    matplotlib.figure.Figure
    """
    kinds = ["noise", "missing", "rate"]
    titles = {"noise": "Gaussian noise (sigma)", "missing": "missing data (ratio)", "rate": "sampling-rate factor"}
    own = axes is None  # the layout of a caller's figure is the caller's
    fig, grid = panels(axes, 1, 3, figsize=(13, 3.6), sharey=True)
    axes = list(grid[0])
    for ax, kind in zip(axes, kinds):
        for method in methods:
            if (dataset, method) not in rob.index or kind not in rob.columns.get_level_values(0):
                continue
            row = rob.loc[(dataset, method), kind].dropna()
            ax.plot(row.index, row.values, marker="o", label=method)
        ax.set_title(titles[kind])
        ax.set_xlabel("level")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("test accuracy (%)")
    axes[-1].legend()
    fig.suptitle(dataset.upper())
    if own:
        fig.tight_layout()
    return fig


def paired_runs(records: pd.DataFrame, required: Sequence[str] = ("scratch", "mglwkd"),
                dataset: str = "hapt") -> int:
    """How many runs of ``dataset`` pair up across every ``required`` method.

    Parameters
    ----------
    records : pandas.DataFrame
        The frame of :func:`load_runs` (one sweep).
    required : sequence of str
        Methods that must each have a run on the same (fold, seed).
    dataset : str

    Returns
    -------
    int
        The number of (fold, seed) held by every required method (the standard split counts as one
        fold); 0 when a method is missing.
    """
    if records.empty:
        return 0
    rows = records[records["dataset"] == dataset]
    folds = rows["fold"].fillna(-1) if "fold" in rows else pd.Series(-1, index=rows.index)
    held = [set(zip(folds[rows["method"] == m], rows.loc[rows["method"] == m, "seed"])) for m in required]
    return len(set.intersection(*held)) if held else 0


def shown_sweep(results_dir: str | os.PathLike = "results",
                required: Sequence[str] = ("scratch", "mglwkd")) -> str:
    """The folder below ``results_dir`` whose sweep the results chapter shows.

    Parameters
    ----------
    results_dir : str or os.PathLike
    required : sequence of str
        Methods the sweep must hold on HAPT, paired (:func:`paired_runs`), so the headline
        comparison exists.

    Returns
    -------
    str
        ``"folds"`` once the subject-fold sweep holds enough paired runs of HAPT for a verdict
        (:data:`mglwkd_lite.stats.MIN_PAIRS`); else ``"paper"`` once the current code's paper sweep
        holds one; else :data:`ARCHIVED_PAPER` when that folder holds records; else ``"quick"``. A
        partly run sweep is thus on record (and resumable) without replacing a complete one in the
        book. Pass it as the ``preset`` of :func:`load_runs`, :func:`robustness_table` and
        :func:`teacher_summary`.
    """
    if paired_runs(load_runs(results_dir, "folds"), required) >= MIN_PAIRS:
        return "folds"
    if paired_runs(load_runs(results_dir, "paper"), required) >= 1:
        return "paper"
    if record_paths(results_dir, ARCHIVED_PAPER):
        return ARCHIVED_PAPER
    return "quick"


def sweep_progress(results_dir: str | os.PathLike, preset: str) -> tuple[int, int]:
    """``(runs on record with their current key, runs of the sweep)`` of a registered sweep preset.

    The results chapter shows a sweep that runs across sessions (``group_folds``) only once it is
    complete, so that records landing fold by fold never change what the book states.
    """
    sweep = experiment_preset(preset)
    specs = run_specs(sweep)
    return sum(run_done(results_dir, sweep, s) for s in specs), len(specs)


def optimistic_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean honest, optimistic (best test epoch) and residual-path scores per (data set, method), in %.

    Parameters
    ----------
    runs : pandas.DataFrame
        The frame of :func:`load_runs`.

    Returns
    -------
    pandas.DataFrame
        Indexed by (dataset, readable method name); columns accuracy, best_test_accuracy,
        residual_accuracy and the same for macro F1, those absent from every run dropped.
    """
    cols = ["accuracy", "best_test_accuracy", "residual_accuracy", "macro_f1", "best_test_macro_f1",
            "residual_macro_f1"]
    present = [c for c in cols if c in runs]
    means = 100 * runs.groupby(["dataset", "method"])[present].mean()
    return means.round(2).rename(index=method_name, level="method").dropna(how="all", axis=1)


def plot_claims(claims: pd.DataFrame, margin: float = MARGIN, axes: AxesLike = None) -> Figure:
    """The answer at a glance: each claim's mean paired difference and its 95 % interval.

    One row per claim, one panel per metric, one marker per data set (per data set and protocol when
    ``claims`` has a ``protocol`` column: :func:`claims_by_protocol`); a line at 0 and one at the margin
    of the verdict rule (:mod:`mglwkd_lite.stats`). An interval wholly right of 0: the claim holds;
    wholly left of the margin: it does not; otherwise unclear.

    Parameters
    ----------
    claims : pandas.DataFrame
        :func:`mglwkd_lite.claims.claims_table` (or :func:`claims_by_protocol`).
    margin : float
        The smallest gain that counts, in points.
    axes : sequence of matplotlib.axes.Axes, optional
        One per metric (drawn into; default a new figure).

    Returns
    -------
    matplotlib.figure.Figure
    """
    metrics = list(dict.fromkeys(claims["metric"])) if not claims.empty else ["accuracy"]
    labels = list(dict.fromkeys(claims["a"] + " vs " + claims["b"])) if not claims.empty else []
    if claims.empty:
        series: list[tuple] = []
    elif "protocol" in claims:
        series = list(dict.fromkeys(zip(claims["dataset"], claims["protocol"])))
        series.sort(key=lambda s: (s[0], list(dict.fromkeys(claims["protocol"])).index(s[1])))
    else:
        series = [(d,) for d in sorted(claims["dataset"].unique())]
    own = axes is None  # the layout of a caller's figure is the caller's
    fig, grid = panels(axes, 1, len(metrics), figsize=(5.2 * len(metrics), 0.55 * max(len(labels), 2)
                                                       * max(1, len(series) / 2) + 1.4), sharey=True)
    axes = list(grid[0])
    step = 0.18 if len(series) <= 2 else 0.7 / len(series)
    for ax, metric in zip(axes, metrics):
        ax.axvline(0.0, color="0.3", lw=1)
        ax.axvline(margin, color="tab:red", lw=1, ls="--", label=f"margin (+{margin:g})")
        for j, key in enumerate(series):
            mask = (claims["metric"] == metric) & (claims["dataset"] == key[0])
            if len(key) > 1:
                mask &= claims["protocol"] == key[1]
            sub = claims[mask]
            y = np.array([labels.index(f"{a} vs {b}") for a, b in zip(sub["a"], sub["b"])], dtype=float)
            y += step * (j - (len(series) - 1) / 2)
            low = np.where(np.isfinite(sub["low"]), sub["low"], sub["mean"])
            high = np.where(np.isfinite(sub["high"]), sub["high"], sub["mean"])
            name = key[0].upper() + (f", {key[1]}" if len(key) > 1 else "")
            marker = "o" if len(key) == 1 or j % 2 == 0 else "s"
            ax.errorbar(sub["mean"], y, xerr=[sub["mean"] - low, high - sub["mean"]], fmt=marker, capsize=3,
                        label=name, color=f"C{sorted({k[0] for k in series}).index(key[0])}",
                        mfc="white" if marker == "s" else None)
        ax.set_title(f"test {metric.replace('_', ' ')}: difference (points)")
        ax.set_yticks(range(len(labels)), labels)
        ax.grid(axis="x", alpha=0.3)
    if not axes[0].yaxis_inverted():
        axes[0].invert_yaxis()  # the axes share y: invert once, the first claim on top
    axes[-1].legend(loc="lower right", fontsize="small")
    if own:
        fig.tight_layout()
    return fig


def claims_by_protocol(runs_by_protocol: dict[str, pd.DataFrame], **kwargs: Any) -> pd.DataFrame:
    """:func:`mglwkd_lite.claims.claims_table` of several sweeps, stacked with a ``protocol`` column.

    Parameters
    ----------
    runs_by_protocol : dict of str to pandas.DataFrame
        A label per sweep (e.g. ``"cold, 30 epochs"``) and its :func:`load_runs` frame, in the order to show.
    **kwargs
        Passed to :func:`mglwkd_lite.claims.claims_table`.

    Returns
    -------
    pandas.DataFrame
    """
    frames = [claims_table(runs, **kwargs).assign(protocol=label) for label, runs in runs_by_protocol.items()]
    frames = [f for f in frames if not f.empty]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def verdict_table(claims: pd.DataFrame) -> pd.DataFrame:
    """Comparisons as rows, (data set, metric) as columns: ``difference [interval] (wins): verdict (label)``.

    Parameters
    ----------
    claims : pandas.DataFrame
        :func:`mglwkd_lite.claims.claims_table`, best with ``every_single_teacher=True``: the claim
        "mGLW-KD beats the best single-teacher KD" compares with a teacher chosen per data set and
        metric, and only with every single teacher judged does each single-teacher row have a cell
        wherever its runs exist.

    Returns
    -------
    pandas.DataFrame
        Each cell: the paired difference, the rule's verdict and its finer label
        (:func:`mglwkd_lite.stats.verdict_text`), with ``[best single teacher on validation]`` where
        that row is the comparator of the best-single-teacher claim and ``[not a claim]`` where it is the
        other single teacher. "not run" only where ``claims`` has no row: the comparator has no paired
        runs on that data set (under that protocol, when ``claims`` has a ``protocol`` column).
    """
    if claims.empty:
        return pd.DataFrame()
    text = claims["verdict_text"] if "verdict_text" in claims else claims["verdict"]
    cell = claims["difference"] + ": " + text
    if "role" in claims:
        marks = {"best single teacher on validation": " [best single teacher on validation]",
                 "other single teacher": " [not a claim]"}
        cell = cell + claims["role"].map(marks).fillna("")
    columns = (["dataset", "protocol", "metric"] if "protocol" in claims else ["dataset", "metric"])
    out = claims.assign(cell=cell, comparison=claims["a"] + " vs " + claims["b"]).pivot_table(
        index="comparison", columns=columns, values="cell", aggfunc="first", sort=False)
    return out.fillna("not run")


def _scratch_per_fold(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean test scores (percent) of the scratch student per (dataset, fold), over its seeds."""
    scratch = runs[runs["method"] == "scratch"]
    folds = scratch["fold"].fillna(-1).astype(int) if "fold" in scratch else pd.Series(-1, index=scratch.index)
    return 100 * scratch.assign(fold=folds).groupby(["dataset", "fold"])[["accuracy", "macro_f1"]].mean()


def teacher_fold_gaps(results_dir: str | os.PathLike, preset: str | None, runs: pd.DataFrame) -> pd.DataFrame:
    """Each teacher's test score minus the scratch student's on the same fold (points).

    The scratch score of a fold is the mean over that fold's student seeds; the teacher's is that of
    the fold's teacher (:func:`teacher_summary`). Only folds holding both are kept.

    Parameters
    ----------
    results_dir : str or os.PathLike
    preset : str, optional
        The sweep (folder under ``results_dir``).
    runs : pandas.DataFrame
        :func:`load_runs` of the same sweep.

    Returns
    -------
    pandas.DataFrame
        Indexed by (dataset, teacher, fold) (fold -1: the standard split) with ``<metric>_teacher``,
        ``<metric>_scratch`` and ``<metric>_gap`` for accuracy and macro F1; empty without teachers or
        scratch runs.
    """
    teachers = teacher_summary(results_dir, preset)
    if teachers.empty or runs.empty:
        return pd.DataFrame()
    scratch = _scratch_per_fold(runs)
    rows = {}
    for (dataset, fold, teacher), row in teachers.iterrows():
        if (dataset, fold) not in scratch.index:
            continue
        out = {}
        for m in ("accuracy", "macro_f1"):
            out[f"{m}_teacher"] = row[m]
            out[f"{m}_scratch"] = scratch.loc[(dataset, fold), m]
            out[f"{m}_gap"] = row[m] - scratch.loc[(dataset, fold), m]
        rows[(dataset, teacher, fold)] = out
    if not rows:
        return pd.DataFrame()
    return (pd.DataFrame.from_dict(rows, orient="index").rename_axis(["dataset", "teacher", "fold"])
            .sort_index())


def teacher_gaps(results_dir: str | os.PathLike, preset: str | None, runs: pd.DataFrame) -> pd.DataFrame:
    """Each teacher's test score minus the scratch student's, paired per fold, then averaged (points).

    A teacher can only pass on what it knows beyond its student: a negative gap leaves distillation
    little to work with. The gap of a fold is its teacher against the mean of its scratch students
    (:func:`teacher_fold_gaps`); the table gives the mean over folds, so each teacher is set against
    the students of its own test subjects.

    Parameters
    ----------
    results_dir, preset, runs
        As in :func:`teacher_fold_gaps`.

    Returns
    -------
    pandas.DataFrame
        Indexed by (dataset, teacher) with ``folds`` (the paired folds; the standard split is one) and
        ``<metric>_teacher``, ``<metric>_scratch`` and ``<metric>_gap`` (means over those folds) for
        accuracy and macro F1. The gap of each fold is in :func:`teacher_fold_gaps`.
    """
    per_fold = teacher_fold_gaps(results_dir, preset, runs)
    if per_fold.empty:
        return pd.DataFrame()
    grouped = per_fold.groupby(level=["dataset", "teacher"], sort=True)
    out = pd.DataFrame({"folds": grouped.size()})
    for m in ("accuracy", "macro_f1"):
        for part in ("teacher", "scratch", "gap"):
            out[f"{m}_{part}"] = grouped[f"{m}_{part}"].mean()
    return out


def recipe_table(path: str | os.PathLike) -> pd.DataFrame:
    """The KD-recipe variants of ``benchmarks/kd_recipe.py``, in percent.

    Parameters
    ----------
    path : str or os.PathLike
        Its JSON record (``{"variants": {label: {"val_macro_f1", "val_macro_f1_epoch_1",
        "test_macro_f1", "test_accuracy", ...}}}``).

    Returns
    -------
    pandas.DataFrame
        One row per variant, in the record's order: validation macro F1 (what decides), the same after
        the first epoch, and the test macro F1 and accuracy.
    """
    variants = json.loads(Path(path).read_text(encoding="utf-8"))["variants"]
    cols = ["val_macro_f1", "val_macro_f1_epoch_1", "test_macro_f1", "test_accuracy"]
    table = pd.DataFrame.from_dict(variants, orient="index")[cols]
    return (100 * table).round(2).rename_axis("variant")


def first_epoch_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Validation macro F1 after the first epoch and of the kept model, per data set and method, in percent.

    A student that predicts one class for every window after the first epoch (at the recipe's initial
    learning rate) shows here as a first-epoch score equal to that of a constant prediction.

    Parameters
    ----------
    runs : pandas.DataFrame
        From :func:`load_runs`.

    Returns
    -------
    pandas.DataFrame
        Index (dataset, method); columns: runs, epoch 1 mean, epoch 1 max, end mean.
    """
    frame = runs.assign(epoch_1=100 * runs["val_macro_f1_epoch_1"], end=100 * runs["val_macro_f1"])
    grouped = frame.groupby(["dataset", "method"], sort=True)
    return pd.DataFrame({
        "runs": grouped.size(),
        "epoch 1 mean": grouped["epoch_1"].mean(),
        "epoch 1 max": grouped["epoch_1"].max(),
        "end mean": grouped["end"].mean(),
    }).round(1)
