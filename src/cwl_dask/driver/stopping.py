"""Stopping a run from outside: Ctrl-C (SIGINT), SIGTERM and ``--timeout``.

While a run is active, SIGINT and SIGTERM raise :class:`~cwl_dask.errors.Interrupted` and the
``--timeout`` alarm raises :class:`~cwl_dask.errors.TimedOut` in the main (driver) thread,
where the run is driven. On its way out the executor stops submitting, cancels the Dask tasks
and kills their tool process trees on the workers, and the launcher closes a cluster it
created and keeps the run directory; the CLI prints what had finished and exits 130, 143 or 1.
Further signals while stopping are ignored (cleanup would otherwise leave orphans); SIGKILL
still works, and even then tools die with their worker (see ``worker/supervisor.py``).

A stop never hangs: stopping has :data:`GRACE_VARIABLE` seconds (``CWL_DASK_STOP_GRACE``,
30). Should cleanup still be under way then — a cluster client blocked on a connection or an
event loop that is gone (a Ctrl-C of a gateway run during start-up never exited, twice in
CI, cause not found) — a watchdog says so on stderr, runs the backends' last-resort
releases (:func:`on_abandon`: a gateway cluster is stopped by name from a fresh connection)
and ends the process with the stop's exit code.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from cwl_dask.errors import Interrupted, TimedOut

_logger = logging.getLogger("cwl_dask")

_SIGNALS = (signal.SIGINT, signal.SIGTERM)
#: Seconds a stop may take before the process ends anyway.
GRACE_VARIABLE = "CWL_DASK_STOP_GRACE"
DEFAULT_GRACE = 30.0
#: Seconds each last-resort release may take.
ABANDON_TIMEOUT = 10.0
_abandon: list[Callable[[], None]] = []


def on_abandon(release: Callable[[], None]) -> Callable[[], None]:
    """Register what to release if a stop's cleanup does not finish within the grace;
    returns the call that unregisters it (a run's own, when the run is over)."""
    _abandon.append(release)
    return lambda: _abandon.remove(release) if release in _abandon else None


def _grace() -> float:
    try:
        return float(os.environ.get(GRACE_VARIABLE, DEFAULT_GRACE))
    except ValueError:
        return DEFAULT_GRACE


def _watchdog(code: int, grace: float, done: threading.Event) -> None:
    """Give the stop ``grace`` seconds, then release what can be and exit with ``code``
    (unless ``done`` is set first: the caller's program goes on).

    Writes with ``os.write``: a blocked thread may hold the logging handlers' locks.
    """
    if done.wait(grace):
        return
    os.write(2, f"cwl-dask: stopping did not finish within {grace:g} s: exiting now\n".encode())
    for release in list(_abandon):
        worker = threading.Thread(target=_quietly, args=(release,), daemon=True)
        worker.start()
        worker.join(ABANDON_TIMEOUT)
    os._exit(code)


def _quietly(release: Callable[[], None]) -> None:
    try:
        release()
    except Exception as err:  # the process is ending: say it, go on
        os.write(2, f"cwl-dask: {err}\n".encode())


def _start_watchdog(code: int, done: threading.Event) -> None:
    threading.Thread(
        target=_watchdog, args=(code, _grace(), done), daemon=True, name="cwl-dask-stop-watchdog"
    ).start()


@contextmanager
def stop_on_signals(timeout: float | None = None, until_exit: bool = False) -> Iterator[None]:
    """Turn SIGINT/SIGTERM and a ``timeout`` (seconds) into exceptions for the block.

    A stop's watchdog (see the module's docstring) is called off when the block ends, unless
    ``until_exit`` (the CLI, which exits right after it: a hang at interpreter exit counts).

    Signals whose handler was set in C (by a program embedding Python) are left to it.
    Signal handlers can only be set in the main thread; elsewhere (a library caller's
    thread) the block runs unchanged, and a timeout is refused rather than silently ignored.
    """
    if threading.current_thread() is not threading.main_thread():
        if timeout:
            raise RuntimeError("a run timeout needs the main thread (it uses SIGALRM)")
        yield
        return
    stopping: list[int] = []
    done = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        if stopping:
            _logger.warning("already stopping (cancelling tasks, killing tools); please wait")
            return
        stopping.append(signum)
        _start_watchdog(128 + signum, done)
        raise Interrupted(signum)

    def on_alarm(_signum: int, _frame: Any) -> None:
        if stopping:
            return
        stopping.append(signal.SIGALRM)
        assert timeout is not None
        _start_watchdog(TimedOut(timeout).exit_code, done)
        raise TimedOut(timeout)

    # A handler set in C (an embedding program's: the ZOO kernel's, which reports and
    # exits) reads as None and could not be put back: such a signal keeps its handler.
    previous = {
        signum: handler
        for signum in (*_SIGNALS, signal.SIGALRM)
        if (handler := signal.getsignal(signum)) is not None
    }
    for signum in _SIGNALS:
        if signum in previous:
            signal.signal(signum, on_signal)
    if timeout:
        if signal.SIGALRM not in previous:
            raise RuntimeError("a run timeout needs SIGALRM, which has a handler set in C")
        signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        yield
    finally:
        if not until_exit:
            done.set()
        if timeout:
            signal.setitimer(signal.ITIMER_REAL, 0)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
