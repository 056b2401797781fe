"""Worker side: tool processes that die with their task, and attempt-unique directories.

Every tool command line runs under ``guard.sh`` (a POSIX shell script beside this module,
whose header tells what it does; prepended to cwltool's
``runtime`` prefix by a subclass of whatever job class cwltool picks, so cwltool's own
``_execute`` — logging, exit codes, stdout/stderr, containers — stays as it is). It limits the
tool's memory to an explicit ``ramMax`` (:mod:`cwl_dask.worker.memory_limit`). The guard
kills the tool's whole process tree and container when the worker dies, when cwltool's
``ToolTimeLimit`` fires, or when the driver cancels the run (:func:`kill_tools`, run on every
worker with ``Client.run``).

A task that Dask re-runs after losing its worker keeps its key; each attempt gets its own
output and temporary directories (``<key>.<n>``), and a new attempt removes what earlier
attempts of the same task left behind, so two attempts never share a directory.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import os
import shutil
import signal
import subprocess
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, MutableMapping
from typing import Any

from cwltool.context import RuntimeContext
from cwltool.errors import WorkflowException
from cwltool.job import JobBase

from cwl_dask.worker.memory_limit import RAM_MAX_VARIABLE, ram_max_mib

_logger = logging.getLogger("cwl_dask")

#: The supervisor script. A shell, not Python: it starts once per tool invocation, and a
#: Python interpreter's start-up (10-30 ms of CPU) was the largest cost of short scatters.
GUARD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "guard.sh")
#: Tells the guard the tool's ``PWD`` as cwltool set it ("-": unset), since the shell's own
#: start-up exports one.
PWD_VARIABLE = "CWL_DASK_GUARD_PWD"

#: The task key of the invocation running in this thread (set by the worker).
_current = threading.local()
#: Guard processes that run now, by task key.
_running: dict[str, set[subprocess.Popen[str]]] = {}
_running_lock = threading.Lock()
#: Tasks the driver cancelled, oldest first: none of their invocations starts a tool any more.
#: Bounded, since a long-lived worker serves many runs and a cancelled task that never
#: started here is never forgotten otherwise.
_cancelled: OrderedDict[str, None] = OrderedDict()
CANCELLED_KEPT = 100_000
#: Tasks that started a tool here, newest last (bounded as ``_cancelled``): a tool that a
#: stop killed before ``kill_tools`` came (Ctrl-C reaches the whole process group) still
#: counts as killed, not as never started.
_started: OrderedDict[str, None] = OrderedDict()


def set_current_task(key: str | None) -> None:
    _current.key = key


def _current_task() -> str:
    return getattr(_current, "key", None) or "cwl-dask"


class GuardedJobMixin(JobBase):
    """Runs the job's command (or container client) under the guard."""

    def _execute(
        self,
        runtime: list[str],
        env: MutableMapping[str, str],
        runtimeContext: RuntimeContext,
        monitor_function: Callable[[subprocess.Popen[str]], None] | None = None,
    ) -> None:
        if not guard_supported() or self.mpi_procs:
            # An MPI launcher is put before `runtime` by cwltool, so it would start one guard
            # per rank; MPI tools keep cwltool's own process handling.
            super()._execute(runtime, env, runtimeContext, monitor_function)
            return
        key = _current_task()
        if cancelled(key):
            raise WorkflowException("cancelled: the run was stopped before this tool started")
        guard = ["/bin/sh", GUARD, str(os.getpid()), key, "--"]
        started: list[subprocess.Popen[str]] = []

        def monitor(process: subprocess.Popen[str]) -> None:
            started.append(process)
            with _running_lock:
                _running.setdefault(key, set()).add(process)
                _started[key] = None
                _started.move_to_end(key)
                while len(_started) > CANCELLED_KEPT:
                    _started.popitem(last=False)
                stopped = key in _cancelled
            if stopped:  # kill_tools ran between the check above and this registration
                with contextlib.suppress(OSError):
                    process.send_signal(signal.SIGTERM)
            if monitor_function is not None:
                monitor_function(process)

        env = {**env, PWD_VARIABLE: env.get("PWD", "-")}
        ram_max = ram_max_mib(self.builder)
        if ram_max is not None:  # see worker/memory_limit.py: the guard's `ulimit -d`
            env[RAM_MAX_VARIABLE] = str(math.ceil(ram_max * 1024))
        try:
            super()._execute([*guard, *runtime], env, runtimeContext, monitor)
        finally:
            with _running_lock:
                running = _running.get(key, set())
                running.difference_update(started)
                if not running:
                    _running.pop(key, None)


@functools.cache
def guard_supported() -> bool:
    """The guard needs POSIX process groups and ``setsid`` (util-linux, busybox); without
    them tools run as cwltool runs them, after a warning."""
    if os.name == "posix" and os.path.exists("/bin/sh") and shutil.which("setsid"):
        return True
    _logger.warning("no /bin/sh or setsid: tools run unguarded (may outlive a lost worker)")
    return False


_guarded_classes: dict[type[JobBase], type[JobBase]] = {}


def guarded(runner: type[JobBase]) -> type[JobBase]:
    """The subclass of cwltool's job class ``runner`` whose commands run under the guard."""
    cls = _guarded_classes.get(runner)
    if cls is None:
        cls = type(f"Guarded{runner.__name__}", (GuardedJobMixin, runner), {})
        _guarded_classes[runner] = cls
    return cls


def kill_tools(keys: Iterable[str]) -> list[str]:
    """Stop the tools of these tasks in this worker process; returns the keys that had a tool
    (signalled now, or already ended by the stop itself).

    Called on every worker through ``Client.run`` when a run is cancelled: Dask cannot stop a
    running task, but the task ends soon once its tool is gone. The guard kills the whole tree.
    The tasks are also marked cancelled, so that none of them starts a tool later: Dask's
    cancellation reaches the worker on another connection, after this call may have freed
    the cores that a queued task of the run was waiting for.
    """
    wanted = set(keys)
    with _running_lock:
        for key in wanted:
            _cancelled[key] = None
            _cancelled.move_to_end(key)
        while len(_cancelled) > CANCELLED_KEPT:
            _cancelled.popitem(last=False)
        running = {key: list(procs) for key, procs in _running.items() if key in wanted}
        ran = {key for key in wanted if key in _started}
    for processes in running.values():
        for process in processes:
            with contextlib.suppress(OSError):
                process.send_signal(signal.SIGTERM)
    return sorted(set(running) | ran)


def cancelled(key: str) -> bool:
    """Whether the driver cancelled task ``key`` (Dask cannot stop a task that runs)."""
    with _running_lock:
        return key in _cancelled


def forget_cancelled(key: str) -> None:
    with _running_lock:
        _cancelled.pop(key, None)


def attempt_directories(options: dict[str, Any], key: str) -> dict[str, str]:
    """Per-attempt ``tmp_outdir_prefix``/``tmpdir_prefix``, removing earlier attempts' dirs.

    The run's prefixes are ``<run>/out/`` and ``<run>/tmp/``; this attempt's are
    ``<run>/out/<key>.<n>/`` and ``<run>/tmp/<key>.<n>/`` with a fresh ``n``. Earlier
    attempts of the same task (a lost worker) are emptied: their partial outputs are never
    collected, and the new attempt starts from nothing.
    """
    prefixes: dict[str, str] = {}
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in key)
    for option in ("tmp_outdir_prefix", "tmpdir_prefix"):
        prefix = options.get(option)
        if not prefix or not prefix.endswith(os.sep):
            continue
        parent = os.path.dirname(prefix)
        os.makedirs(parent, exist_ok=True)
        attempt = 1
        while True:
            mine = os.path.join(parent, f"{safe}.{attempt}")
            try:
                os.mkdir(mine)
                break
            except FileExistsError:
                attempt += 1
        for earlier in range(1, attempt):
            path = os.path.join(parent, f"{safe}.{earlier}")
            if os.listdir(path):
                # Emptied, not removed: the empty directory keeps attempt numbers increasing.
                _logger.warning("discarding %s, left by an earlier attempt of this task", path)
                shutil.rmtree(path, ignore_errors=True)
                os.makedirs(path, exist_ok=True)
        prefixes[option] = os.path.join(mine, "")
    return prefixes
