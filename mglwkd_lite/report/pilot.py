"""The protocol pilot's tables and figure (validation subjects only; notebook 05).

Reads the frames of :func:`mglwkd_lite.protocol.load_pilot` and
:func:`mglwkd_lite.protocol.load_pilot_teachers`; the rules that decide are
:func:`mglwkd_lite.protocol.choose_budget` and :func:`mglwkd_lite.protocol.choose_logit_std`. Every
score here is on the validation subjects of the pilot's fold; the pilot's records hold no test score.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from ..experiments import RunSpec, experiment_preset, result_path
from ..protocol import BUDGETS, PILOT_KD_METHOD, choose_budget, choose_logit_std, sweep_budgets

__all__ = [
    "mean_sd",
    "budget_table",
    "teacher_table",
    "start_table",
    "reproduction_table",
    "plot_budget",
    "group_pi_teacher_cost",
    "measured_throughput",
    "decisions",
    "sweep_hours",
]


def mean_sd(values: pd.Series, scale: float = 100.0) -> str:
    """``"mean ± sd (n)"`` of ``values`` times ``scale`` (sample sd; no sd for one value)."""
    v = scale * values.to_numpy(dtype=float)
    if len(v) == 0:
        return "-"
    sd = f" ± {np.std(v, ddof=1):.2f}" if len(v) > 1 else ""
    return f"{np.mean(v):.2f}{sd} ({len(v)})"


def budget_table(runs: pd.DataFrame) -> pd.DataFrame:
    """The scratch student at each budget: validation macro F1 (mean ± sd over runs), the rule, the cost.

    Parameters
    ----------
    runs : pandas.DataFrame
        :func:`mglwkd_lite.protocol.load_pilot`.

    Returns
    -------
    pandas.DataFrame
        Index (dataset, epochs); columns: val macro F1 (%), val accuracy (%), threshold (%), passes,
        minutes per run (median).
    """
    _, rule = choose_budget(runs)
    scratch = runs[runs["method"] == "scratch"]
    grouped = scratch.groupby(["dataset", "epochs"])
    out = pd.DataFrame({
        "val macro F1 (%)": grouped["val_macro_f1"].apply(mean_sd),
        "val accuracy (%)": grouped["val_accuracy"].apply(mean_sd),
        "threshold (%)": (100 * rule["threshold"]).round(2),
        "passes": rule["passes"].map({True: "yes", False: "no"}),
        "minutes per run": (grouped["train_seconds"].median() / 60).round(1),
    })
    return out


def teacher_table(runs: pd.DataFrame, teachers: pd.DataFrame, epochs: int) -> pd.DataFrame:
    """Each teacher at ``epochs`` against the scratch student at the same budget, on validation.

    Parameters
    ----------
    runs, teachers : pandas.DataFrame
        :func:`mglwkd_lite.protocol.load_pilot` and :func:`mglwkd_lite.protocol.load_pilot_teachers`.
    epochs : int

    Returns
    -------
    pandas.DataFrame
        Index (dataset, fold, teacher); columns: teacher val macro F1 and accuracy (%), the scratch
        students' mean and sd (%), the gap in points (teacher minus the scratch mean), whether the
        teacher is above the scratch mean by more than its sd, and its training minutes.
    """
    if teachers.empty:
        return pd.DataFrame()
    scratch = runs[(runs["method"] == "scratch") & (runs["epochs"] == epochs)]
    rows = []
    for _, t in teachers[teachers["epochs"] == epochs].iterrows():
        s = scratch[(scratch["dataset"] == t["dataset"]) & (scratch["fold"] == t["fold"])]["val_macro_f1"]
        mean, sd = 100 * s.mean(), 100 * s.std(ddof=1)
        rows.append({"dataset": t["dataset"], "fold": t["fold"], "teacher": t["teacher"].replace("_", " "),
                     "teacher val macro F1 (%)": round(100 * t["val_macro_f1"], 2),
                     "teacher val accuracy (%)": round(100 * t["val_accuracy"], 2),
                     "scratch val macro F1 (%)": mean_sd(s),
                     "gap (points)": round(100 * t["val_macro_f1"] - mean, 2),
                     "stronger": "yes" if 100 * t["val_macro_f1"] - mean > sd else "no",
                     "minutes": round(t["seconds"] / 60, 1) if t["seconds"] is not None else np.nan})
    return pd.DataFrame(rows).set_index(["dataset", "fold", "teacher"]).sort_index()


_START_ROWS = (
    ("scratch", "cold", False, "scratch student"),
    ("scratch_long", "warm", False, "scratch, trained as long"),
    (PILOT_KD_METHOD, "cold", True, "KD, cold, logit std"),
    (PILOT_KD_METHOD, "cold", False, "KD, cold, no logit std"),
    (PILOT_KD_METHOD, "warm", True, "KD, warm, logit std"),
    (PILOT_KD_METHOD, "warm", False, "KD, warm, no logit std"),
)


def start_table(runs: pd.DataFrame, epochs: int) -> pd.DataFrame:
    """The start and standardisation cells at ``epochs``, beside the scratch student and its control.

    Returns
    -------
    pandas.DataFrame
        Index (dataset, row); columns: validation macro F1 and accuracy (mean ± sd (runs), %), the
        validation macro F1 after the first epoch (mean, %) and minutes per run (median). Rows without
        runs are left out.
    """
    at = runs[runs["epochs"] == epochs]
    rows = []
    for dataset in sorted(at["dataset"].unique()):
        for method, start, std, label in _START_ROWS:
            sub = at[(at["dataset"] == dataset) & (at["method"] == method) & (at["start"] == start)]
            if method == PILOT_KD_METHOD:
                sub = sub[sub["logit_std"] == std]
            if sub.empty:
                continue
            rows.append({"dataset": dataset, "row": label, "val macro F1 (%)": mean_sd(sub["val_macro_f1"]),
                         "val accuracy (%)": mean_sd(sub["val_accuracy"]),
                         "epoch 1 val macro F1 (%)": round(100 * sub["val_macro_f1_epoch_1"].mean(), 1),
                         "minutes per run": round(sub["train_seconds"].median() / 60, 1)})
    return pd.DataFrame(rows).set_index(["dataset", "row"]) if rows else pd.DataFrame()


def reproduction_table(runs: pd.DataFrame, results_dir: str | os.PathLike) -> pd.DataFrame:
    """The pilot's 30-epoch scratch runs against the first fold sweep's records of the same configuration.

    Parameters
    ----------
    runs : pandas.DataFrame
        :func:`mglwkd_lite.protocol.load_pilot`.
    results_dir : str or os.PathLike
        Where the sweep's records are (``results``).

    Returns
    -------
    pandas.DataFrame
        One row per pilot run that the sweep also holds: both validation macro F1 values (full
        precision) and whether they are identical.
    """
    sweep = experiment_preset("folds")
    rows = []
    for _, r in runs[(runs["method"] == "scratch") & (runs["epochs"] == 30)].iterrows():
        path = result_path(results_dir, sweep, RunSpec(r["dataset"], "scratch", int(r["seed"]), int(r["fold"])))
        if not Path(path).is_file():
            continue
        record = json.loads(Path(path).read_text(encoding="utf-8"))
        rows.append({"dataset": r["dataset"], "fold": int(r["fold"]), "seed": int(r["seed"]),
                     "pilot val macro F1": r["val_macro_f1"], "sweep val macro F1": record["metrics"]["val"]["macro_f1"],
                     "identical": r["val_macro_f1"] == record["metrics"]["val"]["macro_f1"]})
    return pd.DataFrame(rows)


def plot_budget(runs: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Validation macro F1 of the scratch student against the budget: each run, and the mean per data set.

    Parameters
    ----------
    runs : pandas.DataFrame
        :func:`mglwkd_lite.protocol.load_pilot`.
    ax : matplotlib.axes.Axes, optional
        Where to draw (a new figure when None).

    Returns
    -------
    matplotlib.axes.Axes
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 3.6))
    scratch = runs[runs["method"] == "scratch"]
    for dataset, sub in scratch.groupby("dataset", sort=True):
        means = sub.groupby("epochs")["val_macro_f1"].mean()
        line, = ax.plot(means.index, 100 * means.values, marker="o", label=dataset.upper())
        ax.scatter(sub["epochs"], 100 * sub["val_macro_f1"], color=line.get_color(), alpha=0.4, s=14)
    ax.set_xscale("log")
    ax.set_xticks(sorted(scratch["epochs"].unique()), [str(e) for e in sorted(scratch["epochs"].unique())])
    ax.set_xlabel("epochs (the group's steps at 1/18, 1/3, 2/3)")
    ax.set_ylabel("validation macro F1 (%)")
    ax.set_title("scratch student: budget")
    ax.grid(alpha=0.3)
    ax.legend()
    return ax


def group_pi_teacher_cost(train_windows: int, windows_per_s: float, epochs: int = 200) -> dict[str, float]:
    """Hours to train the PI teacher at the group's size (2-D WRN16-3 on 64 x 64 images) on one fold.

    Parameters
    ----------
    train_windows : int
        Training windows of the fold.
    windows_per_s : float
        Its measured training throughput (``benchmarks/results/teacher_throughput.json``).
    epochs : int

    Returns
    -------
    dict
        ``{"windows", "windows_per_s", "epochs", "hours"}``.
    """
    return {"windows": int(train_windows), "windows_per_s": float(windows_per_s), "epochs": int(epochs),
            "hours": train_windows * epochs / windows_per_s / 3600}


def measured_throughput(path: str | os.PathLike, model: str, input_shape: str, channels_last: bool = True) -> float:
    """Training windows per second of one model in ``benchmarks/results/teacher_throughput.json`` (one thread).

    Raises
    ------
    KeyError
        When the record holds no such row (named in the message).
    """
    rows = json.loads(Path(path).read_text(encoding="utf-8"))["rows"]
    for row in rows:
        if row["model"] == model and row["input"] == input_shape and row["channels_last"] == channels_last:
            return float(row["train_windows_per_s"])
    raise KeyError(f"{path}: no row for {model} on {input_shape} (channels_last={channels_last})")


def sweep_hours(results_dir: str | os.PathLike, budgets: tuple[int, ...] = BUDGETS) -> dict[tuple[str, int], float]:
    """Estimated wall hours (two cores) of the protocol sweep's runs per ``(dataset, epochs)``.

    Summed over the folds of ``sweep_cost_protocol_e<epochs>.json`` (``benchmarks/sweep_cost.py
    --protocol-epochs``) in ``results_dir``.
    """
    hours: dict[tuple[str, int], float] = {}
    for epochs in budgets:
        path = Path(results_dir) / f"sweep_cost_protocol_e{epochs}.json"
        per_fold = json.loads(path.read_text(encoding="utf-8"))["per_fold_wall_hours"]
        for name, h in per_fold.items():
            dataset = name.split()[0]
            hours[(dataset, epochs)] = hours.get((dataset, epochs), 0.0) + float(h)
    return hours


def decisions(runs: pd.DataFrame, hours: dict[tuple[str, int], float] | None = None) -> str:
    """What the pilot's rules decide from the runs on record, or which cells they still wait for.

    Parameters
    ----------
    runs : pandas.DataFrame
        :func:`mglwkd_lite.protocol.load_pilot`.
    hours : dict, optional
        :func:`sweep_hours`: with it, a line for the sweep's budget per data set
        (:func:`mglwkd_lite.protocol.sweep_budgets`).

    Returns
    -------
    str
        One line for the budget, one for the sweep's budgets (with ``hours``) and one for logit
        standardisation.
    """
    try:
        epochs, table = choose_budget(runs)
    except ValueError as err:
        return f"budget: not decided yet ({err})\nlogit standardisation: not decided yet (needs the budget)"
    lines = [f"budget: {epochs} epochs (the smallest within the seed spread of the longest, on every data set)"]
    if hours is not None:
        cut = sweep_budgets(epochs, table, hours)
        total = sum(hours[(d, e)] for d, e in cut.items())
        lines.append("sweep budget: " + ", ".join(f"{d} {e} epochs" for d, e in cut.items())
                     + f" (estimated {total:.1f} h on two cores)")
    try:
        keep, _ = choose_logit_std(runs[runs["epochs"] == epochs])
        lines.append("logit standardisation: " + ("kept (the group's)" if keep else "dropped"))
    except ValueError as err:
        lines.append(f"logit standardisation: not decided yet ({err})")
    return "\n".join(lines)
