"""The run record's one schema: every committed record reads back, and bad ones are named."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from mglwkd_lite.runrecord import SCHEMA, RecordError, RunRecord, load_runs, read_record, record_paths, write_record

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = (record_paths(ROOT / "results") + record_paths(ROOT / "results" / "archive")
             + record_paths(ROOT / "benchmarks" / "results" / "pilot"))


def test_every_committed_record_reads_back_unchanged():
    assert len(COMMITTED) >= 157 + 72
    versions = {}
    for path in COMMITTED:
        data = json.loads(path.read_text())
        record = read_record(path)
        versions[record.schema] = versions.get(record.schema, 0) + 1
        again = record.to_dict()
        # what the file holds comes back; only the fields older schemas lack are filled in
        assert {k: again[k] for k in data} == data, path
        assert set(again) - set(data) <= {"schema", "history", "selected_epoch", "best_epoch", "best_test", "code",
                                          "trained_with_code", "residual", "data"}, path
    assert set(versions) <= set(range(1, SCHEMA + 1))


def _minimal(**changes):
    data = {"key": "k", "preset": "p", "spec": {"dataset": "hapt", "method": "scratch", "seed": 0},
            "method": {}, "models": {}, "metrics": {"val": {"accuracy": 0.9, "macro_f1": 0.8},
                                                    "test": {"accuracy": 0.7, "macro_f1": 0.6}}}
    data.update(changes)
    return data


def test_bad_records_are_named_with_their_field(tmp_path):
    cases = {
        "missing field(s) metrics": {k: v for k, v in _minimal().items() if k != "metrics"},
        "unknown field(s) colour": _minimal(colour="blue"),
        "spec must name dataset, method, seed": _minimal(spec={"dataset": "hapt"}),
        "metrics.test must hold accuracy and macro_f1": _minimal(metrics={"val": {"accuracy": 1, "macro_f1": 1}}),
        "a blind record holds a test score": _minimal(blind=True),
        "schema 9 is not one this code reads": _minimal(schema=9),
    }
    for message, data in cases.items():
        path = tmp_path / "seed0.json"
        path.write_text(json.dumps(data))
        with pytest.raises(RecordError, match=re.escape(message)) as err:
            read_record(path)
        assert str(path) in str(err.value)
    path.write_text("{not json")
    with pytest.raises(RecordError, match="not a run record"):
        read_record(path)


def test_a_written_record_is_validated_and_versioned(tmp_path):
    record = RunRecord.from_dict(_minimal(schema=SCHEMA))
    path = write_record(tmp_path / "p" / "hapt" / "scratch" / "seed0.json", record)
    assert json.loads(path.read_text())["schema"] == SCHEMA
    assert list(load_runs(tmp_path)["accuracy"]) == [0.7]
    blind = RunRecord.from_dict(_minimal(metrics={"val": {"accuracy": 0.9, "macro_f1": 0.8}}, blind=True))
    assert blind.to_dict()["blind"] is True and "blind" not in record.to_dict()


def test_reading_records_needs_no_plotting_library():
    code = ("import sys; from mglwkd_lite import cli; from mglwkd_lite.runrecord import load_runs; "
            "load_runs('results'); assert 'matplotlib' not in sys.modules, 'matplotlib imported'")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
