"""Plain-file records of trained models: what a run record says of its teachers, and the record
folder of a set of trained models (``results/teachers_<preset>/``).

Both read :class:`mglwkd_lite.checkpoint.Trained` models; :mod:`mglwkd_lite.pipeline` re-exports
them, and :mod:`mglwkd_lite.experiments` writes the run records.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from . import repro
from ._io import atomic_write_text, jsonable
from .checkpoint import Trained, code_version, load_checkpoint

__all__ = ["teacher_summary", "save_trained_record"]


def teacher_summary(trained: Trained) -> dict[str, Any]:
    """A teacher's cache key, selected epoch and scores, as plain values (for run records).

    Parameters
    ----------
    trained : mglwkd_lite.checkpoint.Trained

    Returns
    -------
    dict
        ``key``, ``selected_epoch``, ``val`` and ``test`` (accuracy, macro F1, n), ``best_test``
        (optimistic; None for a model trained before it was recorded), ``epochs_run`` and ``seconds``
        (its training time).
    """
    m = trained.metrics
    scores = {split: {k: jsonable(m[split][k]) for k in ("accuracy", "macro_f1", "n")}
              for split in ("val", "test") if split in m}
    return {"key": trained.key, "selected_epoch": m.get("selected_epoch", m.get("best_epoch")), **scores,
            "best_test": m.get("best_test"), "epochs_run": m.get("epochs_run"), "seconds": m.get("seconds")}


def save_trained_record(trained: Mapping[tuple[str, str], Trained], folder: str | Path) -> Path:
    """Record trained models' metrics, configs, histories and versions as plain files.

    Parameters
    ----------
    trained : mapping of (str, str) to mglwkd_lite.checkpoint.Trained
        ``{(dataset, kind): Trained}``.
    folder : str or pathlib.Path

    Returns
    -------
    pathlib.Path
        ``folder``, holding ``metrics.json`` (per ``dataset/kind``: validation and test metrics of the
        selected model, selected epoch, optimistic best-test-epoch score, network, training config
        with the true seed, checkpoint key, the git commit it was trained with; plus package versions,
        machine and the commit writing the record) and ``history_<dataset>_<kind>.csv`` (one row per
        epoch). Read it back with :func:`mglwkd_lite.report.teachers.recorded_table`.
    """
    folder = Path(folder)
    record: dict[str, Any] = {"versions": repro.versions(), "machine": repro.machine(), "code": code_version(),
                              "models": {}}
    for (dataset, kind), t in trained.items():
        info = load_checkpoint(t.checkpoint, copy.deepcopy(t.model), t.extra_modules)
        record["models"][f"{dataset}/{kind}"] = {
            "network": t.model.spec.name, "key": t.key, "config": info.config,
            **{k: jsonable(v) for k, v in t.metrics.items()},
            "trained_with": info.versions, "trained_on": info.machine,
        }
        table = pd.DataFrame(t.history)
        atomic_write_text(folder / f"history_{dataset}_{kind}.csv", table.to_csv(index=False, float_format="%.6g"))
    atomic_write_text(folder / "metrics.json", json.dumps(record, indent=1) + "\n")
    return folder
