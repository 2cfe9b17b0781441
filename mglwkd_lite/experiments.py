"""The experiment runner: every row of the results table, on each data set, over several seeds.

A *run* is one ``(data set, method, seed)`` under an :class:`ExperimentPreset`. It trains (or loads
from the cache) the student of that method through :func:`mglwkd_lite.pipeline.distill_or_load`,
scores it on the test subjects -- clean, and under every perturbation of
:mod:`mglwkd_lite.robustness` -- and writes one JSON file::

    results/<preset>/<dataset>/<method>/seed<k>.json
    results/<preset>/<dataset>/fold<f>/<method>/seed<k>.json     (a run on subject fold f)

holding the run's key, config (with the run's true seed), metrics of the selected model and the
optimistic best-test-epoch score, the per-epoch history (loss terms, learning rate, validation and
test curves), the teachers' cache keys, selected epochs and scores, robustness scores, timings, the
git commit of the code, versions and machine: a :class:`mglwkd_lite.runrecord.RunRecord`, validated
against its versioned schema before it is written. A run whose
file exists *with the same key* is skipped, so a killed sweep resumes where it stopped; a changed
setting changes the key, so old results are never reused for it.

Runs are independent jobs: local processes through :mod:`joblib` by default, or the workers of a
Dask cluster (``run_all(..., client=client)``, see ``book/reproducing.md``). Either way the records
come back to the calling process, which alone writes them. The tables and figures of the records are
:mod:`mglwkd_lite.report.results`; the judging of the paper's claims is :mod:`mglwkd_lite.claims`.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np
from joblib import Parallel, delayed
from torch import nn
from tqdm.auto import tqdm

from . import repro
from ._cluster import ClusterError, cluster_results, cluster_threads
from ._io import default_cache_dir, jsonable, stable_hash
from .distill import TABLE_METHODS, DistillConfig, method
from .checkpoint import code_version
from .data.registry import DatasetEntry, dataset_entry
from .pipeline import ModelsPreset, RunContext, distill, teacher_outputs, teacher_seed, train, train_or_load
from .records import teacher_summary
from .runrecord import SCHEMA, RunRecord, blind_record, record_paths, write_record  # re-exported: blind_record, record_paths
from .presets import ALL_METHODS, PRESETS, PROTOCOLS, SWEEP_PRESETS, Protocol
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
    "blind_record",
    "on_dataset",
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
    fold : int or None
        A subject fold (:meth:`mglwkd_lite.data.DataConfig.fold`); None: the standard split.
    """

    dataset: str
    method: str
    seed: int
    fold: int | None = None

    def key_part(self) -> dict[str, Any]:
        """The spec as :func:`mglwkd_lite._io.stable_hash` hashes it, without ``fold`` when it is None.

        The canonical form of a dataclass is its class name and fields, so this mapping hashes like
        the three-field ``RunSpec`` did: runs on the standard split keep the key form they had
        before subject folds existed.
        """
        part: dict[str, Any] = {"__type__": type(self).__name__, "dataset": self.dataset, "method": self.method,
                                "seed": self.seed}
        if self.fold is not None:
            part["fold"] = self.fold
        return part

    @property
    def label(self) -> str:
        """``<dataset>[-fold<f>]-<method>-seed<k>`` (job names)."""
        fold = "" if self.fold is None else f"-fold{self.fold}"
        return f"{self.dataset}{fold}-{self.method}-seed{self.seed}"


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
    folds : tuple of int or None
        Subject folds of every data set (None: the standard split only).
    protocol : mglwkd_lite.presets.Protocol or None
        Applied to every method (:func:`mglwkd_lite.distill.apply_protocol`: warm start, logit
        standardisation); None: each method as registered (the sweeps before the protocol existed).
    blind : bool
        Records hold no test score (no test metrics, test curves, best test epoch or residual test
        score): a pilot that decides on validation subjects writes nothing it could peek at. Needs
        ``robustness=False`` (the perturbations are scored on the test subjects).
    epochs : tuple of (str, int)
        Per data set training budget, ``(dataset, epochs)``: the models preset's epochs (and with them
        its step schedule) replaced for these data sets (:meth:`models_preset`). Empty: every data set
        trains with the models preset as it is.
    entries : tuple of mglwkd_lite.data.registry.DatasetEntry
        Data sets beyond the packaged ones (a user's ``csv:`` folder, PAMAP2), named in ``datasets`` by
        their entry's name. They travel with the preset, so that every worker process can read them
        (:meth:`register_data`), and their data's digest enters the run keys.
    """

    name: str
    datasets: tuple[str, ...]
    methods: tuple[str, ...]
    seeds: tuple[int, ...]
    models: Any = "quick"
    robustness: bool = True
    folds: tuple[int, ...] | None = None
    protocol: Protocol | None = None
    blind: bool = False
    epochs: tuple[tuple[str, int], ...] = ()
    entries: tuple[DatasetEntry, ...] = ()

    def __post_init__(self) -> None:
        if self.blind and self.robustness:
            raise ExperimentError(f"experiment preset {self.name!r}: a blind sweep scores nothing on the test "
                                  "subjects, so it needs robustness=False")
        unknown = sorted(set(dict(self.epochs)) - set(self.datasets))
        if unknown:
            raise ExperimentError(f"experiment preset {self.name!r}: epochs given for {unknown}, which are not "
                                  f"among its data sets {list(self.datasets)}")

    def register_data(self) -> None:
        """Register the preset's own data set entries in this process (each job calls it first)."""
        for entry in self.entries:
            dataset_entry(entry)

    def models_preset(self, dataset: str | None = None) -> ModelsPreset:
        """The :class:`~mglwkd_lite.pipeline.ModelsPreset` of the sweep's runs on ``dataset``.

        With a per data set budget (:attr:`epochs`), ``dataset`` says which; without one every data
        set shares the preset's models and ``dataset`` may be left out.
        """
        models = ModelsPreset.preset(self.models)
        budget = dict(self.epochs)
        if dataset is None:
            if budget:
                raise ExperimentError(f"experiment preset {self.name!r} trains each data set for its own "
                                      "number of epochs: name the data set")
            return models
        if dataset in budget:
            return dataclasses.replace(models, train=dataclasses.replace(models.train, epochs=budget[dataset]))
        return models

    def context(self, spec: RunSpec, cache_dir: str | os.PathLike | None = None,
                progress: bool = False) -> RunContext:
        """The run context of one run of the sweep (its data set's models, fold and seed)."""
        return RunContext.of(spec.dataset, self.models_preset(spec.dataset), fold=spec.fold, seed=spec.seed,
                             cache_dir=cache_dir, progress=progress)

    def method_config(self, name: str) -> DistillConfig:
        """Method ``name`` as this sweep trains it (its protocol applied; ``alpha="mean"`` still open)."""
        return method(name, self.protocol)


def experiment_preset(name: str) -> ExperimentPreset:
    """The sweep of a registry name (:data:`mglwkd_lite.presets.SWEEP_PRESETS`).

    Parameters
    ----------
    name : {"quick", "paper", "folds"}
        ``"quick"``: CI, Binder (HAPT, three methods, one seed); ``"paper"``: every row, both data
        sets, 3 seeds, on the ``"full"`` models (every training window, 30 epochs, one training
        thread per run, so that ``--jobs`` fills a CPU with one run per core); ``"folds"``: both
        data sets on 5 subject folds, 2 seeds, scratch, the KD controls and mGLW-KD, ``"full"`` models.

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
    methods = TABLE_METHODS if sweep.methods == ALL_METHODS else tuple(sweep.methods)
    models: Any = preset.models
    if sweep.teacher_seed is not None:  # teachers trained once per split (the fold sweep)
        models = ModelsPreset.from_recipe(preset.models, teacher_seed=sweep.teacher_seed)
    protocol = PROTOCOLS[sweep.protocol] if sweep.protocol else None
    return ExperimentPreset(name, sweep.datasets, methods, sweep.seeds, models, folds=sweep.folds, protocol=protocol,
                            epochs=sweep.epochs)


def on_dataset(preset: ExperimentPreset, entry: DatasetEntry) -> ExperimentPreset:
    """The same sweep on one other data set: its folds cut to those the data set has, its entry carried."""
    folds = None if preset.folds is None else tuple(f for f in preset.folds if f < entry.n_folds())
    return dataclasses.replace(preset, datasets=(entry.name,), folds=folds,
                               entries=() if entry.packaged else (entry,),
                               epochs=tuple(e for e in preset.epochs if e[0] == entry.name))


def run_specs(preset: ExperimentPreset) -> list[RunSpec]:
    """Every run of a sweep: data set, then fold, then seed, then method, so one seed's whole table comes first."""
    folds = preset.folds if preset.folds is not None else (None,)
    return [RunSpec(d, m, s, f) for d in preset.datasets for f in folds for s in preset.seeds for m in preset.methods]


def run_key(preset: ExperimentPreset, spec: RunSpec) -> str:
    """Hash of everything that shapes a run's numbers: the method's config, models preset, spec.

    A method whose alpha is the mean alpha of another run (``alpha_from``, e.g.
    ``kd_two_mean_alpha``) also hashes that run's key: the value is a function of that run, so the
    key is known before either is trained.

    Parameters
    ----------
    preset : ExperimentPreset
    spec : RunSpec

    Returns
    -------
    str
    """
    cfg = preset.method_config(spec.method)
    parts: list[Any] = [spec.key_part(), cfg, preset.models_preset(spec.dataset), preset.robustness, ROBUSTNESS_SEED]
    preset.register_data()
    entry = dataset_entry(spec.dataset)
    if not entry.packaged:  # the user's data: its digest (the packaged sets' keys stay as they were)
        parts.append({"data": entry.sha256})
    if getattr(cfg, "alpha_from", None):
        parts.append({"alpha_from": run_key(preset, dataclasses.replace(spec, method=cfg.alpha_from))})
    return stable_hash(*parts)


def result_path(results_dir: str | os.PathLike, preset: ExperimentPreset, spec: RunSpec) -> Path:
    """``<results_dir>/<preset>/<dataset>/[fold<f>/]<method>/seed<k>.json``."""
    folder = Path(results_dir) / preset.name / spec.dataset
    if spec.fold is not None:
        folder = folder / f"fold{spec.fold}"
    return folder / spec.method / f"seed{spec.seed}.json"


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
            progress: bool = False, write: bool = True) -> dict[str, Any]:
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
    write : bool
        Write the record (:func:`run_all` passes False: its jobs may run on other machines, so the
        calling process writes what they return).

    Returns
    -------
    dict
        The record (with ``"skipped": True`` when it was on file with the same key).
    """
    preset.register_data()
    path = result_path(results_dir, preset, spec)
    key = run_key(preset, spec)
    done = _done_record(path, key)
    if done is not None:
        done["skipped"] = True
        return done
    repro.set_threads(threads)  # for loading and evaluation; training uses its TrainConfig.threads
    start = time.perf_counter()
    ctx = preset.context(spec, cache_dir=cache_dir, progress=progress)
    models = ctx.models
    distilled = distill(spec.method, ctx, protocol=preset.protocol)
    metrics = distilled.trained.metrics
    record: dict[str, Any] = {
        "schema": SCHEMA,
        "key": key,
        "preset": preset.name,
        "spec": dataclasses.asdict(spec),
        "data": dataset_entry(spec.dataset).summary(spec.fold),
        "method": jsonable(distilled.method),  # as trained (a mean alpha filled in)
        # The preset's models with the run's own seed: the preset holds seed 0, the run trains with spec.seed.
        "models": jsonable(dataclasses.replace(models, train=dataclasses.replace(models.train, seed=spec.seed))),
        "metrics": {split: _scores(metrics[split]) for split in ("val", "test")},
        "selected_epoch": metrics.get("selected_epoch", metrics.get("best_epoch")),
        "best_epoch": metrics.get("best_epoch"),
        "best_test": metrics.get("best_test"),
        "history": jsonable(distilled.history),
        "residual": ({split: _scores(m) for split, m in distilled.residual_metrics.items()}
                     if distilled.residual_metrics else None),
        "timings": {"train_seconds": metrics.get("seconds"), "from_cache": distilled.trained.from_cache},
        "code": code_version(),
        "trained_with_code": metrics.get("code"),
        "versions": repro.versions(),
        # After training: fit() sets the thread count of the run's TrainConfig, so this is what ran.
        "machine": repro.machine(),
    }
    if preset.protocol is not None:
        record["protocol"] = jsonable(preset.protocol)
    if preset.method_config(spec.method).uses_teachers:
        # Keys, selected epochs and scores of the teachers the student learnt from.
        record["teachers"] = distilled.teachers or {
            kind: teacher_summary(train(kind, dataclasses.replace(ctx.teachers(), progress=False)))
            for kind in _TEACHERS}
    if preset.robustness:
        test = ctx.data("student").test
        record["robustness"] = robustness_scores(distilled.model, test)
    record["timings"]["run_seconds"] = time.perf_counter() - start
    if preset.blind:
        record = blind_record(record)
    if write:
        _write_record(path, record)
    return record


def _write_record(path: Path, record: dict[str, Any]) -> None:
    """Validate a record against the schema (:class:`mglwkd_lite.runrecord.RunRecord`) and write it."""
    write_record(path, RunRecord.from_dict(record, str(path)))


def run_all(preset: ExperimentPreset | str, *, n_jobs: int = 1, results_dir: str | os.PathLike = "results",
            cache_dir: str | os.PathLike | None = None, specs: Sequence[RunSpec] | None = None,
            progress: bool = True, client: Any = None) -> list[dict[str, Any]]:
    """Run a whole sweep, skipping runs already on record: local processes, or a Dask cluster.

    Runs whose record exists with their current key are skipped before anything is dispatched. The
    rest goes in two phases. First the teachers of every (data set, seed) that a remaining
    distillation run needs, and the remaining scratch students, as parallel jobs, the costliest first
    (signal teachers, then PI teachers, then scratch students) so that no core idles behind one long
    job; then every distillation run, in the order of :func:`run_specs`, each loading its teachers
    from the cache, so that every teacher is trained once. The jobs return their records and this
    process writes each as it arrives; a killed sweep resumes from the cache and the records.

    Parameters
    ----------
    preset : ExperimentPreset or str
        A sweep, or its registry name.
    n_jobs : int
        Parallel local runs; -1 (or any value < 1): one per core the process may use. Ignored with
        ``client``, whose workers decide.
    results_dir : str or os.PathLike
        Where this process writes the records (workers never need it).
    cache_dir : str or os.PathLike, optional
        Cache of trained models and teacher outputs (default ``.cache/`` of the checkout). Made
        absolute here, so that workers started elsewhere use the same folder.
    specs : sequence of RunSpec, optional
        A subset of the sweep (default: all of :func:`run_specs`).
    progress : bool
        A tqdm bar over the runs.
    client : dask.distributed.Client, optional
        Run the jobs on this Dask cluster instead of local processes. Every worker must see
        ``cache_dir`` at the same path (checked first) and have the project installed.

    Returns
    -------
    list of dict
        One record per run, scratch runs first (teacher jobs return none); a skipped run's record
        carries ``"skipped": True``.

    Raises
    ------
    ExperimentError
        With ``client``: when the cluster has no worker, or a worker does not see ``cache_dir``.

    Notes
    -----
    Loading and evaluation in each job use ``cores // n_jobs`` PyTorch threads (on a cluster: a
    host's cores over its worker threads, the smallest over the hosts); training uses the thread
    count of the models preset's :class:`~mglwkd_lite.train.TrainConfig` (one in ``"full"``, the
    paper sweep's models; ``None``, every core, in ``"quick"`` and ``"group"``), which is part of
    every cache key; with a ``None`` preset, set it to ``cores // n_jobs`` when running several jobs
    on one machine. Each record stores the thread count it trained with.
    """
    preset = experiment_preset(preset) if isinstance(preset, str) else preset
    specs = list(specs) if specs is not None else run_specs(preset)
    cache = (Path(cache_dir) if cache_dir is not None else default_cache_dir()).absolute()
    records = _records_on_file(results_dir, preset, specs)
    todo = [s for s in specs if s not in records]
    first = [s for s in specs if s.method == "scratch"]
    rest = [s for s in specs if s.method != "scratch"]
    # (data set, fold, teacher seed) whose remaining runs learn from teachers, in sweep order (a run
    # without a teacher, such as scratch_long, needs none); with a fixed teacher seed the teachers of a
    # split are trained once for every student seed.
    pairs = list(dict.fromkeys((s.dataset, s.fold, teacher_seed(preset.models_preset(s.dataset), s.seed)) for s in rest
                               if s in todo and preset.method_config(s.method).uses_teachers))
    if client is not None and todo:
        try:
            threads = cluster_threads(client, cache)
        except ClusterError as exc:
            raise ExperimentError(str(exc)) from exc
        results = functools.partial(cluster_results, client)
    else:
        cores = repro.available_cpus()
        jobs = max(1, n_jobs if n_jobs > 0 else cores)
        threads = max(1, cores // jobs)
        results = functools.partial(_local_results, Parallel(n_jobs=jobs, return_as="generator"))
    run_kwargs = dict(results_dir=results_dir, cache_dir=cache, threads=threads, write=False)
    # Phase 1: teachers and scratch students, longest first; phase 2: every distillation run.
    phase1 = [_Job(f"teacher-{kind}-{dataset}{'' if fold is None else f'-fold{fold}'}-seed{seed}", _teacher_job,
                   (preset, kind, dataset, seed, cache, threads), {"fold": fold})
              for kind in _TEACHERS for dataset, fold, seed in pairs]
    phase1 += [_run_job(preset, s, run_kwargs) for s in first if s in todo]
    # The scratch students a warm start begins from, where their own run is on record but perhaps not
    # in this cache (a sweep resumed elsewhere), so that no two parallel jobs train the same one.
    sources = dict.fromkeys((s.dataset, s.fold, s.seed) for s in rest
                            if s in todo and preset.method_config(s.method).anneal)
    phase1 += [_Job(f"student-{dataset}{'' if fold is None else f'-fold{fold}'}-seed{seed}", _student_job,
                    (preset, dataset, seed, cache, threads), {"fold": fold})
               for dataset, fold, seed in sources if RunSpec(dataset, "scratch", seed, fold) not in todo]
    # Phase 2: every distillation run that needs no other run; phase 3: those that take a value from
    # another run of the same split and seed (the mean-alpha control reads mGLW-KD's alpha), so that
    # parallel jobs never train that source student twice.
    phase2 = [_run_job(preset, s, run_kwargs) for s in rest if s in todo and not method(s.method).alpha_from]
    phase3 = [_run_job(preset, s, run_kwargs) for s in rest if s in todo and method(s.method).alpha_from]
    with tqdm(total=len(specs), desc=f"runs ({preset.name})", disable=not progress) as bar:
        bar.update(len(records))
        for phase in (phase1, phase2, phase3):
            for job, record in results(phase) if phase else ():
                if job.spec is None:
                    continue
                if not record.get("skipped"):  # a record that appeared meanwhile is on file already
                    _write_record(result_path(results_dir, preset, job.spec), record)
                records[job.spec] = record
                bar.update()
    return [records[s] for s in first + rest]


@dataclass(frozen=True)
class _Job:
    """One task of a sweep: ``fn(*args, **kwargs)``; ``spec`` is None for a teacher job."""

    name: str
    fn: Callable[..., Any]
    args: tuple
    kwargs: dict[str, Any] = field(default_factory=dict)
    spec: RunSpec | None = None


def _run_job(preset: ExperimentPreset, spec: RunSpec, kwargs: dict[str, Any]) -> _Job:
    return _Job(f"run-{spec.label}", run_one, (preset, spec), kwargs, spec)


def _records_on_file(results_dir: str | os.PathLike, preset: ExperimentPreset,
                     specs: Sequence[RunSpec]) -> dict[RunSpec, dict[str, Any]]:
    """The records of ``specs`` already on file with their current key, marked ``"skipped"``."""
    done = {}
    for spec in specs:
        record = _done_record(result_path(results_dir, preset, spec), run_key(preset, spec))
        if record is not None:
            record["skipped"] = True
            done[spec] = record
    return done


def _local_results(parallel: Parallel, jobs: Sequence[_Job]) -> Iterator[tuple[_Job, Any]]:
    """``(job, result)`` of local joblib processes, in the order of ``jobs`` (dispatched in it)."""
    return zip(jobs, parallel(delayed(job.fn)(*job.args, **job.kwargs) for job in jobs))


def _student_job(preset: ExperimentPreset, dataset: str, seed: int, cache_dir: str | os.PathLike | None,
                 threads: int, fold: int | None = None) -> None:
    """Train (or find cached) the scratch student a warm start begins from; returns None."""
    preset.register_data()
    repro.set_threads(threads)
    train_or_load("student", dataset, preset.models_preset(dataset), seed=seed, cache_dir=cache_dir, progress=False,
                  fold=fold)
    return None


def _teacher_job(preset: ExperimentPreset, kind: str, dataset: str, seed: int,
                 cache_dir: str | os.PathLike | None, threads: int, fold: int | None = None) -> None:
    """Train (or find cached) one teacher of a (data set, fold, seed) and its outputs on the training
    windows; returns None."""
    preset.register_data()
    repro.set_threads(threads)
    teacher_outputs(kind, dataset, preset.models_preset(dataset), seed=seed, cache_dir=cache_dir, progress=False,
                    fold=fold)
    return None
