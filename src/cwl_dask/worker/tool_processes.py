"""Worker side: tool processes that die with their task, and attempt-unique directories.

Every tool command line starts under ``setsid`` (util-linux; prepended to cwltool's
``runtime`` prefix by a subclass of whatever job class cwltool picks, so cwltool's own
``_execute`` — logging, exit codes, stdout/stderr, containers — stays as it is): the tool
leads a process group of its own, which can be killed whole and which no terminal signals.
This module registers each group with the worker's :mod:`~cwl_dask.worker.supervisor`, a
process that outlives the worker to kill the tools it leaves. So a tool's whole process tree
(and its container) dies

- when the tool's main process ends: what it left in its group is killed before its outputs
  are collected;
- when the driver cancels the run (:func:`kill_tools`, run on every worker with
  ``Client.run``) or cwltool's ``ToolTimeLimit`` passes: container killed, SIGTERM, SIGKILL
  after a grace period (``CWL_DASK_TOOL_GRACE``, 3 s);
- when the worker dies, however it dies (the supervisor's pipe closes).

An explicit ``ramMax`` limits the tool's memory (``prlimit``, see
:mod:`cwl_dask.worker.memory_limit`), an explicit ``coresMax`` its CPU time (a CPU cgroup,
see :mod:`cwl_dask.worker.cpu_limit`). What is not covered: the microseconds between the
tool's start and its registration, should the worker be SIGKILLed in them; and processes a
tool moves to a session of their own (as a container engine's are, hence the cid file).

A task that Dask re-runs after losing its worker keeps its key; each attempt gets its own
output and temporary directories (``<key>.<n>``), and a new attempt removes what earlier
attempts of the same task left behind, so two attempts never share a directory.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import math
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, MutableMapping
from typing import IO, Any

from cwltool.context import RuntimeContext
from cwltool.errors import WorkflowException
from cwltool.job import JobBase
from cwltool.loghandler import _logger as cwltool_logger

from cwl_dask.worker.cpu_limit import CpuCgroups, cores_max, join_prefix, worker_cpu_cgroups
from cwl_dask.worker.memory_limit import ram_max_mib
from cwl_dask.worker.memory_sampler import SAMPLER

_logger = logging.getLogger("cwl_dask")

#: The supervisor script, run by path: it imports nothing of cwl-dask.
SUPERVISOR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "supervisor.py")
#: Seconds between SIGTERM and SIGKILL when a tool is stopped.
GRACE_VARIABLE = "CWL_DASK_TOOL_GRACE"
_ENGINES = frozenset({"docker", "podman"})

#: The task key of the invocation running in this thread (set by the worker).
_current = threading.local()
#: Tool processes that run now, by task key.
_running: dict[str, set[subprocess.Popen[str]]] = {}
_running_lock = threading.Lock()
#: Tasks the driver cancelled, oldest first: none of their invocations starts a tool any more.
#: Bounded, since a long-lived worker serves many runs and a cancelled task that never
#: started here is never forgotten otherwise.
_cancelled: OrderedDict[str, None] = OrderedDict()
CANCELLED_KEPT = 100_000
#: Tasks that started a tool here, newest last (bounded as ``_cancelled``): a tool that a
#: stop killed before ``kill_tools`` came still counts as killed, not as never started.
_started: OrderedDict[str, None] = OrderedDict()


def set_current_task(key: str | None) -> None:
    _current.key = key


def _current_task() -> str:
    return getattr(_current, "key", None) or "cwl-dask"


def grace_seconds() -> float:
    try:
        return max(0.0, float(os.environ.get(GRACE_VARIABLE, "3")))
    except ValueError:
        return 3.0


class Supervisor:
    """The worker's end of its supervisor: started on the first tool, restarted if it died.

    Every group registered and not yet ended is kept here too, so a restarted supervisor
    learns them again.
    """

    def __init__(self) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        self._groups: dict[int, str] = {}
        self._lock = threading.Lock()

    def _start(self) -> IO[bytes]:
        self._process = subprocess.Popen(
            [sys.executable, "-I", "-S", SUPERVISOR, str(grace_seconds())],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # signals to the worker's group do not reach it
            close_fds=True,
        )
        assert self._process.stdin is not None
        for line in self._groups.values():
            self._process.stdin.write(line.encode())
        return self._process.stdin

    def _send(self, line: str) -> None:
        with self._lock:
            for _ in range(2):
                process = self._process
                try:
                    if process is None or process.poll() is not None:
                        pipe = self._start()
                    else:
                        assert process.stdin is not None
                        pipe = process.stdin
                    pipe.write(line.encode())
                    pipe.flush()
                    return
                except OSError:  # it died (killed by hand): start another one
                    self._process = None
            _logger.warning("cannot reach the tool supervisor: %s", line.strip())

    def started(self, pgid: int, container: tuple[str, str] | None) -> None:
        event: dict[str, Any] = {"op": "start", "pgid": pgid}
        if container is not None:
            event["engine"], event["cidfile"] = container
        line = json.dumps(event) + "\n"
        with self._lock:
            self._groups[pgid] = line
        self._send(line)

    def ended(self, pgid: int) -> None:
        with self._lock:
            self._groups.pop(pgid, None)
        self._send(json.dumps({"op": "end", "pgid": pgid}) + "\n")

    def stop(self, pgid: int) -> None:
        self._send(json.dumps({"op": "stop", "pgid": pgid}) + "\n")

    def close(self) -> None:
        """Close the pipe: the supervisor stops the tools still registered, and exits."""
        with self._lock:
            process, self._process = self._process, None
            self._groups.clear()
        if process is not None and process.stdin is not None:
            with contextlib.suppress(OSError):
                process.stdin.close()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=10)

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None


#: This worker process's supervisor.
SUPERVISOR_CLIENT = Supervisor()


def _container(runtime: list[str]) -> tuple[str, str] | None:
    """``(engine, cid file)`` of a ``docker/podman run --cidfile=...`` command, else None."""
    if not runtime or os.path.basename(runtime[0]) not in _ENGINES:
        return None
    for arg in runtime:
        if arg.startswith("--cidfile="):
            return runtime[0], arg.split("=", 1)[1]
    return None


class GuardedJobMixin(JobBase):
    """Runs the job's command (or container client) as a supervised process group."""

    def _execute(
        self,
        runtime: list[str],
        env: MutableMapping[str, str],
        runtimeContext: RuntimeContext,
        monitor_function: Callable[[subprocess.Popen[str]], None] | None = None,
    ) -> None:
        launcher = guard_prefix()
        if launcher is None or self.mpi_procs:
            # An MPI launcher is put before `runtime` by cwltool, so it would start one group
            # per rank; MPI tools keep cwltool's own process handling.
            super()._execute(runtime, env, runtimeContext, monitor_function)
            return
        key = _current_task()
        if cancelled(key):
            raise WorkflowException("cancelled: the run was stopped before this tool started")
        prefix = list(launcher)
        container = _container(runtime)
        # A container's processes are the engine's: it limits them (--memory, --cpus).
        ram_max = ram_max_mib(self.builder) if container is None else None
        if ram_max is not None:  # see worker/memory_limit.py
            prefix = [*memory_limit_prefix(math.ceil(ram_max * 1024 * 1024)), *prefix]
        cgroup = _cpu_cgroup(self.builder) if container is None else None
        if cgroup is not None:  # see worker/cpu_limit.py
            prefix = [*join_prefix(cgroup[1]), *prefix]
        started: list[subprocess.Popen[str]] = []
        timers: list[threading.Timer] = []

        def monitor(process: subprocess.Popen[str]) -> None:
            started.append(process)
            SUPERVISOR_CLIENT.started(process.pid, container)  # setsid: pid = its group
            with _running_lock:
                _running.setdefault(key, set()).add(process)
                _started[key] = None
                _started.move_to_end(key)
                while len(_started) > CANCELLED_KEPT:
                    _started.popitem(last=False)
                stopped = key in _cancelled
            if stopped:  # kill_tools ran between the check above and this registration
                SUPERVISOR_CLIENT.stop(process.pid)
            if self.timelimit:  # cwltool then SIGTERMs the main process only: the group too
                timer = threading.Timer(self.timelimit, SUPERVISOR_CLIENT.stop, (process.pid,))
                timer.daemon = True
                timer.start()
                timers.append(timer)
            if monitor_function is not None:
                monitor_function(process)

        try:
            super()._execute([*prefix, *runtime], env, runtimeContext, monitor)
        finally:
            for timer in timers:
                timer.cancel()
            for process in started:
                with contextlib.suppress(OSError):  # what the tool left running in its group
                    os.killpg(process.pid, signal.SIGKILL)
                if container is not None and (process.returncode or 0) < 0:
                    SUPERVISOR_CLIENT.stop(process.pid)  # killed: its container may run on
                SUPERVISOR_CLIENT.ended(process.pid)
            with _running_lock:
                running = _running.get(key, set())
                running.difference_update(started)
                if not running:
                    _running.pop(key, None)
            if cgroup is not None:
                cgroup[0].remove(cgroup[1])

    def process_monitor(self, sproc: subprocess.Popen[str]) -> None:
        """cwltool's peak-memory report, from the worker's one sampler thread instead of a
        timer thread per job (see :mod:`cwl_dask.worker.memory_sampler`)."""
        SAMPLER.watch(sproc.pid)
        try:
            sproc.wait()
        finally:
            peak = SAMPLER.done(sproc.pid)
        if peak is not None:
            self.peak_mib = peak / 2**20  # for the outcome: see memory_limit.memory_note
            cwltool_logger.info("[job %s] Max memory used: %iMiB", self.name, round(peak / 2**20))
        else:
            cwltool_logger.debug(
                "Could not collect memory usage, job ended before monitoring began."
            )


@functools.cache
def guard_prefix() -> tuple[str, ...] | None:
    """``setsid`` (util-linux, busybox), put before every tool; without it tools run as
    cwltool runs them, after a warning."""
    found = shutil.which("setsid") if os.name == "posix" else None
    if found:
        return (found,)
    _logger.warning("no setsid: tools run unsupervised (may outlive a lost worker)")
    return None


def _cpu_cgroup(builder: Any) -> tuple[CpuCgroups, str] | None:
    """A CPU cgroup limited to the invocation's explicit ``coresMax``, if it has one and the
    worker may create cgroups (else it runs unlimited, after one warning per worker)."""
    cores = cores_max(builder)
    places = worker_cpu_cgroups() if cores is not None else None
    if cores is None or places is None:
        return None
    try:
        return places, places.create(cores)
    except OSError as err:
        _logger.warning("coresMax %g is not enforced: cannot create a CPU cgroup (%s)", cores, err)
        return None


@functools.cache
def _prlimit() -> str | None:
    found = shutil.which("prlimit")
    if found is None:
        _logger.warning("no prlimit (util-linux): ramMax is not enforced")
    return found


def memory_limit_prefix(limit_bytes: int) -> list[str]:
    """The command that starts a tool with its data segment limited to ``limit_bytes``."""
    prlimit = _prlimit()
    return [prlimit, f"--data={limit_bytes}:{limit_bytes}"] if prlimit else []


_guarded_classes: dict[type[JobBase], type[JobBase]] = {}


def guarded(runner: type[JobBase]) -> type[JobBase]:
    """The subclass of cwltool's job class ``runner`` whose commands run supervised."""
    cls = _guarded_classes.get(runner)
    if cls is None:
        cls = type(f"Guarded{runner.__name__}", (GuardedJobMixin, runner), {})
        _guarded_classes[runner] = cls
    return cls


def kill_tools(keys: Iterable[str]) -> list[str]:
    """Stop the tools of these tasks in this worker process; returns the keys that had a tool
    (signalled now, or already ended by the stop itself).

    Called on every worker through ``Client.run`` when a run is cancelled: Dask cannot stop a
    running task, but the task ends soon once its tool is gone. The supervisor kills the
    whole tree and the container.
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
            SUPERVISOR_CLIENT.stop(process.pid)
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
