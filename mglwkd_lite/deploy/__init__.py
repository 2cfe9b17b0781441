"""Ship the student: a model bundle, TorchScript and ONNX export, int8 quantisation, and labelling of
whole recordings (``python -m mglwkd_lite predict``).

The student is a plain 1-D WideResNet (:func:`mglwkd_lite.models.wrn1d`): it needs the raw window
only, so everything here works on windows ``(N, C, T)`` of normalised acceleration.

- A **model bundle** (:func:`save_bundle` / :func:`load_bundle`) is one ``torch.save`` file with all
  that is needed to label a new recording: the network's :class:`~mglwkd_lite.models.ModelSpec` and
  weights, the class names, the per-channel normalisation statistics of the training windows, the
  window length and stride, the sampling rate, and the profile of its training inputs (units,
  device, placement, typical magnitude, the reference and threshold of the out-of-distribution
  score; :class:`InputProfile`). It holds only tensors, numbers and strings, so it is read back
  with ``torch.load(weights_only=True)`` (no unpickling of code). Bundles of version 1 (no profile)
  still load, with a note that the checks are skipped.
- **Export**: :func:`export_torchscript` (``torch.jit.trace``) and :func:`export_onnx` (the
  TorchScript-based ONNX exporter, ``dynamo=False``: the newer exporter needs the ``onnxscript``
  package, which the pinned stack does not carry), both with a free batch dimension.
- **Backends** are plain callables ``f(x: (N, C, T) float32) -> logits (N, K)``:
  :func:`torch_backend`, :func:`torchscript_backend`, :func:`onnx_backend`;
  :func:`mglwkd_lite.report.deploy.compare_backends` checks that they agree.
- **int8**: :func:`quantize_onnx` is ONNX Runtime's static post-training quantisation (QDQ format,
  int8 weights per channel, uint8 activations), calibrated on training windows through
  :class:`WindowCalibrationReader`; the first convolution and the classifier stay in float32.
- **Labelling**: :func:`predict_windows` slides the bundle's window over a recording and returns one
  row per window (start and end time, predicted activity, confidence, out-of-distribution score and
  flag, class probabilities); :func:`predict_csv` does the same for a CSV file read by the data
  module's bring-your-own loader, after checking it against the bundle's profile
  (:mod:`~mglwkd_lite.deploy.checks`: units, implausible values, device and placement). The
  ``predict`` command of :mod:`mglwkd_lite.cli` runs it.

Modules
-------
:mod:`~mglwkd_lite.deploy.checks` (the profile of the training inputs and the checks of a
recording against it), :mod:`~mglwkd_lite.deploy.bundle` (the bundle),
:mod:`~mglwkd_lite.deploy.export` (export, quantisation and backends) and
:mod:`~mglwkd_lite.deploy.labelling` (whole recordings); every public name is re-exported here. The chapter's tables and figures are in :mod:`mglwkd_lite.report.deploy`;
the trained student comes from :func:`mglwkd_lite.pipeline.load_student`.
"""

from . import bundle, checks, export, labelling
from .bundle import (
    BUNDLE_FORMAT, BUNDLE_VERSION, READABLE_VERSIONS, DeployError, ModelBundle, describe_bundle, load_bundle,
    save_bundle, student_bundle,
)
from .checks import (
    DATASET_DEVICES, MAGNITUDE_RATIO, MIN_RATE_RATIO, NEIGHBOURS, NO_PROFILE_NOTE, OOD_QUANTILE, PLAUSIBLE_G,
    RATE_TOLERANCE, REFERENCE_WINDOWS, UNITS_IN_G, DeployWarning, InputProfile, device_warning, fit_profile,
    median_magnitude, ood_scores, rate_warning, unit_error, unit_warning, window_statistics,
)
from .export import (
    ONNX_OPSET, Backend, WindowCalibrationReader, classification_scores, deployed_backends, export_onnx,
    export_student, export_torchscript, file_size, onnx_backend, quantize_onnx, torch_backend, torchscript_backend,
)
from .labelling import predict_csv, predict_windows, recording_to_csv, sliding_starts, table_to_csv

__all__ = [*bundle.__all__, *checks.__all__, *export.__all__, *labelling.__all__]
