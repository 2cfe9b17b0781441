"""Export and int8 quantisation of the student, and the runtimes ("backends") that run the exports.

A backend is a plain callable ``f(x: (N, C, T) float32) -> logits (N, K)``; the same windows give the
same logits up to rounding in every runtime (``tests/test_deploy.py`` checks it on real windows).
"""

from __future__ import annotations

import io
import logging
import os
import tempfile
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, Mapping

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
from onnxruntime.quantization.shape_inference import quant_pre_process
from sklearn.metrics import accuracy_score, f1_score
from torch import nn

from .._io import atomic_write_bytes, atomic_write_with
from .bundle import DeployError

__all__ = [
    "ONNX_OPSET",
    "Backend",
    "export_torchscript",
    "export_onnx",
    "WindowCalibrationReader",
    "quantize_onnx",
    "export_student",
    "file_size",
    "torch_backend",
    "torchscript_backend",
    "onnx_backend",
    "deployed_backends",
    "classification_scores",
]

#: ONNX opset of :func:`export_onnx`.
ONNX_OPSET = 17

#: Windows ``(N, C, T)`` float32 -> logits ``(N, K)``.
Backend = Callable[[np.ndarray], np.ndarray]


@contextmanager
def _quiet_export() -> Iterator[None]:
    """Silence the exporters' deprecation chatter for this call only (no global filter)."""
    root = logging.getLogger()
    level = root.level
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        # onnxruntime.quantization logs an advice to pre-process through the root logger.
        root.setLevel(max(level, logging.ERROR))
        try:
            yield
        finally:
            root.setLevel(level)


def _example(model: nn.Module, example: np.ndarray | None, length: int | None) -> torch.Tensor:
    """The tracing input: ``example`` as a tensor, or two zero windows of ``length`` samples."""
    if example is not None:
        return torch.as_tensor(np.asarray(example, dtype=np.float32))
    spec = model.spec
    return torch.zeros(2, spec.in_channels, int(length or 128))


def export_torchscript(model: nn.Module, path: str | os.PathLike, example: np.ndarray | None = None,
                       length: int = 128) -> Path:
    """Trace ``model`` (eval mode, logits only) to TorchScript and save it atomically.

    Parameters
    ----------
    model : torch.nn.Module
        The student network.
    path : str or os.PathLike
        Target ``*.pt`` file.
    example : numpy.ndarray, optional
        Windows ``(N, C, T)`` used for tracing (zeros of ``length`` samples if None). The traced
        graph has no shape-dependent control flow, so any batch size runs.
    length : int
        Samples per window of the zero example.

    Returns
    -------
    pathlib.Path
        ``path``, the saved trace.
    """
    model = model.eval()
    x = _example(model, example, length)
    with _quiet_export(), torch.no_grad():
        traced = torch.jit.trace(model, x)
        return atomic_write_with(path, lambda fh: torch.jit.save(traced, fh))


def export_onnx(model: nn.Module, path: str | os.PathLike, example: np.ndarray | None = None, length: int = 128,
                opset: int = ONNX_OPSET) -> Path:
    """Export ``model`` to ONNX (input ``"x"`` ``(batch, C, T)``, output ``"logits"``), atomically.

    Uses the TorchScript-based exporter (``dynamo=False``: the newer exporter needs the
    ``onnxscript`` package, which the pinned stack does not carry), with the batch dimension free;
    the file is checked with ``onnx.checker`` before it is written.

    Parameters
    ----------
    model : torch.nn.Module
        The student network (put in eval mode).
    path : str or os.PathLike
        Target ``*.onnx`` file.
    example : numpy.ndarray, optional
        Tracing windows, as for :func:`export_torchscript`.
    length : int
        Samples per window when ``example`` is None.
    opset : int
        ONNX opset version.

    Returns
    -------
    pathlib.Path
        ``path``, the checked ONNX model.
    """
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
    windows : numpy.ndarray
        ``(N, C, T)`` float32 normalised windows (the training split, or a seeded subset).
    batch_size : int
        Windows per calibration batch.
    input_name : str
        The model's input name (``"x"`` for :func:`export_onnx`).

    Raises
    ------
    DeployError
        If ``windows`` is empty, not ``(N, C, T)``, or holds NaN or inf.
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
        """The next batch.

        Returns
        -------
        dict of str to numpy.ndarray or None
            ``{input_name: (B, C, T) windows}``, or None when every window was given.
        """
        if self._pos >= len(self.windows):
            return None
        batch = self.windows[self._pos : self._pos + self.batch_size]
        self._pos += self.batch_size
        return {self.input_name: batch}

    def rewind(self) -> None:
        """Start again from the first window."""
        self._pos = 0


# A virtual subclass: the calibrator's ABC checks only for get_next, and no base class state is needed.
CalibrationDataReader.register(WindowCalibrationReader)


def _end_layers(path: Path) -> list[str]:
    """Names of the first ``Conv`` and the last ``Gemm``/``MatMul`` node of an ONNX graph."""
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
    min-max ranges calibrated on ``calibration_windows``. The float model is first pre-processed
    (shape inference, graph optimisation) as ONNX Runtime advises. With ``float_ends`` (default) the
    first convolution and the final linear layer stay in float32, a common choice: they hold under
    1 % of the weights, and quantising the raw input window to 8 bits is what moves the predictions
    most (on the HAPT test subjects it changed the class of about 6 % of windows, against under 1 %
    with float ends). The result is written atomically.

    Parameters
    ----------
    float_path : str or os.PathLike
        The float32 ONNX model (:func:`export_onnx`).
    int8_path : str or os.PathLike
        Target file.
    calibration_windows : numpy.ndarray
        ``(N, C, T)`` normalised training windows.
    batch_size : int
        Windows per calibration batch.
    per_channel : bool
        One weight scale per output channel.
    float_ends : bool
        Keep the first convolution and the classifier in float32.

    Returns
    -------
    pathlib.Path
        ``int8_path``.
    """
    reader = WindowCalibrationReader(calibration_windows, batch_size)
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


def export_student(model: nn.Module, folder: str | os.PathLike, calibration_windows: np.ndarray,
                   example: np.ndarray | None = None) -> dict[str, Path]:
    """Write every deployable form of ``model`` into ``folder``.

    Parameters
    ----------
    model : torch.nn.Module
        The student network.
    folder : str or os.PathLike
        Created if missing.
    calibration_windows : numpy.ndarray
        ``(N, C, T)`` normalised training windows for the int8 calibration.
    example : numpy.ndarray, optional
        Tracing windows (default: the first two calibration windows).

    Returns
    -------
    dict of str to pathlib.Path
        ``{"pytorch": state dict (.pt), "torchscript": .ts.pt, "onnx": .onnx, "onnx_int8": .int8.onnx}``.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    example = calibration_windows[:2] if example is None else example
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    paths = {"pytorch": atomic_write_with(folder / "student.state.pt", lambda fh: torch.save(state, fh))}
    paths["torchscript"] = export_torchscript(model, folder / "student.ts.pt", example)
    paths["onnx"] = export_onnx(model, folder / "student.onnx", example)
    paths["onnx_int8"] = quantize_onnx(paths["onnx"], folder / "student.int8.onnx", calibration_windows)
    return paths


def file_size(path: str | os.PathLike) -> int:
    """Size of a file on disk.

    Parameters
    ----------
    path : str or os.PathLike
        The file.

    Returns
    -------
    int
        Bytes.
    """
    return Path(path).stat().st_size


# --------------------------------------------------------------------------------------------------
# Backends: callables from windows to logits


def _batched(fn: Backend, x: np.ndarray, batch_size: int) -> np.ndarray:
    """``fn`` over ``x`` (as contiguous float32) in batches of at most ``batch_size`` windows."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    if len(x) <= batch_size:
        return fn(x)
    return np.concatenate([fn(x[i : i + batch_size]) for i in range(0, len(x), batch_size)])


def torch_backend(model: nn.Module, batch_size: int = 256) -> Backend:
    """A network (eager or TorchScript) run by PyTorch, in eval mode and inference mode.

    Parameters
    ----------
    model : torch.nn.Module or torch.jit.ScriptModule
        The network; put in eval mode.
    batch_size : int
        Most windows per forward pass.

    Returns
    -------
    Backend
        ``f(x (N, C, T)) -> logits (N, K)`` as float32 NumPy.
    """
    model = model.eval()

    def run(x: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return model(torch.from_numpy(x)).numpy()

    return lambda x: _batched(run, x, batch_size)


def torchscript_backend(path_or_module: str | os.PathLike | torch.jit.ScriptModule, batch_size: int = 256) -> Backend:
    """A saved (or in-memory) TorchScript student as a backend.

    Parameters
    ----------
    path_or_module : str, os.PathLike or torch.jit.ScriptModule
        A file written by :func:`export_torchscript`, or the traced module.
    batch_size : int
        Most windows per forward pass.

    Returns
    -------
    Backend
    """
    module = path_or_module
    if isinstance(path_or_module, (str, os.PathLike)):
        with _quiet_export():
            module = torch.jit.load(str(path_or_module), map_location="cpu")
    return torch_backend(module, batch_size)


def onnx_backend(path: str | os.PathLike, threads: int | None = None, batch_size: int = 256) -> Backend:
    """An ONNX file run by ONNX Runtime's CPU provider.

    Parameters
    ----------
    path : str or os.PathLike
        A float or int8 ONNX model.
    threads : int, optional
        Intra-op threads (None: ONNX Runtime's default).
    batch_size : int
        Most windows per call.

    Returns
    -------
    Backend
    """
    opts = ort.SessionOptions()
    if threads is not None:
        opts.intra_op_num_threads = int(threads)
        opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    session = ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda x: _batched(lambda b: session.run(None, {name: b})[0], x, batch_size)


def deployed_backends(model: nn.Module, paths: Mapping[str, Path], threads: int | None = None,
                      batch_size: int = 256) -> dict[str, Backend]:
    """The four runtimes of :func:`export_student`'s files, keyed like ``paths``.

    Parameters
    ----------
    model : torch.nn.Module
        The student (run eagerly as ``"pytorch"``).
    paths : mapping of str to pathlib.Path
        :func:`export_student`'s files.
    threads : int, optional
        ONNX Runtime's intra-op threads (PyTorch's are global: ``torch.set_num_threads``).
    batch_size : int
        Most windows per call.

    Returns
    -------
    dict of str to Backend
        ``"pytorch"``, ``"torchscript"``, ``"onnx"`` and ``"onnx_int8"``.
    """
    return {
        "pytorch": torch_backend(model, batch_size),
        "torchscript": torchscript_backend(paths["torchscript"], batch_size),
        "onnx": onnx_backend(paths["onnx"], threads, batch_size),
        "onnx_int8": onnx_backend(paths["onnx_int8"], threads, batch_size),
    }


def classification_scores(y_true: np.ndarray, logits: np.ndarray, num_classes: int | None = None) -> dict[str, float]:
    """Accuracy and macro F1 (scikit-learn) of arg-max predictions.

    Parameters
    ----------
    y_true : numpy.ndarray
        ``(N,)`` class indices.
    logits : numpy.ndarray
        ``(N, K)`` scores.
    num_classes : int, optional
        Classes averaged in the macro F1 (default ``K``).

    Returns
    -------
    dict of str to float
        ``{"accuracy": ..., "macro_f1": ...}``.
    """
    y_pred = np.asarray(logits).argmax(1)
    labels = np.arange(num_classes if num_classes is not None else np.asarray(logits).shape[1])
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)),
    }
