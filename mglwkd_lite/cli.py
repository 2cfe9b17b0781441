"""Command line: ``python -m mglwkd_lite {run,summary,predict} ...`` (also installed as ``mglwkd-lite``).

- ``run``: the experiment sweep of a preset (``quick`` or ``paper``), resumable, one JSON per run
  under ``results/``;
- ``summary``: the mean +- std table of the results found under ``results/``;
- ``predict``: label a raw recording CSV window by window with a trained student.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Sequence

from .deploy import add_predict_parser
from .experiments import ExperimentError, experiment_preset, result_path, run_all, run_done, run_specs
from .presets import SWEEP_PRESETS
from .report.results import load_runs, seed_summary

__all__ = ["main", "build_parser"]


def _add_run_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("run", help="run an experiment preset (skips runs already in results/)",
                              description="Train and score every (data set, method, seed) of a preset; "
                                          "one JSON per run under RESULTS/<preset>/.")
    p.add_argument("--preset", default="quick", choices=list(SWEEP_PRESETS))
    p.add_argument("--datasets", nargs="+", default=None, help="subset of the preset's data sets")
    p.add_argument("--methods", nargs="+", default=None, help="subset of the preset's methods")
    p.add_argument("--seeds", nargs="+", type=int, default=None, help="subset of the preset's seeds")
    p.add_argument("--jobs", type=int, default=1, help="parallel runs (joblib processes; -1: one per core)")
    p.add_argument("--results", type=Path, default=Path("results"), help="results folder (default: results)")
    p.add_argument("--list", action="store_true", help="print the runs and whether each is done, then exit")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    try:
        preset = experiment_preset(args.preset)
    except ExperimentError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    specs = [s for s in run_specs(preset)
             if (args.datasets is None or s.dataset in args.datasets)
             and (args.methods is None or s.method in args.methods)
             and (args.seeds is None or s.seed in args.seeds)]
    if not specs:
        print("error: no run matches the given --datasets/--methods/--seeds", file=sys.stderr)
        return 2
    if args.list:
        for s in specs:
            done = run_done(args.results, preset, s)
            print(f"{'done' if done else 'todo'}  {s.dataset:5s} {s.method:20s} seed {s.seed}  "
                  f"{result_path(args.results, preset, s)}")
        return 0
    records = run_all(preset, n_jobs=args.jobs, results_dir=args.results, specs=specs)
    skipped = sum(bool(r.get("skipped")) for r in records)
    print(f"{len(records)} runs: {len(records) - skipped} computed, {skipped} already done -> {args.results}/{preset.name}")
    return 0


def _add_summary_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("summary", help="mean +- std table of the results")
    p.add_argument("--results", type=Path, default=Path("results"))
    p.add_argument("--preset", default=None, help="only this preset's results")
    p.set_defaults(func=_summary)


def _summary(args: argparse.Namespace) -> int:
    df = load_runs(args.results, args.preset)
    if df.empty:
        print(f"no results under {args.results}", file=sys.stderr)
        return 1
    print(seed_summary(df).round(2).to_string())
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command.

    Returns
    -------
    argparse.ArgumentParser
        With the sub-commands ``run``, ``summary`` and ``predict``; each stores its handler as
        ``func``, so ``args.func(args)`` runs the parsed command.
    """
    parser = argparse.ArgumentParser(prog="python -m mglwkd_lite", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    _add_run_parser(sub)
    _add_summary_parser(sub)
    add_predict_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen command.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments after the program name (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status: 0 on success, 1 when ``summary`` finds no results, 2 on bad input.
    """
    args = build_parser().parse_args(argv)
    return args.func(args)
