"""Clusters for the simulated scale-out: ``--cluster benchmarks/clusters.py:workers_32``.

A 2-core machine cannot show many machines, but jobs that sleep can: N single-core workers
(threads of this process, so nothing is imported N times) each declaring ``cores=1``, and
256 x ``sleep 1`` measure what the scheduler and the driver add, not what the CPUs can do.

Each factory takes ``minimum`` and ``maximum`` so cwl-dask leaves the size alone instead of
making the cluster adaptive.
"""

from __future__ import annotations

import logging
from typing import Any

#: Every worker's declared RAM (MiB): more than a tool's default ramMin (256 MiB).
WORKER_RAM_MIB = 1024


def local_cluster(n_workers: int) -> Any:
    """``n_workers`` single-core in-process workers declaring cwl-dask's resources."""
    import dask
    from distributed import LocalCluster

    from cwl_dask.clusters.local import QUIET_BACKGROUND

    # Background work a real worker does on its own machine, but that N simulated workers
    # would do N times over in this one process (each its profiler, tick, system monitor).
    with dask.config.set(QUIET_BACKGROUND):
        return LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=False,
            resources={"cores": 1, "ram": WORKER_RAM_MIB},
            memory_limit=0,
            dashboard_address=":0",
            scheduler_kwargs={"dashboard": False},
            silence_logs=logging.ERROR,
        )


def workers_8(minimum: int = 0, maximum: int = 0) -> Any:
    return local_cluster(8)


def workers_16(minimum: int = 0, maximum: int = 0) -> Any:
    return local_cluster(16)


def workers_32(minimum: int = 0, maximum: int = 0) -> Any:
    return local_cluster(32)


def workers_64(minimum: int = 0, maximum: int = 0) -> Any:
    return local_cluster(64)
