"""Persistence diagrams and images: the fast path against float64 references, ripser + persim, edge cases."""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import ndtr

from mglwkd_lite import topology as tp
from mglwkd_lite.topology import PIConfig, TopologyError

RAW = PIConfig(scaling="none")  # values used as given: exact control over the diagrams


# ----------------------------------------------------------------------------------------------
# independent float64 references


def union_find_pairs(x: np.ndarray) -> np.ndarray:
    """Finite 0-dim sublevel-set pairs of a 1-D signal by a plain union-find (elder rule), float64."""
    x = [float(v) for v in x]
    order = sorted(range(len(x)), key=lambda i: (x[i], i))
    parent = list(range(len(x)))
    added = [False] * len(x)
    pairs = []

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for i in order:  # roots are the oldest vertex of their component
        added[i] = True
        for j in (i - 1, i + 1):
            if 0 <= j < len(x) and added[j]:
                a, b = find(i), find(j)
                if a == b:
                    continue
                old, young = (a, b) if (x[a], a) < (x[b], b) else (b, a)
                if x[i] > x[young]:
                    pairs.append((x[young], x[i]))
                parent[young] = old
    return np.array(sorted(pairs), dtype=np.float64).reshape(-1, 2)


def gudhi_pairs(x: np.ndarray) -> np.ndarray:
    """Finite 0-dim pairs of the same filtration with gudhi's cubical complex (float64)."""
    gudhi = pytest.importorskip("gudhi")
    cc = gudhi.CubicalComplex(vertices=np.asarray(x, dtype=np.float64))
    pairs = [p for dim, p in cc.persistence() if dim == 0 and np.isfinite(p[1]) and p[1] > p[0]]
    return np.array(sorted(pairs), dtype=np.float64).reshape(-1, 2)


def dense_image(dgm: np.ndarray, cfg: PIConfig) -> np.ndarray:
    """The documented image of one (birth, death) diagram, evaluated densely over every pixel."""
    R = cfg.resolution
    img = np.zeros((R, R))
    if len(dgm) == 0:
        return img
    b, p = dgm[:, 0], dgm[:, 1] - dgm[:, 0]
    keep = p > cfg.cut
    b, p = b[keep], p[keep]
    if len(b) == 0:
        return img
    eb, ep = cfg.edges("birth"), cfg.edges("pers")
    for bi, pi in zip(b, p):
        gb = np.diff(ndtr((eb - bi) / cfg.axis_sigma("birth")))
        gp = np.diff(ndtr((ep - pi) / cfg.axis_sigma("pers")))
        img += (pi / p.max()) * np.outer(gp, gb)  # rows: persistence, columns: birth
    return img / img.max()


def persim_image(dgm: np.ndarray, cfg: PIConfig) -> np.ndarray:
    """``persim.PersistenceImager`` on a float64 diagram, transposed to the package layout."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from persim import PersistenceImager
    p = dgm[:, 1] - dgm[:, 0]
    dgm = dgm[p > cfg.cut]
    if len(dgm) == 0:
        return np.zeros((cfg.resolution, cfg.resolution))
    imager = PersistenceImager(birth_range=cfg.birth_range, pers_range=cfg.pers_range,
                               pixel_size=(cfg.birth_range[1] - cfg.birth_range[0]) / cfg.resolution,
                               weight="persistence", weight_params={"n": 1.0},
                               kernel_params={"sigma": [[cfg.sigma**2, 0.0], [0.0, cfg.sigma**2]]})
    img = np.asarray(imager.transform(dgm, skew=True)).T
    return img / img.max()


@pytest.fixture(scope="module")
def hapt() -> np.ndarray:
    """Real, normalised HAPT test windows (3 x 128): every 50th one, all six activities."""
    from mglwkd_lite.data import prepare

    test = prepare("hapt", "quick").test
    idx = np.arange(0, len(test), 50)
    return test.x[idx], test.y[idx]


def random_signals(rng: np.random.Generator, n: int, T: int) -> np.ndarray:
    """Smooth-ish and rough signals, some with many ties (integer levels)."""
    walk = rng.normal(size=(n, T)).cumsum(axis=1)
    noise = rng.normal(size=(n, T))
    ints = rng.integers(0, 5, size=(n, T)).astype(np.float64)
    return np.concatenate([walk, noise, ints])


# ----------------------------------------------------------------------------------------------
# diagrams


@pytest.mark.parametrize("T", [1, 2, 3, 4, 5, 8, 33, 128])
def test_diagrams_equal_union_find_and_gudhi(T: int) -> None:
    x = random_signals(np.random.default_rng(T), 30, T)
    fast = tp.persistence_diagrams(x[:, None, :], RAW, threshold=False)
    for n in range(len(x)):
        ref = union_find_pairs(x[n])
        np.testing.assert_allclose(fast[n][0], ref, rtol=0, atol=1e-9)
        np.testing.assert_allclose(fast[n][0], gudhi_pairs(x[n]), rtol=0, atol=1e-9)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(-3, 3), min_size=1, max_size=40))
def test_diagrams_equal_union_find_with_ties(values: list[int]) -> None:
    x = np.array(values, dtype=np.float64)
    fast = tp.persistence_diagrams(x[None, None, :], RAW, threshold=False)[0][0]
    np.testing.assert_array_equal(fast, union_find_pairs(x))


def test_diagrams_on_real_windows_equal_float64_references(hapt) -> None:
    x, _ = hapt
    scaled = tp.scale_windows(x[:12])
    fast = tp.persistence_diagrams(x[:12], threshold=False)
    for n in range(12):
        for c in range(3):
            ref = union_find_pairs(scaled[n, c])
            np.testing.assert_allclose(fast[n][c], ref, rtol=0, atol=1e-9)
            np.testing.assert_allclose(fast[n][c], gudhi_pairs(scaled[n, c]), rtol=0, atol=1e-9)


def test_diagrams_equal_ripser_within_float32(hapt) -> None:
    x, _ = hapt
    rng = np.random.default_rng(0)
    windows = np.concatenate([x[:20], rng.normal(size=(10, 3, 128)).cumsum(axis=2)])
    fast = tp.persistence_diagrams(windows)
    ref = tp.persistence_diagrams(windows, method="reference")
    for a, b in zip(fast, ref):
        for u, v in zip(a, b):
            assert u.shape == v.shape
            np.testing.assert_allclose(u, v, rtol=0, atol=1e-7)  # ripser rounds to float32


def test_threshold_keeps_only_persistent_pairs() -> None:
    x = np.array([0.0, 1.0, 0.5, 0.505, 0.2, 0.215, -1.0, 0.3])  # finite pers 1.0, 0.005, 0.015
    all_pairs = tp.persistence_diagrams(x[None, None], RAW, threshold=False)[0][0]
    kept = tp.persistence_diagrams(x[None, None], RAW)[0][0]
    assert np.all(all_pairs[:, 1] > all_pairs[:, 0])
    np.testing.assert_allclose(kept[:, 1] - kept[:, 0], [1.0, 0.015], atol=1e-12)
    assert len(all_pairs) == 3
    assert PIConfig().threshold == 0.01 and PIConfig(min_persistence=0.0).threshold == 1e-3
    # a pair exactly at the threshold, up to rounding, is dropped
    at_cut = np.array([0.0, 0.9, 0.1, 0.11 + 1e-12, 0.1 + 1e-12, 1.0, -1.0])
    pers = np.diff(tp.persistence_diagrams(at_cut[None, None], RAW)[0][0], axis=1).ravel()
    every = np.diff(tp.persistence_diagrams(at_cut[None, None], RAW, threshold=False)[0][0], axis=1).ravel()
    np.testing.assert_allclose(np.sort(every), [0.01, 0.8, 1.0], atol=1e-9)
    np.testing.assert_allclose(np.sort(pers), [0.8, 1.0], atol=1e-9)


# ----------------------------------------------------------------------------------------------
# images


def test_images_equal_dense_and_persim_float64() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(6, 2, 64)).cumsum(axis=2)
    for cfg in (PIConfig(), PIConfig(resolution=32, sigma=0.03), PIConfig(birth_range=(-0.5, 0.5), pers_range=(0.0, 1.0))):
        fast = tp.persistence_images(x, cfg, dtype=np.float64)
        dgms = tp.persistence_diagrams(x, cfg, threshold=False)
        for n in range(len(x)):
            for c in range(2):
                np.testing.assert_allclose(fast[n, c], dense_image(dgms[n][c], cfg), rtol=0, atol=1e-9)
                np.testing.assert_allclose(fast[n, c], persim_image(dgms[n][c], cfg), rtol=0, atol=1e-9)


def test_images_on_real_windows_equal_float64_reference(hapt) -> None:
    x, _ = hapt
    scaled = tp.scale_windows(x[:8])
    fast = tp.persistence_images(x[:8], dtype=np.float64)
    for n in range(8):
        for c in range(3):
            ref = dense_image(union_find_pairs(scaled[n, c]), PIConfig())
            np.testing.assert_allclose(fast[n, c], ref, rtol=0, atol=1e-9)


def test_float32_images_are_the_rounded_float64_ones(hapt) -> None:
    x, _ = hapt
    f32 = tp.persistence_images(x[:20])
    f64 = tp.persistence_images(x[:20], dtype=np.float64)
    assert f32.dtype == np.float32
    np.testing.assert_allclose(f32, f64, rtol=0, atol=5e-7)


def test_images_equal_ripser_persim_reference(hapt) -> None:
    x, _ = hapt
    windows = np.concatenate([x[:15], np.random.default_rng(2).normal(size=(5, 3, 128))])
    fast = tp.persistence_images(windows)
    ref = tp.persistence_images(windows, method="reference")
    assert ref.shape == fast.shape == (20, 3, 64, 64)
    np.testing.assert_allclose(fast, ref, rtol=0, atol=1e-5)  # ripser's float32 diagram values


def test_image_layout_birth_columns_persistence_rows() -> None:
    x = np.array([[[0.2, 0.6, -0.5]]])  # one finite pair: birth 0.2, persistence 0.4
    img = tp.persistence_images(x, RAW, dtype=np.float64)[0, 0]
    i, j = np.unravel_index(img.argmax(), img.shape)
    centres = (PIConfig().edges("birth")[:-1] + PIConfig().edges("birth")[1:]) / 2
    assert abs(centres[j] - 0.2) <= 1 / 64 and abs(centres[i] - 0.4) <= 1 / 64
    assert img.max() == 1.0


def test_real_windows_inside_the_image(hapt) -> None:
    x, y = hapt
    imgs = tp.persistence_images(x)
    has_signal = np.ptp(x, axis=2) > 0
    peaks = imgs.max(axis=(2, 3))
    assert np.all(peaks[has_signal] == 1.0), "a window channel with signal gave an empty image"
    clipped = tp.clipped_mass(x)
    assert clipped.shape == x.shape[:2]
    assert np.mean(clipped > 1e-6) < 0.05 and clipped.max() < 1e-9
    # every kept point lies in the documented box
    for dg in tp.persistence_diagrams(x[:30]):
        for d in dg:
            assert np.all(np.abs(d[:, 0]) <= 0.45 + 1e-12)
            assert np.all((d[:, 1] - d[:, 0] > 0.01) & (d[:, 1] - d[:, 0] <= 0.9 + 1e-12))
    assert len(set(y.tolist())) == 6


# ----------------------------------------------------------------------------------------------
# edge cases


def test_constant_and_monotone_windows_give_zero_images() -> None:
    T = 50
    x = np.stack([np.full((3, T), 2.5), np.tile(np.linspace(-1, 1, T), (3, 1)), np.tile(np.linspace(1, -3, T), (3, 1))])
    imgs = tp.persistence_images(x)
    assert imgs.shape == (3, 3, 64, 64) and np.all(imgs == 0)
    assert all(len(d) == 0 for dg in tp.persistence_diagrams(x, threshold=False) for d in dg)
    np.testing.assert_array_equal(tp.scale_windows(x[:1]), 0.0)


@pytest.mark.parametrize("T", [1, 2])
def test_very_short_windows(T: int) -> None:
    x = np.random.default_rng(0).normal(size=(4, 3, T))
    assert tp.persistence_images(x).shape == (4, 3, 64, 64)
    assert np.all(tp.persistence_images(x) == 0)
    assert np.all(tp.persistence_images(x, method="reference") == 0)


def test_ties_count_once() -> None:
    def pairs(values: list[float]) -> np.ndarray:
        return tp.persistence_diagrams(np.array(values, dtype=float)[None, None], RAW)[0][0]

    np.testing.assert_array_equal(pairs([0.0, 1.0, 0.0]), [[0.0, 1.0]])
    assert pairs([1.0, 0.0, 0.0, 1.0]).shape == (0, 2)  # a flat minimum is one component
    np.testing.assert_array_equal(pairs([0.0, 2.0, 0.0, 2.0, 0.0]), [[0.0, 2.0], [0.0, 2.0]])
    np.testing.assert_array_equal(pairs([2.0, 0.0, 1.0, 1.0, 0.0, 2.0, 1.0]), [[0.0, 1.0], [1.0, 2.0]])


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_values_name_the_window_and_channel(bad: float) -> None:
    x = np.zeros((3, 3, 20), dtype=np.float32)
    x[1, 2, 7] = bad
    with pytest.raises(TopologyError, match=r"window 1, channel 2 .*sample 7"):
        tp.persistence_images(x)
    with pytest.raises(TopologyError, match="window 1, channel 2"):
        tp.persistence_diagrams(x)


def test_bad_shapes_dtypes_and_settings() -> None:
    with pytest.raises(TopologyError, match=r"\(N, C, T\)"):
        tp.persistence_images(np.zeros((3, 20)))
    with pytest.raises(TopologyError, match="real"):
        tp.persistence_images(np.zeros((1, 1, 5), dtype=complex))
    with pytest.raises(TopologyError, match="method"):
        tp.persistence_images(np.zeros((1, 1, 5)), method="slow")
    with pytest.raises(TopologyError, match="resolution"):
        PIConfig(resolution=0)
    with pytest.raises(TopologyError, match="birth_range"):
        PIConfig(birth_range=(1.0, -1.0))
    with pytest.raises(TopologyError, match="sigma"):
        PIConfig(sigma=-1.0)
    with pytest.raises(TopologyError, match="scaling"):
        PIConfig(scaling="zscore")


def test_float32_float64_and_integer_input_agree() -> None:
    x = np.random.default_rng(3).integers(-50, 50, size=(5, 3, 40))
    ref = tp.persistence_images(x.astype(np.float64))
    np.testing.assert_array_equal(tp.persistence_images(x.astype(np.float32)), ref)
    np.testing.assert_array_equal(tp.persistence_images(x), ref)


def test_shapes_resolution_chunks_and_empty_batch() -> None:
    x = np.random.default_rng(4).normal(size=(7, 2, 30))
    a = tp.persistence_images(x, PIConfig(resolution=32), chunk_size=1)
    b = tp.persistence_images(x, PIConfig(resolution=32), chunk_size=100)
    assert a.shape == (7, 2, 32, 32) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    assert tp.persistence_images(np.zeros((0, 3, 10))).shape == (0, 3, 64, 64)
    assert tp.persistence_images(x, dtype=np.float64).dtype == np.float64
    assert np.all((a >= 0) & (a <= 1))


# ----------------------------------------------------------------------------------------------
# dataset-level scaling

FITTED = PIConfig(resolution=32, min_persistence=0.002, sigma_px=1.0)  # the pipeline's settings


def test_window_scaling_unchanged_and_ignores_the_dataset_settings(hapt) -> None:
    x, _ = hapt
    x = x[:10].astype(np.float64)
    mid, rng = (x.max(axis=2, keepdims=True) + x.min(axis=2, keepdims=True)) / 2, np.ptp(x, axis=2, keepdims=True)
    np.testing.assert_allclose(tp.scale_windows(x), 0.9 * (x - mid) / rng, rtol=0, atol=1e-12)
    other = PIConfig(channel_range=((-9.0, 9.0),) * 3, target_range=(-3.0, 3.0), clip=False)
    assert other.scaling == "window"
    np.testing.assert_array_equal(tp.persistence_images(x, other), tp.persistence_images(x))
    assert PIConfig().axis_sigma("birth") == PIConfig().axis_sigma("pers") == PIConfig().sigma


def test_dataset_scaling_maps_the_channel_range_and_clips() -> None:
    cfg = PIConfig(scaling="dataset", channel_range=((0.0, 2.0), (-1.0, 1.0)))
    x = np.array([[[0.0, 1.0, 2.0, 3.0, -5.0], [-1.0, 0.0, 1.0, 0.5, 7.0]]])
    np.testing.assert_allclose(tp.scale_windows(x, cfg), [[[0, 0.5, 1, 1, 0], [0, 0.5, 1, 0.75, 1]]], atol=1e-15)
    loose = PIConfig(scaling="dataset", channel_range=((0.0, 2.0), (-1.0, 1.0)), clip=False, target_range=(-1.0, 1.0))
    np.testing.assert_allclose(tp.scale_windows(x, loose)[0, 0], [-1, 0, 1, 2, -6], atol=1e-15)
    with pytest.raises(TopologyError, match="channel_range has 2 channel"):
        tp.scale_windows(x[:, :1], cfg)
    with pytest.raises(TopologyError, match="needs channel_range"):
        PIConfig(scaling="dataset")
    with pytest.raises(TopologyError, match="channel_range"):
        PIConfig(scaling="dataset", channel_range=((1.0, 1.0),))
    with pytest.raises(TopologyError, match="sigma_px"):
        PIConfig(sigma_px=0.0)


def test_fit_uses_training_windows_only_and_clips_the_others() -> None:
    rng = np.random.default_rng(12)
    train = rng.normal(size=(50, 3, 64)).cumsum(axis=2)
    cfg = tp.fit_dataset_scaling(train, FITTED)
    lo, hi = np.percentile(train, [0.1, 99.9], axis=(0, 2))
    np.testing.assert_allclose(np.asarray(cfg.channel_range), np.stack([lo, hi], axis=1), rtol=0, atol=1e-12)
    assert cfg.scaling == "dataset" and cfg.resolution == 32 and cfg.min_persistence == 0.002
    # other windows, however wild, never move the fit, and they land inside the target range
    test = 100 * rng.normal(size=(7, 3, 64))
    assert tp.fit_dataset_scaling(train, FITTED) == cfg
    scaled = tp.scale_windows(test, cfg)
    assert scaled.min() == 0.0 and scaled.max() == 1.0
    assert tp.fit_dataset_scaling(np.concatenate([train, test]), FITTED) != cfg
    # image ranges: kept training births from min to max and persistence up to its 99.9th percentile,
    # each padded by one pixel; sigma is one pixel on each axis
    (_, _), _, birth, pers = tp.window_pairs(train, cfg)
    (blo, bhi), (plo, phi) = cfg.birth_range, cfg.pers_range
    bpix, ppix = (bhi - blo) / 32, (phi - plo) / 32
    np.testing.assert_allclose([birth.min() - blo, bhi - birth.max()], [bpix, bpix], rtol=1e-9)
    assert plo == 0.0 and np.isclose(phi - np.percentile(pers, 99.9), ppix, rtol=1e-9)
    assert np.isclose(cfg.axis_sigma("birth"), bpix) and np.isclose(cfg.axis_sigma("pers"), ppix)
    assert tp.clipped_mass(train, cfg).mean() < 0.05  # 1-px pads: a few % of the weighted mass at the borders


def test_model_data_fits_on_the_training_split_only(monkeypatch: pytest.MonkeyPatch, request) -> None:
    from mglwkd_lite import pipeline

    # model_data computes once per process: start from nothing, and leave nothing of the fakes behind
    pipeline._model_data.cache_clear()
    request.addfinalizer(pipeline._model_data.cache_clear)
    real = pipeline.prepare
    seen: list[PIConfig] = []

    def no_images(x, cfg, **kwargs):
        seen.append(cfg)
        return np.zeros((len(x), 3, cfg.resolution, cfg.resolution), dtype=np.float32)

    def shifted(name, preset, **kwargs):
        out = real(name, preset, **kwargs)
        out.val.x[:] = 10 * out.val.x + 3
        out.test.x[:] = -out.test.x
        return out

    monkeypatch.setattr(pipeline, "cached_persistence_images", no_images)
    first = pipeline.model_data("pi_teacher", "hapt", "quick")
    monkeypatch.setattr(pipeline, "prepare", shifted)
    assert pipeline.model_data("pi_teacher", "hapt", "quick") is first  # once per process and arguments
    pipeline._model_data.cache_clear()
    second = pipeline.model_data("pi_teacher", "hapt", "quick")
    assert first.pi_config == second.pi_config and first.pi_config.scaling == "dataset"
    assert all(cfg == first.pi_config for cfg in seen)  # every split under the one fitted config
    setup = pipeline.ModelsPreset.preset("quick")
    assert (setup.pi_scaling, setup.pi_percentiles, setup.pi_min_persistence, setup.pi_sigma_px) == (
        "dataset", (0.1, 99.9), 0.002, 1.0)
    assert first.pi_config.sigma_px == 1.0 and first.pi_config.min_persistence == 0.002
    assert pipeline.model_data("student", "hapt", "quick").pi_config is None


def test_fast_path_equals_references_on_dataset_scaled_windows(hapt) -> None:
    x, _ = hapt
    cfg = tp.fit_dataset_scaling(x, FITTED)
    windows = x[:12]
    fast = tp.persistence_images(windows, cfg, dtype=np.float64)
    scaled = tp.scale_windows(windows, cfg)
    for n in range(4):
        for c in range(3):
            ref = dense_image(union_find_pairs(scaled[n, c]), cfg)
            np.testing.assert_allclose(fast[n, c], ref, rtol=0, atol=1e-9)
    ref = tp.persistence_images(windows, cfg, method="reference")  # ripser + persim, non-square pixels
    np.testing.assert_allclose(fast, ref, rtol=0, atol=1e-4)  # ripser's float32 values, on a narrow range


def test_transformer_fits_the_dataset_range_on_its_input() -> None:
    from sklearn.base import clone

    rng = np.random.default_rng(13)
    train, other = rng.normal(size=(20, 3, 40)).cumsum(axis=2), 5 * rng.normal(size=(6, 3, 40))
    tr = tp.PersistenceImageTransformer(scaling="dataset", resolution=16, min_persistence=0.002, sigma_px=1.0)
    tr.fit(train)
    cfg = tp.fit_dataset_scaling(train, PIConfig(resolution=16, min_persistence=0.002, sigma_px=1.0))
    assert tr.config_ == cfg
    np.testing.assert_array_equal(tr.transform(other), tp.persistence_images(other, cfg))
    assert tr.config_ == cfg  # transform does not refit
    assert clone(tr).get_params()["scaling"] == "dataset"
    assert tp.PersistenceImageTransformer.from_config(cfg).fit(train).config_ == cfg


def test_cache_key_changes_with_each_new_setting(tmp_path: Path) -> None:
    x = np.random.default_rng(14).normal(size=(4, 3, 30))
    base = tp.fit_dataset_scaling(x, FITTED)
    changes = [{"channel_range": ((-1.0, 1.0),) * 3}, {"target_range": (-1.0, 1.0)}, {"clip": False},
               {"sigma_px": 0.5}, {"sigma_px": None}, {"min_persistence": 0.01},
               {"birth_range": (0.0, 1.0)}, {"pers_range": (0.0, 0.5)}]
    paths = {tp.pi_cache_path(x, base, tmp_path)}
    for change in changes:
        paths.add(tp.pi_cache_path(x, dataclasses.replace(base, **change), tmp_path))
    paths.add(tp.pi_cache_path(x, dataclasses.replace(base, scaling="window"), tmp_path))
    assert len(paths) == len(changes) + 2


# ----------------------------------------------------------------------------------------------
# transformer and cache


def test_transformer_api() -> None:
    from sklearn.base import clone
    from sklearn.exceptions import NotFittedError
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    x = np.random.default_rng(5).normal(size=(12, 3, 40))
    y = np.arange(12) % 2
    tr = tp.PersistenceImageTransformer(resolution=16, sigma=0.05)
    with pytest.raises(NotFittedError):
        tr.transform(x)
    assert tr.fit(x) is tr and tr.n_channels_in_ == 3
    cfg = PIConfig(resolution=16, sigma=0.05)
    np.testing.assert_array_equal(tr.transform(x), tp.persistence_images(x, cfg))
    assert clone(tr).get_params()["sigma"] == 0.05
    assert tp.PersistenceImageTransformer.from_config(cfg).config() == cfg
    flat = tp.PersistenceImageTransformer.from_config(cfg, flatten=True).fit_transform(x)
    assert flat.shape == (12, 3 * 16 * 16)
    pipe = make_pipeline(tp.PersistenceImageTransformer(resolution=8, flatten=True), LogisticRegression(max_iter=200))
    assert pipe.fit(x, y).predict(x).shape == (12,)
    with pytest.raises(TopologyError, match="channels|shape"):
        tr.transform(x[:, :2])


def test_cache_reuses_and_separates_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    x = np.random.default_rng(6).normal(size=(9, 3, 30)).astype(np.float32)
    first = tp.cached_persistence_images(x, cache_dir=tmp_path, progress=False)
    np.testing.assert_array_equal(first, tp.persistence_images(x))
    files = list((tmp_path / "pi").iterdir())
    assert len(files) == 1 and files[0].suffix == ".npz"  # no temporary left behind

    def boom(*args, **kwargs):
        raise AssertionError("recomputed although cached")

    monkeypatch.setattr(tp, "persistence_images", boom)
    np.testing.assert_array_equal(tp.cached_persistence_images(x, cache_dir=tmp_path), first)
    monkeypatch.undo()
    # another setting or other windows never reuse the file
    assert tp.pi_cache_path(x, PIConfig(sigma=0.02), tmp_path) != files[0]
    assert tp.pi_cache_path(x[:, :, ::-1].copy(), PIConfig(), tmp_path) != files[0]
    other = tp.cached_persistence_images(x, PIConfig(resolution=16), cache_dir=tmp_path, progress=False)
    assert other.shape == (9, 3, 16, 16) and len(list((tmp_path / "pi").iterdir())) == 2


def test_cache_replaces_a_damaged_file(tmp_path: Path) -> None:
    x = np.random.default_rng(7).normal(size=(4, 3, 30))
    path = tp.pi_cache_path(x, PIConfig(), tmp_path)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not an npz file")
    imgs = tp.cached_persistence_images(x, cache_dir=tmp_path, progress=False)
    np.testing.assert_array_equal(imgs, tp.persistence_images(x))
    np.testing.assert_array_equal(tp.cached_persistence_images(x, cache_dir=tmp_path), imgs)


def test_parallel_equals_serial(tmp_path: Path) -> None:
    x = np.random.default_rng(8).normal(size=(40, 3, 50))
    par = tp.cached_persistence_images(x, cache_dir=tmp_path, n_jobs=2, parallel_min=10, progress=False)
    np.testing.assert_array_equal(par, tp.persistence_images(x, chunk_size=7))


def test_out_argument() -> None:
    x = np.random.default_rng(9).normal(size=(5, 3, 30))
    buf = np.full((5, 3, 64, 64), 7.0, dtype=np.float32)
    assert tp.persistence_images(x, out=buf) is buf
    np.testing.assert_array_equal(buf, tp.persistence_images(x))
    with pytest.raises(TopologyError, match="out must be"):
        tp.persistence_images(x, out=np.zeros((5, 3, 32, 32), dtype=np.float32))


def test_pair_counts_and_elder_pairs_agree_with_the_diagrams() -> None:
    x = np.random.default_rng(10).normal(size=(6, 3, 40))
    x[2, 1] = 0.5  # a constant channel: no pairs
    counts = tp.pair_counts(x)
    assert counts.shape == (6, 3) and counts.dtype == np.int64 and counts[2, 1] == 0
    assert counts.tolist() == [[len(d) for d in dg] for dg in tp.persistence_diagrams(x)]
    # elder_pairs on the scaled signal: the kept minima are the diagram's births, at their positions
    sig = tp.scale_windows(x[:1, :1])[0, 0]
    _, birth, death, position = tp.elder_pairs(sig[None])
    kept = death - birth > PIConfig().cut
    np.testing.assert_array_equal(np.sort(sig[position[kept]]), np.sort(tp.persistence_diagrams(x[:1, :1])[0][0][:, 0]))


def test_report_tables_and_figures() -> None:
    import matplotlib

    matplotlib.use("Agg")
    from mglwkd_lite.report import topology as rt

    x = np.cumsum(np.random.default_rng(11).normal(size=(30, 3, 64)), axis=2)
    y = np.arange(30) % 3
    table = rt.pairs_table(x, y, ["a", "b", "c"])
    assert list(table.index) == ["a", "b", "c"] and table["windows"].tolist() == [10, 10, 10]
    assert table.loc["a", "pairs per channel (mean)"] == round(float(tp.pair_counts(x)[y == 0].mean()), 1)
    fig = rt.plot_examples(x, y, ["a", "b", "c"], show=["b"])
    assert len(fig.axes) == 3
    fig = rt.plot_class_means(tp.persistence_images(x, PIConfig(resolution=16)), y, ["a", "b", "c"], PIConfig(resolution=16))
    assert len(fig.axes) == 9
    paths = rt.compare_paths(x[:6], PIConfig(resolution=16), n_reference=3, repeats=1)
    assert paths["speed-up"].iloc[0] == 1.0 and float(paths["max abs difference"].iloc[1]) < 1e-5
