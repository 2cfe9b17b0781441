"""The cached, preset-driven wiring of the book: train or load, teacher outputs, distil or load.

The stage modules hold the pieces -- :func:`mglwkd_lite.train.fit` the one training loop,
:mod:`mglwkd_lite.checkpoint` the cache of trained models, :mod:`mglwkd_lite.distill` the losses
and methods -- and this module puts them together under a preset of :mod:`mglwkd_lite.presets`,
with every trained model stored once in the cache (:func:`default_cache_dir`, ``.cache/`` at the
repository root):

- :class:`ModelsPreset`: architectures, inputs and training of the teachers and the students;
- :func:`model_data`: the inputs of a model kind (windows, or their persistence images);
- :func:`train_or_load` and :func:`teacher_outputs`: a teacher or the scratch student, and its
  logits and features on the training windows;
- :func:`load_teacher_bank` and :func:`distill_or_load`: a distillation method's student;
- :func:`load_student`: the student to deploy; :func:`workspace_maps`: what its workspace reads.

Cache keys hash the dataclasses (class and field names, values) of everything that shapes a
result, so the notebooks 03-07 and the experiment runner share one trained model per setting.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn

from . import repro
from ._io import default_cache_dir, stable_hash  # default_cache_dir re-exported: where the cache lives
from .checkpoint import Trained, cached_outputs, fit_or_load
from .data import DataConfig, dataset_entry, prepare
from .distill import (
    METHODS, DistillConfig, DistillError, TeacherBank, apply_protocol, build_workspace, epoch_spread, make_objective,
    method, with_mean_alpha,
)
from .models import ModelSpec, build_model
from .model_presets import KINDS, ModelsPreset, check_kind
from .presets import PRESETS, Protocol
from .records import save_trained_record, teacher_summary
from .topology import PIConfig, cached_persistence_images, fit_dataset_scaling
from .train import ArrayDataset, TrainError, evaluate
from .workspace import GlobalWorkspace, ResidualStudent, kts_as_kis

__all__ = [
    "KINDS",
    "ModelsPreset",
    "ModelData",
    "RunContext",
    "model_data",
    "train",
    "teacher_bank_of",
    "distill",
    "train_or_load",
    "teacher_outputs",
    "teacher_seed",
    "save_trained_record",
    "Distilled",
    "teacher_summary",
    "load_teacher_bank",
    "feature_shapes",
    "distill_or_load",
    "resolve_method",
    "mean_alpha",
    "load_student",
    "workspace_maps",
    "default_cache_dir",
]

# --------------------------------------------------------------------------------------------------
# presets and inputs


@dataclass
class ModelData:
    """The inputs of one model kind on one data set (see :func:`model_data`).

    Attributes
    ----------
    kind, dataset : str
    train, val, test : mglwkd_lite.train.ArrayDataset
        ``train`` sample ``i`` is training window ``i`` for every kind of the same preset (windows
        for the 1-D models, their images for the PI teacher).
    classes : tuple of str
    spec : mglwkd_lite.models.ModelSpec
        The network to train.
    key : str
        Hash of the data and the input settings.
    pi_config : mglwkd_lite.topology.PIConfig, optional
        PI teacher: the image settings fitted on the training windows, to apply to new windows.
    """

    kind: str
    dataset: str
    train: ArrayDataset
    val: ArrayDataset
    test: ArrayDataset
    classes: tuple[str, ...]
    spec: ModelSpec
    key: str
    pi_config: PIConfig | None = None

    @property
    def input_shape(self) -> tuple[int, ...]:
        """One sample's shape, e.g. ``(3, 128)`` or ``(3, 32, 32)``."""
        return tuple(self.train.x.shape[1:])


@dataclass(frozen=True)
class RunContext:
    """What every step of one run shares: data set, models, fold, seed, threads, cache, progress.

    Built once (:meth:`of`) from the arguments a caller gives (a preset name or a
    :class:`ModelsPreset`, a data set name or source) and passed down, so that no step normalises them
    again or leaves one out: the teachers a student learns from are :meth:`teachers` (the fold's, with
    :func:`teacher_seed`), its inputs :meth:`data`. The run keys of the experiment runner hash the
    fields of it that shape numbers (data set, fold, seed through the spec; the models preset; the
    method), so records written before it existed keep their keys.

    ``dataset`` is the registry name (:func:`mglwkd_lite.data.dataset_entry`), ``data_preset`` the windows'
    preset (:func:`mglwkd_lite.data.prepare`), ``seed`` the student's, ``threads`` those of a distilled
    student (None: the recipe's); the rest as in :func:`distill_or_load`.
    """

    dataset: str
    models: ModelsPreset
    data_preset: str = "full"
    fold: int | None = None
    seed: int = 0
    threads: int | None = None
    cache_dir: str | None = None
    progress: bool = True

    @classmethod
    def of(cls, dataset: str, preset: str | ModelsPreset = "quick", *, fold: int | None = None, seed: int = 0,
           threads: int | None = None, cache_dir: str | Path | None = None, progress: bool = True) -> "RunContext":
        """The context of a run: the one place where a preset name and a data set source are normalised."""
        return cls(dataset_entry(dataset).name, ModelsPreset.preset(preset), PRESETS[preset].data if isinstance(preset, str) else "full",
                   fold, int(seed), threads, None if cache_dir is None else str(cache_dir), progress)

    def teachers(self) -> "RunContext":
        """The context of the teachers this run's student learns from (:func:`teacher_seed`)."""
        return dataclasses.replace(self, seed=teacher_seed(self.models, self.seed))

    def data(self, kind: str) -> ModelData:
        """The inputs of ``kind`` (:func:`model_data`, computed once per process)."""
        check_kind(kind)
        return _model_data(kind, self.dataset, self.models, self.data_preset, self.cache_dir, self.fold)


def model_data(kind: str, dataset: str, preset: str | ModelsPreset = "quick",
               cache_dir: str | Path | None = None, fold: int | None = None) -> ModelData:
    """Training, validation and test inputs of ``kind`` on ``dataset``.

    Parameters
    ----------
    kind : str
        A key of :data:`KINDS`.
    dataset : {"hapt", "spsw"}
    preset : str or ModelsPreset
        A models preset; its windows are those of the registry's ``data`` entry (the standard
        windows for every preset, :mod:`mglwkd_lite.presets`).
    cache_dir : str or pathlib.Path, optional
        Where the PI teacher's persistence images are cached (default ``.cache/``).
    fold : int, optional
        A subject fold (:meth:`mglwkd_lite.data.DataConfig.fold`); None: the standard split.

    Returns
    -------
    ModelData
        Windows from :func:`mglwkd_lite.data.prepare` (normalised, split by subject); the PI teacher
        gets their images from :func:`mglwkd_lite.topology.cached_persistence_images`.

    Notes
    -----
    Computed once per process and arguments (the subsample, the PI scaling fitted on the training
    windows, the images read from the disk cache) and shared by every later call: a distillation run
    asks for the same inputs for its teachers, its bank, its feature shapes and its student. Callers
    read the returned tensors and never change them.
    """
    return RunContext.of(dataset, preset, fold=fold, cache_dir=cache_dir).data(kind)


@functools.lru_cache(maxsize=8)
def _model_data(kind: str, dataset: str, setup: ModelsPreset, data_preset: str, cache_dir: str | None,
                fold: int | None) -> ModelData:
    config = DataConfig.fold(dataset, fold) if fold is not None else None
    prepared = prepare(dataset, data_preset, config=config)
    train_w = prepared.train.stratified_subset(setup.train_fraction, seed=0)
    parts = {"train": train_w, "val": prepared.val, "test": prepared.test}
    key_parts: list[Any] = [prepared.key, setup.train_fraction]
    pi_cfg: PIConfig | None = None
    if kind == "pi_teacher":
        pi_cfg = PIConfig(resolution=setup.pi_resolution, min_persistence=setup.pi_min_persistence,
                          sigma_px=setup.pi_sigma_px)
        if setup.pi_scaling == "dataset":  # fitted on the whole training split only, applied to every split
            pi_cfg = fit_dataset_scaling(prepared.train.x, pi_cfg, percentiles=tuple(setup.pi_percentiles))
        elif setup.pi_scaling != "window":
            raise TrainError(f"unknown pi_scaling {setup.pi_scaling!r}; expected 'dataset' or 'window'")
        arrays = {k: (cached_persistence_images(w.x, pi_cfg, cache_dir=cache_dir, progress=False), w.y) for k, w in parts.items()}
        key_parts.append(pi_cfg)
    else:
        arrays = {k: (w.x, w.y) for k, w in parts.items()}
    dim, depth, width = setup.architecture(kind)
    spec = ModelSpec(dim, depth, width, int(train_w.x.shape[1]), len(prepared.classes))
    sets = {k: ArrayDataset(np.asarray(x), np.asarray(y)) for k, (x, y) in arrays.items()}
    return ModelData(kind, dataset, sets["train"], sets["val"], sets["test"], tuple(prepared.classes), spec,
                     stable_hash(*key_parts), pi_cfg)


# --------------------------------------------------------------------------------------------------
# the teachers and the scratch student (notebook 03; reused by notebooks 04, 05 and 07)


def train_or_load(kind: str, dataset: str, preset: str | ModelsPreset = "quick", *, seed: int = 0,
                  cache_dir: str | Path | None = None, progress: bool = True, retrain: bool = False,
                  fold: int | None = None) -> Trained:
    """Train a teacher or the scratch student, or load it from the cache.

    Parameters
    ----------
    kind : {"signal_teacher", "pi_teacher", "student"}
        See :data:`KINDS`.
    dataset : {"hapt", "spsw"}
    preset : str or ModelsPreset
        ``"quick"``, ``"full"``, ``"group"`` or a :class:`ModelsPreset`.
    seed : int
        Training seed (initial weights, shuffling).
    cache_dir : str or pathlib.Path, optional
        Cache root (default ``.cache/`` at the repository root).
    progress : bool
        Show a tqdm bar over the epochs while training.
    retrain : bool
        Train even when a checkpoint is cached (and replace it).
    fold : int, optional
        A subject fold (:meth:`mglwkd_lite.data.DataConfig.fold`); None: the standard split.

    Returns
    -------
    mglwkd_lite.checkpoint.Trained
        ``metrics["val"]`` and ``metrics["test"]`` of the selected model (``TrainConfig.select``),
        ``metrics["best_test"]`` the optimistic best-test-epoch score.
        The cache key hashes the architecture, the training config (seed included) and the data, so
        notebooks 03, 04, 05 and 07 share one trained model per setting.
    """
    return train(kind, RunContext.of(dataset, preset, fold=fold, seed=seed, cache_dir=cache_dir, progress=progress),
                 retrain=retrain)


def train(kind: str, ctx: RunContext, retrain: bool = False) -> Trained:
    """:func:`train_or_load` in a run's context (its seed, fold, cache and progress; ``ctx.threads`` is not
    read: teachers and the scratch student train with the recipe's threads)."""
    data = ctx.data(kind)
    cfg = dataclasses.replace(ctx.models.train, seed=ctx.seed)
    repro.seed_everything(ctx.seed)  # fixes the initial weights
    model = build_model(data.spec)
    return fit_or_load(kind, {"spec": data.spec, "data": data.key}, model, data.train, data.val, cfg,
                       test_set=data.test, cache_dir=ctx.cache_dir, progress=ctx.progress, retrain=retrain)


def teacher_seed(preset: str | ModelsPreset, seed: int) -> int:
    """The seed of the teachers a student trained with ``seed`` distils from.

    Parameters
    ----------
    preset : str or ModelsPreset
    seed : int
        The student's seed.

    Returns
    -------
    int
        ``preset.teacher_seed`` when the preset fixes one (teachers trained once per split), else ``seed``.
    """
    fixed = ModelsPreset.preset(preset).teacher_seed
    return seed if fixed is None else int(fixed)


def _trained_teacher(kind: str, ctx: RunContext, feature_dtype: str = "float32") -> tuple[Trained, dict[str, np.ndarray]]:
    """A teacher of the run's student (``ctx`` is the student's) and its outputs on the training windows."""
    trained = train(kind, ctx.teachers())
    return trained, cached_outputs(trained, ctx.data(kind).train, cache_dir=ctx.cache_dir, feature_dtype=feature_dtype)


def teacher_outputs(kind: str, dataset: str, preset: str | ModelsPreset = "quick", *, seed: int = 0,
                    cache_dir: str | Path | None = None, feature_dtype: str = "float32",
                    progress: bool = True, fold: int | None = None) -> dict[str, np.ndarray]:
    """A trained model's logits ``(N, K)`` and last-stage features on the training set (cached).

    Row ``i`` belongs to training window ``i`` of :func:`model_data` for the same ``dataset`` and
    ``preset`` (the ``batch["index"]`` of the student's training batches). Trains the model first if
    it is not cached.

    Parameters
    ----------
    kind, dataset, preset, seed, cache_dir, progress, fold
        As in :func:`train_or_load`.
    feature_dtype : str
        As in :func:`mglwkd_lite.checkpoint.cached_outputs`.

    Returns
    -------
    dict of str to numpy.ndarray
        See :func:`mglwkd_lite.checkpoint.cached_outputs`.
    """
    ctx = RunContext.of(dataset, preset, fold=fold, seed=seed, cache_dir=cache_dir, progress=progress)
    return _trained_teacher(kind, ctx, feature_dtype)[1]


# --------------------------------------------------------------------------------------------------
# distillation (notebooks 04 and 05, the experiment runner)


@dataclass
class Distilled:
    """A distilled (or cache-loaded) student with its scores.

    Attributes
    ----------
    method : mglwkd_lite.distill.DistillConfig
    trained : mglwkd_lite.checkpoint.Trained
        The plain student (``trained.model``, the network that is shipped);
        ``trained.metrics["val"/"test"]`` score it *without* the workspace.
    workspace : mglwkd_lite.workspace.GlobalWorkspace or None
        The jointly trained workspace (None for methods without one).
    residual_metrics : dict or None
        ``{"val": ..., "test": ...}`` scores *with* the residual path
        (:class:`mglwkd_lite.workspace.ResidualStudent` on the training-averaged slots).
    teachers : dict
        The teachers it learnt from, by kind: ``{"key", "selected_epoch", "val", "test",
        "best_test"}`` (:func:`teacher_summary`); empty for methods without teachers.
    """

    method: DistillConfig
    trained: Trained
    workspace: GlobalWorkspace | None = None
    residual_metrics: dict | None = None
    teachers: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def model(self) -> nn.Module:
        """The plain student."""
        return self.trained.model

    @property
    def history(self) -> list[dict]:
        """Per-epoch rows of the training run (losses, ``alpha``, validation scores)."""
        return self.trained.history


def load_teacher_bank(dataset: str = "hapt", preset: str | ModelsPreset = "quick", *, seed: int = 0,
                      cache_dir: str | Path | None = None, progress: bool = True, fold: int | None = None,
                      with_trained: bool = False) -> tuple[TeacherBank, tuple[str, str]]:
    """The signal and PI teachers' outputs on the student's training windows (trained or cached).

    Parameters
    ----------
    dataset, preset, seed, cache_dir, progress, fold
        As in :func:`train_or_load`.
    with_trained : bool
        Also return the two :class:`~mglwkd_lite.checkpoint.Trained` teachers.

    Returns
    -------
    bank : mglwkd_lite.distill.TeacherBank
        Teacher 1: signal, teacher 2: PI.
    keys : tuple of (str, str)
        The two teachers' cache keys (part of a distilled student's cache key).
    trained : dict of str to mglwkd_lite.checkpoint.Trained
        Only with ``with_trained``: by kind.
    """
    ctx = RunContext.of(dataset, preset, fold=fold, seed=seed, cache_dir=cache_dir, progress=progress)
    return teacher_bank_of(ctx, with_trained)


def teacher_bank_of(ctx: RunContext, with_trained: bool = False) -> tuple:
    """:func:`load_teacher_bank` in a run's context (the student's)."""
    sig, sig_out = _trained_teacher("signal_teacher", ctx)
    pi, pi_out = _trained_teacher("pi_teacher", ctx)
    y = ctx.data("student").train.y.numpy()
    for name, out in (("signal_teacher", sig_out), ("pi_teacher", pi_out)):
        if out["y"].shape != y.shape or (out["y"] != y).any():
            raise DistillError(f"the cached {name} outputs do not line up with the student's training windows")
    bank = TeacherBank(
        (torch.from_numpy(sig_out["logits"]), torch.from_numpy(pi_out["logits"])),
        (torch.from_numpy(sig_out["features"]), torch.from_numpy(pi_out["features"])),
    )
    if with_trained:
        return bank, (sig.key, pi.key), {"signal_teacher": sig, "pi_teacher": pi}
    return bank, (sig.key, pi.key)


def _feature_shape(model: nn.Module, input_shape: Sequence[int]) -> tuple[int, ...]:
    was_training = model.training
    model.eval()
    with torch.no_grad():
        _, feats = model(torch.zeros(1, *input_shape), return_features=True)
    model.train(was_training)
    return tuple(feats.shape[1:])


def feature_shapes(dataset: str = "hapt", preset: str | ModelsPreset = "quick") -> dict[str, tuple[int, ...]]:
    """Last-stage feature shape (no batch axis) of the signal teacher, the PI teacher and the student.

    Built from the preset's architectures and input shapes (untrained networks; nothing is trained).

    Parameters
    ----------
    dataset : {"hapt", "spsw"}
    preset : str or ModelsPreset

    Returns
    -------
    dict of str to tuple of int
        Keyed by model kind.
    """
    ctx = RunContext.of(dataset, preset)
    shapes = {}
    for kind in ("signal_teacher", "pi_teacher", "student"):
        data = ctx.data(kind)
        shapes[kind] = _feature_shape(build_model(data.spec), data.input_shape)
    return shapes


def mean_alpha(result: Distilled) -> float:
    """The mean of a distilled run's per-epoch ``alpha`` (its mean over the training batches).

    Raises
    ------
    DistillError
        When the run logged no alpha (a method without the two-teacher KD term).
    """
    values = [float(row["alpha"]) for row in result.history if "alpha" in row]
    if not values:
        raise DistillError(f"method {result.method.name!r} logged no alpha")
    return float(np.mean(values))


def resolve_method(name_or_cfg: str | DistillConfig, dataset: str = "hapt", preset: str | ModelsPreset = "quick", *,
                   seed: int = 0, threads: int | None = None, cache_dir: str | Path | None = None,
                   progress: bool = True, fold: int | None = None, protocol: Protocol | None = None) -> DistillConfig:
    """A method's config ready to train: the protocol applied, ``alpha="mean"`` filled in from its ``alpha_from`` run.

    Parameters
    ----------
    name_or_cfg : str or mglwkd_lite.distill.DistillConfig
        A key of :data:`mglwkd_lite.distill.METHODS`, or a config.
    dataset, preset, seed, threads, cache_dir, progress, fold, protocol
        As in :func:`distill_or_load`; the ``alpha_from`` run (e.g. ``"mglwkd"``) of the same data
        set, preset, fold, seed, threads and protocol is loaded from the cache, or trained first.

    Returns
    -------
    mglwkd_lite.distill.DistillConfig
        The config itself unless its ``alpha`` is ``"mean"``; then
        ``with_mean_alpha(cfg, mean_alpha(<alpha_from run>))``, whose value is part of every key.
    """
    ctx = RunContext.of(dataset, preset, fold=fold, seed=seed, threads=threads, cache_dir=cache_dir, progress=progress)
    return _resolve(name_or_cfg, ctx, protocol)


def _resolve(name_or_cfg: str | DistillConfig, ctx: RunContext, protocol: Protocol | None) -> DistillConfig:
    cfg = apply_protocol(method(name_or_cfg) if isinstance(name_or_cfg, str) else name_or_cfg, protocol)
    if cfg.alpha != "mean":
        return cfg
    return with_mean_alpha(cfg, mean_alpha(distill(cfg.alpha_from, ctx, protocol=protocol)))


def distill_or_load(name_or_cfg: str | DistillConfig, dataset: str = "hapt", preset: str | ModelsPreset = "quick", *,
                    seed: int = 0, threads: int | None = None, cache_dir: str | Path | None = None,
                    progress: bool = True, retrain: bool = False, fold: int | None = None,
                    protocol: Protocol | None = None) -> Distilled:
    """Train the student with one method in the project's one loop, or load it from the cache.

    Parameters
    ----------
    name_or_cfg : str or mglwkd_lite.distill.DistillConfig
        A key of :data:`mglwkd_lite.distill.METHODS`, or a config.
    dataset : {"hapt", "spsw"}
    preset : str or ModelsPreset
        The student's architecture, training windows and recipe are those of the scratch student of
        the preset (quick: 6 epochs on a stratified 25 % of the training windows), so every row of
        the table differs from the scratch student only in its objective.
    seed : int
        Seed of the student (and of the teachers it learns from).
    threads : int or None
        CPU threads for training; ``None`` keeps the preset's (one in ``"full"``, every core in
        ``"quick"`` and ``"group"``); 1 is much faster on a CPU shared with other jobs. Part of the
        training config, hence of the cache key.
    cache_dir, progress, retrain, fold
        As in :func:`train_or_load`.
    protocol : mglwkd_lite.presets.Protocol, optional
        Applied to the method (:func:`mglwkd_lite.distill.apply_protocol`): a warm start begins from
        the scratch student of the same data set, preset, fold and seed. None: the method as given.

    Returns
    -------
    Distilled
        Its history rows carry ``alpha_std`` (the spread of alpha over the epoch's batches) for
        the methods with a two-teacher KD term (:func:`mglwkd_lite.distill.epoch_spread`).

    Notes
    -----
    The scratch row *is* the scratch student of :func:`train_or_load`. The cache key hashes the
    method, the student's data and architecture, the training recipe, the teachers' keys and, with
    annealing, the scratch student's key. A method with ``alpha="mean"`` is first resolved by
    :func:`resolve_method` (training or loading its ``alpha_from`` run).
    """
    ctx = RunContext.of(dataset, preset, fold=fold, seed=seed, threads=threads, cache_dir=cache_dir, progress=progress)
    return distill(name_or_cfg, ctx, protocol=protocol, retrain=retrain)


def distill(name_or_cfg: str | DistillConfig, ctx: RunContext, *, protocol: Protocol | None = None,
            retrain: bool = False) -> Distilled:
    """:func:`distill_or_load` in a run's context (what the experiment runner calls)."""
    cfg = _resolve(name_or_cfg, ctx, protocol)
    if cfg == METHODS["scratch"]:
        return Distilled(cfg, train("student", ctx, retrain=retrain))
    data = ctx.data("student")
    bank, teacher_keys, teachers = teacher_bank_of(ctx, with_trained=True) if cfg.uses_teachers else (None, (), {})
    key_parts: dict[str, Any] = {"spec": data.spec, "data": data.key, "method": cfg, "teachers": list(teacher_keys)}
    scratch = train("student", ctx) if cfg.anneal else None
    setup = ctx.models
    train_cfg = dataclasses.replace(setup.train, seed=ctx.seed,
                                    threads=setup.train.threads if ctx.threads is None else ctx.threads)
    repro.seed_everything(ctx.seed)  # fixes the initial weights of the student and the workspace
    student = build_model(data.spec)
    workspace = build_workspace(cfg, bank, _feature_shape(student, data.input_shape)) if bank is not None else None
    if scratch is not None:
        student.load_state_dict(scratch.model.state_dict())
        key_parts["anneal_from"] = scratch.key
    trained = fit_or_load(
        f"distill-{cfg.name}", key_parts, student, data.train, data.val, train_cfg, test_set=data.test,
        objective=make_objective(cfg, bank, workspace), extra_modules=(workspace,) if workspace else (),
        cache_dir=ctx.cache_dir, progress=ctx.progress, retrain=retrain,
    )
    trained.history[:] = epoch_spread(trained.history)
    residual = None
    if workspace is not None:
        both = ResidualStudent(trained.model, workspace).eval()
        residual = {split: evaluate(both, getattr(data, split)) for split in ("val", "test")}
    return Distilled(cfg, trained, workspace, residual, {k: teacher_summary(t) for k, t in teachers.items()})


def load_student(dataset: str = "hapt", preset: str = "quick", method: str = "scratch", progress: bool = False,
                 cache_dir: str | Path | None = None) -> Trained:
    """The trained 1-D WRN16-1 student to deploy (trained once, then loaded from the cache).

    Parameters
    ----------
    dataset : {"hapt", "spsw"}
    preset : {"quick", "full", "group"}
    method : str
        ``"scratch"`` (cross-entropy only, :func:`train_or_load`) or a distillation method (e.g.
        ``"mglwkd"``, :func:`distill_or_load`; this trains the teachers first unless they are
        cached). Either way the shipped network is the plain student.
    progress : bool
    cache_dir : str or pathlib.Path, optional

    Returns
    -------
    mglwkd_lite.checkpoint.Trained
        ``model`` in eval mode and its ``metrics`` (``"val"``, ``"test"``).
    """
    if method == "scratch":
        return train_or_load("student", dataset, preset, cache_dir=cache_dir, progress=progress)
    return distill_or_load(method, dataset, preset, cache_dir=cache_dir, progress=progress).trained


@torch.no_grad()
def workspace_maps(result: Distilled, dataset: str = "hapt", preset: str | ModelsPreset = "quick", *,
                   split: str = "test", index: Sequence[int] | None = None, seed: int = 0,
                   cache_dir: str | Path | None = None, fold: int | None = None) -> dict[str, np.ndarray]:
    """KIS and KTS of a distilled student's workspace on real windows (teachers run, eval mode).

    Parameters
    ----------
    result : Distilled
        A student with a workspace.
    dataset, preset, seed, cache_dir, fold
        As in :func:`distill_or_load`: the student's seed and fold; the teachers are those it learnt from
        (the fold's, with :func:`teacher_seed`), loaded from the cache.
    split : {"train", "val", "test"}
        Which windows.
    index : sequence of int, optional
        Positions in that split (default: all).

    Returns
    -------
    dict of str to numpy.ndarray
        ``kis`` ``(n, 2, K, L)`` (signal, PI), ``kts`` ``(n, L, K)``, ``kts_avg_slots`` ``(n, L, K)``
        (the teacher-free transfer on the averaged slots), ``d`` ``(n, 2)`` per-window squared
        distances between ``KTS^T`` and each KIS, ``alpha`` ``(n,)`` unclipped ``d_1 / (d_1 + d_2)``,
        and ``y`` ``(n,)``.
    """
    if result.workspace is None:
        raise DistillError(f"method {result.method.name!r} has no workspace")
    ctx = RunContext.of(dataset, preset, fold=fold, seed=seed, cache_dir=cache_dir, progress=False)
    feats, y = [], None
    for kind in ("signal_teacher", "pi_teacher", "student"):
        data = getattr(ctx.data(kind), split)
        idx = torch.arange(len(data)) if index is None else torch.as_tensor(index, dtype=torch.long)
        x, y = data.x[idx], data.y[idx]
        net = result.model if kind == "student" else train(kind, ctx.teachers()).model
        net.eval()
        feats.append(net(x, return_features=True)[1].float())
    ws = result.workspace.eval()
    out = ws(feats[:2], feats[2])
    _, kts_avg = ws.transfer_without_teachers(feats[2])
    ref = kts_as_kis(out.kts)
    d = torch.stack([(ref - k).pow(2).mean(dim=(1, 2)) for k in out.kis], dim=1)
    return {
        "kis": torch.stack(out.kis, dim=1).numpy(), "kts": out.kts.numpy(), "kts_avg_slots": kts_avg.numpy(),
        "d": d.numpy(), "alpha": (d[:, 0] / d.sum(1).clamp_min(1e-12)).numpy(), "y": y.numpy(),
    }
