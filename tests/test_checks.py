"""The pass/fail lines that nbval compares for trained scores."""

import pytest

from mglwkd_lite.report.checks import BANDS, band_check, band_checks


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
