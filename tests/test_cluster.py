"""The quick sweep on a Dask cluster (two worker processes, one thread each) through ``run_all``.

The records come back to the calling process, which alone writes them; the teachers are trained
once, in the first phase, and reach the distillation runs through the shared cache; a rerun
dispatches nothing. The models are those of ``test_experiments`` (4 % of the training windows, one
epoch) made smaller still: WRN10-1 networks (scoring the whole validation and test subjects with the
WRN16-3 signal teacher would take most of the time), one training thread, so that the two workers do
not contend for the two cores, and no robustness study (``test_experiments`` covers it).
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

import pytest
from distributed import Client, LocalCluster, get_task_stream

from mglwkd_lite.experiments import ExperimentError, ExperimentPreset, RunSpec, result_path, run_all
from mglwkd_lite.pipeline import ModelsPreset
from mglwkd_lite.train import TrainConfig

TINY = ModelsPreset.quick(train=TrainConfig.quick(epochs=1, threads=1), train_fraction=0.04,
                          signal_teacher=(10, 1), pi_teacher=(10, 1), student=(10, 1))
SWEEP = ExperimentPreset("tiny", ("hapt",), ("scratch", "kd_signal", "mglwkd"), (0,), TINY, robustness=False)


@pytest.fixture(scope="module")
def places(tmp_path_factory) -> dict[str, Path]:
    """Separate working folders: the workers are started in one, the sweep is run from the other."""
    root = tmp_path_factory.mktemp("cluster")
    out = {"workers": root / "workers", "driver": root / "driver"}
    for folder in out.values():
        folder.mkdir()
    return out


@pytest.fixture(scope="module")
def client(places):
    # Worker processes inherit the folder they are started in: a relative path resolved on a
    # worker instead of here would land there, where the test looks for strays.
    with contextlib.chdir(places["workers"]):
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                               silence_logs=logging.ERROR, local_directory=str(places["workers"] / "dask"))
    with cluster, Client(cluster) as c:
        c.wait_for_workers(2, timeout=120)
        yield c


@pytest.fixture(scope="module")
def swept(client, places):
    """The sweep run once from the driver's folder, with relative results and cache folders."""
    with contextlib.chdir(places["driver"]), get_task_stream(client) as stream:
        records = run_all(SWEEP, results_dir="results", cache_dir="cache", client=client, progress=False)
    return records, stream.data


def _computed(task: dict) -> tuple[float, float]:
    """(start, stop) of a task stream entry's computation."""
    spans = [s for s in task["startstops"] if s["action"] == "compute"]
    return min(s["start"] for s in spans), max(s["stop"] for s in spans)


@pytest.mark.slow
def test_workers_run_elsewhere(client, places):
    assert set(client.run(os.getcwd).values()) == {str(places["workers"])}
    assert len(client.nthreads()) == 2 and set(client.nthreads().values()) == {1}


@pytest.mark.slow
def test_records_come_back_and_the_driver_writes_them(swept, places):
    records, tasks = swept
    assert [r["spec"]["method"] for r in records] == ["scratch", "kd_signal", "mglwkd"]
    assert not any(r.get("skipped") for r in records)
    for record in records:
        path = result_path(places["driver"] / "results", SWEEP, RunSpec(**record["spec"]))
        assert path.is_file(), path
        on_file = path.read_text()
        assert '"key": "' + record["key"] + '"' in on_file
    # Nothing written where the workers run: no records, no cache.
    assert not (places["workers"] / "results").exists() and not (places["workers"] / "cache").exists()
    assert len({t["worker"] for t in tasks}) == 2, "both workers got jobs"


@pytest.mark.slow
def test_teachers_are_trained_once_and_shared_through_the_cache(swept, places):
    records, tasks = swept
    names = sorted(t["key"].rsplit("-", 1)[0] for t in tasks)
    assert names == ["run-hapt-kd_signal-seed0", "run-hapt-mglwkd-seed0", "run-hapt-scratch-seed0",
                     "teacher-pi_teacher-hapt-seed0", "teacher-signal_teacher-hapt-seed0"]
    models = places["driver"] / "cache" / "models"
    teachers = sorted(models.glob("*_teacher-*.pt"))
    assert [p.name.split("-")[0] for p in teachers] == ["pi_teacher", "signal_teacher"]
    # A teacher trained again by a distillation run would replace its checkpoint (atomically, a
    # new file) after that run started.
    distill_start = min(_computed(t)[0] for t in tasks if t["key"].startswith(("run-hapt-kd", "run-hapt-mgl")))
    teacher_stop = max(_computed(t)[1] for t in tasks if t["key"].startswith("teacher-"))
    assert teacher_stop <= distill_start
    for path in teachers:
        assert path.stat().st_mtime <= distill_start, f"{path.name} written during the distillation phase"
    kd, mglwkd = records[1]["teachers"], records[2]["teachers"]
    assert kd == mglwkd and set(kd) == {"signal_teacher", "pi_teacher"}


@pytest.mark.slow
def test_rerun_dispatches_nothing(swept, client, places):
    records, _ = swept
    paths = [result_path(places["driver"] / "results", SWEEP, RunSpec(**r["spec"])) for r in records]
    before = [p.stat().st_mtime_ns for p in paths]
    with contextlib.chdir(places["driver"]), get_task_stream(client) as stream:
        again = run_all(SWEEP, results_dir="results", cache_dir="cache", client=client, progress=False)
    assert stream.data == []
    assert all(r["skipped"] for r in again)
    assert [r["key"] for r in again] == [r["key"] for r in records]
    assert [p.stat().st_mtime_ns for p in paths] == before


class _BlindClient:
    """A stand-in for a Dask client whose one worker does not see the cache folder."""

    def nthreads(self) -> dict[str, int]:
        return {"tcp://10.0.0.2:40000": 1}

    def run(self, fn, *args):
        return {"tcp://10.0.0.2:40000": False}

    def submit(self, *args, **kwargs):
        raise AssertionError("nothing may be dispatched")


def test_a_worker_without_the_cache_folder_is_refused(tmp_path):
    with pytest.raises(ExperimentError, match=r"1 of 1 Dask workers do not see the cache folder .*tcp://10\.0\.0\.2"):
        run_all(SWEEP, results_dir=tmp_path / "results", cache_dir=tmp_path / "cache", client=_BlindClient(),
                progress=False)
    assert list((tmp_path / "cache").iterdir()) == []  # the marker file is removed
    assert not (tmp_path / "results").exists()
