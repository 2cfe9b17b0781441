"""Tables and figures of the persistence-image chapter (notebook 02), and its linear probe.

Every table is a :class:`pandas.DataFrame` and every figure a :class:`matplotlib.figure.Figure`;
the images and diagrams come from :mod:`mglwkd_lite.topology`.
"""

from __future__ import annotations

import dataclasses
import time
import warnings
from typing import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from ..timing import time_call
from ..topology import (
    PIConfig, clipped_mass, elder_pairs, pair_counts, persistence_diagrams, persistence_images, scale_windows,
)
from ._figure import AxesLike, panels

__all__ = [
    "pairs_table", "plot_examples", "plot_class_means", "plot_scalings", "empty_share", "linear_probe",
    "probe_by_class", "compare_paths",
]


def pairs_table(windows: np.ndarray, y: np.ndarray, classes: Sequence[str], cfg: PIConfig = PIConfig(),
                images: np.ndarray | None = None) -> pd.DataFrame:
    """Per class: windows, kept pairs per channel, empty images and clipped mass.

    Parameters
    ----------
    windows : numpy.ndarray
        ``(N, C, T)`` windows.
    y : numpy.ndarray
        ``(N,)`` class indices into ``classes``.
    classes : sequence of str
        Class names (one row each).
    cfg : PIConfig
        Image settings.
    images : numpy.ndarray, optional
        Their images, if already computed (else computed here).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``"class"``.
    """
    x = np.asarray(windows)
    y = np.asarray(y)
    if images is None:
        images = persistence_images(x, cfg)
    N, C, _ = x.shape
    points = pair_counts(x, cfg)
    signal = np.ptp(x, axis=2) > 0
    empty = (images.reshape(N, C, -1).max(axis=2) == 0) & signal
    clipped = clipped_mass(x, cfg)
    rows = []
    for k, name in enumerate(classes):
        m = y == k
        rows.append({
            "class": name,
            "windows": int(m.sum()),
            "pairs per channel (mean)": round(float(points[m].mean()), 1) if m.any() else np.nan,
            "pairs per channel (min-max)": f"{points[m].min()}-{points[m].max()}" if m.any() else "",
            "empty images (with signal)": int(empty[m].sum()),
            "constant channels": int((~signal[m]).sum()),
            "max clipped mass": f"{clipped[m].max():.0e}" if m.any() else "",
        })
    return pd.DataFrame(rows).set_index("class")


def plot_examples(windows: np.ndarray, y: np.ndarray, classes: Sequence[str], show: Sequence[str],
                  cfg: PIConfig = PIConfig(), channel: int = 0, index: Sequence[int] | None = None,
                  axes: AxesLike = None) -> Figure:
    """One row per activity: the scaled signal, its diagram and its persistence image (one channel).

    Parameters
    ----------
    windows, y : numpy.ndarray
        Windows ``(N, C, T)`` and their class indices ``(N,)`` into ``classes``.
    classes : sequence of str
        Class names.
    show : sequence of str
        Names of the classes to draw (one window each: the first of the class unless ``index``).
    cfg : PIConfig
        Image settings.
    channel : int
        The channel (axis) to draw.
    index : sequence of int, optional
        The window to draw for each name of ``show``.
    axes : array of matplotlib.axes.Axes, optional
        Draw into these (one row per name of ``show``, three columns); default a new figure.

    Returns
    -------
    matplotlib.figure.Figure
    """
    x = np.asarray(windows)
    fig, axes = panels(axes, len(show), 3, figsize=(10.5, 2.5 * len(show)),
                       gridspec_kw={"width_ratios": [2.2, 1, 1]})
    lo, hi = cfg.pers_range
    if cfg.channel_range is not None:  # one channel is drawn: keep its own dataset range
        cfg = dataclasses.replace(cfg, channel_range=(cfg.channel_range[channel],))
    for r, name in enumerate(show):
        k = list(classes).index(name)
        n = int(index[r]) if index is not None else int(np.flatnonzero(np.asarray(y) == k)[0])
        sig = scale_windows(x[n : n + 1, channel : channel + 1], cfg)[0, 0]
        dgm = persistence_diagrams(x[n : n + 1, channel : channel + 1], cfg)[0][0]
        img = persistence_images(x[n : n + 1, channel : channel + 1], cfg)[0, 0]
        ax = axes[r, 0]
        ax.plot(sig, lw=1, color="0.2")
        _, b, d, births = elder_pairs(sig[None])
        births = births[d - b > cfg.cut]
        ax.plot(births, sig[births], "v", ms=4, color="tab:blue", label="birth of a kept component")
        ax.set_ylabel(name.replace("_", " ").lower(), fontsize=9)
        ax.set_xlim(0, len(sig) - 1)
        if r == 0:
            ax.set_title(f"scaled signal (channel {channel})", fontsize=10)
            ax.legend(fontsize=7, loc="upper right")
        ax = axes[r, 1]
        ax.scatter(dgm[:, 0], dgm[:, 1] - dgm[:, 0], s=9, color="tab:blue")
        ax.set_xlim(*cfg.birth_range)
        ax.set_ylim(lo, hi)
        ax.axhline(cfg.threshold, color="tab:red", lw=0.6, ls="--")
        ax.set_xlabel("birth", fontsize=8)
        ax.set_ylabel("persistence", fontsize=8)
        if r == 0:
            ax.set_title(f"diagram ({len(dgm)} pairs)", fontsize=10)
        else:
            ax.set_title(f"{len(dgm)} pairs", fontsize=8)
        ax = axes[r, 2]
        ax.imshow(img, origin="lower", extent=(*cfg.birth_range, *cfg.pers_range), cmap="magma", aspect="auto")
        ax.set_xlabel("birth", fontsize=8)
        if r == 0:
            ax.set_title(f"persistence image ({cfg.resolution}x{cfg.resolution})", fontsize=10)
    fig.tight_layout()
    return fig


def plot_class_means(images: np.ndarray, y: np.ndarray, classes: Sequence[str], cfg: PIConfig = PIConfig(),
                     zoom: bool = True, axes: AxesLike = None) -> Figure:
    """Mean persistence image per class (rows) and channel (columns); each panel has its own colours.

    Parameters
    ----------
    images : numpy.ndarray
        ``(N, C, R, R)`` images.
    y : numpy.ndarray
        ``(N,)`` class indices into ``classes``.
    classes : sequence of str
        Class names (one row each).
    cfg : PIConfig
        The settings the images were made with.
    zoom : bool
        Crop to the region the default scaling can reach (birth in ``[-span/2, span/2]``,
        persistence in ``[0, span]``).
    axes : array of matplotlib.axes.Axes, optional
        Draw into these (one row per class, one column per channel); default a new figure.

    Returns
    -------
    matplotlib.figure.Figure
    """
    images = np.asarray(images)
    y = np.asarray(y)
    C = images.shape[1]
    fig, axes = panels(axes, len(classes), C, figsize=(2.3 * C + 1, 1.9 * len(classes)))
    extent = (*cfg.birth_range, *cfg.pers_range)
    for k, name in enumerate(classes):
        mean = images[y == k].mean(axis=0)
        for c in range(C):
            ax = axes[k, c]
            ax.imshow(mean[c], origin="lower", extent=extent, cmap="magma", aspect="auto")
            if zoom and cfg.scaling == "window":
                half = cfg.span / 2 + 3 * cfg.sigma
                ax.set_xlim(-half, half)
                ax.set_ylim(0, cfg.span + 3 * cfg.sigma)
            ax.tick_params(labelsize=6)
            if k == 0:
                ax.set_title(f"channel {c}", fontsize=9)
            if c == 0:
                ax.set_ylabel(name.replace("_", " ").lower(), fontsize=8)
    fig.supxlabel("birth", fontsize=9)
    fig.supylabel("persistence", fontsize=9)
    fig.tight_layout()
    return fig


def linear_probe(features: dict[str, tuple[np.ndarray, np.ndarray]], y_train: np.ndarray, y_test: np.ndarray,
                 max_train: int | None = 2000, seed: int = 0, max_iter: int = 300) -> pd.DataFrame:
    """Logistic regression on flattened features; accuracy and macro F1 on the test set.

    The probe is the chapter's experiment: do the images carry class information that a linear
    model can read, beside the raw window?

    Parameters
    ----------
    features : dict of str to tuple of numpy.ndarray
        ``name -> (train_features, test_features)``, any shapes ``(N, ...)`` (flattened here).
    y_train, y_test : numpy.ndarray
        Class indices.
    max_train : int or None
        Keep a seeded random subset of this many training windows (speed); ``None`` keeps all.
    seed : int
        Seed of that subset.
    max_iter : int
        Most iterations of the solver (an unconverged fit shows in the ``iterations`` column).

    Returns
    -------
    pandas.DataFrame
        One row per feature set: dimensions, training windows, iterations, accuracy, macro F1.
    """
    y_train, y_test = np.asarray(y_train), np.asarray(y_test)
    rng = np.random.default_rng(seed)
    pick = np.arange(len(y_train))
    if max_train is not None and len(pick) > max_train:
        pick = np.sort(rng.choice(len(pick), size=max_train, replace=False))
    rows = []
    for name, (tr, te) in features.items():
        # float64: tiny float32 pixel values give a float32 variance of 0 and StandardScaler divides by it.
        tr = np.asarray(tr, dtype=np.float64).reshape(len(y_train), -1)[pick]
        te = np.asarray(te, dtype=np.float64).reshape(len(y_test), -1)
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=max_iter))
        # One BLAS thread: on a small shared machine, threaded BLAS on these small matrices is many
        # times slower. An unconverged fit is reported in the table, not as a warning.
        with threadpool_limits(1), warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            pred = model.fit(tr, y_train[pick]).predict(te)
        rows.append({"features": name, "dimensions": tr.shape[1], "training windows": len(pick),
                     "iterations": int(model[-1].n_iter_.max()),
                     "accuracy": accuracy_score(y_test, pred), "macro F1": f1_score(y_test, pred, average="macro")})
    return pd.DataFrame(rows).set_index("features")


def plot_scalings(windows: np.ndarray, y: np.ndarray, classes: Sequence[str], show: Sequence[str],
                  cfgs: dict[str, PIConfig], index: Sequence[int] | None = None, axes: AxesLike = None) -> Figure:
    """The same windows under several image settings: one row per window, every channel's image.

    Parameters
    ----------
    windows, y : numpy.ndarray
        Windows ``(N, C, T)`` (after the data normaliser) and their class indices ``(N,)``.
    classes : sequence of str
        Class names.
    show : sequence of str
        Names of the classes to draw (one window each: the first of the class unless ``index``).
    cfgs : dict of str to PIConfig
        ``label -> settings``; each gets ``C`` columns of images (channel 0, 1, ...).
    index : sequence of int, optional
        The window to draw for each name of ``show``.
    axes : array of matplotlib.axes.Axes, optional
        Draw into these (one row per name of ``show``, ``1 + C * len(cfgs)`` columns); default a new figure.

    Returns
    -------
    matplotlib.figure.Figure
        Left column: the window's channels as given (the level each axis sits at is the posture);
        then, per setting and channel, the persistence image on that setting's ranges.
    """
    x = np.asarray(windows)
    C = x.shape[1]
    ncol = 1 + C * len(cfgs)
    fig, axes = panels(axes, len(show), ncol, figsize=(1.9 * ncol + 1.2, 1.9 * len(show)),
                       gridspec_kw={"width_ratios": [1.8] + [1] * (ncol - 1)})
    for r, name in enumerate(show):
        k = list(classes).index(name)
        n = int(index[r]) if index is not None else int(np.flatnonzero(np.asarray(y) == k)[0])
        ax = axes[r, 0]
        for c in range(C):
            ax.plot(x[n, c], lw=0.8, label=f"channel {c}")
        ax.set_ylabel(name.replace("_", " ").lower(), fontsize=9)
        ax.tick_params(labelsize=6)
        if r == 0:
            ax.set_title("window (normalised)", fontsize=9)
            ax.legend(fontsize=6, loc="upper right")
        for s, (label, cfg) in enumerate(cfgs.items()):
            imgs = persistence_images(x[n : n + 1], cfg)[0]
            counts = pair_counts(x[n : n + 1], cfg)[0]
            for c in range(C):
                ax = axes[r, 1 + s * C + c]
                ax.imshow(imgs[c], origin="lower", extent=(*cfg.birth_range, *cfg.pers_range), cmap="magma",
                          aspect="auto")
                ax.tick_params(labelsize=5)
                ax.text(0.03, 0.92, f"{counts[c]} pairs", transform=ax.transAxes, fontsize=6, color="w", va="top")
                if r == 0:
                    ax.set_title(f"{label}\nchannel {c}", fontsize=8)
    fig.supxlabel("birth (image x axis)", fontsize=9)
    fig.tight_layout()
    return fig


def empty_share(parts: dict[str, tuple[np.ndarray, np.ndarray]], classes: Sequence[str],
                cfgs: dict[str, PIConfig]) -> pd.DataFrame:
    """Share of channel images without any kept pair (all-zero images), per class, setting and split.

    Parameters
    ----------
    parts : dict of str to tuple of numpy.ndarray
        ``split -> (windows (N, C, T), class indices (N,))``.
    classes : sequence of str
        Class names (one row each).
    cfgs : dict of str to PIConfig
        ``label -> settings`` (the scaling and the cut decide which pairs are kept).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``"class"`` (plus a row ``"all"``); columns ``(setting, split)``.
    """
    table = {}
    for label, cfg in cfgs.items():
        for split, (x, y) in parts.items():
            empty = pair_counts(x, cfg) == 0
            y = np.asarray(y)
            col = [float(empty[y == k].mean()) if (y == k).any() else np.nan for k in range(len(classes))]
            table[(label, split)] = [*col, float(empty.mean())]
    out = pd.DataFrame(table, index=pd.Index([*classes, "all"], name="class"))
    out.columns = pd.MultiIndex.from_tuples(out.columns, names=["setting", "split"])
    return out


def probe_by_class(features: dict[str, dict[str, np.ndarray]], y: dict[str, np.ndarray], classes: Sequence[str],
                   fit_on: str = "train", max_train: int | None = 2000, seed: int = 0,
                   max_iter: int = 300) -> pd.DataFrame:
    """Logistic regression fitted once per feature set, scored on every other split, per class.

    Parameters
    ----------
    features : dict of str to dict of str to numpy.ndarray
        ``name -> {split -> features (N, ...)}`` (flattened here, cast to float64).
    y : dict of str to numpy.ndarray
        ``split -> class indices``; must hold ``fit_on`` and every split to score.
    classes : sequence of str
        Class names (one F1 column each).
    fit_on : str
        The split the probe is fitted on (a seeded subset of ``max_train`` windows of it).
    max_train : int or None
        Training windows kept (``None``: all).
    seed : int
        Seed of that subset.
    max_iter : int
        Most iterations of the solver.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``(features, split)``; columns accuracy, macro F1 and the F1 of each class.
    """
    y_fit = np.asarray(y[fit_on])
    pick = np.arange(len(y_fit))
    if max_train is not None and len(pick) > max_train:
        pick = np.sort(np.random.default_rng(seed).choice(len(pick), size=max_train, replace=False))
    labels = np.arange(len(classes))
    rows = []
    for name, parts in features.items():
        tr = np.asarray(parts[fit_on], dtype=np.float64).reshape(len(y_fit), -1)[pick]
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=max_iter))
        with threadpool_limits(1), warnings.catch_warnings():  # see linear_probe
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(tr, y_fit[pick])
        for split, values in parts.items():
            if split == fit_on:
                continue
            truth = np.asarray(y[split])
            pred = model.predict(np.asarray(values, dtype=np.float64).reshape(len(truth), -1))
            per_class = f1_score(truth, pred, labels=labels, average=None, zero_division=0)
            rows.append({"features": name, "split": split, "accuracy": accuracy_score(truth, pred),
                         "macro F1": f1_score(truth, pred, labels=labels, average="macro", zero_division=0),
                         **{f"F1 {c.replace('_', ' ').lower()}": float(v) for c, v in zip(classes, per_class)}})
    return pd.DataFrame(rows).set_index(["features", "split"])


def compare_paths(windows: np.ndarray, cfg: PIConfig = PIConfig(), n_reference: int = 100,
                  repeats: int = 3) -> pd.DataFrame:
    """Time the reference and the fast path on the same windows (this process, CPU time).

    Parameters
    ----------
    windows : numpy.ndarray
        ``(N, C, T)`` windows; the fast path runs on all of them.
    cfg : PIConfig
        Image settings.
    n_reference : int
        The reference path runs once on the first ``n_reference`` windows (it is slow).
    repeats : int
        Fewest timed rounds of the fast path (the best round is kept).

    Returns
    -------
    pandas.DataFrame
        One row per path: ms per window, windows per second, the speed-up, and the largest
        difference between their images on the windows both computed.
    """
    x = np.asarray(windows)
    ref_x = x[:n_reference]
    # The outputs compared are also the warm-up of both paths (imports, first-call costs).
    ref = persistence_images(ref_x, cfg, method="reference")
    fast = persistence_images(x, cfg)
    ref_s = time_call(lambda: persistence_images(ref_x, cfg, method="reference"), repeat=1, number=1,
                      timer=time.process_time).min() / len(ref_x)
    fast_s = time_call(lambda: persistence_images(x, cfg), repeat=repeats, timer=time.process_time).min() / len(x)
    diff = float(np.abs(fast[: len(ref_x)] - ref).max())
    return pd.DataFrame(
        {"ms per window": [round(1e3 * ref_s, 3), round(1e3 * fast_s, 3)],
         "windows per s": [round(1 / ref_s), round(1 / fast_s)],
         "speed-up": [1.0, round(ref_s / fast_s, 1)], "max abs difference": ["", f"{diff:.1e}"]},
        index=pd.Index([f"reference (ripser + persim), {len(ref_x)} windows", f"fast, {len(x)} windows"], name="path"),
    )
