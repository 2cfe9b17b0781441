"""Every committed run record still hashes to the key it was written with.

A record's key is the hash of everything that shapes its numbers (method config, models preset,
spec). Restructuring the package must not change it; a deliberate change to a setting must.
"""

import json
from pathlib import Path

import pytest

from mglwkd_lite.experiments import RunSpec, experiment_preset, run_key

RESULTS = Path(__file__).resolve().parents[1] / "results"
RECORDS = sorted(p for preset in ("quick", "paper") for p in (RESULTS / preset).glob("*/*/seed*.json"))


def test_there_are_committed_records():
    assert len(RECORDS) >= 3


@pytest.mark.parametrize("path", RECORDS, ids=lambda p: str(p.relative_to(RESULTS)))
def test_committed_record_key_is_reproduced(path):
    rec = json.loads(path.read_text())
    spec = RunSpec(**rec["spec"])
    assert run_key(experiment_preset(rec["preset"]), spec) == rec["key"], path
