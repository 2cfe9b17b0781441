"""Paired comparisons of two methods over subject folds and seeds, and the verdict rule of the book.

A claim such as "mGLW-KD beats the scratch student" is judged on the paired differences
``score(method) - score(baseline)``, one per (fold, seed) on which both were run with the same
teachers, folds and seed. The interval is the **corrected resampled t interval** of Nadeau and Bengio
(2003): the training sets of different folds overlap, so the differences are positively correlated and
the plain t interval is too narrow. Its variance is multiplied by ``1/J + n_test/n_train`` instead of
``1/J`` (``J`` paired differences; ``n_test/n_train`` the ratio of test to training subjects of a
fold). The t quantiles and tail areas come from :mod:`scipy.stats`; the paired Wilcoxon signed-rank
test (scipy) is reported beside it as a check that does not assume normality.

The verdict rule is fixed before looking at any result (the margins are module constants):

- ``"holds"``: the interval lies entirely above 0;
- ``"does not hold"``: the interval lies entirely below :data:`MARGIN` (the smallest gain the paper
  would call a gain: +1 point of accuracy or macro F1; the paper reports +3 to +5 points);
- ``"unclear"``: anything else (the data cannot tell the paper's gain from no gain);
- ``"too few runs"``: fewer than :data:`MIN_PAIRS` paired differences.

Beside the verdict, :func:`verdict_label` words the same interval more precisely (the rule itself is
unchanged): ``"worse"`` (the interval lies entirely below 0), ``"no gain of a point"`` (it crosses 0
but lies below the margin), ``"gain below a point"`` (entirely above 0 and entirely below the margin:
the rule says "holds", but the gain is smaller than the paper's smallest), ``"gain of a point or more"``
(entirely above the margin), ``"gain, size unclear"`` (above 0, reaching past the margin);
``"unclear"`` and ``"too few runs"`` as the rule. :func:`verdict_text` shows both, e.g.
``"does not hold (worse)"``.

Scores are fractions in ``[0, 1]``; differences and intervals are reported in percentage points.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Mapping

import numpy as np
from scipy import stats as sps

__all__ = [
    "MARGIN", "MIN_PAIRS", "CONFIDENCE", "VERDICTS", "StatsError", "PairedComparison",
    "paired_comparison", "verdict", "format_comparison", "verdict_label", "verdict_text",
]

MARGIN = 1.0
"""Smallest gain, in percentage points, that counts as a gain (fixed before the sweep was run)."""

MIN_PAIRS = 6
"""Fewest paired differences a verdict is given on (the fold sweep has 5 folds x 2 seeds = 10)."""

CONFIDENCE = 0.95
"""Coverage of the reported intervals."""

VERDICTS = ("holds", "does not hold", "unclear", "too few runs")


class StatsError(ValueError):
    """Scores that cannot be paired (different keys, NaN, out of range)."""


@dataclass(frozen=True)
class PairedComparison:
    """Paired differences of one method against a baseline, in percentage points.

    Attributes
    ----------
    n : int
        Number of paired differences (fold, seed).
    mean : float
        Mean difference.
    low, high : float
        Ends of the corrected ``CONFIDENCE`` interval (NaN when ``n < 2``).
    t_pvalue : float
        Two-sided p-value of the corrected resampled t test of a zero mean difference.
    wilcoxon_pvalue : float
        Two-sided p-value of scipy's Wilcoxon signed-rank test (NaN when every difference is 0 or
        ``n < 2``).
    wins : int
        Pairs where the method scored higher than the baseline.
    test_train_ratio : float
        The ``n_test / n_train`` used in the correction (0 gives the plain paired t interval).
    verdict : str
        One of :data:`VERDICTS`, from :func:`verdict`.
    """

    n: int
    mean: float
    low: float
    high: float
    t_pvalue: float
    wilcoxon_pvalue: float
    wins: int
    test_train_ratio: float
    verdict: str

    def as_dict(self) -> dict[str, float | int | str]:
        """The fields as a plain dict (a row of a results table)."""
        return asdict(self)


def _paired(method: Mapping, baseline: Mapping) -> np.ndarray:
    """Differences ``method - baseline`` in points over the keys both have, in sorted key order."""
    keys = sorted(set(method) & set(baseline), key=str)
    diffs = np.array([float(method[k]) - float(baseline[k]) for k in keys], dtype=np.float64) * 100.0
    if not np.isfinite(diffs).all():
        bad = [k for k, d in zip(keys, diffs) if not np.isfinite(d)]
        raise StatsError(f"non-finite score for the pair(s) {bad}")
    for name, scores in (("method", method), ("baseline", baseline)):
        out = [k for k in keys if not 0.0 <= float(scores[k]) <= 1.0]
        if out:
            raise StatsError(f"{name} scores must be fractions in [0, 1]; out of range at {out}")
    return diffs


def verdict(low: float, high: float, n: int, margin: float = MARGIN, min_pairs: int = MIN_PAIRS) -> str:
    """The book's verdict from a confidence interval (in points) and the number of pairs.

    Parameters
    ----------
    low, high : float
        Interval of the mean paired difference, in percentage points.
    n : int
        Number of paired differences behind it.
    margin : float
        Smallest gain that counts as a gain, in points.
    min_pairs : int
        Fewest pairs a verdict is given on.

    Returns
    -------
    str
        ``"too few runs"`` below ``min_pairs``; else ``"holds"`` when ``low > 0``; ``"does not hold"``
        when ``high < margin``; else ``"unclear"``.
    """
    if n < min_pairs or not (math.isfinite(low) and math.isfinite(high)):
        return "too few runs"
    if low > 0.0:
        return "holds"
    if high < margin:
        return "does not hold"
    return "unclear"


def _points(margin: float) -> str:
    """``"a point"`` for a margin of 1, else ``"2.5 points"``."""
    return "a point" if margin == 1.0 else f"{margin:g} points"


def verdict_label(low: float, high: float, n: int, margin: float = MARGIN, min_pairs: int = MIN_PAIRS) -> str:
    """A more precise wording of the interval than :func:`verdict`, which it never changes.

    Parameters
    ----------
    low, high, n, margin, min_pairs
        As in :func:`verdict`.

    Returns
    -------
    str
        ``"too few runs"`` where :func:`verdict` says so; ``"worse"`` when ``high < 0``; ``"no gain of a
        point"`` when ``low <= 0`` and ``high < margin`` (the interval crosses or touches 0, below the
        margin); ``"gain below a point"`` when ``low > 0`` and ``high < margin``; ``"gain of a point or
        more"`` when ``low >= margin``; ``"gain, size unclear"`` when ``0 < low < margin <= high``;
        else ``"unclear"``. "a point" reads "2 points" etc. for another margin.
    """
    rule = verdict(low, high, n, margin, min_pairs)
    if rule == "too few runs":
        return rule
    if high < 0.0:
        return "worse"
    if low > 0.0:
        if high < margin:
            return f"gain below {_points(margin)}"
        if low >= margin:
            return f"gain of {_points(margin)} or more"
        return "gain, size unclear"
    if high < margin:
        return f"no gain of {_points(margin)}"
    return "unclear"


def verdict_text(rule: str, label: str) -> str:
    """The rule's verdict with the finer label beside it: ``"does not hold (worse)"``.

    Parameters
    ----------
    rule : str
        From :func:`verdict`.
    label : str
        From :func:`verdict_label` for the same interval.

    Returns
    -------
    str
        ``rule`` alone where the label adds nothing (``"unclear"``, ``"too few runs"``).
    """
    return rule if label == rule else f"{rule} ({label})"


def paired_comparison(method: Mapping, baseline: Mapping, *, test_train_ratio: float,
                      confidence: float = CONFIDENCE, margin: float = MARGIN,
                      min_pairs: int = MIN_PAIRS) -> PairedComparison:
    """Compare two methods on the runs both have.

    Parameters
    ----------
    method, baseline : Mapping
        Scores (fractions in ``[0, 1]``) keyed by run, e.g. ``{(fold, seed): accuracy}``; only keys in
        both are paired.
    test_train_ratio : float
        ``n_test / n_train`` of a fold (subjects or windows; the book uses windows) for the
        Nadeau-Bengio correction; 0 gives the plain paired t interval.
    confidence : float
        Coverage of the interval.
    margin, min_pairs
        Passed to :func:`verdict`.

    Returns
    -------
    PairedComparison
    """
    if test_train_ratio < 0:
        raise StatsError(f"test_train_ratio must be >= 0, got {test_train_ratio}")
    d = _paired(method, baseline)
    n = len(d)
    mean = float(d.mean()) if n else math.nan
    low = high = t_p = w_p = math.nan
    if n >= 2:
        var = float(d.var(ddof=1)) * (1.0 / n + test_train_ratio)
        if var == 0.0:  # every difference equal: the interval is that point
            low = high = mean
            t_p = 1.0 if mean == 0.0 else 0.0
        else:
            se = math.sqrt(var)
            q = float(sps.t.ppf(0.5 + confidence / 2.0, df=n - 1))
            low, high = mean - q * se, mean + q * se
            t_p = float(2.0 * sps.t.sf(abs(mean) / se, df=n - 1))
        if np.any(d != 0.0):
            w_p = float(sps.wilcoxon(d, zero_method="zsplit").pvalue)
    return PairedComparison(n=n, mean=mean, low=low, high=high, t_pvalue=t_p, wilcoxon_pvalue=w_p,
                            wins=int((d > 0).sum()), test_train_ratio=float(test_train_ratio),
                            verdict=verdict(low, high, n, margin, min_pairs))


def format_comparison(c: PairedComparison) -> str:
    """``+0.75 [-0.40, +1.90] (wins 6/10)``: mean and interval in points, and the win count."""
    if c.n == 0:
        return "no paired runs"
    if not math.isfinite(c.low):
        return f"{c.mean:+.2f} (one pair)"
    return f"{c.mean:+.2f} [{c.low:+.2f}, {c.high:+.2f}] (wins {c.wins}/{c.n})"
