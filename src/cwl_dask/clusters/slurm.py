"""A ``--cluster`` factory for SLURM: dask-jobqueue's ``SLURMCluster``, one per pool.

``cwl-dask run --cluster cwl_dask.clusters.slurm:slurm_cluster`` submits Dask workers as
``sbatch`` jobs of each pool's shape (``cwl-dask plan``: one cluster per pool, see
:mod:`cwl_dask.clusters.pooled`); the scheduler runs in the driver's process, the tools run
in the jobs, on the compute nodes. The site's own settings — partition (``queue``),
``account``, ``walltime``, network ``interface``, ``local-directory``, ``job-script-prologue``
(modules, a virtualenv) — come from dask-jobqueue's Dask config ``jobqueue.slurm`` (e.g.
``~/.config/dask/jobqueue.yaml``), as for any dask-jobqueue user; this factory sets only
what the pool decides:

* a job = one worker process of the pool's cores and memory (``--cpus-per-task``,
  ``--mem``), declaring the Dask resources ``cores``, ``ram`` (MiB) and ``gpu``;
* GPUs: ``--gres=gpu:N``;
* placement labels: ``partition`` → the job's partition, any other label → a node feature
  (``--constraint=value``, several joined with ``&``), which is how SLURM sites label nodes.

The driver's host must reach the compute nodes and they it (Dask's ports), and the run
directory (``--workdir``) must be on a filesystem the nodes share, or outputs must go to an
object store (see docs/backends.md, "HPC (SLURM)").
"""

from __future__ import annotations

import math
import signal
import threading
from typing import Any


def _import_jobqueue() -> Any:
    """``dask_jobqueue``, imported without its side effect on SIGINT.

    Its ``runner`` module installs ``signal.signal(SIGINT, sys.exit)`` when imported, which
    fails outside the main thread (the factory runs in the backend's connecting thread) and
    would replace cwl-dask's own Ctrl-C handling. It is imported here, when ``--cluster``
    loads this module in the main thread, and the previous handler is put back.
    """
    if threading.current_thread() is not threading.main_thread():
        import dask_jobqueue

        return dask_jobqueue
    previous = signal.getsignal(signal.SIGINT)
    try:
        import dask_jobqueue
    finally:
        signal.signal(signal.SIGINT, previous)
    return dask_jobqueue


try:
    _jobqueue: Any = _import_jobqueue()
except ImportError:  # said when the factory is called
    _jobqueue = None


def slurm_cluster(
    worker_cores: float,
    worker_memory_mib: float,
    worker_gpus: int = 0,
    labels: dict[str, str] | None = None,
) -> Any:
    """One ``SLURMCluster`` whose jobs are workers of this shape (cwl-dask calls ``adapt``)."""
    if _jobqueue is None:
        raise ImportError("SLURM needs dask-jobqueue: pip install 'cwl-dask[hpc]'")
    SLURMCluster = _jobqueue.SLURMCluster

    labels = dict(labels or {})
    cores = max(1, math.ceil(worker_cores))
    resources = f"cores={worker_cores:g},ram={worker_memory_mib:g}"
    directives: list[str] = []
    if worker_gpus:
        resources += f",gpu={worker_gpus}"
        directives.append(f"--gres=gpu:{worker_gpus}")
    partition = labels.pop("partition", None)
    if labels:
        directives.append(f"--constraint={'&'.join(sorted(labels.values()))}")
    extra: dict[str, Any] = {"queue": partition} if partition else {}
    return SLURMCluster(
        cores=cores,
        processes=1,
        memory=f"{math.ceil(worker_memory_mib)}MiB",
        worker_extra_args=["--resources", resources],
        job_extra_directives=directives,
        job_name=f"cwl-dask-{cores}c-{math.ceil(worker_memory_mib)}m",
        **extra,
    )
