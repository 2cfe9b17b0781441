"""The protocol pilot: budget, teachers, start and logit standardisation, on validation subjects only.

Run (from a checkout at a committed state; the records name the commit)::

    python benchmarks/pilot.py --estimate            # the cost, from measured epoch times
    python benchmarks/pilot.py --stage budget        # scratch student at 30 / 100 / 200 epochs
    python benchmarks/pilot.py --stage start         # teachers, scratch_long and KD at the chosen budget
    python benchmarks/pilot.py --stage all --jobs 2  # both, in order (resumable)

Writes blind run records (no test score) under ``benchmarks/results/pilot/<cell>/``, one per run as it
ends, so an interrupted pilot resumes where it stopped. The cells and the rules that read them are
:mod:`mglwkd_lite.protocol`; the tables are :mod:`mglwkd_lite.report.pilot`. Before the budget cells,
``--check`` retrains the first fold sweep's 30-epoch scratch student of fold 0, seed 0 (SPSW, about
half a minute) and stops unless it reproduces the committed record exactly.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from mglwkd_lite import protocol
from mglwkd_lite.checkpoint import code_version
from mglwkd_lite.experiments import RunSpec, experiment_preset, run_all, run_one
from sweep_cost import TEACHER_COST  # the teachers' cost as multiples of the student's (one place)

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "pilot"
SWEEP = ROOT / "results"


def check_reproduces(cache_dir: Path | None) -> None:
    """Retrain the first fold sweep's SPSW fold-0 seed-0 scratch student and compare it with its record."""
    sweep = experiment_preset("folds")
    spec = RunSpec("spsw", "scratch", 0, 0)
    record = json.loads((SWEEP / "folds" / "spsw" / "fold0" / "scratch" / "seed0.json").read_text())
    again = run_one(sweep, spec, cache_dir=cache_dir, write=False)
    same = (again["key"] == record["key"]
            and all(again["metrics"][s] == record["metrics"][s] for s in ("val", "test"))
            and [r["val_macro_f1"] for r in again["history"]] == [r["val_macro_f1"] for r in record["history"]])
    print(f"the sweep's record spsw/fold0/scratch/seed0 {'reproduced exactly' if same else 'NOT reproduced'}")
    if not same:
        raise SystemExit("error: the pilot would not measure the sweep's configuration; see the records' machine fields")


def epoch_seconds(dataset: str, method: str, fold: int) -> float:
    """Median seconds per epoch of a method on one thread, from the first fold sweep's records of ``fold``."""
    values = []
    for path in (SWEEP / "folds" / dataset / f"fold{fold}" / method).glob("seed*.json"):
        values += [row["seconds"] for row in json.loads(path.read_text())["history"]]
    return float(statistics.median(values))


def estimate(folds: tuple[int, ...], seeds: tuple[int, ...], cores: int) -> dict:
    """Core-hours and wall hours of the pilot, for the budget of 200 epochs at the later stages (the dearest)."""
    budget = sum(protocol.BUDGETS)
    rows = {}
    for dataset in protocol.PILOT_DATASETS:
        for fold in folds:
            student = epoch_seconds(dataset, "scratch", fold)
            kd = epoch_seconds(dataset, "kd_signal", fold)
            top = max(protocol.BUDGETS)
            rows[f"{dataset} fold {fold}"] = {
                "budget cells": len(seeds) * budget * student,
                "teachers": top * student * sum(TEACHER_COST.values()),
                "start cells": len(seeds) * top * (student + 4 * kd),  # scratch_long + 4 KD cells
            }
    core_s = sum(sum(r.values()) for r in rows.values())
    return {"folds": list(folds), "seeds": list(seeds), "cores": cores, "core_hours": core_s / 3600,
            "wall_hours": core_s / 3600 / cores, "by_fold": {k: {s: round(v / 60, 1) for s, v in r.items()}
                                                            for k, r in rows.items()},
            "basis": "median seconds per epoch of the first fold sweep's records (one thread); teachers "
                     "scaled by their measured training throughput against the student's; 200 epochs assumed "
                     "after the budget cells"}


def run_cells(presets, jobs: int, results_dir: Path, cache_dir: Path | None) -> None:
    for preset in presets:
        print(f"cell {preset.name}: {', '.join(preset.methods)}", flush=True)
        run_all(preset, n_jobs=jobs, results_dir=results_dir, cache_dir=cache_dir, progress=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", choices=("budget", "start", "all"), help="which cells to run")
    parser.add_argument("--estimate", action="store_true", help="print the estimated cost and stop")
    parser.add_argument("--check", action="store_true", help="first check that the sweep's record reproduces")
    parser.add_argument("--folds", type=int, nargs="+", default=list(protocol.PILOT_FOLDS))
    parser.add_argument("--seeds", type=int, nargs="+", default=list(protocol.PILOT_SEEDS))
    parser.add_argument("--jobs", type=int, default=2, help="training processes (one thread each)")
    parser.add_argument("--cache-dir", type=Path, default=None, help="cache of trained models (default .cache/)")
    parser.add_argument("--results-dir", type=Path, default=RESULTS, help="where the records go (default %(default)s)")
    args = parser.parse_args()
    grid = {"folds": tuple(args.folds), "seeds": tuple(args.seeds)}
    if args.estimate:
        for folds in ((0, 1), (0,)):
            result = estimate(folds, grid["seeds"], args.jobs)
            print(json.dumps(result, indent=1))
            (ROOT / "benchmarks" / "results" / f"pilot_cost_folds{''.join(map(str, folds))}.json").write_text(
                json.dumps(result, indent=1) + "\n")
        return
    if code_version()["dirty"]:
        raise SystemExit("error: run the pilot from a clean checkout (a git worktree at a commit): "
                         "its records name the commit they ran from")
    if args.check:
        check_reproduces(args.cache_dir)
    if args.stage in ("budget", "all"):
        run_cells(protocol.budget_presets(**grid), args.jobs, args.results_dir, args.cache_dir)
    if args.stage in ("start", "all"):
        runs = protocol.load_pilot(args.results_dir)
        epochs, table = protocol.choose_budget(runs)
        print(table.round(4).to_string())
        print(f"chosen budget: {epochs} epochs")
        run_cells(protocol.start_presets(epochs, **grid), args.jobs, args.results_dir, args.cache_dir)


if __name__ == "__main__":
    main()
