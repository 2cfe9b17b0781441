"""Pass/fail lines for trained scores, which the notebook regression check compares exactly.

A trained model's score moves in the last digits from one CPU to another (different float rounding
sends training down a slightly different path), so nbval cannot compare it exactly; ignoring it would
let a broken change pass. Each notebook cell that reports a trained score therefore also prints a line
such as ``signal teacher accuracy in [0.80, 0.92]: yes``, built by :func:`band_check` from a band in
:data:`BANDS`. The line is stable as long as the score stays in its band, and nbval compares it.

How the bands were set: each is the range of the score over repeated quick-preset runs with different
seeds (a different seed moves training at least as much as a different CPU does), widened by a margin,
recorded beside the band with the values it came from. A setting that changes training (one epoch
fewer, another learning rate) also changes the line ``epochs run: ...`` that the same cells print, so
nbval fails on it even when the score stays in its band.
"""

from __future__ import annotations

from typing import Mapping

__all__ = ["Band", "BANDS", "band_check", "band_checks"]

Band = tuple[float, float]
"""``(low, high)``: inclusive bounds of a score."""

BANDS: dict[str, Band] = {}
"""Bands of the quick preset's trained scores, keyed by the name printed in the check line."""


def band_check(name: str, value: float, band: Band | None = None) -> str:
    """One stable line: is ``value`` inside its band?

    Parameters
    ----------
    name : str
        What is checked, e.g. ``"hapt signal teacher accuracy"``; also the key of :data:`BANDS` when
        ``band`` is not given.
    value : float
        The score.
    band : tuple of float, optional
        ``(low, high)``; default ``BANDS[name]``.

    Returns
    -------
    str
        ``"<name> in [low, high]: yes"`` or ``"...: NO (got value)"``; the value is printed only when
        the check fails, so a passing line does not change with the score.
    """
    if band is None:
        if name not in BANDS:
            raise KeyError(f"no band recorded for {name!r}; known: {sorted(BANDS)}")
        band = BANDS[name]
    low, high = band
    if not low <= high:
        raise ValueError(f"band for {name!r} must have low <= high, got {band}")
    ok = low <= float(value) <= high
    return f"{name} in [{low:.2f}, {high:.2f}]: " + ("yes" if ok else f"NO (got {float(value):.4f})")


def band_checks(values: Mapping[str, float]) -> str:
    """:func:`band_check` for every ``name -> value``, one line each, in the given order."""
    return "\n".join(band_check(name, value) for name, value in values.items())
