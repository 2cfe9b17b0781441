"""The paired comparison and the verdict rule, on constructed cases with known answers."""

import math

import numpy as np
import pytest
from scipy import stats as sps

from mglwkd_lite.stats import (MARGIN, MIN_PAIRS, StatsError, format_comparison, paired_comparison, verdict,
                               verdict_label, verdict_text)

KEYS = [(fold, seed) for fold in range(5) for seed in range(2)]


def scores(values):
    return dict(zip(KEYS, values))


BASE = scores(np.linspace(0.80, 0.89, 10))


def shifted(points):
    """The baseline plus a per-pair gain in percentage points."""
    return {k: BASE[k] + p / 100 for k, p in zip(KEYS, np.broadcast_to(points, (10,)))}


def test_plain_interval_is_scipys_paired_t_interval():
    rng = np.random.default_rng(0)
    gains = rng.normal(1.0, 2.0, 10)
    c = paired_comparison(shifted(gains), BASE, test_train_ratio=0.0)
    a = np.array([shifted(gains)[k] for k in KEYS]) * 100
    b = np.array([BASE[k] for k in KEYS]) * 100
    ref = sps.ttest_rel(a, b)
    lo, hi = ref.confidence_interval(0.95)
    assert (c.low, c.high) == pytest.approx((lo, hi))
    assert c.t_pvalue == pytest.approx(ref.pvalue)
    assert c.mean == pytest.approx(gains.mean())


def test_correction_widens_the_interval_by_the_nadeau_bengio_factor():
    gains = np.array([0.5, 1.5, -0.5, 2.0, 1.0, 0.0, 1.2, 0.8, 1.7, 0.3])
    plain = paired_comparison(shifted(gains), BASE, test_train_ratio=0.0)
    corrected = paired_comparison(shifted(gains), BASE, test_train_ratio=0.25)
    factor = math.sqrt((1 / 10 + 0.25) / (1 / 10))
    assert corrected.high - corrected.low == pytest.approx(factor * (plain.high - plain.low))
    assert corrected.t_pvalue > plain.t_pvalue


def test_holds_when_the_interval_is_above_zero():
    c = paired_comparison(shifted([3.0, 3.5, 2.5, 3.2, 2.8, 3.1, 2.9, 3.3, 2.7, 3.0]), BASE, test_train_ratio=0.25)
    assert c.low > 0 and c.verdict == "holds" and c.wins == 10


def test_does_not_hold_when_the_interval_is_below_the_margin():
    c = paired_comparison(shifted([-1.0, -0.5, 0.0, -0.8, -0.2, -0.6, -0.4, 0.1, -0.3, -0.7]), BASE,
                          test_train_ratio=0.25)
    assert c.high < MARGIN and c.verdict == "does not hold"


def test_a_small_positive_gain_below_the_margin_does_not_hold():
    c = paired_comparison(shifted([0.2, 0.3, 0.25, 0.2, 0.3, 0.2, 0.25, 0.3, 0.2, 0.25]), BASE,
                          test_train_ratio=0.25)
    # Above zero *and* below the margin: the rule checks "holds" first, so this one holds.
    assert c.low > 0 and c.high < MARGIN and c.verdict == "holds"


def test_unclear_when_the_interval_spans_zero_and_the_margin():
    c = paired_comparison(shifted([4.0, -3.0, 2.0, -1.0, 5.0, -4.0, 1.0, 3.0, -2.0, 0.5]), BASE,
                          test_train_ratio=0.25)
    assert c.low < 0 < MARGIN < c.high and c.verdict == "unclear"


def test_ties_give_a_point_interval_at_zero():
    c = paired_comparison(BASE, BASE, test_train_ratio=0.25)
    assert (c.mean, c.low, c.high, c.wins) == (0.0, 0.0, 0.0, 0)
    assert math.isnan(c.wilcoxon_pvalue) and c.t_pvalue == 1.0
    assert c.verdict == "does not hold"  # exactly no gain is below the smallest gain worth having


def test_too_few_pairs_get_no_verdict():
    few = {k: v for k, v in BASE.items() if k[0] < 2}  # 2 folds x 2 seeds = 4 pairs
    c = paired_comparison({k: v + 0.05 for k, v in few.items()}, few, test_train_ratio=0.25)
    assert c.n == 4 < MIN_PAIRS and c.verdict == "too few runs"
    one = paired_comparison({(0, 0): 0.9}, {(0, 0): 0.8}, test_train_ratio=0.25)
    assert one.n == 1 and math.isnan(one.low) and one.verdict == "too few runs"
    assert format_comparison(one) == "+10.00 (one pair)"


def test_only_shared_keys_are_paired():
    method = dict(shifted(1.0))
    del method[(4, 1)]
    method[(9, 9)] = 0.5
    assert paired_comparison(method, BASE, test_train_ratio=0.25).n == 9


def test_verdict_rule_edges():
    assert verdict(0.0, 2.0, 10) == "unclear"  # touching zero is not above it
    assert verdict(1e-9, 2.0, 10) == "holds"
    assert verdict(-2.0, MARGIN, 10) == "unclear"  # touching the margin is not below it
    assert verdict(-2.0, MARGIN - 1e-9, 10) == "does not hold"
    assert verdict(math.nan, math.nan, 10) == "too few runs"


@pytest.mark.parametrize("bad, match", [
    ({(0, 0): float("nan")}, "non-finite"),
    ({(0, 0): 1.5}, "fractions in"),
])
def test_bad_scores_are_named(bad, match):
    with pytest.raises(StatsError, match=match):
        paired_comparison(bad, {(0, 0): 0.5}, test_train_ratio=0.0)


def test_format():
    c = paired_comparison(shifted([3.0, 3.5, 2.5, 3.2, 2.8, 3.1, 2.9, 3.3, 2.7, 3.0]), BASE, test_train_ratio=0.25)
    assert format_comparison(c).startswith("+3.00 [+") and format_comparison(c).endswith("(wins 10/10)")


@pytest.mark.parametrize("low, high, rule, label", [
    (-3.0, -0.5, "does not hold", "worse"),
    (-2.0, 0.8, "does not hold", "no gain of a point"),
    (0.0, 0.0, "does not hold", "no gain of a point"),  # a tie: crosses (touches) 0, below the margin
    (-1e-9, 0.0, "does not hold", "no gain of a point"),  # touching 0 from below is not wholly below it
    (0.2, 0.8, "holds", "gain below a point"),
    (1.0, 2.5, "holds", "gain of a point or more"),
    (0.3, 2.5, "holds", "gain, size unclear"),
    (-0.5, 2.5, "unclear", "unclear"),
    (-2.0, MARGIN, "unclear", "unclear"),  # touching the margin is not below it
])
def test_verdict_labels_refine_the_rule_without_changing_it(low, high, rule, label):
    assert verdict(low, high, 10) == rule  # the rule as fixed in advance
    assert verdict_label(low, high, 10) == label


def test_labels_give_no_verdict_on_too_few_runs_and_follow_the_margin():
    assert verdict_label(-3.0, -1.0, MIN_PAIRS - 1) == "too few runs"
    assert verdict_label(math.nan, math.nan, 10) == "too few runs"
    assert verdict_label(-1.0, 1.5, 10, margin=2.0) == "no gain of 2 points"
    assert verdict_label(0.5, 1.5, 10, margin=2.0) == "gain below 2 points"


def test_verdict_text_keeps_the_rule_visible():
    assert verdict_text("does not hold", "worse") == "does not hold (worse)"
    assert verdict_text("holds", "gain below a point") == "holds (gain below a point)"
    assert verdict_text("unclear", "unclear") == "unclear"
    assert verdict_text("too few runs", "too few runs") == "too few runs"
