"""Tests for mglwkd_lite.deploy: bundle round trip, export equality, int8, labelling recordings."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mglwkd_lite import deploy
from mglwkd_lite._io import load_npz
from mglwkd_lite.deploy import DeployError
from mglwkd_lite.models import wrn1d

CLASSES6 = ("WALKING", "WALKING_UPSTAIRS", "WALKING_DOWNSTAIRS", "SITTING", "STANDING", "LAYING")


def _packaged(name: str = "hapt_acc50hz.npz") -> dict[str, np.ndarray]:
    from importlib import resources

    with resources.as_file(resources.files("mglwkd_lite") / "_data" / name) as p:
        return load_npz(p)


@pytest.fixture(scope="module")
def real_windows() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Normalised 128-sample windows (N, 3, 128) cut from the first packaged HAPT recording.

    Returns ``(windows, mean, std)``; the statistics are those of these windows.
    """
    z = _packaged()
    n = int(z["rec_len"][0])
    acc = z["acc"][:n].astype(np.float32) * np.float32(z["acc_unit_g"])
    x = np.stack([acc[i : i + 128].T for i in range(0, n - 128 + 1, 64)]).astype(np.float32)
    mean, std = x.mean(axis=(0, 2)), x.std(axis=(0, 2))
    return ((x - mean[None, :, None]) / std[None, :, None]).astype(np.float32), mean, std


@pytest.fixture(scope="module")
def student() -> torch.nn.Module:
    """A randomly initialised WRN16-1 whose BN statistics are not the identity (harder for export)."""
    torch.manual_seed(0)
    model = wrn1d(16, 1, in_channels=3, num_classes=6)
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm1d):
                m.running_mean.copy_(0.1 * torch.randn(m.num_features, generator=gen))
                m.running_var.copy_(0.5 + torch.rand(m.num_features, generator=gen))
                m.bias.copy_(0.1 * torch.randn(m.num_features, generator=gen))
    return model.eval()


@pytest.fixture(scope="module")
def exported(tmp_path_factory, student, real_windows):
    """The student as TorchScript, ONNX float and ONNX int8 files."""
    x = real_windows[0]
    folder = tmp_path_factory.mktemp("export")
    ts = deploy.export_torchscript(student, folder / "student.ts.pt", x[:2])
    fp = deploy.export_onnx(student, folder / "student.onnx", x[:2])
    q = deploy.quantize_onnx(fp, folder / "student.int8.onnx", x[::2][:128])
    return {"torchscript": ts, "onnx": fp, "int8": q}


def test_real_windows_fixture_is_real(real_windows):
    x, mean, std = real_windows
    assert x.shape[1:] == (3, 128) and len(x) > 50
    assert np.all(std > 0.01)  # a moving phone, not a constant
    np.testing.assert_allclose(x.mean(axis=(0, 2)), 0.0, atol=1e-4)


def test_exports_agree_with_pytorch_on_real_windows(student, exported, real_windows):
    x = real_windows[0]
    ref = deploy.torch_backend(student)
    table = deploy.compare_backends(
        ref,
        {
            "torchscript": deploy.torchscript_backend(exported["torchscript"]),
            "onnx": deploy.onnx_backend(exported["onnx"], threads=1),
        },
        x,
    )
    assert list(table.index) == ["torchscript", "onnx"]
    assert (table["max_abs_diff"] < 1e-4).all(), table
    assert (table["same_class"] == 1.0).all(), table
    # The comparison is not vacuous: the logits differ between windows and classes.
    logits = ref(x)
    assert logits.shape == (len(x), 6) and logits.std(axis=0).min() > 1e-3


def test_exports_accept_any_batch_size(student, exported, real_windows):
    x = real_windows[0]
    ref = deploy.torch_backend(student)(x[:7])
    for fn in (deploy.torchscript_backend(exported["torchscript"]), deploy.onnx_backend(exported["onnx"])):
        for n in (1, 7):
            out = fn(x[:n])
            assert out.shape == (n, 6)
            np.testing.assert_allclose(out, ref[:n], atol=1e-4)


def test_batched_backend_matches_one_pass(student, real_windows):
    x = real_windows[0][:70]
    whole = deploy.torch_backend(student, batch_size=256)(x)
    chunked = deploy.torch_backend(student, batch_size=16)(x)
    np.testing.assert_allclose(chunked, whole, atol=1e-5)


def test_int8_model_is_smaller_close_and_mostly_same_class(student, exported, real_windows):
    x = real_windows[0]
    assert deploy.file_size(exported["int8"]) < 0.6 * deploy.file_size(exported["onnx"])
    ref = deploy.torch_backend(student)(x)
    q = deploy.onnx_backend(exported["int8"], threads=1)(x)
    assert q.shape == ref.shape
    # Quantisation error is small relative to the spread of the logits, yet not zero.
    err = np.abs(q - ref).max()
    assert 0 < err < 0.25 * np.ptp(ref)
    assert np.mean(q.argmax(1) == ref.argmax(1)) > 0.9


def test_int8_graph_holds_integer_weights(exported):
    import onnx

    model = onnx.load(str(exported["int8"]))
    dtypes = {init.data_type for init in model.graph.initializer}
    assert onnx.TensorProto.INT8 in dtypes
    assert any(node.op_type == "DequantizeLinear" for node in model.graph.node)


def test_calibration_reader_rejects_bad_windows():
    with pytest.raises(DeployError, match="non-empty"):
        deploy.WindowCalibrationReader(np.zeros((0, 3, 128), np.float32))
    bad = np.zeros((4, 3, 128), np.float32)
    bad[2, 1, 5] = np.nan
    with pytest.raises(DeployError, match="NaN"):
        deploy.WindowCalibrationReader(bad)
    reader = deploy.WindowCalibrationReader(np.zeros((5, 3, 8), np.float32), batch_size=2)
    sizes = []
    while (batch := reader.get_next()) is not None:
        sizes.append(len(batch["x"]))
    assert sizes == [2, 2, 1]


def test_bundle_round_trip(tmp_path, student, real_windows):
    x, mean, std = real_windows
    path = deploy.save_bundle(tmp_path / "b.pt", student, (mean, std), CLASSES6, 128, 64, 50.0, {"note": "test"})
    bundle = deploy.load_bundle(path)
    assert bundle.classes == CLASSES6
    assert (bundle.window_length, bundle.window_stride, bundle.rate_hz) == (128, 64, 50.0)
    assert bundle.metadata == {"note": "test"}
    np.testing.assert_array_equal(bundle.mean, mean.astype(np.float32))
    np.testing.assert_allclose(deploy.torch_backend(bundle.model)(x), deploy.torch_backend(student)(x), atol=0)


def test_bundle_errors(tmp_path, student, real_windows):
    _, mean, std = real_windows
    with pytest.raises(DeployError, match="not found"):
        deploy.load_bundle(tmp_path / "missing.pt")
    torch.save({"hello": torch.zeros(1)}, tmp_path / "other.pt")
    with pytest.raises(DeployError, match="not a mglwkd-lite-model-bundle"):
        deploy.load_bundle(tmp_path / "other.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a torch file")
    with pytest.raises(DeployError, match="not a readable"):
        deploy.load_bundle(tmp_path / "junk.pt")
    with pytest.raises(DeployError, match="class names"):
        deploy.save_bundle(tmp_path / "b.pt", student, (mean, std), CLASSES6[:5], 128, 64, 50.0)
    with pytest.raises(DeployError, match="std > 0"):
        deploy.save_bundle(tmp_path / "b.pt", student, (mean, np.zeros(3)), CLASSES6, 128, 64, 50.0)


def test_sliding_starts():
    np.testing.assert_array_equal(deploy.sliding_starts(300, 128, 64), [0, 64, 128])
    assert deploy.sliding_starts(127, 128, 64).size == 0
    np.testing.assert_array_equal(deploy.sliding_starts(128, 128, 64), [0])


def test_predict_windows_matches_the_backend_on_the_same_windows(tmp_path, student, real_windows):
    _, mean, std = real_windows
    bundle = deploy.load_bundle(deploy.save_bundle(tmp_path / "b.pt", student, (mean, std), CLASSES6, 128, 64, 50.0))
    z = _packaged()
    n = int(z["rec_len"][0])
    acc = z["acc"][:n].astype(np.float32) * np.float32(z["acc_unit_g"])
    table = deploy.predict_windows(bundle, acc, t0=10.0, batch_size=50, progress=False)
    starts = deploy.sliding_starts(n, 128, 64)
    assert len(table) == len(starts)
    np.testing.assert_allclose(table["start_s"], 10.0 + starts / 50.0)
    np.testing.assert_allclose(table["end_s"] - table["start_s"], 128 / 50.0)
    probs = table[[f"p_{c}" for c in CLASSES6]].to_numpy()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-6)
    windows = np.stack([acc[s : s + 128].T for s in starts])
    logits = deploy.torch_backend(student)(bundle.normalise(windows))
    np.testing.assert_array_equal(table["activity"].to_numpy(), np.asarray(CLASSES6)[logits.argmax(1)])


def test_predict_windows_rejects_short_and_non_finite(tmp_path, student, real_windows):
    _, mean, std = real_windows
    bundle = deploy.load_bundle(deploy.save_bundle(tmp_path / "b.pt", student, (mean, std), CLASSES6, 128, 64, 50.0))
    with pytest.raises(DeployError, match="shorter than one window"):
        deploy.predict_windows(bundle, np.zeros((100, 3)), progress=False)
    acc = np.zeros((300, 3))
    acc[42, 2] = np.inf
    with pytest.raises(DeployError, match="row 42"):
        deploy.predict_windows(bundle, acc, progress=False)
    with pytest.raises(DeployError, match=r"\(n, 3\)"):
        deploy.predict_windows(bundle, np.zeros((300, 2)), progress=False)
