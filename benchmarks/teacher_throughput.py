"""Training throughput (samples/s) of the candidate teachers on this machine's CPU.

One SGD step = forward + backward + update on a batch of 64 random inputs, as in training.
Compared in one run (timings on a shared machine are noisy; the ratios are what matters):
2-D WRN16-1 vs WRN16-3 on 3 x 64 x 64 and 3 x 32 x 32 persistence images, each with the default
(contiguous) and the channels-last memory format, and the 1-D networks on 3 x 128 windows.

Each case is timed in ``--rounds`` interleaved rounds and its best round is kept, which damps the
noise of a machine shared with other processes.

Run: ``python benchmarks/teacher_throughput.py [--steps 4] [--rounds 2] [--threads N]``. On a machine
shared with other jobs, ``--threads 1`` with several rounds gives the most stable ratios (two
threads that wait on each other at every operation suffer most from a busy neighbour).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from mglwkd_lite import repro
from mglwkd_lite.models import count_macs, count_parameters, wrn1d, wrn2d
from mglwkd_lite.timing import time_call


def samples_per_second(model: torch.nn.Module, shape: tuple[int, ...], steps: int, channels_last: bool) -> float:
    """Training samples per second over ``steps`` timed SGD steps after one warm-up step."""
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=fmt).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.randn(*shape).contiguous(memory_format=fmt) if len(shape) == 4 else torch.randn(*shape)
    y = torch.randint(0, 6, (shape[0],))

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()

    step()  # warm-up: lazy initialisation, allocator
    return shape[0] / float(time_call(step, repeat=1, number=steps)[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: every core)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/teacher_throughput.json"))
    args = parser.parse_args()
    repro.seed_everything(0)
    threads = repro.set_threads(args.threads)
    cases = [("1-D", 16, 1, 128, False), ("1-D", 16, 3, 128, False)]
    for width in (1, 3):
        for res in (64, 32):
            for cl in (False, True):
                cases.append(("2-D", 16, width, res, cl))
    rows, models, best = [], [], [0.0] * len(cases)
    for dim, depth, width, size, cl in cases:
        build = wrn1d if dim == "1-D" else wrn2d
        models.append(build(depth, width, 3, 6))
    for _ in range(args.rounds):
        for i, (dim, depth, width, size, cl) in enumerate(cases):
            shape = (args.batch, 3, size) if dim == "1-D" else (args.batch, 3, size, size)
            best[i] = max(best[i], samples_per_second(models[i], shape, args.steps, cl))
    for i, (dim, depth, width, size, cl) in enumerate(cases):
        shape = (3, size) if dim == "1-D" else (3, size, size)
        row = {
            "model": f"WRN{depth}-{width} {dim}", "input": " x ".join(map(str, shape)), "channels_last": cl,
            "params": count_parameters(models[i]), "MACs_per_window": count_macs(models[i], (1, *shape)),
            "train_windows_per_s": round(best[i], 1),
        }
        rows.append(row)
        print(json.dumps(row), flush=True)
    result = {"threads": threads, "batch": args.batch, "steps": args.steps, "rounds": args.rounds, "machine": repro.machine(),
              "versions": repro.versions(), "rows": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
