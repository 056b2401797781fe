"""One thread per worker process that samples the memory of every running tool.

cwltool reports each tool's peak memory ("[job x] Max memory used: N MiB") from a
``threading.Timer`` that it starts per job and that re-arms itself every second. Starting a
thread per invocation is cheap alone, but in a worker whose GIL is busy (the local
cluster's worker, scheduler and driver share one process) ``Thread.start`` waits for the new
thread to be scheduled: py-spy put it at ≈ 4 % of a 10,000-invocation scatter (issue 22).
Here one sampler thread, running while the worker has tools, samples the process trees of
all running tools once a second, and the job's ``process_monitor`` (the cwltool method the
worker's job classes override, see :mod:`cwl_dask.worker.tool_processes`) waits for its
tool and logs the same line as cwltool.
"""

from __future__ import annotations

import threading
import time
from typing import Any

#: Seconds between samples, as cwltool's.
INTERVAL = 1.0


def _tree_rss(process: Any) -> int:
    """Resident memory of ``process`` and all its descendants (psutil), in bytes."""
    with process.oneshot():
        rss = int(process.memory_info().rss)
        children = process.children(recursive=True)
    for child in children:
        try:
            rss += int(child.memory_info().rss)
        except Exception:  # psutil.NoSuchProcess, AccessDenied: gone or not ours
            continue
    return rss


class MemorySampler:
    """Peak resident memory of each watched process tree, sampled every ``interval`` s."""

    def __init__(self, interval: float = INTERVAL) -> None:
        self.interval = interval
        self._watched: dict[int, tuple[Any, list[int | None]]] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def watch(self, pid: int) -> None:
        import psutil

        try:
            process = psutil.Process(pid)
        except psutil.NoSuchProcess:
            return  # ended already: nothing to sample, as cwltool's monitor would find
        with self._lock:
            self._watched[pid] = (process, [None])
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="cwl-dask-memory", daemon=True
                )
                self._thread.start()

    def done(self, pid: int) -> int | None:
        """Stop watching ``pid``; its peak in bytes, None if it was never sampled."""
        with self._lock:
            entry = self._watched.pop(pid, None)
        return entry[1][0] if entry is not None else None

    def _run(self) -> None:
        while True:
            time.sleep(self.interval)
            with self._lock:
                watched = list(self._watched.values())
                if not watched:  # idle: the next watch starts a new thread
                    self._thread = None
                    return
            for process, peak in watched:
                try:
                    rss = _tree_rss(process)
                except Exception:  # the tool ended between the copy and the sample
                    continue
                if peak[0] is None or rss > peak[0]:
                    peak[0] = rss


#: This worker process's sampler.
SAMPLER = MemorySampler()
