"""The pass/fail lines that nbval compares for trained scores."""

import json
from pathlib import Path

import pytest

from mglwkd_lite.report.checks import (
    BANDS, EARLIER, MEASURED, PROVISIONAL, SCALES, SPREAD, band_check, band_checks, band_from, epochs_line, spread_table,
    trained_checks,
)

SPREAD_FILE = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "band_spread.json"


def test_a_score_inside_its_band_prints_a_line_that_does_not_show_the_score():
    assert band_check("x accuracy", 0.8512, (0.80, 0.92)) == "x accuracy in [0.80, 0.92]: yes"
    assert band_check("x accuracy", 0.8799, (0.80, 0.92)) == "x accuracy in [0.80, 0.92]: yes"


def test_a_score_outside_its_band_says_no_and_shows_the_score():
    assert band_check("x accuracy", 0.7, (0.80, 0.92)) == "x accuracy in [0.80, 0.92]: NO (got 0.7000)"


def test_bands_come_from_the_registry_by_name(monkeypatch):
    monkeypatch.setitem(BANDS, "y f1", (0.5, 0.6))
    assert band_checks({"y f1": 0.55}) == "y f1 in [0.50, 0.60]: yes"
    with pytest.raises(KeyError, match="no band recorded for 'z'"):
        band_check("z", 0.5)
    with pytest.raises(ValueError, match="low <= high"):
        band_check("w", 0.5, (0.6, 0.5))


def test_a_band_is_the_measured_range_widened_by_the_margin_and_rounded_outwards():
    assert band_from([0.8361, 0.8581], margin=0.03) == (0.80, 0.89)
    assert band_from([0.5], margin=0.0) == (0.5, 0.5)
    assert band_from([0.01, 0.99], margin=0.03) == (0.0, 1.0)
    assert band_from([1.24, 2.0], margin=1.0, limits=(0.0, 100.0)) == (0.24, 3.0)  # points, not a share
    assert band_from([-0.002, 0.001], limits=(-1.0, 1.0)) == (-0.04, 0.04)  # a change can be negative


def test_quantities_off_the_accuracy_scale_state_their_margin_and_limits():
    for name, (margin, (low, high)) in SCALES.items():
        assert margin > 0 and low < high, name


def test_trained_checks_print_the_epochs_and_one_line_per_score(monkeypatch):
    monkeypatch.setitem(BANDS, "hapt student accuracy", (0.80, 0.92))
    metrics = {"epochs_run": 6, "test": {"accuracy": 0.88, "macro_f1": 0.87}}
    assert epochs_line({"hapt student": metrics, "other": {"epochs_run": 5}}) == "epochs run: hapt student 6, other 5"
    assert trained_checks({"hapt student": metrics}) == (
        "epochs run: hapt student 6\nhapt student accuracy in [0.80, 0.92]: yes")

    class Trained:  # duck-typed: the metrics of a Trained, or of a Distilled's .trained
        def __init__(self, m):
            self.metrics = m

    class Distilled:
        def __init__(self, m):
            self.trained = Trained(m)

    assert trained_checks({"hapt student": Distilled(metrics)}) == trained_checks({"hapt student": Trained(metrics)})


def test_the_measured_spread_is_the_one_the_benchmark_wrote():
    """checks.SPREAD holds exactly benchmarks/results/band_spread.json (seeds 0, 1, 2), every band
    rests on at least three measured runs, and no earlier measurement is left out of the bands."""
    record = json.loads(SPREAD_FILE.read_text())
    seeds = sorted(record["seeds"], key=int)
    written = {name: tuple(record["seeds"][s]["values"][name] for s in seeds)
               for name in record["seeds"][seeds[0]]["values"]}
    assert SPREAD == written
    assert not PROVISIONAL
    assert all(len(values) >= 3 for values in MEASURED.values())
    # MEASURED (hence BANDS) is built from the names of SPREAD: an EARLIER score without a spread
    # would silently set no band.
    assert not set(EARLIER) - set(SPREAD), f"earlier scores without a measured spread: {set(EARLIER) - set(SPREAD)}"


def test_the_spread_table_has_a_row_per_quantity_with_its_seeds_mean_and_band():
    table = spread_table(SPREAD_FILE, "hapt student accuracy")
    assert list(table.index) == ["hapt student accuracy"]
    row = table.loc["hapt student accuracy"]
    values = SPREAD["hapt student accuracy"]
    assert [row[f"seed {s}"] for s in range(len(values))] == list(values)
    assert row["mean"] == pytest.approx(sum(values) / len(values))
    assert row["range"] == pytest.approx(max(values) - min(values))
    low, high = BANDS["hapt student accuracy"]
    assert row["band"] == f"[{low:.2f}, {high:.2f}]"
