"""Tool processes: each a process group of its own, transparent to the tool, and one
supervisor per worker that kills their trees when they are stopped or the worker dies."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

from cwl_dask.worker.tool_processes import SUPERVISOR, Supervisor, guard_prefix
from reliability import wait_gone

TREE = "echo $$ >> {pids}; sleep 60 & echo $! >> {pids}; wait"


def _supervised(*command: str) -> list[str]:
    prefix = guard_prefix()
    assert prefix is not None, "setsid (util-linux) is needed"
    return [*prefix, *command]


def _pids(path: Path, count: int, timeout: float = 20) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = path.read_text().split() if path.exists() else []
        if len(lines) >= count:
            return [int(pid) for pid in lines[:count]]
        time.sleep(0.02)
    raise AssertionError(f"{path} did not get {count} pids")


def _supervisors_of(parent: int) -> list[int]:
    return [
        child.pid
        for child in psutil.Process(parent).children()
        if SUPERVISOR in child.cmdline() and child.status() != psutil.STATUS_ZOMBIE
    ]


def test_a_tool_leads_a_process_group_and_session_of_its_own() -> None:
    tool = subprocess.Popen(_supervised("sleep", "5"))
    try:
        time.sleep(0.2)
        assert os.getpgid(tool.pid) == tool.pid and os.getsid(tool.pid) == tool.pid
    finally:
        tool.kill()
        tool.wait()


def test_the_tool_s_exit_code_and_signal_are_its_own() -> None:
    assert subprocess.run(_supervised("sh", "-c", "exit 7"), check=False).returncode == 7
    killed = subprocess.run(_supervised("sh", "-c", "kill -KILL $$"), check=False)
    assert killed.returncode == -signal.SIGKILL


def test_the_tool_gets_exactly_the_environment_cwltool_gave() -> None:
    env = {"PATH": os.environ["PATH"], "HOME": "/nowhere"}
    result = subprocess.run(_supervised("env"), env=env, capture_output=True, text=True, check=True)
    assert sorted(result.stdout.splitlines()) == ["HOME=/nowhere", f"PATH={os.environ['PATH']}"]


def test_a_command_that_cannot_run_exits_127_saying_why() -> None:
    result = subprocess.run(
        _supervised("no-such-command-here"), capture_output=True, text=True, check=False
    )
    assert result.returncode == 127
    assert "no-such-command-here" in result.stderr


def _tree_ignoring_sigterm(tmp_path: Path) -> tuple[subprocess.Popen[bytes], list[int]]:
    """A supervised tool whose tree (the tool and its child) ignores SIGTERM, and its pids."""
    pids = tmp_path / "pids"
    script = f"trap '' TERM; {TREE.format(pids=pids)}"
    tool = subprocess.Popen(_supervised("sh", "-c", script))
    return tool, _pids(pids, 2)


def test_a_stopped_tool_s_tree_dies_even_if_it_ignores_sigterm(tmp_path: Path) -> None:
    tool, tree = _tree_ignoring_sigterm(tmp_path)
    supervisor = Supervisor()
    try:
        supervisor.started(tool.pid, None)
        supervisor.stop(tool.pid)  # what kill_tools and a time limit do
        tool.wait(timeout=10)
        assert wait_gone(tree, timeout=5) == set()  # SIGKILL after the 3 s grace
    finally:
        supervisor.close()


WORKER = """
import subprocess, sys, time
from cwl_dask.worker.tool_processes import SUPERVISOR_CLIENT, guard_prefix
tool = subprocess.Popen([*guard_prefix(), "sh", "-c", sys.argv[1]])
SUPERVISOR_CLIENT.started(tool.pid, None)
print(SUPERVISOR_CLIENT.pid, flush=True)
time.sleep(120)
"""


def test_a_worker_s_tools_die_with_their_tree_when_the_worker_is_killed(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER, TREE.format(pids=pids)], stdout=subprocess.PIPE, text=True
    )
    assert worker.stdout is not None
    supervisor = int(worker.stdout.readline())
    tree = _pids(pids, 2)
    worker.kill()  # SIGKILL: the worker itself does nothing more
    worker.wait()
    assert wait_gone(tree, timeout=5) == set()
    assert wait_gone([supervisor], timeout=5) == set()


def test_a_killed_supervisor_is_restarted_and_told_the_running_tools_again(
    tmp_path: Path,
) -> None:
    pids = tmp_path / "pids"
    tool = subprocess.Popen(_supervised("sh", "-c", TREE.format(pids=pids)))
    tree = _pids(pids, 2)
    supervisor = Supervisor()
    try:
        supervisor.started(tool.pid, None)
        first = supervisor.pid
        assert first is not None
        os.kill(first, signal.SIGKILL)
        wait_gone([first], timeout=5)
        supervisor.stop(tool.pid)  # reaches a new supervisor, which knows the tool
        assert supervisor.pid not in (None, first)
        tool.wait(timeout=10)
        assert wait_gone(tree, timeout=5) == set()
    finally:
        supervisor.close()


def test_closing_a_supervisor_stops_the_tools_it_was_told_of(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    tool = subprocess.Popen(_supervised("sh", "-c", TREE.format(pids=pids)))
    tree = _pids(pids, 2)
    supervisor = Supervisor()
    supervisor.started(tool.pid, None)
    supervisor.close()
    tool.wait(timeout=10)
    assert wait_gone(tree, timeout=5) == set()


LEAVES = {
    "cwlVersion": "v1.2",
    "class": "CommandLineTool",
    "requirements": {"ShellCommandRequirement": {}},
    "inputs": {"pids": "string"},
    "arguments": [
        {"valueFrom": "sleep 60 & echo $! > $(inputs.pids); exit 0", "shellQuote": False}
    ],
    "outputs": {},
}


def test_what_a_tool_leaves_running_is_killed_when_it_ends(cwl_dask, tmp_path: Path) -> None:
    tool = tmp_path / "leaves.cwl"
    tool.write_text(json.dumps(LEAVES))
    pids = tmp_path / "pids"
    result = cwl_dask("run", "--no-container", "--outdir", "out", tool, "--pids", str(pids))
    assert result.code == 0, result.stderr
    [straggler] = _pids(pids, 1)
    assert wait_gone([straggler], timeout=2) == set()


def test_one_supervisor_serves_every_tool_of_a_worker(tmp_path: Path) -> None:
    from conftest import DATA
    from cwl_dask.clusters import LocalBackend
    from cwl_dask.driver.launch import RunRequest, run_captured
    from cwl_dask.worker.tool_processes import SUPERVISOR_CLIENT

    before = set(_supervisors_of(os.getpid()))
    job = tmp_path / "job.json"
    job.write_text(json.dumps({"words": [f"w{i}" for i in range(20)]}))
    result = run_captured(  # the local cluster's worker runs in this very process
        RunRequest(
            workflow=str(DATA / "scatter-echo.cwl"),
            backend=LocalBackend(cores=2, memory_mib=2048),
            job_args=[str(job)],
            outdir=str(tmp_path / "out"),
            workdir=str(tmp_path / "work"),
            container="none",
            quiet=True,
        )
    )
    assert result.code == 0 and len(result.records) == 20
    started = set(_supervisors_of(os.getpid())) - before
    assert started <= {SUPERVISOR_CLIENT.pid} and SUPERVISOR_CLIENT.pid in _supervisors_of(
        os.getpid()
    )


def test_a_stop_under_way_when_the_worker_goes_still_ends_in_sigkill(tmp_path: Path) -> None:
    tool, tree = _tree_ignoring_sigterm(tmp_path)
    supervisor = Supervisor()
    supervisor.started(tool.pid, None)
    supervisor.stop(tool.pid)  # the tool ignores the SIGTERM; its SIGKILL is 3 s away
    supervisor.close()  # the worker goes before that
    tool.wait(timeout=10)
    assert wait_gone(tree, timeout=5) == set()
