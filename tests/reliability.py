"""Helpers for the reliability tests: start ``cwl-dask run`` as a real process, watch pids."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path


def start_run(*args: str | Path, cwd: Path, new_session: bool = False) -> subprocess.Popen[str]:
    """``python -m cwl_dask run ARGS`` in the background, stdout/stderr captured.

    ``new_session``: in a process group of its own, as a shell runs a foreground job, so
    ``os.killpg(pid, SIGINT)`` is what Ctrl-C in a terminal does.
    """
    return subprocess.Popen(
        [sys.executable, "-m", "cwl_dask", "run", *map(str, args)],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=new_session,
    )


class RunEndedEarly(AssertionError):
    """The run ended before the awaited lines were written."""

    def __init__(self, code: int, stderr: str) -> None:
        super().__init__(f"the run ended ({code}) too early:\n{stderr}")
        self.code = code
        self.stderr = stderr


def wait_for_lines(
    path: Path, count: int, proc: subprocess.Popen[str], timeout: float = 90
) -> list[str]:
    """The first ``count`` lines of ``path`` once it has them (the run must still be alive)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = path.read_text().splitlines() if path.exists() else []
        if len(lines) >= count:
            return lines[:count]
        if proc.poll() is not None:
            _, err = proc.communicate()
            raise RunEndedEarly(proc.returncode, err)
        time.sleep(0.05)
    proc.kill()
    raise AssertionError(f"{path} did not get {count} lines in {timeout} s")


def alive(pid: int) -> bool:
    """Whether ``pid`` is a running process (a zombie counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def parent_of(pid: int) -> int:
    with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
        return int(handle.read().rsplit(")", 1)[1].split()[1])


def descendants(pid: int) -> set[int]:
    """Every process below ``pid`` now."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                children.setdefault(parent_of(int(entry)), []).append(int(entry))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def wait_gone(pids: set[int] | list[int], timeout: float = 10) -> set[int]:
    """The pids still alive after waiting up to ``timeout`` seconds for them to end."""
    deadline = time.monotonic() + timeout
    left = {pid for pid in pids if alive(pid)}
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = {pid for pid in left if alive(pid)}
    return left


def processes_with_args(*args: str) -> list[int]:
    """Every process on this machine whose command line ends with ``args``."""
    wanted = [a.encode() for a in args]
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                argv = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")[:-1]
            except OSError:
                continue
            if argv[-len(wanted) :] == wanted and alive(int(entry)):
                found.append(int(entry))
    return found
