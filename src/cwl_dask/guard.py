"""Run one tool command so that its whole process tree dies with it, its worker or its run.

cwltool starts a tool with a plain ``subprocess.Popen`` and stops it (``ToolTimeLimit``,
Ctrl-C) by signalling that one process: children of a shell script survive, and when a Dask
worker is killed, its tools keep running and writing while the task is retried elsewhere.
cwl-dask therefore puts this small supervisor in front of every tool command line (see
:mod:`cwl_dask.tool_processes`)::

    python -I -S guard.py PARENT_PID TAG -- COMMAND...

- The tool runs in a new session (its own process group), with ``PR_SET_PDEATHSIG`` so it is
  killed if the guard is killed; the guard itself gets SIGTERM when its parent (the Dask
  worker thread) dies.
- On SIGTERM, SIGINT or SIGHUP — the worker died, cwltool's time limit, a cancelled run — it
  kills the container (``docker``/``podman kill`` by the ``--cidfile`` cwltool passes; a
  container is a child of conmon or dockerd, not of the client command), sends SIGTERM to the
  tool's process group, and SIGKILL after a grace period.
- When the tool's main process ends, whatever it left running in its group is killed (as
  when a container ends), and the guard exits with the tool's status — the same exit code,
  or death by the same signal — so cwltool sees exactly what the tool did.

This file is run as a script by path with ``-I -S`` (no site packages, no cwl-dask import),
so it may use the standard library only and starts in a few milliseconds.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

#: Seconds between SIGTERM and SIGKILL for the tool's process group.
GRACE_SECONDS = 3
_PR_SET_PDEATHSIG = 1
_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def _set_parent_death_signal(signum: int) -> None:
    """Ask Linux to send ``signum`` when the parent thread exits (no-op elsewhere)."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signum, 0, 0, 0)
    except (OSError, AttributeError):
        pass


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
    if container is None:
        return
    engine, cidfile = container
    try:
        with open(cidfile, encoding="utf-8") as handle:
            cid = handle.read().strip()
    except OSError:
        return  # not created yet: killing the client stops the creation
    if cid:
        for action in (["kill", cid], ["rm", "--force", cid]):
            try:
                subprocess.run(
                    [engine, *action],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    timeout=30,
                    check=False,
                )
            except (OSError, subprocess.TimeoutExpired):
                pass


def _killpg(pgid: int, signum: int) -> None:
    try:
        os.killpg(pgid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def _spawn(command: list[str]) -> int:
    """Start the tool in its own session, dying with this process; report exec errors."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        try:
            os.close(read_end)
            os.setsid()
            _set_parent_death_signal(signal.SIGKILL)
            for signum in _STOP_SIGNALS:
                signal.signal(signum, signal.SIG_DFL)
            os.set_inheritable(write_end, False)
            os.execvp(command[0], command)
        except BaseException as err:  # exec failed: tell the guard, which reports it
            os.write(write_end, f"{err.strerror if isinstance(err, OSError) else err}".encode())
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


def main(argv: list[str]) -> int:
    if len(argv) < 4 or argv[2] != "--":
        print("usage: guard.py PARENT_PID TAG -- COMMAND...", file=sys.stderr)
        return 2
    parent, command = int(argv[0]), argv[3:]
    _set_parent_death_signal(signal.SIGTERM)
    if os.getppid() != parent:
        return 128 + signal.SIGKILL  # the parent died before the tool started
    container = _container(command)
    state: dict[str, int] = {}

    def stop(signum: int, _frame: object) -> None:
        if "stopping" in state:
            return
        state["stopping"] = signum
        _kill_container(container)
        if "pid" in state:
            _killpg(state["pid"], signal.SIGTERM)
        signal.alarm(GRACE_SECONDS)

    def force(_signum: int, _frame: object) -> None:
        if "pid" in state:
            _killpg(state["pid"], signal.SIGKILL)

    for signum in _STOP_SIGNALS:
        signal.signal(signum, stop)
    signal.signal(signal.SIGALRM, force)
    pid = state["pid"] = _spawn(command)
    if "stopping" in state:  # a signal arrived while the tool was starting
        _killpg(pid, signal.SIGTERM)
    # Wait without reaping, so the group id cannot be reused before the leftovers are killed.
    os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
    _killpg(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    signal.alarm(0)
    if os.WIFSIGNALED(status):
        signum = os.WTERMSIG(status)
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return 128 + signum
    return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
