"""The one backend interface: a Client, the shape of its workers, cleanup."""

from __future__ import annotations

import logging
import math
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from cwl_dask.clusters.placement import LABEL_PREFIX
from cwl_dask.errors import UnsatisfiableRequest

_logger = logging.getLogger("cwl_dask")

#: The worker resources every backend's workers declare and every task asks for.
RESOURCE_CORES = "cores"
RESOURCE_RAM = "ram"  # MiB, as CWL's ramMin
RESOURCE_GPU = "gpu"  # devices, as cwltool:CUDARequirement's cudaDeviceCountMin


@dataclass(frozen=True)
class WorkerShape:
    """The largest single worker: what one tool invocation can ever get."""

    cores: float
    ram: float  # MiB
    gpus: float = 0

    def planned(self) -> dict[str, Any]:
        """A worker of this shape a cluster will start, as the scheduler describes workers
        (one thread a core): what :mod:`~cwl_dask.clusters.slots` counts slots of."""
        resources = {RESOURCE_CORES: self.cores, RESOURCE_RAM: self.ram}
        if self.gpus:
            resources[RESOURCE_GPU] = self.gpus
        return {"nthreads": max(1, math.ceil(self.cores)), "resources": resources}


def without_labels(request: dict[str, float]) -> dict[str, float]:
    """The request's Dask resources: placement labels (:mod:`~.placement`) are no resource."""
    return {k: v for k, v in request.items() if not k.startswith(LABEL_PREFIX)}


def gpu_refusal(step: str, gpus: float, where: str) -> UnsatisfiableRequest:
    return UnsatisfiableRequest(
        f"step '{step}' needs {gpus:g} GPU{'' if gpus == 1 else 's'} (cwltool:CUDARequirement), "
        f"but no worker of {where} has {'one' if gpus == 1 else 'that many'}; run it where "
        "workers declare the Dask resource gpu (a local cluster finds GPUs with nvidia-smi -L, "
        "or takes the Dask config cwl-dask.local.gpus)"
    )


class Backend(ABC):
    """A source of a Dask ``Client`` and of the shape of the workers behind it."""

    #: Workers may run on other machines: the run directory must be checked to be shared.
    remote = True

    def __init__(self) -> None:
        self._client: Any = None
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._slots: Any = None  # a SlotCount, made on first use

    def start(self) -> None:
        """Begin connecting in the background; :meth:`client` waits for it."""
        if self._thread is None and self._client is None:
            self._thread = threading.Thread(target=self._connect_safely, daemon=True)
            self._thread.start()

    def _connect_safely(self) -> None:
        try:
            self._client = self.connect()
        except BaseException as err:
            self._error = err

    def client(self) -> Any:
        """The connected ``distributed.Client`` (connecting now if not started)."""
        if self._client is None:
            if self._thread is None:
                self._connect_safely()
            else:
                self._thread.join()
            if self._error is not None:
                raise self._error
        return self._client

    @abstractmethod
    def connect(self) -> Any:
        """Create the cluster or reach it, and return a connected Client."""

    @abstractmethod
    def worker_shape(self) -> WorkerShape | None:
        """The largest worker, or None when the workers declare no cores/ram resources."""

    @property
    def description(self) -> str:
        return type(self).__name__

    def fit(self, step: str, request: dict[str, float]) -> dict[str, float] | None:
        """The Dask ``resources=`` annotation for a request, or an error if none can fit.

        A request larger than every worker would wait forever in Dask, so it fails here,
        naming the step and the numbers, before it is submitted.
        """
        shape = self.worker_shape()
        request = without_labels(request)
        if shape is None:
            return None
        if request.get(RESOURCE_GPU, 0) > shape.gpus:
            raise gpu_refusal(step, request[RESOURCE_GPU], self.description)
        if request[RESOURCE_CORES] > shape.cores or request[RESOURCE_RAM] > shape.ram:
            raise UnsatisfiableRequest(
                f"step '{step}' asks for {request[RESOURCE_CORES]:g} cores and "
                f"{request[RESOURCE_RAM]:g} MiB, but the largest worker of {self.description} "
                f"has {shape.cores:g} cores and {shape.ram:g} MiB"
            )
        return dict(request)

    def route(self, resources: dict[str, float] | None) -> tuple[Any, dict[str, float] | None]:
        """The Client a task with these resources (from :meth:`fit`) goes to, and the
        resources to submit it with. One cluster: this backend's client, unchanged;
        :class:`~cwl_dask.clusters.pooled.PooledBackend` picks the pool's."""
        return self.client(), resources

    def clients(self) -> list[Any]:
        """Every Client tasks may go to (workers' events are heard from each)."""
        return [self.client()]

    def parallel_slots(self, resources: dict[str, float] | None) -> int | None:
        """How many invocations with this request the cluster runs at once (or will, scaled up).

        It sizes the batches short invocations are fused into (:mod:`cwl_dask.driver.batching`):
        the workers the scheduler has, or those :meth:`planned_workers` says it may grow to,
        whichever run more (:mod:`cwl_dask.clusters.slots`). None: no worker, none planned.
        """
        if self._slots is None:
            from cwl_dask.clusters.slots import SlotCount

            self._slots = SlotCount()
        wanted = without_labels(resources) if resources else resources
        return self._slots(self.client(), wanted, self.planned_workers())

    def planned_workers(self) -> list[dict[str, Any]]:
        """The workers an adaptive cluster may scale up to, as the scheduler describes workers.

        Empty for a cluster whose size is not this backend's to change.
        """
        return []

    def dashboard_link(self) -> str | None:
        """The Dask dashboard of the run's cluster (a gateway's proxied one), or None."""
        try:
            link = getattr(getattr(self, "cluster", None), "dashboard_link", None)
            return link or self.client().dashboard_link or None
        except Exception:  # no dashboard served (bokeh missing) or not reachable
            return None

    def check_storage(
        self, path: str, what: str = "the work directory", option: str = "--workdir"
    ) -> None:
        """Fail unless the workers see ``path`` (the run directory) as the driver does.

        A no-op for backends whose workers share this machine; see :func:`probe_shared_storage`.
        """
        if self.remote:
            from cwl_dask.clusters.storage import probe_shared_storage

            probe_shared_storage(self.client(), path, what=what, option=option)

    def abandon(self) -> None:
        """Last resort when a stop's cleanup hangs (``driver.stopping``): release what this
        backend created from a fresh connection, quickly, touching none of its own state.
        Nothing by default: local clusters die with the process, remote ones are not ours."""
        return None

    def close(self) -> None:
        """Release the client and anything the backend created."""
        if self._thread is not None:
            self._thread.join()
        if self._client is not None:
            with _quiet_if_lost(self._client):
                self._client.close()
            self._client = None


@contextmanager
def _quiet_if_lost(client: Any) -> Iterator[None]:
    """Closing a client that lost its scheduler cancels its reconnection attempt, which
    Dask logs as errors with tracebacks; the run has said in one message what happened."""
    if getattr(client, "status", "running") == "running":
        yield
        return
    logger = logging.getLogger("distributed.client")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def _declared_shape(client: Any, where: str) -> WorkerShape | None:
    """The largest ``cores``/``ram`` resources the connected workers declare, or None."""
    workers = client.scheduler_info(n_workers=-1)["workers"].values()
    declared = [w.get("resources", {}) for w in workers]
    declared = [r for r in declared if RESOURCE_CORES in r and RESOURCE_RAM in r]
    if declared:
        return WorkerShape(
            max(r[RESOURCE_CORES] for r in declared),
            max(r[RESOURCE_RAM] for r in declared),
            max(r.get(RESOURCE_GPU, 0) for r in declared),
        )
    _logger.warning(
        "the workers at %s declare no 'cores'/'ram' resources, so tasks run without "
        "resource limits; start workers with --resources 'cores=N,ram=MiB'",
        where,
    )
    return None


# --------------------------------------------------------------------------- Dask Gateway
