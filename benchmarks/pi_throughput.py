"""Throughput of persistence images: reference path (ripser + persim) vs the fast exact path.

Both paths run in this one process, on the same real HAPT windows, one after the other; the ratio of
their CPU times per window is the speed-up (CPU time is less sensitive than wall time to other
processes sharing the machine; both are reported, each the best of its timed rounds, measured with
:func:`mglwkd_lite.timing.time_call`). The outputs are compared on every window that the reference
path processed.

Usage::

    python benchmarks/pi_throughput.py            # writes benchmarks/results/pi_throughput.{json,md}
    python benchmarks/pi_throughput.py --quick    # fewer windows, prints only
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import time
from pathlib import Path
from typing import Callable

import numpy as np

from mglwkd_lite import data, repro
from mglwkd_lite import topology as tp
from mglwkd_lite.timing import time_call

RESULTS = Path(__file__).resolve().parent / "results"


def hapt_windows(length: int) -> np.ndarray:
    """Normalised HAPT windows (training subjects) of ``length`` samples, half-overlapping."""
    prepared = data.prepare("hapt", "quick")
    if length == prepared.train.x.shape[2]:
        return prepared.train.x
    rec = data.load_dataset("hapt")
    windows = data.make_windows(rec, data.WindowConfig(length, length // 2, classes=data.HAPT_BASIC))
    train = np.isin(windows.subject, np.unique(prepared.train.subject))
    return prepared.normaliser.transform(windows.x[train])


def timed(fn: Callable[[], object], repeats: int, number: int | None = None) -> tuple[float, float]:
    """Best CPU and best wall seconds per call of ``fn`` over at least ``repeats`` rounds of each clock.

    ``number=1`` times single calls without calibration (for the slow reference path, warmed up by
    the caller); otherwise ``timeit`` calibrates rounds of at least 0.2 s.
    """
    cpu = time_call(fn, repeat=repeats, timer=time.process_time, number=number).min()
    wall = time_call(fn, repeat=repeats, timer=time.perf_counter, number=number).min()
    return float(cpu), float(wall)


def measure(x: np.ndarray, n_reference: int, repeats: int, cfg: tp.PIConfig, seed: int = 0) -> dict:
    """Time both paths on the same seeded random subset of ``n_reference`` windows of ``x``.

    The fast path is also timed on all of ``x`` (its throughput on a whole data set).
    """
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(len(x), size=min(n_reference, len(x)), replace=False))
    sub = x[pick]
    tp.persistence_images(x[:4], cfg, method="reference")  # imports and first-call costs
    tp.persistence_images(x[:4], cfg)
    ref = tp.persistence_images(sub, cfg, method="reference")
    ref_cpu, ref_wall = timed(lambda: tp.persistence_images(sub, cfg, method="reference"), 1, number=1)
    # Output arrays are allocated (and their pages touched) once, outside the timing: first-touch page
    # faults of a fresh array cost 0.1-2 s per 300 MB on a virtual machine, noise that is not PI work.
    sub_buf = np.zeros((len(sub), x.shape[1], cfg.resolution, cfg.resolution), dtype=np.float32)
    all_buf = np.zeros((len(x), x.shape[1], cfg.resolution, cfg.resolution), dtype=np.float32)
    fast = tp.persistence_images(sub, cfg)
    fast_cpu, fast_wall = timed(lambda: tp.persistence_images(sub, cfg, out=sub_buf), 5 * repeats)
    all_cpu, all_wall = timed(lambda: tp.persistence_images(x, cfg, out=all_buf), repeats)
    diff = float(np.abs(fast - ref).max())
    points = sum(len(d) for dg in tp.persistence_diagrams(sub, cfg) for d in dg) / (len(sub) * x.shape[1])
    n = len(sub)
    row = {
        "input": f"{x.shape[1]}x{x.shape[2]}",
        "windows_compared": int(n),
        "windows_all": int(len(x)),
        "points_per_channel": round(points, 1),
        "reference_ms_per_window_cpu": 1e3 * ref_cpu / n,
        "fast_us_per_window_cpu": 1e6 * fast_cpu / n,
        "reference_windows_per_s_cpu": n / ref_cpu,
        "fast_windows_per_s_cpu": n / fast_cpu,
        "speedup_cpu": ref_cpu / fast_cpu,
        "reference_windows_per_s_wall": n / ref_wall,
        "fast_windows_per_s_wall": n / fast_wall,
        "speedup_wall": ref_wall / fast_wall,
        "fast_all_windows_per_s_cpu": len(x) / all_cpu,
        "fast_all_windows_per_s_wall": len(x) / all_wall,
        "max_abs_diff_vs_reference": diff,
        "agree_within_1e-5": bool(diff <= 1e-5),
    }
    print(f"{row['input']}: reference {row['reference_windows_per_s_cpu']:.0f} win/s, fast "
          f"{row['fast_windows_per_s_cpu']:.0f} win/s -> {row['speedup_cpu']:.0f}x (CPU time), "
          f"{row['speedup_wall']:.0f}x (wall); all {len(x)} windows {row['fast_all_windows_per_s_cpu']:.0f} "
          f"win/s; max |diff| {diff:.1e}")
    return row


def markdown(result: dict) -> str:
    lines = [
        "# Persistence-image throughput",
        "",
        f"One process, {result['machine']['cpu_count']} CPU cores ({result['machine']['processor']}), "
        f"{result['date']}. Default images: {result['config']}.",
        "Windows per second from CPU time (wall time in brackets), both paths on the same seeded random",
        "subset of training windows; the last rate is the fast path on every training window.",
        "",
        "| input | windows compared | pairs / channel | reference (ripser + persim) | fast | speed-up "
        "| max abs diff | fast, all windows |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in result["rows"]:
        lines.append(
            f"| {r['input']} | {r['windows_compared']} | {r['points_per_channel']} | "
            f"{r['reference_windows_per_s_cpu']:,.0f} ({r['reference_windows_per_s_wall']:,.0f}) | "
            f"{r['fast_windows_per_s_cpu']:,.0f} ({r['fast_windows_per_s_wall']:,.0f}) | "
            f"{r['speedup_cpu']:.0f}x ({r['speedup_wall']:.0f}x) | {r['max_abs_diff_vs_reference']:.1e} | "
            f"{r['fast_all_windows_per_s_cpu']:,.0f} ({r['fast_all_windows_per_s_wall']:,.0f}) |"
        )
    lines += ["", result["note"], ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer windows; print, do not write results")
    parser.add_argument("--n-reference", type=int, default=300, help="windows timed on the reference path")
    parser.add_argument("--repeats", type=int, default=3, help="repeats of the fast path (best is kept)")
    args = parser.parse_args(argv)
    n_ref = 40 if args.quick else args.n_reference
    cfg = tp.PIConfig()
    rows = []
    for length in (128, 500):
        x = hapt_windows(length)
        if args.quick:
            x = x[:400]
        rows.append(measure(x, n_ref, args.repeats, cfg))
    result = {
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "config": {k: v for k, v in cfg.__dict__.items()},
        "machine": repro.machine(),
        "versions": repro.versions(),
        "rows": rows,
        "note": ("Measured while other jobs shared the 2 cores; CPU-time ratios are the robust figure, "
                 "absolute rates vary from run to run. The fast path writes into an output array allocated "
                 "once before timing. Differences come from ripser's float32 diagram values; the fast path "
                 "equals the float64 definition to 1e-9 (tests/test_topology.py)."),
    }
    if not args.quick:
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "pi_throughput.json").write_text(json.dumps(result, indent=1) + "\n")
        (RESULTS / "pi_throughput.md").write_text(markdown(result))
        print(f"wrote {RESULTS / 'pi_throughput.json'} and .md")
    return result


if __name__ == "__main__":
    main()
