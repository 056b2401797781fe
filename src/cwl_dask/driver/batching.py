"""Fusing many short invocations of one step into fewer Dask tasks.

Why: on the embedded local cluster the scheduler, the worker and the driver share one
process (one GIL), and every Dask task costs ≈ 3-5 ms of it (profiled: submit, scheduler and
worker state machines, result gathering) — more than a trivial tool's own work. A scatter of
10,000 `echo` jobs spent more time in Dask's bookkeeping than in the jobs.

The rule: invocations of the same step with the same resource request that the driver has
ready at once are queued; when the workflow cannot advance (or a queue is big), each queue
becomes ``n // (slots x tasks_per_slot)`` invocations per task, at most ``max_size``,
where ``slots`` is how many such invocations the cluster runs at once. So there are always at
least ``tasks_per_slot`` tasks per slot: load stays balanced even when durations differ, and
a scatter narrower than ``2 x slots x tasks_per_slot`` is not batched at all (8 x ``sleep 1`` on 2
cores runs as 8 tasks). Each invocation in a batch still has its own name, log, outcome and
record; the task key is the step's. Remote clusters are batched too (measured: a task's
scheduler round trip made a real scheduler 1.7 x slower than the local cluster); their slots
are what their workers run, or for an adaptive cluster what its ``maximum`` workers would
(:mod:`cwl_dask.clusters.slots`). A backend with no worker and none planned is not batched.

Only short invocations are fused. A batch is one Dask task: a stop reports its invocations
together, and a lost worker reruns all of them, so a batch holds at most
``max_seconds`` of work. How long a step's invocations take is learnt from the step itself:
of a queue wide enough to be fused whose step has not finished an invocation yet, one
task per slot is submitted alone, and the rest waits until the first of them finishes
(every slot is busy meanwhile, so nothing idles); its wall time then sizes the batches,
and a step slower than ``max_seconds`` is never batched.

Dask config (``~/.config/dask/*.yaml`` or ``DASK_CWL_DASK__BATCH__MAX_SIZE=1``):
``cwl-dask.batch.max-size`` (default 64; 1 turns batching off) and
``cwl-dask.batch.tasks-per-slot`` (default 4) and ``cwl-dask.batch.max-seconds`` (default 2).
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_MAX_SIZE = 64
DEFAULT_TASKS_PER_SLOT = 4
DEFAULT_MAX_SECONDS = 2.0


@dataclass(frozen=True)
class BatchPolicy:
    max_size: int = DEFAULT_MAX_SIZE
    tasks_per_slot: int = DEFAULT_TASKS_PER_SLOT
    max_seconds: float = DEFAULT_MAX_SECONDS

    @classmethod
    def from_config(cls) -> BatchPolicy:
        import dask.config

        return cls(
            max_size=max(1, int(dask.config.get("cwl-dask.batch.max-size", DEFAULT_MAX_SIZE))),
            tasks_per_slot=max(
                1, int(dask.config.get("cwl-dask.batch.tasks-per-slot", DEFAULT_TASKS_PER_SLOT))
            ),
            max_seconds=float(dask.config.get("cwl-dask.batch.max-seconds", DEFAULT_MAX_SECONDS)),
        )

    @property
    def enabled(self) -> bool:
        return self.max_size > 1

    def flush_at(self, slots: int) -> int:
        """Queue length at which a queue is submitted without waiting: full-size batches."""
        return slots * self.tasks_per_slot * self.max_size

    def size(self, queued: int, slots: int, seconds: float) -> int:
        """Invocations per task for ``queued`` ready invocations and ``slots`` parallel slots,
        when one invocation of the step takes ``seconds``."""
        by_time = int(self.max_seconds / seconds) if seconds > 0 else self.max_size
        return max(1, min(self.max_size, by_time, queued // (slots * self.tasks_per_slot)))


def split(items: list, size: int) -> list[list]:
    """``items`` in consecutive chunks of ``size`` (the last one shorter)."""
    return [items[i : i + size] for i in range(0, len(items), size)]
