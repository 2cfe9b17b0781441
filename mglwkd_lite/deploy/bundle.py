"""The model bundle: a trained student and everything needed to label a new recording with it."""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import torch
from torch import nn

from .._io import atomic_write_with
from ..data import Prepared, load_dataset
from ..models import ModelSpec, build_model
from .checks import DATASET_DEVICES, NO_PROFILE_NOTE, InputProfile, fit_profile

__all__ = [
    "DeployError",
    "BUNDLE_FORMAT",
    "BUNDLE_VERSION",
    "READABLE_VERSIONS",
    "ModelBundle",
    "save_bundle",
    "load_bundle",
    "student_bundle",
]

#: The ``format`` entry of every bundle file.
BUNDLE_FORMAT = "mglwkd-lite-model-bundle"
#: The bundle layout this code writes: 2 adds the profile of the training inputs (units, device,
#: placement, magnitude, out-of-distribution reference and threshold).
BUNDLE_VERSION = 2
#: Layouts this code reads (version 1 loads without a profile, with a note).
READABLE_VERSIONS = (1, 2)


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
        If the file is missing, is not a bundle, or its weights do not fit its architecture.
    """
    path = Path(path)
    if not path.is_file():
        raise DeployError(f"{path}: model bundle not found")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a corrupt file or a pickle with code: refuse either way
        raise DeployError(f"{path}: not a readable model bundle ({type(exc).__name__}: {exc})") from exc
    if not isinstance(payload, dict) or payload.get("format") != BUNDLE_FORMAT:
        raise DeployError(f"{path}: not a {BUNDLE_FORMAT} file (write one with save_bundle)")
    if payload.get("version") not in READABLE_VERSIONS:
        raise DeployError(f"{path}: bundle version {payload.get('version')!r}, "
                          f"this code reads versions {list(READABLE_VERSIONS)}")
    model = build_model(ModelSpec(**payload["spec"]))
    try:
        model.load_state_dict(payload["state_dict"])
    except RuntimeError as exc:
        raise DeployError(f"{path}: weights do not match the stored architecture: {exc}") from exc
    model.eval()
    stored = payload.get("profile")
    profile = None if stored is None else InputProfile.from_dict(
        {k: v.numpy() if isinstance(v, torch.Tensor) else v for k, v in stored.items()})
    return ModelBundle(
        model=model,
        classes=tuple(payload["classes"]),
        mean=payload["mean"].numpy().astype(np.float32),
        std=payload["std"].numpy().astype(np.float32),
        window_length=int(payload["window_length"]),
        window_stride=int(payload["window_stride"]),
        rate_hz=float(payload["rate_hz"]),
        metadata=json.loads(payload["metadata"]),
        profile=profile,
        note="" if profile is not None else f"{path.name}: {NO_PROFILE_NOTE}",
    )


def student_bundle(model: nn.Module, prepared: Prepared, path: str | os.PathLike,
                   metadata: Mapping[str, Any] | None = None) -> Path:
    """Save a bundle for a student trained on a data-module ``Prepared`` split.

    The normaliser, classes and window settings are the split's; the rate is the data set's. The
    profile of the training inputs (:func:`~mglwkd_lite.deploy.checks.fit_profile`) is fitted on the
    split's training windows, its out-of-distribution threshold set on the validation windows; the
    units are g and the device and placement those of :data:`~mglwkd_lite.deploy.checks.DATASET_DEVICES`.

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
    device, placement = DATASET_DEVICES.get(prepared.name, ("", ""))
    profile = fit_profile(*(w.x * std[None, :, None] + mean[None, :, None] for w in (prepared.train, prepared.val)),
                          units="g", device=device, placement=placement)
    return save_bundle(path, model, prepared.normaliser, prepared.classes, window.length, window.stride,
                       load_dataset(prepared.name).rate_hz, meta, profile)
