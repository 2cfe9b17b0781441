"""Command line: ``python -m mglwkd_lite {run,summary,predict} ...`` (also installed as ``mglwkd-lite``).

- ``run``: the experiment sweep of a preset (``quick`` or ``paper``), resumable, one JSON per run
  under ``results/``;
- ``summary``: the mean +- std table of the results found under ``results/``;
- ``predict``: label a raw recording CSV window by window with a trained student.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .data import TIME_UNITS, ColumnMap, DataError, RepairWarning
from .deploy import PLAUSIBLE_G, DeployError, DeployWarning, load_bundle, predict_csv
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
    p.add_argument("--folds", nargs="+", type=int, default=None, help="subset of the preset's subject folds")
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
             and (args.seeds is None or s.seed in args.seeds)
             and (args.folds is None or s.fold in args.folds)]
    if not specs:
        print("error: no run matches the given --datasets/--methods/--seeds/--folds", file=sys.stderr)
        return 2
    if args.list:
        for s in specs:
            done = run_done(args.results, preset, s)
            fold = "" if s.fold is None else f" fold {s.fold}"
            print(f"{'done' if done else 'todo'}  {s.dataset:5s}{fold} {s.method:20s} seed {s.seed}  "
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


def _add_predict_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "predict",
        help="label a recording CSV window by window with a trained student",
        description="Label every window of a raw accelerometer recording (CSV) with a model bundle; writes one "
                    "row per window: start and end time, predicted activity, confidence, a flag for windows "
                    "unlike the training data (ood), class probabilities. The recording is first checked "
                    "against the bundle's training data: units (stops with the --scale to use), implausible "
                    "values, device and placement (warnings).",
    )
    p.add_argument("recording", type=Path, help="CSV file with a time column and x, y, z acceleration")
    p.add_argument("--model", type=Path, required=True, help="model bundle (.pt) written by save_bundle")
    p.add_argument("-o", "--output", type=Path, default=None,
                   help="output CSV (default: RECORDING with suffix .predictions.csv)")
    p.add_argument("--onnx", type=Path, default=None, help="run this ONNX export (float or int8) instead of PyTorch")
    p.add_argument("--time-col", default="time", help="time column (default: time)")
    p.add_argument("--x-col", default="x")
    p.add_argument("--y-col", default="y")
    p.add_argument("--z-col", default="z")
    p.add_argument("--label-col", default=None, help="optional label column, copied to the output (window centre)")
    p.add_argument("--subject-col", default=None, help="optional subject column (one recording per subject)")
    p.add_argument("--time-unit", default="s", choices=list(TIME_UNITS),
                   help="unit of a numeric time column (default: s; ISO 8601 date-times are recognised)")
    p.add_argument("--scale", type=float, default=None,
                   help="factor turning the file's acceleration into g (0.1019716 for m/s^2, 0.001 for mg); "
                        "default: the file is taken to be in g and checked against the training data")
    p.add_argument("--device", default=None, help="the recording's device (e.g. smartphone, smartwatch): "
                                                  "a warning when it differs from the training data's")
    p.add_argument("--placement", default=None, help="where it was worn (e.g. waist, wrist): "
                                                     "a warning when it differs from the training data's")
    p.add_argument("--sep", default=",", help="field separator (default: ,; '\\t' or tab for a tab)")
    p.add_argument("--encoding", default="utf-8", help="text encoding of the file (default: utf-8; "
                                                       "e.g. utf-16, latin-1)")
    p.add_argument("--max-gap", type=float, default=1.0, help="largest allowed gap between time stamps, s")
    p.add_argument("--strict", action="store_true", help="refuse unsorted, duplicate or jittery time stamps")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=_predict)


def _os_message(exc: OSError) -> str:
    """An OS error as one line: what failed, on which file."""
    what = exc.strerror or str(exc)
    return f"{exc.filename}: {what}" if exc.filename else what


def _predict(args: argparse.Namespace) -> int:
    # Whatever the user can get wrong (input, options, bundle, output path) ends in one "error:" line
    # and status 2, never a traceback; warnings (repairs, device, old bundle) are "warning:" lines.
    columns = ColumnMap(args.time_col, args.x_col, args.y_col, args.z_col, args.label_col, args.subject_col)
    out = args.output or args.recording.with_suffix(".predictions.csv")
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        try:
            if not out.parent.is_dir():
                raise DeployError(f"{out}: the output folder {out.parent} does not exist")
            bundle = load_bundle(args.model)
            table = predict_csv(
                args.recording, bundle, out, columns=columns, time_unit=args.time_unit, scale=args.scale,
                onnx_path=args.onnx, batch_size=args.batch_size, progress=False if args.no_progress else None,
                device=args.device, placement=args.placement, sep=args.sep, encoding=args.encoding,
                max_gap_s=args.max_gap, strict=args.strict,
            )
        except (DataError, DeployError) as exc:
            error = str(exc)
        except OSError as exc:
            error = _os_message(exc)
        else:
            error = None
    for w in said:
        if issubclass(w.category, (RepairWarning, DeployWarning)):
            print(f"warning: {w.message}", file=sys.stderr)
        else:  # not ours: passed on as Python shows warnings
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if error is not None:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"{len(table)} windows labelled -> {out}")
    if bundle.profile is None:
        print("out-of-distribution windows: not checked (the bundle has no profile of its training data)")
    else:
        flagged = int(table["ood"].sum())
        implausible = int(np.isinf(table["ood_score"]).sum())
        held = f", {implausible} of them for values beyond {PLAUSIBLE_G:g} g" if implausible else ""
        print(f"{flagged} of {len(table)} windows flagged as unlike the training data "
              f"({bundle.profile.describe()}; column ood: score above {bundle.profile.threshold:.3g}{held})")
    counts = table["activity"].value_counts()
    print("; ".join(f"{k or 'no label (implausible input)'}: {v}" for k, v in counts.items()))
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
    _add_predict_parser(sub)
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
