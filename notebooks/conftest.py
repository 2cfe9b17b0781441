"""nbval set-up for the notebooks (``pytest --nbval notebooks``): progress bars are not compared.

A notebook shows a training progress bar only when a model is trained rather than loaded from the
cache, so whether a cell shows one depends on what the cache held, not on the code. In a notebook
kernel tqdm draws the bar as a widget: a display output holding a widget view and, as its text, the
bar's first state. nbval already skips the widget view but would compare that text, and count it;
this drops such outputs from both sides before nbval compares a cell. Everything else is compared as
before (the trained scores through the pass/fail lines of ``mglwkd_lite.report.checks``).
"""

from __future__ import annotations

import re
from typing import Any, Sequence

import nbval.plugin

__all__ = ["WIDGET_VIEW", "is_progress_bar", "without_progress_bars"]

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"

# tqdm's meter always shows the elapsed time in brackets: "work:  0%|   | 0/3 [00:00<?, ?it/s]".
_METER = re.compile(r"\[\d+:\d\d")


def is_progress_bar(output: Any) -> bool:
    """Whether a notebook output is a tqdm widget bar.

    Parameters
    ----------
    output : mapping
        One output of a code cell (nbformat).

    Returns
    -------
    bool
    """
    data = output.get("data", {}) if hasattr(output, "get") else {}
    text = data.get("text/plain", "")
    text = "".join(text) if isinstance(text, list) else str(text)
    return WIDGET_VIEW in data and bool(_METER.search(text))


def without_progress_bars(outputs: Sequence[Any]) -> list[Any]:
    """``outputs`` less the tqdm widget bars."""
    return [out for out in outputs if not is_progress_bar(out)]


_compare_outputs = nbval.plugin.IPyNbCell.compare_outputs


def _compare_outputs_without_bars(self, test, ref, skip_compare=None):
    return _compare_outputs(self, without_progress_bars(test), without_progress_bars(ref), skip_compare)


nbval.plugin.IPyNbCell.compare_outputs = _compare_outputs_without_bars
