"""Chapter 05 (distillation): the methods as loss terms, and each distilled student's scores.

The students come from :func:`mglwkd_lite.pipeline.distill_or_load` (``{method: Distilled}``).
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..distill import METHODS, DistillConfig
from ..pipeline import Distilled
from ._figure import panels

__all__ = [
    "methods_table",
    "distilled_table",
    "plot_distilled",
]


def methods_table(methods: Mapping[str, DistillConfig] | None = None) -> pd.DataFrame:
    """Every method as a row: its weighted loss terms and settings.

    Parameters
    ----------
    methods : mapping of str to mglwkd_lite.distill.DistillConfig, optional
        Default :data:`mglwkd_lite.distill.METHODS`.

    Returns
    -------
    pandas.DataFrame
        Indexed by method: loss, alpha (signal KD weight), logit std (the group's logit
        standardisation), KD reduction (KL averaged over windows and classes, or per window),
        workspace (with its slot-attention temperature), residual, anneal.
    """
    rows = []
    for name, cfg in (methods or METHODS).items():
        ws = cfg.workspace
        rows.append({
            "method": name,
            "loss": " + ".join(f"{w:g} {n}" for n, w in cfg.weights if w > 0),
            "alpha (signal KD weight)": _alpha_text(cfg),
            "logit std": "yes" if cfg.logit_std else "-",
            "KD reduction": _kd_reduction_text(cfg),
            "workspace": "-" if ws is None else (f"{ws.num_slots} slots, {ws.num_iters} iter, "
                                                 f"{'GRU' if ws.working_memory else 'no'} memory, "
                                                 f"slot temperature {ws.attn_temperature:g}"),
            "residual": "yes" if cfg.residual else "-",
            "anneal": "yes" if cfg.anneal else "-",
        })
    return pd.DataFrame(rows).set_index("method")


def _kd_reduction_text(cfg: DistillConfig) -> str:
    if not any(n.startswith("kd_") for n in cfg.active):
        return "-"
    return "windows and classes" if cfg.kd_reduction == "class_mean" else "per window"


def _alpha_text(cfg: DistillConfig) -> str:
    if cfg.alpha == "dynamic":
        direction = "d_pi / (d_signal + d_pi), swapped" if cfg.alpha_swapped else "dynamic"
        return f"{direction} [{cfg.alpha_floor:g}, {cfg.alpha_cap:g}]"
    if "kd_two" not in cfg.active:
        return "-"
    if cfg.alpha == "mean":
        return f"mean alpha of {cfg.alpha_from} (same data set, seed)"
    return f"{cfg.alpha:g}"


def distilled_table(results: Mapping[str, Distilled], split: str = "test") -> pd.DataFrame:
    """One row per method: accuracy and macro F1 of the plain student, and with the residual path.

    Parameters
    ----------
    results : mapping of str to mglwkd_lite.pipeline.Distilled
        ``{method name: Distilled}``.
    split : {"test", "val"}

    Returns
    -------
    pandas.DataFrame
        Indexed by method; ``residual_*`` columns are NaN for methods without workspace.
    """
    rows = []
    for name, r in results.items():
        m = r.trained.metrics
        res = (r.residual_metrics or {}).get(split, {})
        rows.append({
            "method": name, "accuracy": m[split]["accuracy"], "macro_f1": m[split]["macro_f1"],
            "residual_accuracy": res.get("accuracy", float("nan")),
            "residual_macro_f1": res.get("macro_f1", float("nan")),
            "best_epoch": m["best_epoch"], "seconds": m.get("seconds", float("nan")),
        })
    return pd.DataFrame(rows).set_index("method")


def plot_distilled(table: pd.DataFrame, title: str = "Test scores per method", ax: Axes | None = None) -> Figure:
    """Bar chart of accuracy and macro F1 per method.

    Parameters
    ----------
    table : pandas.DataFrame
        A :func:`distilled_table`.
    title : str
    ax : matplotlib.axes.Axes, optional
        Draw into this; default a new figure.

    Returns
    -------
    matplotlib.figure.Figure
        With the scratch student's macro F1 as a dashed line when it is a row.
    """
    fig, grid = panels(ax, 1, 1, figsize=(10, 3.8))
    ax = grid[0, 0]
    pos = np.arange(len(table))
    ax.bar(pos - 0.2, table["accuracy"], 0.4, label="accuracy")
    ax.bar(pos + 0.2, table["macro_f1"], 0.4, label="macro F1")
    if "scratch" in table.index:
        ax.axhline(table.loc["scratch", "macro_f1"], color="0.3", ls="--", lw=1, label="scratch macro F1")
    low = float(np.nanmin(table[["accuracy", "macro_f1"]].to_numpy()))
    ax.set_ylim(max(0.0, low - 0.1), 1.0)
    ax.set_xticks(pos, table.index, rotation=35, ha="right")
    ax.set(ylabel="score", title=title)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig
