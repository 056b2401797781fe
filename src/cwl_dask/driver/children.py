"""Exit codes of child processes: readable only while SIGCHLD is not ignored.

A process that sets SIGCHLD to ``SIG_IGN`` tells the kernel to reap its children at once:
``waitpid`` then fails with ECHILD and Python reports every child's exit code as 0. The
ZOO-Project kernel does exactly that for the services it runs, so a tool that exits 3 was
reported as a success. The disposition is also inherited across ``exec``: worker
processes started from such a process read every tool's exit code as 0 too.

:func:`child_exit_codes` puts the default disposition back for the length of a run (the
cluster's processes, started inside it, inherit the default) and restores the caller's.
Outside the main thread a disposition cannot be changed: a run there refuses to start
rather than report failed tools as successful.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from cwl_dask.errors import BackendError


@contextmanager
def child_exit_codes() -> Iterator[None]:
    """SIGCHLD at its default for the block (see the module's docstring)."""
    if signal.getsignal(signal.SIGCHLD) != signal.SIG_IGN:
        yield
        return
    if threading.current_thread() is not threading.main_thread():
        raise BackendError(
            "SIGCHLD is ignored in this process, so the exit codes of tools cannot be read "
            "(every tool would seem to succeed); start the run from the main thread, or "
            "set signal.signal(signal.SIGCHLD, signal.SIG_DFL) first"
        )
    previous = signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    try:
        yield
    finally:
        signal.signal(signal.SIGCHLD, previous)
