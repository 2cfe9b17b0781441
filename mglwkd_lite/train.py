"""The one training loop of the project: fitting, prediction and evaluation.

Every model in the project is trained by :func:`fit`: the teachers and the scratch student, and
every distillation method as a configuration of the same loop (a pluggable ``objective`` and
``extra_modules`` trained jointly with the model, e.g. the global latent workspace). Checkpoints and
the cache of trained models are :mod:`mglwkd_lite.checkpoint`; the preset-driven wiring around
them (train-or-load, teacher outputs) is :mod:`mglwkd_lite.pipeline`.

Data sets yield dict batches ``{"x": (B, ...), "y": (B,), "index": (B,)}`` (:mod:`mglwkd_lite.batches`,
whose names this module re-exports); ``index`` is the position of each sample in its data set, so a
distillation objective can look up cached teacher outputs
(:func:`mglwkd_lite.checkpoint.cached_outputs`) for exactly the windows of the batch.

The training recipe is the group's (their released ``train_ad.py``, DESIGN §5): SGD with momentum
0.9, weight decay 1e-4, batch 64, a four-step learning rate -- 0.05 for the first 1/18 of the epochs,
0.01 until a third, 0.001 until two thirds, 0.0001 after -- and no early stopping.

Selection: by default :func:`fit` keeps the model of the *last* epoch (``TrainConfig.select="last"``);
``select="best_val"`` keeps the epoch with the best *validation* score instead (held-out training
subjects). The group report the best *test* accuracy over epochs; :func:`fit` can score a
``monitor_set`` (the test split) after every epoch, stored in the history as ``test_accuracy`` /
``test_macro_f1`` and summarised as ``best_test`` -- *optimistic* numbers, for comparison with that
protocol only, never used to select.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score
from torch import nn
from tqdm.auto import tqdm

from . import repro
from .batches import ArrayDataset, Batch, TrainError, as_dataset, make_loader, to_device
from .presets import RECIPES

__all__ = [
    "TrainError",
    "SELECTIONS",
    "TrainConfig",
    "resolve_device",
    "Batch",
    "Objective",
    "Predictor",
    "ArrayDataset",
    "as_dataset",
    "make_loader",
    "cross_entropy_objective",
    "fit",
    "FitResult",
    "best_test_epoch",
    "evaluate",
    "predict",
]

Objective = Callable[[nn.Module, Batch], tuple[torch.Tensor, Mapping[str, float]]]
"""``objective(model, batch) -> (loss, logs)``."""
Predictor = Callable[[nn.Module, Batch], torch.Tensor]
"""``predict_fn(model, batch) -> logits``."""

SELECTIONS = ("last", "best_val")
"""The values of :attr:`TrainConfig.select`."""


# --------------------------------------------------------------------------------------------------
# configuration


@dataclass(frozen=True)
class TrainConfig:
    """Settings of one training run (the group's recipe by default).

    Parameters
    ----------
    epochs : int
        Number of epochs (200 in the group's runs).
    batch_size : int
        Training batch size.
    lr : float
        Initial learning rate.
    lr_steps : tuple of (float, float)
        ``((fraction, lr), ...)``: from epoch ``int(fraction * epochs)`` on, use ``lr``. Default: the
        group's four steps (0.05 until 1/18 of the epochs, 0.01 until 1/3, 0.001 until 2/3, 0.0001).
    momentum, weight_decay : float
        SGD settings.
    seed : int
        Seeds Python, NumPy, PyTorch and the shuffling generator (see :mod:`mglwkd_lite.repro`).
    patience : int or None
        Stop after this many epochs without a better validation score, counted only once the last
        learning-rate step has been reached (so a plateau before a step never ends a run); ``None``
        (the default, as in the group's code) never stops early.
    select_by : {"macro_f1", "accuracy"}
        Validation metric of ``select="best_val"`` (and of early stopping).
    select : {"last", "best_val"}
        Which model :func:`fit` keeps: the last epoch's (default; a choice made on the sweep's records,
        where picks on three validation subjects were noise), or the epoch best on validation.
    device : str
        ``"auto"`` (CUDA when present, else the CPU), ``"cpu"`` or ``"cuda[:i]"``.
    threads : int or None
        CPU threads (``None``: every core the process may use). The same seed *and* the same thread
        count give identical numbers. On a CPU shared with other busy processes one thread can be
        much faster than two that wait on each other at every operation (measured for the HAPT
        student: 3.8 s against 24 s per epoch).
    eval_batch_size : int
        Batch size for validation and prediction (no gradients).
    channels_last : bool
        Use the channels-last memory format for 2-D models (faster on CPUs, see
        ``benchmarks/teacher_throughput.py``).
    """

    epochs: int = 200
    batch_size: int = 64
    lr: float = 0.05
    lr_steps: tuple[tuple[float, float], ...] = ((1 / 18, 0.01), (1 / 3, 0.001), (2 / 3, 0.0001))
    momentum: float = 0.9
    weight_decay: float = 1e-4
    seed: int = 0
    patience: int | None = None
    select_by: str = "macro_f1"
    select: str = "last"
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
        if self.select not in SELECTIONS:
            raise TrainError(f"select must be one of {SELECTIONS}, got {self.select!r}")
        if self.patience is not None and self.patience < 1:
            raise TrainError(f"patience must be >= 1 or None, got {self.patience}")

    @classmethod
    def full(cls, **changes: Any) -> "TrainConfig":
        """The defaults, with ``changes``: the group's recipe, 200 epochs, four-step learning rate, batch 64.

        The ``full`` models preset compresses it to 30 epochs, on one thread
        (:data:`mglwkd_lite.presets.RECIPES`).
        """
        return dataclasses.replace(cls(), **changes)

    @classmethod
    def preset(cls, name: str, **changes: Any) -> "TrainConfig":
        """The training of models preset ``name`` (epochs, schedule, patience, threads, selection of its
        recipe), with ``changes``.

        Parameters
        ----------
        name : {"quick", "full", "group"}
            A key of :data:`mglwkd_lite.presets.RECIPES`.
        **changes
            Fields to replace.
        """
        if name not in RECIPES:
            raise TrainError(f"unknown preset {name!r}; expected one of {list(RECIPES)}")
        recipe = RECIPES[name]
        base = cls(epochs=recipe.epochs, lr_steps=recipe.lr_steps, patience=recipe.patience,
                   threads=recipe.threads, select=recipe.select)
        return dataclasses.replace(base, **changes)

    @classmethod
    def quick(cls, **changes: Any) -> "TrainConfig":
        """CI / Binder, with ``changes``: 6 epochs with its own two steps (0.05, 0.01 after epoch 2, 0.001
        after epoch 4): the group's first step, 1/18 of the epochs, would be no epoch at all."""
        return cls.preset("quick", **changes)

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
    """The device of a setting.

    Parameters
    ----------
    device : str
        ``"auto"`` (CUDA when available, else the CPU), or anything ``torch.device`` takes.

    Returns
    -------
    torch.device
    """
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


# --------------------------------------------------------------------------------------------------
# training


def cross_entropy_objective(model: nn.Module, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
    """The default objective: cross-entropy of ``model(batch["x"])`` against ``batch["y"]``.

    Every objective has this signature: ``(model, batch) -> (loss, logs)``, ``loss`` a scalar tensor
    to minimise, ``logs`` a dict of floats averaged per epoch into the history (e.g. loss terms).

    Parameters
    ----------
    model : torch.nn.Module
    batch : dict of str to torch.Tensor

    Returns
    -------
    loss : torch.Tensor
    logs : dict of str to float
        ``{"ce": loss}``.
    """
    loss = F.cross_entropy(model(batch["x"]), batch["y"])
    return loss, {"ce": float(loss.detach())}


@dataclass
class FitResult:
    """What :func:`fit` returns (the model itself holds the selected weights).

    Attributes
    ----------
    selected_epoch : int
        1-based epoch whose weights were kept (:attr:`TrainConfig.select`).
    val_metrics : dict
        :func:`evaluate` output of the kept weights on the validation set.
    history : list of dict
        One row per epoch: ``epoch, lr, loss, <objective logs>, val_loss, val_accuracy,
        val_macro_f1, [test_loss, test_accuracy, test_macro_f1,] seconds``; the ``test_*`` columns
        (with a ``monitor_set``) are optimistic curves, never used to select.
    stopped_early : bool
        Whether early stopping ended the run.
    seconds : float
        Wall time of the run.
    best_test : dict or None
        With a ``monitor_set``: ``{"epoch", "accuracy", "macro_f1", "optimistic": True}`` of the epoch
        with the best monitored accuracy (the group's protocol; optimistic, for comparison only).
    """

    selected_epoch: int
    val_metrics: dict[str, Any]
    history: list[dict[str, float]]
    stopped_early: bool
    seconds: float
    best_test: dict[str, Any] | None = None

    @property
    def best_epoch(self) -> int:
        """The selected epoch (the name of earlier versions)."""
        return self.selected_epoch


def best_test_epoch(history: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """The epoch of a history with the best monitored test accuracy (ties: the first), optimistic.

    Parameters
    ----------
    history : sequence of mapping
        Rows of :attr:`FitResult.history`.

    Returns
    -------
    dict or None
        ``{"epoch", "accuracy", "macro_f1", "optimistic": True}``; None when no row holds
        ``test_accuracy``.
    """
    rows = [r for r in history if "test_accuracy" in r]
    if not rows:
        return None
    best = max(rows, key=lambda r: r["test_accuracy"])  # max keeps the first of equal values
    return {"epoch": int(best["epoch"]), "accuracy": float(best["test_accuracy"]),
            "macro_f1": float(best["test_macro_f1"]), "optimistic": True}


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
    monitor_set: Any = None,
    progress: bool = True,
) -> FitResult:
    """Train ``model`` (and ``extra_modules``) with SGD; keep the last epoch, or the best on validation.

    Parameters
    ----------
    model : torch.nn.Module
        The network; it is moved to the chosen device and left holding the selected weights.
    train_set, val_set : torch.utils.data.Dataset or anything :func:`as_dataset` accepts
        Data sets of dict samples ``{"x", "y", "index"}``. Training batches are shuffled by a
        generator seeded with ``cfg.seed``.
    cfg : TrainConfig
    objective : callable, optional
        ``objective(model, batch) -> (loss, logs)``; default :func:`cross_entropy_objective`. A
        distillation objective reads ``batch["index"]`` to look up cached teacher outputs.
    extra_modules : sequence of torch.nn.Module
        Modules trained jointly (their parameters join the optimiser; they follow the model's
        train/eval mode and device, and their selected-epoch weights are restored too).
    predict_fn : callable, optional
        ``predict_fn(model, batch) -> logits`` used for validation; default ``model(x)``.
    monitor_set : data set, optional
        Scored after every epoch into the history (``test_loss``, ``test_accuracy``,
        ``test_macro_f1``) and :attr:`FitResult.best_test`: pass the test split to record the
        optimistic best-test-epoch score. It never influences which weights are kept.
    progress : bool
        Show a tqdm bar over epochs.

    Returns
    -------
    FitResult

    Raises
    ------
    TrainError
        On an empty data set or a loss that is not finite.
    """
    train_set, val_set = as_dataset(train_set), as_dataset(val_set)
    if len(train_set) == 0 or len(val_set) == 0:
        raise TrainError(f"empty data set: {len(train_set)} training and {len(val_set)} validation samples")
    monitor = as_dataset(monitor_set) if monitor_set is not None else None
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
    best_score, best_epoch, val_best = -math.inf, 0, {}
    best_state = _state(modules) if cfg.select == "best_val" else []
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
            batch = to_device(batch, device, cfg.channels_last)
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
               "val_loss": val["loss"], "val_accuracy": val["accuracy"], "val_macro_f1": val["macro_f1"]}
        if monitor is not None:
            test = evaluate(model, monitor, batch_size=cfg.eval_batch_size, device=device,
                            predict_fn=predict_fn, channels_last=cfg.channels_last)
            row.update(test_loss=test["loss"], test_accuracy=test["accuracy"], test_macro_f1=test["macro_f1"])
        row["seconds"] = time.perf_counter() - tic
        history.append(row)
        score = val[cfg.select_by]
        if score > best_score:
            best_score, best_epoch, stale = score, epoch + 1, 0
            if cfg.select == "best_val":
                best_state, val_best = _state(modules), val
        elif epoch >= cfg.last_step_epoch:
            stale += 1
        bar.set_postfix(loss=f"{row['loss']:.3f}", val_f1=f"{val['macro_f1']:.3f}", best=best_epoch)
        if cfg.patience is not None and stale >= cfg.patience:
            stopped_early = True
            break
    bar.close()
    if cfg.select == "best_val":
        selected = best_epoch
        for m, state in zip(modules, best_state):
            m.load_state_dict(state)
    else:  # "last": the weights the loop ended with, scored by the last validation pass
        selected, val_best = len(history), val
    for m in modules:
        m.eval()
    return FitResult(selected, val_best, history, stopped_early, time.perf_counter() - start,
                     best_test_epoch(history))


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
    """Logits and labels of a data set in its order, in eval mode (the training state is restored).

    Parameters
    ----------
    model : torch.nn.Module
    data : torch.utils.data.Dataset or anything :func:`as_dataset` accepts
    batch_size : int
    device : torch.device or str, optional
        Default: the device of the model's parameters.
    predict_fn : callable, optional
        ``predict_fn(model, batch) -> logits``; default ``model(x)``.
    return_features : bool
        Also return the last-stage features (plain models only: ``model(x, return_features=True)``).
    channels_last : bool
        Feed 4-D inputs in the channels-last memory format.

    Returns
    -------
    logits : numpy.ndarray
        ``(N, K)`` float32.
    y : numpy.ndarray
        ``(N,)`` labels.
    features : numpy.ndarray
        ``(N, C, ...)``, only with ``return_features``.
    """
    dataset = as_dataset(data)
    device = torch.device(device) if device is not None else next(model.parameters()).device
    was_training = model.training
    model.eval()
    logits, labels, feats = [], [], []
    try:
        for batch in make_loader(dataset, batch_size):
            batch = to_device(batch, device, channels_last)
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


def evaluate(model: nn.Module, data: Any, *, batch_size: int = 256, device: torch.device | str | None = None,
             predict_fn: Predictor | None = None, channels_last: bool = False) -> dict[str, Any]:
    """Accuracy, macro F1, confusion matrix and cross-entropy of ``model`` on ``data`` (scikit-learn).

    Parameters
    ----------
    model, data, batch_size, device, predict_fn, channels_last
        As in :func:`predict`.

    Returns
    -------
    dict
        ``accuracy`` and ``macro_f1`` (float), ``confusion`` (K, K) int array (rows: true class,
        columns: predicted; K = number of logits), ``loss`` (mean cross-entropy) and ``n`` (int).
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
