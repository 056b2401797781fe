"""A cluster created on (or reused from) a Dask Gateway server."""

from __future__ import annotations

import gc
import os
import time
from typing import Any

from cwl_dask.clusters.base import (
    Backend,
    WorkerShape,
    _logger,
)
from cwl_dask.clusters.lifeline import GatewayCluster, announce
from cwl_dask.errors import BackendError, InvalidInputError, UnsatisfiableRequest


def _option_value(value: float) -> float | int:
    """An integral number as an int: a gateway's ``Integer`` option refuses ``2.0``."""
    return int(value) if float(value).is_integer() else float(value)


class GatewayBackend(Backend):
    """A cluster created on (or a named cluster of) a Dask Gateway server.

    The cluster is created with the gateway options ``worker_cores`` and ``worker_memory``
    (GiB, as dask-gateway's options are usually declared) and optionally ``image``, then made
    adaptive between ``minimum`` and ``maximum`` workers. Its workers must declare the Dask
    resources ``cores`` and ``ram`` (MiB) of that size — the gateway's options handler does
    it (see docs/backends.md) — and :meth:`worker_shape` is that size, so a request no worker can
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
        worker_gpus: int = 0,
        labels: dict[str, str] | None = None,
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
        self.worker_gpus = int(worker_gpus)
        self.labels = dict(labels or {})
        self._shape = WorkerShape(self.worker_cores, self.worker_memory_mib, self.worker_gpus)

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
            if not self.keep_cluster:  # ours to stop, also should this process be killed
                announce(GatewayCluster(self.address, self.cluster_name), True)
            _logger.info(
                "Dask Gateway cluster %s created at %s: workers of %g cores and %g MiB%s, "
                "adaptive from %d to %d",
                self.cluster_name,
                self.address,
                self.worker_cores,
                self.worker_memory_mib,
                f" and {self.worker_gpus} GPUs" if self.worker_gpus else "",
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
        if self.worker_gpus:
            wanted["worker_gpus"] = self.worker_gpus
        if self.labels:
            wanted["worker_labels"] = dict(self.labels)
        for name, value in wanted.items():
            if name not in options:
                raise BackendError(
                    f"the Dask Gateway at {self.address} has no cluster option '{name}' "
                    f"(it offers: {', '.join(options) or 'none'}); its operator must offer "
                    "worker_cores and worker_memory (GiB) options, and worker_gpus and "
                    "worker_labels for GPU and placed steps (see docs/pools.md)"
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
                float(options["worker_cores"]),
                float(options["worker_memory"]) * 1024,
                float(options.get("worker_gpus", 0) or 0),
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

    def planned_workers(self) -> list[dict[str, Any]]:
        """A cluster this backend made adaptive may grow to ``maximum`` workers of its shape."""
        if self.reused:
            return []
        return [self._shape.planned()] * self.maximum

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

    def abandon(self) -> None:
        """Stop the cluster this run submitted by name, through a new Gateway client (the
        run's own may be what hangs)."""
        if self.reused or self.keep_cluster or self.cluster_name is None:
            return
        from dask_gateway import Gateway

        gateway = Gateway(self.address, auth=self.auth)
        try:
            gateway.stop_cluster(self.cluster_name)
        finally:
            gateway.close()

    def _release(self) -> None:
        shutdown = not (self.reused or self.keep_cluster) and self.cluster_name is not None
        gateways = [self.gateway]
        try:
            if self.cluster is not None:
                gateways.append(self.cluster.gateway)
                self.cluster.close(shutdown=shutdown)
            elif shutdown and self.gateway is not None:
                self.gateway.stop_cluster(self.cluster_name)
            if shutdown:
                announce(GatewayCluster(self.address, self.cluster_name), False)
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
