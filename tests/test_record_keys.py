"""Run records and their keys.

A record's key is the hash of everything that shapes its numbers (method config, models preset,
spec). The first 3-seed sweep is archived under ``results/archive`` (produced by commit 0771975,
whose code reproduces its keys; see the README there): it must stay on record. Every record of the
current code (``results/quick``, ``results/paper``, ``results/folds``, when present) must hash to
the key it was written with: restructuring the package must not change it; a deliberate change to
a setting must.
"""

import json
from pathlib import Path

import pytest

from mglwkd_lite.experiments import RunSpec, experiment_preset, record_paths, run_key

RESULTS = Path(__file__).resolve().parents[1] / "results"
ARCHIVE = RESULTS / "archive"
CURRENT = sorted(p for preset in ("quick", "paper", "folds") for p in record_paths(RESULTS, preset))


def test_archived_sweeps_are_on_record():
    paper = record_paths(ARCHIVE, "paper_3seeds_v1")
    quick = record_paths(ARCHIVE, "quick_v1")
    assert len(paper) == 72 and len(quick) == 3
    assert "0771975" in (ARCHIVE / "README.md").read_text()
    specs = {tuple(json.loads(p.read_text())["spec"].values()) for p in paper}
    assert len(specs) == 72 and {s[2] for s in specs} == {0, 1, 2}


@pytest.mark.parametrize("path", CURRENT, ids=lambda p: str(p.relative_to(RESULTS)))
def test_current_record_key_is_reproduced(path):
    rec = json.loads(path.read_text())
    spec = RunSpec(**rec["spec"])
    assert run_key(experiment_preset(rec["preset"]), spec) == rec["key"], path
    assert rec["models"]["train"]["seed"] == spec.seed, path
