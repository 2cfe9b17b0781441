"""The experiment runner: every row of the results table, on each data set, over several seeds.

A *run* is one ``(data set, method, seed)`` under an :class:`ExperimentPreset`. It trains (or loads
from the cache) the student of that method through :func:`mglwkd_lite.distill.distill_or_load`,
scores it on the test subjects -- clean, and under every perturbation of
:mod:`mglwkd_lite.robustness` -- and writes one JSON file::

    results/<preset>/<dataset>/<method>/seed<k>.json

holding the run's key, config, metrics, robustness scores, timings, versions and machine. A run whose
file exists *with the same key* is skipped, so a killed sweep resumes where it stopped; a changed
setting changes the key, so old results are never reused for it.

Runs are independent jobs dispatched through :mod:`joblib`: local processes by default; a cluster is
one ``joblib.parallel_config(backend="dask")`` away (see ``book/reproducing.md``).
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from . import repro
from ._io import atomic_write_text, stable_hash

__all__ = [
    "ExperimentError",
    "RunSpec",
    "ExperimentPreset",
    "PRESETS",
    "experiment_preset",
    "run_specs",
    "run_key",
    "result_path",
    "run_one",
    "run_all",
    "load_results",
    "summary_table",
    "robustness_table",
    "headline",
]

ROBUSTNESS_SEED = 1234
"""Seed of the perturbations: every student sees the very same noisy / gappy test windows."""


class ExperimentError(ValueError):
    """An unknown preset, data set or method, or a results file that does not parse."""


@dataclass(frozen=True)
class RunSpec:
    """One run: a method's student on a data set with a seed."""

    dataset: str
    method: str
    seed: int


@dataclass(frozen=True)
class ExperimentPreset:
    """A sweep: data sets x methods x seeds, with the models' preset.

    Parameters
    ----------
    name : folder name under ``results/``.
    datasets, methods, seeds : the grid (methods are keys of :data:`mglwkd_lite.distill.METHODS`).
    models : ``"quick"``, ``"full"``, ``"group"`` or a :class:`mglwkd_lite.train.ModelsPreset` (architectures,
        training windows and recipe shared by every run).
    robustness : evaluate every student under the perturbations (cheap: inference only).
    """

    name: str
    datasets: tuple[str, ...]
    methods: tuple[str, ...]
    seeds: tuple[int, ...]
    models: Any = "quick"
    robustness: bool = True

    def models_preset(self):
        """The :class:`mglwkd_lite.train.ModelsPreset` of the sweep."""
        from .train import ModelsPreset

        return ModelsPreset.preset(self.models)


def _all_methods() -> tuple[str, ...]:
    from .distill import METHODS

    return tuple(METHODS)


def experiment_preset(name: str) -> ExperimentPreset:
    """``"quick"`` (CI, Binder: HAPT, three methods, one seed) or ``"paper"`` (every row, 3 seeds)."""
    if name == "quick":
        return ExperimentPreset("quick", ("hapt",), ("scratch", "kd_signal", "mglwkd"), (0,), "quick")
    if name == "paper":
        # The "full" models: every training window, 30 epochs, one training thread per run, so that
        # --jobs fills a CPU with one run per core (see ModelsPreset.full and book/reproducing.md).
        return ExperimentPreset("paper", ("hapt", "spsw"), _all_methods(), (0, 1, 2), "full")
    raise ExperimentError(f"unknown experiment preset {name!r}; expected one of {sorted(PRESETS)}")


PRESETS = ("quick", "paper")


def run_specs(preset: ExperimentPreset) -> list[RunSpec]:
    """Every run of a sweep: data set, then seed, then method, so one seed's whole table comes first."""
    return [RunSpec(d, m, s) for d in preset.datasets for s in preset.seeds for m in preset.methods]


def run_key(preset: ExperimentPreset, spec: RunSpec) -> str:
    """Hash of everything that shapes a run's numbers: the method's config, models preset, spec."""
    from .distill import method

    return stable_hash(spec, method(spec.method), preset.models_preset(), preset.robustness, ROBUSTNESS_SEED)


def result_path(results_dir: str | os.PathLike, preset: ExperimentPreset, spec: RunSpec) -> Path:
    """``<results_dir>/<preset>/<dataset>/<method>/seed<k>.json``."""
    return Path(results_dir) / preset.name / spec.dataset / spec.method / f"seed{spec.seed}.json"


def _scores(metrics: dict) -> dict[str, Any]:
    out = {"accuracy": float(metrics["accuracy"]), "macro_f1": float(metrics["macro_f1"]), "n": int(metrics["n"])}
    if "confusion" in metrics:
        out["confusion"] = np.asarray(metrics["confusion"]).tolist()
    return out


def robustness_scores(model, test, seed: int = ROBUSTNESS_SEED) -> dict[str, dict[str, dict[str, float]]]:
    """Accuracy and macro F1 of ``model`` on perturbed test windows, per perturbation and level.

    ``test`` is an :class:`mglwkd_lite.train.ArrayDataset` of normalised windows.
    """
    from .robustness import LEVELS, perturb
    from .train import ArrayDataset, evaluate

    x, y = test.x.numpy(), test.y.numpy()
    out: dict[str, dict[str, dict[str, float]]] = {}
    for kind, levels in LEVELS.items():
        out[kind] = {}
        for level in levels:
            scores = evaluate(model, ArrayDataset(perturb(x, kind, level, seed), y))
            out[kind][repr(float(level))] = {"accuracy": scores["accuracy"], "macro_f1": scores["macro_f1"]}
    return out


def run_one(preset: ExperimentPreset, spec: RunSpec, *, results_dir: str | os.PathLike = "results",
            cache_dir: str | os.PathLike | None = None, threads: int | None = None,
            progress: bool = False) -> dict[str, Any]:
    """Run (or skip) one ``(data set, method, seed)`` and write its JSON; returns the record."""
    from .distill import distill_or_load, method
    from .train import model_data

    path = result_path(results_dir, preset, spec)
    key = run_key(preset, spec)
    if path.is_file():
        record = json.loads(path.read_text())
        if record.get("key") == key:
            record["skipped"] = True
            return record
    repro.set_threads(threads)  # for loading and evaluation; training uses its TrainConfig.threads
    start = time.perf_counter()
    models = preset.models_preset()
    distilled = distill_or_load(spec.method, spec.dataset, models, seed=spec.seed, cache_dir=cache_dir,
                                progress=progress)
    metrics = distilled.trained.metrics
    record: dict[str, Any] = {
        "key": key,
        "preset": preset.name,
        "spec": dataclasses.asdict(spec),
        "method": _jsonable(method(spec.method)),
        "models": _jsonable(models),
        "metrics": {split: _scores(metrics[split]) for split in ("val", "test")},
        "best_epoch": metrics.get("best_epoch"),
        "residual": ({split: _scores(m) for split, m in distilled.residual_metrics.items()}
                     if distilled.residual_metrics else None),
        "timings": {"train_seconds": metrics.get("seconds"), "from_cache": distilled.trained.from_cache},
        "versions": repro.versions(),
        # After training: fit() sets the thread count of the run's TrainConfig, so this is what ran.
        "machine": repro.machine(),
    }
    if method(spec.method).uses_teachers:
        # Cached by now (the student was distilled from them): loading only, for the tables.
        record["teachers"] = {kind: {split: _scores(m) for split, m in _teacher_metrics(kind, spec, models, cache_dir).items()}
                              for kind in ("signal_teacher", "pi_teacher")}
    if preset.robustness:
        test = model_data("student", spec.dataset, models).test
        record["robustness"] = robustness_scores(distilled.model, test)
    record["timings"]["run_seconds"] = time.perf_counter() - start
    atomic_write_text(path, json.dumps(record, indent=1, sort_keys=True))
    return record


def _teacher_metrics(kind: str, spec: RunSpec, models, cache_dir) -> dict[str, dict]:
    from .train import train_or_load

    trained = train_or_load(kind, spec.dataset, models, seed=spec.seed, cache_dir=cache_dir, progress=False)
    return {split: trained.metrics[split] for split in ("val", "test")}


def _jsonable(obj: Any) -> Any:
    from .train import _jsonable as to_json

    return to_json(obj)


def run_all(preset: ExperimentPreset | str, *, n_jobs: int = 1, results_dir: str | os.PathLike = "results",
            cache_dir: str | os.PathLike | None = None, specs: Sequence[RunSpec] | None = None,
            progress: bool = True) -> list[dict[str, Any]]:
    """Run a whole sweep with joblib (``n_jobs`` processes), skipping runs already done.

    Two phases. First the scratch students and the teachers of every (data set, seed) in the
    selection, as parallel jobs, the costliest first (signal teachers, then PI teachers, then
    scratch students) so that no core idles behind one long job; then every distillation run, in the
    order of :func:`run_specs`, each loading its teachers from the cache instead of training them
    several times at once. A killed sweep resumes from the cache and the records. Loading and
    evaluation in each job use
    ``cores // n_jobs`` PyTorch threads; training uses the thread count of the models preset's
    :class:`~mglwkd_lite.train.TrainConfig` (one in ``"full"``, the paper sweep's models; ``None``,
    every core, in ``"quick"`` and ``"group"``), which is part of every cache key; with a ``None``
    preset, set it to ``cores // n_jobs`` when running several jobs on one machine. Each record
    stores the thread count it trained with.
    """
    from joblib import Parallel, delayed
    from tqdm.auto import tqdm

    preset = experiment_preset(preset) if isinstance(preset, str) else preset
    specs = list(specs) if specs is not None else run_specs(preset)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    jobs = max(1, n_jobs if n_jobs > 0 else cores)
    threads = max(1, cores // jobs)
    first = [s for s in specs if s.method == "scratch"]
    rest = [s for s in specs if s.method != "scratch"]
    # (data set, seed) pairs whose distillation runs need teachers, in sweep order.
    pairs = list(dict.fromkeys((s.dataset, s.seed) for s in rest))
    records: list[dict[str, Any]] = []
    parallel = Parallel(n_jobs=jobs, return_as="generator")
    run = delayed(run_one)
    with tqdm(total=len(specs), desc=f"runs ({preset.name})", disable=not progress) as bar:
        # Phase 1: teachers and scratch students, longest first (joblib dispatches in order).
        tasks = [delayed(_teacher)(preset, kind, dataset, seed, cache_dir, threads)
                 for kind in ("signal_teacher", "pi_teacher") for dataset, seed in pairs]
        tasks += [run(preset, s, results_dir=results_dir, cache_dir=cache_dir, threads=threads) for s in first]
        for rec in parallel(tasks):
            if rec is not None:
                records.append(rec)
                bar.update()
        # Phase 2: every distillation run.
        for rec in parallel(run(preset, s, results_dir=results_dir, cache_dir=cache_dir, threads=threads)
                            for s in rest):
            records.append(rec)
            bar.update()
    return records


def _teacher(preset: ExperimentPreset, kind: str, dataset: str, seed: int, cache_dir, threads: int) -> None:
    """Train (or find cached) one teacher and its outputs on the training windows; returns None."""
    from .train import teacher_outputs

    repro.set_threads(threads)
    teacher_outputs(kind, dataset, preset.models_preset(), seed=seed, cache_dir=cache_dir, progress=False)
    return None


# --------------------------------------------------------------------------------------------------
# reading results


def load_results(results_dir: str | os.PathLike = "results", preset: str | None = None):
    """Every run record under ``results_dir`` as a pandas DataFrame, one row per run.

    Columns: preset, dataset, method, seed, accuracy, macro_f1 (test), val_accuracy, val_macro_f1,
    residual_accuracy, residual_macro_f1 (NaN where the method has no workspace), train_seconds.
    """
    import pandas as pd

    rows = []
    root = Path(results_dir)
    pattern = f"{preset}/*/*/seed*.json" if preset else "*/*/*/seed*.json"
    for path in sorted(root.glob(pattern)):
        try:
            rec = json.loads(path.read_text())
            rows.append({
                "preset": rec["preset"], **rec["spec"],
                "accuracy": rec["metrics"]["test"]["accuracy"], "macro_f1": rec["metrics"]["test"]["macro_f1"],
                "val_accuracy": rec["metrics"]["val"]["accuracy"], "val_macro_f1": rec["metrics"]["val"]["macro_f1"],
                "residual_accuracy": (rec["residual"] or {}).get("test", {}).get("accuracy", np.nan),
                "residual_macro_f1": (rec["residual"] or {}).get("test", {}).get("macro_f1", np.nan),
                "train_seconds": rec["timings"].get("train_seconds"),
            })
        except (KeyError, TypeError, json.JSONDecodeError) as err:
            raise ExperimentError(f"{path}: not a run record ({type(err).__name__}: {err})") from err
    return pd.DataFrame(rows)


def summary_table(df, metrics: Iterable[str] = ("accuracy", "macro_f1")):
    """Mean and standard deviation over seeds per data set and method, in percent.

    Returns a DataFrame indexed by (dataset, method) with ``<metric>_mean``, ``<metric>_std`` and
    ``seeds`` columns; std is the sample standard deviation (ddof=1), NaN for a single seed.
    """
    import pandas as pd

    if df.empty:
        return pd.DataFrame()
    grouped = df.groupby(["dataset", "method"], sort=False)
    out = pd.DataFrame({"seeds": grouped.size()})
    for m in metrics:
        out[f"{m}_mean"] = 100 * grouped[m].mean()
        out[f"{m}_std"] = 100 * grouped[m].std(ddof=1)
    return out


def robustness_table(results_dir: str | os.PathLike = "results", preset: str | None = None,
                     metric: str = "accuracy"):
    """Mean test ``metric`` (percent) over seeds: rows (data set, method), columns (perturbation, level)."""
    import pandas as pd

    rows = []
    root = Path(results_dir)
    pattern = f"{preset}/*/*/seed*.json" if preset else "*/*/*/seed*.json"
    for path in sorted(root.glob(pattern)):
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


def _records(results_dir: str | os.PathLike, preset: str | None) -> list[dict[str, Any]]:
    pattern = f"{preset}/*/*/seed*.json" if preset else "*/*/*/seed*.json"
    return [json.loads(p.read_text()) for p in sorted(Path(results_dir).glob(pattern))]


def teacher_table(results_dir: str | os.PathLike = "results", preset: str | None = None):
    """Test accuracy and macro F1 (percent, mean and std over seeds) of the teachers per data set.

    Read from the ``teachers`` field of the run records (one entry per data set and seed).
    """
    import pandas as pd

    rows = {}
    for rec in _records(results_dir, preset):
        for kind, scores in (rec.get("teachers") or {}).items():
            rows[(rec["spec"]["dataset"], kind, rec["spec"]["seed"])] = scores["test"]
    if not rows:
        return pd.DataFrame()
    df = pd.DataFrame([{"dataset": d, "method": k, "seed": s, "accuracy": v["accuracy"], "macro_f1": v["macro_f1"]}
                       for (d, k, s), v in rows.items()])
    return summary_table(df)


def paired_difference(df, a: str, b: str, dataset: str, metric: str = "accuracy") -> dict[str, Any]:
    """Per-seed difference ``a - b`` of a test metric (points), paired by seed.

    Returns ``{"mean", "std", "seeds", "wins"}`` where ``wins`` counts the seeds with ``a > b``;
    ``seeds == 0`` when the two methods share no seed on that data set.
    """
    sub = df[df["dataset"] == dataset].pivot_table(index="seed", columns="method", values=metric)
    if a not in sub or b not in sub:
        return {"mean": np.nan, "std": np.nan, "seeds": 0, "wins": 0}
    d = 100 * (sub[a] - sub[b]).dropna()
    return {"mean": float(d.mean()) if len(d) else np.nan, "std": float(d.std(ddof=1)) if len(d) > 1 else np.nan,
            "seeds": int(len(d)), "wins": int((d > 0).sum())}


def verdict(diff: dict[str, Any]) -> str:
    """``holds`` when ``a`` beats ``b`` on every seed (at least 3), ``does not hold`` when the mean
    difference is <= 0, ``unclear`` otherwise (mixed seeds, or fewer than 3 seeds), ``not run``
    when the comparison has no data."""
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


def best_single_teacher(df, dataset: str, metric: str = "accuracy") -> str | None:
    """The single-teacher KD method (``kd_signal`` or ``kd_pi``) with the higher mean test metric."""
    sub = df[(df["dataset"] == dataset) & df["method"].isin(["kd_signal", "kd_pi"])]
    if sub.empty:
        return None
    return str(sub.groupby("method")[metric].mean().idxmax())


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


def claims_table(df, metric: str = "accuracy"):
    """The paper's claims beside what was measured: one row per claim and data set.

    Columns: claim, dataset, compared, difference (mean +- std over seeds, points), seeds won,
    verdict (see :func:`verdict`).
    """
    import pandas as pd

    rows = []
    for dataset in sorted(df["dataset"].unique()) if not df.empty else []:
        for claim, a, b, _ in CLAIMS:
            b_name = best_single_teacher(df, dataset, metric) if b == "best_single" else b
            diff = paired_difference(df, a, b_name, dataset, metric) if b_name else {"seeds": 0, "mean": np.nan,
                                                                                      "std": np.nan, "wins": 0}
            rows.append({"claim": claim, "dataset": dataset, "compared": f"{a} - {b_name or b}",
                         "difference": format_difference(diff),
                         "seeds won": f"{diff['wins']}/{diff['seeds']}", "verdict": verdict(diff)})
    return pd.DataFrame(rows)


def headline(df, dataset: str = "hapt", metric: str = "accuracy") -> str:
    """The headline comparison on one data set as Markdown: scratch, the best single-teacher KD and
    mGLW-KD (mean ± std over seeds), then mGLW-KD's paired differences and their verdicts.

    Written from the records only, so the results chapter's summary never holds a typed number.
    """
    sub = df[df["dataset"] == dataset]
    if not {"scratch", "mglwkd"} <= set(sub["method"]):
        return f"*{dataset.upper()}: the scratch and mGLW-KD runs are not on record yet.*"
    best = best_single_teacher(df, dataset, metric)
    methods = ["scratch"] + ([best] if best else []) + ["mglwkd"]
    names = {"scratch": "the student from scratch", "mglwkd": "mGLW-KD", "kd_signal": "KD from the signal teacher",
             "kd_pi": "KD from the PI teacher"}

    def score(m: str) -> str:
        values = 100 * sub.loc[sub["method"] == m, metric]
        spread = f" ± {values.std(ddof=1):.1f}" if len(values) > 1 else ""
        return f"{names[m]} {values.mean():.1f}{spread} % ({len(values)} seed{'s' if len(values) != 1 else ''})"

    label = metric.replace("_", " ")
    lines = [f"**{dataset.upper()}**, test {label}: " + ", ".join(score(m) for m in methods) + "."]
    for other in methods[:-1]:
        diff = paired_difference(df, "mglwkd", other, dataset, metric)
        lines.append(f"mGLW-KD minus {names[other]}: {format_difference(diff)} points, higher on "
                     f"{diff['wins']} of {diff['seeds']} seeds: **{verdict(diff)}**.")
    return " ".join(lines)


# --------------------------------------------------------------------------------------------------
# figures and formatted tables (notebook 06)


def format_summary(table, metrics: Sequence[str] = ("accuracy", "macro_f1")):
    """``mean ± std`` strings per data set (columns) and method (rows), best mean per column in bold.

    Returns a pandas ``Styler`` whose ``.data`` is the plain string table.
    """
    import pandas as pd

    cells, best = {}, {}
    for (dataset, method), row in table.iterrows():
        for m in metrics:
            std = "" if np.isnan(row[f"{m}_std"]) else f" ± {row[f'{m}_std']:.2f}"
            cells.setdefault((dataset, m), {})[method] = f"{row[f'{m}_mean']:.2f}{std}"
    for dataset in table.index.get_level_values(0).unique():
        for m in metrics:
            best[(dataset, m)] = table.loc[dataset][f"{m}_mean"].idxmax()
    out = pd.DataFrame(cells)
    out.columns = pd.MultiIndex.from_tuples(out.columns, names=["dataset", "metric (%)"])

    def bold(col):
        return ["font-weight: bold" if idx == best[col.name] else "" for idx in col.index]

    return out.style.apply(bold, axis=0)


def plot_methods(table, metrics: Sequence[str] = ("accuracy", "macro_f1")):
    """Bar chart of mean test metrics with std error bars, one panel per data set."""
    import matplotlib.pyplot as plt

    datasets = list(table.index.get_level_values(0).unique())
    fig, axes = plt.subplots(1, len(datasets), figsize=(6.5 * len(datasets), 4), squeeze=False)
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


def plot_robustness(rob, dataset: str, methods: Sequence[str]):
    """Test accuracy against perturbation level for a few methods, one panel per perturbation."""
    import matplotlib.pyplot as plt

    kinds = ["noise", "missing", "rate"]
    titles = {"noise": "Gaussian noise (sigma)", "missing": "missing data (ratio)", "rate": "sampling-rate factor"}
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6), sharey=True)
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
    fig.tight_layout()
    return fig


def shown_preset(records, required: Sequence[str] = ("scratch", "mglwkd")) -> str:
    """The sweep the results chapter shows: ``"paper"`` once it holds every ``required`` method on
    HAPT (so the headline comparison exists), else ``"quick"``.

    ``records`` is the frame of :func:`load_results`. A partly run paper sweep is thus on record (and
    resumable) without replacing the complete quick one in the book.
    """
    paper = records[(records["preset"] == "paper") & (records["dataset"] == "hapt")] if len(records) else records
    if len(paper) and set(required) <= set(paper["method"]):
        return "paper"
    return "quick"
