"""Estimate the cost of the subject-fold sweep from training times measured on this kind of machine.

Run: ``python benchmarks/sweep_cost.py`` (writes ``benchmarks/results/sweep_cost.{json,md}``).

The per-run training times come from run records of the same models and epochs: the archived 3-seed
sweep (``results/archive/paper_3seeds_v1``: every student method, both data sets, run two at a time
on a 2-core machine, one training thread each) and the full-preset teacher record
(``results/teachers_full``, HAPT). Each is scaled by the number of training windows of a fold against
the standard split (five folds of the fixed subject folds). The SPSW teachers, not on record, are
scaled from HAPT's by the ratio of the two data sets' scratch-student times. The estimate then
schedules the sweep's jobs on ``--cores`` single-thread workers (longest first, the way the runner
orders them: teachers, then students, then the mean-alpha control).
"""

from __future__ import annotations

import argparse
import heapq
import json
from pathlib import Path

import numpy as np

from mglwkd_lite.data import DataConfig, prepare
from mglwkd_lite.experiments import experiment_preset, run_specs
from mglwkd_lite.report.results import ARCHIVED_PAPER, load_runs

ROOT = Path(__file__).resolve().parents[1]


def training_windows(dataset: str, fold: int | None) -> int:
    """Training windows of the standard split (fold None) or of one subject fold."""
    config = DataConfig.fold(dataset, fold) if fold is not None else None
    return len(prepare(dataset, "full", config=config).train)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "sweep_cost")
    args = parser.parse_args()

    runs = load_runs(ROOT / "results", ARCHIVED_PAPER)
    student_s = runs.groupby(["dataset", "method"])["train_seconds"].mean()
    teachers = json.loads((ROOT / "results" / "teachers_full" / "metrics.json").read_text())["models"]
    hapt_teacher = {k: teachers[f"hapt/{k}"]["seconds"] for k in ("signal_teacher", "pi_teacher")}
    spsw_scale = student_s["spsw", "scratch"] / student_s["hapt", "scratch"]
    teacher_s = {("hapt", k): v for k, v in hapt_teacher.items()}
    teacher_s |= {("spsw", k): v * spsw_scale for k, v in hapt_teacher.items()}

    preset = experiment_preset("folds")
    specs = run_specs(preset)
    standard = {d: training_windows(d, None) for d in preset.datasets}
    scale = {(d, f): training_windows(d, f) / standard[d] for d in preset.datasets for f in preset.folds}
    jobs = [teacher_s[d, k] * scale[d, f] for d in preset.datasets for f in preset.folds
            for k in ("signal_teacher", "pi_teacher")]
    # the mean-alpha control trains like two-teacher KD with a fixed weight
    jobs += [student_s[s.dataset, "kd_two_fixed" if s.method == "kd_two_mean_alpha" else s.method]
             * scale[s.dataset, s.fold] for s in specs]
    total = float(np.sum(jobs))
    workers = [0.0] * args.cores
    for seconds in sorted(jobs, reverse=True):  # longest first onto the least-loaded worker
        heapq.heapreplace(workers, workers[0] + seconds)
    result = {
        "runs": len(specs), "teacher_jobs": 2 * len(preset.datasets) * len(preset.folds),
        "core_hours": total / 3600, "cores": args.cores, "wall_hours": max(workers) / 3600,
        "per_fold_wall_hours": {d: float(sum(teacher_s[d, k] for k in ("signal_teacher", "pi_teacher"))
                                          + sum(student_s[d, "kd_two_fixed" if m == "kd_two_mean_alpha" else m]
                                                for m in preset.methods) * len(preset.seeds)) / 3600 / args.cores
                                for d in preset.datasets},
        "basis": "train_seconds of the archived 3-seed sweep (2 runs at a time on 2 cores, 1 thread each) "
                 "and results/teachers_full, scaled by training windows per fold",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    md = (f"# Estimated cost of the subject-fold sweep\n\n"
          f"{result['runs']} student runs and {result['teacher_jobs']} teacher trainings: "
          f"{result['core_hours']:.1f} core-hours, about {result['wall_hours']:.1f} h on {args.cores} cores "
          f"(one training thread per run). One fold of one data set on {args.cores} cores: "
          + ", ".join(f"{d.upper()} {h:.2f} h" for d, h in result["per_fold_wall_hours"].items())
          + f".\n\nBasis: {result['basis']}.\n")
    args.out.with_suffix(".md").write_text(md)
    print(md)


if __name__ == "__main__":
    main()
