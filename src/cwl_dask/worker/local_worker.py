"""Dask preload for the worker processes of the embedded local cluster (``--worker-processes``).

Ctrl-C in a terminal sends SIGINT to the whole foreground process group: the driver, and the
worker processes it spawned, which would die printing a ``KeyboardInterrupt`` traceback. The
driver owns stopping the run (cancel tasks, kill tools, close the cluster — see
:mod:`cwl_dask.driver.stopping`), so these worker processes ignore SIGINT. Only the local backend
preloads this module; workers a user starts (``dask worker``) keep their Ctrl-C.
"""

from __future__ import annotations

import multiprocessing
import signal
import threading
from typing import Any


def dask_setup(worker: Any) -> None:
    """Called by Dask in the worker process; a no-op for a worker inside the driver process."""
    in_own_process = multiprocessing.parent_process() is not None
    if in_own_process and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
