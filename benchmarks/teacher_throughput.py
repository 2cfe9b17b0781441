"""Training throughput (samples/s) of the candidate teachers on this machine's CPU.

One SGD step = forward + backward + update on a batch of 64 random inputs, as in training.
Compared in one run (timings on a shared machine are noisy; the ratios are what matters):
2-D WRN16-1 vs WRN16-3 on 3 x 64 x 64 and 3 x 32 x 32 persistence images, each with the default
(contiguous) and the channels-last memory format, and the 1-D networks on 3 x 128 windows.

Run: ``python benchmarks/teacher_throughput.py [--steps 6] [--out benchmarks/results/teacher_throughput.json]``
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from mglwkd_lite import repro
from mglwkd_lite.models import count_macs, count_parameters, wrn1d, wrn2d


def steps_per_second(model: torch.nn.Module, shape: tuple[int, ...], steps: int, channels_last: bool) -> float:
    """Training samples per second: ``steps`` timed SGD steps after two warm-up steps."""
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=fmt).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.randn(*shape).contiguous(memory_format=fmt) if len(shape) == 4 else torch.randn(*shape)
    y = torch.randint(0, 6, (shape[0],))
    for i in range(steps + 2):
        if i == 2:
            start = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    return shape[0] * steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/teacher_throughput.json"))
    args = parser.parse_args()
    repro.seed_everything(0)
    threads = repro.set_threads()
    rows = []
    cases = [("1-D", 16, 1, 128, False), ("1-D", 16, 3, 128, False)]
    for width in (1, 3):
        for res in (64, 32):
            for cl in (False, True):
                cases.append(("2-D", 16, width, res, cl))
    for dim, depth, width, size, cl in cases:
        build = wrn1d if dim == "1-D" else wrn2d
        model = build(depth, width, 3, 6)
        shape = (args.batch, 3, size) if dim == "1-D" else (args.batch, 3, size, size)
        rate = steps_per_second(model, shape, args.steps, cl)
        row = {
            "model": f"WRN{depth}-{width} {dim}", "input": "x".join(map(str, shape[1:])), "channels_last": cl,
            "params": count_parameters(model), "macs_per_sample": count_macs(model, (1, *shape[1:])),
            "train_samples_per_s": round(rate, 1),
        }
        rows.append(row)
        print(json.dumps(row), flush=True)
    result = {"threads": threads, "batch": args.batch, "steps": args.steps, "machine": repro.machine(),
              "versions": repro.versions(), "rows": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
