"""Measure the seed spread behind the score checks of the notebooks (``mglwkd_lite.report.checks``).

Run: ``python benchmarks/band_spread.py --seeds 0 1 2`` (writes ``benchmarks/results/band_spread.json``;
resumable: a (seed, quantity) already in the file is not measured again).

Each quantity is computed with the same package calls the notebooks make, in the quick preset, for
one seed at a time: the teachers' and students' test accuracy (notebooks 03 and 05), the workspace's
change of the KTS with averaged slots (notebook 04), the largest residual-path gap (notebook 05), and
the deployed scratch student's int8 accuracy change and subject-2 window accuracy (notebook 07). The
names are the keys of :data:`mglwkd_lite.report.checks.BANDS`; ``tests/test_checks.py`` checks that
``checks.MEASURED`` holds exactly the values written here.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from mglwkd_lite import cli, data, deploy, distill, pipeline
from mglwkd_lite.report import deploy as report_deploy
from mglwkd_lite.report import distillation as report_distillation
from mglwkd_lite.repro import seed_everything, versions

ROOT = Path(__file__).resolve().parents[1]
PRESET = "quick"
THREADS = 1  # as notebooks 04 and 05 distil (the teachers use the preset's threads, as in notebook 03)
KIND_NAMES = {"signal_teacher": "signal teacher", "pi_teacher": "PI teacher", "student": "student"}
SCORES = {"hapt": ("accuracy",), "spsw": ("accuracy", "macro_f1")}  # as notebook 03 checks them
SUBJECT_2 = 2  # notebook 07's test recording (subject 2, experiment 3)


def trained_scores(seed: int) -> dict[str, float]:
    """Test accuracy of the teachers and scratch students of both data sets (notebook 03), and SPSW's
    macro F1 (55 % of SPSW's test windows are WALKING, so a one-class model has that accuracy)."""
    out = {}
    for dataset, scores in SCORES.items():
        for kind in pipeline.KINDS:
            test = pipeline.train_or_load(kind, dataset, PRESET, seed=seed, progress=False).metrics["test"]
            out.update({f"{dataset} {KIND_NAMES[kind]} {score.replace('_', ' ')}": float(test[score]) for score in scores})
    return out


def distilled_scores(seed: int) -> dict[str, float]:
    """Every method's HAPT student (notebook 05), the residual-path gap, and the KTS change (notebook 04)."""
    results = {name: pipeline.distill_or_load(name, "hapt", PRESET, seed=seed, threads=THREADS, progress=False)
               for name in tqdm(distill.TABLE_METHODS, desc=f"methods, seed {seed}", leave=False)}
    table = report_distillation.distilled_table(results)
    out = {("hapt student accuracy" if name == "scratch" else f"hapt {name} student accuracy"): float(row.accuracy)
           for name, row in table.iterrows() if name != "scratch"}
    with_ws = table.dropna(subset=["residual_macro_f1"])
    gap = 100 * (with_ws[["residual_accuracy", "residual_macro_f1"]].to_numpy()
                 - with_ws[["accuracy", "macro_f1"]].to_numpy())
    out["hapt largest residual-path gap (points)"] = float(np.abs(gap).max())
    maps = pipeline.workspace_maps(results["mglwkd"], "hapt", PRESET, split="test", seed=seed)
    out["hapt mean change of the KTS with averaged slots"] = float(np.abs(maps["kts_avg_slots"] - maps["kts"]).mean())
    return out


def deployed_scores(seed: int) -> dict[str, float]:
    """The scratch student exported and run (notebook 07): int8 change and subject 2's windows."""
    prepared = data.prepare("hapt", PRESET)
    student = pipeline.train_or_load("student", "hapt", PRESET, seed=seed, progress=False).model
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        bundle = deploy.student_bundle(student, prepared, out / "student_bundle.pt", {"method": "scratch", "seed": seed})
        rng = seed_everything(0)
        calibration = prepared.train.x[np.sort(rng.choice(len(prepared.train.x), 512, replace=False))]
        paths = deploy.export_student(student, out, calibration)
        test_x = np.ascontiguousarray(prepared.test.x)
        scores = report_deploy.backend_scores(deploy.deployed_backends(student, paths), test_x, prepared.test.y)
        csv = deploy.recording_to_csv(data.load_dataset("hapt"), SUBJECT_2, out / "subject02.csv")
        status = cli.main(["predict", str(csv), "--model", str(bundle), "--label-col", "label",
                           "-o", str(out / "predictions.csv"), "--no-progress"])
        if status != 0:
            raise RuntimeError(f"predict on subject 2 exited with {status}")
        agreement = report_deploy.window_agreement(pd.read_csv(out / "predictions.csv", keep_default_na=False))
    return {"hapt int8 accuracy change vs float": float(scores.loc["onnx_int8", "accuracy"] - scores.loc["pytorch", "accuracy"]),
            "hapt subject 2 window accuracy": float(agreement["accuracy"])}


GROUPS: dict[str, Callable[[int], dict[str, float]]] = {
    "trained": trained_scores, "distilled": distilled_scores, "deployed": deployed_scores}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--groups", nargs="+", default=list(GROUPS), choices=list(GROUPS))
    parser.add_argument("--redo", nargs="*", default=[], choices=list(GROUPS), help="measure these groups again")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "band_spread.json")
    args = parser.parse_args()
    record = json.loads(args.out.read_text()) if args.out.exists() else {"preset": PRESET, "seeds": {}}
    for seed in args.seeds:
        done = record["seeds"].setdefault(str(seed), {"groups": [], "values": {}})
        for group in args.groups:
            if group in done["groups"] and group not in args.redo:
                continue
            values = GROUPS[group](seed)
            done["values"].update({k: round(v, 4) for k, v in values.items()})
            done["groups"] = sorted(set(done["groups"]) | {group})
            record["versions"] = versions()
            args.out.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
            print(f"seed {seed} {group}: " + ", ".join(f"{k} {v:.4f}" for k, v in values.items()), flush=True)


if __name__ == "__main__":
    main()
