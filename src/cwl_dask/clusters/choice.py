"""Choosing and sizing the backend from the command line, the Dask config and the plan."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cwl_dask.clusters.base import (
    Backend,
    _logger,
)
from cwl_dask.clusters.factory import ClusterClassBackend
from cwl_dask.clusters.gateway import GatewayBackend
from cwl_dask.clusters.local import LocalBackend
from cwl_dask.clusters.pooled import pooled
from cwl_dask.clusters.scheduler import SchedulerBackend
from cwl_dask.errors import InvalidInputError

#: The values of the Dask config key ``cwl-dask.backend``.
BACKEND_KINDS = ("local", "scheduler", "gateway", "cluster")


#: Worker size and count when neither the user nor the planner says: cores, MiB, min, max.
_DEFAULT_SIZE: tuple[float, float, int, int] = (2, 4096, 0, 4)


def _planned(planner: Callable[[], Any] | None) -> Any:
    """The workflow's plan (a :class:`~cwl_dask.clusters.sizing.Plan`, or just its
    ``ClusterSpec`` from older callers), or None when there is none or it fails."""
    if planner is None:
        return None
    try:
        return planner()
    except Exception as err:  # sizing is advice; the run itself reports real errors
        _logger.warning("could not size the cluster from the workflow (%s); using defaults", err)
        return None


def _cluster_size(
    cores: float | None,
    memory_mib: float | None,
    minimum: int | None,
    maximum: int | None,
    planned: Any,
) -> tuple[float, float, int, int]:
    """What the user gave, completed from the workflow's plan, completed from defaults."""
    given = (cores, memory_mib, minimum, maximum)
    spec = getattr(planned, "spec", planned)
    plan: tuple[Any, ...] = (None, None, None, None)
    if None in given and spec is not None:
        plan = (spec.worker_cores, spec.worker_memory_mib, spec.min_workers, spec.max_workers)
        _logger.info(
            "cluster sized from the workflow's ResourceRequirements: workers of %g cores and "
            "%g MiB, %d to %d of them",
            *plan,
        )
    chosen = [
        value if value is not None else planned_value if planned_value is not None else default
        for value, planned_value, default in zip(given, plan, _DEFAULT_SIZE, strict=True)
    ]
    return float(chosen[0]), float(chosen[1]), int(chosen[2]), int(chosen[3])


def _pools_of(planned: Any, forced: bool) -> tuple[Any, ...]:
    """The plan's pools when there are several and nothing forces one worker size."""
    pools = tuple(getattr(planned, "pools", ()) or ())
    return pools if len(pools) > 1 and not forced else ()


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
    retries: int | None = None,
    local_dashboard: bool = False,
    local_dashboard_address: str | None = None,
    local_profile: bool = False,
    planner: Callable[[], Any] | None = None,
    labels: dict[str, str] | None = None,
) -> Backend:
    """The backend the command line and the Dask config ask for (nothing is started yet).

    At most one of ``scheduler``, ``gateway``/``gateway_cluster`` and ``cluster`` may be
    given; with none, the Dask config key ``cwl-dask.backend`` (``local``, ``scheduler``,
    ``gateway``, ``cluster``; default ``local``) decides, with the address in
    ``cwl-dask.scheduler``, ``gateway.address`` or the factory in ``cwl-dask.cluster``.
    The worker size and count apply to the backends that create their cluster (gateway,
    cluster); whatever is not given comes from ``planner`` (the workflow's
    :class:`~cwl_dask.clusters.sizing.Plan`), else from defaults. When the plan has several
    worker pools and neither ``worker_cores`` nor ``worker_memory_mib`` is given, the gateway
    and cluster backends create one cluster per pool (a ``PooledBackend``);
    ``min_workers``/``max_workers`` then apply to each pool (the maximum as a cap). ``labels``
    (the ZOO runner's node selector) go to every cluster created. ``local_dashboard_address``
    (``--dashboard-address``) serves the local cluster's dashboard there (implies it).
    ``retries`` (how many times a task may lose its worker and be re-run) configures the local
    cluster's scheduler; other schedulers are not ours and keep their own ``allowed-failures``.
    Raises
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
    _refuse_misplaced(
        {"--gateway-auth": gateway_auth, "--keep-cluster": keep_cluster, "image": image},
        kind != "gateway",
        "{}: only for a Dask Gateway (--gateway URL, or the Dask config cwl-dask.backend: gateway)",
    )
    _refuse_misplaced(
        {
            "--cores": local_cores,
            "--memory": local_memory_mib,
            "--worker-processes": local_processes,
        },
        kind != "local",
        "{} size the local cluster; with a " + kind + " backend use --worker-cores/--worker-memory",
    )
    pools: tuple[Any, ...] = ()
    worker_gpus = 0
    pool_min, pool_max = min_workers, max_workers
    if kind in ("gateway", "cluster"):
        given = (worker_cores, worker_memory_mib, min_workers, max_workers)
        planned = _planned(planner) if None in given else None
        forced = worker_cores is not None or worker_memory_mib is not None or gateway_cluster
        pools = _pools_of(planned, bool(forced))
        worker_gpus = int(getattr(getattr(planned, "spec", planned), "worker_gpus", 0) or 0)
        worker_cores, worker_memory_mib, min_workers, max_workers = _cluster_size(
            worker_cores, worker_memory_mib, min_workers, max_workers, None if pools else planned
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

        def gateway_pool(pool: Any) -> Backend:
            low, high = _pool_counts(pool, pool_min, pool_max)
            return GatewayBackend(
                gateway,
                gateway_auth,
                worker_cores=pool.cores,
                worker_memory_mib=pool.ram_mib,
                image=image,
                minimum=low,
                maximum=high,
                keep_cluster=keep_cluster,
                worker_gpus=pool.gpus,
                labels={**(labels or {}), **pool.labels},
            )

        if pools:
            return pooled(pools, gateway_pool)
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
            worker_gpus=worker_gpus,
            labels=labels,
        )
    if kind == "cluster":
        factory = cluster or dask.config.get("cwl-dask.cluster", None)
        if not factory:
            raise InvalidInputError(
                "the cluster backend needs a factory: --cluster module:factory or the Dask "
                "config key cwl-dask.cluster"
            )

        def factory_pool(pool: Any) -> Backend:
            low, high = _pool_counts(pool, pool_min, pool_max)
            return ClusterClassBackend(
                str(factory),
                worker_cores=pool.cores,
                worker_memory_mib=pool.ram_mib,
                minimum=low,
                maximum=high,
                worker_gpus=pool.gpus,
                labels={**(labels or {}), **pool.labels},
            )

        if pools:
            return pooled(pools, factory_pool)
        return ClusterClassBackend(
            str(factory),
            worker_cores=worker_cores,
            worker_memory_mib=worker_memory_mib,
            minimum=min_workers,
            maximum=max_workers,
            worker_gpus=worker_gpus,
            labels=labels,
        )
    if retries is not None and kind != "local":
        _logger.warning(
            "--retries applies to the local cluster only; the %s's scheduler re-runs a task "
            "after a lost worker as its Dask config distributed.scheduler.allowed-failures says",
            kind,
        )
    return LocalBackend(
        local_cores,
        local_memory_mib,
        processes=local_processes,
        allowed_failures=retries,
        dashboard=local_dashboard or local_dashboard_address is not None,
        profile=local_profile,
        **({"dashboard_address": local_dashboard_address} if local_dashboard_address else {}),
    )


def _pool_counts(pool: Any, minimum: int | None, maximum: int | None) -> tuple[int, int]:
    """A pool's worker counts: its own, ``--min-workers`` instead, ``--max-workers`` as a cap."""
    high = pool.max_workers if maximum is None else min(pool.max_workers, maximum)
    low = pool.min_workers if minimum is None else min(minimum, high)
    return low, max(1, high)


def _refuse_misplaced(options: dict[str, Any], misplaced: bool, message: str) -> None:
    """Options given for a backend that is not the one chosen are a usage error, not ignored."""
    given = [option for option, value in options.items() if value]
    if given and misplaced:
        raise InvalidInputError(message.format(", ".join(given)))
