"""A step cluster's life: created before the tool runs, scaled, always shut down after.

On the worker, :func:`provided_cluster` creates it on the run's Dask Gateway (cluster
options, submit, wait, scale) or as a dedicated local cluster, announces it in the
scheduler's event log, and shuts it down whatever happens to the tool; on the driver,
:func:`stop_orphans` reads those announcements and stops what interrupted invocations left.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from cwl_dask.clusters.lifeline import GatewayCluster, announce
from cwl_dask.clusters.stepclusters.environment import _gateway_environment
from cwl_dask.clusters.stepclusters.requirement import StepCluster
from cwl_dask.errors import StepClusterError

_logger = logging.getLogger("cwl_dask")


#: How long a step's local cluster may take to start its workers (seconds).
WORKERS_TIMEOUT = 120.0
#: How long a step's Dask Gateway cluster may take to start its scheduler (seconds).
START_TIMEOUT = 300.0

#: The Dask event topic of step clusters on a gateway (see :func:`stop_orphans`).
EVENT_TOPIC = "cwl-dask-step-clusters"


def stop_orphans(client: Any, backend: Any) -> None:
    """Stop the step clusters on the run's gateway that their invocation did not stop.

    A worker stops its step's cluster when the tool ends; but a run that is interrupted or
    fails shuts its own cluster down, killing workers in the middle of a tool. Workers
    announce each step cluster they start and stop (Dask events, kept by the scheduler), so
    the driver stops the ones left, before the run's cluster goes.
    """
    from cwl_dask.clusters.gateway import GatewayBackend

    backend = getattr(backend, "primary", backend)  # a PooledBackend: its first pool's
    gateway = getattr(backend, "gateway", None) if isinstance(backend, GatewayBackend) else None
    if gateway is None:
        return
    try:
        running: set[str] = set()
        for _, event in client.get_events(EVENT_TOPIC):
            if event.get("state") == "started":
                running.add(event["cluster"])
            else:
                running.discard(event["cluster"])
        for name in sorted(running):
            _logger.warning("stopping the Dask Gateway cluster %s of an interrupted step", name)
            gateway.stop_cluster(name)
    except Exception as err:
        _logger.warning("could not stop the Dask Gateway clusters of interrupted steps: %s", err)


def _announce(name: str, state: str) -> None:
    """Tell the driver (through the scheduler's event log) that a step cluster started/stopped."""
    try:
        from distributed import get_worker

        worker = get_worker()
    except ValueError:  # not in a Dask task
        return
    worker.log_event(EVENT_TOPIC, {"cluster": name, "state": state})


@contextlib.contextmanager
def provided_cluster(
    target: Mapping[str, Any], step: str, report: Callable[[str], None] | None = None
) -> Iterator[dict[str, str]]:
    """Create the step's cluster, yield the tool's environment, always shut it down.

    ``report`` receives one line when the cluster is up and one when it is gone (the
    worker writes them to the invocation's log); by default they are logged.
    """
    cluster = StepCluster(**target["cluster"])
    say = report or _logger.info
    if target["kind"] == "gateway":
        with _gateway_cluster(cluster, target, step, say) as env:
            yield env
    else:
        with _local_cluster(cluster, step, say) as env:
            yield env


def _set_gateway_options(options: Any, cluster: StepCluster, image: str | None) -> list[str]:
    """Fill the gateway's cluster options this step's requirement maps to.

    ``worker_cores``, ``worker_cores_limit``, ``worker_memory`` and ``image`` are calrissian's
    option names. Each value is offered in the forms a gateway may declare the option with,
    first the usual one: ``worker_memory`` in GiB (a Float, dask-gateway's convention), else
    the requirement's string (a String, as calrissian sends it). A form of the wrong type is
    refused with TypeError and the next is tried; a value out of the gateway's range
    (ValueError) is an error. Options the gateway does not offer are skipped and returned.
    """
    forms: dict[str, list[Any]] = {
        "worker_cores": [cluster.worker_cores, str(cluster.worker_cores)],
        "worker_cores_limit": [cluster.worker_cores_limit, str(cluster.worker_cores_limit)],
        "worker_memory": [cluster.worker_memory_bytes / 2**30, cluster.worker_memory],
    }
    if image:
        forms["image"] = [image]
    skipped = [name for name in forms if name not in options]
    if "worker_cores" in skipped or "worker_memory" in skipped:
        raise StepClusterError(
            "the Dask Gateway offers no worker_cores/worker_memory cluster options "
            f"(it offers: {', '.join(options) or 'none'})"
        )
    for name, values in forms.items():
        if name in skipped:
            continue
        for value in values:
            try:
                options[name] = value
                break
            except TypeError:
                continue
            except ValueError as err:
                raise StepClusterError(f"the Dask Gateway refuses {name}={value}: {err}") from None
        else:
            raise StepClusterError(
                f"the Dask Gateway's option {name} takes none of {', '.join(map(repr, values))}"
            )
    return skipped


@contextlib.contextmanager
def _gateway_cluster(
    cluster: StepCluster, target: Mapping[str, Any], step: str, say: Callable[[str], None]
) -> Iterator[dict[str, str]]:
    """Submit the cluster, scale it, yield the tool's environment; stop it by name at the end.

    The cluster is stopped by name, so one whose start failed half-way is stopped as well.
    """
    from dask_gateway import Gateway

    gateway = Gateway(
        target["address"],
        proxy_address=target["proxy_address"],
        public_address=target.get("public_address"),
        auth=target["auth"],
    )
    name: str | None = None
    try:
        error = None
        try:
            options = gateway.cluster_options()
            skipped = _set_gateway_options(options, cluster, target.get("image"))
            name = gateway.submit(options)
            _announce(name, "started")
            announce(GatewayCluster(target["address"], name), True)
            _wait_running(gateway, name)
            gateway.scale_cluster(name, cluster.workers)
        except StepClusterError as err:
            error = str(err)
        except Exception as err:
            error = (
                f"could not create the Dask Gateway cluster of step '{step}' at "
                f"{target['address']}: {type(err).__name__}: {err}"
            )
        if error is not None:
            # Outside the except clause the failed call's frames are garbage: collect them in
            # this thread, not on dask-gateway's IO loop (whose __del__ would block it).
            gc.collect()
            raise StepClusterError(error)
        missing = f" (the gateway has no option {', '.join(skipped)})" if skipped else ""
        say(f"step '{step}': Dask Gateway cluster {name}: {cluster.describe()}{missing}")
        yield _gateway_environment(cluster, target, str(name))
    finally:
        try:
            if name is not None:
                gateway.stop_cluster(name)
                _announce(name, "stopped")
                announce(GatewayCluster(target["address"], name), False)
                say(f"step '{step}': Dask Gateway cluster {name} shut down")
        except Exception as err:
            say(f"step '{step}': could not shut down the Dask Gateway cluster {name}: {err}")
        finally:
            gateway.close()
            # A closed Gateway closes again in __del__, which fails once its loop stopped.
            gateway.close = _closed  # type: ignore[method-assign]
            del gateway
            gc.collect()


def _wait_running(gateway: Any, name: str) -> None:
    from dask_gateway.client import ClusterStatus

    deadline = time.monotonic() + START_TIMEOUT
    while (status := gateway.get_cluster(name).status) is not ClusterStatus.RUNNING:
        if status is not ClusterStatus.PENDING:
            raise StepClusterError(f"the Dask Gateway cluster {name} is {status.name}, not running")
        if time.monotonic() > deadline:
            raise StepClusterError(
                f"the Dask Gateway cluster {name} did not start within {START_TIMEOUT:g} s"
            )
        time.sleep(0.25)


def _closed(*args: Any, **kwargs: Any) -> None:
    """Stands in for ``close`` on a dask-gateway object that is closed already."""


@contextlib.contextmanager
def _local_cluster(
    cluster: StepCluster, step: str, say: Callable[[str], None]
) -> Iterator[dict[str, str]]:
    """A local Dask cluster of the requirement's shape on this worker, for local/scheduler runs.

    As many worker processes as the requirement allows, but no more than this machine's
    cores can hold at the requested limit (a laptop runs the package, slower). Scheduler and
    workers are subprocesses (``SubprocessCluster``): a Dask worker's own process is
    daemonic, and multiprocessing refuses children to daemonic processes (LocalCluster).
    """
    from distributed.deploy.subprocess import SubprocessCluster

    machine = os.cpu_count() or 1
    workers = min(cluster.workers, max(1, machine // cluster.worker_cores_limit))
    if workers < cluster.workers:
        say(
            f"step '{step}': this machine has {machine} cores; {workers} of the "
            f"{cluster.workers} workers its DaskGatewayRequirement allows are started"
        )
    try:
        local = SubprocessCluster(
            host="127.0.0.1",
            n_workers=workers,
            threads_per_worker=cluster.worker_cores,
            # plain workers, no nannies: half the processes to start (under load, 10 s
            # instead of 18 s for two); the memory limit still makes them spill and pause
            worker_class="distributed.Worker",
            worker_kwargs={"memory_limit": cluster.worker_memory_bytes},
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
    except Exception as err:
        raise StepClusterError(
            f"could not start the local Dask cluster of step '{step}': {type(err).__name__}: {err}"
        ) from None
    try:
        try:
            local.wait_for_workers(workers, timeout=WORKERS_TIMEOUT)
        except Exception as err:
            raise StepClusterError(
                f"the local Dask cluster of step '{step}' has no {workers} workers after "
                f"{WORKERS_TIMEOUT:g} s: {err}"
            ) from None
        say(
            f"step '{step}': local Dask cluster {local.scheduler_address}: {workers} "
            f"worker{'' if workers == 1 else 's'} of {cluster.worker_cores} "
            f"core{'' if cluster.worker_cores == 1 else 's'} and {cluster.worker_memory}"
        )
        yield {"DASK_SCHEDULER_ADDRESS": local.scheduler_address}
    finally:
        local.close()
        say(f"step '{step}': local Dask cluster {local.scheduler_address} closed")
