"""Every report plot draws into the caller's axes when given them (scikit-learn's Display pattern)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from mglwkd_lite.report import _figure  # noqa: E402
from mglwkd_lite.report import distillation, results, workspace  # noqa: E402


def test_panels_takes_the_callers_axes_or_makes_a_figure():
    fig, grid = _figure.panels(None, 2, 3)
    assert grid.shape == (2, 3) and grid[1, 2].figure is fig
    f2, given = plt.subplots(1, 2)
    same, grid = _figure.panels(given, 1, 2)
    assert same is f2 and list(grid[0]) == list(given)
    with pytest.raises(ValueError, match="draws 1 x 3 panels; got 2 axes"):
        _figure.panels(given, 1, 3)
    rob = pd.DataFrame({("noise", 0.1): [80.0], ("missing", 0.2): [79.0], ("rate", 0.5): [70.0]},
                       index=pd.MultiIndex.from_tuples([("hapt", "scratch")]))
    assert len(results.plot_robustness(rob, "hapt", ["scratch"]).axes) == 3  # its own figure
    fig, axes = plt.subplots(1, 3)
    assert results.plot_robustness(rob, "hapt", ["scratch"], axes=axes) is fig and axes[0].lines
    plt.close("all")


def test_plots_draw_into_given_axes():
    table = pd.DataFrame({"accuracy": [0.8, 0.85], "macro_f1": [0.78, 0.84]}, index=["scratch", "mglwkd"])
    fig, ax = plt.subplots()
    assert distillation.plot_distilled(table, ax=ax) is fig and len(ax.patches) == 4
    summary = pd.DataFrame({"accuracy_mean": [80.0, 85.0], "accuracy_std": [1.0, 1.0], "macro_f1_mean": [78.0, 84.0],
                            "macro_f1_std": [1.0, 1.0]},
                           index=pd.MultiIndex.from_tuples([("hapt", "scratch"), ("hapt", "mglwkd")]))
    fig, axes = plt.subplots(1, 1, squeeze=False)
    assert results.plot_methods(summary, axes=axes) is fig and len(axes[0, 0].patches) == 4
    history = [{"epoch": e, "alpha": 0.5, "kis_dist_1": 0.1, "kis_dist_2": 0.2} for e in (1, 2, 3)]
    fig, axes = plt.subplots(1, 2)
    assert workspace.plot_coefficient(history, axes=axes) is fig and len(axes[0].lines) >= 1
    maps = {"kis": np.random.default_rng(0).random((2, 2, 4, 3)), "kts": np.random.default_rng(1).random((2, 3, 4)),
            "y": np.array([0, 1])}
    fig, axes = plt.subplots(2, 3)
    assert workspace.plot_maps(maps, [0, 1], ["a", "b"], axes=axes) is fig and axes[1, 2].images
    plt.close("all")
