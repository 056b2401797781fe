"""Stopping a run from outside: Ctrl-C (SIGINT), SIGTERM and ``--timeout``.

While a run is active, SIGINT and SIGTERM raise :class:`~cwl_dask.errors.Interrupted` and the
``--timeout`` alarm raises :class:`~cwl_dask.errors.TimedOut` in the main (driver) thread,
where the run is driven. On its way out the executor stops submitting, cancels the Dask tasks
and kills their tool process trees on the workers, and the launcher closes a cluster it
created and keeps the run directory; the CLI prints what had finished and exits 130, 143 or 1.
Further signals while stopping are ignored (cleanup would otherwise leave orphans); SIGKILL
still works, and even then tools die with their worker (see ``worker/supervisor.py``).
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from cwl_dask.errors import Interrupted, TimedOut

_logger = logging.getLogger("cwl_dask")

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def stop_on_signals(timeout: float | None = None) -> Iterator[None]:
    """Turn SIGINT/SIGTERM and a ``timeout`` (seconds) into exceptions for the block.

    Signal handlers can only be set in the main thread; elsewhere (a library caller's
    thread) the block runs unchanged, and a timeout is refused rather than silently ignored.
    """
    if threading.current_thread() is not threading.main_thread():
        if timeout:
            raise RuntimeError("a run timeout needs the main thread (it uses SIGALRM)")
        yield
        return
    stopping: list[int] = []

    def on_signal(signum: int, _frame: Any) -> None:
        if stopping:
            _logger.warning("already stopping (cancelling tasks, killing tools); please wait")
            return
        stopping.append(signum)
        raise Interrupted(signum)

    def on_alarm(_signum: int, _frame: Any) -> None:
        if stopping:
            return
        stopping.append(signal.SIGALRM)
        assert timeout is not None
        raise TimedOut(timeout)

    previous = {signum: signal.getsignal(signum) for signum in (*_SIGNALS, signal.SIGALRM)}
    for signum in _SIGNALS:
        signal.signal(signum, on_signal)
    if timeout:
        signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        yield
    finally:
        if timeout:
            signal.setitimer(signal.ITIMER_REAL, 0)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
