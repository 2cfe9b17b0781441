"""The experiment runner: every row of the results table, on each data set, over several seeds.

A *run* is one ``(data set, method, seed)`` under an :class:`ExperimentPreset`. It trains (or loads
from the cache) the student of that method through :func:`mglwkd_lite.pipeline.distill_or_load`,
scores it on the test subjects -- clean, and under every perturbation of
:mod:`mglwkd_lite.robustness` -- and writes one JSON file::

    results/<preset>/<dataset>/<method>/seed<k>.json

holding the run's key, config, metrics, robustness scores, timings, versions and machine. A run whose
file exists *with the same key* is skipped, so a killed sweep resumes where it stopped; a changed
setting changes the key, so old results are never reused for it.

Runs are independent jobs dispatched through :mod:`joblib`: local processes by default; a cluster is
one ``joblib.parallel_config(backend="dask")`` away (see ``book/reproducing.md``). The tables and
figures of the records are :mod:`mglwkd_lite.report.results`; the judging of the paper's claims is
:mod:`mglwkd_lite.claims`.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from joblib import Parallel, delayed
from torch import nn
from tqdm.auto import tqdm

from . import repro
from ._io import atomic_write_text, jsonable, stable_hash
from .distill import METHODS, method
from .pipeline import ModelsPreset, distill_or_load, model_data, teacher_outputs, train_or_load
from .presets import ALL_METHODS, PRESETS, SWEEP_PRESETS
from .robustness import LEVELS, perturb
from .train import ArrayDataset, evaluate

__all__ = [
    "ExperimentError",
    "RunSpec",
    "ExperimentPreset",
    "ROBUSTNESS_SEED",
    "experiment_preset",
    "run_specs",
    "run_key",
    "result_path",
    "record_paths",
    "run_done",
    "robustness_scores",
    "run_one",
    "run_all",
]

ROBUSTNESS_SEED = 1234
"""Seed of the perturbations: every student sees the very same noisy / gappy test windows."""

_TEACHERS = ("signal_teacher", "pi_teacher")


class ExperimentError(ValueError):
    """An unknown preset, data set or method, or a results file that does not parse."""


@dataclass(frozen=True)
class RunSpec:
    """One run: a method's student on a data set with a seed.

    Parameters
    ----------
    dataset : str
    method : str
        A key of :data:`mglwkd_lite.distill.METHODS`.
    seed : int
    """

    dataset: str
    method: str
    seed: int


@dataclass(frozen=True)
class ExperimentPreset:
    """A sweep: data sets x methods x seeds, with the models' preset.

    Parameters
    ----------
    name : str
        Folder name under ``results/``.
    datasets, methods, seeds : tuple
        The grid (methods are keys of :data:`mglwkd_lite.distill.METHODS`).
    models : str or mglwkd_lite.pipeline.ModelsPreset
        ``"quick"``, ``"full"``, ``"group"`` or a :class:`~mglwkd_lite.pipeline.ModelsPreset`
        (architectures, training windows and recipe shared by every run).
    robustness : bool
        Evaluate every student under the perturbations (cheap: inference only).
    """

    name: str
    datasets: tuple[str, ...]
    methods: tuple[str, ...]
    seeds: tuple[int, ...]
    models: Any = "quick"
    robustness: bool = True

    def models_preset(self) -> ModelsPreset:
        """The :class:`~mglwkd_lite.pipeline.ModelsPreset` of the sweep."""
        return ModelsPreset.preset(self.models)


def experiment_preset(name: str) -> ExperimentPreset:
    """The sweep of a registry name (:data:`mglwkd_lite.presets.SWEEP_PRESETS`).

    Parameters
    ----------
    name : {"quick", "paper"}
        ``"quick"``: CI, Binder (HAPT, three methods, one seed); ``"paper"``: every row, both data
        sets, 3 seeds, on the ``"full"`` models (every training window, 30 epochs, one training
        thread per run, so that ``--jobs`` fills a CPU with one run per core).

    Returns
    -------
    ExperimentPreset

    Raises
    ------
    ExperimentError
        For a name that is not a sweep.
    """
    if name not in SWEEP_PRESETS:
        raise ExperimentError(f"unknown experiment preset {name!r}; expected one of {sorted(SWEEP_PRESETS)}")
    preset = PRESETS[name]
    sweep = preset.sweep
    methods = tuple(METHODS) if sweep.methods == ALL_METHODS else tuple(sweep.methods)
    return ExperimentPreset(name, sweep.datasets, methods, sweep.seeds, preset.models)


def run_specs(preset: ExperimentPreset) -> list[RunSpec]:
    """Every run of a sweep: data set, then seed, then method, so one seed's whole table comes first."""
    return [RunSpec(d, m, s) for d in preset.datasets for s in preset.seeds for m in preset.methods]


def run_key(preset: ExperimentPreset, spec: RunSpec) -> str:
    """Hash of everything that shapes a run's numbers: the method's config, models preset, spec.

    Parameters
    ----------
    preset : ExperimentPreset
    spec : RunSpec

    Returns
    -------
    str
    """
    return stable_hash(spec, method(spec.method), preset.models_preset(), preset.robustness, ROBUSTNESS_SEED)


def result_path(results_dir: str | os.PathLike, preset: ExperimentPreset, spec: RunSpec) -> Path:
    """``<results_dir>/<preset>/<dataset>/<method>/seed<k>.json``."""
    return Path(results_dir) / preset.name / spec.dataset / spec.method / f"seed{spec.seed}.json"


def record_paths(results_dir: str | os.PathLike = "results", preset: str | None = None) -> list[Path]:
    """The run records under ``results_dir``, sorted.

    Parameters
    ----------
    results_dir : str or os.PathLike
    preset : str, optional
        Only this preset's records (default: every preset's).

    Returns
    -------
    list of pathlib.Path
    """
    pattern = f"{preset}/*/*/seed*.json" if preset else "*/*/*/seed*.json"
    return sorted(Path(results_dir).glob(pattern))


def _done_record(path: Path, key: str) -> dict[str, Any] | None:
    if path.is_file():
        record = json.loads(path.read_text())
        if record.get("key") == key:
            return record
    return None


def run_done(results_dir: str | os.PathLike, preset: ExperimentPreset, spec: RunSpec) -> bool:
    """Whether the record of a run exists with the run's current key (then :func:`run_one` skips it)."""
    return _done_record(result_path(results_dir, preset, spec), run_key(preset, spec)) is not None


def _scores(metrics: dict) -> dict[str, Any]:
    out = {"accuracy": float(metrics["accuracy"]), "macro_f1": float(metrics["macro_f1"]), "n": int(metrics["n"])}
    if "confusion" in metrics:
        out["confusion"] = np.asarray(metrics["confusion"]).tolist()
    return out


def robustness_scores(model: nn.Module, test: ArrayDataset,
                      seed: int = ROBUSTNESS_SEED) -> dict[str, dict[str, dict[str, float]]]:
    """Accuracy and macro F1 of ``model`` on perturbed test windows, per perturbation and level.

    Parameters
    ----------
    model : torch.nn.Module
    test : mglwkd_lite.train.ArrayDataset
        Normalised windows.
    seed : int
        Seed of the perturbations.

    Returns
    -------
    dict
        ``{perturbation: {repr(level): {"accuracy", "macro_f1"}}}``.
    """
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
    """Run (or skip) one ``(data set, method, seed)`` and write its JSON.

    Parameters
    ----------
    preset : ExperimentPreset
    spec : RunSpec
    results_dir : str or os.PathLike
    cache_dir : str or os.PathLike, optional
        Cache root of the trained models.
    threads : int, optional
        PyTorch threads for loading and evaluation (training uses its ``TrainConfig.threads``).
    progress : bool

    Returns
    -------
    dict
        The record (with ``"skipped": True`` when it was on file with the same key).
    """
    path = result_path(results_dir, preset, spec)
    key = run_key(preset, spec)
    done = _done_record(path, key)
    if done is not None:
        done["skipped"] = True
        return done
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
        "method": jsonable(method(spec.method)),
        "models": jsonable(models),
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
                              for kind in _TEACHERS}
    if preset.robustness:
        test = model_data("student", spec.dataset, models).test
        record["robustness"] = robustness_scores(distilled.model, test)
    record["timings"]["run_seconds"] = time.perf_counter() - start
    atomic_write_text(path, json.dumps(record, indent=1, sort_keys=True))
    return record


def _teacher_metrics(kind: str, spec: RunSpec, models: ModelsPreset,
                     cache_dir: str | os.PathLike | None) -> dict[str, dict]:
    trained = train_or_load(kind, spec.dataset, models, seed=spec.seed, cache_dir=cache_dir, progress=False)
    return {split: trained.metrics[split] for split in ("val", "test")}


def run_all(preset: ExperimentPreset | str, *, n_jobs: int = 1, results_dir: str | os.PathLike = "results",
            cache_dir: str | os.PathLike | None = None, specs: Sequence[RunSpec] | None = None,
            progress: bool = True) -> list[dict[str, Any]]:
    """Run a whole sweep with joblib (``n_jobs`` processes), skipping runs already done.

    Two phases. First the scratch students and the teachers of every (data set, seed) in the
    selection, as parallel jobs, the costliest first (signal teachers, then PI teachers, then
    scratch students) so that no core idles behind one long job; then every distillation run, in the
    order of :func:`run_specs`, each loading its teachers from the cache instead of training them
    several times at once. A killed sweep resumes from the cache and the records.

    Parameters
    ----------
    preset : ExperimentPreset or str
        A sweep, or its registry name.
    n_jobs : int
        Parallel runs; -1 (or any value < 1): one per core the process may use.
    results_dir : str or os.PathLike
    cache_dir : str or os.PathLike, optional
    specs : sequence of RunSpec, optional
        A subset of the sweep (default: all of :func:`run_specs`).
    progress : bool
        A tqdm bar over the runs.

    Returns
    -------
    list of dict
        One record per run (teacher jobs return none).

    Notes
    -----
    Loading and evaluation in each job use ``cores // n_jobs`` PyTorch threads; training uses the
    thread count of the models preset's :class:`~mglwkd_lite.train.TrainConfig` (one in ``"full"``,
    the paper sweep's models; ``None``, every core, in ``"quick"`` and ``"group"``), which is part of
    every cache key; with a ``None`` preset, set it to ``cores // n_jobs`` when running several jobs
    on one machine. Each record stores the thread count it trained with.
    """
    preset = experiment_preset(preset) if isinstance(preset, str) else preset
    specs = list(specs) if specs is not None else run_specs(preset)
    cores = repro.available_cpus()
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
        tasks = [delayed(_teacher_job)(preset, kind, dataset, seed, cache_dir, threads)
                 for kind in _TEACHERS for dataset, seed in pairs]
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


def _teacher_job(preset: ExperimentPreset, kind: str, dataset: str, seed: int,
                 cache_dir: str | os.PathLike | None, threads: int) -> None:
    """Train (or find cached) one teacher and its outputs on the training windows; returns None."""
    repro.set_threads(threads)
    teacher_outputs(kind, dataset, preset.models_preset(), seed=seed, cache_dir=cache_dir, progress=False)
    return None
