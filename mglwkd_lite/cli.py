"""Command line: ``python -m mglwkd_lite {run,summary,predict,export} ...`` (also installed as ``mglwkd-lite``).

- ``run``: the experiment sweep of a preset (``quick`` or ``paper``), resumable, one JSON per run
  under ``results/``;
- ``summary``: the mean +- std table of the results found under ``results/``;
- ``predict``: label a raw recording CSV window by window with a model bundle;
- ``export``: write a model bundle (a trained student, trained or loaded from the cache).
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ._io import default_cache_dir
from .data import (
    DATASETS, TIME_UNITS, ColumnMap, DataError, DatasetEntry, FolderOptions, RepairWarning, csv_folder_entry,
    dataset_entry, prepare,
)
from .deploy import (
    PLAUSIBLE_G, DeployError, DeployWarning, describe_bundle, load_bundle, predict_csv, student_bundle,
)
from .distill import METHODS
from .experiments import ExperimentError, experiment_preset, on_dataset, result_path, run_all, run_done, run_specs
from .pipeline import load_student
from .presets import MODEL_PRESETS, PRESETS, SWEEP_PRESETS
from .runrecord import load_runs, seed_summary

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
    p.add_argument("--dataset", default=None, metavar="SOURCE",
                   help="run the preset on this data set instead of its own: a registered name (hapt, spsw), "
                        "csv:FOLDER (labelled CSV files, one per recording) or pamap2:PATH (PAMAP2's Protocol "
                        "folder); the options below describe a CSV folder")
    g = p.add_argument_group("a csv:FOLDER data set")
    g.add_argument("--rate", type=_positive(float), default=50.0, metavar="HZ",
                   help="rate the recordings are resampled to (default 50)")
    _add_column_options(g, label_default="label",
                        subject_help="subject column; default: the number in each file's name (--subject-pattern)")
    g.add_argument("--subject-pattern", default=r"(\d+)", metavar="REGEX",
                   help="regular expression whose first group is the subject number in a file name")
    g.add_argument("--window-s", type=_positive(float), default=2.56, metavar="SECONDS",
                   help="window length (half of it is the stride; default 2.56 s as HAPT's)")
    g.add_argument("--device", default="unknown", help="the recordings' device (e.g. smartwatch)")
    g.add_argument("--placement", default="unknown", help="where it was worn (e.g. wrist)")
    g.add_argument("--name", default=None, help="data set name (default: the folder's name)")
    p.set_defaults(func=_run)


def _add_column_options(p: Any, label_default: str | None, subject_help: str) -> None:
    """The columns and format of a CSV file: the same options for ``predict`` and a ``run --dataset csv:``."""
    p.add_argument("--time-col", default="time", help="column of the time stamps")
    p.add_argument("--x-col", default="x", help="column of the x acceleration")
    p.add_argument("--y-col", default="y", help="column of the y acceleration")
    p.add_argument("--z-col", default="z", help="column of the z acceleration")
    p.add_argument("--label-col", default=label_default,
                   help="label column" + (" (copied to the output at the window centre)" if label_default is None
                                          else f" (default {label_default!r})"))
    p.add_argument("--subject-col", default=None, help=subject_help)
    p.add_argument("--time-unit", default="s", choices=list(TIME_UNITS),
                   help="unit of a numeric time column (ISO 8601 date-times are recognised)")
    p.add_argument("--sep", default=",", help="field separator, one character ('\\t' or tab for a tab)")
    p.add_argument("--decimal", default=".", choices=[".", ","], metavar="MARK",
                   help="decimal mark of the numbers, '.' or ',' (',' needs another --sep, e.g. ';')")
    p.add_argument("--encoding", default="utf-8", help="text encoding of the file (e.g. utf-16, utf-16-le, latin-1)")


def _dataset_entry(args: argparse.Namespace) -> DatasetEntry:
    """The data set of ``run --dataset``: a registered one, or the entry its source builds with the options."""
    kind, sep, path = args.dataset.partition(":")
    if sep and kind == "csv":
        columns = ColumnMap(args.time_col, args.x_col, args.y_col, args.z_col, args.label_col, args.subject_col)
        options = FolderOptions(args.rate, columns, args.subject_pattern, args.time_unit, args.sep,
                                args.decimal, args.encoding, args.window_s, device=args.device,
                                placement=args.placement, name=args.name)
        return dataset_entry(csv_folder_entry(path, options))
    return dataset_entry(args.dataset)


def _run(args: argparse.Namespace) -> int:
    try:
        preset = experiment_preset(args.preset)
        if args.dataset is not None:
            preset = on_dataset(preset, _dataset_entry(args))
    except (ExperimentError, DataError) as exc:
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


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Help with every option's default shown and the description's paragraphs kept as written."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "default" in text or action.required or not action.option_strings or action.default is argparse.SUPPRESS:
            return text
        if action.nargs == 0:  # a flag
            return f"{text} (default: off)"
        return f"{text} (default: {'not set' if action.default is None else '%(default)s'})"


def _one_line_errors(parser: argparse.ArgumentParser) -> None:
    """Make ``parser`` report a bad command line as one ``error:`` line with exit status 2."""
    def error(message: str) -> None:
        print(f"error: {message} (see {parser.prog} --help)", file=sys.stderr)
        raise SystemExit(2)

    parser.error = error  # type: ignore[method-assign]


def _positive(kind: type) -> Any:
    """An argparse type: a finite number above zero (``kind`` is int or float)."""
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a positive {kind.__name__}, got {text!r}") from None
        if not (np.isfinite(value) and value > 0):
            raise argparse.ArgumentTypeError(f"expected a positive {kind.__name__}, got {text!r}")
        return value

    parse.__name__ = f"positive {kind.__name__}"
    return parse


def _count(text: str) -> int:
    """An argparse type: a whole number of lines, 0 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of lines (0 or more), got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number of lines (0 or more), got {text!r}")
    return value


_BUNDLE_ORIGIN = """\
A model bundle is one file holding the trained student, its class names, the normalisation of its
training windows, its window, stride and sampling rate, and a profile of its training data (units,
device, placement, the out-of-distribution reference). Write one with

  python -m mglwkd_lite export -o student.pt

(the HAPT student of the full preset: a waist-worn phone, acceleration in g including gravity,
50 Hz, windows of 2.56 s = 128 samples every 1.28 s; `export --help` says which student and why).
"""

_PREDICT_DESCRIPTION = f"""\
Label every window of a raw accelerometer recording (CSV) with a model bundle; write one row per
window: start and end time, predicted activity, confidence, a flag for windows unlike the training
data (ood) and the class probabilities. Windows have the bundle's length and stride; the samples
after the last full window (less than one stride) are not labelled.

{_BUNDLE_ORIGIN}
Before labelling, the recording is checked against the bundle: its units (stops with the --scale
to use), its sampling rate (resampled to the model's with a warning; stopped when far below it, with
the --time-unit that may have been meant), time stamps that cannot hold the samples (stopped, with
the --rate that rebuilds an even time axis), implausible values, device and placement (warnings).
Every error is one 'error:' line and exit status 2.
"""


def _add_predict_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "predict", help="label a recording CSV window by window with a model bundle",
        description=_PREDICT_DESCRIPTION, formatter_class=_HelpFormatter,
    )
    p.add_argument("recording", type=Path, help="CSV file with a time column and x, y, z acceleration")
    p.add_argument("--model", type=Path, required=True,
                   help="model bundle (.pt) written by `python -m mglwkd_lite export`")
    p.add_argument("-o", "--output", type=Path, default=None,
                   help="output CSV; never the recording itself (default: RECORDING with suffix .predictions.csv)")
    p.add_argument("--onnx", type=Path, default=None, help="run this ONNX export (float or int8) instead of PyTorch")
    _add_column_options(p, label_default=None,
                        subject_help="optional subject column: one recording per subject (or per series of a file "
                                     "holding several one after another)")
    p.add_argument("--rate", type=_positive(float), default=None, metavar="HZ",
                   help="the recording's own sampling rate: take the rows, in file order, as evenly spaced at "
                        "this rate from the first time stamp (for stamps too coarse to hold the samples, such as "
                        "whole seconds at 50 Hz, or a time column that counts samples)")
    p.add_argument("--scale", type=_positive(float), default=None,
                   help="factor turning the file's acceleration into g (0.1019716 for m/s^2, 0.001 for mg); "
                        "default: the file is taken to be in g and checked against the training data")
    p.add_argument("--device", default=None, help="the recording's device (e.g. smartphone, smartwatch): "
                                                  "a warning when it differs from the training data's")
    p.add_argument("--placement", default=None, help="where it was worn (e.g. waist, wrist): "
                                                     "a warning when it differs from the training data's")
    p.add_argument("--skip-rows", type=_count, default=None, metavar="N",
                   help="lines before the header; default: comment lines and a preamble before the header "
                        "are found and skipped (with a warning)")
    p.add_argument("--max-gap", type=_positive(float), default=1.0, metavar="SECONDS",
                   help="largest allowed gap between time stamps, in seconds")
    p.add_argument("--strict", action="store_true", help="refuse unsorted, duplicate or jittery time stamps")
    p.add_argument("--batch-size", type=_positive(int), default=256, help="windows per forward pass")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=_predict)
    _one_line_errors(p)


def _os_message(exc: OSError) -> str:
    """An OS error as one line: what failed, on which file."""
    what = exc.strerror or str(exc)
    return f"{exc.filename}: {what}" if exc.filename else what


def _said(records: Sequence[warnings.WarningMessage]) -> None:
    """Our warnings as ``warning:`` lines; anything else as Python shows warnings."""
    for w in records:
        if issubclass(w.category, (RepairWarning, DeployWarning)):
            print(f"warning: {w.message}", file=sys.stderr)
        else:  # not ours: passed on as Python shows warnings
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


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
            if _same_path(out, args.model):
                raise DeployError(f"{out}: the output is the model bundle itself, which it would overwrite; "
                                  "choose another output file (-o)")
            bundle = load_bundle(args.model)
            table = predict_csv(
                args.recording, bundle, out, columns=columns, time_unit=args.time_unit, scale=args.scale,
                onnx_path=args.onnx, batch_size=args.batch_size, progress=False if args.no_progress else None,
                device=args.device, placement=args.placement, sep=args.sep, encoding=args.encoding,
                max_gap_s=args.max_gap, strict=args.strict, decimal=args.decimal, skip_rows=args.skip_rows,
                input_rate_hz=args.rate,
            )
        except (DataError, DeployError) as exc:
            error = str(exc)
        except OSError as exc:
            error = _os_message(exc)
        else:
            error = None
    _said(said)
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


def _same_path(a: Path, b: Path) -> bool:
    """True when two paths name one file (either may not exist)."""
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


_EXPORT_DESCRIPTION = """\
Write a model bundle for `predict`: the student of a data set, method and preset, trained (with a
progress bar) or loaded from the cache that the notebooks and the sweep fill, with its class names,
normalisation, window, rate and the profile of its training data. Prints the bundle's path, its test
scores and what it expects of a recording.

Which student to ship. The default is the student trained from scratch, because the project's own
results find no gain from distillation: in the committed fold sweep (results/folds: five subject
folds, two seeds, the full models), mGLW-KD minus scratch is -0.59 [-2.05, +0.86] points of test
accuracy on HAPT (91.1 % against 91.7 %), and on SPSW every student trained with a teacher is worse
than scratch under the group's KD recipe (mGLW-KD -15.18 [-23.55, -6.82] points). Every method ships
the same plain 1-D WRN16-1; --method mglwkd (or any method) ships its student instead, training the
two teachers first unless they are cached (the full preset: about 20 minutes on a CPU).

Presets: full (the default; every training window, 30 epochs: about 2 CPU-minutes for the scratch
student, 3 minutes on a busy two-core machine; 89.9 % test accuracy on HAPT), quick (a quarter of the
windows, 6 epochs: 87.4 %, for trying things), group (200 epochs, meant for a GPU). Once trained, a
student is loaded from the cache in seconds.
"""


def _add_export_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("export", help="write a model bundle for predict (trains or loads a student)",
                              description=_EXPORT_DESCRIPTION, formatter_class=_HelpFormatter)
    p.add_argument("-o", "--output", type=Path, default=Path("student.pt"),
                   help="the bundle file to write (an existing bundle there is replaced, any other file refused)")
    p.add_argument("--dataset", default="hapt", choices=list(DATASETS),
                   help="hapt: waist-worn phone, 6 activities; spsw: wrist-worn watch, 5 activities")
    p.add_argument("--method", default="scratch", choices=list(METHODS), metavar="METHOD",
                   help="how the student was trained, one of %(choices)s (see above for why scratch is the "
                        "default)")
    p.add_argument("--preset", default="full", choices=list(MODEL_PRESETS), help="training recipe")
    p.add_argument("--cache-dir", type=Path, default=None, metavar="FOLDER",
                   help="cache of trained models (default: .cache/ at the repository root)")
    p.add_argument("--no-progress", action="store_true", help="hide the training progress bar")
    p.set_defaults(func=_export)
    _one_line_errors(p)


def _check_export_target(out: Path) -> None:
    """The bundle may replace a bundle, never another file, and its folder must exist."""
    if not out.parent.is_dir():
        raise DeployError(f"{out}: the output folder {out.parent} does not exist")
    if out.is_dir():
        raise DeployError(f"{out}: a folder; pass the bundle's file name, e.g. -o {out / 'student.pt'}")
    if out.exists():
        try:
            load_bundle(out)
        except DeployError:
            raise DeployError(f"{out}: exists and is not a model bundle; choose another output file (-o) "
                              "or remove it") from None


def _check_cache(cache: Path) -> None:
    """The cache folder must be a folder this process can write (checked before any training)."""
    if cache.exists() and not cache.is_dir():
        raise DeployError(f"{cache}: the cache is a file, not a folder; pass another --cache-dir")
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DeployError(f"{cache}: the cache folder cannot be created ({exc.strerror or exc})") from None
    if not os.access(cache, os.W_OK | os.X_OK):
        raise DeployError(f"{cache}: the cache folder is not writable; pass another --cache-dir")


def _export(args: argparse.Namespace) -> int:
    out: Path = args.output
    try:
        _check_export_target(out)
        _check_cache(args.cache_dir or default_cache_dir())
    except DeployError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    what = f"the {args.method} student of {args.dataset} (preset {args.preset}, seed 0)"
    print(f"training {what}, or loading it from the cache ...", file=sys.stderr, flush=True)
    try:
        trained = load_student(args.dataset, args.preset, args.method, progress=not args.no_progress,
                               cache_dir=args.cache_dir)
        prepared = prepare(args.dataset, PRESETS[args.preset].data)
    except OSError as exc:  # e.g. a cache folder that cannot be written
        print(f"error: {_os_message(exc)}", file=sys.stderr)
        return 2
    except ValueError as exc:  # the project's errors (data, training, checkpoint, method) are ValueErrors
        print(f"error: cannot train or load {what}: {exc}", file=sys.stderr)
        return 2
    scores = {split: {k: int(v) if k == "n" else float(v) for k, v in trained.metrics[split].items()
                      if k in ("accuracy", "macro_f1", "n")} for split in ("val", "test")}
    meta = {"method": args.method, "preset": args.preset, "seed": 0, **scores,
            "code": trained.metrics.get("code"), "checkpoint_key": trained.key}
    try:
        student_bundle(trained.model, prepared, out, meta)
        bundle = load_bundle(out)
    except (DeployError, OSError) as exc:
        print(f"error: {exc if isinstance(exc, DeployError) else _os_message(exc)}", file=sys.stderr)
        return 2
    how = "loaded from the cache" if trained.from_cache else "trained"
    print(f"wrote {out} ({what}, {how})")
    print("\n".join(describe_bundle(bundle)))
    print(f"label a recording with: python -m mglwkd_lite predict RECORDING.csv --model {out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command.

    Returns
    -------
    argparse.ArgumentParser
        With the sub-commands ``run``, ``summary``, ``predict`` and ``export``; each stores its handler as
        ``func``, so ``args.func(args)`` runs the parsed command.
    """
    parser = argparse.ArgumentParser(prog="python -m mglwkd_lite", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    _add_run_parser(sub)
    _add_summary_parser(sub)
    _add_predict_parser(sub)
    _add_export_parser(sub)
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
