"""One created cluster per worker pool, behind the one backend interface.

A created cluster (Dask Gateway, ``--cluster``) has one worker shape. When ``cwl-dask plan``
groups the workflow's steps into several pools (:mod:`cwl_dask.clusters.sizing.pools`), the
run creates one adaptive cluster per pool instead — each a member backend of that pool's
worker size, GPUs, labels and worker counts — and :class:`PooledBackend` is their sum: the
members connect at the same time, every invocation goes to the smallest pool that fits it
(:meth:`PooledBackend.route`, the one place that decides), and every member is closed at the
end, on failure and on a stop (each member shuts its own cluster down).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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
from cwl_dask.clusters.placement import Labels, as_request, from_request
from cwl_dask.errors import UnsatisfiableRequest


class PooledBackend(Backend):
    """Several member backends, one per pool; tasks are routed by their request.

    ``members`` are ``(labels, backend)`` pairs: a task whose placement labels are
    ``labels`` may go to that member. Among those, the one with the fewest GPUs, then the
    fewest cores and RAM, whose workers fit the request takes it.
    """

    def __init__(self, members: Sequence[tuple[Labels, Backend]]) -> None:
        super().__init__()
        if not members:
            raise ValueError("a PooledBackend needs at least one member")
        self.members = list(members)
        self.remote = any(member.remote for _, member in self.members)

    @property
    def primary(self) -> Backend:
        """The first pool's backend: what step clusters and dashboards are taken from."""
        return self.members[0][1]

    @property
    def description(self) -> str:
        return f"{len(self.members)} pool clusters ({self.primary.description}, …)"

    def connect(self) -> Any:
        for _, member in self.members:
            member.start()
        for _, member in self.members:
            member.client()  # raises the first member's error; close() releases the others
        return self.primary.client()

    def clients(self) -> list[Any]:
        self.client()
        return [member.client() for _, member in self.members]

    def worker_shape(self) -> WorkerShape | None:
        shapes = [s for _, m in self.members if (s := m.worker_shape()) is not None]
        if not shapes:
            return None
        return WorkerShape(
            max(s.cores for s in shapes), max(s.ram for s in shapes), max(s.gpus for s in shapes)
        )

    def _member_for(self, step: str, request: dict[str, float]) -> Backend:
        """The pool an invocation runs in: its labels, and the smallest worker that fits."""
        labels = from_request(request)
        wanted = without_labels(request)
        fitting: list[tuple[tuple[float, float, float], Backend]] = []
        labelled = [m for have, m in self.members if have == labels]
        for member in labelled:
            shape = member.worker_shape()
            if shape is None:  # workers declare nothing: anything goes there
                fitting.append(((0, 0, 0), member))
            elif (
                wanted.get(RESOURCE_GPU, 0) <= shape.gpus
                and wanted[RESOURCE_CORES] <= shape.cores
                and wanted[RESOURCE_RAM] <= shape.ram
            ):
                fitting.append(((shape.gpus, shape.cores, shape.ram), member))
        if fitting:
            return min(fitting, key=lambda pair: pair[0])[1]
        if not labelled:
            given = ", ".join(f"{k}={v}" for k, v in labels) or "none"
            raise UnsatisfiableRequest(
                f"step '{step}' has placement labels {given}, and no pool of the run has them"
            )
        if wanted.get(RESOURCE_GPU, 0) > 0:
            raise gpu_refusal(step, wanted[RESOURCE_GPU], self.description)
        largest = self.worker_shape() or WorkerShape(0, 0)
        raise UnsatisfiableRequest(
            f"step '{step}' asks for {wanted[RESOURCE_CORES]:g} cores and "
            f"{wanted[RESOURCE_RAM]:g} MiB, but the largest worker of the run's pools has "
            f"{largest.cores:g} cores and {largest.ram:g} MiB"
        )

    def fit(self, step: str, request: dict[str, float]) -> dict[str, float] | None:
        member = self._member_for(step, request)
        fitted = member.fit(step, request)
        # the labels stay in the request so that route() picks the same pool
        return {**(fitted or without_labels(request)), **as_request(from_request(request))}

    def route(self, resources: dict[str, float] | None) -> tuple[Any, dict[str, float] | None]:
        if resources is None:
            return self.primary.client(), None
        member = self._member_for("?", resources)
        return member.client(), without_labels(resources)

    def parallel_slots(self, resources: dict[str, float] | None) -> int | None:
        """The slots of the pool that :meth:`route` sends this request to."""
        if resources is None:
            return self.primary.parallel_slots(None)
        return self._member_for("?", resources).parallel_slots(without_labels(resources))

    def dashboard_link(self) -> str | None:
        return self.primary.dashboard_link()

    def check_storage(
        self, path: str, what: str = "the work directory", option: str = "--workdir"
    ) -> None:
        """Every pool's workers must see ``path``; the pools are asked at the same time,
        since each probe may wait for its pool's first worker to start."""
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(len(self.members), thread_name_prefix="cwl-dask-probe") as pool:
            probes = [
                pool.submit(member.check_storage, path, what, option) for _, member in self.members
            ]
            for probe in probes:
                probe.result()  # the first pool's error, if any

    def abandon(self) -> None:
        for _, member in self.members:
            member.abandon()

    def close(self) -> None:
        """Close every member (each shuts down the cluster it created), whatever fails."""
        errors: list[BaseException] = []
        if self._thread is not None:
            self._thread.join()
        for _, member in self.members:
            try:
                member.close()
            except BaseException as err:  # the others must still be released
                errors.append(err)
        self._client = None
        if errors:
            _logger.warning("closing a pool's cluster failed: %s", errors[0])


def pooled(pools: Sequence[Any], make: Callable[[Any], Backend]) -> Backend:
    """A PooledBackend with ``make(pool)`` for each pool, or that one backend for one pool."""
    members = [(tuple(sorted(pool.labels.items())), make(pool)) for pool in pools]
    if len(members) == 1:
        return members[0][1]
    _logger.info(
        "one cluster per pool: %s",
        "; ".join(
            f"{p.name} ({getattr(m, 'minimum', p.min_workers)}-"
            f"{getattr(m, 'maximum', p.max_workers)} workers) for {', '.join(p.steps)}"
            for p, (_, m) in zip(pools, members, strict=True)
        ),
    )
    return PooledBackend(members)
