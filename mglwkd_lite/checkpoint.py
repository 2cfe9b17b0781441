"""Checkpoint files and the cache of trained models built on them: train once, then load.

A checkpoint is a plain dict of tensors and JSON strings written atomically by
:func:`save_checkpoint` and read with ``torch.load(weights_only=True)`` by :func:`read_checkpoint`,
so opening one never runs code. :func:`fit_or_load` names each checkpoint by a hash of everything
that shapes the model (``<cache>/models/<tag>-<key>.pt``): the first call trains with
:func:`mglwkd_lite.train.fit`, every later call loads. :func:`cached_outputs` does the same for a
trained model's logits and features on a data set (``<cache>/outputs``).
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import torch
from torch import nn

from . import repro
from ._io import atomic_save_npz, atomic_write_with, default_cache_dir, jsonable, load_npz, stable_hash
from .models import ModelSpec, WideResNet, build_model
from .train import Objective, Predictor, TrainConfig, TrainError, as_dataset, evaluate, fit, predict

__all__ = [
    "CHECKPOINT_FORMAT",
    "CheckpointError",
    "Checkpoint",
    "save_checkpoint",
    "read_checkpoint",
    "load_checkpoint",
    "load_model",
    "Trained",
    "fit_or_load",
    "cached_outputs",
    "code_version",
]

CHECKPOINT_FORMAT = "mglwkd-lite-checkpoint/1"
"""The format tag of a checkpoint file."""


class CheckpointError(TrainError):
    """A checkpoint that is missing, unreadable, or does not fit the model it is loaded into."""


# --------------------------------------------------------------------------------------------------
# the code that trained


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=Path(__file__).resolve().parent, capture_output=True,
                             text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):  # no git, not a checkout, or it hangs
        return None
    return out.stdout.strip()


def code_version() -> dict[str, Any]:
    """The git commit of the package's code and whether its tracked files differ from it.

    Returns
    -------
    dict
        ``{"commit": str or None, "dirty": bool or None}``; both None outside a git checkout (an
        installed package) or without git -- never an error.
    """
    commit = _git("rev-parse", "HEAD")
    if not commit:
        return {"commit": None, "dirty": None}
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": None if status is None else bool(status)}


# --------------------------------------------------------------------------------------------------
# checkpoint files


@dataclass
class Checkpoint:
    """What a checkpoint holds besides the weights (all plain JSON values).

    Attributes
    ----------
    path : pathlib.Path
    spec : dict or None
        The :class:`mglwkd_lite.models.ModelSpec` fields, None for a model without one.
    config, metrics : dict
    history : list of dict
    versions : dict of str to str
        Package versions at training time.
    machine : dict
        The machine the model was trained on.
    """

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

    Parameters
    ----------
    path : str or pathlib.Path
    model : torch.nn.Module
        Its ``spec`` (when it has one) is stored to rebuild it (:func:`load_model`).
    config, metrics : object
        Anything :func:`mglwkd_lite._io.jsonable` converts.
    history : sequence of mapping
    extra_modules : sequence of torch.nn.Module
        Jointly trained modules whose weights are stored too.

    Returns
    -------
    pathlib.Path
    """
    spec = getattr(model, "spec", None)
    payload = {
        "format": CHECKPOINT_FORMAT,
        "spec": json.dumps(jsonable(spec)) if spec is not None else "null",
        "state_dict": {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()},
        "extra_state_dicts": [{k: v.detach().cpu().contiguous() for k, v in m.state_dict().items()}
                              for m in extra_modules],
        "config": json.dumps(jsonable(config)),
        "metrics": json.dumps(jsonable(metrics)),
        "history": json.dumps(jsonable(list(history))),
        "versions": json.dumps(repro.versions()),
        "machine": json.dumps(jsonable(repro.machine())),
    }
    return atomic_write_with(path, lambda fh: torch.save(payload, fh))


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """The raw content of a checkpoint written by :func:`save_checkpoint`, read without unpickling.

    Parameters
    ----------
    path : str or pathlib.Path

    Returns
    -------
    dict
        ``format``, ``spec``, ``config``, ``metrics``, ``history``, ``versions`` and ``machine`` as
        JSON strings, ``state_dict`` and ``extra_state_dicts`` as tensors.

    Raises
    ------
    CheckpointError
        When the file is missing, unreadable (truncated, not a torch file, holding objects other
        than weights) or not a checkpoint.
    """
    path = Path(path)
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

    Parameters
    ----------
    path : str or pathlib.Path
    model : torch.nn.Module
    extra_modules : sequence of torch.nn.Module
        As many as were saved, in the same order.

    Returns
    -------
    Checkpoint

    Raises
    ------
    CheckpointError
        When the file is missing or unreadable, or was saved from another architecture.
    """
    path = Path(path)
    payload = read_checkpoint(path)
    spec = json.loads(payload["spec"])
    own_spec = getattr(model, "spec", None)
    if spec is not None and own_spec is not None and jsonable(own_spec) != spec:
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
    """Rebuild the network stored in a checkpoint (needs only :mod:`mglwkd_lite.models`) in eval mode.

    Parameters
    ----------
    path : str or pathlib.Path
        A checkpoint of a model with a ``spec`` (a :class:`mglwkd_lite.models.WideResNet`).

    Returns
    -------
    model : mglwkd_lite.models.WideResNet
    info : Checkpoint

    Raises
    ------
    CheckpointError
        As :func:`load_checkpoint`, or when the checkpoint holds no architecture.
    """
    payload = read_checkpoint(path)
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
    model : torch.nn.Module
        The network holding the selected weights, in eval mode.
    metrics : dict
        ``{"val": {...}, "test": {...}, "selected_epoch": int, "best_epoch": int (the same),
        "select": str, "best_test": dict or None, "seconds": float, "code": dict, ...}``; the
        per-split dicts are :func:`mglwkd_lite.train.evaluate` outputs (``confusion`` as a NumPy
        array) of the selected model; ``best_test`` is the optimistic best-test-epoch score
        (:func:`mglwkd_lite.train.best_test_epoch`); ``code`` is :func:`code_version` at training time.
    history : list of dict
        Per-epoch rows (see :class:`mglwkd_lite.train.FitResult`).
    checkpoint : pathlib.Path
        The checkpoint file.
    key : str
        The cache key (hash of model spec, training config and data).
    from_cache : bool
        Whether the model was loaded instead of trained.
    extra_modules : tuple of torch.nn.Module
        The jointly trained modules, holding their selected weights.
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
    """Train with :func:`mglwkd_lite.train.fit` and cache the checkpoint, or load a cached one.

    Parameters
    ----------
    tag : str
        Names the checkpoint ``<cache>/models/<tag>-<key>.pt``.
    key_parts : object
        Everything besides ``cfg`` that shapes the result (model spec, data fingerprint, objective
        settings); the key is ``stable_hash(tag, key_parts, cfg)``.
    model : torch.nn.Module
        Built right after ``repro.seed_everything(cfg.seed)``, so the seed fixes its initial weights.
    train_set, val_set, test_set : data sets (see :func:`mglwkd_lite.train.as_dataset`)
        ``test_set`` (optional) scores the selected weights, and is the ``monitor_set`` of
        :func:`mglwkd_lite.train.fit` (per-epoch test curves, optimistic, never used to select).
    cfg : TrainConfig
    objective, extra_modules, predict_fn, progress
        As in :func:`mglwkd_lite.train.fit`.
    cache_dir : str or pathlib.Path, optional
        Cache root (default ``.cache/`` at the repository root).
    retrain : bool
        Train even when the checkpoint exists (and replace it).

    Returns
    -------
    Trained
    """
    key = stable_hash(tag, key_parts, cfg)
    path = Path(cache_dir or default_cache_dir()) / "models" / f"{tag}-{key}.pt"
    if path.is_file() and not retrain:
        info = load_checkpoint(path, model, extra_modules)
        for m in (model, *extra_modules):
            m.eval()
        return Trained(model, _restore_arrays(info.metrics), info.history, path, key, True, tuple(extra_modules))
    result = fit(model, train_set, val_set, cfg, objective, extra_modules, predict_fn=predict_fn,
                 monitor_set=test_set, progress=progress)
    device = next(model.parameters()).device
    metrics: dict[str, Any] = {"val": result.val_metrics, "selected_epoch": result.selected_epoch,
                               "best_epoch": result.selected_epoch, "select": cfg.select,
                               "best_test": result.best_test,
                               "input_shape": list(as_dataset(train_set)[0]["x"].shape),
                               "epochs_run": len(result.history), "stopped_early": result.stopped_early,
                               "seconds": result.seconds, "code": code_version()}
    if test_set is not None:
        metrics["test"] = evaluate(model, test_set, batch_size=cfg.eval_batch_size, device=device,
                                   predict_fn=predict_fn, channels_last=cfg.channels_last)
    config = {"tag": tag, "key_parts": key_parts, "train": cfg}
    save_checkpoint(path, model, config, metrics, history=result.history, extra_modules=extra_modules)
    return Trained(model, _restore_arrays(jsonable(metrics)), result.history, path, key, False,
                   tuple(extra_modules))


def cached_outputs(trained: Trained, data: Any, *, cache_dir: str | Path | None = None, batch_size: int = 256,
                   feature_dtype: str = "float32") -> dict[str, np.ndarray]:
    """A trained model's logits and last-stage features on a data set, computed once and cached.

    Row ``i`` belongs to sample ``i`` of ``data`` (the ``index`` of its batches), so a distillation
    objective looks teacher outputs up by ``batch["index"]``.

    Parameters
    ----------
    trained : Trained
    data : data set (see :func:`mglwkd_lite.train.as_dataset`)
    cache_dir : str or pathlib.Path, optional
    batch_size : int
    feature_dtype : str
        Storage type of the features (``"float16"`` halves the file).

    Returns
    -------
    dict of str to numpy.ndarray
        ``logits`` (N, K) float32, ``features`` (N, C, T') or (N, C, H', W') in ``feature_dtype``,
        and ``y`` (N,) int64 (to check alignment).
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
