"""Finished tasks, from every cluster the run submits to, in the driver thread.

Dask's ``as_completed`` waits for its futures on one event loop: the default client's. A
run with several worker pools (:class:`~cwl_dask.clusters.pooled.PooledBackend`) has one
client per pool, and each synchronous client (a Gateway's, a created cluster's) runs its own
event loop in a thread of its own. A future is finished by its client's loop; an
``as_completed`` on another loop then waits on an ``asyncio.Event`` that a foreign thread
sets, which asyncio does not support: the wake-up can come late (at that loop's next timer)
or, when both threads create the future's event at once, never. A pooled Gateway run in CI
waited forever for its last step that way.

:class:`Completions` keeps one ``as_completed`` per client loop, so each future is awaited
on the loop that finishes it, and merges them for the driver. With one loop (every run
with one cluster) it is that ``as_completed`` and nothing else.
"""

from __future__ import annotations

import threading
from typing import Any

#: How long a blocked :meth:`Completions.next_batch` sleeps at most between looks, when
#: several loops are merged: a future's done-callback and its ``as_completed`` entry come
#: from different callbacks of its loop, so the wake-up can precede the entry by a moment.
_LOOK_AGAIN = 0.05


class Completions:
    """``as_completed(with_results=True, raise_errors=False)`` over any number of loops."""

    def __init__(self) -> None:
        self._by_loop: dict[int, Any] = {}
        self._woken = threading.Event()

    def add(self, future: Any) -> None:
        """Track ``future`` on its own client's event loop."""
        from distributed import as_completed

        loop = future.client.loop
        tracker = self._by_loop.get(id(loop))
        if tracker is None:
            tracker = as_completed([], loop=loop, with_results=True, raise_errors=False)
            self._by_loop[id(loop)] = tracker
        tracker.add(future)
        if len(self._by_loop) > 1:
            future.add_done_callback(self._wake)

    def _wake(self, _future: Any) -> None:
        self._woken.set()

    def has_ready(self) -> bool:
        return any(tracker.has_ready() for tracker in self._by_loop.values())

    def next_batch(self, block: bool = True) -> list[tuple[Any, Any]]:
        """Every finished ``(future, result)``; with ``block``, at least one."""
        trackers = list(self._by_loop.values())
        if not trackers:
            if block:
                raise StopIteration
            return []
        if len(trackers) == 1:
            return trackers[0].next_batch(block=block)
        while True:
            self._woken.clear()
            batch = [
                item
                for tracker in trackers
                if tracker.has_ready()
                for item in tracker.next_batch(block=False)
            ]
            if batch or not block:
                return batch
            if all(tracker.is_empty() for tracker in trackers):
                raise StopIteration  # as as_completed does: nothing is left to wait for
            self._woken.wait(_LOOK_AGAIN)
