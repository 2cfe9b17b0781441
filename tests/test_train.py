"""Tests for mglwkd_lite.train (the loop, determinism, evaluation), mglwkd_lite.checkpoint (checkpoints,
the model cache) and the presets of mglwkd_lite.pipeline."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch
from torch import nn

from mglwkd_lite.models import wrn1d, wrn2d
from mglwkd_lite.checkpoint import (
    CheckpointError,
    cached_outputs,
    fit_or_load,
    load_checkpoint,
    load_model,
    read_checkpoint,
    save_checkpoint,
)
from mglwkd_lite.pipeline import KINDS, ModelsPreset, model_data, save_trained_record
from mglwkd_lite.report.teachers import recorded_table, width_table
from mglwkd_lite.checkpoint import code_version
from mglwkd_lite.presets import QUICK_LR_STEPS
from mglwkd_lite.train import ArrayDataset, TrainConfig, TrainError, best_test_epoch, evaluate, fit, make_loader

# Two steps (after a third and two thirds): at 3-4 epochs the group's 1/18 step would be epoch 0.
TINY = TrainConfig(epochs=3, batch_size=16, threads=1, patience=None, lr_steps=QUICK_LR_STEPS)


def toy(n: int = 96, t: int = 32, classes: int = 3, seed: int = 0) -> ArrayDataset:
    """Separable toy windows: class c is a sine of frequency c + 1 plus noise."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    time = np.linspace(0, 2 * np.pi, t)
    x = np.sin((y[:, None, None] + 1) * time[None, None, :] + rng.uniform(0, 6, (n, 3, 1)))
    x = x + 0.1 * rng.standard_normal((n, 3, t))
    return ArrayDataset(x.astype(np.float32), y)


@pytest.fixture(scope="module")
def data():
    return toy(seed=0), toy(48, seed=1)


def test_config_schedule_and_presets():
    cfg = TrainConfig.full()
    assert (cfg.epochs, cfg.batch_size, cfg.lr, cfg.momentum, cfg.weight_decay) == (200, 64, 0.05, 0.9, 1e-4)
    # the group's four steps: 0.05 until 1/18 of the epochs, 0.01 until 1/3, 0.001 until 2/3, then 0.0001
    assert [cfg.lr_at(e) for e in (0, 10, 11, 65, 66, 132, 133, 199)] == [0.05, 0.05, 0.01, 0.01, 0.001, 0.001,
                                                                         1e-4, 1e-4]
    assert cfg.select == "last" and cfg.patience is None  # no early stopping in full / group
    full = TrainConfig.preset("full")
    assert [full.lr_at(e) for e in (0, 1, 9, 10, 19, 20, 29)] == [0.05, 0.01, 0.01, 0.001, 0.001, 1e-4, 1e-4]
    assert full.select == "last" and full.patience is None
    quick = TrainConfig.quick()
    assert [quick.lr_at(e) for e in range(quick.epochs)] == [0.05, 0.05, 0.01, 0.01, 0.001, 0.001]
    assert quick.select == "last"
    assert TrainConfig.preset("quick") == quick and TrainConfig.preset("group") == cfg
    assert TrainConfig.preset("full", seed=3) == TrainConfig(epochs=30, patience=None, threads=1, seed=3)
    with pytest.raises(TrainError, match="unknown preset"):
        TrainConfig.preset("paper")
    with pytest.raises(TrainError, match="select_by"):
        TrainConfig(select_by="loss")
    with pytest.raises(TrainError, match="select must be one of"):
        TrainConfig(select="best_test")
    with pytest.raises(TrainError, match="epochs"):
        TrainConfig(epochs=0)


def test_dataset_batches_and_bad_input():
    ds = toy(10)
    batch = next(iter(make_loader(ds, 4)))
    assert set(batch) == {"x", "y", "index"}
    assert batch["x"].shape == (4, 3, 32) and batch["index"].tolist() == [0, 1, 2, 3]
    # the seeded generator fixes the shuffle order
    a = next(iter(make_loader(ds, 10, shuffle=True, seed=3)))["index"]
    b = next(iter(make_loader(ds, 10, shuffle=True, seed=3)))["index"]
    assert torch.equal(a, b) and sorted(a.tolist()) == list(range(10))
    with pytest.raises(TrainError, match="equal N"):
        ArrayDataset(np.zeros((4, 3, 8), np.float32), np.zeros(3, np.int64))
    with pytest.raises(TrainError, match="class indices >= 0"):
        ArrayDataset(np.zeros((2, 3, 8), np.float32), np.array([0, -1]))


def test_fit_learns_and_history(data):
    train, val = data
    torch.manual_seed(0)
    model = wrn1d(10, 1, 3, 3)
    result = fit(model, train, val, dataclasses.replace(TINY, epochs=4), progress=False)
    assert len(result.history) == 4
    assert {"epoch", "lr", "loss", "ce", "val_accuracy", "val_macro_f1", "val_loss"} <= set(result.history[0])
    assert [row["lr"] for row in result.history] == [0.05, 0.01, 0.001, 0.001]
    # select="last" (the default): the model of the last epoch, scored by its validation pass
    assert result.selected_epoch == result.best_epoch == 4
    assert result.val_metrics["macro_f1"] == result.history[-1]["val_macro_f1"]
    assert evaluate(model, val)["macro_f1"] == pytest.approx(result.val_metrics["macro_f1"])
    assert result.val_metrics["accuracy"] > 0.5  # 3 separable classes
    assert not model.training
    assert result.best_test is None and "test_accuracy" not in result.history[0]  # no monitor set


def test_best_val_selection_restores_the_best_epoch(data):
    train, val = data
    torch.manual_seed(0)
    model = wrn1d(10, 1, 3, 3)
    result = fit(model, train, val, dataclasses.replace(TINY, epochs=4, select="best_val"), progress=False)
    best = result.history[result.selected_epoch - 1]
    assert result.val_metrics["macro_f1"] == best["val_macro_f1"] == max(r["val_macro_f1"] for r in result.history)
    # the restored weights are those of the selected epoch
    assert evaluate(model, val)["macro_f1"] == pytest.approx(result.val_metrics["macro_f1"])


def test_monitor_set_is_recorded_and_never_selects(data):
    train, val = data
    test = toy(60, seed=2)
    runs = {}
    for monitor in (None, test):
        torch.manual_seed(0)
        model = wrn1d(10, 1, 3, 3)
        runs[monitor is None] = (fit(model, train, val, dataclasses.replace(TINY, epochs=4), monitor_set=monitor,
                                     progress=False), model.fc.weight.detach().clone())
    (plain, w_plain), (monitored, w_mon) = runs[True], runs[False]
    # scoring the monitor set changes nothing in training or selection
    assert torch.equal(w_plain, w_mon) and plain.selected_epoch == monitored.selected_epoch
    assert [r["val_macro_f1"] for r in plain.history] == [r["val_macro_f1"] for r in monitored.history]
    assert {"test_loss", "test_accuracy", "test_macro_f1"} <= set(monitored.history[0])
    best = monitored.best_test
    assert best["optimistic"] is True and best["accuracy"] == max(r["test_accuracy"] for r in monitored.history)
    assert best == best_test_epoch(monitored.history)
    assert monitored.history[best["epoch"] - 1]["test_macro_f1"] == best["macro_f1"]


def test_same_seed_same_numbers(data):
    train, val = data
    runs = []
    for _ in range(2):
        torch.manual_seed(1)
        model = wrn1d(10, 1, 3, 3)
        res = fit(model, train, val, TINY, progress=False)
        runs.append(([(r["loss"], r["val_macro_f1"]) for r in res.history], model.fc.weight.detach().clone()))
    assert runs[0][0] == runs[1][0]
    assert torch.equal(runs[0][1], runs[1][1])


def test_early_stopping_counts_after_last_step(data):
    train, val = data
    cfg = dataclasses.replace(TINY, epochs=12, patience=1, lr=1e-6, lr_steps=((0.5, 1e-6),))
    result = fit(wrn1d(10, 1, 3, 3), train, val, cfg, progress=False)
    assert result.stopped_early
    assert 7 <= len(result.history) < 12  # never stopped before epoch 7 (the last lr step)


def test_objective_and_extra_modules_get_gradients(data):
    train, val = data
    head = nn.Linear(64, 3)
    before = head.weight.detach().clone()
    seen_index = []

    def objective(model, batch):
        logits, feats = model(batch["x"], return_features=True)
        seen_index.append(batch["index"])
        extra = nn.functional.cross_entropy(head(feats.mean(-1)), batch["y"])
        loss = nn.functional.cross_entropy(logits, batch["y"]) + extra
        return loss, {"extra": float(extra.detach())}

    result = fit(wrn1d(10, 1, 3, 3), train, val, dataclasses.replace(TINY, epochs=1), objective=objective,
                 extra_modules=(head,), progress=False)
    assert "extra" in result.history[0]
    assert not torch.equal(before, head.weight.detach())
    assert sorted(torch.cat(seen_index).tolist()) == list(range(len(train)))


def test_nan_loss_is_a_clear_error(data):
    train, val = data
    bad = ArrayDataset(np.full((8, 3, 32), np.nan, np.float32), np.zeros(8, np.int64))
    with pytest.raises(TrainError, match="loss is nan at epoch 1, batch 1"):
        fit(wrn1d(10, 1, 3, 3), bad, val, TINY, progress=False)


def test_evaluate_metrics():
    class Fixed(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.zeros(1))

        def forward(self, x):
            # predicts class 0 for the first half of the features' sign, else 1
            return torch.stack([x[:, 0, 0], -x[:, 0, 0]], 1) + 0 * self.w

    x = np.array([1, 1, -1, -1], np.float32).reshape(4, 1, 1)
    y = np.array([0, 1, 1, 1])
    out = evaluate(Fixed(), (x, y))
    assert out["accuracy"] == 0.75
    np.testing.assert_array_equal(out["confusion"], [[1, 0], [1, 2]])
    assert out["macro_f1"] == pytest.approx((2 / 3 + 0.8) / 2)


def test_checkpoint_round_trip(tmp_path, data):
    train, val = data
    model = wrn1d(10, 1, 3, 3)
    fit(model, train, val, dataclasses.replace(TINY, epochs=1), progress=False)
    path = save_checkpoint(tmp_path / "m.pt", model, TINY, {"val": evaluate(model, val)})
    other = wrn1d(10, 1, 3, 3)
    info = load_checkpoint(path, other)
    for a, b in zip(model.state_dict().values(), other.state_dict().values()):
        assert torch.equal(a, b)
    assert info.config["epochs"] == 3 and "torch" in info.versions
    assert np.asarray(info.metrics["val"]["confusion"]).shape == (3, 3)
    rebuilt, _ = load_model(path)
    torch.testing.assert_close(rebuilt(val.x[:4]), model.eval()(val.x[:4]))
    raw = read_checkpoint(path)
    assert raw["format"] == "mglwkd-lite-checkpoint/1" and set(raw["state_dict"]) == set(model.state_dict())
    assert not list(tmp_path.glob("*.tmp-*"))  # atomic: no temporary left behind


def test_wrong_checkpoint_is_a_clear_error(tmp_path):
    path = save_checkpoint(tmp_path / "m.pt", wrn1d(10, 1, 3, 3), TINY, {})
    with pytest.raises(CheckpointError, match=r"saved from WRN10-1 \(1-D\).*model is WRN16-1 \(1-D\)"):
        load_checkpoint(path, wrn1d(16, 1, 3, 3))
    with pytest.raises(CheckpointError, match="4 classes"):
        load_checkpoint(path, wrn1d(10, 1, 3, 4))
    with pytest.raises(CheckpointError, match="does not fit Linear"):
        load_checkpoint(save_checkpoint(tmp_path / "l.pt", nn.Linear(3, 2), {}, {}), nn.Linear(4, 2))
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.pt", wrn1d(10, 1, 3, 3))
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="cannot read"):
        load_checkpoint(tmp_path / "junk.pt", wrn1d(10, 1, 3, 3))


def test_fit_or_load_caches_and_outputs(tmp_path, data):
    train, val = data
    cfg = dataclasses.replace(TINY, epochs=1)
    torch.manual_seed(0)
    first = fit_or_load("toy", {"spec": "wrn10-1"}, wrn1d(10, 1, 3, 3), train, val, cfg, test_set=val,
                        cache_dir=tmp_path, progress=False)
    again = fit_or_load("toy", {"spec": "wrn10-1"}, wrn1d(10, 1, 3, 3), train, val, cfg, test_set=val,
                        cache_dir=tmp_path, progress=False)
    assert not first.from_cache and again.from_cache and first.checkpoint == again.checkpoint
    assert again.metrics["test"]["accuracy"] == first.metrics["test"]["accuracy"]
    # selection, the optimistic best-test epoch and the code are on record; the test split is monitored
    assert again.metrics["selected_epoch"] == 1 and again.metrics["select"] == "last"
    assert again.metrics["best_test"]["optimistic"] and again.metrics["best_test"]["epoch"] == 1
    assert again.metrics["best_test"]["accuracy"] == again.history[0]["test_accuracy"]
    assert again.history[0]["test_accuracy"] == pytest.approx(first.metrics["test"]["accuracy"])
    assert again.metrics["code"] == code_version()
    assert again.metrics["test"]["confusion"].shape == (3, 3)
    assert again.history == first.history
    out = cached_outputs(first, train, cache_dir=tmp_path)
    assert out["logits"].shape == (len(train), 3) and out["features"].shape == (len(train), 64, 8)
    np.testing.assert_array_equal(out["y"], train.y.numpy())
    assert np.array_equal(cached_outputs(again, train, cache_dir=tmp_path)["logits"], out["logits"])
    assert len(list((tmp_path / "outputs").glob("*.npz"))) == 1
    folder = save_trained_record({("toy", "model"): again}, tmp_path / "results")
    record = json.loads((folder / "metrics.json").read_text())
    entry = record["models"]["toy/model"]
    assert entry["test"]["accuracy"] == first.metrics["test"]["accuracy"] and entry["config"]["train"]["epochs"] == 1
    assert "torch" in record["versions"] and (folder / "history_toy_model.csv").is_file()
    assert entry["selected_epoch"] == 1 and entry["best_test"]["optimistic"] and set(record["code"]) == {"commit", "dirty"}
    table = recorded_table(folder)
    assert table.loc[("toy", "model"), "test accuracy"] == first.metrics["test"]["accuracy"]


def test_2d_model_trains_channels_last(data):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 3, 8, 8)).astype(np.float32)
    y = np.arange(32) % 2
    model = wrn2d(10, 1, 3, 2)
    result = fit(model, (x, y), (x, y), dataclasses.replace(TINY, epochs=1, channels_last=True), progress=False)
    assert len(result.history) == 1 and np.isfinite(result.history[0]["loss"])


def test_presets_of_the_three_models():
    full, quick = ModelsPreset.preset("full"), ModelsPreset.preset("quick")
    assert full.train.epochs == 30 and full.train_fraction == 1.0 and full.train.threads == 1
    group = ModelsPreset.preset("group")
    assert group.train.epochs == 200 and group.train.patience is None and group.train_fraction == 1.0
    assert full.train.select == group.train.select == "last" and full.train.lr_steps == group.train.lr_steps
    assert quick.train.epochs < full.train.epochs and quick.train_fraction < 1.0
    assert {k: quick.architecture(k) for k in KINDS} == {k: full.architecture(k) for k in KINDS}
    assert full.architecture("student") == (1, 16, 1) and full.architecture("pi_teacher")[0] == 2
    with pytest.raises(TrainError, match="unknown preset"):
        ModelsPreset.preset("medium")
    with pytest.raises(TrainError, match="unknown model kind"):
        full.architecture("teacher")


def test_signal_teacher_and_student_share_training_windows():
    student = model_data("student", "spsw", "quick")
    teacher = model_data("signal_teacher", "spsw", "quick")
    assert torch.equal(student.train.x, teacher.train.x) and student.key == teacher.key
    assert student.input_shape == (3, 64) and student.spec.num_classes == len(student.classes) == 5
    assert teacher.spec.width == 3 and student.spec.width == 1
    assert len(student.val) > 0 and len(student.test) > 0


def test_width_table_gives_mean_and_spread_per_network_in_width_order(tmp_path):
    runs = [{"width": w, "seed": s, "network": f"WRN16-{w} (1-D)", "val_macro_f1": 0.8 + 0.01 * w + 0.001 * s,
             "test_macro_f1": 0.7, "test_accuracy": 0.75, "train_loss": 0.3 / w, "val_loss": 0.5}
            for w in (3, 1) for s in (0, 1, 2)]
    path = tmp_path / "width.json"
    path.write_text(json.dumps({"dataset": "spsw", "runs": runs}))
    table = width_table(path)
    assert list(table.index) == ["WRN16-1 (1-D)", "WRN16-3 (1-D)"]
    assert table["seeds"].tolist() == [3, 3]
    assert table.loc["WRN16-3 (1-D)", "val_macro_f1 mean"] == pytest.approx(0.831)
    assert table.loc["WRN16-1 (1-D)", "val_macro_f1 std"] == pytest.approx(0.001)
