"""Tables and figures of the deployment chapter (notebook 07) and of ``benchmarks/deploy.py``.

Every table is a :class:`pandas.DataFrame` and every figure a :class:`matplotlib.figure.Figure` (or
axes); the runtimes and the labelled recordings come from :mod:`mglwkd_lite.deploy`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.patches import Patch

from ..data import label_segments
from ..deploy import PLAUSIBLE_G, Backend, DeployError, classification_scores

__all__ = [
    "compare_backends",
    "backend_scores",
    "window_agreement",
    "flagged_windows",
    "plot_timeline",
    "read_cost",
    "cost_table",
    "cost_ratios",
]


def compare_backends(reference: Backend, others: Mapping[str, Backend], x: np.ndarray) -> pd.DataFrame:
    """Logit agreement of each backend with ``reference`` on the same windows.

    Parameters
    ----------
    reference : Backend
        The runtime the others are compared with (eager PyTorch, usually).
    others : mapping of str to Backend
        The runtimes to check.
    x : numpy.ndarray
        ``(N, C, T)`` windows.

    Returns
    -------
    pandas.DataFrame
        One row per backend: ``max_abs_diff`` of the logits and ``same_class`` (fraction of windows
        with the same arg-max class).
    """
    ref = reference(x)
    rows = []
    for name, fn in others.items():
        out = fn(x)
        rows.append({
            "backend": name,
            "max_abs_diff": float(np.max(np.abs(out - ref))),
            "same_class": float(np.mean(out.argmax(1) == ref.argmax(1))),
        })
    return pd.DataFrame(rows).set_index("backend")


def backend_scores(backends: Mapping[str, Backend], x: np.ndarray, y: np.ndarray) -> pd.DataFrame:
    """Accuracy and macro F1 of each backend on labelled windows.

    Parameters
    ----------
    backends : mapping of str to Backend
        The runtimes.
    x : numpy.ndarray
        ``(N, C, T)`` windows.
    y : numpy.ndarray
        ``(N,)`` class indices.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``"backend"``; columns ``accuracy`` and ``macro_f1``.
    """
    rows = {name: classification_scores(y, fn(x)) for name, fn in backends.items()}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("backend")


def window_agreement(table: pd.DataFrame, classes: Sequence[str] | None = None) -> dict[str, float]:
    """Agreement of ``activity`` with ``label`` over windows whose centre label is a model class.

    Parameters
    ----------
    table : pandas.DataFrame
        A :func:`~mglwkd_lite.deploy.predict_csv` output with a ``label`` column.
    classes : sequence of str, optional
        The model's classes (default: those of the ``p_<class>`` columns).

    Returns
    -------
    dict of str to float
        ``{"windows": n, "accuracy": share of those n windows predicted right}`` (transitions and
        unlabelled windows excluded).

    Raises
    ------
    DeployError
        If the table has no ``label`` column.
    """
    if "label" not in table.columns:
        raise DeployError("the table has no 'label' column (pass a label column to predict)")
    classes = classes or [c[2:] for c in table.columns if c.startswith("p_")]
    known = table["label"].isin(list(classes)).to_numpy()
    n = int(known.sum())
    acc = float((table["activity"].to_numpy()[known] == table["label"].to_numpy()[known]).mean()) if n else float("nan")
    return {"windows": n, "accuracy": acc}


def flagged_windows(table: pd.DataFrame) -> pd.DataFrame:
    """The windows a labelled table flags as unlike the training data, and why.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`~mglwkd_lite.deploy.predict_csv` output of a bundle with a profile (``ood``,
        ``ood_score``).

    Returns
    -------
    pandas.DataFrame
        The flagged rows (index kept): their times (``start``/``end`` too for date-time input),
        ``activity``, ``label`` when present, ``confidence``, ``ood_score`` and ``reason``: a value
        beyond :data:`~mglwkd_lite.deploy.PLAUSIBLE_G` g, or input statistics unlike the training
        windows'.

    Raises
    ------
    DeployError
        The table has no ``ood`` column (labelled with a bundle without a profile).
    """
    if "ood" not in table.columns:
        raise DeployError("the table has no 'ood' column (the bundle has no profile of its training data)")
    keep = [c for c in ("subject", "start", "end", "start_s", "end_s", "activity", "label", "confidence",
                        "ood_score") if c in table.columns]
    out = table.loc[table["ood"].astype(bool), keep].copy()
    out["reason"] = np.where(np.isinf(out["ood_score"].astype(float)), f"value beyond {PLAUSIBLE_G:g} g",
                             "unlike the training windows")
    return out


def plot_timeline(table: pd.DataFrame, truth_time: np.ndarray, truth: Sequence[str], classes: Sequence[str],
                  hop_s: float | None = None, ax: Axes | None = None, title: str | None = None) -> Axes:
    """An activity timeline: the ground truth per sample above the student's label per window.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`~mglwkd_lite.deploy.predict_windows` / :func:`~mglwkd_lite.deploy.predict_csv` output
        (``start_s``, ``end_s``, ``activity``; windows with ``ood`` True are hatched).
    truth_time : numpy.ndarray
        ``(n,)`` seconds of each ground-truth sample.
    truth : sequence of str
        ``(n,)`` label name per sample; names not in ``classes`` (transitions, "") are drawn grey.
    classes : sequence of str
        The model's classes, in the order of their colours.
    hop_s : float, optional
        Each window is drawn over its central ``hop_s`` seconds (default: the start spacing), so
        overlapping windows tile the time axis.
    ax : matplotlib.axes.Axes, optional
        Where to draw (a new figure if None).
    title : str, optional
        Axes title.

    Returns
    -------
    matplotlib.axes.Axes
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(11, 2.6), constrained_layout=True)
    colours = {c: plt.get_cmap("tab10")(i) for i, c in enumerate(classes)}
    other = (0.8, 0.8, 0.8, 1.0)
    truth = np.asarray(truth, dtype=object)
    truth_time = np.asarray(truth_time, dtype=float)
    dt = float(np.median(np.diff(truth_time))) if len(truth_time) > 1 else 1.0
    # Ground truth: one bar per run of equal labels.
    for a, b, label in zip(*label_segments(truth)):
        ax.broken_barh([(truth_time[a], truth_time[b - 1] - truth_time[a] + dt)], (1.1, 0.8),
                       color=colours.get(label, other), linewidth=0)
    start = table["start_s"].to_numpy(float)
    centre = (start + table["end_s"].to_numpy(float)) / 2
    if hop_s is None:
        hop_s = float(np.median(np.diff(start))) if len(start) > 1 else float(table["end_s"].iloc[0] - start[0])
    for c, act in zip(centre, table["activity"]):
        ax.broken_barh([(c - hop_s / 2, hop_s)], (0.1, 0.8), color=colours.get(act, other), linewidth=0)
    flagged = table["ood"].to_numpy(bool) if "ood" in table.columns else np.zeros(len(table), bool)
    if flagged.any():
        ax.broken_barh([(c - hop_s / 2, hop_s) for c in centre[flagged]], (0.1, 0.8), facecolor="none",
                       edgecolor="black", hatch="////", linewidth=0)
        # A window is short beside a recording: a marker above each keeps the flags visible.
        ax.plot(centre[flagged], np.full(int(flagged.sum()), 1.0), "v", color="black", markersize=5)
    ax.set_yticks([0.5, 1.5], ["student", "ground truth"])
    ax.set_ylim(0, 2)
    ax.set_xlim(min(truth_time[0], start[0]), max(truth_time[-1] + dt, table["end_s"].max()))
    ax.set_xlabel("time (s)")
    handles = [Patch(color=colours[c], label=c.replace("_", " ").lower()) for c in classes]
    handles.append(Patch(color=other, label="other / unlabelled"))
    if flagged.any():
        handles.append(Patch(facecolor="white", edgecolor="black", hatch="////", label="flagged (ood), marked ▼"))
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.35), ncol=4, frameon=False, fontsize=8)
    if title:
        ax.set_title(title)
    return ax


def read_cost(path: str | os.PathLike) -> dict[str, Any]:
    """The results of ``benchmarks/deploy.py``.

    Parameters
    ----------
    path : str or os.PathLike
        Its JSON file (``benchmarks/results/deploy.json``).

    Returns
    -------
    dict
        The record.

    Raises
    ------
    DeployError
        If the file is missing.
    """
    path = Path(path)
    if not path.is_file():
        raise DeployError(f"{path}: no benchmark results; run python benchmarks/deploy.py")
    return json.loads(path.read_text())


def cost_table(result: Mapping[str, Any]) -> pd.DataFrame:
    """The benchmark's rows as a readable table.

    Parameters
    ----------
    result : mapping
        :func:`read_cost`'s record.

    Returns
    -------
    pandas.DataFrame
        Columns: model, runtime, parameters, MACs per window (millions), size (kB), accuracy and
        macro F1 on the test subjects (blank where not measured), milliseconds per window at batch 1
        and 256, and the real-time factors (seconds of signal labelled per second of compute) at both
        batch sizes.
    """
    df = pd.DataFrame(result["rows"])

    def fmt(values: Any, spec: str, scale: float = 1.0) -> Any:
        return values.map(lambda v: "" if v is None or pd.isna(v) else format(v * scale, spec))

    return pd.DataFrame({
        "model": df["model"], "runtime": df["runtime"], "params": df["params"],
        "MMACs/window": fmt(df["macs_per_window"], ".2f", 1e-6),
        "size (kB)": fmt(df["size_bytes"].where(df["size_bytes"] > 0), ".1f", 1e-3),
        "accuracy": fmt(df["accuracy"], ".3f"), "macro F1": fmt(df["macro_f1"], ".3f"),
        "ms/window b=1": fmt(df["latency_b1_ms"], ".3g"), "ms/window b=256": fmt(df["latency_b256_ms"], ".3g"),
        "real-time x b=1": fmt(df["rtf_b1"], ",.0f"), "real-time x b=256": fmt(df["rtf_b256"], ",.0f"),
    })


def cost_ratios(result: Mapping[str, Any]) -> dict[str, float]:
    """Headline ratios of a benchmark run: int8 vs float32 student, PI paths vs the student.

    Parameters
    ----------
    result : mapping
        A benchmark record with the student's three runtimes and the PI path rows.

    Returns
    -------
    dict of str to float
        Size, latency and score ratios or changes, one entry each.
    """
    rows = result["rows"]
    student = {r["runtime"]: r for r in rows if r["model"].startswith("student")}
    f32, q8, eager = student["ONNX Runtime float32"], student["ONNX Runtime int8"], student["PyTorch eager"]
    out = {
        "int8_size_vs_float": q8["size_bytes"] / f32["size_bytes"],
        "int8_latency_b1_vs_float": q8["latency_b1_ms"] / f32["latency_b1_ms"],
        "int8_latency_b256_vs_float": q8["latency_b256_ms"] / f32["latency_b256_ms"],
        "int8_accuracy_change": q8["accuracy"] - f32["accuracy"],
        "int8_macro_f1_change": q8["macro_f1"] - f32["macro_f1"],
    }
    for r in rows:
        if r["model"].startswith("PI path"):
            name = r["model"].split("(")[1].split(")")[0]
            out[f"pi_{name}_vs_int8_b1"] = r["latency_b1_ms"] / q8["latency_b1_ms"]
            out[f"pi_{name}_vs_int8_b256"] = r["latency_b256_ms"] / q8["latency_b256_ms"]
            out[f"pi_{name}_vs_pytorch_b256"] = r["latency_b256_ms"] / eager["latency_b256_ms"]
    return out
