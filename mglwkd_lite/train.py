"""The one training loop of the project, evaluation, checkpoints and the trained-model cache.

Every model in the project is trained by :func:`fit`: the teachers and the scratch student here, and
every distillation method as a configuration of the same loop (a pluggable ``objective`` and
``extra_modules`` trained jointly with the model, e.g. the global latent workspace).

Data sets yield dict batches ``{"x": (B, ...), "y": (B,), "index": (B,)}``; ``index`` is the position
of each sample in its data set, so a distillation objective can look up cached teacher outputs
(:func:`cached_outputs`) for exactly the windows of the batch.

The training recipe is the group's (DESIGN §5): SGD with momentum 0.9, weight decay 1e-4, batch 64,
learning rate 0.05, then 0.01 after a third and 0.001 after two thirds of the epochs. Unlike the
group, who report the best *test* accuracy over epochs, :func:`fit` selects the epoch with the best
*validation* macro F1 (held-out training subjects) and restores those weights; the test subjects
are used once, to score the selected model.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score
from torch import nn
from torch.utils.data import DataLoader, Dataset

from . import repro
from ._io import atomic_save_npz, atomic_write_with, default_cache_dir, load_npz, stable_hash
from .data import PRESET_NAMES  # re-exported: scripts take the names from here
from .models import ModelSpec, WideResNet, build_model

__all__ = [
    "TrainError",
    "CheckpointError",
    "TrainConfig",
    "ArrayDataset",
    "as_dataset",
    "make_loader",
    "cross_entropy_objective",
    "fit",
    "FitResult",
    "evaluate",
    "predict",
    "save_checkpoint",
    "load_checkpoint",
    "load_model",
    "Checkpoint",
    "Trained",
    "fit_or_load",
    "cached_outputs",
    "resolve_device",
    "KINDS",
    "ModelsPreset",
    "ModelData",
    "model_data",
    "train_or_load",
    "teacher_outputs",
    "results_table",
    "plot_histories",
    "plot_confusions",
    "save_results",
    "load_results",
]

Batch = dict[str, torch.Tensor]
Objective = Callable[[nn.Module, Batch], tuple[torch.Tensor, Mapping[str, float]]]
Predictor = Callable[[nn.Module, Batch], torch.Tensor]

CHECKPOINT_FORMAT = "mglwkd-lite-checkpoint/1"


class TrainError(ValueError):
    """Invalid training input or setting (data set shapes, config values, a diverging loss)."""


class CheckpointError(TrainError):
    """A checkpoint that is missing, unreadable, or does not fit the model it is loaded into."""


# --------------------------------------------------------------------------------------------------
# configuration


@dataclass(frozen=True)
class TrainConfig:
    """Settings of one training run (the group's recipe by default).

    Parameters
    ----------
    epochs : number of epochs (200 in the group's runs).
    batch_size : training batch size.
    lr : initial learning rate.
    lr_steps : ``((fraction, lr), ...)``: from epoch ``int(fraction * epochs)`` on, use ``lr``.
    momentum, weight_decay : SGD settings.
    seed : seeds Python, NumPy, PyTorch and the shuffling generator (see :mod:`mglwkd_lite.repro`).
    patience : stop after this many epochs without a better validation score, counted only once the
        last learning-rate step has been reached (so a plateau before a step never ends a run);
        ``None`` never stops early.
    select_by : validation metric that picks the epoch to keep: ``"macro_f1"`` or ``"accuracy"``.
    device : ``"auto"`` (CUDA when present, else the CPU), ``"cpu"`` or ``"cuda[:i]"``.
    threads : CPU threads (``None``: every core the process may use). The same seed *and* the same
        thread count give identical numbers. On a CPU shared with other busy processes one thread
        can be much faster than two that wait on each other at every operation (measured for the
        HAPT student: 3.8 s against 24 s per epoch).
    eval_batch_size : batch size for validation and prediction (no gradients).
    channels_last : use the channels-last memory format for 2-D models (faster on CPUs, see
        ``benchmarks/teacher_throughput.py``).
    """

    epochs: int = 200
    batch_size: int = 64
    lr: float = 0.05
    lr_steps: tuple[tuple[float, float], ...] = ((1 / 3, 0.01), (2 / 3, 0.001))
    momentum: float = 0.9
    weight_decay: float = 1e-4
    seed: int = 0
    patience: int | None = 30
    select_by: str = "macro_f1"
    device: str = "auto"
    threads: int | None = None
    eval_batch_size: int = 256
    channels_last: bool = True

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1 or self.eval_batch_size < 1:
            raise TrainError(f"epochs, batch_size and eval_batch_size must be >= 1, got {self.epochs}, "
                             f"{self.batch_size}, {self.eval_batch_size}")
        if self.lr <= 0 or any(not 0 <= f <= 1 or v <= 0 for f, v in self.lr_steps):
            raise TrainError(f"lr must be > 0 and lr_steps pairs (fraction in [0, 1], lr > 0), got "
                             f"lr={self.lr}, lr_steps={self.lr_steps}")
        if self.select_by not in ("macro_f1", "accuracy"):
            raise TrainError(f"select_by must be 'macro_f1' or 'accuracy', got {self.select_by!r}")
        if self.patience is not None and self.patience < 1:
            raise TrainError(f"patience must be >= 1 or None, got {self.patience}")

    @classmethod
    def full(cls, **changes: Any) -> "TrainConfig":
        """The group's recipe: 200 epochs, step learning rate, batch 64 (:meth:`ModelsPreset.full`
        compresses it to 30 epochs without early stopping, on one thread)."""
        return dataclasses.replace(cls(), **changes)

    @classmethod
    def quick(cls, **changes: Any) -> "TrainConfig":
        """CI / Binder: 6 epochs with the same step schedule (steps after epochs 2 and 4)."""
        return dataclasses.replace(cls(epochs=6, patience=None), **changes)

    def lr_at(self, epoch: int) -> float:
        """Learning rate of epoch ``epoch`` (0-based)."""
        lr = self.lr
        for fraction, value in sorted(self.lr_steps):
            if epoch >= int(fraction * self.epochs):
                lr = value
        return lr

    @property
    def last_step_epoch(self) -> int:
        """First epoch of the last learning-rate phase (where early stopping starts counting)."""
        return max([0] + [int(f * self.epochs) for f, _ in self.lr_steps])


def resolve_device(device: str = "auto") -> torch.device:
    """``"auto"`` -> CUDA when available, else the CPU; anything else is passed to ``torch.device``."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


# --------------------------------------------------------------------------------------------------
# data


class ArrayDataset(Dataset):
    """In-memory samples ``x`` (N, ...) and labels ``y`` (N,) yielding ``{"x", "y", "index"}``.

    Arrays are wrapped without copying (``torch.from_numpy``). Batches are gathered in one indexing
    operation (``__getitems__``), which is much faster than collating single samples.
    """

    def __init__(self, x: np.ndarray | torch.Tensor, y: np.ndarray | torch.Tensor) -> None:
        x = torch.as_tensor(x)
        y = torch.as_tensor(y)
        if x.dim() < 2 or y.dim() != 1 or len(x) != len(y):
            raise TrainError(f"need x (N, ...) and y (N,) with equal N, got x {tuple(x.shape)}, y {tuple(y.shape)}")
        if not torch.is_floating_point(x):
            raise TrainError(f"x must be floating point, got {x.dtype}")
        if y.dtype not in (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8):
            raise TrainError(f"y must hold integer class indices, got {y.dtype}")
        if len(y) and int(y.min()) < 0:
            raise TrainError(f"y must hold class indices >= 0, found {int(y.min())} at row {int(y.argmin())}")
        self.x = x.float()
        self.y = y.long()

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int) -> Batch:
        return {"x": self.x[i], "y": self.y[i], "index": torch.tensor(i)}

    def __getitems__(self, indices: Sequence[int]) -> Batch:
        idx = torch.as_tensor(indices, dtype=torch.long)
        return {"x": self.x[idx], "y": self.y[idx], "index": idx}

    def fingerprint(self) -> str:
        """Hash of the samples and labels (a cache key part)."""
        return stable_hash(self.x.numpy(), self.y.numpy())


def as_dataset(data: Any) -> Dataset:
    """A data set yielding dict samples, from a ``Dataset``, an object with ``.x``/``.y`` (e.g.
    :class:`mglwkd_lite.data.Windows`) or a pair ``(x, y)``."""
    if isinstance(data, Dataset):
        return data
    if hasattr(data, "x") and hasattr(data, "y"):
        return ArrayDataset(data.x, data.y)
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return ArrayDataset(*data)
    raise TrainError(f"cannot use {type(data).__name__} as a data set: pass a Dataset, an object with "
                     f".x and .y, or a pair (x, y)")


def _collate(items: Any) -> Batch:
    # ArrayDataset.__getitems__ already returns a batch; other data sets give a list of dicts.
    if isinstance(items, Mapping):
        return dict(items)
    return torch.utils.data.default_collate(items)


def make_loader(dataset: Dataset, batch_size: int, shuffle: bool = False, seed: int = 0) -> DataLoader:
    """A ``DataLoader`` of dict batches; shuffling draws from its own ``torch.Generator(seed)``."""
    generator = torch.Generator().manual_seed(int(seed)) if shuffle else None
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, generator=generator,
                      collate_fn=_collate, num_workers=0)


def _to_device(batch: Batch, device: torch.device, channels_last: bool) -> Batch:
    out = {k: (v.to(device, non_blocking=True) if torch.is_tensor(v) else v) for k, v in batch.items()}
    if channels_last and out["x"].dim() == 4:
        out["x"] = out["x"].contiguous(memory_format=torch.channels_last)
    return out


# --------------------------------------------------------------------------------------------------
# training


def cross_entropy_objective(model: nn.Module, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
    """The default objective: cross-entropy of ``model(batch["x"])`` against ``batch["y"]``.

    Every objective has this signature: ``(model, batch) -> (loss, logs)``, ``loss`` a scalar tensor
    to minimise, ``logs`` a dict of floats averaged per epoch into the history (e.g. loss terms).
    """
    loss = F.cross_entropy(model(batch["x"]), batch["y"])
    return loss, {"ce": float(loss.detach())}


@dataclass
class FitResult:
    """What :func:`fit` returns (the model itself holds the selected weights).

    Attributes
    ----------
    best_epoch : 1-based epoch whose weights were kept.
    val_metrics : :func:`evaluate` output of the kept weights on the validation set.
    history : one dict per epoch: ``epoch, lr, loss, <objective logs>, val_loss, val_accuracy,
        val_macro_f1, seconds``.
    stopped_early : whether early stopping ended the run.
    seconds : wall time of the run.
    """

    best_epoch: int
    val_metrics: dict[str, Any]
    history: list[dict[str, float]]
    stopped_early: bool
    seconds: float


def _parameters(modules: Iterable[nn.Module]) -> list[nn.Parameter]:
    seen: set[int] = set()
    params = []
    for module in modules:
        for p in module.parameters():
            if p.requires_grad and id(p) not in seen:
                seen.add(id(p))
                params.append(p)
    return params


def _state(modules: Sequence[nn.Module]) -> list[dict[str, torch.Tensor]]:
    return [{k: v.detach().to("cpu", copy=True) for k, v in m.state_dict().items()} for m in modules]


def fit(
    model: nn.Module,
    train_set: Any,
    val_set: Any,
    cfg: TrainConfig = TrainConfig(),
    objective: Objective | None = None,
    extra_modules: Sequence[nn.Module] = (),
    *,
    predict_fn: Predictor | None = None,
    progress: bool = True,
) -> FitResult:
    """Train ``model`` (and ``extra_modules``) with SGD, keep the epoch best on validation.

    Parameters
    ----------
    model : the network; it is moved to the chosen device and left holding the selected weights.
    train_set, val_set : data sets of dict samples ``{"x", "y", "index"}`` (or anything
        :func:`as_dataset` accepts). Training batches are shuffled by a generator seeded with
        ``cfg.seed``.
    cfg : :class:`TrainConfig`.
    objective : ``objective(model, batch) -> (loss, logs)``; default :func:`cross_entropy_objective`.
        A distillation objective reads ``batch["index"]`` to look up cached teacher outputs.
    extra_modules : modules trained jointly (their parameters join the optimiser; they follow the
        model's train/eval mode and device, and their selected-epoch weights are restored too).
    predict_fn : ``predict_fn(model, batch) -> logits`` used for validation; default ``model(x)``.
    progress : show a tqdm bar over epochs.

    Returns
    -------
    FitResult
    """
    from tqdm.auto import tqdm

    train_set, val_set = as_dataset(train_set), as_dataset(val_set)
    if len(train_set) == 0 or len(val_set) == 0:
        raise TrainError(f"empty data set: {len(train_set)} training and {len(val_set)} validation samples")
    objective = objective or cross_entropy_objective
    modules = [model, *extra_modules]
    repro.seed_everything(cfg.seed)
    device = resolve_device(cfg.device)
    if device.type == "cpu":
        repro.set_threads(cfg.threads)
    for m in modules:
        m.to(device)
        if cfg.channels_last and getattr(getattr(m, "spec", None), "dim", None) == 2:
            m.to(memory_format=torch.channels_last)
    optimiser = torch.optim.SGD(_parameters(modules), lr=cfg.lr, momentum=cfg.momentum,
                                weight_decay=cfg.weight_decay)
    loader = make_loader(train_set, cfg.batch_size, shuffle=True, seed=cfg.seed)

    history: list[dict[str, float]] = []
    best_score, best_epoch, best_state, val_best = -math.inf, 0, _state(modules), {}
    stale, stopped_early = 0, False
    start = time.perf_counter()
    bar = tqdm(range(cfg.epochs), desc="epochs", disable=not progress, leave=False)
    for epoch in bar:
        tic = time.perf_counter()
        lr = cfg.lr_at(epoch)
        for group in optimiser.param_groups:
            group["lr"] = lr
        for m in modules:
            m.train()
        sums: dict[str, float] = {}
        seen = 0
        for step, batch in enumerate(loader):
            batch = _to_device(batch, device, cfg.channels_last)
            loss, logs = objective(model, batch)
            if not torch.isfinite(loss):
                raise TrainError(f"loss is {float(loss.detach())} at epoch {epoch + 1}, batch {step + 1}: lower the "
                                 f"learning rate or check the inputs for NaN/inf")
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            n = len(batch["y"])
            seen += n
            for key, value in {"loss": float(loss.detach()), **logs}.items():
                sums[key] = sums.get(key, 0.0) + float(value) * n
        for m in modules:
            m.eval()
        val = evaluate(model, val_set, batch_size=cfg.eval_batch_size, device=device,
                       predict_fn=predict_fn, channels_last=cfg.channels_last)
        row = {"epoch": epoch + 1, "lr": lr, **{k: v / seen for k, v in sums.items()},
               "val_loss": val["loss"], "val_accuracy": val["accuracy"], "val_macro_f1": val["macro_f1"],
               "seconds": time.perf_counter() - tic}
        history.append(row)
        score = val[cfg.select_by]
        if score > best_score:
            best_score, best_epoch, best_state, val_best, stale = score, epoch + 1, _state(modules), val, 0
        elif epoch >= cfg.last_step_epoch:
            stale += 1
        bar.set_postfix(loss=f"{row['loss']:.3f}", val_f1=f"{val['macro_f1']:.3f}", best=best_epoch)
        if cfg.patience is not None and stale >= cfg.patience:
            stopped_early = True
            break
    bar.close()
    for m, state in zip(modules, best_state):
        m.load_state_dict(state)
    for m in modules:
        m.eval()
    return FitResult(best_epoch, val_best, history, stopped_early, time.perf_counter() - start)


# --------------------------------------------------------------------------------------------------
# evaluation


@torch.no_grad()
def predict(
    model: nn.Module,
    data: Any,
    *,
    batch_size: int = 256,
    device: torch.device | str | None = None,
    predict_fn: Predictor | None = None,
    return_features: bool = False,
    channels_last: bool = False,
) -> tuple[np.ndarray, np.ndarray] | tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Logits ``(N, K)`` and labels ``(N,)`` of a data set in its order, in eval mode.

    With ``return_features`` (plain models only) also the last-stage features ``(N, C, ...)``.
    """
    dataset = as_dataset(data)
    device = torch.device(device) if device is not None else next(model.parameters()).device
    was_training = model.training
    model.eval()
    logits, labels, feats = [], [], []
    try:
        for batch in make_loader(dataset, batch_size):
            batch = _to_device(batch, device, channels_last)
            if return_features:
                out, f = model(batch["x"], return_features=True)
                feats.append(f.float().cpu().contiguous().numpy())
            else:
                out = predict_fn(model, batch) if predict_fn is not None else model(batch["x"])
            logits.append(out.float().cpu().numpy())
            labels.append(batch["y"].cpu().numpy())
    finally:
        model.train(was_training)
    result = (np.concatenate(logits), np.concatenate(labels))
    return (*result, np.concatenate(feats)) if return_features else result


def evaluate(
    model: nn.Module,
    data: Any,
    *,
    batch_size: int = 256,
    device: torch.device | str | None = None,
    predict_fn: Predictor | None = None,
    channels_last: bool = False,
) -> dict[str, Any]:
    """Accuracy, macro F1, confusion matrix and cross-entropy of ``model`` on ``data`` (scikit-learn).

    Returns
    -------
    dict with ``accuracy`` and ``macro_f1`` (floats), ``confusion`` (K, K) int array (rows: true
    class, columns: predicted; K = number of logits), ``loss`` (mean cross-entropy) and ``n``.
    """
    logits, y = predict(model, data, batch_size=batch_size, device=device, predict_fn=predict_fn,
                        channels_last=channels_last)
    labels = np.arange(logits.shape[1])
    pred = logits.argmax(1)
    return {
        "accuracy": float(accuracy_score(y, pred)),
        "macro_f1": float(f1_score(y, pred, labels=labels, average="macro", zero_division=0)),
        "confusion": confusion_matrix(y, pred, labels=labels),
        "loss": float(F.cross_entropy(torch.from_numpy(logits), torch.from_numpy(y).long())),
        "n": int(len(y)),
    }


# --------------------------------------------------------------------------------------------------
# checkpoints


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (np.integer, np.floating, np.bool_)):
        return obj.item()
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    return obj


@dataclass
class Checkpoint:
    """What a checkpoint holds besides the weights (all plain JSON values)."""

    path: Path
    spec: dict[str, Any] | None
    config: dict[str, Any]
    metrics: dict[str, Any]
    history: list[dict[str, Any]]
    versions: dict[str, str]
    machine: dict[str, Any]


def save_checkpoint(
    path: str | Path,
    model: nn.Module,
    config: Any,
    metrics: Mapping[str, Any],
    *,
    history: Sequence[Mapping[str, Any]] = (),
    extra_modules: Sequence[nn.Module] = (),
) -> Path:
    """Write weights, architecture, config, metrics, history and versions atomically.

    The file is a plain dict of tensors and JSON strings, so :func:`load_checkpoint` can read it with
    ``torch.load(weights_only=True)`` (no unpickling of arbitrary objects).
    """
    spec = getattr(model, "spec", None)
    payload = {
        "format": CHECKPOINT_FORMAT,
        "spec": json.dumps(_jsonable(spec)) if spec is not None else "null",
        "state_dict": {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()},
        "extra_state_dicts": [{k: v.detach().cpu().contiguous() for k, v in m.state_dict().items()}
                              for m in extra_modules],
        "config": json.dumps(_jsonable(config)),
        "metrics": json.dumps(_jsonable(metrics)),
        "history": json.dumps(_jsonable(list(history))),
        "versions": json.dumps(repro.versions()),
        "machine": json.dumps(_jsonable(repro.machine())),
    }
    return atomic_write_with(path, lambda fh: torch.save(payload, fh))


def _read(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # truncated, not a torch file, or holding non-weights objects
        raise CheckpointError(f"cannot read checkpoint {path}: {err}") from err
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path} is not a {CHECKPOINT_FORMAT} file")
    return payload


def _describe_mismatch(model: nn.Module, state: Mapping[str, torch.Tensor]) -> str:
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shapes = [f"{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
              for k in own if k in state and state[k].shape != own[k].shape]
    parts = []
    if missing:
        parts.append(f"{len(missing)} missing (e.g. {missing[0]})")
    if unexpected:
        parts.append(f"{len(unexpected)} unexpected (e.g. {unexpected[0]})")
    if shapes:
        parts.append(f"{len(shapes)} of another shape (e.g. {shapes[0]})")
    return "; ".join(parts)


def load_checkpoint(path: str | Path, model: nn.Module, extra_modules: Sequence[nn.Module] = ()) -> Checkpoint:
    """Load weights into ``model`` (and ``extra_modules``) and return the stored information.

    Raises
    ------
    CheckpointError
        When the file is missing or unreadable, or was saved from another architecture.
    """
    path = Path(path)
    payload = _read(path)
    spec = json.loads(payload["spec"])
    own_spec = getattr(model, "spec", None)
    if spec is not None and own_spec is not None and _jsonable(own_spec) != spec:
        raise CheckpointError(
            f"checkpoint {path} was saved from {ModelSpec(**spec).name} with {spec['in_channels']} input "
            f"channels and {spec['num_classes']} classes, but the model is {own_spec.name} with "
            f"{own_spec.in_channels} input channels and {own_spec.num_classes} classes"
        )
    states = [payload["state_dict"], *payload["extra_state_dicts"]]
    modules = [model, *extra_modules]
    if len(states) != len(modules):
        raise CheckpointError(f"checkpoint {path} holds {len(states) - 1} extra modules, "
                              f"{len(modules) - 1} were given")
    for module, state in zip(modules, states):
        problem = _describe_mismatch(module, state)
        if problem:
            raise CheckpointError(f"checkpoint {path} does not fit {type(module).__name__}: {problem}")
        module.load_state_dict(state)
    return Checkpoint(path, spec, json.loads(payload["config"]), json.loads(payload["metrics"]),
                      json.loads(payload["history"]), json.loads(payload["versions"]),
                      json.loads(payload["machine"]))


def load_model(path: str | Path) -> tuple[WideResNet, Checkpoint]:
    """Rebuild the network stored in a checkpoint (needs only :mod:`mglwkd_lite.models`) in eval mode."""
    payload = _read(Path(path))
    spec = json.loads(payload["spec"])
    if spec is None:
        raise CheckpointError(f"checkpoint {path} holds no architecture; build the model and use load_checkpoint")
    model = build_model(ModelSpec(**spec))
    info = load_checkpoint(path, model)
    return model.eval(), info


# --------------------------------------------------------------------------------------------------
# the trained-model cache


@dataclass
class Trained:
    """A trained (or cache-loaded) model with its metrics.

    Attributes
    ----------
    model : the network holding the selected weights, in eval mode.
    metrics : ``{"val": {...}, "test": {...}, "best_epoch": int, "seconds": float, ...}``; the
        per-split dicts are :func:`evaluate` outputs (``confusion`` as a NumPy array).
    history : per-epoch rows (see :class:`FitResult`).
    checkpoint : path of the checkpoint file.
    key : the cache key (hash of model spec, training config and data).
    from_cache : whether the model was loaded instead of trained.
    extra_modules : the jointly trained modules, holding their selected weights.
    """

    model: nn.Module
    metrics: dict[str, Any]
    history: list[dict[str, Any]]
    checkpoint: Path
    key: str
    from_cache: bool
    extra_modules: tuple[nn.Module, ...] = field(default_factory=tuple)


def _restore_arrays(metrics: dict[str, Any]) -> dict[str, Any]:
    out = dict(metrics)
    for split, value in metrics.items():
        if isinstance(value, dict) and "confusion" in value:
            out[split] = {**value, "confusion": np.asarray(value["confusion"], dtype=np.int64)}
    return out


def fit_or_load(
    tag: str,
    key_parts: Any,
    model: nn.Module,
    train_set: Any,
    val_set: Any,
    cfg: TrainConfig,
    *,
    test_set: Any = None,
    objective: Objective | None = None,
    extra_modules: Sequence[nn.Module] = (),
    predict_fn: Predictor | None = None,
    cache_dir: str | Path | None = None,
    progress: bool = True,
    retrain: bool = False,
) -> Trained:
    """Train with :func:`fit` and cache the checkpoint, or load it if this exact run is cached.

    The cache key is ``stable_hash(tag, key_parts, cfg)``: ``key_parts`` must name everything else
    that shapes the result (model spec, data fingerprint, objective settings). Build ``model`` and
    ``extra_modules`` right after ``repro.seed_everything(cfg.seed)`` so that the initial weights
    are fixed by the seed too. The checkpoint is ``<cache>/models/<tag>-<key>.pt``.
    """
    key = stable_hash(tag, key_parts, cfg)
    path = Path(cache_dir or default_cache_dir()) / "models" / f"{tag}-{key}.pt"
    if path.is_file() and not retrain:
        info = load_checkpoint(path, model, extra_modules)
        for m in (model, *extra_modules):
            m.eval()
        return Trained(model, _restore_arrays(info.metrics), info.history, path, key, True, tuple(extra_modules))
    result = fit(model, train_set, val_set, cfg, objective, extra_modules, predict_fn=predict_fn,
                 progress=progress)
    device = next(model.parameters()).device
    metrics: dict[str, Any] = {"val": result.val_metrics, "best_epoch": result.best_epoch,
                               "input_shape": list(as_dataset(train_set)[0]["x"].shape),
                               "epochs_run": len(result.history), "stopped_early": result.stopped_early,
                               "seconds": result.seconds}
    if test_set is not None:
        metrics["test"] = evaluate(model, test_set, batch_size=cfg.eval_batch_size, device=device,
                                   predict_fn=predict_fn, channels_last=cfg.channels_last)
    config = {"tag": tag, "key_parts": key_parts, "train": cfg}
    save_checkpoint(path, model, config, metrics, history=result.history, extra_modules=extra_modules)
    return Trained(model, _restore_arrays(_jsonable(metrics)), result.history, path, key, False,
                   tuple(extra_modules))


def cached_outputs(
    trained: Trained,
    data: Any,
    *,
    cache_dir: str | Path | None = None,
    batch_size: int = 256,
    feature_dtype: str = "float32",
) -> dict[str, np.ndarray]:
    """A trained model's logits and last-stage features on a data set, computed once and cached.

    Row ``i`` belongs to sample ``i`` of ``data`` (the ``index`` of its batches), so a distillation
    objective looks teacher outputs up by ``batch["index"]``.

    Returns
    -------
    dict with ``logits`` (N, K) float32, ``features`` (N, C, T') or (N, C, H', W') in
    ``feature_dtype``, and ``y`` (N,) int64 (to check alignment).
    """
    dataset = as_dataset(data)
    fingerprint = dataset.fingerprint() if hasattr(dataset, "fingerprint") else stable_hash(len(dataset))
    path = (Path(cache_dir or default_cache_dir()) / "outputs"
            / f"{trained.checkpoint.stem}-{stable_hash(fingerprint, feature_dtype)}.npz")
    if path.is_file():
        return load_npz(path)
    channels_last = getattr(getattr(trained.model, "spec", None), "dim", 1) == 2
    logits, y, feats = predict(trained.model, dataset, batch_size=batch_size, return_features=True,
                               channels_last=channels_last)
    arrays = {"logits": logits.astype(np.float32), "features": feats.astype(feature_dtype), "y": y.astype(np.int64)}
    atomic_save_npz(path, **arrays)
    return arrays


# --------------------------------------------------------------------------------------------------
# the teachers and the scratch student (notebook 03; reused by notebooks 04, 05 and 07)

#: The three models trained before distillation: name -> (input, description).
KINDS: dict[str, str] = {
    "signal_teacher": "1-D WRN on the normalised windows (N, 3, T)",
    "pi_teacher": "2-D WRN on the persistence images (N, 3, R, R) of the same windows",
    "student": "1-D WRN16-1 on the windows, trained from scratch (the baseline the KD student must beat)",
}


@dataclass(frozen=True)
class ModelsPreset:
    """Architectures, inputs and training of the teachers and the scratch student.

    Parameters
    ----------
    train : the training recipe (:class:`TrainConfig`).
    signal_teacher, pi_teacher, student : ``(depth, width)`` of each WideResNet.
    pi_resolution : persistence-image size ``R`` for the PI teacher (images are ``3 x R x R``).
    train_fraction : seeded, class-stratified share of the training windows used (val and test are
        always whole). The same subset, in the same order, is used by every model of a preset, so
        cached teacher outputs line up with the student's training windows.

    Notes
    -----
    The PI teacher is the costly one on a CPU (``benchmarks/teacher_throughput.py``, stored result
    on one thread): a 2-D WRN16-3 on 64 x 64 images trains at 5.9 windows/s, a WRN16-1 on 32 x 32
    images in the channels-last format at 189 windows/s (the 1-D WRN16-3 signal teacher: 150, the
    1-D WRN16-1 student: 692). Every preset therefore uses the WRN16-1 at 32 x 32 (the paper: WRN16-3
    at 64 x 64; ``ModelsPreset.group(pi_teacher=(16, 3), pi_resolution=64)`` on a GPU).
    """

    train: TrainConfig = field(default_factory=TrainConfig.full)
    signal_teacher: tuple[int, int] = (16, 3)
    pi_teacher: tuple[int, int] = (16, 1)
    student: tuple[int, int] = (16, 1)
    pi_resolution: int = 32
    train_fraction: float = 1.0

    @classmethod
    def full(cls, **changes: Any) -> "ModelsPreset":
        """The paper-scale run on a CPU: every training window, the group's step schedule
        compressed to 30 epochs (no early stopping), one training thread per run.

        The group's 200 epochs (:meth:`group`) cost about 2 h per signal teacher on one CPU core
        (with early stopping after about 160 epochs) and would put the 72 runs of the paper sweep
        out of reach; notebook 03 sets the HAPT scratch student of both schedules side by side
        (records in ``results/teachers_group`` and ``results/teachers_full``).
        """
        return dataclasses.replace(cls(train=TrainConfig.full(epochs=30, patience=None, threads=1)), **changes)

    @classmethod
    def group(cls, **changes: Any) -> "ModelsPreset":
        """The group's recipe as published: 200 epochs, early stopping after the last step (a GPU run)."""
        return dataclasses.replace(cls(), **changes)

    @classmethod
    def quick(cls, **changes: Any) -> "ModelsPreset":
        """CI / Binder: 6 epochs on a stratified 25 % of the training windows (same architectures)."""
        return dataclasses.replace(cls(train=TrainConfig.quick(), train_fraction=0.25), **changes)

    @classmethod
    def preset(cls, name: str | "ModelsPreset") -> "ModelsPreset":
        """``"quick"``, ``"full"`` or ``"group"`` (a :class:`ModelsPreset` is returned as is)."""
        if isinstance(name, ModelsPreset):
            return name
        if name not in PRESET_NAMES:
            raise TrainError(f"unknown preset {name!r}; expected one of {list(PRESET_NAMES)}")
        return getattr(cls, name)()

    def architecture(self, kind: str) -> tuple[int, int, int]:
        """``(dim, depth, width)`` of a model kind."""
        _check_kind(kind)
        depth, width = getattr(self, kind)
        return (2 if kind == "pi_teacher" else 1), depth, width


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise TrainError(f"unknown model kind {kind!r}; expected one of {sorted(KINDS)}")


@dataclass
class ModelData:
    """The inputs of one model kind on one data set (see :func:`model_data`).

    ``train``/``val``/``test`` are :class:`ArrayDataset` s; ``train`` sample ``i`` is training window
    ``i`` for every kind of the same preset (windows for the 1-D models, their images for the PI
    teacher). ``spec`` is the network to train, ``key`` hashes the data and the input settings.
    """

    kind: str
    dataset: str
    train: ArrayDataset
    val: ArrayDataset
    test: ArrayDataset
    classes: tuple[str, ...]
    spec: ModelSpec
    key: str

    @property
    def input_shape(self) -> tuple[int, ...]:
        """One sample's shape, e.g. ``(3, 128)`` or ``(3, 32, 32)``."""
        return tuple(self.train.x.shape[1:])


def model_data(kind: str, dataset: str, preset: str | ModelsPreset = "quick",
               cache_dir: str | Path | None = None) -> ModelData:
    """Training, validation and test inputs of ``kind`` on ``dataset`` ("hapt" or "spsw").

    Windows come from :func:`mglwkd_lite.data.prepare` (normalised, split by subject); the PI teacher
    gets their persistence images from :func:`mglwkd_lite.topology.cached_persistence_images`
    (stored under ``cache_dir``, default ``.cache/``).
    """
    from .data import prepare
    from .topology import PIConfig, cached_persistence_images

    _check_kind(kind)
    setup = ModelsPreset.preset(preset)
    data_preset = "quick" if preset == "quick" else "full"
    prepared = prepare(dataset, data_preset)
    train_w = prepared.train.stratified_subset(setup.train_fraction, seed=0)
    parts = {"train": train_w, "val": prepared.val, "test": prepared.test}
    key_parts: list[Any] = [prepared.key, setup.train_fraction]
    if kind == "pi_teacher":
        pi_cfg = PIConfig(resolution=setup.pi_resolution)
        arrays = {k: (cached_persistence_images(w.x, pi_cfg, cache_dir=cache_dir, progress=False), w.y) for k, w in parts.items()}
        key_parts.append(pi_cfg)
    else:
        arrays = {k: (w.x, w.y) for k, w in parts.items()}
    dim, depth, width = setup.architecture(kind)
    spec = ModelSpec(dim, depth, width, int(train_w.x.shape[1]), len(prepared.classes))
    sets = {k: ArrayDataset(np.asarray(x), np.asarray(y)) for k, (x, y) in arrays.items()}
    return ModelData(kind, dataset, sets["train"], sets["val"], sets["test"], tuple(prepared.classes), spec,
                     stable_hash(*key_parts))


def train_or_load(
    kind: str,
    dataset: str,
    preset: str | ModelsPreset = "quick",
    *,
    seed: int = 0,
    cache_dir: str | Path | None = None,
    progress: bool = True,
    retrain: bool = False,
) -> Trained:
    """Train a teacher or the scratch student, or load it from the cache.

    Parameters
    ----------
    kind : ``"signal_teacher"``, ``"pi_teacher"`` or ``"student"`` (see :data:`KINDS`).
    dataset : ``"hapt"`` or ``"spsw"``.
    preset : ``"quick"``, ``"full"``, ``"group"`` or a :class:`ModelsPreset`.
    seed : training seed (initial weights, shuffling).
    cache_dir : cache root (default ``.cache/`` at the repository root).
    progress : tqdm bar over the epochs while training.
    retrain : train even when a checkpoint is cached (and replace it).

    Returns
    -------
    Trained
        ``metrics["val"]`` and ``metrics["test"]`` of the epoch selected on the validation subjects.
        The cache key hashes the architecture, the training config (seed included) and the data, so
        notebooks 03, 04, 05 and 07 share one trained model per setting.
    """
    setup = ModelsPreset.preset(preset)
    data = model_data(kind, dataset, setup, cache_dir)
    cfg = dataclasses.replace(setup.train, seed=seed)
    repro.seed_everything(seed)  # fixes the initial weights
    model = build_model(data.spec)
    return fit_or_load(kind, {"spec": data.spec, "data": data.key}, model, data.train, data.val, cfg,
                       test_set=data.test, cache_dir=cache_dir, progress=progress, retrain=retrain)


def teacher_outputs(
    kind: str,
    dataset: str,
    preset: str | ModelsPreset = "quick",
    *,
    seed: int = 0,
    cache_dir: str | Path | None = None,
    feature_dtype: str = "float32",
    progress: bool = True,
) -> dict[str, np.ndarray]:
    """A trained model's logits ``(N, K)`` and last-stage features on the training set (cached).

    Row ``i`` belongs to training window ``i`` of :func:`model_data` for the same ``dataset`` and
    ``preset`` (the ``batch["index"]`` of the student's training batches). Trains the model first if
    it is not cached. See :func:`cached_outputs` for the returned arrays.
    """
    trained = train_or_load(kind, dataset, preset, seed=seed, cache_dir=cache_dir, progress=progress)
    data = model_data(kind, dataset, preset, cache_dir)
    return cached_outputs(trained, data.train, cache_dir=cache_dir, feature_dtype=feature_dtype)


def results_table(trained: Mapping[tuple[str, str], Trained], split: str = "test"):
    """One row per ``(dataset, kind)``: accuracy, macro F1, parameters, MACs per window, best epoch.

    Parameters
    ----------
    trained : ``{(dataset, kind): Trained}``.
    split : ``"test"`` or ``"val"``.

    Returns
    -------
    pandas.DataFrame indexed by (dataset, model).
    """
    import pandas as pd

    from .models import count_macs, count_parameters

    rows = []
    for (dataset, kind), t in trained.items():
        spec = t.model.spec
        shape = tuple(t.metrics["input_shape"])
        rows.append({
            "dataset": dataset, "model": kind, "network": spec.name,
            "input": " x ".join(map(str, shape)),
            "accuracy": t.metrics[split]["accuracy"], "macro_f1": t.metrics[split]["macro_f1"],
            "params": count_parameters(t.model), "MACs": count_macs(t.model, (1, *shape)),
            "best_epoch": t.metrics["best_epoch"],
        })
    return pd.DataFrame(rows).set_index(["dataset", "model"])


def plot_histories(trained: Mapping[str, Trained]):
    """Learning curves: training loss and validation macro F1 per epoch, one line per model.

    Returns the matplotlib figure (two panels); the selected epoch of each model is marked.
    """
    import matplotlib.pyplot as plt

    fig, (ax_loss, ax_f1) = plt.subplots(1, 2, figsize=(10, 3.5))
    for name, t in trained.items():
        epochs = [row["epoch"] for row in t.history]
        line, = ax_loss.plot(epochs, [row["loss"] for row in t.history], marker="o", ms=3, label=name)
        ax_f1.plot(epochs, [row["val_macro_f1"] for row in t.history], marker="o", ms=3, color=line.get_color())
        best = t.metrics["best_epoch"]
        ax_f1.plot([best], [t.history[best - 1]["val_macro_f1"]], marker="*", ms=12, color=line.get_color())
    ax_loss.set(xlabel="epoch", ylabel="training loss", title="Training loss")
    ax_f1.set(xlabel="epoch", ylabel="macro F1", title="Validation macro F1 (star: selected epoch)")
    ax_loss.legend()
    fig.tight_layout()
    return fig


def plot_confusions(trained: Mapping[str, Trained], classes: Sequence[str], split: str = "test"):
    """Row-normalised confusion matrices (true class in rows), one panel per model."""
    import matplotlib.pyplot as plt
    from sklearn.metrics import ConfusionMatrixDisplay

    fig, axes = plt.subplots(1, len(trained), figsize=(4.2 * len(trained), 4.2), squeeze=False)
    for ax, (name, t) in zip(axes[0], trained.items()):
        cm = np.asarray(t.metrics[split]["confusion"], dtype=float)
        cm = cm / np.maximum(cm.sum(1, keepdims=True), 1)
        ConfusionMatrixDisplay(cm, display_labels=[c[:10] for c in classes]).plot(
            ax=ax, colorbar=False, values_format=".2f", xticks_rotation=60)
        ax.set_title(f"{name} ({split} F1 {t.metrics[split]['macro_f1']:.3f})")
    fig.tight_layout()
    return fig


def save_results(trained: Mapping[tuple[str, str], Trained], folder: str | Path) -> Path:
    """Record trained models' metrics, configs, histories and versions as plain files.

    Writes ``<folder>/metrics.json`` (per ``dataset/kind``: validation and test metrics of the
    selected epoch, best epoch, network, training config, checkpoint key; plus package versions and
    machine) and ``<folder>/history_<dataset>_<kind>.csv`` (one row per epoch). Returns ``folder``.
    """
    import pandas as pd

    from ._io import atomic_write_text

    folder = Path(folder)
    record: dict[str, Any] = {"versions": repro.versions(), "machine": repro.machine(), "models": {}}
    for (dataset, kind), t in trained.items():
        info = load_checkpoint(t.checkpoint, copy.deepcopy(t.model), t.extra_modules)
        record["models"][f"{dataset}/{kind}"] = {
            "network": t.model.spec.name, "key": t.key, "config": info.config,
            **{k: _jsonable(v) for k, v in t.metrics.items()},
            "trained_with": info.versions, "trained_on": info.machine,
        }
        table = pd.DataFrame(t.history)
        atomic_write_text(folder / f"history_{dataset}_{kind}.csv", table.to_csv(index=False, float_format="%.6g"))
    atomic_write_text(folder / "metrics.json", json.dumps(record, indent=1) + "\n")
    return folder


def load_results(folder: str | Path):
    """The table recorded by :func:`save_results`: one row per ``dataset/kind`` (test metrics of the
    epoch selected on validation, best epoch, epochs run), as a pandas DataFrame."""
    import pandas as pd

    record = json.loads((Path(folder) / "metrics.json").read_text(encoding="utf-8"))
    rows = []
    for name, m in record["models"].items():
        dataset, kind = name.split("/", 1)
        rows.append({"dataset": dataset, "model": kind, "network": m["network"],
                     "epochs": m["config"]["train"]["epochs"], "epochs run": m["epochs_run"],
                     "best epoch": m["best_epoch"], "test accuracy": m["test"]["accuracy"],
                     "test macro F1": m["test"]["macro_f1"], "val macro F1": m["val"]["macro_f1"]})
    return pd.DataFrame(rows).set_index(["dataset", "model"])
