"""Run one tool command so that its whole process tree dies with it, its worker or its run.

cwltool starts a tool with a plain ``subprocess.Popen`` and stops it (``ToolTimeLimit``,
Ctrl-C) by signalling that one process: children of a shell script survive, and when a Dask
worker is killed, its tools keep running and writing while the task is retried elsewhere.
cwl-dask therefore puts this small supervisor in front of every tool command line (see
:mod:`cwl_dask.tool_processes`)::

    python -I -S guard.py PARENT_PID TAG -- COMMAND...

- The tool runs in a new session (its own process group). Twice a second the guard checks
  that its parent (the Dask worker) is alive; once it is gone, the guard stops the tool as
  below. (Polling rather than ``PR_SET_PDEATHSIG``: it needs no ``ctypes``, works on every
  POSIX system, and does not fire when merely the worker *thread* that started it ends.)
- On SIGTERM, SIGINT or SIGHUP — the worker died, cwltool's time limit, a cancelled run — it
  kills the container (``docker``/``podman kill`` by the ``--cidfile`` cwltool passes; a
  container is a child of conmon or dockerd, not of the client command), sends SIGTERM to the
  tool's process group, and SIGKILL after a grace period.
- When the tool's main process ends, whatever it left running in its group is killed (as
  when a container ends), and the guard exits with the tool's status — the same exit code,
  or death by the same signal — so cwltool sees exactly what the tool did.

This file is run as a script by path with ``-I -S`` (no site packages, no cwl-dask import),
so it may use the standard library only; it imports only built-in modules (``_signal``, not
``signal``, which imports ``enum``) because it starts once per tool invocation.
"""

from __future__ import annotations

import _signal
import os
import sys

#: Seconds between SIGTERM and SIGKILL for the tool's process group.
GRACE_SECONDS = 3.0
#: Seconds between checks that the parent (the worker) still lives.
CHECK_SECONDS = 0.5
_STOP_SIGNALS = (_signal.SIGTERM, _signal.SIGINT, _signal.SIGHUP)


def _container(command: list[str]) -> tuple[str, str] | None:
    """``(engine, cidfile)`` when the command is ``docker``/``podman run --cidfile=…``."""
    engine = os.path.basename(command[0]) if command else ""
    if engine not in ("docker", "podman"):
        return None
    for arg in command[1:]:
        if arg.startswith("--cidfile="):
            return command[0], arg.split("=", 1)[1]
    return None


def _kill_container(container: tuple[str, str] | None) -> None:
    """Kill and remove the container: it is not in the client's process group."""
    if container is None:
        return
    engine, cidfile = container
    try:
        with open(cidfile, encoding="utf-8") as handle:
            cid = handle.read().strip()
    except OSError:
        return  # not created yet: killing the client stops the creation
    if cid:
        import contextlib
        import subprocess

        for action in (["kill", cid], ["rm", "--force", cid]):
            with contextlib.suppress(OSError, subprocess.TimeoutExpired):
                subprocess.run(
                    [engine, *action],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    timeout=30,
                    check=False,
                )


def _killpg(pgid: int, signum: int) -> None:
    try:  # noqa: SIM105 (contextlib costs an import per tool invocation)
        os.killpg(pgid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def _spawn(command: list[str]) -> int:
    """Start the tool in a session of its own; report a command that cannot be run."""
    read_end, write_end = os.pipe()  # close-on-exec: EOF once the exec succeeded
    pid = os.fork()
    if pid == 0:  # the child
        try:
            os.close(read_end)
            os.setsid()
            for signum in (*_STOP_SIGNALS, _signal.SIGALRM):
                _signal.signal(signum, _signal.SIG_DFL)
            os.execvp(command[0], command)
        except BaseException as err:
            os.write(write_end, (err.strerror if isinstance(err, OSError) else str(err)).encode())
        finally:
            os._exit(127)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as errors:
        failure = errors.read().decode(errors="replace")
    if failure:
        os.waitpid(pid, 0)
        print(f"cwl-dask: cannot run {command[0]!r}: {failure}", file=sys.stderr, flush=True)
        os._exit(127)
    return pid


class _Guard:
    def __init__(self, parent: int, command: list[str]) -> None:
        self.parent = parent
        self.container = _container(command)
        self.pid = 0
        self.kill_at: float | None = None

    def stop(self, _signum: int = 0, _frame: object = None) -> None:
        """Stop the tool: its container, then its process group (SIGTERM, SIGKILL later)."""
        if self.kill_at is not None:
            return
        self.kill_at = _monotonic() + GRACE_SECONDS
        _kill_container(self.container)
        if self.pid:
            _killpg(self.pid, _signal.SIGTERM)

    def tick(self, _signum: int = 0, _frame: object = None) -> None:
        """Periodic check: the parent died (stop), or the grace period is over (SIGKILL)."""
        if self.kill_at is None and os.getppid() != self.parent:
            self.stop()
        elif self.kill_at is not None and _monotonic() >= self.kill_at and self.pid:
            _killpg(self.pid, _signal.SIGKILL)

    def run(self, command: list[str]) -> int:
        for signum in _STOP_SIGNALS:
            _signal.signal(signum, self.stop)
        _signal.signal(_signal.SIGALRM, self.tick)
        _signal.setitimer(_signal.ITIMER_REAL, CHECK_SECONDS, CHECK_SECONDS)
        self.pid = _spawn(command)
        if self.kill_at is not None:  # stopped while the tool was starting
            _killpg(self.pid, _signal.SIGTERM)
        # Wait without reaping, so the group id cannot be reused before the leftovers die.
        os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOWAIT)
        _killpg(self.pid, _signal.SIGKILL)
        _, status = os.waitpid(self.pid, 0)
        _signal.setitimer(_signal.ITIMER_REAL, 0)
        if os.WIFSIGNALED(status):  # die the same way, so cwltool reports the same signal
            signum = os.WTERMSIG(status)
            if signum != _signal.SIGKILL:
                _signal.signal(signum, _signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return 128 + signum
        return os.waitstatus_to_exitcode(status)


def _monotonic() -> float:
    return os.times().elapsed


#: The tool's ``LC_CTYPE`` as cwltool set it ("" when unset): Python's start-up sets
#: ``LC_CTYPE=C.UTF-8`` in its environment under the C locale (PEP 538), which the tool
#: would otherwise inherit.
LC_CTYPE_VARIABLE = "CWL_DASK_GUARD_LC_CTYPE"


def _restore_environment() -> None:
    original = os.environ.pop(LC_CTYPE_VARIABLE, None)
    if original == "":
        os.environ.pop("LC_CTYPE", None)
    elif original is not None:
        os.environ["LC_CTYPE"] = original


def main(argv: list[str]) -> int:
    if len(argv) < 4 or argv[2] != "--":
        print("usage: guard.py PARENT_PID TAG -- COMMAND...", file=sys.stderr)
        return 2
    parent, command = int(argv[0]), argv[3:]
    _restore_environment()
    if os.getppid() != parent:
        return 128 + _signal.SIGKILL  # the worker died before the tool started
    return _Guard(parent, command).run(command)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
