"""The model bundle: a trained student and everything needed to label a new recording with it."""

from __future__ import annotations

import dataclasses
import json
import os
import pickle  # for its exception type only: nothing here unpickles
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import torch
from torch import nn

from .._io import atomic_write_with
from ..data import Prepared
from ..data.registry import dataset_entry
from ..models import ModelSpec, build_model
from .checks import NO_PROFILE_NOTE, UNITS_IN_G, InputProfile, fit_profile

__all__ = [
    "DeployError",
    "BUNDLE_FORMAT",
    "BUNDLE_VERSION",
    "READABLE_VERSIONS",
    "ModelBundle",
    "save_bundle",
    "load_bundle",
    "student_bundle",
    "describe_bundle",
]

#: The ``format`` entry of every bundle file.
BUNDLE_FORMAT = "mglwkd-lite-model-bundle"
#: The bundle layout this code writes: 2 adds the profile of the training inputs (units, device,
#: placement, magnitude, out-of-distribution reference and threshold).
BUNDLE_VERSION = 2
#: Layouts this code reads (version 1 loads without a profile, with a note).
READABLE_VERSIONS = (1, 2)
# The format of the cache's training checkpoints (mglwkd_lite.checkpoint), named when given as a bundle.
_CHECKPOINT_FORMAT = "mglwkd-lite-checkpoint/1"


class DeployError(ValueError):
    """A bundle, export or recording that cannot be used as asked (the message says why)."""


@dataclass(frozen=True)
class ModelBundle:
    """A trained student and everything needed to label a new recording with it.

    Attributes
    ----------
    model : torch.nn.Module
        The network, in eval mode, on the CPU.
    classes : tuple of str
        Activity names; logit ``k`` is ``classes[k]``.
    mean, std : numpy.ndarray
        ``(C,)`` float32 per-channel statistics of the training windows (in g).
    window_length, window_stride : int
        Samples per window and between window starts.
    rate_hz : float
        Sampling rate the model was trained at (recordings are resampled to it).
    metadata : mapping
        Free JSON-able notes (data set, preset, test metrics, ...).
    profile : InputProfile or None
        The training inputs' units, device, placement, magnitude and out-of-distribution reference
        (:mod:`~mglwkd_lite.deploy.checks`); None for a bundle written without one.
    note : str
        Said to the user when the bundle is used (why checks are skipped); ``""`` when nothing.
    """

    model: Any
    classes: tuple[str, ...]
    mean: np.ndarray
    std: np.ndarray
    window_length: int
    window_stride: int
    rate_hz: float
    metadata: Mapping[str, Any] = field(default_factory=dict)
    profile: InputProfile | None = None
    note: str = ""

    @property
    def in_channels(self) -> int:
        """int : Input channels ``C``."""
        return int(self.mean.shape[0])

    @property
    def window_seconds(self) -> float:
        """float : Duration of one window in seconds."""
        return self.window_length / self.rate_hz

    def normalise(self, x: np.ndarray) -> np.ndarray:
        """Apply the training statistics to windows.

        Parameters
        ----------
        x : numpy.ndarray
            ``(N, C, T)`` windows in g.

        Returns
        -------
        numpy.ndarray
            ``(N, C, T)`` float32.
        """
        x = np.asarray(x, dtype=np.float32)
        return ((x - self.mean[None, :, None]) / self.std[None, :, None]).astype(np.float32)


def _normaliser_stats(normaliser: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(mean, std)`` as ``(C,)`` float32 from a data-module ``Normaliser`` or a pair of arrays."""
    if isinstance(normaliser, (tuple, list)) and len(normaliser) == 2:
        mean, std = normaliser
    else:
        def first(names: tuple[str, ...]) -> Any:
            return next((getattr(normaliser, a) for a in names if getattr(normaliser, a, None) is not None), None)

        mean, std = first(("mean", "mean_")), first(("std", "std_", "scale_"))
        if mean is None or std is None:
            raise DeployError("normaliser must be a fitted Normaliser (with mean and std) or a (mean, std) pair, "
                              f"got {type(normaliser).__name__}")
    mean = np.asarray(mean, dtype=np.float32).reshape(-1)
    std = np.asarray(std, dtype=np.float32).reshape(-1)
    if mean.shape != std.shape or mean.size == 0:
        raise DeployError(f"normaliser mean and std must be (C,) arrays of one shape, got {mean.shape} and {std.shape}")
    if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(std)) and np.all(std > 0)):
        raise DeployError("normaliser statistics must be finite with std > 0")
    return mean, std


def save_bundle(
    path: str | os.PathLike,
    model: nn.Module,
    normaliser: Any,
    classes: Sequence[str],
    window_length: int,
    window_stride: int,
    rate_hz: float,
    metadata: Mapping[str, Any] | None = None,
    profile: InputProfile | None = None,
) -> Path:
    """Write a model bundle atomically (see :class:`ModelBundle`).

    Parameters
    ----------
    path : str or os.PathLike
        Target file (conventionally ``*.pt``).
    model : torch.nn.Module
        A :class:`~mglwkd_lite.models.WideResNet` (its ``spec`` is stored to rebuild it).
    normaliser : Normaliser or tuple of numpy.ndarray
        The fitted data-module ``Normaliser`` of the training windows, or ``(mean, std)``.
    classes : sequence of str
        Class names in logit order.
    window_length, window_stride : int
        In samples.
    rate_hz : float
        Sampling rate of the training data.
    metadata : mapping, optional
        JSON-able notes stored with the bundle.
    profile : InputProfile, optional
        The profile of the training inputs (:func:`~mglwkd_lite.deploy.checks.fit_profile`); without
        one, labelling checks neither units nor out-of-distribution windows.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    DeployError
        If the model, the statistics, the classes, the window settings or the profile do not fit
        together.
    """
    spec = getattr(model, "spec", None)
    if spec is None or not dataclasses.is_dataclass(spec):
        raise DeployError("model must be a mglwkd_lite.models network with a .spec (build it with wrn1d)")
    mean, std = _normaliser_stats(normaliser)
    if spec.in_channels != mean.size:
        raise DeployError(f"model has {spec.in_channels} input channels but the normaliser has {mean.size}")
    if spec.num_classes != len(classes):
        raise DeployError(f"model has {spec.num_classes} outputs but {len(classes)} class names were given")
    if int(window_length) < 1 or int(window_stride) < 1 or not float(rate_hz) > 0:
        raise DeployError("window_length, window_stride and rate_hz must be positive")
    if profile is not None and profile.stat_mean.shape != (2 * mean.size,):
        raise DeployError(f"the profile describes {profile.stat_mean.size // 2} channels, the model has {mean.size}")
    payload = {
        "format": BUNDLE_FORMAT,
        "version": BUNDLE_VERSION,
        "spec": dataclasses.asdict(spec),
        "state_dict": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
        "classes": [str(c) for c in classes],
        "mean": torch.from_numpy(mean.copy()),
        "std": torch.from_numpy(std.copy()),
        "window_length": int(window_length),
        "window_stride": int(window_stride),
        "rate_hz": float(rate_hz),
        # Stored as text so that weights_only loading never meets an unexpected type.
        "metadata": json.dumps(dict(metadata or {}), sort_keys=True, default=str),
    }
    if profile is not None:
        # Tensors, numbers and strings only, so that weights_only loading reads it.
        payload["profile"] = {k: torch.from_numpy(v.copy()) if isinstance(v, np.ndarray) else v
                              for k, v in profile.to_dict().items()}
    return atomic_write_with(path, lambda fh: torch.save(payload, fh))


#: The fields of a bundle file and their types (``profile`` is optional).
_FIELDS = {"format": str, "version": int, "spec": dict, "state_dict": dict, "classes": (list, tuple),
           "mean": torch.Tensor, "std": torch.Tensor, "window_length": int, "window_stride": int,
           "rate_hz": (int, float), "metadata": str, "profile": dict}
_REWRITE = "write a bundle with `python -m mglwkd_lite export` (or save_bundle)"


def _read_payload(path: Path) -> Any:
    """``torch.load(weights_only=True)`` of a bundle file, every failure as one line of :class:`DeployError`.

    PyTorch's own text is not passed on: for a file holding code it advises ``weights_only=False``,
    which is the unpickling this loader exists to refuse. The project's other exports (ONNX,
    TorchScript) are named as such.
    """
    if path.suffix.lower() == ".onnx":
        raise DeployError(f"{path}: an ONNX export, not a model bundle: pass it with --onnx (onnx_path) and its "
                          f"bundle with --model; {_REWRITE}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. "Detected pickle protocol 4", said for hostile files
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "GLOBAL" in str(exc):
            why = "it holds Python objects other than tensors, numbers and strings, which are never loaded"
        else:
            why = "it is not a file written by torch.save (damaged, or another kind of file)"
        raise DeployError(f"{path}: not a readable model bundle: {why}") from None
    except Exception as exc:  # a truncated zip, not a torch file, an OS error while reading
        if "TorchScript" in str(exc):
            raise DeployError(f"{path}: a TorchScript export, not a model bundle (it lacks the class names, the "
                              f"normalisation and the window); {_REWRITE}") from None
        raise DeployError(f"{path}: not a readable model bundle: it is damaged or not a file written by "
                          f"torch.save ({type(exc).__name__})") from None


def _check_fields(path: Path, payload: Any) -> None:
    """Every field of a bundle present, known and of its type; else :class:`DeployError` naming it."""
    if not isinstance(payload, dict):
        raise DeployError(f"{path}: not a {BUNDLE_FORMAT} file (it holds a {type(payload).__name__}); {_REWRITE}")
    fmt = payload.get("format")
    if fmt is None and payload and all(isinstance(v, torch.Tensor) for v in payload.values()):
        raise DeployError(f"{path}: a network's weights alone (a state dict), not a model bundle (it lacks the class "
                          f"names, the normalisation and the window); {_REWRITE}")
    if fmt == _CHECKPOINT_FORMAT:
        raise DeployError(f"{path}: a training checkpoint of the cache, not a model bundle (it lacks the class "
                          f"names, the normalisation and the profile of the training data); {_REWRITE}")
    if fmt != BUNDLE_FORMAT:
        raise DeployError(f"{path}: not a {BUNDLE_FORMAT} file (format {fmt!r}); {_REWRITE}")
    if payload.get("version") not in READABLE_VERSIONS:
        raise DeployError(f"{path}: bundle version {payload.get('version')!r}, "
                          f"this code reads versions {list(READABLE_VERSIONS)}")
    unknown = sorted(str(k) for k in payload if k not in _FIELDS)
    if unknown:
        raise DeployError(f"{path}: damaged model bundle: unknown field {unknown[0]!r} (expected "
                          f"{sorted(_FIELDS)}); {_REWRITE}")
    for key, kind in _FIELDS.items():
        if key not in payload:
            if key == "profile":
                continue
            raise DeployError(f"{path}: damaged model bundle: no {key!r} field; {_REWRITE}")
        if not isinstance(payload[key], kind) or isinstance(payload[key], bool):
            raise DeployError(f"{path}: damaged model bundle: field {key!r} holds a {type(payload[key]).__name__}; "
                              f"{_REWRITE}")


def _known_keys(path: Path, what: str, given: Mapping[str, Any], fields: Sequence[str],
                optional: Sequence[str] = ()) -> None:
    """Every key of ``given`` among ``fields`` and every required one present, else :class:`DeployError`."""
    unknown = sorted(str(k) for k in given if k not in fields)
    missing = [f for f in fields if f not in given and f not in optional]
    if unknown or missing:
        which = f"unknown field {unknown[0]!r}" if unknown else f"no {missing[0]!r} field"
        raise DeployError(f"{path}: damaged model bundle: its {what} has {which} (expected {list(fields)}); "
                          f"{_REWRITE}")


def _network(path: Path, payload: Mapping[str, Any]) -> nn.Module:
    """The network rebuilt from the bundle's spec and weights, in eval mode."""
    stored = payload["spec"]
    fields = [f.name for f in dataclasses.fields(ModelSpec)]
    _known_keys(path, "spec", stored, fields, optional=("dropout",))
    try:
        spec = ModelSpec(**stored)
        model = build_model(spec)
    except (TypeError, ValueError, RuntimeError, ZeroDivisionError) as exc:
        raise DeployError(f"{path}: damaged model bundle: its spec {dict(stored)} does not build a network "
                          f"({type(exc).__name__}); {_REWRITE}") from None
    state = payload["state_dict"]
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [str(k) for k in state if k not in own]
    reshaped = [k for k in own if k in state and getattr(state[k], "shape", None) != own[k].shape]
    if missing or unexpected or reshaped:
        parts = [f"{len(v)} {what} (e.g. {v[0]!r})" for what, v in
                 (("missing", missing), ("unexpected", unexpected), ("of another shape", reshaped)) if v]
        raise DeployError(f"{path}: weights do not match the stored architecture {spec.name}: "
                          f"{'; '.join(parts)}; {_REWRITE}")
    model.load_state_dict(state)
    return model.eval()


def _statistics(path: Path, payload: Mapping[str, Any], spec: ModelSpec) -> tuple[np.ndarray, np.ndarray]:
    """The normalisation mean and std, checked against the network's channels."""
    mean = payload["mean"].numpy().astype(np.float32).reshape(-1)
    std = payload["std"].numpy().astype(np.float32).reshape(-1)
    if mean.shape != (spec.in_channels,) or std.shape != (spec.in_channels,):
        raise DeployError(f"{path}: damaged model bundle: 'mean' and 'std' hold {mean.size} and {std.size} values, "
                          f"the network has {spec.in_channels} input channels; {_REWRITE}")
    if not (np.isfinite(mean).all() and np.isfinite(std).all() and (std > 0).all()):
        raise DeployError(f"{path}: damaged model bundle: 'mean' or 'std' is not finite, or 'std' not positive; "
                          f"{_REWRITE}")
    return mean, std


def _profile(path: Path, stored: Mapping[str, Any], channels: int) -> InputProfile:
    """The bundle's profile of its training inputs, every field present and of its shape."""
    fields = [f.name for f in dataclasses.fields(InputProfile)]
    _known_keys(path, "profile", stored, fields)
    try:
        profile = InputProfile.from_dict({k: v.numpy() if isinstance(v, torch.Tensor) else v
                                          for k, v in stored.items()})
    except (TypeError, ValueError) as exc:
        raise DeployError(f"{path}: damaged model bundle: its profile does not read ({type(exc).__name__}); "
                          f"{_REWRITE}") from None
    shapes_ok = (profile.stat_mean.shape == (2 * channels,) and profile.stat_scale.shape == (2 * channels,)
                 and profile.reference.ndim == 2 and profile.reference.shape[1:] == (2 * channels,)
                 and len(profile.reference) >= 1)
    if not shapes_ok or profile.units not in UNITS_IN_G or not np.isfinite(profile.threshold):
        raise DeployError(f"{path}: damaged model bundle: its profile does not fit a network of {channels} channels "
                          f"(statistics, reference, units or threshold); {_REWRITE}")
    return profile


def load_bundle(path: str | os.PathLike) -> ModelBundle:
    """Read a bundle written by :func:`save_bundle` (``torch.load(weights_only=True)``).

    Parameters
    ----------
    path : str or os.PathLike
        The bundle file.

    Returns
    -------
    ModelBundle
        With the network rebuilt from its spec, in eval mode. A bundle of version 1 (or one saved
        without a profile) has ``profile=None`` and a ``note`` saying which checks are skipped.

    Raises
    ------
    DeployError
        If the file is missing, is not a bundle (a file holding code is refused without running it;
        a training checkpoint is named as such), misses a field or has one it should not (the
        message names it), or its weights do not fit its architecture.
    """
    path = Path(path)
    if not path.is_file():
        raise DeployError(f"{path}: model bundle not found; write one with `python -m mglwkd_lite export -o {path}`")
    payload = _read_payload(path)
    _check_fields(path, payload)
    model = _network(path, payload)
    spec = model.spec
    classes = tuple(str(c) for c in payload["classes"])
    if len(classes) != spec.num_classes:
        raise DeployError(f"{path}: damaged model bundle: {len(classes)} class names for a network of "
                          f"{spec.num_classes} outputs; {_REWRITE}")
    mean, std = _statistics(path, payload, spec)
    length, stride, rate = int(payload["window_length"]), int(payload["window_stride"]), float(payload["rate_hz"])
    if length < 1 or stride < 1 or not (np.isfinite(rate) and rate > 0):
        raise DeployError(f"{path}: damaged model bundle: window {length}, stride {stride} and rate {rate} must be "
                          f"positive; {_REWRITE}")
    try:
        metadata = json.loads(payload["metadata"])
    except ValueError:
        raise DeployError(f"{path}: damaged model bundle: its 'metadata' is not JSON text; {_REWRITE}") from None
    stored = payload.get("profile")
    profile = None if stored is None else _profile(path, stored, spec.in_channels)
    return ModelBundle(
        model=model, classes=classes, mean=mean, std=std, window_length=length, window_stride=stride, rate_hz=rate,
        metadata=metadata if isinstance(metadata, dict) else {"metadata": metadata}, profile=profile,
        note="" if profile is not None else f"{path.name}: {NO_PROFILE_NOTE}",
    )


def student_bundle(model: nn.Module, prepared: Prepared, path: str | os.PathLike,
                   metadata: Mapping[str, Any] | None = None) -> Path:
    """Save a bundle for a student trained on a data-module ``Prepared`` split.

    The normaliser, classes and window settings are the split's; the rate is the data set's. The
    profile of the training inputs (:func:`~mglwkd_lite.deploy.checks.fit_profile`) is fitted on the
    split's training windows, its out-of-distribution threshold set on the validation windows; the
    units, device and placement are those of the data set's registry entry.

    Parameters
    ----------
    model : torch.nn.Module
        The trained student.
    prepared : mglwkd_lite.data.Prepared
        The split it was trained on.
    path : str or os.PathLike
        Target file.
    metadata : mapping, optional
        Notes stored beside ``dataset`` and ``data_key``.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    window = prepared.config.window
    meta = {"dataset": prepared.name, "data_key": prepared.key, **dict(metadata or {})}
    mean, std = _normaliser_stats(prepared.normaliser)
    entry = dataset_entry(prepared.name)
    profile = fit_profile(*(w.x * std[None, :, None] + mean[None, :, None] for w in (prepared.train, prepared.val)),
                          units=entry.units, device=entry.device, placement=entry.placement)
    return save_bundle(path, model, prepared.normaliser, prepared.classes, window.length, window.stride,
                       entry.rate_hz, meta, profile)


def describe_bundle(bundle: ModelBundle) -> list[str]:
    """What a bundle holds and what it expects of a recording, as lines for a terminal.

    Parameters
    ----------
    bundle : ModelBundle

    Returns
    -------
    list of str
        The network and its classes (with the data set, method and preset of its metadata), its
        test scores when the metadata holds them, and what a recording must be: acceleration
        units, device and placement, rate, window and stride, and what is left unlabelled.
    """
    meta, spec = bundle.metadata, getattr(bundle.model, "spec", None)
    origin = ", ".join(f"{k} {meta[k]}" for k in ("dataset", "method", "preset") if k in meta)
    lines = [f"model: {spec.name if spec else 'network'}, {len(bundle.classes)} classes "
             f"({', '.join(bundle.classes)}){f'; {origin}' if origin else ''}"]
    test = meta.get("test")
    if isinstance(test, dict) and {"accuracy", "macro_f1"} <= set(test):
        held = f" on {test['n']} windows of held-out subjects" if "n" in test else ""
        lines.append(f"test scores: accuracy {100 * test['accuracy']:.2f} %, macro F1 "
                     f"{100 * test['macro_f1']:.2f} %{held}")
    p = bundle.profile
    worn = f"from a {p.describe()}" if p is not None else "(units, device and placement not recorded)"
    stride_s = bundle.window_stride / bundle.rate_hz
    lines.append(f"expects: x, y, z acceleration including gravity {worn}; resampled to {bundle.rate_hz:g} Hz; "
                 f"windows of {bundle.window_length} samples ({bundle.window_seconds:.2f} s) every "
                 f"{bundle.window_stride} samples ({stride_s:.2f} s); the samples after the last full window "
                 f"(less than {stride_s:.2f} s) are not labelled")
    return lines
