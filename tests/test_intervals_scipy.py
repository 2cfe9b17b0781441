"""The results chapter's intervals, recomputed from the run records with scipy alone.

Nothing here imports the project's statistics (``mglwkd_lite.stats``, ``mglwkd_lite.claims``) to
compute: the records are read as plain JSON, paired by (fold, seed), and the Nadeau-Bengio corrected
t interval is built with :func:`scipy.stats.t.interval`, the variance of the mean difference scaled by
``1/n + n_test/n_train`` (subjects of a fold). The project's table is then compared with it.
"""

import json
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from mglwkd_lite.data import subject_folds

RESULTS = Path(__file__).resolve().parents[1] / "results"
# A sweep is checked once all of its runs are on record (the group protocol's sweep lands fold by fold).
RUNS = {"folds": 140, "group_folds": 160}
SWEEPS = [name for name, n in RUNS.items() if len(list((RESULTS / name).glob("*/fold*/*/seed*.json"))) == n]
PAIRS = [("mglwkd", "scratch"), ("mglwkd", "kd_two_fixed"), ("mglwkd", "kd_two_avg"), ("mglwkd", "kd_two_mean_alpha")]
CONTROL = {"group_folds": [("mglwkd", "scratch_long")]}  # the warm start's control


def _scores(sweep: str, dataset: str, method: str, metric: str) -> dict[tuple[int, int], float]:
    out = {}
    for path in (RESULTS / sweep / dataset).glob(f"fold*/{method}/seed*.json"):
        record = json.loads(path.read_text())
        out[(record["spec"]["fold"], record["spec"]["seed"])] = record["metrics"]["test"][metric]
    return out


def _ratio(dataset: str) -> float:
    folds = subject_folds(dataset)
    everyone = sum(len(test) for test, _ in folds)
    return np.mean([len(t) for t, _ in folds]) / np.mean([everyone - len(t) - len(v) for t, v in folds])


def scipy_interval(sweep: str, dataset: str, a: str, b: str, metric: str) -> tuple[int, float, float, float]:
    """``(n, mean, low, high)`` in points of ``a`` minus ``b``, paired by (fold, seed)."""
    sa, sb = _scores(sweep, dataset, a, metric), _scores(sweep, dataset, b, metric)
    d = 100 * np.array([sa[k] - sb[k] for k in sorted(set(sa) & set(sb))])
    scale = np.sqrt(d.var(ddof=1) * (1 / len(d) + _ratio(dataset)))
    low, high = stats.t.interval(0.95, df=len(d) - 1, loc=d.mean(), scale=scale)
    return len(d), float(d.mean()), float(low), float(high)


@pytest.mark.parametrize("sweep", SWEEPS)
@pytest.mark.parametrize("dataset", ["hapt", "spsw"])
def test_the_chapters_intervals_recompute_with_scipy(sweep, dataset):
    from mglwkd_lite.claims import claims_table, method_name  # only to read the table being checked
    from mglwkd_lite.runrecord import load_runs

    table = claims_table(load_runs(RESULTS, sweep))
    for metric in ("accuracy", "macro_f1"):
        for a, b in PAIRS + CONTROL.get(sweep, []):
            row = table[(table["dataset"] == dataset) & (table["metric"] == metric)
                        & (table["a"] == method_name(a)) & (table["b"] == method_name(b))]
            assert len(row) == 1, (dataset, metric, a, b)
            n, mean, low, high = scipy_interval(sweep, dataset, a, b, metric)
            assert n == int(row["n"].iloc[0]) >= 10
            assert (mean, low, high) == pytest.approx(
                (row["mean"].iloc[0], row["low"].iloc[0], row["high"].iloc[0]), abs=1e-9), (dataset, metric, a, b)


def test_the_headline_interval_is_the_books():
    """HAPT, mGLW-KD minus scratch, test accuracy: the figure the book's first page quotes."""
    n, mean, low, high = scipy_interval("folds", "hapt", "mglwkd", "scratch", "accuracy")
    assert n == 10 and (round(mean, 2), round(low, 2), round(high, 2)) == (-0.59, -2.05, 0.86)
