"""The pilot that chooses the group's protocol on validation subjects, and the rules it decides by.

The group's released code (``TDA_KD/train_ad.py``) trains 200 epochs and starts every distilled
student from a trained one (``--student-checkpoint``); the first fold sweep of this project trained
30 epochs from random weights. The pilot asks, on the **validation subjects** of one subject fold
(folds 0 and 1 were planned; see :data:`PILOT_FOLDS`) and three student seeds per cell:

1. **Budget** -- the scratch student at 30, 100 and 200 epochs (the group's step proportions):
   :func:`choose_budget`.
2. **Teachers** at that budget, trained once per fold as the sweep trains them: are they stronger
   than the scratch student?
3. **Start and logit standardisation** -- KD from the signal teacher, cold or warm, with and without
   logit standardisation, beside "scratch, trained as long" (``scratch_long``): :func:`choose_logit_std`.

Every cell is an :class:`~mglwkd_lite.experiments.ExperimentPreset` whose name says what it is
(:func:`pilot_preset`): ``e<epochs>`` holds the scratch student and ``scratch_long``;
``e<epochs>-<start>-<std|nostd>`` holds the KD student under that start and standardisation. Pilot
records are *blind* (:func:`mglwkd_lite.experiments.blind_record`): they hold no test score at all.

The rules below were written and committed before any pilot run existed (2026-12-07); the test
subjects decide nothing.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import statistics

import pandas as pd

from .experiments import ExperimentError, ExperimentPreset, record_paths
from .model_presets import ModelsPreset
from .presets import Protocol
from .train import TrainConfig

__all__ = [
    "BUDGETS",
    "PILOT_FOLDS",
    "PILOT_SEEDS",
    "PILOT_DATASETS",
    "PILOT_KD_METHOD",
    "STARTS",
    "budget_models",
    "pilot_preset",
    "load_pilot",
    "load_pilot_teachers",
    "budget_presets",
    "start_presets",
    "choose_budget",
    "choose_logit_std",
    "SWEEP_HOURS",
    "sweep_budgets",
]

BUDGETS: tuple[int, ...] = (30, 100, 200)
"""Epochs tried for the scratch student (the group's four learning-rate steps scaled to each)."""
PILOT_DATASETS: tuple[str, ...] = ("hapt", "spsw")
PILOT_FOLDS: tuple[int, ...] = (0,)
"""Subject folds of the pilot: fold 0 only. Folds 0 and 1 would take 11.2 core-hours (5.6 h on two cores),
fold 0 alone 5.4 (``benchmarks/pilot.py --estimate``): one fold rather than fewer seeds."""
PILOT_SEEDS: tuple[int, ...] = (0, 1, 2)
PILOT_KD_METHOD = "kd_signal"
"""The KD student of the start and standardisation cells (the cheapest KD method, one teacher)."""
STARTS: tuple[str, ...] = ("cold", "warm")
SWEEP_HOURS: tuple[float, float] = (10.0, 0.1)
"""The protocol sweep's wall-time limit on two cores and the tolerance of "about" it: 10 h, 10 %."""

_NAME = re.compile(r"^e(?P<epochs>\d+)(?:-(?P<start>cold|warm)-(?P<std>std|nostd))?$")


def budget_models(epochs: int) -> ModelsPreset:
    """The fold sweep's models (the ``full`` recipe, teachers once per fold with seed 0) at ``epochs``.

    At 30 epochs this is exactly the first fold sweep's models preset, so the pilot's 30-epoch scratch
    runs are the sweep's own runs of the same configuration (and must reproduce them).
    """
    return ModelsPreset.from_recipe("full", train=TrainConfig.preset("full", epochs=int(epochs)), teacher_seed=0)


def pilot_preset(name: str, datasets: tuple[str, ...] = PILOT_DATASETS, folds: tuple[int, ...] = PILOT_FOLDS,
                 seeds: tuple[int, ...] = PILOT_SEEDS) -> ExperimentPreset:
    """The blind experiment preset of a pilot cell, from its name.

    Parameters
    ----------
    name : str
        ``e<epochs>`` (the scratch student and ``scratch_long``) or ``e<epochs>-<cold|warm>-<std|nostd>``
        (:data:`PILOT_KD_METHOD` under that start and logit standardisation).
    datasets, folds, seeds : tuple
        The grid (the pilot's by default).

    Returns
    -------
    mglwkd_lite.experiments.ExperimentPreset

    Raises
    ------
    mglwkd_lite.experiments.ExperimentError
        For a name that is not a pilot cell.
    """
    match = _NAME.match(name)
    if match is None:
        raise ExperimentError(f"not a pilot cell name: {name!r}; expected e<epochs> or e<epochs>-<cold|warm>-<std|nostd>")
    models = budget_models(int(match["epochs"]))
    if match["start"] is None:
        return ExperimentPreset(name, datasets, ("scratch", "scratch_long"), seeds, models, robustness=False,
                                folds=folds, blind=True)
    protocol = Protocol(f"{match['start']}-{match['std']}", warm_start=match["start"] == "warm",
                        logit_std=match["std"] == "std")
    return ExperimentPreset(name, datasets, (PILOT_KD_METHOD,), seeds, models, robustness=False, folds=folds,
                            protocol=protocol, blind=True)


def budget_presets(**grid) -> list[ExperimentPreset]:
    """The budget cells: the scratch student only, at every budget of :data:`BUDGETS`."""
    return [dataclasses.replace(pilot_preset(f"e{e}", **grid), methods=("scratch",)) for e in BUDGETS]


def start_presets(epochs: int, **grid) -> list[ExperimentPreset]:
    """The start cells at ``epochs``: ``scratch_long``, then the KD student warm (the cells the rule reads)
    and cold, each with and without logit standardisation."""
    long = dataclasses.replace(pilot_preset(f"e{epochs}", **grid), methods=("scratch_long",))
    return [long] + [pilot_preset(f"e{epochs}-{start}-{std}", **grid) for start in ("warm", "cold")
                     for std in ("std", "nostd")]


def _records(root: str | os.PathLike) -> list[tuple[os.PathLike, dict]]:
    out = []
    for path in record_paths(root):
        try:
            out.append((path, json.loads(path.read_text(encoding="utf-8"))))
        except json.JSONDecodeError as err:
            raise ExperimentError(f"{path}: not a pilot record ({err})") from err
    return out


def load_pilot(root: str | os.PathLike) -> pd.DataFrame:
    """Every pilot run record under ``root`` as a frame, one row per run (validation scores only).

    Parameters
    ----------
    root : str or os.PathLike
        The pilot's records (``benchmarks/results/pilot``).

    Returns
    -------
    pandas.DataFrame
        Columns: cell, dataset, fold, seed, method, epochs, start (``"warm"`` when the student began
        from the scratch student), logit_std, val_accuracy, val_macro_f1, val_macro_f1_epoch_1,
        train_seconds, epoch_seconds (median over the epochs), commit, dirty. Empty when there is none.

    Raises
    ------
    mglwkd_lite.experiments.ExperimentError
        For a record that is not blind (a pilot never holds a test score) or does not parse.
    """
    rows = []
    for path, rec in _records(root):
        try:
            if not rec.get("blind") or "test" in rec["metrics"]:
                raise ExperimentError(f"{path}: a pilot record must be blind (no test score)")
            history = rec["history"]
            rows.append({
                "cell": rec["preset"], **rec["spec"], "epochs": rec["models"]["train"]["epochs"],
                "start": "warm" if rec["method"]["anneal"] else "cold", "logit_std": bool(rec["method"]["logit_std"]),
                "val_accuracy": rec["metrics"]["val"]["accuracy"], "val_macro_f1": rec["metrics"]["val"]["macro_f1"],
                "val_macro_f1_epoch_1": history[0]["val_macro_f1"], "train_seconds": rec["timings"]["train_seconds"],
                "epoch_seconds": statistics.median(row["seconds"] for row in history),
                "commit": rec["code"]["commit"], "dirty": rec["code"]["dirty"],
            })
        except (KeyError, IndexError, TypeError) as err:
            raise ExperimentError(f"{path}: not a pilot record ({type(err).__name__}: {err})") from err
    return pd.DataFrame(rows)


def load_pilot_teachers(root: str | os.PathLike) -> pd.DataFrame:
    """The teachers the pilot's KD students learnt from, one row per trained teacher (validation only).

    Returns
    -------
    pandas.DataFrame
        Columns: dataset, fold, epochs, teacher, val_accuracy, val_macro_f1, seconds, key.
    """
    rows = {}
    for _, rec in _records(root):
        for kind, t in (rec.get("teachers") or {}).items():
            rows[t["key"]] = {"dataset": rec["spec"]["dataset"], "fold": rec["spec"]["fold"],
                              "epochs": rec["models"]["train"]["epochs"], "teacher": kind,
                              "val_accuracy": t["val"]["accuracy"], "val_macro_f1": t["val"]["macro_f1"],
                              "seconds": t.get("seconds"), "key": t["key"]}
    return pd.DataFrame(list(rows.values()))


def choose_budget(runs: pd.DataFrame, budgets: tuple[int, ...] = BUDGETS,
                  metric: str = "val_macro_f1") -> tuple[int, pd.DataFrame]:
    """The rule for the budget, fixed before the pilot ran.

    For every data set, ``m_b`` is the mean validation macro F1 of the scratch student at budget ``b``
    over its runs (folds x seeds) and ``s`` the sample standard deviation of the runs at the largest
    budget. A budget *passes* on a data set when ``m_b >= m_largest - s``: it is within the seed
    spread of the longest schedule. The chosen budget is the smallest that passes on every data set
    (the largest always passes).

    Parameters
    ----------
    runs : pandas.DataFrame
        Pilot runs (:func:`mglwkd_lite.report.pilot.load_pilot`): columns dataset, method, epochs and
        ``metric``; only the scratch student's rows are read.
    budgets : tuple of int
    metric : str

    Returns
    -------
    epochs : int
    table : pandas.DataFrame
        Per (dataset, epochs): runs, mean, std, the threshold and whether the budget passes.

    Raises
    ------
    ValueError
        When a data set lacks runs at a budget, or has fewer than two at the largest (no spread).
    """
    scratch = runs[runs["method"] == "scratch"]
    rows = []
    for dataset, sub in scratch.groupby("dataset", sort=True):
        top = sub.loc[sub["epochs"] == max(budgets), metric]
        if len(top) < 2:
            raise ValueError(f"{dataset}: the rule needs at least 2 runs at {max(budgets)} epochs, got {len(top)}")
        threshold = float(top.mean() - top.std(ddof=1))
        for epochs in budgets:
            values = sub.loc[sub["epochs"] == epochs, metric]
            if values.empty:
                raise ValueError(f"{dataset}: no scratch run at {epochs} epochs")
            rows.append({"dataset": dataset, "epochs": epochs, "runs": len(values), "mean": float(values.mean()),
                         "std": float(values.std(ddof=1)), "threshold": threshold,
                         "passes": bool(values.mean() >= threshold)})
    table = pd.DataFrame(rows).set_index(["dataset", "epochs"])
    passing = [e for e in budgets if table.xs(e, level="epochs")["passes"].all()]
    return int(min(passing)), table


def choose_logit_std(runs: pd.DataFrame, start: str = "warm", metric: str = "val_macro_f1") -> tuple[bool, pd.DataFrame]:
    """The rule for logit standardisation, fixed before the pilot ran.

    At the protocol's start (the group's warm start), for every data set: ``d`` is the mean validation
    macro F1 of the KD student *without* standardisation minus *with* it, over the runs of each
    (folds x seeds), and ``s`` the larger of the two cells' sample standard deviations. The group's
    standardisation is kept unless dropping it is better beyond the spread on at least one data set
    (``d > s``) and worse beyond it on none (``d >= -s`` everywhere).

    Parameters
    ----------
    runs : pandas.DataFrame
        Pilot runs with columns dataset, method, start, logit_std and ``metric``.
    start : {"warm", "cold"}
    metric : str

    Returns
    -------
    logit_std : bool
        True: keep the group's standardisation.
    table : pandas.DataFrame
        Per data set: both means and spreads, ``d``, ``s`` and the verdict of each side.

    Raises
    ------
    ValueError
        When a data set lacks runs with or without standardisation.
    """
    kd = runs[(runs["method"] == PILOT_KD_METHOD) & (runs["start"] == start)]
    rows = []
    for dataset, sub in kd.groupby("dataset", sort=True):
        on, off = sub.loc[sub["logit_std"] == True, metric], sub.loc[sub["logit_std"] == False, metric]  # noqa: E712
        if len(on) < 2 or len(off) < 2:
            raise ValueError(f"{dataset}: the rule needs at least 2 runs with and without standardisation "
                             f"({start} start), got {len(on)} and {len(off)}")
        d = float(off.mean() - on.mean())
        s = float(max(on.std(ddof=1), off.std(ddof=1)))
        rows.append({"dataset": dataset, "std_mean": float(on.mean()), "std_sd": float(on.std(ddof=1)),
                     "nostd_mean": float(off.mean()), "nostd_sd": float(off.std(ddof=1)), "d": d, "s": s,
                     "nostd_better": d > s, "nostd_worse": d < -s})
    if not rows:
        raise ValueError(f"no {PILOT_KD_METHOD} runs at the {start} start")
    table = pd.DataFrame(rows).set_index("dataset")
    drop = bool(table["nostd_better"].any() and not table["nostd_worse"].any())
    return (not drop), table


def sweep_budgets(chosen: int, table: pd.DataFrame, hours: dict[tuple[str, int], float],
                  limit: tuple[float, float] = SWEEP_HOURS) -> dict[str, int]:
    """The rule that cuts the protocol sweep to about 10 hours, fixed (2026-12-08) before any of its runs.

    Every data set keeps the ``chosen`` budget when the estimated wall time of the whole sweep is within
    ``limit`` (hours, tolerance). Otherwise budgets are cut only where the pilot showed the cut costs
    nothing: on a data set where a smaller budget *passed* the budget rule (:func:`choose_budget`), the
    dearest such data set first, to the largest passing budget that brings the estimate within the
    limit (or its smallest passing budget, and then the next data set).

    Parameters
    ----------
    chosen : int
        The budget :func:`choose_budget` chose.
    table : pandas.DataFrame
        :func:`choose_budget`'s table (index dataset, epochs; column ``passes``).
    hours : dict
        Estimated wall hours of the sweep's runs of ``(dataset, epochs)`` (``benchmarks/sweep_cost.py``).
    limit : tuple of float
        ``(hours, tolerance)``: within when the total is at most ``hours * (1 + tolerance)``.

    Returns
    -------
    dict of str to int
        Epochs per data set.
    """
    budgets = {dataset: chosen for dataset in table.index.get_level_values("dataset").unique()}
    ceiling = limit[0] * (1 + limit[1])

    def total() -> float:
        return sum(hours[(d, e)] for d, e in budgets.items())

    for dataset in sorted(budgets, key=lambda d: -hours[(d, chosen)]):
        passing = sorted((e for e, ok in table.loc[dataset, "passes"].items() if ok and e < chosen), reverse=True)
        for epochs in passing:
            if total() <= ceiling:
                break
            budgets[dataset] = epochs
        if total() <= ceiling:
            break
    return budgets
