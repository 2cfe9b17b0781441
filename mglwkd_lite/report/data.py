"""Tables and figures of the data chapter (notebook 01).

Every table is a :class:`pandas.DataFrame` and every figure a :class:`matplotlib.figure.Figure`;
the numbers come from :mod:`mglwkd_lite.data`.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..data import (
    HAPT_BASIC, UCI_HAR_TEST_SUBJECTS, Prepared, Recordings, RepairReport, WindowConfig, label_segments,
    load_dataset, make_windows,
)
from ._figure import AxesLike, panels

__all__ = [
    "UCI_HAR_COUNTS", "dataset_table", "segment_table", "rule_comparison", "uci_har_comparison",
    "split_table", "normalisation_table", "repair_table", "activity_examples", "plot_activity_examples",
    "plot_class_balance",
]

#: Windows per class of UCI HAR (y_train / y_test of the UCI data set), in :data:`HAPT_BASIC` order.
UCI_HAR_COUNTS = {"train": (1226, 1073, 986, 1286, 1374, 1407), "test": (496, 471, 420, 491, 532, 537)}


def dataset_table(recs: Sequence[Recordings]) -> pd.DataFrame:
    """One row per data set: rate, subjects, recordings, rows, hours, labelled share, classes.

    Parameters
    ----------
    recs : sequence of Recordings
        The data sets.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``"data set"``.
    """
    rows = []
    for r in recs:
        rows.append({"data set": r.name, "rate (Hz)": r.rate_hz, "subjects": len(np.unique(r.rec_subject)),
                     "recordings": r.n_recordings, "rows": len(r.acc),
                     "hours": round(len(r.acc) / r.rate_hz / 3600, 2),
                     "labelled (%)": round(100 * float((r.label >= 0).mean()), 1), "classes": len(r.classes)})
    return pd.DataFrame(rows).set_index("data set")


def segment_table(rec: Recordings) -> pd.DataFrame:
    """Labelled segments per class: count and median / min length in seconds.

    Parameters
    ----------
    rec : Recordings
        The data set.

    Returns
    -------
    pandas.DataFrame
        One row per class (``NaN`` lengths for a class without segments).
    """
    off = rec.rec_offsets
    lens: dict[int, list[int]] = {c: [] for c in range(len(rec.classes))}
    for r in range(rec.n_recordings):
        for a, e, lab in zip(*label_segments(rec.label[off[r]:off[r + 1]])):
            if lab >= 0:
                lens[int(lab)].append(int(e - a))
    return pd.DataFrame({"segments": [len(v) for v in lens.values()],
                         "median (s)": [round(float(np.median(v)) / rec.rate_hz, 2) if v else np.nan
                                        for v in lens.values()],
                         "min (s)": [round(min(v) / rec.rate_hz, 2) if v else np.nan for v in lens.values()]},
                        index=pd.Index(rec.classes, name="class"))


def rule_comparison(rec: Recordings, configs: Mapping[str, WindowConfig]) -> pd.DataFrame:
    """Windows per class (rows) under each named window configuration (columns), with totals.

    Parameters
    ----------
    rec : Recordings
        The data set.
    configs : mapping of str to WindowConfig
        Column name -> configuration.

    Returns
    -------
    pandas.DataFrame
        One row per class of ``rec`` and a ``"total"`` row.
    """
    cols = {}
    for label, cfg in configs.items():
        w = make_windows(rec, cfg)
        counts = dict(zip(w.classes, w.class_counts().tolist()))
        cols[label] = [counts.get(c, 0) for c in rec.classes]
    table = pd.DataFrame(cols, index=pd.Index(rec.classes, name="class"))
    table.loc["total"] = table.sum(axis=0)
    return table


def uci_har_comparison(rec: Recordings | None = None, cfg: WindowConfig | None = None) -> pd.DataFrame:
    """HAPT windows (128 / 64, pure) on UCI HAR's train / test subjects next to UCI HAR's counts.

    "train" here is every non-test subject (the validation subjects included), as in UCI HAR.

    Parameters
    ----------
    rec : Recordings, optional
        HAPT (loaded if None).
    cfg : WindowConfig, optional
        Default UCI HAR's windows: 128 samples, stride 64, the 6 basic activities.

    Returns
    -------
    pandas.DataFrame
        Counts here and in UCI HAR per class and part, a ``"total"`` row, and the differences in %.
    """
    rec = rec if rec is not None else load_dataset("hapt")
    cfg = cfg or WindowConfig(128, 64, classes=HAPT_BASIC)
    w = make_windows(rec, cfg)
    is_test = np.isin(w.subject, UCI_HAR_TEST_SUBJECTS)
    here = {"train": np.bincount(w.y[~is_test], minlength=6), "test": np.bincount(w.y[is_test], minlength=6)}
    table = pd.DataFrame(index=pd.Index(HAPT_BASIC, name="class"))
    for part in ("train", "test"):
        table[f"{part} (here)"] = here[part]
        table[f"{part} (UCI HAR)"] = UCI_HAR_COUNTS[part]
    table.loc["total"] = table.sum(axis=0)
    for part in ("train", "test"):
        table[f"{part} diff (%)"] = (100 * (table[f"{part} (here)"] / table[f"{part} (UCI HAR)"] - 1)).round(2)
    return table


def split_table(p: Prepared) -> pd.DataFrame:
    """Windows per class (rows) and split (columns), with totals.

    Parameters
    ----------
    p : Prepared
        A prepared data set.

    Returns
    -------
    pandas.DataFrame
        Columns ``train``, ``val``, ``test``, ``all``; one row per class and a ``"total"`` row.
    """
    table = pd.DataFrame({part: getattr(p, part).class_counts() for part in ("train", "val", "test")},
                         index=pd.Index(p.classes, name="class"))
    table["all"] = table.sum(axis=1)
    table.loc["total"] = table.sum(axis=0)
    return table


def normalisation_table(p: Prepared) -> pd.DataFrame:
    """Per-channel training mean and std (in g) and each split's mean / std after normalising.

    Parameters
    ----------
    p : Prepared
        Normalised windows with the statistics they were normalised with.

    Returns
    -------
    pandas.DataFrame
        One row per channel, rounded to 3 decimals.
    """
    ch = ("x", "y", "z") if p.train.x.shape[1] == 3 else tuple(f"ch{i}" for i in range(p.train.x.shape[1]))
    table = pd.DataFrame({"train mean (g)": p.normaliser.mean, "train std (g)": p.normaliser.std},
                         index=pd.Index(ch, name="channel"))
    for part in ("train", "val", "test"):
        x = getattr(p, part).x
        table[f"{part} mean"] = x.mean(axis=(0, 2), dtype=np.float64)
        table[f"{part} std"] = x.std(axis=(0, 2), dtype=np.float64)
    return table.round(3) + 0.0  # + 0.0 turns -0.0 into 0.0 for stable printing


def repair_table(report: RepairReport) -> pd.DataFrame:
    """The repairs of one load, one row per (source, kind).

    Parameters
    ----------
    report : RepairReport
        The ``report`` of loaded :class:`~mglwkd_lite.data.Recordings`.

    Returns
    -------
    pandas.DataFrame
        Columns ``source``, ``kind``, ``count``, ``detail``.
    """
    return pd.DataFrame(list(report.rows), columns=["source", "kind", "count", "detail"])


def activity_examples(rec: Recordings, seconds: float, classes: Sequence[str] | None = None
                      ) -> dict[str, np.ndarray]:
    """The first ``seconds`` of the first segment of each class that is long enough.

    Parameters
    ----------
    rec : Recordings
        The data set.
    seconds : float
        Length of each example.
    classes : sequence of str, optional
        Classes wanted (default all).

    Returns
    -------
    dict of str to numpy.ndarray
        class name -> samples ``(round(seconds * rate), C)``, in ``classes`` order;
        classes without such a segment are left out.
    """
    n = int(round(seconds * rec.rate_hz))
    wanted = tuple(classes) if classes is not None else rec.classes
    off = rec.rec_offsets
    out: dict[str, np.ndarray] = {}
    for r in range(rec.n_recordings):
        for a, e, lab in zip(*label_segments(rec.label[off[r]:off[r + 1]])):
            name = rec.classes[lab] if lab >= 0 else None
            if name in wanted and name not in out and e - a >= n:
                out[name] = rec.acc[off[r] + a:off[r] + a + n]
    return {c: out[c] for c in wanted if c in out}


def plot_activity_examples(recs: Sequence[Recordings], seconds: Sequence[float],
                           classes: Sequence[Sequence[str] | None] | None = None, axes: AxesLike = None) -> Figure:
    """Raw x, y, z (g) of one example per activity: a row per data set, a panel per class.

    Parameters
    ----------
    recs : sequence of Recordings
        The data sets.
    seconds : sequence of float
        Length of the example of each data set.
    classes : sequence of (sequence of str or None), optional
        Classes to show per data set (default all).
    axes : sequence of matplotlib.axes.Axes, optional
        Draw into these (a row per data set, a column per class of the largest); default a new figure.

    Returns
    -------
    matplotlib.figure.Figure
    """
    classes = classes or [None] * len(recs)
    rows = [activity_examples(r, s, c) for r, s, c in zip(recs, seconds, classes)]
    ncols = max(len(ex) for ex in rows)
    fig, axes = panels(axes, len(rows), ncols, figsize=(2.5 * ncols, 2.3 * len(rows)), sharey=True,
                       constrained_layout=True)
    for i, (rec, ex) in enumerate(zip(recs, rows)):
        for j in range(ncols):
            ax = axes[i, j]
            if j >= len(ex):
                ax.axis("off")
                continue
            c, a = list(ex.items())[j]
            t = np.arange(len(a)) / rec.rate_hz
            for k, axis in enumerate("xyz"):
                ax.plot(t, a[:, k], lw=0.8, color=f"C{k}", label=axis)
            ax.set_title(f"{rec.name}: {c}", fontsize=8)
            ax.set_xlabel("time (s)", fontsize=8)
            ax.tick_params(labelsize=7)
        axes[i, 0].set_ylabel("acceleration (g)", fontsize=8)
    axes[0, 0].legend(fontsize=7, loc="lower left")
    return fig


def plot_class_balance(prepared: Sequence[Prepared], axes: AxesLike = None) -> Figure:
    """Share of windows per class in each split, one panel per data set.

    Parameters
    ----------
    prepared : sequence of Prepared
        The prepared data sets.
    axes : sequence of matplotlib.axes.Axes, optional
        Draw into these (one per data set); default a new figure.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, axes = panels(axes, 1, len(prepared), figsize=(6 * len(prepared), 3.2), constrained_layout=True)
    for ax, p in zip(axes[0], prepared):
        table = split_table(p).drop(index="total")
        share = 100 * table[["train", "val", "test"]] / table[["train", "val", "test"]].sum(axis=0)
        share.plot.bar(ax=ax, rot=30, width=0.8)
        ax.set_title(f"{p.name}: windows per class (% of each split)")
        ax.set_ylabel("% of split")
        ax.set_xlabel("")
        ax.set_ylim(0, 1.25 * float(share.to_numpy().max()))
        ax.legend(ncol=3, fontsize=8, loc="upper center")
        ax.tick_params(axis="x", labelsize=8)
    return fig
