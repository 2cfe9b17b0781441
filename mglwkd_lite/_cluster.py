"""Running the experiment runner's jobs on a Dask cluster (:func:`mglwkd_lite.experiments.run_all` with a client).

Dask is optional: nothing here imports it; the functions take the caller's ``distributed.Client``.
"""

from __future__ import annotations

import os
import queue
import socket
import uuid
from pathlib import Path
from typing import Any, Iterator, Sequence

from . import repro

__all__ = ["ClusterError", "cluster_results", "cluster_threads"]


class ClusterError(ValueError):
    """The cluster cannot run the sweep as asked (no worker, or a worker without the cache folder)."""


def cluster_results(client: Any, jobs: Sequence[Any]) -> Iterator[tuple[Any, Any]]:
    """``(job, result)`` of the Dask cluster as each job ends; earlier jobs have higher priority.

    A job that fails raises here, and the jobs still pending are cancelled.
    """
    ended: queue.Queue = queue.Queue()
    futures = {}
    for rank, job in enumerate(jobs):
        # A unique key (Dask would otherwise take equal calls for one) that names the job on the dashboard.
        future = client.submit(job.fn, *job.args, key=f"{job.name}-{uuid.uuid4().hex}", priority=len(jobs) - rank,
                               pure=False, **job.kwargs)
        future.add_done_callback(ended.put)
        futures[future] = job
    try:
        for _ in range(len(futures)):
            future = ended.get()
            yield futures[future], future.result()
    finally:
        client.cancel(list(futures))  # nothing left to cancel once every job has ended


def _host_cores() -> tuple[str, int]:
    """``(host name, cores)`` of the process it runs in (run on each Dask worker)."""
    return socket.gethostname(), repro.available_cpus()


def cluster_threads(client: Any, cache: Path) -> int:
    """Check that every worker sees ``cache``; PyTorch threads per job: cores per worker thread.

    Teachers are trained once, in the first phase, and shared through the cache, so a worker that
    does not see the cache folder would train them again (on another CPU, possibly to other
    numbers): refused here, before any job starts.
    """
    nthreads = client.nthreads()
    if not nthreads:
        raise ClusterError("the Dask cluster has no worker; start workers or wait for them "
                              "(client.wait_for_workers(n)) before run_all")
    cache.mkdir(parents=True, exist_ok=True)
    marker = cache / f".shared-{uuid.uuid4().hex}"
    marker.write_text("written by run_all to check that every worker sees the cache folder\n")
    try:
        seen = client.run(os.path.isfile, str(marker))
    finally:
        marker.unlink()
    blind = sorted(worker for worker, ok in seen.items() if not ok)
    if blind:
        raise ClusterError(
            f"{len(blind)} of {len(seen)} Dask workers do not see the cache folder {cache} ({', '.join(blind)}): "
            "teachers are trained once and shared through it, so give run_all a cache_dir on a file system "
            "that every worker mounts at the same path")
    hosts: dict[str, list[int]] = {}  # host -> [cores, worker threads]
    for worker, (host, cores) in client.run(_host_cores).items():
        entry = hosts.setdefault(host, [cores, 0])
        entry[1] += nthreads.get(worker, 1)
    return max(1, min(cores // max(1, threads) for cores, threads in hosts.values()))
