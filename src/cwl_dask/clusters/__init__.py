"""Backends: where the Dask tasks run.

One small interface: a backend is started (possibly in the background, so a local cluster
boots while cwltool loads the document), yields a connected ``distributed.Client``, says
whether a resource request fits its workers, and cleans up on ``close()``.

Backends: :class:`LocalBackend` (an embedded cluster, the default), :class:`SchedulerBackend`
(a running scheduler), :class:`ClientBackend` (a Client the caller has),
:class:`GatewayBackend` (a cluster from a Dask Gateway), :class:`ClusterClassBackend`
(any Dask cluster class, through a factory) and :class:`PooledBackend` (one of those per
worker pool of the plan, tasks routed to their pool). :func:`make_backend`
picks one from the command line and the Dask config.
"""

from cwl_dask.clusters.base import RESOURCE_CORES, RESOURCE_GPU, RESOURCE_RAM, Backend, WorkerShape
from cwl_dask.clusters.choice import BACKEND_KINDS, make_backend
from cwl_dask.clusters.client import ClientBackend
from cwl_dask.clusters.factory import ClusterClassBackend, load_factory
from cwl_dask.clusters.gateway import GatewayBackend
from cwl_dask.clusters.local import LocalBackend
from cwl_dask.clusters.pooled import PooledBackend
from cwl_dask.clusters.scheduler import SchedulerBackend
from cwl_dask.clusters.storage import answer_storage_probe, probe_shared_storage

__all__ = [
    "BACKEND_KINDS",
    "RESOURCE_CORES",
    "RESOURCE_GPU",
    "RESOURCE_RAM",
    "Backend",
    "ClientBackend",
    "ClusterClassBackend",
    "GatewayBackend",
    "LocalBackend",
    "PooledBackend",
    "SchedulerBackend",
    "WorkerShape",
    "answer_storage_probe",
    "load_factory",
    "make_backend",
    "probe_shared_storage",
]
