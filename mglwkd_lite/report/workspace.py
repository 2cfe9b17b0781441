"""Chapter 04 (workspace): the workspace's shapes, what the student reads, and the coefficient.

The maps come from :func:`mglwkd_lite.pipeline.workspace_maps`; the histories from a distilled
student (:attr:`mglwkd_lite.pipeline.Distilled.history`).
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure

import json
import os

from ..distill import ALPHA_CAP, ALPHA_FLOOR
from ..experiments import record_paths
from ..workspace import GlobalWorkspace, WorkspaceConfig, entropy_ratio
from ._figure import AxesLike, panels

__all__ = [
    "shape_table",
    "listening_by_class",
    "map_entropies",
    "coefficient_summary",
    "UNIFORM_SHARE",
    "recorded_dynamics",
    "plot_maps",
    "plot_coefficient",
]


def shape_table(teacher_shapes: Sequence[Sequence[int]], student_shape: Sequence[int],
                cfg: WorkspaceConfig = WorkspaceConfig(), batch: int = 2) -> pd.DataFrame:
    """The shape of every piece of a workspace for given feature shapes.

    Builds the workspace and runs it once on zeros.

    Parameters
    ----------
    teacher_shapes : sequence of sequence of int
        Feature shapes (no batch axis) of the teachers.
    student_shape : sequence of int
        Feature shape of the student.
    cfg : mglwkd_lite.workspace.WorkspaceConfig
    batch : int
        Windows in the pass.

    Returns
    -------
    pandas.DataFrame
        Indexed by piece: each network's feature map and tokens, the slots, each KIS, the KTS and
        the enhanced student features; the last row gives the workspace's parameter count.
    """
    ws = GlobalWorkspace(teacher_shapes, student_shape, cfg).eval()
    feats = [torch.zeros(batch, *s) for s in teacher_shapes]
    with torch.no_grad():
        out = ws(feats, torch.zeros(batch, *student_shape))
    names = ["signal teacher", "PI teacher"] if len(teacher_shapes) == 2 else [f"teacher {i + 1}" for i in range(len(teacher_shapes))]
    rows = []
    for name, s, pre in zip(names, teacher_shapes, ws.teacher_pre):
        rows.append((f"{name} features", (batch, *s), "last-stage feature map"))
        rows.append((f"{name} tokens", (batch, ws.tokens, ws.dim),
                     "positions only" if pre.is_identity_shape else "projected (MLP + LayerNorm) + positions"))
    rows.append(("student features", (batch, *student_shape), "last-stage feature map"))
    rows.append(("student tokens", tuple(out.student_tokens.shape), "positions only (already L x D)"))
    rows.append(("slots", tuple(out.slots.shape), f"{cfg.num_slots} slots after {cfg.num_iters} iteration(s)"))
    for name, k in zip(names, out.kis):
        rows.append((f"KIS, {name}", tuple(k.shape), "softmax over slots: columns sum to 1"))
    rows.append(("KTS", tuple(out.kts.shape), f"{cfg.num_heads} heads averaged: rows sum to 1"))
    rows.append(("enhanced student features", tuple(out.enhanced_features.shape), "features + transfer (residual)"))
    table = pd.DataFrame(rows, columns=["piece", "shape", "note"]).set_index("piece")
    table["shape"] = [" x ".join(map(str, s)) for s in table["shape"]]
    n_params = sum(p.numel() for p in ws.parameters())
    table.loc["workspace parameters"] = [f"{n_params:,}", "trained jointly with the student, not shipped"]
    return table


def listening_by_class(maps: Mapping[str, np.ndarray], classes: Sequence[str], floor: float = ALPHA_FLOOR,
                       cap: float = ALPHA_CAP) -> pd.DataFrame:
    """Per class: how close the student's KTS is to each teacher's KIS, and the coefficient it gives.

    Parameters
    ----------
    maps : mapping of str to numpy.ndarray
        Output of :func:`mglwkd_lite.pipeline.workspace_maps`.
    classes : sequence of str
        Class names (``maps["y"]`` indexes them).
    floor, cap : float
        Bounds of the coefficient.

    Returns
    -------
    pandas.DataFrame
        Indexed by class: ``windows``, ``d_signal`` and ``d_pi`` (mean squared distance of
        ``KTS^T`` to each teacher's KIS), ``closer_to`` (the teacher the student reads the slots most
        like), and ``alpha`` = ``d_signal / (d_signal + d_pi)`` clipped to ``[floor, cap]`` (the
        signal teacher's KD weight for such windows).
    """
    rows = []
    for c, name in enumerate(classes):
        sel = maps["y"] == c
        if not sel.any():
            continue
        d1, d2 = maps["d"][sel].mean(0)
        rows.append({"class": name, "windows": int(sel.sum()), "d_signal": float(d1), "d_pi": float(d2),
                     "closer_to": "signal" if d1 < d2 else "PI",
                     "alpha": float(np.clip(d1 / max(d1 + d2, 1e-12), floor, cap))})
    return pd.DataFrame(rows).set_index("class")


def map_entropies(maps: Mapping[str, np.ndarray]) -> pd.Series:
    """Mean entropy of each map relative to uniform over the slots (1 = uniform, 0 = one slot).

    Parameters
    ----------
    maps : mapping of str to numpy.ndarray
        Output of :func:`mglwkd_lite.pipeline.workspace_maps` (``kis`` ``(n, 2, K, L)``, ``kts``
        ``(n, L, K)``).

    Returns
    -------
    pandas.Series
        ``KIS signal``, ``KIS PI``, ``KTS``: the mean over windows and tokens of each token's
        entropy over the ``K`` slots, divided by ``log K``.
    """
    kis = torch.as_tensor(np.asarray(maps["kis"], dtype=np.float64))
    kts = torch.as_tensor(np.asarray(maps["kts"], dtype=np.float64))
    return pd.Series({"KIS signal": float(entropy_ratio(kis[:, 0], dim=1)),
                      "KIS PI": float(entropy_ratio(kis[:, 1], dim=1)),
                      "KTS": float(entropy_ratio(kts, dim=2))}, name="entropy / log K")


def coefficient_summary(history: Sequence[Mapping[str, float]], floor: float = ALPHA_FLOOR,
                        cap: float = ALPHA_CAP) -> pd.Series:
    """How much the coefficient moved during training, next to its clipping range.

    Parameters
    ----------
    history : sequence of mapping
        Per-epoch rows with ``alpha`` and (from :func:`mglwkd_lite.pipeline.distill_or_load`)
        ``alpha_std``.
    floor, cap : float
        The clipping range.

    Returns
    -------
    pandas.Series
        ``floor``, ``cap``, ``min``/``max`` of the per-epoch mean alpha (its range across epochs),
        ``range across epochs`` (max - min), ``mean spread within epochs`` (mean of ``alpha_std``
        over the epochs; NaN when not logged), ``largest spread within an epoch``.
    """
    alpha = np.array([float(row["alpha"]) for row in history])
    spread = np.array([float(row.get("alpha_std", np.nan)) for row in history])
    has_spread = bool(np.isfinite(spread).any())
    return pd.Series({
        "floor": floor, "cap": cap, "min epoch mean": float(alpha.min()), "max epoch mean": float(alpha.max()),
        "range across epochs": float(alpha.max() - alpha.min()),
        "mean spread within epochs": float(np.nanmean(spread)) if has_spread else np.nan,
        "largest spread within an epoch": float(np.nanmax(spread)) if has_spread else np.nan,
    }, name="alpha")


UNIFORM_SHARE = 0.95
"""A KIS whose mean entropy is at least this share of the uniform map's counts as flat (slots not told
apart): the alignment and the coefficient then carry no information about the window."""


def recorded_dynamics(results_dir: str | os.PathLike = "results", preset: str = "folds",
                      methods: Sequence[str] = ("mglwkd",)) -> pd.DataFrame:
    """The workspace of every recorded run of ``methods``: its maps' entropies and alpha's movement.

    Parameters
    ----------
    results_dir : str or os.PathLike
    preset : str
        The sweep (folder below ``results_dir``).
    methods : sequence of str
        Methods with a workspace.

    Returns
    -------
    pandas.DataFrame
        One row per run, indexed by (dataset, method, fold, seed): the last epoch's mean entropy of
        the signal and PI teachers' KIS and of the KTS (relative to uniform, the training windows
        of that epoch), whether both KIS are flat (:data:`UNIFORM_SHARE`), the range of the
        per-epoch mean alpha, its last epoch's mean and its mean spread within epochs
        (:func:`coefficient_summary`), and the test accuracy.
    """
    rows = []
    for path in record_paths(results_dir, preset):
        rec = json.loads(path.read_text(encoding="utf-8"))
        if rec["spec"]["method"] not in methods:
            continue
        last = rec["history"][-1]
        alpha = coefficient_summary(rec["history"])
        rows.append({**rec["spec"], "KIS signal": last["kis_entropy_1"], "KIS PI": last["kis_entropy_2"],
                     "KTS": last["kts_entropy"],
                     "flat KIS": bool(min(last["kis_entropy_1"], last["kis_entropy_2"]) >= UNIFORM_SHARE),
                     "alpha min": alpha["min epoch mean"], "alpha max": alpha["max epoch mean"],
                     "alpha last": float(last["alpha"]),
                     "alpha spread in epoch": alpha["mean spread within epochs"],
                     "test accuracy": rec["metrics"]["test"]["accuracy"]})
    if not rows:
        return pd.DataFrame()
    return pd.DataFrame(rows).set_index(["dataset", "method", "fold", "seed"]).sort_index()


def plot_maps(maps: Mapping[str, np.ndarray], picks: Sequence[int], classes: Sequence[str],
              axes: AxesLike = None) -> Figure:
    """Heatmaps of ``KIS_signal``, ``KIS_PI`` and ``KTS^T`` (slots x tokens) for a few windows.

    Parameters
    ----------
    maps : mapping of str to numpy.ndarray
        Output of :func:`mglwkd_lite.pipeline.workspace_maps`.
    picks : sequence of int
        Row positions in ``maps``; one row of panels per window, titled with its class.
    classes : sequence of str
    axes : array of matplotlib.axes.Axes, optional
        Draw into these (one row per pick, three columns); default a new figure.

    Returns
    -------
    matplotlib.figure.Figure
        All panels share one colour scale spanning the values shown (uniform attention is ``1 / K``).
    """
    fig, axes = panels(axes, len(picks), 3, figsize=(12, 1.5 * len(picks) + 0.8), sharex=True)
    maps_of = (("KIS, signal teacher", lambda i: maps["kis"][i, 0]), ("KIS, PI teacher", lambda i: maps["kis"][i, 1]),
              ("KTS$^T$, student", lambda i: maps["kts"][i].T))
    shown = np.stack([get(i) for i in picks for _, get in maps_of])
    vmin, vmax = float(shown.min()), float(shown.max())  # one colour scale for every panel
    for r, (row, i) in enumerate(zip(axes, picks)):
        for c, (ax, (title, get)) in enumerate(zip(row, maps_of)):
            im = ax.imshow(get(i), aspect="auto", vmin=vmin, vmax=vmax, cmap="viridis", interpolation="nearest")
            if r == 0:
                ax.set_title(title, fontsize=10)
            if c == 0:
                ax.set_ylabel(f"{classes[int(maps['y'][i])]}\nslot", fontsize=9)
    for ax in axes[-1]:
        ax.set_xlabel("token (projected channel)")
    fig.colorbar(im, ax=axes, shrink=0.6, label="attention")
    return fig


def plot_coefficient(history: Sequence[Mapping[str, float]], floor: float = ALPHA_FLOOR,
                     cap: float = ALPHA_CAP, axes: AxesLike = None) -> Figure:
    """The dynamic coefficient and the two KTS-KIS distances per epoch (the analogue of the paper's Fig. 8).

    Parameters
    ----------
    history : sequence of mapping
        Per-epoch rows with ``epoch``, ``alpha``, ``kis_dist_1`` and ``kis_dist_2``; with
        ``alpha_std`` the spread over the epoch's batches is drawn as a band (mean +- std), and with
        ``kis_entropy_1``, ``kis_entropy_2`` and ``kts_entropy`` a third panel shows the maps'
        entropies relative to uniform.
    floor, cap : float
        The allowed range, shaded.
    axes : array of matplotlib.axes.Axes, optional
        Draw into these (two, or three with the entropies); default a new figure.

    Returns
    -------
    matplotlib.figure.Figure
    """
    epochs = np.array([row["epoch"] for row in history])
    entropy_keys = (("kis_entropy_1", "KIS signal"), ("kis_entropy_2", "KIS PI"), ("kts_entropy", "KTS"))
    with_entropy = all(k in history[0] for k, _ in entropy_keys)
    fig, grid = panels(axes, 1, 3 if with_entropy else 2, figsize=(15 if with_entropy else 10, 3.2))
    axes = grid[0]
    ax_a, ax_d = axes[0], axes[1]
    alpha = np.array([row["alpha"] for row in history])
    ax_a.plot(epochs, alpha, marker="o", label="alpha (signal teacher's KD weight)")
    if "alpha_std" in history[0]:
        std = np.array([row["alpha_std"] for row in history])
        ax_a.fill_between(epochs, alpha - std, alpha + std, alpha=0.3, label="+- std over the epoch's batches")
    ax_a.axhspan(floor, cap, color="0.9", zorder=0, label=f"allowed range [{floor}, {cap}]")
    ax_a.axhline(0.5, color="0.5", ls=":", lw=1)
    ax_a.set(xlabel="epoch", ylabel="mean alpha", ylim=(0, 1), title="Dynamic coefficient")
    ax_a.legend(fontsize=8)
    ax_d.plot(epochs, [row["kis_dist_1"] for row in history], marker="o", label="d(KTS, KIS signal)")
    ax_d.plot(epochs, [row["kis_dist_2"] for row in history], marker="o", label="d(KTS, KIS PI)")
    ax_d.set(xlabel="epoch", ylabel="mean squared distance", title="Student-teacher attention distances")
    ax_d.legend(fontsize=8)
    if with_entropy:
        ax_e = axes[2]
        for key, label in entropy_keys:
            ax_e.plot(epochs, [row[key] for row in history], marker="o", label=label)
        ax_e.axhline(1.0, color="0.5", ls=":", lw=1)
        ax_e.set(xlabel="epoch", ylabel="entropy / log K", ylim=(0, 1.05), title="Map entropy (1 = uniform)")
        ax_e.legend(fontsize=8)
    fig.tight_layout()
    return fig
