"""Tests of the distillation losses, the dynamic coefficient, the method configs and the shipped student."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from mglwkd_lite import distill as D
from mglwkd_lite import losses as L
from mglwkd_lite import pipeline
from mglwkd_lite.checkpoint import read_checkpoint
from mglwkd_lite.models import wrn1d, wrn2d
from mglwkd_lite.report import distillation as R
from mglwkd_lite.report import workspace as RW
from mglwkd_lite.train import TrainConfig
from mglwkd_lite.workspace import kts_as_kis


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def _dist(n, k, l, dim_slots=1):
    return torch.softmax(torch.randn(n, k, l) * 2, dim=dim_slots)


# ----------------------------------------------------------------------------- losses


def test_kd_stored_values():
    s = torch.tensor([[1.0, 0.0, -1.0], [0.5, 2.0, 0.0]])
    t = torch.tensor([[0.0, 1.0, 0.0], [2.0, 0.0, 1.0]])
    # float64 reference: T^2 * mean_n sum_c p_t log(p_t / p_s)
    assert float(L.kd_loss(s, t, 4.0)) == pytest.approx(0.8047490435436933, rel=1e-6)
    assert float(L.kd_loss(s, t, 1.0)) == pytest.approx(0.696778320719597, rel=1e-6)


def test_logit_standardisation_as_the_groups_code():
    s, t = torch.randn(5, 6) * 3, torch.randn(5, 6) * 2 + 1
    std_s, std_t = s.std(1, keepdim=True), t.std(1, keepdim=True)
    # TDA_KD/train_ad.py: KL(softmax(2 t / std_t) || softmax(2 s / std_s)) * T^2, CE on s / std_s
    ref = torch.nn.functional.kl_div(torch.log_softmax(2 * s / std_s, 1), torch.softmax(2 * t / std_t, 1),
                                     reduction="batchmean") * 16
    assert float(L.kd_loss(s, t, 4.0, standardise=True)) == pytest.approx(float(ref), rel=1e-5)
    # invariant to each sample's logit scale
    assert float(L.kd_loss(s * 7, t * 0.1, 4.0, standardise=True)) == pytest.approx(float(ref), rel=1e-4)
    y = torch.arange(5) % 6
    ce = torch.nn.functional.cross_entropy(s / std_s, y)
    assert float(L.ce_loss(s, y, standardise=True)) == pytest.approx(float(ce), rel=1e-6)
    assert float(L.ce_loss(s, y)) == pytest.approx(float(torch.nn.functional.cross_entropy(s, y)), rel=1e-6)


def test_align_loss_sends_no_gradient_into_kis():
    kts = torch.softmax(torch.randn(4, 8, 5), -1).requires_grad_(True)
    kis = [_dist(4, 5, 8).requires_grad_(True) for _ in range(2)]
    loss = L.align_loss(kts, kis)
    loss.backward()
    assert kts.grad.abs().sum() > 0
    assert all(k.grad is None for k in kis)
    assert not L.align_loss(kts.detach(), kis).requires_grad


def test_align_loss_reaches_slot_attention_only_through_kts():
    from mglwkd_lite.workspace import GlobalWorkspace

    ws = GlobalWorkspace([(16, 8), (8, 4, 4)], (8, 8))
    out = ws([torch.randn(3, 16, 8), torch.randn(3, 8, 4, 4)], torch.randn(3, 8, 8))
    binding = [p for p in ws.binding.parameters() if p.requires_grad]
    # With the KTS held fixed, the alignment has no path into the slot attention at all.
    assert not L.align_loss(out.kts.detach(), out.kis).requires_grad
    # And its gradient equals that with the KIS explicitly detached (the KIS path carries nothing).
    g = torch.autograd.grad(L.align_loss(out.kts, out.kis), binding, retain_graph=True, allow_unused=True)
    h = torch.autograd.grad(L.align_loss(out.kts, [k.detach() for k in out.kis]), binding, allow_unused=True)
    for a, b in zip(g, h):
        assert (a is None) == (b is None)
        if a is not None:
            torch.testing.assert_close(a, b)


def test_dynamic_alpha_swapped_reverses_the_direction():
    kts = torch.softmax(torch.randn(4, 8, 5), -1)
    kis = [_dist(4, 5, 8), _dist(4, 5, 8)]
    a = L.dynamic_alpha(kts, kis, floor=0.0, cap=1.0)
    b = L.dynamic_alpha(kts, kis, floor=0.0, cap=1.0, swapped=True)
    assert float(a + b) == pytest.approx(1.0, rel=1e-6) and float(a) != pytest.approx(0.5)


def test_entropy_ratio_and_epoch_spread():
    from mglwkd_lite.workspace import entropy_ratio

    assert float(entropy_ratio(torch.full((2, 5, 3), 0.2), dim=1)) == pytest.approx(1.0)
    one_hot = torch.zeros(2, 4, 5)
    one_hot[..., 0] = 1
    assert float(entropy_ratio(one_hot, dim=2)) == pytest.approx(0.0, abs=1e-6)
    rows = D.epoch_spread([{"epoch": 1, "alpha": 0.5, "alpha_sq": 0.26, "loss": 1.0}])
    assert rows == [{"epoch": 1, "alpha": 0.5, "alpha_std": pytest.approx(0.1), "loss": 1.0}]


def test_losses_zero_on_identical_inputs_positive_otherwise():
    logits, other = torch.randn(6, 5), torch.randn(6, 5)
    assert float(L.kd_loss(logits, logits)) == pytest.approx(0.0, abs=1e-6)
    assert float(L.kd_loss(logits, other)) > 1e-3
    f, g = torch.rand(6, 8, 10), torch.rand(6, 8, 10)
    assert float(L.sp_loss(f, f)) == pytest.approx(0.0, abs=1e-7)
    assert float(L.sp_loss(f, torch.rand(6, 20, 4, 4))) > 0  # SP allows different feature shapes
    assert float(L.at_loss(f, f)) == pytest.approx(0.0, abs=1e-7)
    assert float(L.at_loss(f, torch.rand(6, 24, 10) ** 4)) > 0
    kts = torch.softmax(torch.randn(6, 10, 5), dim=-1)
    same = kts_as_kis(kts)
    assert float(L.align_loss(kts, [same, same])) == pytest.approx(0.0, abs=1e-9)
    assert float(L.align_loss(kts, [same, _dist(6, 5, 10)])) > 0
    # CE vanishes only for confident, correct logits
    y = torch.tensor([0, 1])
    assert float(D.LOSSES["ce"](D.Outputs((torch.tensor([[50.0, 0], [0, 50.0]]),), y), D.method("scratch"))) < 1e-9


def test_loss_input_errors():
    with pytest.raises(D.DistillError, match="same time/space"):
        L.at_loss(torch.rand(2, 4, 8), torch.rand(2, 4, 4, 4))
    with pytest.raises(D.DistillError, match="one shape"):
        L.kd_loss(torch.rand(2, 3), torch.rand(2, 4))
    with pytest.raises(D.DistillError, match="does not match"):
        L.align_loss(torch.rand(2, 4, 5), [torch.rand(2, 4, 5)])


def test_dynamic_alpha_bounds_and_formula():
    kts = torch.softmax(torch.randn(4, 8, 5), dim=-1)
    ref = kts_as_kis(kts)
    near, far = ref + 0.01, ref + 0.1  # d = 1e-4 and 1e-2
    assert float(L.dynamic_alpha(kts, [far, near])) == pytest.approx(D.ALPHA_CAP)
    assert float(L.dynamic_alpha(kts, [near, far])) == pytest.approx(D.ALPHA_FLOOR)
    assert float(L.dynamic_alpha(kts, [ref, ref])) == pytest.approx(0.5)
    mid = ref + 0.02  # d1 = 4e-4, d2 = 1e-4 (+0.01) -> 0.8 at the cap; widen the bounds to see it
    assert float(L.dynamic_alpha(kts, [mid, near], floor=0.0, cap=1.0)) == pytest.approx(0.8, rel=1e-4)
    for _ in range(50):
        kis = [_dist(4, 5, 8), _dist(4, 5, 8)]
        a = L.dynamic_alpha(torch.softmax(torch.randn(4, 8, 5) * 3, -1), kis)
        assert D.ALPHA_FLOOR <= float(a) <= D.ALPHA_CAP
        assert not a.requires_grad


# ----------------------------------------------------------------------------- configs


def test_every_results_table_row_is_a_method():
    rows = {"scratch", "scratch_long", "kd_signal", "kd_pi", "kd_two_fixed", "kd_two_avg", "kd_two_mean_alpha", "sp", "at",
            "mglwkd", "mglwkd_anneal", "mglwkd_one_iter", "mglwkd_fixed_alpha", "mglwkd_no_align",
            "mglwkd_alpha_swapped", "mglwkd_no_residual"}
    assert rows == set(D.METHODS)
    for name in ("kd_signal", "kd_pi", "kd_two_fixed", "kd_two_avg", "kd_two_mean_alpha", "mglwkd"):
        cfg = D.method(name)  # the group's recipe: lambda = 0.99, logit standardisation
        assert cfg.logit_std and cfg.weight("ce") == pytest.approx(0.01)
        assert sum(cfg.weight(n) for n in ("kd_signal", "kd_pi", "kd_two")) == pytest.approx(0.99)
    assert D.method("mglwkd_alpha_swapped").alpha_swapped and not D.method("mglwkd").alpha_swapped
    assert not D.method("mglwkd_no_residual").residual and D.method("mglwkd").residual
    filled = D.with_mean_alpha(D.method("kd_two_mean_alpha"), 0.61234567)
    assert filled.alpha == 0.612346 and filled.alpha_from == "mglwkd"
    assert filled != D.method("kd_two_mean_alpha")
    with pytest.raises(D.DistillError, match="takes no mean alpha"):
        D.with_mean_alpha(D.method("kd_two_avg"), 0.5)
    assert D.method("kd_two_fixed").alpha == pytest.approx(0.3)  # 0.3 signal / 0.7 PI
    assert D.method("mglwkd").alpha == "dynamic" and D.method("mglwkd").weight("align") > 0
    assert D.method("mglwkd_no_align").weight("align") == 0
    assert D.method("mglwkd_one_iter").workspace.num_iters == 1
    for name in ("mglwkd", "mglwkd_one_iter", "mglwkd_no_residual"):  # the slot temperature that keeps KIS sharp
        assert D.method(name).workspace.attn_temperature == D.SLOT_TEMPERATURE == 0.05
    assert not D.method("mglwkd_one_iter").workspace.working_memory
    assert D.method("mglwkd_anneal").anneal and not D.method("mglwkd").anneal
    assert D.method("mglwkd", temperature=2.0).temperature == 2.0


def test_invalid_configs():
    with pytest.raises(D.DistillError, match="unknown loss"):
        D.DistillConfig("x", (("nope", 1.0),))
    with pytest.raises(D.DistillError, match="need a workspace"):
        D.DistillConfig("x", (("align", 1.0),))
    with pytest.raises(D.DistillError, match="alpha"):
        D.DistillConfig("x", (("kd_two", 1.0),), alpha=1.5)
    with pytest.raises(D.DistillError, match="alpha_from"):
        D.DistillConfig("x", (("kd_two", 1.0),), alpha="mean")
    with pytest.raises(D.DistillError, match="alpha_swapped"):
        D.DistillConfig("x", (("kd_two", 1.0),), alpha=0.5, alpha_swapped=True)
    with pytest.raises(D.DistillError, match="unknown method"):
        D.method("nope")
    with pytest.raises(D.DistillError, match="already registered"):
        D.register_loss("ce")(lambda out, cfg: out.y.sum())


# ----------------------------------------------------------------------------- objective


def _setup(n=12, length=32):
    x = torch.randn(n, 3, length)
    pi = torch.rand(n, 3, 16, 16)
    y = torch.arange(n) % 4
    t1, t2 = wrn1d(10, 2, 3, 4), wrn2d(10, 1, 3, 4)
    for t in (t1, t2):
        t.requires_grad_(False)
    bank = D.teacher_bank([t1, t2], [x, pi], batch_size=5)
    return x, y, (t1, t2), bank


def test_teacher_bank_lookup():
    x, _, (t1, _), bank = _setup()
    assert len(bank) == 12 and bank.feature_shapes == [(128, 8), (64, 4, 4)]
    logits, feats = bank.lookup(torch.tensor([3, 0]))
    torch.testing.assert_close(logits[0], t1.eval()(x[[3, 0]]))
    assert feats[1].shape == (2, 64, 4, 4)
    with pytest.raises(D.DistillError, match="out of range"):
        bank.lookup(torch.tensor([12]))


@pytest.mark.parametrize("name", sorted(D.METHODS))
def test_every_method_runs_and_gradients_reach_student_and_workspace_only(name):
    x, y, teachers, bank = _setup()
    cfg = D.method(name)
    if cfg.alpha == "mean":
        cfg = D.with_mean_alpha(cfg, 0.4)
    student = wrn1d(10, 1, 3, 4)
    ws = D.build_workspace(cfg, bank, (64, 8))
    objective = D.make_objective(cfg, bank, ws)
    loss, logs = objective(student, {"x": x[:6], "y": y[:6], "index": torch.arange(6)})
    assert loss.ndim == 0 and torch.isfinite(loss) and float(loss.detach()) > 0
    assert set(logs) >= {f"loss_{n}" for n in cfg.active}
    loss.backward()
    assert student.stem.weight.grad.abs().sum() > 0
    if ws is not None:
        assert ws.binding.slots.grad.abs().sum() > 0
        assert ws.transfer.to_q.weight.grad.abs().sum() > 0
        assert D.ALPHA_FLOOR <= logs["alpha"] <= D.ALPHA_CAP
        assert {"kis_entropy_1", "kis_entropy_2", "kts_entropy", "kis_dist_1", "kis_dist_2"} <= set(logs)
        assert all(0.0 <= logs[k] <= 1.0 + 1e-6 for k in ("kis_entropy_1", "kis_entropy_2", "kts_entropy"))
    if "kd_two" in cfg.active:
        assert logs["alpha_sq"] == pytest.approx(logs["alpha"] ** 2)
    assert all(p.grad is None for t in teachers for p in t.parameters())


def test_objective_errors():
    with pytest.raises(D.DistillError, match="needs a TeacherBank"):
        D.make_objective(D.method("kd_pi"))
    _, _, _, bank = _setup()
    with pytest.raises(D.DistillError, match="needs workspace"):
        D.make_objective(D.method("mglwkd"), bank)
    with pytest.raises(D.DistillError, match="filled in"):
        D.make_objective(D.method("kd_two_mean_alpha"), bank)


# ----------------------------------------------------------------------------- the shipped student


def test_saved_student_predicts_without_workspace_teachers_or_topology(tmp_path):
    x, y, _, bank = _setup()
    cfg = D.method("mglwkd")
    student = wrn1d(10, 1, 3, 4)
    ws = D.build_workspace(cfg, bank, (64, 8))
    objective = D.make_objective(cfg, bank, ws)
    opt = torch.optim.SGD([*student.parameters(), *ws.parameters()], lr=0.01)
    for _ in range(2):  # a couple of distillation steps, so the weights are a distilled student's
        opt.zero_grad()
        objective(student, {"x": x, "y": y, "index": torch.arange(len(x))})[0].backward()
        opt.step()
    student.eval()
    path = tmp_path / "student.pt"
    torch.save(student.state_dict(), path)
    np.save(tmp_path / "x.npy", x.numpy())
    with torch.no_grad():
        expected = student(x).numpy()
    script = textwrap.dedent(f"""
        import sys
        for name in ("mglwkd_lite.workspace", "mglwkd_lite.distill", "mglwkd_lite.topology",
                     "mglwkd_lite.train", "ripser", "persim", "gudhi"):
            sys.modules[name] = None  # importing any of these now raises ImportError
        import numpy as np, torch
        from mglwkd_lite.models import wrn1d
        net = wrn1d(10, 1, 3, 4)
        net.load_state_dict(torch.load({str(path)!r}, weights_only=True))
        net.eval()
        with torch.no_grad():
            logits = net(torch.from_numpy(np.load({str(tmp_path / 'x.npy')!r}, allow_pickle=False)))
        np.save({str(tmp_path / 'out.npy')!r}, logits.numpy())
        assert "mglwkd_lite.workspace" not in [m for m, v in sys.modules.items() if v is not None]
    """)
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)
    np.testing.assert_allclose(np.load(tmp_path / "out.npy", allow_pickle=False), expected, rtol=1e-5, atol=1e-5)


# ----------------------------------------------------------------------------- tables and figures


def _fake_result(name, acc, f1, residual=None):
    from types import SimpleNamespace

    metrics = {"test": {"accuracy": acc, "macro_f1": f1}, "best_epoch": 3, "seconds": 1.0}
    trained = SimpleNamespace(metrics=metrics, history=[])
    res = None if residual is None else {"test": {"accuracy": residual[0], "macro_f1": residual[1]}}
    return pipeline.Distilled(D.method(name), trained, None, res)


def test_tables_and_figures():
    import matplotlib

    matplotlib.use("Agg")
    table = R.distilled_table({"scratch": _fake_result("scratch", 0.8, 0.75),
                             "mglwkd": _fake_result("mglwkd", 0.85, 0.8, residual=(0.84, 0.79))})
    assert list(table.index) == ["scratch", "mglwkd"]
    assert np.isnan(table.loc["scratch", "residual_accuracy"]) and table.loc["mglwkd", "residual_macro_f1"] == 0.79
    assert R.plot_distilled(table).axes
    methods = R.methods_table()
    assert list(methods.index) == list(D.METHODS)
    assert methods.loc["kd_two_fixed", "alpha (signal KD weight)"] == "0.3"
    assert methods.loc["mglwkd", "alpha (signal KD weight)"] == "dynamic [0.2, 0.8]"
    assert methods.loc["kd_signal", "KD reduction"] == "windows and classes" and methods.loc["sp", "KD reduction"] == "-"
    assert methods.loc["mglwkd", "workspace"].endswith("slot temperature 0.05")

    rng = np.random.default_rng(0)
    kis = rng.dirichlet(np.ones(5), size=(6, 2, 8)).transpose(0, 1, 3, 2)  # (n, 2, K, L), columns sum to 1
    kts = rng.dirichlet(np.ones(5), size=(6, 8))  # (n, L, K)
    d = np.stack([((kts.transpose(0, 2, 1) - kis[:, t]) ** 2).mean((1, 2)) for t in range(2)], 1)
    maps = {"kis": kis, "kts": kts, "d": d, "y": np.array([0, 0, 1, 1, 1, 2])}
    listening = RW.listening_by_class(maps, ["a", "b", "c", "unused"])
    assert list(listening.index) == ["a", "b", "c"] and listening["windows"].sum() == 6
    assert listening["alpha"].between(D.ALPHA_FLOOR, D.ALPHA_CAP).all()
    np.testing.assert_allclose(listening.loc["b", "d_pi"], d[2:5, 1].mean())
    assert len(RW.plot_maps(maps, [0, 2], ["a", "b", "c"]).axes) == 7  # 2 x 3 panels + colour bar
    history = [{"epoch": e, "alpha": 0.5, "kis_dist_1": 0.1, "kis_dist_2": 0.2} for e in (1, 2)]
    assert len(RW.plot_coefficient(history).axes) == 2
    full = [dict(row, alpha=0.4 + 0.1 * i, alpha_std=0.05, kis_entropy_1=0.9, kis_entropy_2=0.8, kts_entropy=0.7)
            for i, row in enumerate(history)]
    assert len(RW.plot_coefficient(full).axes) == 3
    summary = RW.coefficient_summary(full)
    assert summary["range across epochs"] == pytest.approx(0.1) and summary["mean spread within epochs"] == 0.05
    assert np.isnan(RW.coefficient_summary(history)["mean spread within epochs"])
    ent = RW.map_entropies({"kis": np.full((2, 2, 5, 3), 0.2), "kts": np.full((2, 3, 5), 0.2)})
    np.testing.assert_allclose(ent.to_numpy(), 1.0)


# ----------------------------------------------------------------------------- end to end


@pytest.mark.slow
def test_distill_or_load_end_to_end_and_cache(tmp_path):
    """A tiny preset on real HAPT windows: teachers, annealed mGLW-KD, residual scores, cache reload."""
    setup = pipeline.ModelsPreset(train=TrainConfig.quick(epochs=1), signal_teacher=(10, 1),
                               pi_teacher=(10, 1), student=(10, 1), pi_resolution=32, train_fraction=0.02)
    kwargs = dict(cache_dir=tmp_path, progress=False, threads=1)
    first = pipeline.distill_or_load("mglwkd_anneal", "hapt", setup, **kwargs)
    assert not first.trained.from_cache and first.workspace is not None
    assert set(first.residual_metrics) == {"val", "test"}
    assert 0.0 <= first.trained.metrics["test"]["accuracy"] <= 1.0
    assert D.ALPHA_FLOOR <= first.history[0]["alpha"] <= D.ALPHA_CAP
    again = pipeline.distill_or_load("mglwkd_anneal", "hapt", setup, **kwargs)
    assert again.trained.from_cache
    assert again.residual_metrics["test"]["accuracy"] == first.residual_metrics["test"]["accuracy"]
    for a, b in zip(first.model.state_dict().values(), again.model.state_dict().values()):
        torch.testing.assert_close(a, b)
    torch.testing.assert_close(first.workspace.slot_mean, again.workspace.slot_mean)


@pytest.mark.slow
def test_distillation_trains_with_the_presets_thread_count(tmp_path):
    """``threads=None`` keeps the preset's count (the paper preset's one thread per run), an explicit
    value overrides it; both end up in the checkpoint's config and so in the cache key."""
    setup = pipeline.ModelsPreset(train=TrainConfig.quick(epochs=1, threads=1), signal_teacher=(10, 1),
                               pi_teacher=(10, 1), student=(10, 1), pi_resolution=32, train_fraction=0.02)
    kept = pipeline.distill_or_load("kd_signal", "hapt", setup, cache_dir=tmp_path, progress=False)
    changed = pipeline.distill_or_load("kd_signal", "hapt", setup, cache_dir=tmp_path, progress=False, threads=2)

    def threads(result):
        return json.loads(read_checkpoint(result.trained.checkpoint)["config"])["train"]["threads"]

    assert threads(kept) == 1 and threads(changed) == 2
    assert kept.trained.key != changed.trained.key


def test_kd_reduction_class_mean_as_the_groups_kldivloss():
    s, t = torch.randn(5, 6) * 3, torch.randn(5, 6)
    per_window = L.kd_loss(s, t, 4.0, standardise=True, reduction="window")
    # nn.KLDivLoss() (reduction "mean") averages over windows and classes: the sum over 5 x 6 entries
    ref = torch.nn.functional.kl_div(torch.log_softmax(2 * s / s.std(1, keepdim=True), 1),
                                     torch.softmax(2 * t / t.std(1, keepdim=True), 1), reduction="sum") / 30 * 16
    grouped = L.kd_loss(s, t, 4.0, standardise=True, reduction="class_mean")
    assert float(grouped) == pytest.approx(float(ref), rel=1e-5)
    assert float(grouped) == pytest.approx(float(per_window) / 6, rel=1e-6)
    assert D.method("kd_signal").kd_reduction == "class_mean" == D.DistillConfig("x").kd_reduction
    with pytest.raises(D.DistillError, match="reduction"):
        L.kd_loss(s, t, reduction="sum")
    with pytest.raises(D.DistillError, match="kd_reduction"):
        D.DistillConfig("x", kd_reduction="sum")


def test_kis_entropy_term_is_one_on_uniform_maps_and_needs_a_workspace():
    uniform = torch.full((2, 5, 4), 0.2)
    assert float(L.kis_entropy_loss([uniform, uniform])) == pytest.approx(1.0)
    sharp = _dist(2, 5, 4).mul(20).softmax(1).requires_grad_(True)
    value = L.kis_entropy_loss([sharp])
    assert float(value) < 1.0
    value.backward()
    assert sharp.grad is not None and sharp.grad.abs().sum() > 0  # unlike the alignment, it trains the KIS
    with pytest.raises(D.DistillError, match="need a workspace"):
        D.DistillConfig("x", (("kis_entropy", 1.0),))
    cfg = D.method("mglwkd", weights=D.method("mglwkd").weights + (("kis_entropy", 1.0),))
    assert "kis_entropy" in cfg.active


def test_recorded_dynamics_reads_each_workspace_run_and_flags_flat_maps(tmp_path):
    """One row per recorded mGLW-KD run, from its history; other methods are left out."""
    source = Path(__file__).resolve().parents[1] / "results" / "quick" / "hapt"
    rec = json.loads((source / "mglwkd" / "seed0.json").read_text())
    for seed, entropy in ((0, 0.99), (1, 0.4)):
        rec["spec"] = {**rec["spec"], "fold": 2, "seed": seed}
        rec["history"][-1] = {**rec["history"][-1], "kis_entropy_1": entropy, "kis_entropy_2": 0.97}
        folder = tmp_path / "folds" / "hapt" / "fold2" / "mglwkd"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"seed{seed}.json").write_text(json.dumps(rec))
    scratch = tmp_path / "folds" / "hapt" / "fold2" / "scratch"
    scratch.mkdir(parents=True)
    (scratch / "seed0.json").write_text((source / "scratch" / "seed0.json").read_text())
    table = RW.recorded_dynamics(tmp_path, "folds")
    assert list(table.index) == [("hapt", "mglwkd", 2, 0), ("hapt", "mglwkd", 2, 1)]
    assert table["flat KIS"].tolist() == [True, False]
    alphas = [row["alpha"] for row in rec["history"]]
    assert table["alpha min"].iloc[0] == pytest.approx(min(alphas)) and table["alpha max"].iloc[0] == pytest.approx(max(alphas))
    assert RW.recorded_dynamics(tmp_path / "none").empty
