"""Cost of the deployed student beside the PI path, measured in one run on one CPU core.

For the 1-D WRN16-1 student (HAPT, 6 classes, 128-sample windows at 50 Hz) in four runtimes --
PyTorch eager, TorchScript, ONNX Runtime float32 and ONNX Runtime int8 (static post-training
quantisation calibrated on training windows) -- this records:

- size on disk of the saved model (PyTorch: the state dict);
- test accuracy and macro F1 on the test subjects;
- latency per window at batch 1 (streaming: one window at a time) and batch 256 (offline);
- the real-time factor: seconds of signal labelled per second of compute. A new window every
  ``stride`` samples (1.28 s of signal) costs one window's latency, so RTF = 1.28 s / latency.

Beside it, the paper's motivation: the PI path (persistence images of the window, then the 2-D
WRN16-3 PI teacher) and the 1-D WRN16-3 signal teacher, timed the same way (their weights do not
change the cost; their accuracy comes from the cached teachers when notebook 03 has trained them).

Everything runs with ``torch.set_num_threads(1)`` and ONNX Runtime ``intra_op_num_threads=1``.
Latencies are medians of repeated calls; on a shared machine they are noisy, the ratios within one
run are what to read.

Run: ``python benchmarks/deploy.py [--preset quick] [--out-dir benchmarks/results]``
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from mglwkd_lite import data, deploy, repro, topology
from mglwkd_lite.models import count_macs, count_parameters, wrn1d, wrn2d

RUNTIMES = {"pytorch": "PyTorch eager", "torchscript": "TorchScript", "onnx": "ONNX Runtime float32",
            "onnx_int8": "ONNX Runtime int8"}


def timed(fn, x: np.ndarray, min_time: float, min_repeats: int) -> float:
    """Seconds per window (median over calls), see :func:`mglwkd_lite.deploy.time_per_window`."""
    return deploy.time_per_window(fn, x, min_time=min_time, min_repeats=min_repeats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="quick", choices=["quick", "full"])
    parser.add_argument("--min-time", type=float, default=1.0, help="least seconds spent timing each case")
    parser.add_argument("--method", default="scratch", help="which trained student: scratch or a distillation method")
    parser.add_argument("--calibration", type=int, default=512, help="training windows for int8 calibration")
    parser.add_argument("--out-dir", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args()

    rng = repro.seed_everything(0)
    torch.set_num_threads(1)
    prepared = data.prepare("hapt", args.preset)
    trained = deploy.load_student("hapt", args.preset, args.method, progress=True)
    student = trained.model.eval()
    window = prepared.config.window
    rate = data.load_dataset("hapt").rate_hz
    hop_s = window.stride / rate  # new signal per window when windows slide by the stride
    test_x, test_y = np.ascontiguousarray(prepared.test.x), prepared.test.y
    x1, x256 = test_x[:1], test_x[:256]
    calib = prepared.train.x[np.sort(rng.choice(len(prepared.train.x), args.calibration, replace=False))]

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        paths = deploy.export_student(student, tmp, calib)
        backends = deploy.deployed_backends(student, paths, threads=1)
        agreement = deploy.compare_backends(backends["pytorch"], {k: v for k, v in backends.items() if k != "pytorch"},
                                            test_x)
        scores = deploy.backend_scores(backends, test_x, test_y)
        params, macs = count_parameters(student), count_macs(student, (1, *test_x.shape[1:]))
        for key, fn in backends.items():
            b1 = timed(fn, x1, args.min_time, 20)
            b256 = timed(fn, x256, args.min_time, 3)
            rows.append({
                "model": "student WRN16-1 (1-D)", "runtime": RUNTIMES[key], "input": "raw window 3x128",
                "params": params, "macs_per_window": macs, "size_bytes": deploy.file_size(paths[key]),
                "accuracy": scores.loc[key, "accuracy"], "macro_f1": scores.loc[key, "macro_f1"],
                "latency_b1_ms": 1e3 * b1, "latency_b256_ms": 1e3 * b256,
                "rtf_b1": hop_s / b1, "rtf_b256": hop_s / b256,
            })
            print(json.dumps(rows[-1]), flush=True)

    # The PI path: persistence images of the raw window, then the 2-D PI teacher (WRN16-3, 3x64x64).
    pi_cfg = topology.PIConfig()
    images = topology.persistence_images(x256, pi_cfg)
    pi_b1 = timed(lambda x: topology.persistence_images(x, pi_cfg), x1, args.min_time, 20)
    pi_b256 = timed(lambda x: topology.persistence_images(x, pi_cfg), x256, args.min_time, 3)
    torch.manual_seed(0)
    pi_teacher = wrn2d(16, 3, in_channels=3, num_classes=len(prepared.classes)).eval()
    pi_teacher = pi_teacher.to(memory_format=torch.channels_last)
    teacher_fn = deploy.torch_backend(pi_teacher)
    t_b1 = timed(teacher_fn, images[:1], args.min_time, 5)
    t_b256 = timed(teacher_fn, images, 0.0, 2)
    pi_bytes = sum(v.numel() * v.element_size() for v in pi_teacher.state_dict().values())
    common = {"runtime": "PyTorch eager", "accuracy": None, "macro_f1": None}
    for name, b1, b256, p, m, size, inp in (
        ("PI extraction (fast)", pi_b1, pi_b256, 0, None, 0, "raw window 3x128"),
        ("PI teacher WRN16-3 (2-D)", t_b1, t_b256, count_parameters(pi_teacher),
         count_macs(pi_teacher, (1, *images.shape[1:])), pi_bytes, "PI 3x64x64"),
        ("PI path = extraction + PI teacher", pi_b1 + t_b1, pi_b256 + t_b256, count_parameters(pi_teacher),
         count_macs(pi_teacher, (1, *images.shape[1:])), pi_bytes, "raw window 3x128"),
    ):
        rows.append({"model": name, **common, "input": inp, "params": p, "macs_per_window": m, "size_bytes": size,
                     "latency_b1_ms": 1e3 * b1, "latency_b256_ms": 1e3 * b256, "rtf_b1": hop_s / b1,
                     "rtf_b256": hop_s / b256})
        print(json.dumps(rows[-1]), flush=True)

    # The signal teacher (1-D WRN16-3) on the raw window.
    sig_teacher = wrn1d(16, 3, in_channels=3, num_classes=len(prepared.classes)).eval()
    fn = deploy.torch_backend(sig_teacher)
    s_b1, s_b256 = timed(fn, x1, args.min_time, 20), timed(fn, x256, args.min_time, 3)
    rows.append({"model": "signal teacher WRN16-3 (1-D)", **common, "input": "raw window 3x128",
                 "params": count_parameters(sig_teacher), "macs_per_window": count_macs(sig_teacher, (1, *test_x.shape[1:])),
                 "size_bytes": sum(v.numel() * v.element_size() for v in sig_teacher.state_dict().values()),
                 "latency_b1_ms": 1e3 * s_b1, "latency_b256_ms": 1e3 * s_b256, "rtf_b1": hop_s / s_b1,
                 "rtf_b256": hop_s / s_b256})
    print(json.dumps(rows[-1]), flush=True)

    result = {
        "what": "deployment cost of the student beside the PI path, one run, one CPU thread",
        "preset": args.preset, "dataset": "hapt", "classes": list(prepared.classes),
        "window": {"length": window.length, "stride": window.stride, "rate_hz": rate, "hop_s": hop_s},
        "n_test_windows": int(len(test_y)), "calibration_windows": int(args.calibration),
        "student": {"method": args.method, "checkpoint": trained.checkpoint.name,
                    "test_metrics_at_training": {k: trained.metrics["test"][k] for k in ("accuracy", "macro_f1")}},
        "export_agreement": agreement.reset_index().to_dict(orient="records"),
        "threads": {"torch": torch.get_num_threads(), "onnxruntime_intra_op": 1},
        "timing": "median seconds per window over repeated calls after one warm-up call; the machine was "
                  "shared with other jobs while this ran, so absolute times are noisy - compare ratios",
        "sizes": "student files as written; for the teachers the float32 weights (parameters and buffers)",
        "rows": rows, "machine": repro.machine(), "versions": repro.versions(),
        "date": time.strftime("%Y-%m-%d", time.gmtime()),
    }
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / "deploy.json").write_text(json.dumps(result, indent=1) + "\n")
    (args.out_dir / "deploy.md").write_text(markdown(result))
    print(markdown(result))


def markdown(result: dict) -> str:
    """The results as a Markdown page (one table plus the headline ratios)."""
    import pandas as pd

    df = pd.DataFrame(result["rows"])
    table = pd.DataFrame({
        "model": df["model"], "runtime": df["runtime"], "params": df["params"],
        "MACs/window": df["macs_per_window"].map(lambda v: "-" if v is None or pd.isna(v) else f"{v / 1e6:.2f} M"),
        "size (kB)": (df["size_bytes"] / 1e3).round(1),
        "accuracy": df["accuracy"].map(lambda v: "-" if v is None or pd.isna(v) else f"{v:.3f}"),
        "macro F1": df["macro_f1"].map(lambda v: "-" if v is None or pd.isna(v) else f"{v:.3f}"),
        "ms/window (b=1)": df["latency_b1_ms"].round(3), "ms/window (b=256)": df["latency_b256_ms"].round(3),
        "real-time factor (b=1)": df["rtf_b1"].round(0).astype(int),
        "real-time factor (b=256)": df["rtf_b256"].round(0).astype(int),
    })
    rows = {r["runtime"] if r["model"].startswith("student") else r["model"]: r for r in result["rows"]}
    pi = rows["PI path = extraction + PI teacher"]
    f32, q8 = rows["ONNX Runtime float32"], rows["ONNX Runtime int8"]
    lines = [
        "# Deployment cost: the student beside the PI path",
        "",
        f"HAPT, {len(result['classes'])} classes, windows of {result['window']['length']} samples at "
        f"{result['window']['rate_hz']:g} Hz sliding by {result['window']['stride']} "
        f"({result['window']['hop_s']:.2f} s of new signal per window); {result['n_test_windows']} test windows; "
        f"one CPU thread; preset `{result['preset']}`; {result['date']}.",
        "Real-time factor = seconds of signal labelled per second of compute. " + result["timing"] + ".",
        "",
        table.to_markdown(index=False) if _has_tabulate() else table.to_string(index=False),
        "",
        "Headline ratios (same run):",
        "",
        f"- int8 vs float32 ONNX student: size {q8['size_bytes'] / f32['size_bytes']:.2f}x, latency "
        f"{q8['latency_b256_ms'] / f32['latency_b256_ms']:.2f}x (batch 256), {q8['latency_b1_ms'] / f32['latency_b1_ms']:.2f}x "
        f"(batch 1), accuracy {q8['accuracy'] - f32['accuracy']:+.4f}, macro F1 {q8['macro_f1'] - f32['macro_f1']:+.4f}.",
        f"- PI path vs int8 student per window: {pi['latency_b256_ms'] / q8['latency_b256_ms']:.0f}x slower "
        f"(batch 256), {pi['latency_b1_ms'] / q8['latency_b1_ms']:.0f}x slower (batch 1).",
        f"- PI path vs float32 PyTorch student: {pi['latency_b256_ms'] / rows['PyTorch eager']['latency_b256_ms']:.0f}x "
        f"slower (batch 256).",
        "",
        f"Machine: {result['machine'].get('processor')}, {result['machine'].get('cpu_count')} cores, "
        f"{result['machine'].get('platform')}. Versions: "
        + ", ".join(f"{k} {v}" for k, v in result["versions"].items()) + ".",
        "",
    ]
    return "\n".join(lines)


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401  (pandas.to_markdown needs it)
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    main()
