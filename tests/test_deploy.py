"""Tests for mglwkd_lite.deploy: bundle round trip, export equality, int8, labelling recordings, the predict
command; and the chapter's tables (mglwkd_lite.report.deploy)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mglwkd_lite import cli, deploy
from mglwkd_lite.data import packaged_path
from mglwkd_lite.deploy import DeployError
from mglwkd_lite.models import wrn1d
from mglwkd_lite.report import deploy as report

CLASSES6 = ("WALKING", "WALKING_UPSTAIRS", "WALKING_DOWNSTAIRS", "SITTING", "STANDING", "LAYING")


def _packaged(name: str = "hapt") -> dict[str, np.ndarray]:
    with np.load(packaged_path(name), allow_pickle=False) as z:
        return {key: z[key] for key in z.files}


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
    table = report.compare_backends(
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
    # The stem convolution and the classifier keep float32 weights (float_ends=True); the rest is int8.
    floats = {i.name for i in model.graph.initializer if i.data_type == onnx.TensorProto.FLOAT}
    convs = [n for n in model.graph.node if n.op_type == "Conv"]
    gemm = [n for n in model.graph.node if n.op_type == "Gemm"][-1]
    assert convs[0].input[1] in floats and gemm.input[1] in floats
    assert all(c.input[1] not in floats for c in convs[1:])


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
    torch.save({"hello": "world"}, tmp_path / "other.pt")
    with pytest.raises(DeployError, match="not a mglwkd-lite-model-bundle"):
        deploy.load_bundle(tmp_path / "other.pt")
    torch.save({"hello": torch.zeros(1)}, tmp_path / "weights.pt")
    with pytest.raises(DeployError, match=r"weights alone \(a state dict\), not a model bundle"):
        deploy.load_bundle(tmp_path / "weights.pt")
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


# --------------------------------------------------------------------------------------------------
# predict: a real packaged recording written out as CSV


@pytest.fixture(scope="module")
def bundle_path(tmp_path_factory, student, real_windows):
    _, mean, std = real_windows
    return deploy.save_bundle(tmp_path_factory.mktemp("bundle") / "student.pt", student, (mean, std), CLASSES6,
                              128, 64, 50.0, {"data": "hapt"})


@pytest.fixture(scope="module")
def recording_csv(tmp_path_factory):
    """HAPT recording 1 as a device export: time (s, starting at 100 s), x, y, z (g), label names."""
    import pandas as pd

    z = _packaged()
    n = int(z["rec_len"][0])
    acc = z["acc"][:n].astype(np.float64) * float(z["acc_unit_g"])
    classes = np.asarray([str(c) for c in z["classes"]] + [""], dtype=object)
    label = z["label"][:n].astype(int)
    df = pd.DataFrame({"time": 100.0 + np.arange(n) / 50.0, "x": acc[:, 0], "y": acc[:, 1], "z": acc[:, 2],
                       "label": classes[np.where(label >= 0, label, len(classes) - 1)]})
    path = tmp_path_factory.mktemp("rec") / "recording.csv"
    df.to_csv(path, index=False, float_format="%.7g")
    return path, acc.astype(np.float32), label, tuple(classes[:-1])


def test_predict_command_labels_a_real_recording(tmp_path, bundle_path, recording_csv, capsys):
    import pandas as pd

    path, acc, label, classes = recording_csv
    out = tmp_path / "pred.csv"
    rc = cli.main(["predict", str(path), "--model", str(bundle_path), "-o", str(out), "--label-col", "label",
                   "--no-progress"])
    assert rc == 0
    assert "windows labelled" in capsys.readouterr().out
    table = pd.read_csv(out, keep_default_na=False)
    starts = deploy.sliding_starts(len(acc), 128, 64)
    assert list(table.columns) == ["start_s", "end_s", "activity", "label", "confidence"] + [f"p_{c}" for c in CLASSES6]
    assert len(table) == len(starts)
    np.testing.assert_allclose(table["start_s"], 100.0 + starts / 50.0, atol=1e-6)
    np.testing.assert_allclose(table["end_s"] - table["start_s"], 2.56, atol=1e-6)
    assert set(table["activity"]) <= set(CLASSES6)
    np.testing.assert_allclose(table[[f"p_{c}" for c in CLASSES6]].sum(axis=1), 1.0, atol=1e-5)
    # The label column is the recording's own label at each window centre.
    names = np.asarray(list(classes) + [""], dtype=object)
    centre = label[starts + 64]
    np.testing.assert_array_equal(table["label"].to_numpy(), names[np.where(centre >= 0, centre, len(classes))])
    # Same predictions as labelling the packaged array directly (the CSV round trip changes nothing).
    direct = deploy.predict_windows(deploy.load_bundle(bundle_path), acc, progress=False)
    np.testing.assert_array_equal(table["activity"].to_numpy(), direct["activity"].to_numpy())


def test_predict_csv_with_onnx_int8_backend(bundle_path, recording_csv, exported):
    path = recording_csv[0]
    eager = deploy.predict_csv(path, bundle_path, progress=False)
    onnx = deploy.predict_csv(path, bundle_path, onnx_path=exported["onnx"], progress=False)
    int8 = deploy.predict_csv(path, bundle_path, onnx_path=exported["int8"], progress=False)
    probs = [f"p_{c}" for c in CLASSES6]
    np.testing.assert_allclose(onnx[probs].to_numpy(), eager[probs].to_numpy(), atol=1e-5)
    assert (int8["activity"] == eager["activity"]).mean() > 0.9


def _write(path, text):
    path.write_text(text)
    return path


def test_predict_bad_input_gets_the_loaders_errors(tmp_path, bundle_path, capsys):
    from mglwkd_lite.data import MissingColumnError, NonNumericError, RecordingTooShortError

    rows = "\n".join(f"{i / 50:.2f},0.1,0.2,0.9" for i in range(300))
    misspelt = _write(tmp_path / "misspelt.csv", "time,x,y,zz\n" + rows + "\n")
    rc = cli.main(["predict", str(misspelt), "--model", str(bundle_path), "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 2 and "misspelt.csv" in err and "'z' not found" in err and "did you mean 'zz'" in err
    assert not (tmp_path / "misspelt.predictions.csv").exists()

    text = "time,x,y,z\n" + rows.replace("2.00,0.1,", "2.00,abc,", 1) + "\n"
    with pytest.raises(NonNumericError, match=r"column 'x' row 101 .*'abc'"):
        deploy.predict_csv(_write(tmp_path / "text.csv", text), bundle_path, progress=False)

    short = "time,x,y,z\n" + "\n".join(rows.splitlines()[:100]) + "\n"
    with pytest.raises(RecordingTooShortError, match="shorter than one window of 128"):
        deploy.predict_csv(_write(tmp_path / "short.csv", short), bundle_path, progress=False)

    with pytest.raises(MissingColumnError, match="'time' not found"):
        deploy.predict_csv(_write(tmp_path / "t.csv", "t,x,y,z\n" + rows + "\n"), bundle_path, progress=False)


def test_predict_bad_bundle(tmp_path, recording_csv, capsys):
    rc = cli.main(["predict", str(recording_csv[0]), "--model", str(tmp_path / "none.pt"), "--no-progress"])
    assert rc == 2 and "model bundle not found" in capsys.readouterr().err


def test_python_m_predict_command(tmp_path, bundle_path, recording_csv):
    import subprocess
    import sys

    out = tmp_path / "cli.csv"
    proc = subprocess.run(
        [sys.executable, "-m", "mglwkd_lite", "predict", str(recording_csv[0]), "--model", str(bundle_path),
         "-o", str(out), "--no-progress"],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert out.is_file() and out.read_text().startswith("start_s,end_s,activity,confidence,p_WALKING")
    bad = subprocess.run(
        [sys.executable, "-m", "mglwkd_lite", "predict", str(tmp_path / "missing.csv"), "--model", str(bundle_path)],
        capture_output=True, text=True, timeout=300,
    )
    assert bad.returncode == 2 and "missing.csv" in bad.stderr and "Traceback" not in bad.stderr


# --------------------------------------------------------------------------------------------------
# helpers of the notebook and the benchmark


def _cost_rows() -> dict:
    def r(model, runtime, size, acc, b1, b256):
        return {"model": model, "runtime": runtime, "params": 10, "macs_per_window": 2e6, "size_bytes": size,
                "accuracy": acc, "macro_f1": acc, "latency_b1_ms": b1, "latency_b256_ms": b256,
                "rtf_b1": 1.28e3 / b1, "rtf_b256": 1.28e3 / b256}
    return {"rows": [
        r("student WRN16-1 (1-D)", "PyTorch eager", 250e3, 0.90, 1.0, 0.04),
        r("student WRN16-1 (1-D)", "ONNX Runtime float32", 250e3, 0.90, 0.2, 0.02),
        r("student WRN16-1 (1-D)", "ONNX Runtime int8", 100e3, 0.89, 0.1, 0.01),
        r("PI path (paper) = extraction + teacher", "NumPy + PyTorch eager", 6e6, None, 50.0, 20.0),
    ]}


def test_cost_table_and_ratios():
    result = _cost_rows()
    table = report.cost_table(result)
    assert len(table) == 4 and table.loc[3, "accuracy"] == "" and table.loc[2, "size (kB)"] == "100.0"
    ratios = report.cost_ratios(result)
    assert ratios["int8_size_vs_float"] == pytest.approx(0.4)
    assert ratios["int8_accuracy_change"] == pytest.approx(-0.01)
    assert ratios["pi_paper_vs_int8_b256"] == pytest.approx(2000.0)
    assert ratios["pi_paper_vs_pytorch_b256"] == pytest.approx(500.0)


def test_backend_scores_and_the_timer(student, real_windows):
    from mglwkd_lite.timing import time_call

    x = real_windows[0][:32]
    y = deploy.torch_backend(student)(x).argmax(1)  # the student's own classes: accuracy 1
    scores = report.backend_scores({"pytorch": deploy.torch_backend(student)}, x, y)
    assert list(scores.index) == ["pytorch"] and scores.loc["pytorch", "accuracy"] == 1.0
    calls = []
    seconds = time_call(lambda: calls.append(1), repeat=2, number=5)
    assert seconds.shape == (2,) and (seconds >= 0).all() and len(calls) == 10
    assert len(time_call(lambda: deploy.torch_backend(student)(x[:1]), repeat=3, min_time=0.0)) >= 3


def test_recording_to_csv_round_trips_through_the_loader(tmp_path):
    from mglwkd_lite.data import ColumnMap, load_csv, load_dataset

    rec = load_dataset("spsw")
    path = deploy.recording_to_csv(rec, 0, tmp_path / "r.csv", t0=5.0)
    back = load_csv(path, rec.rate_hz, ColumnMap(subject=None), classes=rec.classes)
    acc, lab = rec.recording(0)
    assert back.acc.shape == acc.shape
    np.testing.assert_allclose(back.acc, acc, atol=1e-5)
    np.testing.assert_array_equal(back.label, lab)


def test_window_agreement_and_timeline():
    import matplotlib

    matplotlib.use("Agg")
    import pandas as pd

    table = pd.DataFrame({"start_s": [0.0, 1.0, 2.0], "end_s": [2.0, 3.0, 4.0],
                          "activity": ["A", "B", "B"], "label": ["A", "A", "OTHER"], "p_A": 0.5, "p_B": 0.5})
    assert report.window_agreement(table) == {"windows": 2, "accuracy": 0.5}
    with pytest.raises(DeployError, match="no 'label'"):
        report.window_agreement(table.drop(columns="label"))
    ax = report.plot_timeline(table, np.arange(8) * 0.5, ["A"] * 4 + ["B"] * 3 + [""], ("A", "B"))
    # Two ground-truth runs plus the unlabelled sample, and one bar per window.
    assert len(ax.collections) == 3 + 3
    assert [t.get_text() for t in ax.get_yticklabels()] == ["student", "ground truth"]


def test_predict_csv_one_recording_per_subject(tmp_path, bundle_path):
    import pandas as pd

    z = _packaged()
    n = int(z["rec_len"][0])
    acc = z["acc"][:n].astype(np.float64) * float(z["acc_unit_g"])
    parts = []
    for subject, t0, (a, b) in ((7, 0.0, (0, 1000)), (3, 50.0, (1000, 1600))):
        parts.append(pd.DataFrame({"t_ms": 1e3 * (t0 + np.arange(b - a) / 50.0), "ax": acc[a:b, 0],
                                   "ay": acc[a:b, 1], "az": acc[a:b, 2], "who": subject}))
    path = tmp_path / "two.csv"
    pd.concat(parts).to_csv(path, sep=";", index=False)
    from mglwkd_lite.data import ColumnMap

    table = deploy.predict_csv(path, bundle_path, columns=ColumnMap("t_ms", "ax", "ay", "az", None, "who"),
                               time_unit="ms", sep=";", progress=False)
    assert list(table.columns[:3]) == ["subject", "start_s", "end_s"]
    first, second = table[table.subject == 7], table[table.subject == 3]
    assert len(first) == len(deploy.sliding_starts(1000, 128, 64)) and len(second) == len(deploy.sliding_starts(600, 128, 64))
    assert first.start_s.iloc[0] == pytest.approx(0.0) and second.start_s.iloc[0] == pytest.approx(50.0)
    # Each subject's windows are those of its own rows (none crosses into the other subject).
    direct = deploy.predict_windows(deploy.load_bundle(bundle_path), acc[1000:1600].astype(np.float32), progress=False)
    np.testing.assert_array_equal(second.activity.to_numpy(), direct.activity.to_numpy())


# --------------------------------------------------------------------------------------------------
# predict on users' own recordings (issue 16): time, units, implausible values, out-of-distribution
# windows, device and placement, and every user error as one "error:" line


EPOCH = 1_657_530_000.0  # 2022-07-11 09:00 UTC, where the device-style files start


@pytest.fixture(scope="module")
def hapt_prepared():
    from mglwkd_lite import data as D

    return D.prepare("hapt", "quick")


@pytest.fixture(scope="module")
def profiled_bundle(tmp_path_factory, student, hapt_prepared):
    """A bundle with the profile of the HAPT training windows (as notebook 07 writes it)."""
    return deploy.student_bundle(student, hapt_prepared, tmp_path_factory.mktemp("profiled") / "student.pt",
                                 {"method": "test"})


@pytest.fixture(scope="module")
def hapt():
    from mglwkd_lite.data import load_dataset

    return load_dataset("hapt")


def _predict(capsys, *args: str) -> tuple[int, str, str]:
    try:
        rc = cli.main(["predict", *map(str, args), "--no-progress"])
    except SystemExit as exit_:  # a bad command line: argparse exits
        rc = exit_.code
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


def test_bundle_records_the_training_profile(profiled_bundle, hapt_prepared):
    bundle = deploy.load_bundle(profiled_bundle)
    p = bundle.profile
    assert bundle.note == "" and bundle.rate_hz == 50.0
    assert (p.units, p.device, p.placement) == ("g", "smartphone", "waist")
    assert 0.9 < p.median_magnitude < 1.1  # gravity: a body-worn sensor at rest reads about 1 g
    assert p.stat_mean.shape == (6,) and p.reference.shape == (2048, 6) and p.quantile == 0.99
    # The threshold is the 99th percentile of the validation windows' scores.
    mean, std = hapt_prepared.normaliser.mean, hapt_prepared.normaliser.std
    val = hapt_prepared.val.x * std[None, :, None] + mean[None, :, None]
    assert np.mean(deploy.ood_scores(p, val) > p.threshold) == pytest.approx(0.01, abs=0.002)


def test_old_bundle_loads_with_a_note(tmp_path, profiled_bundle, hapt, capsys):
    payload = torch.load(profiled_bundle, weights_only=True)
    del payload["profile"]
    payload["version"] = 1
    torch.save(payload, tmp_path / "old.pt")
    bundle = deploy.load_bundle(tmp_path / "old.pt")
    assert bundle.profile is None and "no profile of its training data" in bundle.note
    csv = deploy.recording_to_csv(hapt, 2, tmp_path / "rec.csv")
    rc, out, err = _predict(capsys, csv, "--model", tmp_path / "old.pt")
    assert rc == 0 and "warning: old.pt: the model bundle has no profile" in err
    assert "out-of-distribution windows: not checked" in out


def test_predict_writes_epoch_time_in_full(tmp_path, profiled_bundle, hapt, capsys):
    csv = deploy.recording_to_csv(hapt, 2, tmp_path / "epoch.csv", t0=EPOCH, time_unit="ms")
    assert csv.read_text().splitlines()[2].startswith("1657530000020,")
    rc, _, _ = _predict(capsys, csv, "--model", profiled_bundle, "--time-unit", "ms", "-o", tmp_path / "out.csv")
    assert rc == 0
    lines = (tmp_path / "out.csv").read_text().splitlines()
    assert [l.split(",")[:2] for l in lines[1:3]] == [["1657530000", "1657530002.56"],
                                                      ["1657530001.28", "1657530003.84"]]
    import pandas as pd

    start = pd.read_csv(tmp_path / "out.csv")["start_s"].to_numpy()
    np.testing.assert_allclose(np.diff(start), 1.28, atol=1e-6)


def test_predict_writes_iso_time_as_iso(tmp_path, profiled_bundle, hapt):
    import pandas as pd

    csv = deploy.recording_to_csv(hapt, 2, tmp_path / "rec.csv", t0=EPOCH)
    df = pd.read_csv(csv, keep_default_na=False)
    df["time"] = [t.isoformat(timespec="milliseconds")
                  for t in pd.to_datetime(np.round(df["time"] * 1000).astype(np.int64), unit="ms", utc=True)
                  .dt.tz_convert("Europe/Madrid")]
    df.to_csv(tmp_path / "iso.csv", index=False)
    table = deploy.predict_csv(tmp_path / "iso.csv", profiled_bundle, tmp_path / "out.csv", progress=False)
    assert list(table.columns[:4]) == ["start", "end", "start_s", "end_s"]
    assert table["start"].iloc[:2].tolist() == ["2022-07-11T11:00:00.000+02:00", "2022-07-11T11:00:01.280+02:00"]
    assert table["start_s"].iloc[0] == EPOCH
    assert (tmp_path / "out.csv").read_text().splitlines()[1].startswith(
        "2022-07-11T11:00:00.000+02:00,2022-07-11T11:00:02.560+02:00,1657530000,1657530002.56,")


def test_unit_mismatch_stops_with_the_unit_and_scale(tmp_path, profiled_bundle, hapt, capsys):
    ms2 = deploy.recording_to_csv(hapt, 2, tmp_path / "ms2.csv", units="m/s^2")
    rc, out, err = _predict(capsys, ms2, "--model", profiled_bundle)
    assert rc == 2 and out == "" and err.count("\n") == 1
    assert err.startswith("error: ms2.csv: the median acceleration magnitude is 10")
    assert "looks like m/s^2; pass --scale 0.1019716" in err
    assert not (tmp_path / "ms2.predictions.csv").exists()
    mg = deploy.recording_to_csv(hapt, 2, tmp_path / "mg.csv", units="mg")
    rc, _, err = _predict(capsys, mg, "--model", profiled_bundle)
    assert rc == 2 and "looks like mg; pass --scale 0.001" in err
    with pytest.raises(DeployError, match=r"scale=0.1019716"):
        deploy.predict_csv(ms2, profiled_bundle, progress=False)
    # The scale it names works; an explicit scale overrides the check, with a warning and flags.
    right = deploy.predict_csv(ms2, profiled_bundle, scale=0.1019716, progress=False)
    assert right["ood"].mean() < 0.1
    with pytest.warns(deploy.DeployWarning, match=r"after --scale 1 the median acceleration magnitude is 10"):
        forced = deploy.predict_csv(ms2, profiled_bundle, scale=1.0, progress=False)
    assert forced["ood"].all()


def test_implausible_values_are_flagged_with_their_rows(tmp_path, profiled_bundle, hapt, capsys):
    csv = deploy.recording_to_csv(hapt, 2, tmp_path / "huge.csv")
    lines = csv.read_text().splitlines()
    fields = lines[1001].split(",")  # sample 1000: data row 1001, on line 1002
    fields[1] = "1e30"
    lines[1001] = ",".join(fields)
    csv.write_text("\n".join(lines) + "\n")
    rc, out, err = _predict(capsys, csv, "--model", profiled_bundle, "-o", tmp_path / "out.csv")
    assert rc == 0
    assert "warning: repaired input: huge.csv: implausible_values=1" in err
    assert "row 1001 (line 1002) x=1e+30" in err
    assert "2 of them for values beyond 50 g" in out
    import pandas as pd

    table = pd.read_csv(tmp_path / "out.csv")
    holds = (table["start_s"] <= 1000 / 50) & (table["end_s"] > 1000 / 50)
    assert holds.sum() == 2 and table.loc[holds, "ood"].all() and np.isinf(table.loc[holds, "ood_score"]).all()


def test_each_window_carries_confidence_and_an_ood_flag(profiled_bundle, hapt):
    from mglwkd_lite.data import UCI_HAR_TEST_SUBJECTS

    bundle = deploy.load_bundle(profiled_bundle)
    tables = [deploy.predict_windows(bundle, hapt.recording(r)[0], progress=False)
              for r in range(hapt.n_recordings) if int(hapt.rec_subject[r]) in UCI_HAR_TEST_SUBJECTS]
    table = pd_concat(tables)
    probs = table[[f"p_{c}" for c in CLASSES6]].to_numpy()
    np.testing.assert_allclose(table["confidence"], probs.max(axis=1))
    np.testing.assert_array_equal(table["ood"], table["ood_score"] > bundle.profile.threshold)
    # New people wearing the phone as in training: few windows flagged (3.2 % of the test subjects'
    # whole recordings, transitions included, with the seeded reference draw).
    assert 0.005 < table["ood"].mean() < 0.06


def pd_concat(tables):
    import pandas as pd

    return pd.concat(tables, ignore_index=True)


def test_a_watch_recording_on_a_waist_phone_model_is_flagged_and_warned(tmp_path, profiled_bundle, capsys):
    from mglwkd_lite.data import load_dataset

    spsw = load_dataset("spsw")
    csv = deploy.recording_to_csv(spsw, 0, tmp_path / "watch.csv")
    rc, out, err = _predict(capsys, csv, "--model", profiled_bundle, "--device", "smartwatch",
                            "--placement", "wrist", "-o", tmp_path / "out.csv")
    assert rc == 0
    assert ("warning: watch.csv: recorded with device 'smartwatch' and placement 'wrist', but the model was "
            "trained on a smartphone at the waist") in err
    import pandas as pd

    table = pd.read_csv(tmp_path / "out.csv")
    assert table["ood"].all() and f"{len(table)} of {len(table)} windows flagged" in out
    rc, _, err = _predict(capsys, csv, "--model", profiled_bundle, "--placement", "Waist")
    assert rc == 0 and "recorded with" not in err  # the same placement, in other case: no warning


def test_a_real_recording_exported_as_a_device_would(tmp_path, profiled_bundle, hapt, capsys):
    """HAPT test subject 2 as a phone app writes it: epoch milliseconds, m/s^2, jitter, a repeated row."""
    import pandas as pd

    csv = deploy.recording_to_csv(hapt, 2, tmp_path / "phone.csv", t0=EPOCH, time_unit="ms", units="m/s^2")
    df = pd.read_csv(csv, keep_default_na=False)
    n = len(df)
    rng = np.random.default_rng(0)
    df.loc[1:n - 2, "time"] += rng.integers(-3, 4, n - 2)  # +-3 ms jitter, first and last stamps kept
    df = pd.concat([df.iloc[:500], df.iloc[499:500], df.iloc[500:]], ignore_index=True)  # a repeated row
    df.drop(columns="label").to_csv(csv, index=False)
    # As a user would first run it: no unit options. The time unit comes first, then the acceleration.
    rc, _, err = _predict(capsys, csv, "--model", profiled_bundle)
    assert rc == 2 and "use time_unit='ms' (--time-unit ms), which gives 50 Hz" in err
    rc, _, err = _predict(capsys, csv, "--model", profiled_bundle, "--time-unit", "ms")
    assert rc == 2 and "the file looks like m/s^2; pass --scale 0.1019716" in err
    rc, out, err = _predict(capsys, csv, "--model", profiled_bundle, "--time-unit", "ms", "--scale", "0.1019716",
                            "-o", tmp_path / "out.csv")
    assert rc == 0 and "duplicate_rows=1" in err
    table = pd.read_csv(tmp_path / "out.csv")
    assert len(table) == len(deploy.sliding_starts(n, 128, 64))  # the last sample is kept
    assert table["start_s"].iloc[0] == EPOCH and table["start_s"].is_unique
    flagged = int(table["ood"].sum())
    assert f"{flagged} of {len(table)} windows flagged" in out and flagged <= 0.1 * len(table)


def _utf16(path):
    path.write_text("time,x,y,z\n" + "".join(f"{i / 50},0,0,1\n" for i in range(300)), encoding="utf-16")


def _latin1(path):
    path.write_text("time,x,y,z,étiquette\n" + "".join(f"{i / 50},0,0,1,assis\n" for i in range(300)),
                    encoding="latin-1")


def _semicolon(path):
    path.write_text("time;x;y;z\n" + "".join(f"{i / 50};0;0;1\n" for i in range(300)))


def _ms(path):
    path.write_text("time,x,y,z\n" + "".join(f"{1657530000000 + 20 * i},0,0,1\n" for i in range(300)))


def _good(path):
    path.write_text("time,x,y,z\n" + "".join(f"{i / 50},0,0,1\n" for i in range(300)))


USER_ERRORS = {
    "utf-16 file": (_utf16, [], "encoding='utf-16' (--encoding utf-16"),
    "latin-1 file": (_latin1, [], "encoding='latin-1' (--encoding latin-1"),
    "unknown encoding": (_good, ["--encoding", "klingon"], "unknown encoding 'klingon'"),
    "semicolons": (_semicolon, [], "sep=';' (--sep ';'"),
    "epoch ms read as s": (_ms, [], "(--time-unit ms), which gives 50 Hz"),
    "missing recording": (None, [], "the file is empty or missing"),
    "missing bundle": (_good, ["--model", "{tmp}/none.pt"], "model bundle not found"),
    "not a bundle": (_good, ["--model", "{rec}"], "not a readable model bundle"),
    "missing onnx": (_good, ["--onnx", "{tmp}/none.onnx"], "ONNX model not found"),
    "not an onnx file": (_good, ["--onnx", "{rec}"], "not a readable ONNX model"),
    "no output folder": (_good, ["-o", "{tmp}/nowhere/out.csv"], "the output folder"),
    "zero batch": (_good, ["--batch-size", "0"], "argument --batch-size: expected a positive int, got '0'"),
    "negative scale": (_good, ["--scale", "-1"], "argument --scale: expected a positive float, got '-1'"),
    "wrong column": (_good, ["--x-col", "ax"], "column 'ax' not found"),
}


@pytest.mark.parametrize("case", list(USER_ERRORS))
def test_every_user_error_is_one_error_line_and_status_2(tmp_path, profiled_bundle, capsys, case):
    write, extra, expected = USER_ERRORS[case]
    rec = tmp_path / "rec.csv"
    if write is not None:
        write(rec)
    args = [a.format(tmp=tmp_path, rec=rec) for a in extra]
    model = [] if "--model" in args else ["--model", str(profiled_bundle)]
    rc, out, err = _predict(capsys, rec, *model, *args)
    assert rc == 2, (out, err)
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: ") and expected in last, err
    assert "Traceback" not in err and out == ""


def test_flagged_windows_and_the_timeline_marks_them():
    import matplotlib

    matplotlib.use("Agg")
    import pandas as pd

    table = pd.DataFrame({"start_s": [0.0, 1.0, 2.0], "end_s": [2.0, 3.0, 4.0], "activity": ["A", "B", "B"],
                          "confidence": [0.9, 0.6, 1.0], "ood": [False, True, True],
                          "ood_score": [0.5, 2.5, np.inf], "p_A": 0.5, "p_B": 0.5})
    flagged = report.flagged_windows(table)
    assert flagged.index.tolist() == [1, 2]
    assert flagged["reason"].tolist() == ["unlike the training windows", "value beyond 50 g"]
    with pytest.raises(DeployError, match="no 'ood' column"):
        report.flagged_windows(table.drop(columns="ood"))
    ax = report.plot_timeline(table, np.arange(8) * 0.5, ["A"] * 8, ("A", "B"))
    assert len(ax.collections) == 1 + 3 + 1  # truth, one bar per window, the hatched flagged windows
    assert "flagged (ood), marked ▼" in [t.get_text() for t in ax.get_legend().get_texts()]


def test_a_waist_phone_recording_on_a_wrist_watch_model_is_flagged_and_warned(tmp_path, hapt, capsys):
    """The issue's case: a watch model given a phone's recording said nothing of the device."""
    from mglwkd_lite import data as D

    spsw = D.prepare("spsw", "quick")
    torch.manual_seed(0)
    watch_model = wrn1d(16, 1, in_channels=3, num_classes=len(spsw.classes)).eval()
    bundle = deploy.student_bundle(watch_model, spsw, tmp_path / "watch.pt")
    assert deploy.load_bundle(bundle).profile.describe() == "smartwatch at the wrist, in g"
    csv = deploy.recording_to_csv(hapt, 2, tmp_path / "phone.csv")
    rc, out, err = _predict(capsys, csv, "--model", bundle, "--device", "smartphone", "--placement", "waist",
                            "-o", tmp_path / "out.csv")
    assert rc == 0 and "recorded with device 'smartphone' and placement 'waist'" in err
    import pandas as pd

    assert pd.read_csv(tmp_path / "out.csv")["ood"].mean() > 0.5
