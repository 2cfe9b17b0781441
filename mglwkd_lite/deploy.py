"""Ship the student: a model bundle, TorchScript and ONNX export, int8 quantisation, and labelling of
whole recordings (``python -m mglwkd_lite predict``).

The student is a plain 1-D WideResNet (:func:`mglwkd_lite.models.wrn1d`): it needs the raw window
only, so everything here works on windows ``(N, C, T)`` of normalised acceleration.

- A **model bundle** (:func:`save_bundle` / :func:`load_bundle`) is one ``torch.save`` file with all
  that is needed to label a new recording: the network's :class:`~mglwkd_lite.models.ModelSpec` and
  weights, the class names, the per-channel normalisation statistics of the training windows, the
  window length and stride, and the sampling rate. It holds only tensors, numbers and strings, so it
  is read back with ``torch.load(weights_only=True)`` (no unpickling of code).
- **Export**: :func:`export_torchscript` (``torch.jit.trace``) and :func:`export_onnx` (the
  TorchScript-based ONNX exporter, ``dynamo=False``: the newer exporter needs the ``onnxscript``
  package, which the pinned stack does not carry), both with a free batch dimension.
- **Backends** are plain callables ``f(x: (N, C, T) float32) -> logits (N, K)``:
  :func:`torch_backend`, :func:`torchscript_backend`, :func:`onnx_backend`; :func:`compare_backends`
  checks that they agree.
- **int8**: :func:`quantize_onnx` is ONNX Runtime's static post-training quantisation (QDQ format,
  int8 weights per channel, uint8 activations), calibrated on training windows through
  :class:`WindowCalibrationReader`; the first convolution and the classifier stay in float32.
- **Labelling**: :func:`predict_windows` slides the bundle's window over a recording and returns one
  row per window (start and end time, predicted activity, class probabilities);
  :func:`predict_csv` does the same for a CSV file read by the data module's bring-your-own loader,
  and :func:`predict_main` is the command line.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np

from ._io import atomic_write_bytes, atomic_write_text, atomic_write_with
from .data import label_segments

__all__ = [
    "DeployError",
    "ModelBundle",
    "save_bundle",
    "load_bundle",
    "export_torchscript",
    "export_onnx",
    "quantize_onnx",
    "WindowCalibrationReader",
    "export_student",
    "deployed_backends",
    "backend_scores",
    "student_bundle",
    "torch_backend",
    "torchscript_backend",
    "onnx_backend",
    "compare_backends",
    "classification_scores",
    "sliding_starts",
    "predict_windows",
    "predict_recording",
    "predict_csv",
    "recording_to_csv",
    "window_agreement",
    "plot_timeline",
    "add_predict_parser",
    "run_predict",
    "predict_main",
    "read_cost",
    "cost_table",
    "cost_ratios",
    "file_size",
    "time_per_window",
]

BUNDLE_FORMAT = "mglwkd-lite-model-bundle"
BUNDLE_VERSION = 1
ONNX_OPSET = 17

Backend = Callable[[np.ndarray], np.ndarray]


class DeployError(ValueError):
    """A bundle, export or recording that cannot be used as asked (the message says why)."""


# --------------------------------------------------------------------------------------------------
# Model bundle
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelBundle:
    """A trained student and everything needed to label a new recording with it.

    Attributes
    ----------
    model : the network, in eval mode, on the CPU.
    classes : activity names; logit ``k`` is ``classes[k]``.
    mean, std : ``(C,)`` float32 per-channel statistics of the training windows (in g).
    window_length, window_stride : samples per window and between window starts.
    rate_hz : sampling rate the model was trained at (recordings are resampled to it).
    metadata : free JSON-able notes (data set, preset, test metrics, ...).
    """

    model: Any
    classes: tuple[str, ...]
    mean: np.ndarray
    std: np.ndarray
    window_length: int
    window_stride: int
    rate_hz: float
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @property
    def in_channels(self) -> int:
        """Input channels ``C``."""
        return int(self.mean.shape[0])

    @property
    def window_seconds(self) -> float:
        """Duration of one window in seconds."""
        return self.window_length / self.rate_hz

    def normalise(self, x: np.ndarray) -> np.ndarray:
        """Apply the training statistics to windows ``(N, C, T)`` (float32 out)."""
        x = np.asarray(x, dtype=np.float32)
        return ((x - self.mean[None, :, None]) / self.std[None, :, None]).astype(np.float32)


def _normaliser_stats(normaliser: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(mean, std)`` as ``(C,)`` float32 from a data-module ``Normaliser`` or a pair of arrays."""
    if isinstance(normaliser, (tuple, list)) and len(normaliser) == 2:
        mean, std = normaliser
    else:
        mean = next((getattr(normaliser, a) for a in ("mean", "mean_") if getattr(normaliser, a, None) is not None), None)
        std = next((getattr(normaliser, a) for a in ("std", "std_", "scale_") if getattr(normaliser, a, None) is not None), None)
        if mean is None or std is None:
            raise DeployError(
                f"normaliser must be a fitted Normaliser (with mean and std) or a (mean, std) pair, got {type(normaliser).__name__}"
            )
    mean = np.asarray(mean, dtype=np.float32).reshape(-1)
    std = np.asarray(std, dtype=np.float32).reshape(-1)
    if mean.shape != std.shape or mean.size == 0:
        raise DeployError(f"normaliser mean and std must be (C,) arrays of one shape, got {mean.shape} and {std.shape}")
    if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(std)) and np.all(std > 0)):
        raise DeployError("normaliser statistics must be finite with std > 0")
    return mean, std


def save_bundle(
    path: str | os.PathLike,
    model: Any,
    normaliser: Any,
    classes: Sequence[str],
    window_length: int,
    window_stride: int,
    rate_hz: float,
    metadata: Mapping[str, Any] | None = None,
) -> Path:
    """Write a model bundle atomically (see :class:`ModelBundle`).

    Parameters
    ----------
    path : target file (conventionally ``*.pt``).
    model : a :class:`~mglwkd_lite.models.WideResNet` (its ``spec`` is stored to rebuild it).
    normaliser : the fitted data-module ``Normaliser`` of the training windows, or ``(mean, std)``.
    classes : class names in logit order.
    window_length, window_stride : in samples.
    rate_hz : sampling rate of the training data.
    metadata : JSON-able notes stored with the bundle.
    """
    import torch

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
    return atomic_write_with(path, lambda fh: torch.save(payload, fh))


def load_bundle(path: str | os.PathLike) -> ModelBundle:
    """Read a bundle written by :func:`save_bundle` (``torch.load(weights_only=True)``).

    Raises
    ------
    DeployError
        If the file is missing, is not a bundle, or its weights do not fit its architecture.
    """
    import torch

    from .models import ModelSpec, build_model

    path = Path(path)
    if not path.is_file():
        raise DeployError(f"{path}: model bundle not found")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a corrupt file or a pickle with code: refuse either way
        raise DeployError(f"{path}: not a readable model bundle ({type(exc).__name__}: {exc})") from exc
    if not isinstance(payload, dict) or payload.get("format") != BUNDLE_FORMAT:
        raise DeployError(f"{path}: not a {BUNDLE_FORMAT} file (write one with save_bundle)")
    if payload.get("version") != BUNDLE_VERSION:
        raise DeployError(f"{path}: bundle version {payload.get('version')!r}, this code reads version {BUNDLE_VERSION}")
    model = build_model(ModelSpec(**payload["spec"]))
    try:
        model.load_state_dict(payload["state_dict"])
    except RuntimeError as exc:
        raise DeployError(f"{path}: weights do not match the stored architecture: {exc}") from exc
    model.eval()
    return ModelBundle(
        model=model,
        classes=tuple(payload["classes"]),
        mean=payload["mean"].numpy().astype(np.float32),
        std=payload["std"].numpy().astype(np.float32),
        window_length=int(payload["window_length"]),
        window_stride=int(payload["window_stride"]),
        rate_hz=float(payload["rate_hz"]),
        metadata=json.loads(payload["metadata"]),
    )


# --------------------------------------------------------------------------------------------------
# Export and quantisation
# --------------------------------------------------------------------------------------------------


@contextmanager
def _quiet_export() -> Iterator[None]:
    """Silence the exporters' deprecation chatter for this call only (no global filter)."""
    import logging

    root = logging.getLogger()
    level = root.level
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        try:
            import torch

            warnings.simplefilter("ignore", torch.jit.TracerWarning)
        except (ImportError, AttributeError):
            pass
        # onnxruntime.quantization logs an advice to pre-process through the root logger.
        root.setLevel(max(level, logging.ERROR))
        try:
            yield
        finally:
            root.setLevel(level)


def _example(model: Any, example: np.ndarray | None, length: int | None) -> Any:
    import torch

    if example is not None:
        return torch.as_tensor(np.asarray(example, dtype=np.float32))
    spec = model.spec
    return torch.zeros(2, spec.in_channels, int(length or 128))


def export_torchscript(model: Any, path: str | os.PathLike, example: np.ndarray | None = None, length: int = 128) -> Path:
    """Trace ``model`` (eval mode, logits only) to TorchScript and save it atomically.

    Parameters
    ----------
    model : the student network.
    path : target ``*.pt`` file.
    example : windows ``(N, C, T)`` used for tracing (zeros of ``length`` samples if None).
        The traced graph has no shape-dependent control flow, so any batch size runs.
    """
    import torch

    model = model.eval()
    x = _example(model, example, length)
    with _quiet_export(), torch.no_grad():
        traced = torch.jit.trace(model, x)
        return atomic_write_with(path, lambda fh: torch.jit.save(traced, fh))


def export_onnx(
    model: Any, path: str | os.PathLike, example: np.ndarray | None = None, length: int = 128, opset: int = ONNX_OPSET
) -> Path:
    """Export ``model`` to ONNX (input ``"x"`` ``(batch, C, T)``, output ``"logits"``), atomically.

    Uses the TorchScript-based exporter (``dynamo=False``), with the batch dimension free; the file is
    checked with ``onnx.checker`` before it is written.
    """
    import io

    import onnx
    import torch

    model = model.eval()
    x = _example(model, example, length)
    buf = io.BytesIO()
    with _quiet_export(), torch.no_grad():
        torch.onnx.export(
            model, (x,), buf, dynamo=False, opset_version=opset, input_names=["x"], output_names=["logits"],
            dynamic_axes={"x": {0: "batch"}, "logits": {0: "batch"}}, do_constant_folding=True,
        )
    data = buf.getvalue()
    onnx.checker.check_model(onnx.load_from_string(data))
    return atomic_write_bytes(path, data)


class WindowCalibrationReader:
    """Feeds normalised training windows to ONNX Runtime's calibrator, ``batch_size`` at a time.

    Parameters
    ----------
    windows : ``(N, C, T)`` float32 normalised windows (the training split, or a seeded subset).
    batch_size : windows per calibration batch.
    input_name : the model's input name (``"x"`` for :func:`export_onnx`).
    """

    def __init__(self, windows: np.ndarray, batch_size: int = 64, input_name: str = "x") -> None:
        windows = np.asarray(windows, dtype=np.float32)
        if windows.ndim != 3 or len(windows) == 0:
            raise DeployError(f"calibration windows must be a non-empty (N, C, T) array, got shape {windows.shape}")
        if not np.all(np.isfinite(windows)):
            raise DeployError("calibration windows contain NaN or inf")
        self.windows, self.batch_size, self.input_name = windows, int(batch_size), input_name
        self._pos = 0

    def get_next(self) -> dict[str, np.ndarray] | None:
        if self._pos >= len(self.windows):
            return None
        batch = self.windows[self._pos : self._pos + self.batch_size]
        self._pos += self.batch_size
        return {self.input_name: batch}

    def rewind(self) -> None:
        self._pos = 0


def _end_layers(path: Path) -> list[str]:
    """Names of the first ``Conv`` and the last ``Gemm``/``MatMul`` node of an ONNX graph."""
    import onnx

    nodes = onnx.load(str(path)).graph.node
    first = next((n.name for n in nodes if n.op_type == "Conv"), None)
    last = next((n.name for n in reversed(nodes) if n.op_type in ("Gemm", "MatMul")), None)
    return [n for n in (first, last) if n]


def quantize_onnx(
    float_path: str | os.PathLike,
    int8_path: str | os.PathLike,
    calibration_windows: np.ndarray,
    batch_size: int = 64,
    per_channel: bool = True,
    float_ends: bool = True,
) -> Path:
    """Static post-training int8 quantisation of an ONNX student with ONNX Runtime.

    QDQ format; weights int8 (per output channel when ``per_channel``), activations uint8 with
    min-max ranges calibrated on ``calibration_windows`` (normalised training windows, ``(N, C, T)``).
    The float model is first pre-processed (shape inference, graph optimisation) as ONNX Runtime
    advises. With ``float_ends`` (default) the first convolution and the final linear layer stay in
    float32, a common choice: they hold under 1 % of the weights, and quantising the raw input
    window to 8 bits is what moves the predictions most (on the HAPT test subjects it changed the
    class of about 6 % of windows, against under 1 % with float ends). The result is written
    atomically.
    """
    import tempfile

    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    reader = WindowCalibrationReader(calibration_windows, batch_size)
    # CalibrationDataReader is an ABC; register our reader rather than inherit at import time, so that
    # importing this module does not import onnxruntime.
    CalibrationDataReader.register(WindowCalibrationReader)
    int8_path = Path(int8_path)
    int8_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=int8_path.parent) as tmp:
        pre, out = Path(tmp) / "pre.onnx", Path(tmp) / "int8.onnx"
        with _quiet_export():
            quant_pre_process(str(float_path), str(pre), skip_symbolic_shape=True)
            exclude = _end_layers(pre) if float_ends else []
            quantize_static(
                str(pre), str(out), reader, quant_format=QuantFormat.QDQ, per_channel=per_channel,
                activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, nodes_to_exclude=exclude,
            )
        return atomic_write_bytes(int8_path, out.read_bytes())


# --------------------------------------------------------------------------------------------------
# Backends: callables from windows to logits
# --------------------------------------------------------------------------------------------------


def _batched(fn: Callable[[np.ndarray], np.ndarray], x: np.ndarray, batch_size: int) -> np.ndarray:
    x = np.ascontiguousarray(x, dtype=np.float32)
    if len(x) <= batch_size:
        return fn(x)
    return np.concatenate([fn(x[i : i + batch_size]) for i in range(0, len(x), batch_size)])


def torch_backend(model: Any, batch_size: int = 256) -> Backend:
    """Eager PyTorch: ``f(x (N, C, T)) -> logits (N, K)`` as float32 NumPy."""
    import torch

    model = model.eval()

    def run(x: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return model(torch.from_numpy(x)).numpy()

    return lambda x: _batched(run, x, batch_size)


def torchscript_backend(path_or_module: Any, batch_size: int = 256) -> Backend:
    """A saved (or in-memory) TorchScript student as a backend."""
    import torch

    module = path_or_module
    if isinstance(path_or_module, (str, os.PathLike)):
        with _quiet_export():
            module = torch.jit.load(str(path_or_module), map_location="cpu")
    module.eval()

    def run(x: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return module(torch.from_numpy(x)).numpy()

    return lambda x: _batched(run, x, batch_size)


def onnx_backend(path: str | os.PathLike, threads: int | None = None, batch_size: int = 256) -> Backend:
    """An ONNX file run by ONNX Runtime's CPU provider (``threads`` intra-op threads; None = default)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    if threads is not None:
        opts.intra_op_num_threads = int(threads)
        opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    session = ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda x: _batched(lambda b: session.run(None, {name: b})[0], x, batch_size)


def compare_backends(reference: Backend, others: Mapping[str, Backend], x: np.ndarray) -> "Any":
    """Logit agreement of each backend with ``reference`` on windows ``x`` ``(N, C, T)``.

    Returns
    -------
    pandas.DataFrame
        One row per backend: ``max_abs_diff`` of the logits and ``same_class`` (fraction of windows
        with the same arg-max class).
    """
    import pandas as pd

    ref = reference(x)
    rows = []
    for name, fn in others.items():
        out = fn(x)
        rows.append({
            "backend": name,
            "max_abs_diff": float(np.max(np.abs(out - ref))),
            "same_class": float(np.mean(out.argmax(1) == ref.argmax(1))),
        })
    return pd.DataFrame(rows).set_index("backend")


def classification_scores(y_true: np.ndarray, logits: np.ndarray, num_classes: int | None = None) -> dict[str, float]:
    """Accuracy and macro F1 (scikit-learn) of arg-max predictions."""
    from sklearn.metrics import accuracy_score, f1_score

    y_pred = np.asarray(logits).argmax(1)
    labels = np.arange(num_classes if num_classes is not None else np.asarray(logits).shape[1])
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)),
    }


def export_student(model: Any, folder: str | os.PathLike, calibration_windows: np.ndarray,
                   example: np.ndarray | None = None) -> dict[str, Path]:
    """Write every deployable form of ``model`` into ``folder``.

    Returns
    -------
    dict
        ``{"pytorch": state dict (.pt), "torchscript": .ts.pt, "onnx": .onnx, "onnx_int8": .int8.onnx}``;
        the int8 model is calibrated on ``calibration_windows`` ``(N, C, T)`` (normalised training
        windows).
    """
    import torch

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    example = calibration_windows[:2] if example is None else example
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    paths = {"pytorch": atomic_write_with(folder / "student.state.pt", lambda fh: torch.save(state, fh))}
    paths["torchscript"] = export_torchscript(model, folder / "student.ts.pt", example)
    paths["onnx"] = export_onnx(model, folder / "student.onnx", example)
    paths["onnx_int8"] = quantize_onnx(paths["onnx"], folder / "student.int8.onnx", calibration_windows)
    return paths


def deployed_backends(model: Any, paths: Mapping[str, Path], threads: int | None = None,
                      batch_size: int = 256) -> dict[str, Backend]:
    """The four runtimes of :func:`export_student`'s files, keyed like ``paths``.

    ``threads`` sets ONNX Runtime's intra-op threads (PyTorch's are global: ``torch.set_num_threads``).
    """
    return {
        "pytorch": torch_backend(model, batch_size),
        "torchscript": torchscript_backend(paths["torchscript"], batch_size),
        "onnx": onnx_backend(paths["onnx"], threads, batch_size),
        "onnx_int8": onnx_backend(paths["onnx_int8"], threads, batch_size),
    }


def backend_scores(backends: Mapping[str, Backend], x: np.ndarray, y: np.ndarray) -> "Any":
    """Accuracy and macro F1 of each backend on windows ``x`` ``(N, C, T)`` with labels ``y``.

    Returns a pandas DataFrame indexed by backend.
    """
    import pandas as pd

    rows = {name: classification_scores(y, fn(x)) for name, fn in backends.items()}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("backend")


def student_bundle(model: Any, prepared: Any, path: str | os.PathLike, metadata: Mapping[str, Any] | None = None) -> Path:
    """Save a bundle for a student trained on a data-module ``Prepared`` split.

    The normaliser, classes and window settings are the split's; the rate is the data set's.
    """
    from .data import load_dataset

    window = prepared.config.window
    meta = {"dataset": prepared.name, "data_key": prepared.key, **dict(metadata or {})}
    return save_bundle(path, model, prepared.normaliser, prepared.classes, window.length, window.stride,
                       load_dataset(prepared.name).rate_hz, meta)


# --------------------------------------------------------------------------------------------------
# Labelling whole recordings
# --------------------------------------------------------------------------------------------------


def sliding_starts(n_samples: int, length: int, stride: int) -> np.ndarray:
    """Start indices of the full windows of ``length`` every ``stride`` samples in ``n_samples``.

    A tail shorter than ``stride`` after the last full window is not labelled (see
    :func:`predict_windows`).
    """
    if n_samples < length:
        return np.zeros(0, dtype=np.int64)
    return np.arange(0, n_samples - length + 1, stride, dtype=np.int64)


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def predict_windows(
    bundle: ModelBundle,
    acc: np.ndarray,
    t0: float = 0.0,
    backend: Backend | None = None,
    batch_size: int = 256,
    progress: bool | None = None,
    source: str = "recording",
) -> "Any":
    """Label a recording sampled at ``bundle.rate_hz`` with sliding windows.

    Parameters
    ----------
    bundle : the model bundle.
    acc : ``(n, C)`` acceleration in g at the bundle's rate (unnormalised).
    t0 : time of sample 0 in seconds (the times in the output are ``t0 + index / rate``).
    backend : windows -> logits; default eager PyTorch on ``bundle.model``.
    batch_size : windows per forward pass.
    progress : tqdm bar (None: only on a terminal).
    source : a name for error messages.

    Returns
    -------
    pandas.DataFrame
        One row per window: ``start_s``, ``end_s``, ``activity`` and ``p_<class>`` per class
        (softmax probabilities). Windows start every ``window_stride`` samples; a tail shorter than a
        stride after the last full window is left unlabelled.
    """
    import pandas as pd
    from tqdm import tqdm  # a text bar: this runs from the command line (and quietly in notebooks)

    acc = np.asarray(acc, dtype=np.float32)
    if acc.ndim != 2 or acc.shape[1] != bundle.in_channels:
        raise DeployError(f"{source}: expected acceleration of shape (n, {bundle.in_channels}), got {acc.shape}")
    if not np.all(np.isfinite(acc)):
        row = int(np.argwhere(~np.isfinite(acc))[0, 0])
        raise DeployError(f"{source}: non-finite acceleration at row {row}")
    L, S = bundle.window_length, bundle.window_stride
    starts = sliding_starts(len(acc), L, S)
    if len(starts) == 0:
        raise DeployError(
            f"{source}: {len(acc)} samples ({len(acc) / bundle.rate_hz:.2f} s) is shorter than one window of "
            f"{L} samples ({bundle.window_seconds:.2f} s)"
        )
    backend = backend or torch_backend(bundle.model, batch_size)
    signal = ((acc - bundle.mean) / bundle.std).astype(np.float32).T  # (C, n), normalised once
    idx = starts[:, None] + np.arange(L)[None, :]
    probs = np.empty((len(starts), len(bundle.classes)), dtype=np.float64)
    for i in tqdm(range(0, len(starts), batch_size), desc="windows", unit="batch", disable=None if progress is None else not progress):
        sel = idx[i : i + batch_size]
        windows = np.ascontiguousarray(signal[:, sel].transpose(1, 0, 2))  # (B, C, L)
        probs[i : i + len(sel)] = _softmax(np.asarray(backend(windows), dtype=np.float64))
    table = pd.DataFrame({
        "start_s": t0 + starts / bundle.rate_hz,
        "end_s": t0 + (starts + L) / bundle.rate_hz,
        "activity": np.asarray(bundle.classes, dtype=object)[probs.argmax(1)],
    })
    for k, name in enumerate(bundle.classes):
        table[f"p_{name}"] = probs[:, k]
    return table


def predict_recording(bundle: ModelBundle, recordings: Any, index: int = 0, **kwargs: Any) -> "Any":
    """Label recording ``index`` of a data-module ``Recordings`` (at the bundle's rate).

    Keyword arguments go to :func:`predict_windows`.
    """
    rate = float(recordings.rate_hz)
    if abs(rate - bundle.rate_hz) > 1e-6 * bundle.rate_hz:
        raise DeployError(f"recordings are at {rate} Hz but the model expects {bundle.rate_hz} Hz (resample first)")
    bounds = np.concatenate([[0], np.cumsum(recordings.rec_len)])
    if not 0 <= index < len(recordings.rec_len):
        raise DeployError(f"recording index {index} out of range (0..{len(recordings.rec_len) - 1})")
    acc = recordings.acc[bounds[index] : bounds[index + 1]]
    kwargs.setdefault("source", f"recording {index}")
    return predict_windows(bundle, acc, **kwargs)


def _first_times(path: Path, columns: Any, time_unit: str, sep: str) -> dict[int, float]:
    """Earliest time stamp (s) per subject of a CSV already validated by the data loader."""
    import pandas as pd

    from .data import TIME_UNITS

    use = [columns.time] + ([columns.subject] if columns.subject is not None else [])
    df = pd.read_csv(path, dtype=str, keep_default_na=False, sep=sep, skipinitialspace=True)
    df.columns = [str(c).strip() for c in df.columns]
    t = pd.to_numeric(df[use[0]].str.strip(), errors="coerce") * TIME_UNITS[time_unit]
    if columns.subject is None:
        return {-1: float(t.min())}
    subj = pd.to_numeric(df[columns.subject].str.strip(), errors="coerce").astype("int64")
    return {int(k): float(v) for k, v in t.groupby(subj).min().items()}


def predict_csv(
    csv_path: str | os.PathLike,
    model: ModelBundle | str | os.PathLike,
    out_path: str | os.PathLike | None = None,
    *,
    columns: Any = None,
    time_unit: str = "s",
    scale: float = 1.0,
    onnx_path: str | os.PathLike | None = None,
    batch_size: int = 256,
    progress: bool | None = None,
    **loader_options: Any,
) -> "Any":
    """Label every window of a recording CSV (the data module's bring-your-own loader reads it).

    Parameters
    ----------
    csv_path : the recording; columns as in :func:`mglwkd_lite.data.load_csv` (time, x, y, z and
        optionally label and subject; names set by ``columns``).
    model : a :class:`ModelBundle` or the path of one.
    out_path : where to write the table as CSV (atomically); None writes nothing.
    columns : a :class:`mglwkd_lite.data.ColumnMap`; default time, x, y, z, no label, no subject.
    time_unit : unit of the time column ("s", "ms", "us", "ns").
    scale : factor that turns the file's acceleration into g (e.g. ``1 / 9.80665`` for m/s^2).
    onnx_path : run this ONNX export (float or int8) with ONNX Runtime instead of PyTorch.
    batch_size, progress : see :func:`predict_windows`.
    **loader_options : passed to :func:`~mglwkd_lite.data.load_csv` (``max_gap_s``, ``strict``,
        ``jitter_tol``, ``sep``, ``classes``, ``unlabelled``, ...).

    Returns
    -------
    pandas.DataFrame
        One row per window: ``start_s``, ``end_s`` (on the file's time axis, in seconds),
        ``activity``, ``p_<class>`` per class; with a subject column, ``subject`` first; with a label
        column, ``label``: the label at the window's centre ("" if unlabelled).

    Raises
    ------
    mglwkd_lite.data.DataError
        Bad input, as the loader reports it (missing column, non-numeric value, gap, too short...).
    DeployError
        A bad bundle, or a bundle/recording mismatch.
    """
    import pandas as pd

    from .data import ColumnMap, load_csv

    bundle = model if isinstance(model, ModelBundle) else load_bundle(model)
    if columns is None:
        columns = ColumnMap(label=None, subject=None)
    if not (np.isfinite(scale) and scale > 0):
        raise DeployError(f"scale must be a positive number, got {scale!r}")
    path = Path(csv_path)
    rec = load_csv(path, bundle.rate_hz, columns, time_unit=time_unit, min_length=bundle.window_length,
                   **loader_options)
    if rec.acc.shape[1] != bundle.in_channels:
        raise DeployError(f"{path.name}: {rec.acc.shape[1]} channels, the model expects {bundle.in_channels}")
    sep = loader_options.get("sep", ",")
    t0 = _first_times(path, columns, time_unit, sep)
    backend = onnx_backend(onnx_path, batch_size=batch_size) if onnx_path is not None else None
    tables = []
    for r in range(rec.n_recordings):
        acc, lab = rec.recording(r)
        subject = int(rec.rec_subject[r])
        table = predict_windows(bundle, acc * np.float32(scale), t0=t0.get(subject, t0.get(-1, 0.0)), backend=backend,
                                batch_size=batch_size, progress=progress, source=rec.source_of(r))
        if columns.label is not None:
            centre = sliding_starts(len(acc), bundle.window_length, bundle.window_stride) + bundle.window_length // 2
            names = np.asarray(list(rec.classes) + [""], dtype=object)
            table.insert(3, "label", names[np.where(lab[centre] >= 0, lab[centre], len(rec.classes))])
        if columns.subject is not None:
            table.insert(0, "subject", subject)
        tables.append(table)
    out = pd.concat(tables, ignore_index=True)
    if out_path is not None:
        atomic_write_text(out_path, out.to_csv(index=False, float_format="%.6g"))
    return out


def add_predict_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``predict`` command to an ``argparse`` sub-parser collection.

    The parser stores ``func=run_predict`` so that a main program can dispatch with
    ``args.func(args)``.
    """
    p = subparsers.add_parser(
        "predict",
        help="label a recording CSV window by window with a trained student",
        description="Label every window of a raw accelerometer recording (CSV) with a model bundle; "
                    "writes one row per window: start and end time, predicted activity, class probabilities.",
    )
    p.add_argument("recording", type=Path, help="CSV file with a time column and x, y, z acceleration")
    p.add_argument("--model", type=Path, required=True, help="model bundle (.pt) written by save_bundle")
    p.add_argument("-o", "--output", type=Path, default=None,
                   help="output CSV (default: RECORDING with suffix .predictions.csv)")
    p.add_argument("--onnx", type=Path, default=None, help="run this ONNX export (float or int8) instead of PyTorch")
    p.add_argument("--time-col", default="time", help="time column (default: time)")
    p.add_argument("--x-col", default="x")
    p.add_argument("--y-col", default="y")
    p.add_argument("--z-col", default="z")
    p.add_argument("--label-col", default=None, help="optional label column, copied to the output (window centre)")
    p.add_argument("--subject-col", default=None, help="optional subject column (one recording per subject)")
    p.add_argument("--time-unit", default="s", choices=["s", "ms", "us", "ns"])
    p.add_argument("--scale", type=float, default=1.0,
                   help="factor turning the file's acceleration into g (0.1019716 for m/s^2)")
    p.add_argument("--sep", default=",", help="field separator (default: ,)")
    p.add_argument("--max-gap", type=float, default=1.0, help="largest allowed gap between time stamps, s")
    p.add_argument("--strict", action="store_true", help="refuse unsorted, duplicate or jittery time stamps")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=run_predict)
    return p


def run_predict(args: argparse.Namespace) -> int:
    """Execute a parsed ``predict`` command; returns the exit status.

    0 on success; 2 on bad input or a bad bundle, with the loader's message on stderr (no traceback).
    """
    import sys

    from .data import ColumnMap, DataError

    columns = ColumnMap(args.time_col, args.x_col, args.y_col, args.z_col, args.label_col, args.subject_col)
    out = args.output or args.recording.with_suffix(".predictions.csv")
    try:
        table = predict_csv(
            args.recording, args.model, out, columns=columns, time_unit=args.time_unit, scale=args.scale,
            onnx_path=args.onnx, batch_size=args.batch_size, progress=False if args.no_progress else None,
            sep=args.sep, max_gap_s=args.max_gap, strict=args.strict,
        )
    except (DataError, DeployError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    counts = table["activity"].value_counts()
    print(f"{len(table)} windows labelled -> {out}")
    print("; ".join(f"{k}: {v}" for k, v in counts.items()))
    return 0


def predict_main(argv: Sequence[str] | None = None) -> int:
    """The ``predict`` command line; ``argv`` are the arguments after ``predict``.

    ``predict_main(["rec.csv", "--model", "student.pt"])`` is what
    ``python -m mglwkd_lite predict rec.csv --model student.pt`` runs. Returns the exit status.
    """
    import sys

    parser = argparse.ArgumentParser(prog="python -m mglwkd_lite")
    add_predict_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["predict", *(sys.argv[1:] if argv is None else list(argv))])
    return args.func(args)


def recording_to_csv(rec: Any, index: int, path: str | os.PathLike, t0: float = 0.0) -> Path:
    """Write recording ``index`` of a data-module ``Recordings`` as a device export would look.

    Columns ``time`` (s, from ``t0``), ``x``, ``y``, ``z`` (g) and ``label`` (class name, empty when
    unlabelled); written atomically. Useful to try :func:`predict_csv` on real data.
    """
    import pandas as pd

    acc, lab = rec.recording(index)
    names = np.asarray(list(rec.classes) + [""], dtype=object)
    df = pd.DataFrame({"time": t0 + np.arange(len(acc)) / rec.rate_hz})
    for k, c in enumerate(rec.channels):
        df[c] = acc[:, k]
    df["label"] = names[np.where(lab >= 0, lab, len(rec.classes))]
    return atomic_write_text(path, df.to_csv(index=False, float_format="%.7g"))


def window_agreement(table: Any, classes: Sequence[str] | None = None) -> dict[str, float]:
    """Agreement of ``activity`` with ``label`` over windows whose centre label is a model class.

    ``table`` is a :func:`predict_csv` output with a ``label`` column. Returns ``{"windows": n,
    "accuracy": share of those n windows predicted right}`` (transitions and unlabelled excluded).
    """
    if "label" not in table.columns:
        raise DeployError("the table has no 'label' column (pass a label column to predict)")
    classes = classes or [c[2:] for c in table.columns if c.startswith("p_")]
    known = table["label"].isin(list(classes)).to_numpy()
    n = int(known.sum())
    acc = float((table["activity"].to_numpy()[known] == table["label"].to_numpy()[known]).mean()) if n else float("nan")
    return {"windows": n, "accuracy": acc}


def plot_timeline(table: Any, truth_time: np.ndarray, truth: Sequence[str], classes: Sequence[str],
                  hop_s: float | None = None, ax: Any = None, title: str | None = None) -> Any:
    """An activity timeline: the ground truth per sample above the student's label per window.

    Parameters
    ----------
    table : :func:`predict_windows` / :func:`predict_csv` output (``start_s``, ``end_s``, ``activity``).
    truth_time : ``(n,)`` seconds of each ground-truth sample.
    truth : ``(n,)`` label name per sample; names not in ``classes`` (transitions, "") are drawn grey.
    classes : the model's classes, in the order of their colours.
    hop_s : each window is drawn over its central ``hop_s`` seconds (default: the start spacing), so
        overlapping windows tile the time axis.
    ax : matplotlib axes (a new figure if None).

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    if ax is None:
        _, ax = plt.subplots(figsize=(11, 2.6), constrained_layout=True)
    colours = {c: plt.get_cmap("tab10")(i) for i, c in enumerate(classes)}
    other = (0.8, 0.8, 0.8, 1.0)
    truth = np.asarray(truth, dtype=object)
    truth_time = np.asarray(truth_time, dtype=float)
    dt = float(np.median(np.diff(truth_time))) if len(truth_time) > 1 else 1.0
    # Ground truth: one bar per run of equal labels.
    for a, b, label in zip(*label_segments(truth)):
        ax.broken_barh([(truth_time[a], truth_time[b - 1] - truth_time[a] + dt)], (1.1, 0.8),
                       color=colours.get(label, other), linewidth=0)
    start = table["start_s"].to_numpy(float)
    centre = (start + table["end_s"].to_numpy(float)) / 2
    if hop_s is None:
        hop_s = float(np.median(np.diff(start))) if len(start) > 1 else float(table["end_s"].iloc[0] - start[0])
    for c, act in zip(centre, table["activity"]):
        ax.broken_barh([(c - hop_s / 2, hop_s)], (0.1, 0.8), color=colours.get(act, other), linewidth=0)
    ax.set_yticks([0.5, 1.5], ["student", "ground truth"])
    ax.set_ylim(0, 2)
    ax.set_xlim(min(truth_time[0], start[0]), max(truth_time[-1] + dt, table["end_s"].max()))
    ax.set_xlabel("time (s)")
    handles = [Patch(color=colours[c], label=c.replace("_", " ").lower()) for c in classes]
    handles.append(Patch(color=other, label="other / unlabelled"))
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.35), ncol=4, frameon=False, fontsize=8)
    if title:
        ax.set_title(title)
    return ax


def read_cost(path: str | os.PathLike) -> dict[str, Any]:
    """The results of ``benchmarks/deploy.py`` (a JSON file)."""
    path = Path(path)
    if not path.is_file():
        raise DeployError(f"{path}: no benchmark results; run python benchmarks/deploy.py")
    return json.loads(path.read_text())


def cost_table(result: Mapping[str, Any]) -> "Any":
    """The benchmark's rows as a readable table (pandas DataFrame).

    Columns: model, runtime, parameters, MACs per window (millions), size (kB), accuracy and macro F1
    on the test subjects (blank where not measured), milliseconds per window at batch 1 and 256, and
    the real-time factors (seconds of signal labelled per second of compute) at both batch sizes.
    """
    import pandas as pd

    df = pd.DataFrame(result["rows"])

    def fmt(values: Any, spec: str, scale: float = 1.0) -> Any:
        return values.map(lambda v: "" if v is None or pd.isna(v) else format(v * scale, spec))

    return pd.DataFrame({
        "model": df["model"], "runtime": df["runtime"], "params": df["params"],
        "MMACs/window": fmt(df["macs_per_window"], ".2f", 1e-6),
        "size (kB)": fmt(df["size_bytes"].where(df["size_bytes"] > 0), ".1f", 1e-3),
        "accuracy": fmt(df["accuracy"], ".3f"), "macro F1": fmt(df["macro_f1"], ".3f"),
        "ms/window b=1": fmt(df["latency_b1_ms"], ".3g"), "ms/window b=256": fmt(df["latency_b256_ms"], ".3g"),
        "real-time x b=1": fmt(df["rtf_b1"], ",.0f"), "real-time x b=256": fmt(df["rtf_b256"], ",.0f"),
    })


def cost_ratios(result: Mapping[str, Any]) -> dict[str, float]:
    """Headline ratios of a benchmark run: int8 vs float32 student, PI paths vs the student."""
    rows = result["rows"]
    student = {r["runtime"]: r for r in rows if r["model"].startswith("student")}
    f32, q8, eager = student["ONNX Runtime float32"], student["ONNX Runtime int8"], student["PyTorch eager"]
    out = {
        "int8_size_vs_float": q8["size_bytes"] / f32["size_bytes"],
        "int8_latency_b1_vs_float": q8["latency_b1_ms"] / f32["latency_b1_ms"],
        "int8_latency_b256_vs_float": q8["latency_b256_ms"] / f32["latency_b256_ms"],
        "int8_accuracy_change": q8["accuracy"] - f32["accuracy"],
        "int8_macro_f1_change": q8["macro_f1"] - f32["macro_f1"],
    }
    for r in rows:
        if r["model"].startswith("PI path"):
            name = r["model"].split("(")[1].split(")")[0]
            out[f"pi_{name}_vs_int8_b1"] = r["latency_b1_ms"] / q8["latency_b1_ms"]
            out[f"pi_{name}_vs_int8_b256"] = r["latency_b256_ms"] / q8["latency_b256_ms"]
            out[f"pi_{name}_vs_pytorch_b256"] = r["latency_b256_ms"] / eager["latency_b256_ms"]
    return out


def file_size(path: str | os.PathLike) -> int:
    """Size of a file on disk in bytes."""
    return Path(path).stat().st_size


def time_per_window(backend: Backend, x: np.ndarray, min_time: float = 0.5, min_repeats: int = 3) -> float:
    """Median seconds per window of ``backend(x)`` over repeated calls (one warm-up call first).

    Repeats until at least ``min_time`` seconds and ``min_repeats`` calls have been spent; the
    median resists the noise of a busy machine better than the mean.
    """
    backend(x)  # warm-up: lazy initialisation, allocator, caches
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < min_repeats or time.perf_counter() - start < min_time:
        t = time.perf_counter()
        backend(x)
        times.append(time.perf_counter() - t)
    return float(np.median(times)) / len(x)
