"""Train (or load) the teachers and the scratch student of a preset and record their metrics.

Run: ``python benchmarks/train_teachers.py --preset full --datasets hapt`` (writes ``results/teachers_full``;
the 200-epoch record in ``results/teachers_group`` came from ``--preset group --kinds student --threads 1``)

The models go to the cache (``.cache/models``), so notebook 03 run with the same preset loads them;
the metrics, configs, per-epoch histories and package versions are written to ``--out``.
"""

from __future__ import annotations

import argparse
import dataclasses

from mglwkd_lite import pipeline
from mglwkd_lite.presets import MODEL_PRESETS
from mglwkd_lite.report.teachers import trained_table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="full", choices=MODEL_PRESETS)
    parser.add_argument("--datasets", nargs="+", default=["hapt"], choices=("hapt", "spsw"))
    parser.add_argument("--kinds", nargs="+", default=list(pipeline.KINDS), choices=list(pipeline.KINDS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None,
                        help="CPU threads (default: the preset's, one in full, every core in quick and group; part of the cache key, since the exact numbers depend on it)")
    parser.add_argument("--out", default=None, help="results folder (default: results/teachers_<preset>)")
    args = parser.parse_args()
    preset = pipeline.ModelsPreset.preset(args.preset)
    if args.threads is not None:
        preset = dataclasses.replace(preset, train=dataclasses.replace(preset.train, threads=args.threads))
    trained = {}
    for dataset in args.datasets:
        for kind in args.kinds:
            trained[(dataset, kind)] = pipeline.train_or_load(kind, dataset, preset, seed=args.seed)
            row = trained[(dataset, kind)].metrics["test"]
            print(f"{dataset} {kind}: test accuracy {row['accuracy']:.4f}, macro F1 {row['macro_f1']:.4f}", flush=True)
    out = pipeline.save_trained_record(trained, args.out or f"results/teachers_{args.preset}")
    print(trained_table(trained).round(4).to_string())
    print(f"recorded in {out}")


if __name__ == "__main__":
    main()
