"""Worker loss: a Dask worker process killed (SIGKILL) while a tool runs.

Dask re-runs the task on a new worker; the tool of the lost attempt must die with its worker
(it would otherwise keep writing while the retry runs) and the retry must work in a fresh
directory. After more losses than ``--retries`` allows, the run fails naming the step.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

from conftest import DATA
from reliability import alive, parent_of, start_run, wait_for_lines, wait_gone


def _kill_worker_of(tool_pid: int) -> None:
    """SIGKILL the Dask worker process running the tool (tool <- guard <- worker)."""
    worker = parent_of(parent_of(tool_pid))
    assert "python" in Path(f"/proc/{worker}/cmdline").read_text()
    os.kill(worker, signal.SIGKILL)


def test_a_killed_worker_s_tool_dies_and_the_step_reruns_in_a_fresh_directory(
    tmp_path: Path,
) -> None:
    marker = tmp_path / "pids.txt"
    run = start_run(
        "--no-container",
        "--worker-processes",
        "--outdir",
        tmp_path / "out",
        DATA / "nap.cwl",
        "--marker",
        marker,
        "--seconds",
        "4",
        cwd=tmp_path,
    )
    first = wait_for_lines(marker, 2, run)
    first_pids = [int(line.split()[0]) for line in first]
    first_dir = first[0].split()[1]

    _kill_worker_of(first_pids[0])

    assert wait_gone(first_pids, timeout=5) == set(), "the lost attempt's tool outlived its worker"
    second = wait_for_lines(marker, 4, run)[2:]
    second_dir = second[0].split()[1]
    assert second_dir != first_dir
    assert not os.path.exists(first_dir), "the lost attempt's partial directory was kept"
    out, err = run.communicate(timeout=120)
    assert run.returncode == 0, err
    assert (tmp_path / "out" / "out.txt").read_text() == "rested\n"
    assert '"out"' in out


def test_a_step_whose_workers_keep_dying_fails_the_run_naming_it(tmp_path: Path) -> None:
    marker = tmp_path / "pids.txt"
    run = start_run(
        "--no-container",
        "--worker-processes",
        "--retries",
        "0",
        "--outdir",
        tmp_path / "out",
        DATA / "nap.cwl",
        "--marker",
        marker,
        "--seconds",
        "20",
        cwd=tmp_path,
    )
    pids = [int(line.split()[0]) for line in wait_for_lines(marker, 2, run)]
    _kill_worker_of(pids[0])
    assert wait_gone(pids, timeout=5) == set()
    _, err = run.communicate(timeout=60)
    assert run.returncode == 1, err
    assert "worker died 1 time running step 'nap'" in err
    assert "Traceback" not in err
    assert not alive(pids[1])
