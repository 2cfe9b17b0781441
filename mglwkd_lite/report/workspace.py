"""Chapter 04 (workspace): the workspace's shapes, what the student reads, and the coefficient.

The maps come from :func:`mglwkd_lite.pipeline.workspace_maps`; the histories from a distilled
student (:attr:`mglwkd_lite.pipeline.Distilled.history`).
"""

from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure

from ..distill import ALPHA_CAP, ALPHA_FLOOR
from ..workspace import GlobalWorkspace, WorkspaceConfig

__all__ = [
    "shape_table",
    "listening_by_class",
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


def plot_maps(maps: Mapping[str, np.ndarray], picks: Sequence[int], classes: Sequence[str]) -> Figure:
    """Heatmaps of ``KIS_signal``, ``KIS_PI`` and ``KTS^T`` (slots x tokens) for a few windows.

    Parameters
    ----------
    maps : mapping of str to numpy.ndarray
        Output of :func:`mglwkd_lite.pipeline.workspace_maps`.
    picks : sequence of int
        Row positions in ``maps``; one row of panels per window, titled with its class.
    classes : sequence of str

    Returns
    -------
    matplotlib.figure.Figure
        All panels share one colour scale spanning the values shown (uniform attention is ``1 / K``).
    """
    fig, axes = plt.subplots(len(picks), 3, figsize=(12, 1.5 * len(picks) + 0.8), squeeze=False, sharex=True)
    panels = (("KIS, signal teacher", lambda i: maps["kis"][i, 0]), ("KIS, PI teacher", lambda i: maps["kis"][i, 1]),
              ("KTS$^T$, student", lambda i: maps["kts"][i].T))
    shown = np.stack([get(i) for i in picks for _, get in panels])
    vmin, vmax = float(shown.min()), float(shown.max())  # one colour scale for every panel
    for r, (row, i) in enumerate(zip(axes, picks)):
        for c, (ax, (title, get)) in enumerate(zip(row, panels)):
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
                     cap: float = ALPHA_CAP) -> Figure:
    """The dynamic coefficient and the two KTS-KIS distances per epoch (the analogue of the paper's Fig. 8).

    Parameters
    ----------
    history : sequence of mapping
        Per-epoch rows with ``epoch``, ``alpha``, ``kis_dist_1`` and ``kis_dist_2``.
    floor, cap : float
        The allowed range, shaded.

    Returns
    -------
    matplotlib.figure.Figure
    """
    epochs = [row["epoch"] for row in history]
    fig, (ax_a, ax_d) = plt.subplots(1, 2, figsize=(10, 3.2))
    ax_a.plot(epochs, [row["alpha"] for row in history], marker="o", label="alpha (signal teacher's KD weight)")
    ax_a.axhspan(floor, cap, color="0.9", zorder=0, label=f"allowed range [{floor}, {cap}]")
    ax_a.axhline(0.5, color="0.5", ls=":", lw=1)
    ax_a.set(xlabel="epoch", ylabel="mean alpha", ylim=(0, 1), title="Dynamic coefficient")
    ax_a.legend(fontsize=8)
    ax_d.plot(epochs, [row["kis_dist_1"] for row in history], marker="o", label="d(KTS, KIS signal)")
    ax_d.plot(epochs, [row["kis_dist_2"] for row in history], marker="o", label="d(KTS, KIS PI)")
    ax_d.set(xlabel="epoch", ylabel="mean squared distance", title="Student-teacher attention distances")
    ax_d.legend(fontsize=8)
    fig.tight_layout()
    return fig
