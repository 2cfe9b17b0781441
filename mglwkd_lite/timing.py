"""Timing of repeated calls, for the benchmarks and the cost tables: one helper on :mod:`timeit`."""

from __future__ import annotations

import math
import time
import timeit
from typing import Any, Callable

import numpy as np

__all__ = ["time_call"]


def time_call(
    fn: Callable[[], Any],
    repeat: int = 3,
    min_time: float = 0.2,
    timer: Callable[[], float] = time.perf_counter,
    number: int | None = None,
) -> np.ndarray:
    """Seconds per call of ``fn()``, measured in several rounds.

    A :class:`timeit.Timer` runs the rounds, so the garbage collector is paused while it times.
    Without ``number``, :meth:`timeit.Timer.autorange` first finds how many calls take at least
    0.2 s; its calls are also the warm-up (lazy initialisation, allocator, caches). Then
    :meth:`timeit.Timer.repeat` times ``repeat`` rounds of that many calls, or more rounds if
    needed to spend at least ``min_time`` seconds.

    Parameters
    ----------
    fn : callable
        The work, called without arguments.
    repeat : int
        Fewest rounds.
    min_time : float
        Least seconds spent in the timed rounds together.
    timer : callable
        The clock: :func:`time.perf_counter` (wall time) or :func:`time.process_time` (CPU time of
        this process, less sensitive to other processes on a shared machine; the calibration counts
        on this clock too, so use it only for work that keeps the CPU busy).
    number : int, optional
        Calls per round; when given, exactly ``repeat`` rounds run, without calibration or warm-up
        (the caller has warmed up, or one slow call is the measurement), and ``min_time`` is unused.

    Returns
    -------
    numpy.ndarray
        ``(rounds,)`` float64 seconds per call in each round. Read the minimum (the least disturbed
        round) or the median (robust to a busy machine).
    """
    timer_ = timeit.Timer(fn, timer=timer)
    if number is None:
        number, spent = timer_.autorange()
        rounds = max(int(repeat), math.ceil(min_time / spent)) if spent > 0 else int(repeat)
    else:
        rounds = int(repeat)
    return np.asarray(timer_.repeat(repeat=rounds, number=number), dtype=np.float64) / number
