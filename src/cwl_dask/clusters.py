"""Backends: where the Dask tasks run.

One small interface: a backend is started (possibly in the background, so a local cluster
boots while cwltool loads the document), yields a connected ``distributed.Client``, says
whether a resource request fits its workers, and cleans up on ``close()``.
"""

from __future__ import annotations

import logging
import math
import os
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from cwl_dask.errors import BackendError, UnsatisfiableRequest

_logger = logging.getLogger("cwl_dask")

#: The worker resources every backend's workers declare and every task asks for.
RESOURCE_CORES = "cores"
RESOURCE_RAM = "ram"  # MiB, as CWL's ramMin


@dataclass(frozen=True)
class WorkerShape:
    """The largest single worker: what one tool invocation can ever get."""

    cores: float
    ram: float  # MiB


class Backend(ABC):
    """A source of a Dask ``Client`` and of the shape of the workers behind it."""

    def __init__(self) -> None:
        self._client: Any = None
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None

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
        if shape is None:
            return None
        if request[RESOURCE_CORES] > shape.cores or request[RESOURCE_RAM] > shape.ram:
            raise UnsatisfiableRequest(
                f"step '{step}' asks for {request[RESOURCE_CORES]:g} cores and "
                f"{request[RESOURCE_RAM]:g} MiB, but the largest worker of {self.description} "
                f"has {shape.cores:g} cores and {shape.ram:g} MiB"
            )
        return dict(request)

    def close(self) -> None:
        """Release the client and anything the backend created."""
        if self._thread is not None:
            self._thread.join()
        if self._client is not None:
            self._client.close()
            self._client = None


def _machine_memory_mib() -> float:
    import psutil  # a dependency of distributed

    return psutil.virtual_memory().total / 2**20


class LocalBackend(Backend):
    """An embedded ``LocalCluster`` on this machine (the default).

    One worker owns the whole machine and declares its cores and RAM as Dask resources, so
    Dask runs as many invocations at once as their requests fit — the same rule as cwltool
    ``--parallel``. A request larger than the machine is run anyway with what there is (as
    cwltool does) after a warning, since waiting would never end.

    By default the worker lives in the driver process: tools are subprocesses either way, and
    an in-process worker starts ~2.5 s faster than a spawned one (which must import cwltool
    again). ``processes=True`` gives a separate worker process (a Nanny), as remote clusters have.
    """

    def __init__(
        self, cores: float | None = None, memory_mib: float | None = None, processes: bool = False
    ) -> None:
        super().__init__()
        self.cores = float(cores or os.cpu_count() or 1)
        self.memory_mib = float(memory_mib or _machine_memory_mib())
        self.processes = processes
        self.cluster: Any = None
        self._warned: set[str] = set()

    @property
    def description(self) -> str:
        return "the local cluster"

    def connect(self) -> Any:
        from distributed import Client, LocalCluster

        self.cluster = LocalCluster(
            n_workers=1,
            threads_per_worker=max(4, 2 * math.ceil(self.cores)),
            processes=self.processes,
            resources={RESOURCE_CORES: self.cores, RESOURCE_RAM: self.memory_mib},
            memory_limit=0,
            dashboard_address=":0",
            silence_logs=logging.ERROR,
            preload=["cwl_dask.worker"],
        )
        return Client(self.cluster)

    def worker_shape(self) -> WorkerShape:
        return WorkerShape(self.cores, self.memory_mib)

    def fit(self, step: str, request: dict[str, float]) -> dict[str, float]:
        fitted = {
            RESOURCE_CORES: min(request[RESOURCE_CORES], self.cores),
            RESOURCE_RAM: min(request[RESOURCE_RAM], self.memory_mib),
        }
        if fitted != request and step not in self._warned:
            self._warned.add(step)
            _logger.warning(
                "step '%s' asks for %g cores and %g MiB; this machine has %g cores and %g MiB: "
                "running it with what there is",
                step,
                request[RESOURCE_CORES],
                request[RESOURCE_RAM],
                self.cores,
                self.memory_mib,
            )
        return fitted

    def close(self) -> None:
        super().close()
        if self.cluster is not None:
            self.cluster.close()
            self.cluster = None


class SchedulerBackend(Backend):
    """An already running Dask scheduler, reached by address; its workers are not ours."""

    def __init__(self, address: str, timeout: float = 10.0) -> None:
        super().__init__()
        self.address = address
        self.timeout = timeout
        self._shape: WorkerShape | None = None
        self._shape_known = False

    @property
    def description(self) -> str:
        return f"the cluster at {self.address}"

    def connect(self) -> Any:
        from distributed import Client

        try:
            client = Client(self.address, timeout=self.timeout)
        except (OSError, TimeoutError) as err:
            raise BackendError(
                f"cannot reach the Dask scheduler at {self.address} ({err}); check the address "
                "and that the scheduler runs, or leave out --scheduler to use a local cluster"
            ) from err
        try:
            client.wait_for_workers(1, timeout=self.timeout)
        except TimeoutError as err:
            client.close()
            raise BackendError(
                f"the Dask scheduler at {self.address} has no workers after {self.timeout:g} s"
            ) from err
        return client

    def worker_shape(self) -> WorkerShape | None:
        if not self._shape_known:
            workers = self.client().scheduler_info(n_workers=-1)["workers"].values()
            declared = [w.get("resources", {}) for w in workers]
            declared = [r for r in declared if RESOURCE_CORES in r and RESOURCE_RAM in r]
            if declared:
                self._shape = WorkerShape(
                    max(r[RESOURCE_CORES] for r in declared), max(r[RESOURCE_RAM] for r in declared)
                )
            else:
                _logger.warning(
                    "the workers at %s declare no 'cores'/'ram' resources, so tasks run without "
                    "resource limits; start workers with --resources 'cores=N,ram=MiB'",
                    self.address,
                )
            self._shape_known = True
        return self._shape
