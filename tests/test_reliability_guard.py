"""The guard every tool command runs under: transparent to the tool, fatal to its tree."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from cwl_dask.worker.tool_processes import GUARD, PWD_VARIABLE
from reliability import wait_gone


def _guarded(*command: str, parent: int | None = None) -> list[str]:
    parent_pid = os.getpid() if parent is None else parent
    return ["/bin/sh", GUARD, str(parent_pid), "test", "--", *command]


def _pids(path: Path, count: int, timeout: float = 20) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = path.read_text().split() if path.exists() else []
        if len(lines) >= count:
            return [int(pid) for pid in lines[:count]]
        time.sleep(0.02)
    raise AssertionError(f"{path} did not get {count} pids")


def test_the_tool_s_exit_code_and_signal_are_the_guard_s() -> None:
    assert subprocess.run(_guarded("sh", "-c", "exit 7"), check=False).returncode == 7
    killed = subprocess.run(_guarded("sh", "-c", "kill -KILL $$"), check=False)
    assert killed.returncode == -signal.SIGKILL


def test_the_tool_gets_exactly_the_environment_cwltool_gave() -> None:
    env = {"PATH": os.environ["PATH"], "HOME": "/nowhere", PWD_VARIABLE: "-"}
    result = subprocess.run(_guarded("env"), env=env, capture_output=True, text=True, check=True)
    assert sorted(result.stdout.splitlines()) == ["HOME=/nowhere", f"PATH={os.environ['PATH']}"]


def test_a_command_that_cannot_run_exits_127_saying_why() -> None:
    result = subprocess.run(
        _guarded("no-such-command-here"), capture_output=True, text=True, check=False
    )
    assert result.returncode == 127
    assert "cannot run 'no-such-command-here'" in result.stderr


def test_terminating_the_guard_kills_the_tool_s_whole_tree(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    script = f"echo $$ >> {pids}; sleep 60 & echo $! >> {pids}; wait"
    guard = subprocess.Popen(_guarded("sh", "-c", script))
    tree = _pids(pids, 2)
    guard.terminate()  # what cwltool's ToolTimeLimit does
    assert guard.wait(timeout=10) == -signal.SIGTERM
    assert wait_gone(tree, timeout=2) == set()


def test_a_tool_whose_parent_dies_is_killed_with_its_tree(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    script = f"echo $$ >> {pids}; sleep 60 & echo $! >> {pids}; wait"
    # A stand-in worker: starts the guard (told its pid is the parent), then waits.
    worker = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import os, subprocess, sys; "
            "subprocess.Popen([*sys.argv[1:3], str(os.getpid()), *sys.argv[4:]]).wait()",
            *_guarded("sh", "-c", script, parent=0),
        ]
    )
    tree = _pids(pids, 2)
    worker.kill()
    worker.wait()
    assert wait_gone(tree, timeout=3) == set()


def test_what_the_tool_leaves_running_is_killed_when_it_ends(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    result = subprocess.run(
        _guarded("sh", "-c", f"sleep 60 & echo $! > {pids}; exit 0"), check=False
    )
    assert result.returncode == 0
    [straggler] = _pids(pids, 1)
    assert wait_gone([straggler], timeout=2) == set()


def _watchers_of(parent: int) -> list[int]:
    """Guard processes (watchers are forks of a guard) still running for ``parent``."""
    import psutil

    found = []
    for process in psutil.process_iter(["pid", "cmdline", "status"]):
        cmdline = process.info["cmdline"] or []
        if GUARD in cmdline and str(parent) in cmdline and process.info["status"] != "zombie":
            found.append(process.info["pid"])
    return found


def test_a_tool_that_ends_at_once_leaves_no_watcher_behind() -> None:
    # The watcher is started just before the tool ends: it once was killed by process group
    # alone, which missed it when it had not yet made that group (setsid); it then polled
    # until the worker ended — thousands of them in a 10000-job scatter.
    from concurrent.futures import ThreadPoolExecutor

    def run_one(_: int) -> int:
        return subprocess.run(_guarded("true"), check=False).returncode

    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(run_one, range(200))) == {0}
    deadline = time.monotonic() + 2
    while _watchers_of(os.getpid()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _watchers_of(os.getpid()) == []
