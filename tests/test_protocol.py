"""The group's protocol: warm start, logit standardisation, "scratch, trained as long", the pilot's rules."""

import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from mglwkd_lite import distill as D
from mglwkd_lite import pipeline, protocol
from mglwkd_lite.experiments import ExperimentError, ExperimentPreset, RunSpec, blind_record, experiment_preset, run_key
from mglwkd_lite.models import ModelSpec, build_model
from mglwkd_lite.presets import PROTOCOLS, Protocol

WARM_NOSTD = Protocol("warm-nostd", warm_start=True, logit_std=False)
KD_TYPE = ("kd_signal", "kd_pi", "kd_two_fixed", "kd_two_avg", "kd_two_mean_alpha", "mglwkd")


def test_a_protocol_warm_starts_every_method_with_a_teacher_and_leaves_the_rest():
    for name in KD_TYPE + ("sp", "at"):
        cfg = D.method(name, WARM_NOSTD)
        assert cfg.anneal, name
        # standardisation only where a KD term is (SP and AT keep their plain CE)
        assert cfg.logit_std is False
    assert D.method("kd_signal", Protocol("x", logit_std=True)).logit_std
    for name in ("scratch", "scratch_long"):  # shared by every protocol: the same object, the same keys
        assert D.method(name, WARM_NOSTD) is D.METHODS[name]
    for name in D.METHODS:  # the cold protocol and None change nothing
        assert D.method(name, PROTOCOLS["cold"]) is D.METHODS[name] is D.method(name)


def test_scratch_trained_as_long_is_cross_entropy_alone_from_the_scratch_student():
    cfg = D.method("scratch_long")
    assert cfg.anneal and cfg.active == ("ce",) and not cfg.logit_std and not cfg.uses_teachers
    torch.manual_seed(0)
    model = build_model(ModelSpec(1, 16, 1, 3, 4))
    batch = {"x": torch.randn(8, 3, 64), "y": torch.randint(0, 4, (8,)), "index": torch.arange(8)}
    loss, logs = D.make_objective(cfg)(model, batch)
    assert float(loss) == pytest.approx(float(F.cross_entropy(model(batch["x"]), batch["y"])), rel=1e-6)
    assert set(logs) == {"loss_ce"}


def test_protocol_keys_differ_for_taught_students_only():
    folds = experiment_preset("folds")
    warm = dataclasses.replace(folds, protocol=WARM_NOSTD)
    for name in ("scratch", "scratch_long"):
        spec = RunSpec("hapt", name, 0, 0)
        assert run_key(warm, spec) == run_key(folds, spec)
    for name in KD_TYPE:
        spec = RunSpec("hapt", name, 0, 0)
        assert run_key(warm, spec) != run_key(folds, spec)
    # the mean-alpha control hashes its source under the same protocol
    cold_source = dataclasses.replace(folds, protocol=Protocol("warm-std", warm_start=True, logit_std=True))
    spec = RunSpec("hapt", "kd_two_mean_alpha", 0, 0)
    assert run_key(warm, spec) != run_key(cold_source, spec)


class _Stop(Exception):
    pass


def test_the_warm_start_loads_the_scratch_student_of_the_same_fold_and_seed(tmp_path, monkeypatch):
    setup = pipeline.ModelsPreset.quick(train=dataclasses.replace(pipeline.ModelsPreset.quick().train, epochs=1),
                                        train_fraction=0.1)
    kwargs = dict(cache_dir=tmp_path, progress=False)
    scratch = {(fold, seed): pipeline.train_or_load("student", "spsw", setup, seed=seed, fold=fold, **kwargs)
               for fold, seed in ((0, 1), (0, 2), (1, 1))}
    data = pipeline.model_data("student", "spsw", setup, tmp_path, fold=0)
    n, k = len(data.train), len(data.classes)
    bank = D.TeacherBank((torch.randn(n, k), torch.randn(n, k)), (torch.randn(n, 8, 16), torch.randn(n, 8, 8)))
    monkeypatch.setattr(pipeline, "load_teacher_bank", lambda *a, **kw: (bank, ("t1", "t2"), {}))
    seen = {}
    original = pipeline.fit_or_load

    def capture(tag, key_parts, model, *args, **kw):
        if not tag.startswith("distill-"):  # the scratch student itself: loaded from the cache
            return original(tag, key_parts, model, *args, **kw)
        seen.update(tag=tag, key_parts=key_parts, state={k: v.clone() for k, v in model.state_dict().items()})
        raise _Stop

    monkeypatch.setattr(pipeline, "fit_or_load", capture)
    for name, proto in (("kd_signal", WARM_NOSTD), ("scratch_long", None)):
        with pytest.raises(_Stop):
            pipeline.distill_or_load(name, "spsw", setup, seed=1, fold=0, protocol=proto, **kwargs)
        source = scratch[(0, 1)]
        assert seen["key_parts"]["anneal_from"] == source.key
        assert seen["key_parts"]["anneal_from"] not in (scratch[(0, 2)].key, scratch[(1, 1)].key)
        for key, value in source.model.state_dict().items():
            assert torch.equal(seen["state"][key], value), (name, key)
    with pytest.raises(_Stop):  # cold: random weights, no source
        pipeline.distill_or_load("kd_signal", "spsw", setup, seed=1, fold=0, **kwargs)
    assert "anneal_from" not in seen["key_parts"]


def test_a_blind_record_holds_no_test_score():
    record = {"metrics": {"val": {"accuracy": 0.9}, "test": {"accuracy": 0.8}}, "best_test": {"accuracy": 0.85},
              "robustness": {}, "residual": {"val": {}, "test": {}},
              "history": [{"epoch": 1, "val_macro_f1": 0.5, "test_accuracy": 0.4, "test_macro_f1": 0.3}],
              "teachers": {"signal_teacher": {"key": "k", "val": {}, "test": {}, "best_test": {}}}}
    blind = blind_record(record)
    assert "test" not in str(sorted(_keys(blind))) and blind["blind"] is True
    with pytest.raises(ExperimentError, match="robustness"):
        ExperimentPreset("x", ("hapt",), ("scratch",), (0,), blind=True)


def _keys(obj):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield k
            yield from _keys(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _keys(v)


def test_pilot_cells_by_name():
    cell = protocol.pilot_preset("e200-warm-nostd")
    assert cell.blind and not cell.robustness and cell.folds == protocol.PILOT_FOLDS
    assert cell.models_preset().train.epochs == 200 and cell.methods == (protocol.PILOT_KD_METHOD,)
    assert cell.method_config("kd_signal").anneal and not cell.method_config("kd_signal").logit_std
    assert protocol.pilot_preset("e100").methods == ("scratch", "scratch_long")
    # 30 epochs is the first fold sweep's models: its runs are the sweep's own
    assert protocol.budget_models(30) == experiment_preset("folds").models_preset()
    assert [p.name for p in protocol.start_presets(100)] == ["e100", "e100-warm-std", "e100-warm-nostd",
                                                               "e100-cold-std", "e100-cold-nostd"]
    for bad in ("e", "e100-hot-std", "x100", "e100-warm"):
        with pytest.raises(ExperimentError, match="pilot cell"):
            protocol.pilot_preset(bad)


def _budget_runs(means: dict[tuple[str, int], tuple[float, ...]]) -> pd.DataFrame:
    return pd.DataFrame([{"dataset": d, "epochs": e, "method": "scratch", "val_macro_f1": v}
                         for (d, e), values in means.items() for v in values])


def test_the_budget_rule():
    runs = _budget_runs({("a", 30): (0.80, 0.81, 0.82), ("a", 100): (0.85, 0.86, 0.87), ("a", 200): (0.86, 0.87, 0.88),
                         ("b", 30): (0.70, 0.71, 0.72), ("b", 100): (0.70, 0.71, 0.72), ("b", 200): (0.70, 0.71, 0.72)})
    epochs, table = protocol.choose_budget(runs)
    # a: 200 has mean 0.87, std 0.01 -> threshold 0.86; 100 (0.86) passes, 30 does not; b: all pass
    assert epochs == 100
    assert table.loc[("a", 100), "passes"] and not table.loc[("a", 30), "passes"] and table.loc[("b", 30), "passes"]
    assert table.loc[("a", 200), "threshold"] == pytest.approx(0.86)
    with pytest.raises(ValueError, match="at least 2 runs"):
        protocol.choose_budget(_budget_runs({("a", 30): (0.8,), ("a", 100): (0.8,), ("a", 200): (0.8,)}))


def test_the_sweep_budget_rule_cuts_only_where_a_smaller_budget_passed():
    runs = _budget_runs({("a", 30): (0.80, 0.81, 0.82), ("a", 100): (0.85, 0.86, 0.87), ("a", 200): (0.86, 0.87, 0.88),
                         ("b", 30): (0.70, 0.71, 0.72), ("b", 100): (0.70, 0.71, 0.72), ("b", 200): (0.70, 0.71, 0.72)})
    _, table = protocol.choose_budget(runs)
    hours = {("a", 30): 1.0, ("a", 100): 3.0, ("a", 200): 6.0, ("b", 30): 1.5, ("b", 100): 4.0, ("b", 200): 8.0}
    # 14 h at 200: b (the dearer; 100 and 30 pass there) goes to 100 -> 10 h, within 10 h + 10 %
    assert protocol.sweep_budgets(200, table, hours) == {"a": 200, "b": 100}
    # a tighter limit takes b down to 30 (7.5 h), then a to 100 (the only smaller budget that passes on a)
    assert protocol.sweep_budgets(200, table, hours, limit=(6.0, 0.0)) == {"a": 100, "b": 30}
    # within the limit nothing is cut
    assert protocol.sweep_budgets(200, table, hours, limit=(20.0, 0.0)) == {"a": 200, "b": 200}


def test_a_per_data_set_budget_changes_only_that_data_set_and_its_keys():
    base = experiment_preset("folds")
    cut = dataclasses.replace(base, epochs=(("spsw", 200),))
    assert cut.models_preset("hapt") == base.models_preset()
    assert cut.models_preset("spsw") == protocol.budget_models(200)  # the pilot's models: its cache is shared
    spec_h, spec_s = RunSpec("hapt", "scratch", 0, 0), RunSpec("spsw", "scratch", 0, 0)
    assert run_key(cut, spec_h) == run_key(base, spec_h) and run_key(cut, spec_s) != run_key(base, spec_s)
    with pytest.raises(ExperimentError, match="name the data set"):
        cut.models_preset()
    with pytest.raises(ExperimentError, match="not among its data sets"):
        dataclasses.replace(base, datasets=("hapt",), epochs=(("spsw", 200),))


def _kd_runs(cells: dict[tuple[str, bool], tuple[float, ...]]) -> pd.DataFrame:
    return pd.DataFrame([{"dataset": d, "method": "kd_signal", "start": "warm", "logit_std": std, "val_macro_f1": v}
                         for (d, std), values in cells.items() for v in values])


def test_the_standardisation_rule():
    same = (0.80, 0.81, 0.82)
    better = (0.85, 0.86, 0.87)
    worse = (0.70, 0.71, 0.72)
    keep, _ = protocol.choose_logit_std(_kd_runs({("a", True): same, ("a", False): same,
                                                  ("b", True): same, ("b", False): same}))
    assert keep  # no difference: the group's setting stays
    keep, table = protocol.choose_logit_std(_kd_runs({("a", True): same, ("a", False): better,
                                                      ("b", True): same, ("b", False): same}))
    assert not keep and table.loc["a", "nostd_better"]
    keep, _ = protocol.choose_logit_std(_kd_runs({("a", True): same, ("a", False): better,
                                                  ("b", True): same, ("b", False): worse}))
    assert keep  # better on one, worse on the other: no departure
    assert np.isfinite(table["d"]).all()


def test_workspace_maps_reads_the_fold_and_the_teachers_the_student_learnt_from(monkeypatch):
    """Under a fixed teacher seed, a student of seed 1 on fold 3 learnt from fold 3's teachers of seed 0."""
    setup = pipeline.ModelsPreset.quick(teacher_seed=0)
    calls = []

    class _Stop(Exception):
        pass

    def fake_model_data(kind, dataset, setup, data_preset, cache_dir, fold):
        calls.append(("data", kind, fold))
        raise _Stop

    def fake_train(kind, ctx, retrain=False):
        calls.append(("teacher", kind, ctx.seed, ctx.fold))
        raise _Stop

    monkeypatch.setattr(pipeline, "_model_data", fake_model_data)
    monkeypatch.setattr(pipeline, "train", fake_train)
    result = pipeline.Distilled(D.method("mglwkd"), trained=None, workspace=object())
    with pytest.raises(_Stop):
        pipeline.workspace_maps(result, "hapt", setup, seed=1, fold=3)
    assert calls == [("data", "signal_teacher", 3)]
    # the teacher itself: fold 3, teacher seed 0 (not the student's seed 1)
    calls.clear()
    monkeypatch.setattr(pipeline, "_model_data", lambda *a, **kw: type("D", (), {"test": _Windows()})())
    with pytest.raises(_Stop):
        pipeline.workspace_maps(result, "hapt", setup, seed=1, fold=3)
    assert calls == [("teacher", "signal_teacher", 0, 3)]
    # the run context says the same for every step: the teachers of a seed-1 student are seed 0's
    ctx = pipeline.RunContext.of("hapt", setup, seed=1, fold=3)
    assert (ctx.teachers().seed, ctx.teachers().fold, ctx.seed) == (0, 3, 1)


class _Windows:
    x = torch.zeros(2, 3, 8)
    y = torch.zeros(2, dtype=torch.long)

    def __len__(self):
        return 2


def test_the_group_protocol_is_what_the_pilot_decided():
    """The registered protocol and sweep follow the rules applied to the committed pilot records."""
    from pathlib import Path

    from mglwkd_lite.presets import GROUP_FOLD_METHODS
    from mglwkd_lite.report import pilot as report_pilot

    root = Path(__file__).resolve().parents[1] / "benchmarks" / "results"
    runs = protocol.load_pilot(root / "pilot")
    epochs, table = protocol.choose_budget(runs)
    keep_std, _ = protocol.choose_logit_std(runs[runs["epochs"] == epochs])
    group = PROTOCOLS["group"]
    assert group.warm_start and group.logit_std is keep_std and "2026-12-08" in group.chosen
    sweep = experiment_preset("group_folds")
    budgets = protocol.sweep_budgets(epochs, table, report_pilot.sweep_hours(root))
    assert dict(sweep.epochs) == budgets == {"hapt": 100, "spsw": 200}
    assert sweep.protocol is group and sweep.methods == GROUP_FOLD_METHODS and sweep.folds == (0, 1, 2, 3, 4)
    for dataset, e in budgets.items():  # the pilot's models at that budget: its teachers and students are reused
        assert sweep.models_preset(dataset) == protocol.budget_models(e)
    # every student with a teacher starts warm; scratch and its control are the same under every protocol
    assert sweep.method_config("mglwkd").anneal and not sweep.method_config("scratch").anneal
    assert sweep.method_config("scratch_long") is D.METHODS["scratch_long"]
