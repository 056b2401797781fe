"""Dask preload for the worker processes of the embedded local cluster (``--worker-processes``).

Ctrl-C in a terminal sends SIGINT to the whole foreground process group: the driver, and the
worker processes it spawned, which would die printing a ``KeyboardInterrupt`` traceback. The
driver owns stopping the run (cancel tasks, kill tools, close the cluster — see
:mod:`cwl_dask.driver.stopping`), so these worker processes ignore SIGINT. Only the local backend
preloads this module; workers a user starts (``dask worker``) keep their Ctrl-C.

Their scheduler lives in the driver, so their heartbeats fail only while the driver closes
the cluster: a heartbeat still under way when the connections close is logged by Dask with a
traceback, which reached a SIGTERM'd run's stderr once in CI. That record says nothing the
stop's own message does not, so these processes drop it.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import threading
from typing import Any

#: What a worker logs when its heartbeat to the scheduler fails (``distributed.worker``).
HEARTBEAT_FAILED = "Failed to communicate with scheduler during heartbeat"


def not_a_failed_heartbeat(record: logging.LogRecord) -> bool:
    """A logging filter: False (drop) for a failed heartbeat's record, True for the rest."""
    return not str(record.msg).startswith(HEARTBEAT_FAILED)


def dask_setup(worker: Any) -> None:
    """Called by Dask in the worker process; a no-op for a worker inside the driver process."""
    in_own_process = multiprocessing.parent_process() is not None
    if not in_own_process:
        return
    logging.getLogger("distributed.worker").addFilter(not_a_failed_heartbeat)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
