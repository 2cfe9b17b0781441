"""Does a narrower signal teacher beat the scratch student on SPSW? Widths compared on validation.

Run: ``python benchmarks/teacher_width.py --dataset spsw --widths 1 2 3 --seeds 0 1 2`` (writes
``benchmarks/results/teacher_width_<dataset>.{json,md}``; resumable: a (width, seed) on record is skipped).

The full preset (every training window, 30 epochs, the group's step schedule, last epoch kept, one
thread) with the signal teacher's WideResNet width changed and nothing else. Width 1 is the scratch
student's network (WRN16-1), width 3 the paper's signal teacher (WRN16-3). The rule was fixed
before the runs: a width is better when its mean validation macro F1 over the seeds is higher; the
test scores are written beside it but decide nothing. The final training loss and the gap between
the validation and training losses show how much each width fits the training subjects.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

from mglwkd_lite import pipeline
from mglwkd_lite.checkpoint import code_version
from mglwkd_lite.report.teachers import width_table
from mglwkd_lite.repro import versions

ROOT = Path(__file__).resolve().parents[1]


def run(dataset: str, width: int, seed: int) -> dict[str, float]:
    """Train (or load) the full-preset signal teacher of ``width`` and return its scores."""
    base = pipeline.ModelsPreset.preset("full")
    preset = dataclasses.replace(base, signal_teacher=(base.signal_teacher[0], width))
    trained = pipeline.train_or_load("signal_teacher", dataset, preset, seed=seed, progress=False)
    last = trained.history[-1]
    return {"width": width, "seed": seed, "network": trained.model.spec.name,
            "val_macro_f1": trained.metrics["val"]["macro_f1"], "val_accuracy": trained.metrics["val"]["accuracy"],
            "test_macro_f1": trained.metrics["test"]["macro_f1"], "test_accuracy": trained.metrics["test"]["accuracy"],
            "train_loss": float(last["loss"]), "val_loss": float(last["val_loss"]),
            "seconds": float(sum(row["seconds"] for row in trained.history)), "code": trained.metrics.get("code")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="spsw", choices=("hapt", "spsw"))
    parser.add_argument("--widths", nargs="+", type=int, default=[1, 2, 3])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    args = parser.parse_args()
    out = ROOT / "benchmarks" / "results" / f"teacher_width_{args.dataset}"
    path = out.with_suffix(".json")
    record = json.loads(path.read_text()) if path.exists() else {"dataset": args.dataset, "preset": "full", "runs": []}
    done = {(r["width"], r["seed"]) for r in record["runs"]}
    for width in args.widths:
        for seed in args.seeds:
            if (width, seed) in done:
                continue
            record["runs"].append(run(args.dataset, width, seed))
            record.update(versions=versions(), code=code_version())
            path.write_text(json.dumps(record, indent=1) + "\n")
            print({k: v for k, v in record["runs"][-1].items() if k != "code"}, flush=True)
    table = width_table(path).round(4)
    out.with_suffix(".md").write_text(
        f"# Signal-teacher width on {args.dataset.upper()} (full preset, validation decides)\n\n"
        + table.to_markdown() + "\n")
    print(table.to_string())


if __name__ == "__main__":
    main()
