"""How many invocations of one resource request a cluster runs at once.

Why: batching (:mod:`cwl_dask.driver.batching`) sizes its batches so that every slot gets
several tasks; too few slots and the workers idle at the end of a scatter, too many and
nothing is fused. On a remote cluster the answer is the workers it has — each runs
``min(nthreads, declared resource / request)`` such invocations — and, for an adaptive one,
the workers it may grow to (its ``maximum``), whichever is more: batches sized for the
cluster of now would leave the workers that adaptive scaling adds with nothing to take.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterable, Mapping
from typing import Any

#: Seconds a reading of the scheduler's workers is used before it is read again: the
#: dispatcher asks once per invocation, a scatter of 10,000 must not cost 10,000 round trips.
REFRESH_INTERVAL = 2.0


def slots_of(workers: Iterable[Mapping[str, Any]], resources: Mapping[str, float] | None) -> int:
    """Invocations asking for ``resources`` that ``workers`` (scheduler_info's) run at once."""
    total = 0
    for worker in workers:
        fits = [int(worker.get("nthreads") or 1)]
        declared = worker.get("resources") or {}
        for name, need in (resources or {}).items():
            if need > 0:
                fits.append(int(declared.get(name, 0) // need))
        total += max(0, min(fits))
    return total


class SlotCount:
    """A cluster's slots for a request, from its scheduler, read at most every few seconds."""

    def __init__(self, interval: float = REFRESH_INTERVAL) -> None:
        self.interval = interval
        self._workers: list[Mapping[str, Any]] = []
        self._read_at = -math.inf
        self._lock = threading.Lock()

    def workers(self, client: Any) -> list[Mapping[str, Any]]:
        with self._lock:
            now = time.monotonic()
            if now - self._read_at >= self.interval:
                self._workers = list(client.scheduler_info(n_workers=-1)["workers"].values())
                self._read_at = now
            return self._workers

    def __call__(
        self,
        client: Any,
        resources: Mapping[str, float] | None,
        planned: list[Mapping[str, Any]],
    ) -> int | None:
        """The slots the cluster has or will have; None if it has none and plans none."""
        slots = max(slots_of(self.workers(client), resources), slots_of(planned, resources))
        return slots or None
