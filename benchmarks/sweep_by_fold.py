"""Run a fold sweep one (data set, fold) at a time: resumable, one process per core, timed per fold.

Usage (from a git worktree at the commit the sweep is frozen at, never from a tree being edited)::

    git worktree add ../sweep <commit> && cd ../sweep
    python benchmarks/sweep_by_fold.py --preset group_folds --jobs 2 \\
        --results <checkout>/results --cache-dir <cache> [--commit]

Every run is skipped when its record is on file with the same key, so the command can be stopped and
started again (across sessions) without losing finished runs. After each fold it appends the fold's wall
time to ``benchmarks/results/fold_times_<preset>.json`` beside the results folder; with ``--commit`` it
also commits that fold's records and the times in the repository that holds ``--results`` (only those
paths), so each fold lands as it finishes. Every record names the commit it ran from.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import time
from pathlib import Path

from mglwkd_lite import repro
from mglwkd_lite.checkpoint import code_version
from mglwkd_lite.experiments import experiment_preset, run_all, run_done, run_specs
from mglwkd_lite.presets import SWEEP_PRESETS


def fold_groups(preset, datasets=None, folds=None) -> list[tuple[str, int, list]]:
    """The sweep's runs grouped by (data set, fold), in the order given (default the preset's)."""
    specs = run_specs(preset)
    out = []
    for dataset in datasets or preset.datasets:
        for fold in folds if folds is not None else preset.folds:
            group = [s for s in specs if s.dataset == dataset and s.fold == fold]
            if group:
                out.append((dataset, fold, group))
    return out


def append_time(path: Path, entry: dict) -> None:
    """Append one fold's timing to the JSON list at ``path``."""
    rows = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else []
    rows.append(entry)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")


def commit_fold(repo: Path, paths: list[Path], message: str) -> None:
    """Commit exactly ``paths`` in ``repo`` (other staged changes stay out: ``git commit --only``)."""
    rel = [str(p.resolve().relative_to(repo.resolve())) for p in paths if p.exists()]
    subprocess.run(["git", "-C", str(repo), "add", "--", *rel], check=True)
    subprocess.run(["git", "-C", str(repo), "commit", "--quiet", "--only", "-m", message, "--", *rel], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", required=True, choices=[p for p in SWEEP_PRESETS if p != "quick"])
    parser.add_argument("--datasets", nargs="+", default=None, help="data sets, in this order")
    parser.add_argument("--folds", nargs="+", type=int, default=None, help="folds, in this order")
    parser.add_argument("--jobs", type=int, default=2, help="training processes (one per core)")
    parser.add_argument("--results", type=Path, default=Path("results"), help="results folder")
    parser.add_argument("--cache-dir", type=Path, default=None, help="cache of trained models (default .cache/)")
    parser.add_argument("--commit", action="store_true", help="commit each fold's records as it finishes")
    args = parser.parse_args()
    code = code_version()
    if code["dirty"]:
        raise SystemExit("error: run the sweep from a clean checkout (a git worktree at a commit): "
                         "its records name the commit they ran from")
    preset = experiment_preset(args.preset)
    results = args.results.resolve()
    repo = results.parent
    times = repo / "benchmarks" / "results" / f"fold_times_{preset.name}.json"
    for dataset, fold, specs in fold_groups(preset, args.datasets, args.folds):
        todo = [s for s in specs if not run_done(results, preset, s)]
        if not todo:
            print(f"{dataset} fold {fold}: all {len(specs)} runs on record", flush=True)
            continue
        started = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        t0 = time.perf_counter()
        run_all(preset, n_jobs=args.jobs, results_dir=results, cache_dir=args.cache_dir, specs=specs, progress=True)
        wall = time.perf_counter() - t0
        append_time(times, {"dataset": dataset, "fold": fold, "runs": len(specs), "computed": len(todo),
                            "wall_seconds": round(wall, 1), "jobs": args.jobs, "started": started,
                            "commit": code["commit"], "cpus": repro.available_cpus()})
        print(f"{dataset} fold {fold}: {len(todo)} runs in {wall / 3600:.2f} h", flush=True)
        if args.commit:
            folder = results / preset.name / dataset / f"fold{fold}"
            commit_fold(repo, [folder, times], f"{preset.name}: {dataset} fold {fold} on record ({len(todo)} runs "
                                               f"in {wall / 3600:.2f} h on {args.jobs} processes, from {code['commit'][:7]})")


if __name__ == "__main__":
    main()
