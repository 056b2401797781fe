"""What the run's clusters held: worker-core-seconds and worker-MiB-seconds, per cluster.

The usage report's ``total_cpu_hours`` is what the tools asked for while they ran; what a
cluster costs is what its workers held, idle or not, from the moment they joined until they
left. Comparing the two is how much one worker size for a whole workflow wastes against one
pool per step shape (see docs/pools.md). A thread samples each cluster's workers
(their declared ``cores``/``ram`` resources, else threads) every ``interval`` seconds and
integrates; a cluster that cannot be asked is skipped for that sample.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from cwl_dask.clusters import RESOURCE_CORES, RESOURCE_RAM


class Holding:
    """Samples every client's workers until :meth:`stop`; :meth:`report` integrates."""

    def __init__(self, clients: list[Any], interval: float = 1.0) -> None:
        self.clients = clients
        self.interval = interval
        self.core_seconds = [0.0] * len(clients)
        self.mib_seconds = [0.0] * len(clients)
        self.peak_workers = [0] * len(clients)
        self._previous: list[tuple[float, float, int] | None] = []
        self._last = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="cwl-dask-holding")
        self._thread.start()

    def _sample(self) -> list[tuple[float, float, int] | None]:
        held: list[tuple[float, float, int] | None] = []
        for client in self.clients:
            if getattr(client, "status", None) != "running":
                held.append(None)
                continue
            try:
                workers = list(client.scheduler_info(n_workers=-1)["workers"].values())
            except Exception:
                held.append(None)
                continue
            cores = sum(w.get("resources", {}).get(RESOURCE_CORES, w["nthreads"]) for w in workers)
            ram = sum(w.get("resources", {}).get(RESOURCE_RAM, 0) for w in workers)
            held.append((cores, ram, len(workers)))
        return held

    def _run(self) -> None:
        self._last = time.monotonic()
        self._previous = self._sample()
        while not self._stop.wait(self.interval):
            self._step()

    def _step(self) -> None:
        """Integrate from the previous sample to a new one (trapezoids)."""
        now = time.monotonic()
        current = self._sample()
        span = now - self._last
        for i, (before, after) in enumerate(zip(self._previous, current, strict=True)):
            if before is None or after is None:
                continue
            self.core_seconds[i] += span * (before[0] + after[0]) / 2
            self.mib_seconds[i] += span * (before[1] + after[1]) / 2
            self.peak_workers[i] = max(self.peak_workers[i], before[2], after[2])
        self._previous, self._last = current, now

    def stop(self) -> None:
        """Stop sampling, counting the time since the last sample."""
        self._stop.set()
        self._thread.join(timeout=10)
        if self._previous:
            self._step()

    def report(self) -> dict[str, Any]:
        """``worker_core_seconds``, ``worker_ram_mib_seconds`` in all and per cluster."""
        return {
            "worker_core_seconds": round(sum(self.core_seconds), 1),
            "worker_ram_mib_seconds": round(sum(self.mib_seconds), 1),
            "clusters": [
                {
                    "worker_core_seconds": round(c, 1),
                    "worker_ram_mib_seconds": round(m, 1),
                    "max_workers_seen": w,
                }
                for c, m, w in zip(
                    self.core_seconds, self.mib_seconds, self.peak_workers, strict=True
                )
            ],
        }
