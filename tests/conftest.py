"""Shared test set-up: the repository root and a deterministic Hypothesis profile."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

REPO_ROOT = Path(__file__).resolve().parents[1]

# Property-based tests draw the same examples on every run (derandomize), so a failure on one
# machine reproduces on another; no deadline, since shared CI machines have noisy timings.
settings.register_profile(
    "mglwkd",
    derandomize=True,
    deadline=None,
    max_examples=40,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("mglwkd")


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository root (holds pyproject.toml, _toc.yml, notebooks/)."""
    return REPO_ROOT
