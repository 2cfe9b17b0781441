"""The run record: one versioned schema, written and validated here, read back from every older record.

A run of the experiment runner (:func:`mglwkd_lite.experiments.run_one`) is stored as one JSON file. This
module is the only place that knows its fields: :class:`RunRecord` builds and checks it,
:func:`write_record` and :func:`read_record` store and read it, and :func:`load_runs` turns a folder of
them into the frame every table reads. It imports neither PyTorch models nor matplotlib, so reading
records (``python -m mglwkd_lite summary``) stays light.

Schema versions:

- **1** (no ``schema`` field): every record before the field existed. The first 3-seed sweep
  (``results/archive``) lacks ``history``, ``selected_epoch``, ``code``, ``trained_with_code`` and
  ``best_test``; these read back as empty or None.
- **2**: adds ``schema``; ``protocol`` (the sweep's protocol, when it has one) and ``blind`` (no test
  score: a pilot that decides on validation subjects) are part of it; ``data`` (the data set's entry and
  the run's subjects) is written since data sets became registry entries, None in earlier records.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd

from ._io import atomic_write_text

__all__ = [
    "SCHEMA",
    "RecordError",
    "RunRecord",
    "record_paths",
    "read_record",
    "write_record",
    "load_runs",
    "blind_record",
    "seed_summary",
]

SCHEMA = 2
"""The version written by this code (see the module's docstring for what each version holds)."""

_REQUIRED = ("key", "preset", "spec", "method", "models", "metrics")
_SPEC = ("dataset", "method", "seed")


class RecordError(ValueError):
    """A file that is not a run record of a known schema (the message names the file and the field)."""


@dataclass
class RunRecord:
    """One run: what was trained, how, its scores, and where and with what it ran.

    Attributes
    ----------
    key : str
        Hash of everything that shapes the run's numbers (:func:`mglwkd_lite.experiments.run_key`).
    preset : str
        The sweep's name (its folder under the results folder).
    spec : dict
        ``dataset``, ``method``, ``seed`` and, on subject folds, ``fold``.
    method, models : dict
        The method's configuration as trained and the models preset with the run's seed.
    metrics : dict
        ``{"val": {...}, "test": {...}}`` (accuracy, macro F1, n, confusion) of the kept model; no
        ``test`` in a blind record.
    selected_epoch, best_epoch : int or None
        The epoch kept (1-based).
    best_test : dict or None
        The best test epoch (optimistic, for comparison only).
    history : list of dict
        One row per epoch.
    residual : dict or None
        Scores with the workspace's residual path (methods with a workspace).
    timings, code, trained_with_code, versions, machine : dict
        Training and run seconds, the git commit of the run and of the training, package versions, machine.
    teachers, robustness, protocol : dict or None
        The teachers learnt from, scores under perturbations, the sweep's protocol.
    data : dict or None
        The data set: name, source, digest, rate, units, device, placement, subjects and the run's test
        and validation subjects (:meth:`mglwkd_lite.data.registry.DatasetEntry.summary`); None in
        records written before it was recorded.
    blind : bool
        True when nothing was scored on the test subjects.
    schema : int
        The schema version the record was written with.
    """

    key: str
    preset: str
    spec: dict[str, Any]
    method: dict[str, Any]
    models: dict[str, Any]
    metrics: dict[str, dict[str, Any]]
    selected_epoch: int | None = None
    best_epoch: int | None = None
    best_test: dict[str, Any] | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    residual: dict[str, Any] | None = None
    timings: dict[str, Any] = field(default_factory=dict)
    code: dict[str, Any] | None = None
    trained_with_code: dict[str, Any] | None = None
    versions: dict[str, Any] = field(default_factory=dict)
    machine: dict[str, Any] = field(default_factory=dict)
    teachers: dict[str, Any] | None = None
    robustness: dict[str, Any] | None = None
    protocol: dict[str, Any] | None = None
    data: dict[str, Any] | None = None
    blind: bool = False
    schema: int = SCHEMA

    def __post_init__(self) -> None:
        self.validate()

    def validate(self, source: str = "run record") -> None:
        """Raise :class:`RecordError` (naming ``source`` and the field) when the record does not hold together."""
        if not isinstance(self.spec, dict) or any(k not in self.spec for k in _SPEC):
            raise RecordError(f"{source}: spec must name {', '.join(_SPEC)}, got {self.spec!r}")
        splits = ("val",) if self.blind else ("val", "test")
        for split in splits:
            scores = self.metrics.get(split) if isinstance(self.metrics, dict) else None
            if not isinstance(scores, dict) or "accuracy" not in scores or "macro_f1" not in scores:
                raise RecordError(f"{source}: metrics.{split} must hold accuracy and macro_f1")
        if self.blind and ("test" in self.metrics or self.best_test is not None or self.robustness is not None):
            raise RecordError(f"{source}: a blind record holds a test score")
        if not isinstance(self.schema, int) or not 1 <= self.schema <= SCHEMA:
            raise RecordError(f"{source}: schema {self.schema!r} is not one this code reads (1 to {SCHEMA})")

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "run record") -> "RunRecord":
        """A record from its JSON form, of any schema version.

        Raises
        ------
        RecordError
            For a missing required field, an unknown field or a record that does not validate.
        """
        if not isinstance(data, dict):
            raise RecordError(f"{source}: a run record is a JSON object, got {type(data).__name__}")
        missing = [k for k in _REQUIRED if k not in data]
        if missing:
            raise RecordError(f"{source}: not a run record (missing field(s) {', '.join(missing)})")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names - {"skipped"})  # "skipped" is added in memory, never written
        if unknown:
            raise RecordError(f"{source}: unknown field(s) {', '.join(unknown)} (schema {data.get('schema', 1)})")
        values = {k: v for k, v in data.items() if k in names}
        values.setdefault("schema", 1)
        values["history"] = values.get("history") or []
        try:
            return cls(**values)
        except RecordError as err:
            raise RecordError(str(err).replace("run record", source, 1)) from err

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (optional fields that are empty are left out, as older records have them)."""
        out = dataclasses.asdict(self)
        for name in ("teachers", "robustness", "protocol"):
            if out[name] is None:
                del out[name]
        if not out["blind"]:
            del out["blind"]
        return out


def write_record(path: str | os.PathLike, record: RunRecord) -> Path:
    """Write ``record`` (validated) as JSON, atomically."""
    record.validate(str(path))
    return atomic_write_text(path, json.dumps(record.to_dict(), indent=1, sort_keys=True))


def read_record(path: str | os.PathLike) -> RunRecord:
    """Read and validate a run record of any schema version.

    Raises
    ------
    RecordError
        Naming the file, for text that is not JSON or a record that does not validate.
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise RecordError(f"{path}: not a run record ({err})") from err
    return RunRecord.from_dict(data, str(path))


def record_paths(results_dir: str | os.PathLike = "results", preset: str | None = None) -> list[Path]:
    """The run records under ``results_dir``, sorted (those of subject folds included).

    Parameters
    ----------
    results_dir : str or os.PathLike
    preset : str, optional
        Only this preset's records (default: every preset's); a folder below ``results_dir``, e.g.
        ``"archive/paper_3seeds_v1"``.

    Returns
    -------
    list of pathlib.Path
    """
    top = preset if preset else "*"
    root = Path(results_dir)
    return sorted({*root.glob(f"{top}/*/*/seed*.json"), *root.glob(f"{top}/*/fold*/*/seed*.json")})


def _row(record: RunRecord) -> dict[str, Any]:
    test = record.metrics.get("test", {})
    residual = (record.residual or {}).get("test", {})
    best = record.best_test or {}
    return {
        "preset": record.preset, **record.spec,
        "accuracy": test.get("accuracy", np.nan), "macro_f1": test.get("macro_f1", np.nan),
        "val_accuracy": record.metrics["val"]["accuracy"], "val_macro_f1": record.metrics["val"]["macro_f1"],
        "residual_accuracy": residual.get("accuracy", np.nan), "residual_macro_f1": residual.get("macro_f1", np.nan),
        "train_seconds": record.timings.get("train_seconds"),
        # The best test score over epochs (optimistic: it looks at the test subjects); NaN in the archived sweep.
        "best_test_accuracy": best.get("accuracy", np.nan), "best_test_macro_f1": best.get("macro_f1", np.nan),
        "val_macro_f1_epoch_1": (record.history or [{}])[0].get("val_macro_f1", np.nan),
        **_subject_counts(record.data),
    }


def _subject_counts(data: dict[str, Any] | None) -> dict[str, float]:
    """Test and training subjects of the run, from its data summary (NaN in older records)."""
    if not data:
        return {"test_subjects": np.nan, "train_subjects": np.nan}
    test, val = len(data["test_subjects"]), len(data["val_subjects"])
    return {"test_subjects": test, "train_subjects": len(data["subjects"]) - test - val}


def load_runs(results_dir: str | os.PathLike = "results", preset: str | None = None) -> pd.DataFrame:
    """Every run record under ``results_dir`` as a frame, one row per run.

    Parameters
    ----------
    results_dir : str or os.PathLike
    preset : str, optional
        Only this preset's records (a folder below ``results_dir``).

    Returns
    -------
    pandas.DataFrame
        Columns: preset, dataset, method, seed, fold (when the records have one), accuracy, macro_f1
        (test; NaN in a blind record), val_accuracy, val_macro_f1, residual_accuracy, residual_macro_f1
        (NaN where the method has no workspace), train_seconds, best_test_accuracy, best_test_macro_f1
        (optimistic; NaN where not recorded), val_macro_f1_epoch_1 (NaN without a per-epoch history),
        test_subjects and train_subjects of the run (NaN in records without a data summary).

    Raises
    ------
    RecordError
        For a file that is not a run record (named in the message).
    """
    return pd.DataFrame([_row(read_record(path)) for path in record_paths(results_dir, preset)])


def seed_summary(df: pd.DataFrame, metrics: Iterable[str] = ("accuracy", "macro_f1")) -> pd.DataFrame:
    """Mean and standard deviation over seeds per data set and method, in percent.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per run (:func:`load_runs`).
    metrics : iterable of str

    Returns
    -------
    pandas.DataFrame
        Indexed by (dataset, method) with ``seeds``, ``<metric>_mean`` and ``<metric>_std``
        columns; std is the sample standard deviation (ddof=1), NaN for a single seed.
    """
    if df.empty:
        return pd.DataFrame()
    grouped = df.groupby(["dataset", "method"], sort=False)
    out = pd.DataFrame({"seeds": grouped.size()})
    for m in metrics:
        out[f"{m}_mean"] = 100 * grouped[m].mean()
        out[f"{m}_std"] = 100 * grouped[m].std(ddof=1)
    return out


def blind_record(record: dict[str, Any]) -> dict[str, Any]:
    """A run record without anything scored on the test subjects (``ExperimentPreset.blind``).

    Parameters
    ----------
    record : dict
        As :func:`mglwkd_lite.experiments.run_one` builds it.

    Returns
    -------
    dict
        A copy without ``metrics["test"]``, ``best_test``, ``robustness``, the residual path's test
        score, the history's ``test_*`` columns and the teachers' test scores, marked ``"blind": True``.
    """
    out = {k: v for k, v in record.items() if k not in ("best_test", "robustness")}
    out["metrics"] = {k: v for k, v in record["metrics"].items() if k != "test"}
    if record.get("residual"):
        out["residual"] = {k: v for k, v in record["residual"].items() if k != "test"}
    out["history"] = [{k: v for k, v in row.items() if not k.startswith("test_")} for row in record["history"]]
    if record.get("teachers"):
        out["teachers"] = {kind: {k: v for k, v in t.items() if k not in ("test", "best_test")}
                           for kind, t in record["teachers"].items()}
    out["blind"] = True
    return out
