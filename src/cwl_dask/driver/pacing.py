"""How often the driver walks cwltool's workflow, and how much it keeps in flight.

Why: every time the driver wakes up with finished tasks, it resumes cwltool's job
generators (``WorkflowJob.job`` → ``try_make_job`` → ``parallel_steps``). For a scatter,
``parallel_steps`` visits each of the N elements on every such walk, finished or not, so a
walk costs O(N): ≈ 5-30 ms at N = 100,000 (measured). Waking up for every few finished
tasks made that quadratic. Two rules bound it without touching cwltool's code:

- **Pacing.** After a walk that took ``w`` seconds, the next one waits until ``RATIO * w``
  has passed, collecting every task that finishes meanwhile, unless nothing else is in flight
  (a chain's next step is never held back: its input was the only task running). The walks
  then take at most ``1 / (1 + RATIO)`` of the driver's time however wide the scatter, and a
  finished task waits at most ``RATIO * w`` (``MAX_GAP`` at most) to be delivered. A walk
  of a few steps costs microseconds, so small workflows are delivered as before.
- **A window.** At most ``window`` invocations are in flight (queued or submitted, not
  delivered); a step past the window does not start until there is room
  (:mod:`cwl_dask.driver.workflow`), and once it is full, until half of it was delivered.
  The driver's memory and Dask's task graph then grow with the window, not with N: a
  100,000-element scatter had a 1 GB driver before its first invocation ran (measured).
  Elements still start in cwltool's order.

Dask config: ``cwl-dask.walk.ratio`` (default 8; 0 turns pacing off) and
``cwl-dask.walk.window`` (default 10000 invocations).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

DEFAULT_RATIO = 8.0
DEFAULT_WINDOW = 10_000
#: The longest a finished task waits for the next walk, whatever the walk cost.
MAX_GAP = 0.5


@dataclass
class Pacer:
    """Times the driver's walks and says how long the next wait should gather tasks."""

    ratio: float = DEFAULT_RATIO
    window: int = DEFAULT_WINDOW
    _walk_started: float = field(default=0.0, repr=False)
    _walk_ended: float = field(default=0.0, repr=False)
    _refilling: bool = field(default=True, repr=False)

    @classmethod
    def from_config(cls) -> Pacer:
        import dask.config

        return cls(
            ratio=max(0.0, float(dask.config.get("cwl-dask.walk.ratio", DEFAULT_RATIO))),
            window=max(1, int(dask.config.get("cwl-dask.walk.window", DEFAULT_WINDOW))),
        )

    def walk_starts(self) -> None:
        self._walk_started = time.monotonic()

    def walk_ends(self) -> None:
        self._walk_ended = time.monotonic()

    def gather_until(self) -> float:
        """The monotonic time before which a wait keeps gathering finished tasks."""
        walk = self._walk_ended - self._walk_started  # asked between a walk and the next
        return self._walk_ended + min(MAX_GAP, self.ratio * walk)

    def has_room(self, in_flight: int) -> bool:
        """Whether one more invocation may be submitted.

        Once the window is full, nothing more is admitted until half of it was delivered:
        then up to a full window again. Admitting one invocation per one delivered would
        hand the dispatcher a few ready invocations per walk, too few to be fused into
        batches (:mod:`cwl_dask.driver.batching`): a 50,000-element scatter then ran one
        Dask task per invocation and spent 15 % of the driver serializing them (measured).
        """
        if in_flight >= self.window:
            self._refilling = False
        elif not self._refilling and in_flight <= self.window // 2:
            self._refilling = True
        return self._refilling
