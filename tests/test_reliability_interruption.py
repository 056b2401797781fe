"""Interruption: SIGINT (Ctrl-C) or SIGTERM while a tool runs.

The run stops submitting, cancels its tasks, kills its tools, shuts down the cluster it
created, says what had finished, exits 130/143 — and leaves no process behind.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from conftest import DATA
from reliability import descendants, start_run, wait_for_lines, wait_gone


@pytest.mark.parametrize(
    ("signum", "code", "options", "terminal"),
    [
        # Ctrl-C in a terminal: SIGINT to the whole process group, worker processes included.
        (signal.SIGINT, 130, ["--worker-processes"], True),
        # SIGTERM to the driver alone, whose worker runs in the driver process.
        (signal.SIGTERM, 143, [], False),
    ],
    ids=["ctrl-c-worker-processes", "sigterm-in-process-worker"],
)
def test_an_interrupted_run_kills_everything_and_says_what_finished(
    tmp_path: Path, signum: int, code: int, options: list[str], terminal: bool
) -> None:
    marker = tmp_path / "pids.txt"
    run = start_run(
        "--no-container",
        *options,
        "--outdir",
        tmp_path / "out",
        DATA / "nap.cwl",
        "--marker",
        marker,
        "--seconds",
        "60",
        cwd=tmp_path,
        new_session=terminal,
    )
    tool_pids = {int(line.split()[0]) for line in wait_for_lines(marker, 2, run)}
    spawned = descendants(run.pid)
    assert tool_pids <= spawned

    if terminal:
        os.killpg(run.pid, signum)
    else:
        os.kill(run.pid, signum)
    _, err = run.communicate(timeout=60)

    assert run.returncode == code, err
    name = signal.Signals(signum).name
    assert f"interrupted by {name}: 1 of 2 tool invocations finished (wake); killed: nap" in err
    assert "Traceback" not in err
    assert wait_gone(spawned, timeout=2) == set(), "processes of the run outlived it"
    assert not (tmp_path / "out" / "out.txt").exists()


def test_a_stopped_batch_starts_no_further_invocation(tmp_path: Path) -> None:
    marker = tmp_path / "marks.txt"
    run = start_run(
        "--no-container",
        "--cores",
        "1",
        "--outdir",
        tmp_path / "out",
        DATA / "batch-nap.cwl",
        "--marker",
        marker,
        "--flag",
        tmp_path / "never",
        "--sleeper",
        "3",
        cwd=tmp_path,
    )
    # 16 ready jobs on 1 core: job 1 alone, then 3 per task ([2, 3, 4], …): job 3 sleeps in
    # the running batch, job 4 waits in the same task.
    lines = wait_for_lines(marker, 3, run)
    assert [int(line.split()[0]) for line in lines] == [1, 2, 3]
    spawned = descendants(run.pid)

    os.kill(run.pid, signal.SIGTERM)
    _, err = run.communicate(timeout=60)

    assert run.returncode == 143, err
    assert "killed: mark" in err
    assert marker.read_text().splitlines() == lines, "a cancelled batch went on"
    assert wait_gone(spawned, timeout=2) == set(), "processes of the run outlived it"
