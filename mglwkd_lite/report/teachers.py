"""Chapter 03 (teachers): the networks, their trained scores and learning curves.

Every function takes models trained by :mod:`mglwkd_lite.pipeline` (``{key: Trained}``) or a record
written by :func:`mglwkd_lite.pipeline.save_trained_record`, and returns a table or a figure.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sklearn.metrics import ConfusionMatrixDisplay

from ..models import PAPER_PARAMETER_COUNTS, ModelSpec, build_model, count_macs, count_parameters
from ..checkpoint import Trained
from ._figure import AxesLike, panels

__all__ = [
    "fidelity_table",
    "trained_table",
    "plot_histories",
    "plot_confusions",
    "recorded_table",
    "width_table",
]


def fidelity_table() -> pd.DataFrame:
    """The group's parameter counts next to this implementation's.

    Returns
    -------
    pandas.DataFrame
        One row per architecture of :data:`mglwkd_lite.models.PAPER_PARAMETER_COUNTS`: network,
        in_channels, classes, group, this implementation, equal.
    """
    rows = []
    for (dim, depth, width, cin, ncls), expected in PAPER_PARAMETER_COUNTS.items():
        spec = ModelSpec(dim, depth, width, cin, ncls)
        rows.append({"network": spec.name, "in_channels": cin, "classes": ncls, "group": expected,
                     "this implementation": count_parameters(build_model(spec))})
    table = pd.DataFrame(rows)
    table["equal"] = table["group"] == table["this implementation"]
    return table


def trained_table(trained: Mapping[tuple[str, str], Trained], split: str = "test") -> pd.DataFrame:
    """One row per trained model: accuracy, macro F1, parameters, MACs per window, best epoch.

    Parameters
    ----------
    trained : mapping of (str, str) to mglwkd_lite.checkpoint.Trained
        ``{(dataset, kind): Trained}``.
    split : {"test", "val"}

    Returns
    -------
    pandas.DataFrame
        Indexed by (dataset, model).
    """
    rows = []
    for (dataset, kind), t in trained.items():
        spec = t.model.spec
        shape = tuple(t.metrics["input_shape"])
        rows.append({
            "dataset": dataset, "model": kind, "network": spec.name,
            "input": " x ".join(map(str, shape)),
            "accuracy": t.metrics[split]["accuracy"], "macro_f1": t.metrics[split]["macro_f1"],
            "params": count_parameters(t.model), "MACs": count_macs(t.model, (1, *shape)),
            "best_epoch": t.metrics["best_epoch"],
        })
    return pd.DataFrame(rows).set_index(["dataset", "model"])


def plot_histories(trained: Mapping[str, Trained], axes: AxesLike = None) -> Figure:
    """Learning curves: training loss and validation macro F1 per epoch, one line per model.

    Parameters
    ----------
    trained : mapping of str to mglwkd_lite.checkpoint.Trained
    axes : sequence of matplotlib.axes.Axes, optional
        Draw into these two (loss, validation macro F1); default a new figure.

    Returns
    -------
    matplotlib.figure.Figure
        Two panels; the selected epoch of each model is marked.
    """
    fig, grid = panels(axes, 1, 2, figsize=(10, 3.5))
    ax_loss, ax_f1 = grid[0]
    for name, t in trained.items():
        epochs = [row["epoch"] for row in t.history]
        line, = ax_loss.plot(epochs, [row["loss"] for row in t.history], marker="o", ms=3, label=name)
        ax_f1.plot(epochs, [row["val_macro_f1"] for row in t.history], marker="o", ms=3, color=line.get_color())
        best = t.metrics["best_epoch"]
        ax_f1.plot([best], [t.history[best - 1]["val_macro_f1"]], marker="*", ms=12, color=line.get_color())
    ax_loss.set(xlabel="epoch", ylabel="training loss", title="Training loss")
    ax_f1.set(xlabel="epoch", ylabel="macro F1", title="Validation macro F1 (star: selected epoch)")
    ax_loss.legend()
    fig.tight_layout()
    return fig


def plot_confusions(trained: Mapping[str, Trained], classes: Sequence[str], split: str = "test",
                    axes: AxesLike = None) -> Figure:
    """Row-normalised confusion matrices (true class in rows), one panel per model.

    Parameters
    ----------
    trained : mapping of str to mglwkd_lite.checkpoint.Trained
    classes : sequence of str
    split : {"test", "val"}
    axes : sequence of matplotlib.axes.Axes, optional
        Draw into these (one per model); default a new figure.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, axes = panels(axes, 1, len(trained), figsize=(4.2 * len(trained), 4.2))
    for ax, (name, t) in zip(axes[0], trained.items()):
        cm = np.asarray(t.metrics[split]["confusion"], dtype=float)
        cm = cm / np.maximum(cm.sum(1, keepdims=True), 1)
        ConfusionMatrixDisplay(cm, display_labels=[c[:10] for c in classes]).plot(
            ax=ax, colorbar=False, values_format=".2f", xticks_rotation=60)
        ax.set_title(f"{name} ({split} F1 {t.metrics[split]['macro_f1']:.3f})")
    fig.tight_layout()
    return fig


def recorded_table(folder: str | Path) -> pd.DataFrame:
    """The record of :func:`mglwkd_lite.pipeline.save_trained_record` as a table.

    Parameters
    ----------
    folder : str or pathlib.Path
        Holding ``metrics.json``.

    Returns
    -------
    pandas.DataFrame
        One row per ``dataset/kind``: network, epochs, epochs run, best epoch, test accuracy and
        macro F1 of the epoch selected on validation, validation macro F1.
    """
    record = json.loads((Path(folder) / "metrics.json").read_text(encoding="utf-8"))
    rows = []
    for name, m in record["models"].items():
        dataset, kind = name.split("/", 1)
        rows.append({"dataset": dataset, "model": kind, "network": m["network"],
                     "epochs": m["config"]["train"]["epochs"], "epochs run": m["epochs_run"],
                     "best epoch": m["best_epoch"], "test accuracy": m["test"]["accuracy"],
                     "test macro F1": m["test"]["macro_f1"], "val macro F1": m["val"]["macro_f1"]})
    return pd.DataFrame(rows).set_index(["dataset", "model"])


def width_table(path: str | Path) -> pd.DataFrame:
    """The signal-teacher width comparison of ``benchmarks/teacher_width.py``, mean and std over seeds.

    Parameters
    ----------
    path : str or pathlib.Path
        Its JSON record (``{"runs": [{"width", "seed", "network", "val_macro_f1", ...}, ...]}``).

    Returns
    -------
    pandas.DataFrame
        Indexed by network; ``seeds`` and the mean and standard deviation (ddof=1) of the validation
        macro F1 (what decides), the test macro F1 and accuracy, and the last epoch's training and
        validation losses (how hard each width fits the training subjects).
    """
    runs = pd.DataFrame(json.loads(Path(path).read_text(encoding="utf-8"))["runs"])
    cols = ["val_macro_f1", "test_macro_f1", "test_accuracy", "train_loss", "val_loss"]
    grouped = runs.sort_values("width").groupby("network", sort=False)
    table = grouped[cols].agg(["mean", "std"])
    table.columns = [f"{col} {stat}" for col, stat in table.columns]
    table.insert(0, "seeds", grouped["seed"].count())
    return table
