"""Where a report plot draws: into the caller's axes, or into a new figure of its own.

Every plot of :mod:`mglwkd_lite.report` takes ``ax`` (one panel) or ``axes`` (several), as
scikit-learn's ``Display.plot(ax=...)`` does, so that figures compose; without them it makes its
own figure. It returns the figure it drew on (the one-panel plots of the pilot and of deployment,
``plot_budget`` and ``plot_timeline``, return their axes).
"""

from __future__ import annotations

from typing import Any, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

__all__ = ["AxesLike", "panels"]

AxesLike = Axes | Sequence[Axes] | np.ndarray | None
"""What ``axes=`` accepts: one Axes, a sequence or array of them, or None (a new figure)."""


def panels(axes: AxesLike, nrows: int, ncols: int, **subplots: Any
           ) -> tuple[Figure, np.ndarray]:
    """A ``nrows`` x ``ncols`` array of axes: the given ones, or those of a new figure.

    Parameters
    ----------
    axes : Axes, sequence of Axes, numpy.ndarray or None
        The caller's axes (exactly ``nrows * ncols`` of them, in row order), or None.
    nrows, ncols : int
    **subplots
        Passed to :func:`matplotlib.pyplot.subplots` for a new figure (figsize, sharey, ...).

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure of the first axes.
    axes : numpy.ndarray
        Shape ``(nrows, ncols)``.

    Raises
    ------
    ValueError
        When the caller gives another number of axes than the plot draws.
    """
    if axes is None:
        fig, grid = plt.subplots(nrows, ncols, squeeze=False, **subplots)
        return fig, grid
    flat = np.asarray(axes, dtype=object).ravel()
    if flat.size != nrows * ncols:
        raise ValueError(f"this plot draws {nrows} x {ncols} panels; got {flat.size} axes")
    return flat[0].figure, flat.reshape(nrows, ncols)
