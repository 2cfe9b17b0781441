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

``--protocol-epochs E`` estimates the second sweep instead, under the group's protocol at ``E`` epochs
(``benchmarks/results/sweep_cost_protocol_e<E>.{json,md}``): every method's median seconds per epoch
on each fold, measured in the first fold sweep's records, times ``E``; "scratch, trained as long" as
the scratch student; the teachers from their measured training throughput against the student's
(one thread: the student about 2,400 windows/s, the 1-D WRN16-3 about 490, the 2-D WRN16-1 on 32 x 32
images about 325).
"""

from __future__ import annotations

import argparse
import functools
import heapq
import json
from pathlib import Path

import numpy as np

from mglwkd_lite.data import DataConfig, prepare
from mglwkd_lite.experiments import experiment_preset, run_specs
from mglwkd_lite.report.results import ARCHIVED_PAPER, load_runs

ROOT = Path(__file__).resolve().parents[1]


@functools.lru_cache(maxsize=None)
def training_windows(dataset: str, fold: int | None) -> int:
    """Training windows of the standard split (fold None) or of one subject fold."""
    config = DataConfig.fold(dataset, fold) if fold is not None else None
    return len(prepare(dataset, "full", config=config).train)


TEACHER_COST = {"signal_teacher": 2400 / 490, "pi_teacher": 2400 / 325}
"""Training time of each teacher as a multiple of the student's (measured throughput, one thread)."""
PROTOCOL_METHODS = ("scratch", "scratch_long", "kd_signal", "kd_pi", "kd_two_fixed", "kd_two_avg", "mglwkd",
                    "kd_two_mean_alpha")


CONTENDED = {("hapt", 3), ("hapt", 4)}
"""Folds of the first sweep that ran beside a third training process on two cores (``book/reproducing.md``:
75 min against 29 for the others): their epoch times are not one core's."""


def epoch_seconds(dataset: str, fold: int, method: str) -> float:
    """Seconds per epoch of ``method`` on ``fold``: the first fold sweep's median seconds per training window
    and epoch over its folds run one process per core, times the fold's training windows."""
    per_window = []
    for f in range(5):
        if (dataset, f) in CONTENDED:
            continue
        values = [row["seconds"] for path in (ROOT / "results" / "folds" / dataset / f"fold{f}" / method).glob("seed*.json")
                  for row in json.loads(path.read_text())["history"]]
        per_window.append(float(np.median(values)) / training_windows(dataset, f))
    return float(np.median(per_window)) * training_windows(dataset, fold)


def protocol_estimate(epochs: int, cores: int, seeds: int = 2, folds: tuple[int, ...] = (0, 1, 2, 3, 4)) -> dict:
    """Core-hours and wall hours of the protocol sweep at ``epochs`` (see the module's docstring)."""
    jobs, per_fold = [], {}
    for dataset in ("hapt", "spsw"):
        for fold in folds:
            student = epoch_seconds(dataset, fold, "scratch")
            teachers = [epochs * student * c for c in TEACHER_COST.values()]
            students = [epochs * epoch_seconds(dataset, fold, {"scratch_long": "scratch",
                                                               "kd_two_mean_alpha": "kd_two_fixed"}.get(m, m))
                        for m in PROTOCOL_METHODS for _ in range(seeds)]
            jobs += teachers + students
            per_fold[f"{dataset} fold {fold}"] = round((sum(teachers) + sum(students)) / 3600 / cores, 2)
    workers = [0.0] * cores
    for seconds in sorted(jobs, reverse=True):
        heapq.heapreplace(workers, workers[0] + seconds)
    return {"epochs": epochs, "cores": cores, "runs": len(PROTOCOL_METHODS) * seeds * 2 * len(folds),
            "teacher_jobs": 4 * len(folds), "core_hours": sum(jobs) / 3600, "wall_hours": max(workers) / 3600,
            "per_fold_wall_hours": per_fold,
            "basis": "median seconds per training window and epoch of each method in results/folds (one thread "
                     "each, two processes on two cores; HAPT folds 3 and 4, run beside a third process, left out), "
                     "times each fold's training windows and the epochs; teachers from measured throughput ratios"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--protocol-epochs", type=int, default=None,
                        help="estimate the protocol sweep at this many epochs instead")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "sweep_cost")
    args = parser.parse_args()
    if args.protocol_epochs is not None:
        result = protocol_estimate(args.protocol_epochs, args.cores)
        out = ROOT / "benchmarks" / "results" / f"sweep_cost_protocol_e{args.protocol_epochs}"
        out.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
        md = (f"# Estimated cost of the protocol sweep at {result['epochs']} epochs\n\n"
              f"{result['runs']} student runs and {result['teacher_jobs']} teacher trainings: "
              f"{result['core_hours']:.1f} core-hours, about {result['wall_hours']:.1f} h on {args.cores} cores. "
              "Per fold on " f"{args.cores} cores: "
              + ", ".join(f"{k} {v:.2f} h" for k, v in result["per_fold_wall_hours"].items())
              + f".\n\nBasis: {result['basis']}.\n")
        out.with_suffix(".md").write_text(md)
        print(md)
        return

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
