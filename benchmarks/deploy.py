"""Cost of the deployed student beside the PI path, measured in one run on one CPU core.

For the 1-D WRN16-1 student (HAPT, 6 classes, 128-sample windows at 50 Hz) in four runtimes --
PyTorch eager, TorchScript, ONNX Runtime float32 and ONNX Runtime int8 (static post-training
quantisation calibrated on training windows) -- this records:

- size on disk of the saved model (PyTorch: the state dict);
- test accuracy and macro F1 on the test subjects;
- latency per window at batch 1 (streaming: one window at a time) and batch 256 (offline);
- the real-time factor: seconds of signal labelled per second of compute. A new window every
  ``stride`` samples (1.28 s of signal) costs one window's latency, so RTF = 1.28 s / latency.

Beside it, the paper's motivation: the PI path (persistence images of the window, then the 2-D PI
teacher) and the 1-D signal teacher, timed the same way. The PI path is measured twice: in this
project's preset (the trained PI teacher of ``mglwkd_lite.pipeline.train_or_load``, with its accuracy)
and in the paper's setting (WRN16-3 on 64 x 64 images; initial weights, as weights do not change the
cost). The teachers are trained first if they are not cached.

Everything runs with ``torch.set_num_threads(1)`` and ONNX Runtime ``intra_op_num_threads=1``.
Latencies are the median of several timed rounds (:func:`mglwkd_lite.timing.time_call`: ``timeit``
calibrates each round to at least 0.2 s, and its calibration calls are the warm-up); on a shared
machine they are noisy, the ratios within one run are what to read.

Run: ``python benchmarks/deploy.py [--preset quick] [--out-dir benchmarks/results]``
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from mglwkd_lite import data, deploy, pipeline, repro, topology
from mglwkd_lite.models import count_macs, count_parameters, wrn2d
from mglwkd_lite.report.deploy import backend_scores, compare_backends, cost_ratios, cost_table
from mglwkd_lite.timing import time_call

RUNTIMES = {"pytorch": "PyTorch eager", "torchscript": "TorchScript", "onnx": "ONNX Runtime float32",
            "onnx_int8": "ONNX Runtime int8"}


def timed(fn, x: np.ndarray, min_time: float, rounds: int = 3) -> float:
    """Seconds per window of ``fn(x)``: the median of at least ``rounds`` timed rounds."""
    return float(np.median(time_call(lambda: fn(x), repeat=rounds, min_time=min_time))) / len(x)


def weight_bytes(model: torch.nn.Module) -> int:
    """Bytes of a model's parameters and buffers (its float32 state dict, without file overhead)."""
    return sum(v.numel() * v.element_size() for v in model.state_dict().values())


def row(model: str, runtime: str, b1: float, b256: float, params: int, macs, size: int, scores, hop_s: float,
        inp: str, trained: bool) -> dict:
    """One result row; latencies in ms per window, real-time factors from the window hop."""
    scores = scores or {}
    return {
        "model": model, "runtime": runtime, "input": inp, "params": params, "macs_per_window": macs,
        "size_bytes": size, "accuracy": scores.get("accuracy"), "macro_f1": scores.get("macro_f1"),
        "trained": trained, "latency_b1_ms": 1e3 * b1, "latency_b256_ms": 1e3 * b256,
        "rtf_b1": hop_s / b1, "rtf_b256": hop_s / b256,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="quick", choices=["quick", "full"])
    parser.add_argument("--min-time", type=float, default=1.0, help="least seconds spent timing each case")
    parser.add_argument("--method", default="scratch", help="which trained student: scratch or a distillation method")
    parser.add_argument("--calibration", type=int, default=512, help="training windows for int8 calibration")
    parser.add_argument("--out-dir", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args()

    load_before = os.getloadavg()
    prepared = data.prepare("hapt", args.preset)
    trained = pipeline.load_student("hapt", args.preset, args.method, progress=True)
    setup = pipeline.ModelsPreset.preset(args.preset)
    teachers = {k: pipeline.train_or_load(k, "hapt", args.preset, progress=True) for k in ("signal_teacher", "pi_teacher")}
    # After training (which may set its own thread count): one thread for every measurement.
    rng = repro.seed_everything(0)
    torch.set_num_threads(1)
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
        agreement = compare_backends(backends["pytorch"], {k: v for k, v in backends.items() if k != "pytorch"},
                                            test_x)
        scores = backend_scores(backends, test_x, test_y)
        params, macs = count_parameters(student), count_macs(student, (1, *test_x.shape[1:]))
        for key, fn in backends.items():
            b1 = timed(fn, x1, args.min_time)
            b256 = timed(fn, x256, args.min_time)
            rows.append(row("student WRN16-1 (1-D)", RUNTIMES[key], b1, b256, params, macs,
                            deploy.file_size(paths[key]), scores.loc[key].to_dict(), hop_s, "raw window 3x128",
                            trained=True))
            print(json.dumps(rows[-1]), flush=True)

    # The PI path: persistence images of the window, then the 2-D PI teacher; and the signal teacher.
    # Two PI settings: this project's preset (trained teacher, so its accuracy is known) and the
    # paper's (WRN16-3 on 64 x 64 images; timed with initial weights: weights do not change the cost).
    torch.set_num_threads(1)
    for name, (pi_res, depth, width, kind) in {
        "project": (setup.pi_resolution, *setup.pi_teacher, "pi_teacher"),
        "paper": (64, 16, 3, None),
    }.items():
        pi_cfg = topology.PIConfig(resolution=pi_res)
        pi_fn = lambda x, cfg=pi_cfg: topology.persistence_images(x, cfg)  # noqa: E731
        images = pi_fn(x256)
        pi_b1, pi_b256 = timed(pi_fn, x1, args.min_time), timed(pi_fn, x256, args.min_time)
        net = teachers[kind].model if kind else wrn2d(depth, width, in_channels=3, num_classes=len(prepared.classes))
        net = net.eval().to(memory_format=torch.channels_last)
        fn = deploy.torch_backend(net)
        t_b1, t_b256 = timed(fn, images[:1], args.min_time), timed(fn, images, 0.0, rounds=2)
        acc = teachers[kind].metrics["test"] if kind else {"accuracy": None, "macro_f1": None}
        label = f"WRN{depth}-{width} (2-D) on 3x{pi_res}x{pi_res} PIs"
        size = weight_bytes(net)
        macs = count_macs(net, (1, *images.shape[1:]))
        for model, runtime, inp, b1, b256, p, m, sz, score in (
            (f"PI extraction {pi_res}x{pi_res} ({name})", "NumPy", "raw window 3x128", pi_b1, pi_b256, 0, None, 0,
             None),
            (f"PI teacher {label} ({name})", "PyTorch eager", f"PI 3x{pi_res}x{pi_res}", t_b1, t_b256,
             count_parameters(net), macs, size, acc),
            (f"PI path ({name}) = extraction + teacher", "NumPy + PyTorch eager", "raw window 3x128",
             pi_b1 + t_b1, pi_b256 + t_b256, count_parameters(net), macs, size, acc),
        ):
            rows.append(row(model, runtime, b1, b256, p, m, sz, score, hop_s, inp, trained=bool(kind) and p > 0))
            print(json.dumps(rows[-1]), flush=True)

    sig = teachers["signal_teacher"].model.eval()
    fn = deploy.torch_backend(sig)
    s_b1, s_b256 = timed(fn, x1, args.min_time), timed(fn, x256, args.min_time)
    d, w = setup.signal_teacher
    rows.append(row(f"signal teacher WRN{d}-{w} (1-D)", "PyTorch eager", s_b1, s_b256, count_parameters(sig),
                    count_macs(sig, (1, *test_x.shape[1:])), weight_bytes(sig), teachers["signal_teacher"].metrics["test"],
                    hop_s, "raw window 3x128", trained=True))
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
        "timing": "Median seconds per window over timed rounds of at least 0.2 s each (timeit, after its "
                  "calibration calls as warm-up); the machine was shared with other jobs while this ran, so "
                  "absolute times are noisy - compare ratios",
        "sizes": "student files as written; for the teachers the float32 weights (parameters and buffers)",
        "teachers": {k: {"checkpoint": t.checkpoint.name, "spec": str(t.model.spec)} for k, t in teachers.items()},
        "paper_pi_teacher": "WRN16-3 (2-D) on 64x64 images, initial weights: cost only, no accuracy",
        "load_average_1_5_15_min": {"start": [round(v, 2) for v in load_before],
                                    "end": [round(v, 2) for v in os.getloadavg()]},
        "rows": rows, "machine": repro.machine(), "versions": repro.versions(),
        "date": time.strftime("%Y-%m-%d", time.gmtime()),
    }
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / "deploy.json").write_text(json.dumps(result, indent=1) + "\n")
    (args.out_dir / "deploy.md").write_text(markdown(result))
    print(markdown(result))


def markdown(result: dict) -> str:
    """The results as a Markdown page: one table plus the headline ratios."""
    table = cost_table(result)
    ratios = cost_ratios(result)
    w = result["window"]
    lines = [
        "# Deployment cost: the student beside the PI path",
        "",
        f"HAPT, {len(result['classes'])} classes, windows of {w['length']} samples at {w['rate_hz']:g} Hz sliding "
        f"by {w['stride']} ({w['hop_s']:.2f} s of new signal per window); accuracy and macro F1 on the "
        f"{result['n_test_windows']} test windows; one CPU thread; preset `{result['preset']}`; {result['date']}. "
        "Real-time factor = seconds of signal labelled per second of compute (hop / latency). "
        f"{result['timing']} (load average at start and end: {result['load_average_1_5_15_min']['start'][0]} and "
        f"{result['load_average_1_5_15_min']['end'][0]} on {result['machine'].get('cpu_count')} cores).",
        "",
        table.to_markdown(index=False),
        "",
        "Headline ratios (same run):",
        "",
        f"- int8 vs float32 ONNX student: size x{ratios['int8_size_vs_float']:.2f}, latency "
        f"x{ratios['int8_latency_b256_vs_float']:.2f} (batch 256) and x{ratios['int8_latency_b1_vs_float']:.2f} (batch 1), "
        f"accuracy {ratios['int8_accuracy_change']:+.4f}, macro F1 {ratios['int8_macro_f1_change']:+.4f}.",
    ]
    for name in ("project", "paper"):
        lines.append(
            f"- PI path ({name} setting) vs the int8 student: {ratios[f'pi_{name}_vs_int8_b256']:.0f}x slower per window "
            f"at batch 256, {ratios[f'pi_{name}_vs_int8_b1']:.0f}x at batch 1; vs the float32 PyTorch student: "
            f"{ratios[f'pi_{name}_vs_pytorch_b256']:.0f}x at batch 256.")
    lines += [
        "",
        f"Machine: {result['machine'].get('processor')}, {result['machine'].get('cpu_count')} cores, "
        f"{result['machine'].get('platform')}. Versions: "
        + ", ".join(f"{k} {v}" for k, v in result["versions"].items()) + ".",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
