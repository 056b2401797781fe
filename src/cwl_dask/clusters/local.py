"""The default backend: an embedded LocalCluster owning this machine."""

from __future__ import annotations

import logging
import math
import os
from typing import Any

from cwl_dask.clusters.base import (
    RESOURCE_CORES,
    RESOURCE_GPU,
    RESOURCE_RAM,
    Backend,
    WorkerShape,
    _logger,
    gpu_refusal,
    without_labels,
)

#: Dask's periodic work that only the dashboard and ``--report`` show, turned down: the worker's
#: statistical profiler (every thread's stack every 10 ms), the event loop's stall check
#: (every 20 ms) and the system monitor (every 500 ms). ``benchmarks/clusters.py`` uses it too.
QUIET_BACKGROUND: dict[str, Any] = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "500ms",
    "distributed.admin.system-monitor.interval": "2s",
}


#: The only interface the embedded cluster listens on, unless ``--dashboard-address`` says
#: otherwise for the dashboard.
LOOPBACK = "127.0.0.1"
LOOPBACK_ANY_PORT = f"{LOOPBACK}:0"


def _loopback_worker_class() -> type:
    """A Worker whose HTTP server listens on loopback.

    ``LocalCluster`` sets an in-process worker's ``dashboard_address`` itself: from
    ``worker_dashboard_address``, which also builds the worker's Bokeh dashboard (0.4 s at
    every start, measured), or else none, and then the worker listens on every interface.
    """
    from distributed import Worker

    class LoopbackWorker(Worker):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs["dashboard_address"] = LOOPBACK_ANY_PORT
            super().__init__(*args, **kwargs)

    return LoopbackWorker


def served_at(http_server: Any) -> str:
    """The dashboard's link from where its HTTP server listens (Dask's ``dashboard_link``
    names the host of the scheduler's address, which is not where it listens)."""
    import socket

    host = str(http_server.address)
    if host in ("0.0.0.0", "::", ""):
        host = socket.gethostname()
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{http_server.port}/status"


def machine_gpus() -> int:
    """GPUs of this machine: the Dask config ``cwl-dask.local.gpus``
    (``DASK_CWL_DASK__LOCAL__GPUS``) if set, else the devices ``nvidia-smi -L`` lists."""
    import shutil
    import subprocess

    import dask

    configured = dask.config.get("cwl-dask.local.gpus", None)
    if configured is not None:
        return int(configured)
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return 0
    try:
        listed = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return 0
    return sum(1 for line in listed.splitlines() if line.startswith("GPU "))


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

    The Dask dashboard is served only when asked (``dashboard=True``, needs ``bokeh``):
    building its Bokeh application costs seconds at every start, which short runs (and the
    conformance suite) would pay for nothing. Likewise the worker's statistical profiler
    (``distributed.worker.profile``), which samples every thread every 10 ms, runs only when
    something shows it (``profile=True``: the dashboard, ``--report``): otherwise it is
    CPU taken from the tools — 0.6 s in a 30 s run of 8 CPU-bound jobs on 2 cores, measured.

    Other users of the machine must not reach the cluster (issue 32): every server it starts
    listens on loopback only (the dashboard where ``dashboard_address`` says, loopback by
    default); the HTTP pages Dask serves besides the dashboard (call stacks, task counts)
    are emptied unless the dashboard is asked for. With worker processes the scheduler
    speaks TLS with credentials made for this run and held in memory
    (``Security.temporary()``): a local stranger who finds its port cannot connect, where
    plain TCP let one run code as the run's user (TLS adds ~0.5 s to such a run's start,
    measured; docs/security.md). An in-process worker has no port: its comms
    are in-process (``inproc://``), so the default run pays nothing.
    """

    remote = False

    def __init__(
        self,
        cores: float | None = None,
        memory_mib: float | None = None,
        processes: bool = False,
        allowed_failures: int | None = None,
        dashboard: bool = False,
        profile: bool = False,
        dashboard_address: str = LOOPBACK_ANY_PORT,
    ) -> None:
        super().__init__()
        #: Worker losses a task survives (Dask's ``allowed-failures``; None: the Dask config).
        self.allowed_failures = allowed_failures
        self.dashboard = dashboard
        #: Where the dashboard listens (``--dashboard-address``; loopback unless told).
        self.dashboard_address = dashboard_address
        self.profile = profile
        self.cores = float(cores or os.cpu_count() or 1)
        self.memory_mib = float(memory_mib or _machine_memory_mib())
        self.processes = processes
        self.gpus = machine_gpus()
        self.cluster: Any = None
        self._warned: set[str] = set()

    @property
    def description(self) -> str:
        return "the local cluster"

    def connect(self) -> Any:
        import dask
        from distributed import Client, LocalCluster

        with dask.config.set({**self._quiet_config(), **self._pages_config()}):
            self.cluster = LocalCluster(
                n_workers=1,
                threads_per_worker=self._threads,
                processes=self.processes,
                resources=self._resources(),
                memory_limit=0,
                # Worker processes reach the scheduler over TCP: loopback and TLS only.
                host=LOOPBACK if self.processes else None,
                security=True if self.processes else None,
                worker_class=None if self.processes else _loopback_worker_class(),
                dashboard_address=self.dashboard_address if self.dashboard else LOOPBACK_ANY_PORT,
                scheduler_kwargs={
                    "dashboard": self.dashboard,
                    **(
                        {"allowed_failures": self.allowed_failures}
                        if self.allowed_failures is not None
                        else {}
                    ),
                },
                silence_logs=logging.ERROR,
                preload=["cwl_dask.worker.invocation", "cwl_dask.worker.local_worker"],
            )
        return Client(self.cluster)

    def _pages_config(self) -> dict[str, Any]:
        """No HTTP pages (call stacks, task counts…) unless the dashboard is asked for: Dask
        starts an HTTP server for the scheduler and each worker whatever it is told, but it
        then serves nothing."""
        if self.dashboard:
            return {}
        return {"distributed.scheduler.http.routes": [], "distributed.worker.http.routes": []}

    def _resources(self) -> dict[str, float]:
        """The one worker's Dask resources: the machine's cores, RAM and GPUs (if any)."""
        resources = {RESOURCE_CORES: self.cores, RESOURCE_RAM: self.memory_mib}
        if self.gpus:
            resources[RESOURCE_GPU] = float(self.gpus)
        return resources

    def _quiet_config(self) -> dict[str, Any]:
        """Dask's background work that nothing uses here, turned down for this cluster.

        With 2 CPU-bound tools on 2 cores, each thing the driver's process does takes CPU from
        a tool: measured, its process used 0.08 cores while tools ran, 0.04 with this.
        """
        config: dict[str, Any] = {
            **QUIET_BACKGROUND,
            "distributed.worker.profile.enabled": self.profile,
            # One worker: there is nothing to steal from (the stealing pass runs every 100 ms).
            "distributed.scheduler.work-stealing": False,
        }
        if self.dashboard:  # the system monitor's samples feed the dashboard's plots
            del config["distributed.admin.system-monitor.interval"]
        return config

    @property
    def _threads(self) -> int:
        return max(4, 2 * math.ceil(self.cores))

    def parallel_slots(self, resources: dict[str, float] | None) -> int | None:
        """The one worker's fixed size: as many invocations as cores, RAM and threads allow."""
        if not resources:
            return self._threads
        fits = [self._threads]
        for have, name in (
            (self.cores, RESOURCE_CORES),
            (self.memory_mib, RESOURCE_RAM),
            (float(self.gpus), RESOURCE_GPU),
        ):
            need = resources.get(name, 0.0)
            if need > 0:
                fits.append(int(have // need))
        return max(1, min(fits))

    def dashboard_link(self) -> str | None:
        if not self.dashboard:
            return None
        try:
            import bokeh  # noqa: F401
        except ImportError:
            _logger.warning("no Dask dashboard: it needs bokeh (pip install bokeh)")
            return None
        return served_at(self.cluster.scheduler.http_server) if self.cluster else None

    def worker_shape(self) -> WorkerShape:
        return WorkerShape(self.cores, self.memory_mib, self.gpus)

    def fit(self, step: str, request: dict[str, float]) -> dict[str, float]:
        """The request within the machine; a GPU step on a machine without GPUs is refused
        (it cannot run "with what there is", as too many cores can)."""
        request = without_labels(request)
        gpus = request.get(RESOURCE_GPU, 0)
        if gpus > self.gpus:
            raise gpu_refusal(step, gpus, f"{self.description} ({self.gpus} GPUs)")
        fitted = {
            RESOURCE_CORES: min(request[RESOURCE_CORES], self.cores),
            RESOURCE_RAM: min(request[RESOURCE_RAM], self.memory_mib),
        }
        if gpus:
            fitted[RESOURCE_GPU] = gpus
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
