"""Backends: where the Dask tasks run.

One small interface: a backend is started (possibly in the background, so a local cluster
boots while cwltool loads the document), yields a connected ``distributed.Client``, says
whether a resource request fits its workers, and cleans up on ``close()``.

Backends: :class:`LocalBackend` (an embedded cluster, the default), :class:`SchedulerBackend`
(a running scheduler), :class:`GatewayBackend` (a cluster from a Dask Gateway) and
:class:`ClusterClassBackend` (any Dask cluster class, through a factory). :func:`make_backend`
picks one from the command line and the Dask config.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import importlib.util
import inspect
import logging
import math
import os
import socket
import sys
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cwl_dask.errors import BackendError, InvalidInputError, UnsatisfiableRequest

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

    #: Workers may run on other machines: the run directory must be checked to be shared.
    remote = True

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

    def check_storage(self, path: str) -> None:
        """Fail unless the workers see ``path`` (the run directory) as the driver does.

        A no-op for backends whose workers share this machine; see :func:`probe_shared_storage`.
        """
        if self.remote:
            probe_shared_storage(self.client(), path)

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

    remote = False

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
            self._shape = _declared_shape(self.client(), self.address)
            self._shape_known = True
        return self._shape


def _declared_shape(client: Any, where: str) -> WorkerShape | None:
    """The largest ``cores``/``ram`` resources the connected workers declare, or None."""
    workers = client.scheduler_info(n_workers=-1)["workers"].values()
    declared = [w.get("resources", {}) for w in workers]
    declared = [r for r in declared if RESOURCE_CORES in r and RESOURCE_RAM in r]
    if declared:
        return WorkerShape(
            max(r[RESOURCE_CORES] for r in declared), max(r[RESOURCE_RAM] for r in declared)
        )
    _logger.warning(
        "the workers at %s declare no 'cores'/'ram' resources, so tasks run without "
        "resource limits; start workers with --resources 'cores=N,ram=MiB'",
        where,
    )
    return None


# --------------------------------------------------------------------------- Dask Gateway


def _option_value(value: float) -> float | int:
    """An integral number as an int: a gateway's ``Integer`` option refuses ``2.0``."""
    return int(value) if float(value).is_integer() else float(value)


class GatewayBackend(Backend):
    """A cluster created on (or a named cluster of) a Dask Gateway server.

    The cluster is created with the gateway options ``worker_cores`` and ``worker_memory``
    (GiB, as dask-gateway's options are usually declared) and optionally ``image``, then made
    adaptive between ``minimum`` and ``maximum`` workers. Its workers must declare the Dask
    resources ``cores`` and ``ram`` (MiB) of that size — the gateway's options handler does
    it (see the README) — and :meth:`worker_shape` is that size, so a request no worker can
    meet fails before anything is submitted, even while the cluster has no worker yet.

    ``cluster_name`` reuses a running cluster instead (its scaling is left as it is; its
    shape is read from the options it was created with). :meth:`close` shuts down a cluster
    this backend created, unless ``keep_cluster``; a reused cluster is never shut down.
    ``auth`` is ``"basic"``, ``"kerberos"``, ``"jupyterhub"``, or None for the Dask config
    (``gateway.auth.type``, with ``gateway.auth.kwargs``, e.g. the basic auth password).
    """

    def __init__(
        self,
        address: str | None = None,
        auth: str | None = None,
        *,
        worker_cores: float = 2,
        worker_memory_mib: float = 4096,
        image: str | None = None,
        minimum: int = 0,
        maximum: int = 4,
        cluster_name: str | None = None,
        keep_cluster: bool = False,
        start_timeout: float = 300.0,
    ) -> None:
        super().__init__()
        if address is None:
            import dask

            configured = dask.config.get("gateway.address", None)
            address = configured.format(**os.environ) if isinstance(configured, str) else None
        if not address:
            raise InvalidInputError(
                "the gateway backend needs the gateway's address: --gateway URL or the Dask "
                "config key gateway.address"
            )
        self.address = address.rstrip("/")
        self.auth = auth
        self.worker_cores = float(worker_cores)
        self.worker_memory_mib = float(worker_memory_mib)
        self.image = image
        self.minimum = minimum
        self.maximum = maximum
        self.cluster_name = cluster_name
        self.reused = cluster_name is not None
        self.keep_cluster = keep_cluster
        self.start_timeout = start_timeout
        self.gateway: Any = None
        self.cluster: Any = None
        self._shape = WorkerShape(self.worker_cores, self.worker_memory_mib)

    @property
    def description(self) -> str:
        name = f" {self.cluster_name}" if self.cluster_name else ""
        return f"the Dask Gateway cluster{name} at {self.address}"

    def connect(self) -> Any:
        try:
            return self._connect()
        except BackendError as err:
            message = str(err)
        except Exception as err:
            message = self._explain(err)
        # Outside the except clause, so the failed call's frames are garbage now: collect them
        # in this thread. Otherwise a half-built Gateway may be collected on dask-gateway's IO
        # loop thread, whose __del__ then blocks that loop on itself (the next call hangs).
        gc.collect()
        raise BackendError(message)

    def _connect(self) -> Any:
        from dask_gateway import Gateway

        self.gateway = Gateway(self.address, auth=self.auth)
        if self.reused:
            report = self.gateway.get_cluster(self.cluster_name)
            self._shape = self._shape_of(report.options)
            self._wait_running(report.name)
            self.cluster = self.gateway.connect(report.name, shutdown_on_close=False)
            _logger.info("using the Dask Gateway cluster %s at %s", report.name, self.address)
        else:
            options = self.gateway.cluster_options()
            self._set_options(options)
            self.cluster_name = self.gateway.submit(options)
            _logger.info(
                "Dask Gateway cluster %s created at %s: workers of %g cores and %g MiB, "
                "adaptive from %d to %d",
                self.cluster_name,
                self.address,
                self.worker_cores,
                self.worker_memory_mib,
                self.minimum,
                self.maximum,
            )
            self._wait_running(self.cluster_name)
            self.cluster = self.gateway.connect(self.cluster_name, shutdown_on_close=False)
            self.cluster.adapt(minimum=self.minimum, maximum=self.maximum)
        # The default client: the executor's as_completed() finds its loop through it.
        return self.cluster.get_client()

    def _set_options(self, options: Any) -> None:
        wanted: dict[str, Any] = {
            "worker_cores": _option_value(self.worker_cores),
            "worker_memory": _option_value(self.worker_memory_mib / 1024),
        }
        if self.image:
            wanted["image"] = self.image
        for name, value in wanted.items():
            if name not in options:
                raise BackendError(
                    f"the Dask Gateway at {self.address} has no cluster option '{name}' "
                    f"(it offers: {', '.join(options) or 'none'}); its operator must offer "
                    "worker_cores and worker_memory (GiB) options (see the README)"
                )
            try:
                options[name] = value
            except (TypeError, ValueError) as err:
                raise BackendError(
                    f"the Dask Gateway at {self.address} refuses {name}={value}: {err}"
                ) from None

    def _shape_of(self, options: dict[str, Any]) -> WorkerShape:
        try:
            return WorkerShape(
                float(options["worker_cores"]), float(options["worker_memory"]) * 1024
            )
        except (KeyError, TypeError, ValueError):
            _logger.warning(
                "the Dask Gateway cluster %s has no worker_cores/worker_memory options; "
                "assuming workers of %g cores and %g MiB",
                self.cluster_name,
                self.worker_cores,
                self.worker_memory_mib,
            )
            return WorkerShape(self.worker_cores, self.worker_memory_mib)

    def _wait_running(self, name: str) -> None:
        from dask_gateway.client import ClusterStatus

        deadline = time.monotonic() + self.start_timeout
        while True:
            status = self.gateway.get_cluster(name).status
            if status is ClusterStatus.RUNNING:
                return
            if status is not ClusterStatus.PENDING:
                raise BackendError(
                    f"the Dask Gateway cluster {name} at {self.address} is {status.name}, not "
                    "running; see the gateway server's logs"
                )
            if time.monotonic() > deadline:
                raise BackendError(
                    f"the Dask Gateway cluster {name} at {self.address} did not start within "
                    f"{self.start_timeout:g} s"
                )
            time.sleep(0.25)

    def _explain(self, err: Exception) -> str:
        """One line for a failed gateway call: unreachable, refused credentials, or else."""
        import aiohttp

        if isinstance(err, aiohttp.ClientResponseError) and err.status in (401, 403):
            return (
                f"the Dask Gateway at {self.address} refused the credentials ({err.status} "
                f"{err.message}); check --gateway-auth or the Dask config gateway.auth (basic: "
                "gateway.auth.kwargs.username/password, e.g. DASK_GATEWAY__AUTH__KWARGS__PASSWORD)"
            )
        if isinstance(err, (aiohttp.ClientConnectionError, OSError, TimeoutError)):
            return (
                f"cannot reach the Dask Gateway at {self.address} ({err}); check the address "
                "(--gateway or the Dask config key gateway.address) and that the gateway runs"
            )
        if isinstance(err, ValueError) and self.reused:
            return f"no cluster {self.cluster_name} on the Dask Gateway at {self.address}: {err}"
        return f"the Dask Gateway at {self.address} failed: {type(err).__name__}: {err}"

    def worker_shape(self) -> WorkerShape:
        return self._shape

    def fit(self, step: str, request: dict[str, float]) -> dict[str, float] | None:
        try:
            return super().fit(step, request)
        except UnsatisfiableRequest as err:
            hint = (
                "reuse a bigger cluster"
                if self.reused
                else "raise --worker-cores/--worker-memory within what the gateway allows"
            )
            raise UnsatisfiableRequest(f"{err}; {hint}") from None

    def close(self) -> None:
        """Close the client; shut the cluster down unless it is kept or was reused.

        Runs even when connecting is still under way or was interrupted (Ctrl-C): a cluster
        that was submitted is stopped by name.
        """
        try:
            super().close()
        finally:
            self._release()

    def _release(self) -> None:
        shutdown = not (self.reused or self.keep_cluster) and self.cluster_name is not None
        gateways = [self.gateway]
        try:
            if self.cluster is not None:
                gateways.append(self.cluster.gateway)
                self.cluster.close(shutdown=shutdown)
            elif shutdown and self.gateway is not None:
                self.gateway.stop_cluster(self.cluster_name)
        except Exception as err:
            _logger.warning(
                "could not shut down the Dask Gateway cluster %s: %s", self.cluster_name, err
            )
        finally:
            if self.keep_cluster and not self.reused and self.cluster_name is not None:
                _logger.warning(
                    "the Dask Gateway cluster %s keeps running; reuse it with "
                    "--gateway-cluster %s, stop it with "
                    "dask_gateway.Gateway(%r).stop_cluster(%r)",
                    self.cluster_name,
                    self.cluster_name,
                    self.address,
                    self.cluster_name,
                )
            self.cluster = None
            if self.gateway is not None:
                self.gateway.close()
            for closed in gateways:
                if closed is not None:
                    # Gateway.__del__ calls close() again, which raises once the loop stopped
                    # ("Exception ignored in Gateway.__del__" on stderr): make it a no-op.
                    closed.close = _closed
            self.gateway = None
            gc.collect()  # see connect(): collect dask-gateway objects in this thread


def _closed() -> None:
    """Stands in for ``close`` on a dask-gateway object that is closed already."""


# --------------------------------------------------------------------------- cluster classes


def load_factory(spec: str) -> Callable[..., Any]:
    """``module:attr`` (or ``path/to/file.py:attr``) → the callable it names."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise InvalidInputError(
            f"--cluster expects module:factory (e.g. mypkg.clusters:make_cluster), got {spec!r}"
        )
    try:
        if module_name.endswith(".py") or os.sep in module_name:
            path = os.path.abspath(module_name)
            loader = importlib.util.spec_from_file_location(
                os.path.splitext(os.path.basename(path))[0], path
            )
            if loader is None or loader.loader is None:
                raise ImportError(f"no Python module at {path}")
            module = importlib.util.module_from_spec(loader)
            loader.loader.exec_module(module)
        else:
            if "" not in sys.path and os.getcwd() not in sys.path:
                sys.path.append(os.getcwd())  # as `python -m` would
            module = importlib.import_module(module_name)
        target: Any = module
        for part in attr.split("."):
            target = getattr(target, part)
    except Exception as err:
        raise InvalidInputError(
            f"--cluster {spec}: cannot import it ({type(err).__name__}: {err})"
        ) from None
    if not callable(target):
        raise InvalidInputError(f"--cluster {spec}: {attr} is not callable")
    return target


class ClusterClassBackend(Backend):
    """Any Dask cluster class (dask-jobqueue, dask-kubernetes, ...) through a factory.

    ``factory`` is a ``module:attr`` string or a callable returning a cluster object (with a
    ``scheduler_address``; ``Client(cluster)`` must work). It is called with those of the
    keyword arguments ``worker_cores``, ``worker_memory_mib`` (MiB), ``minimum`` and
    ``maximum`` that its signature names explicitly (``**kwargs`` gets none of them, so a
    cluster class can be named directly). Contract: a factory that takes ``worker_cores`` and
    ``worker_memory_mib`` makes workers of that size that declare the Dask resources
    ``cores=worker_cores,ram=worker_memory_mib``; that is then the worker shape. Otherwise the
    shape is what the connected workers declare. Unless the factory takes both ``minimum`` and
    ``maximum`` (then it scales the cluster itself), ``cluster.adapt(minimum=, maximum=)`` is
    called when the cluster has ``adapt``. :meth:`close` closes the cluster.
    """

    def __init__(
        self,
        factory: str | Callable[..., Any],
        *,
        worker_cores: float = 2,
        worker_memory_mib: float = 4096,
        minimum: int = 0,
        maximum: int = 4,
    ) -> None:
        super().__init__()
        self.spec = factory if isinstance(factory, str) else getattr(factory, "__name__", "?")
        self.factory = load_factory(factory) if isinstance(factory, str) else factory
        offered = {
            "worker_cores": worker_cores,
            "worker_memory_mib": worker_memory_mib,
            "minimum": minimum,
            "maximum": maximum,
        }
        self.kwargs = {k: v for k, v in offered.items() if k in _named_parameters(self.factory)}
        self.minimum = minimum
        self.maximum = maximum
        self.cluster: Any = None
        self._shape: WorkerShape | None = None
        self._shape_known = False
        if "worker_cores" in self.kwargs and "worker_memory_mib" in self.kwargs:
            self._shape = WorkerShape(float(worker_cores), float(worker_memory_mib))
            self._shape_known = True

    @property
    def description(self) -> str:
        return f"the cluster of {self.spec}"

    def connect(self) -> Any:
        from distributed import Client

        try:
            self.cluster = self.factory(**self.kwargs)
        except Exception as err:
            raise BackendError(
                f"the cluster factory {self.spec} failed: {type(err).__name__}: {err}"
            ) from None
        if not {"minimum", "maximum"} <= self.kwargs.keys() and hasattr(self.cluster, "adapt"):
            self.cluster.adapt(minimum=self.minimum, maximum=self.maximum)
        try:
            return Client(self.cluster)
        except (OSError, TimeoutError) as err:
            raise BackendError(
                f"cannot connect to the scheduler of the cluster from {self.spec}: {err}"
            ) from None

    def worker_shape(self) -> WorkerShape | None:
        if not self._shape_known:
            self._shape = _declared_shape(self.client(), self.description)
            self._shape_known = True
        return self._shape

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self.cluster is not None and hasattr(self.cluster, "close"):
                try:
                    self.cluster.close()
                except Exception as err:
                    _logger.warning("could not close the cluster of %s: %s", self.spec, err)
            self.cluster = None


def _named_parameters(factory: Callable[..., Any]) -> set[str]:
    try:
        parameters = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return set()
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return {p.name for p in parameters if p.kind in kinds}


# --------------------------------------------------------------------------- shared storage

#: How long the storage probe may wait for a worker (an adaptive cluster starts one first).
PROBE_TIMEOUT = 600.0
#: How long each side looks again for the other's file (NFS attribute caches lag a little).
PROBE_SETTLE = 3.0


def _read_token(path: str, settle: float) -> tuple[str | None, str]:
    deadline = time.monotonic() + settle
    while True:
        try:
            with open(path, encoding="utf-8") as handle:
                return handle.read(), ""
        except OSError as err:
            if time.monotonic() >= deadline:
                return None, f"{type(err).__name__}: {err.strerror or err}"
        time.sleep(0.2)


def answer_storage_probe(marker: str, token: str, settle: float = PROBE_SETTLE) -> dict[str, Any]:
    """Worker side of :func:`probe_shared_storage`: read the marker, write a reply next to it."""
    host = socket.gethostname()
    reply = f"{marker}.{host}-{os.getpid()}-{uuid.uuid4().hex[:8]}.reply"
    answer: dict[str, Any] = {"host": host, "seen": False, "reply": None}
    seen, error = _read_token(marker, settle)
    answer["seen"] = seen == token
    if seen is not None and seen != token:
        error = "it holds something else"
    if answer["seen"]:
        try:
            with open(reply, "w", encoding="utf-8") as handle:
                handle.write(token)
            answer["reply"] = reply
        except OSError as err:
            error = f"{type(err).__name__}: {err.strerror or err}"
    answer["error"] = error
    return answer


def _ask_workers(
    client: Any, marker: str, token: str, settle: float, timeout: float
) -> list[dict[str, Any]]:
    """The probe's answers: from every connected worker, or from a task if there is none.

    ``client.run`` reaches the workers there are without creating a task; a cluster with no
    worker yet (adaptive from 0) gets one task instead, which makes it start a worker.
    """
    if client.scheduler_info(n_workers=-1)["workers"]:
        answers = client.run(answer_storage_probe, marker, token, settle, on_error="return")
        answers = [a for a in answers.values() if isinstance(a, dict)]
        if answers:
            return answers
    future = client.submit(
        answer_storage_probe, marker, token, settle, key=f"cwl-dask-storage-probe-{token}"
    )
    try:
        return [future.result(timeout=timeout)]
    except TimeoutError:
        future.cancel()
        raise BackendError(
            f"no worker ran the shared-storage check within {timeout:g} s; check that the "
            "cluster has workers or can start them"
        ) from None


def probe_shared_storage(
    client: Any, path: str, timeout: float = PROBE_TIMEOUT, settle: float = PROBE_SETTLE
) -> None:
    """Fail with a :class:`BackendError` unless the workers see ``path`` as the driver does.

    The driver writes a marker file under ``path``; each connected worker (or, with none
    yet, one task) reads it and writes a reply next to it, which the driver must then read.
    Workers read inputs and write outputs in the run directory, so a cluster without shared
    storage would otherwise fail at the first tool with a confusing missing-file error.
    """
    token = uuid.uuid4().hex
    marker = os.path.join(path, f".cwl-dask-probe-{token}")
    hint = "put --workdir on storage that every worker mounts at the same path"
    replies: list[str] = []
    try:
        with open(marker, "w", encoding="utf-8") as handle:
            handle.write(token)
        try:
            answers = _ask_workers(client, marker, token, settle, timeout)
        except BackendError:
            raise
        except Exception as err:
            raise BackendError(
                f"the shared-storage check failed on the cluster: {type(err).__name__}: {err}"
            ) from None
        replies = [a["reply"] for a in answers if a["reply"]]
        for answer in answers:
            where = f"a worker on {answer['host']}"
            if not answer["seen"]:
                raise BackendError(
                    f"the work directory {path} is not shared with the workers: {where} "
                    f"cannot read {marker} ({answer['error']}); {hint}"
                )
            if not answer["reply"]:
                raise BackendError(
                    f"the work directory {path} is not writable by the workers: {where} "
                    f"cannot write into it ({answer['error']}); {hint}"
                )
            reply, error = _read_token(answer["reply"], settle)
            if reply != token:
                raise BackendError(
                    f"the work directory {path} is not shared with the workers: a file {where} "
                    f"wrote there is not visible here ({error or 'different content'}); {hint}"
                )
    except OSError as err:
        raise BackendError(f"cannot write into the work directory {path}: {err}") from None
    finally:
        for leftover in (marker, *replies):
            with contextlib.suppress(OSError):
                os.remove(leftover)


# --------------------------------------------------------------------------- selection

#: The values of the Dask config key ``cwl-dask.backend``.
BACKEND_KINDS = ("local", "scheduler", "gateway", "cluster")


#: Worker size and count when neither the user nor the planner says: cores, MiB, min, max.
_DEFAULT_SIZE: tuple[float, float, int, int] = (2, 4096, 0, 4)


def _cluster_size(
    cores: float | None,
    memory_mib: float | None,
    minimum: int | None,
    maximum: int | None,
    planner: Callable[[], Any] | None,
) -> tuple[float, float, int, int]:
    """What the user gave, completed from the workflow's plan, completed from defaults."""
    given = (cores, memory_mib, minimum, maximum)
    planned: tuple[Any, ...] = (None, None, None, None)
    if None in given and planner is not None:
        try:
            spec = planner()
        except Exception as err:  # sizing is advice; the run itself reports real errors
            _logger.warning(
                "could not size the cluster from the workflow (%s); using defaults", err
            )
        else:
            planned = (
                spec.worker_cores,
                spec.worker_memory_mib,
                spec.min_workers,
                spec.max_workers,
            )
            _logger.info(
                "cluster sized from the workflow's ResourceRequirements: workers of %g cores and "
                "%g MiB, %d to %d of them",
                *planned,
            )
    chosen = [
        value if value is not None else plan if plan is not None else default
        for value, plan, default in zip(given, planned, _DEFAULT_SIZE, strict=True)
    ]
    return float(chosen[0]), float(chosen[1]), int(chosen[2]), int(chosen[3])


def make_backend(
    *,
    scheduler: str | None = None,
    gateway: str | None = None,
    gateway_auth: str | None = None,
    gateway_cluster: str | None = None,
    keep_cluster: bool = False,
    cluster: str | None = None,
    image: str | None = None,
    worker_cores: float | None = None,
    worker_memory_mib: float | None = None,
    min_workers: int | None = None,
    max_workers: int | None = None,
    local_cores: float | None = None,
    local_memory_mib: float | None = None,
    local_processes: bool = False,
    planner: Callable[[], Any] | None = None,
) -> Backend:
    """The backend the command line and the Dask config ask for (nothing is started yet).

    At most one of ``scheduler``, ``gateway``/``gateway_cluster`` and ``cluster`` may be
    given; with none, the Dask config key ``cwl-dask.backend`` (``local``, ``scheduler``,
    ``gateway``, ``cluster``; default ``local``) decides, with the address in
    ``cwl-dask.scheduler``, ``gateway.address`` or the factory in ``cwl-dask.cluster``.
    The worker size and count apply to the backends that create their cluster (gateway,
    cluster); whatever is not given comes from ``planner`` (the workflow's
    :class:`~cwl_dask.sizing.ClusterSpec`), else from defaults. Raises
    :class:`InvalidInputError` for a contradictory choice.
    """
    import dask

    chosen = {
        "--scheduler": "scheduler" if scheduler else None,
        "--gateway": "gateway" if gateway else None,
        "--gateway-cluster": "gateway" if gateway_cluster else None,
        "--cluster": "cluster" if cluster else None,
    }
    given = {option: kind for option, kind in chosen.items() if kind}
    if len(set(given.values())) > 1:
        raise InvalidInputError(
            f"{' and '.join(given)} cannot be used together: choose one backend "
            "(--scheduler, --gateway or --cluster)"
        )
    if given:
        kind = next(iter(given.values()))
    else:
        kind = str(dask.config.get("cwl-dask.backend", None) or "local")
        if kind not in BACKEND_KINDS:
            raise InvalidInputError(
                f"the Dask config key cwl-dask.backend is {kind!r}; expected one of "
                f"{', '.join(BACKEND_KINDS)}"
            )
    gateway_only = {
        "--gateway-auth": gateway_auth,
        "--keep-cluster": keep_cluster,
        "image": image,
    }
    misplaced = [option for option, value in gateway_only.items() if value]
    if misplaced and kind != "gateway":
        raise InvalidInputError(
            f"{', '.join(misplaced)}: only for a Dask Gateway (--gateway URL, or the Dask "
            "config cwl-dask.backend: gateway)"
        )
    local_only = {
        "--cores": local_cores,
        "--memory": local_memory_mib,
        "--worker-processes": local_processes,
    }
    misplaced = [option for option, value in local_only.items() if value]
    if misplaced and kind != "local":
        raise InvalidInputError(
            f"{', '.join(misplaced)} size the local cluster; with a {kind} backend use "
            "--worker-cores/--worker-memory"
        )
    if kind in ("gateway", "cluster"):
        worker_cores, worker_memory_mib, min_workers, max_workers = _cluster_size(
            worker_cores, worker_memory_mib, min_workers, max_workers, planner
        )
    else:
        worker_cores, worker_memory_mib, min_workers, max_workers = _DEFAULT_SIZE
    if worker_cores <= 0 or worker_memory_mib <= 0:
        raise InvalidInputError("--worker-cores and --worker-memory must be positive")
    if not 0 <= min_workers <= max_workers or max_workers < 1:
        raise InvalidInputError(
            f"need 0 <= --min-workers <= --max-workers and --max-workers >= 1, got "
            f"{min_workers} and {max_workers}"
        )

    if kind == "scheduler":
        address = scheduler or dask.config.get("cwl-dask.scheduler", None)
        if not address:
            raise InvalidInputError(
                "the scheduler backend needs an address: --scheduler or the Dask config key "
                "cwl-dask.scheduler"
            )
        return SchedulerBackend(str(address))
    if kind == "gateway":
        return GatewayBackend(
            gateway,
            gateway_auth,
            worker_cores=worker_cores,
            worker_memory_mib=worker_memory_mib,
            image=image,
            minimum=min_workers,
            maximum=max_workers,
            cluster_name=gateway_cluster,
            keep_cluster=keep_cluster,
        )
    if kind == "cluster":
        factory = cluster or dask.config.get("cwl-dask.cluster", None)
        if not factory:
            raise InvalidInputError(
                "the cluster backend needs a factory: --cluster module:factory or the Dask "
                "config key cwl-dask.cluster"
            )
        return ClusterClassBackend(
            str(factory),
            worker_cores=worker_cores,
            worker_memory_mib=worker_memory_mib,
            minimum=min_workers,
            maximum=max_workers,
        )
    return LocalBackend(local_cores, local_memory_mib, processes=local_processes)
