"""Worker loss: a Dask worker process killed (SIGKILL) while a tool runs.

Dask re-runs the task on a new worker; the tool of the lost attempt must die with its worker
(it would otherwise keep writing while the retry runs) and the retry must work in a fresh
directory. After more losses than ``--retries`` allows, the run fails naming the step.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import DATA, eventually, podman_ready
from reliability import alive, parent_of, start_run, wait_for_lines, wait_gone


def _kill_worker_of(tool_pid: int) -> None:
    """SIGKILL the Dask worker process running the tool (the tool's parent)."""
    worker = parent_of(tool_pid)
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


def _marks(marker: Path, job: str, count: int, run: subprocess.Popen[str]) -> list[list[str]]:
    """The first ``count`` lines "job pid dir" that job ``job`` wrote to ``marker``."""
    deadline = time.monotonic() + 90
    while True:
        wait_for_lines(marker, 1, run)
        mine = [line.split() for line in marker.read_text().splitlines() if line.split()[0] == job]
        if len(mine) >= count:
            return mine[:count]
        assert time.monotonic() < deadline, f"job {job} did not write {count} lines"
        time.sleep(0.05)


def test_a_lost_batch_reruns_whole_and_discards_what_its_finished_invocations_wrote(
    tmp_path: Path,
) -> None:
    marker, flag = tmp_path / "marks.txt", tmp_path / "flag"
    run = start_run(
        "--no-container",
        "--worker-processes",
        "--cores",
        "1",
        "--outdir",
        tmp_path / "out",
        DATA / "batch-nap.cwl",
        "--marker",
        marker,
        "--flag",
        flag,
        cwd=tmp_path,
    )
    [(_, pid, _)] = _marks(marker, "3", 1, run)
    lines = marker.read_text().splitlines()
    # 16 ready jobs on 1 core: job 1 alone, then 3 per task: job 2 finished in job 3's task,
    # in its own directory.
    [(_, _, first_dir)] = _marks(marker, "2", 1, run)
    assert (
        lines.index(next(x for x in lines if x.startswith("3 ")))
        == lines.index(next(x for x in lines if x.startswith("2 "))) + 1
    )
    _kill_worker_of(int(pid))
    flag.touch()

    [_, (_, _, second_dir)] = _marks(marker, "2", 2, run)
    assert second_dir != first_dir
    assert not os.path.exists(first_dir), "the lost batch's finished outputs were kept"
    out, err = run.communicate(timeout=120)
    assert run.returncode == 0, err
    outs = [Path(f["path"]).read_text() for f in json.loads(out)["outs"]]
    assert outs == [f"{i}\n" for i in range(1, 17)]


SLEEP_IN_CONTAINER = """cwlVersion: v1.2
class: CommandLineTool
requirements:
  DockerRequirement: {dockerPull: "docker.io/library/debian:stable-slim"}
baseCommand: sleep
inputs:
  seconds: {type: int, inputBinding: {position: 1}}
outputs: []
"""


def _containers_sleeping(seconds: str) -> list[str]:
    listed = subprocess.run(
        ["podman", "ps", "--no-trunc", "--format", "{{.ID}} {{.Command}}"],
        capture_output=True,
        text=True,
        check=True,
    )
    return [line for line in listed.stdout.splitlines() if f"sleep {seconds}" in line]


def _podman_client_of(seconds: str) -> int | None:
    import psutil

    for process in psutil.process_iter(["pid", "cmdline"]):
        cmdline = process.info["cmdline"] or []
        if cmdline and cmdline[0].endswith("podman") and "run" in cmdline and seconds in cmdline:
            return int(process.info["pid"])
    return None


@pytest.mark.podman
@pytest.mark.skipif(not podman_ready(), reason="needs podman and ci/setup-podman.sh's images")
def test_a_killed_worker_s_container_is_killed_and_removed(tmp_path: Path) -> None:
    tool = tmp_path / "sleep-in-container.cwl"
    tool.write_text(SLEEP_IN_CONTAINER)
    seconds = str(random.randrange(10000, 99999))  # tells this test's container apart
    run = start_run(
        "--podman", "--worker-processes", "--retries", "0", "--outdir", tmp_path / "out",
        tool, "--seconds", seconds, cwd=tmp_path,
    )  # fmt: skip
    try:
        assert eventually(lambda: bool(_containers_sleeping(seconds)), timeout=120)
        client = _podman_client_of(seconds)
        assert client is not None, "no podman client for the tool"
        _kill_worker_of(client)  # the client is the worker's child, as a tool is
        assert eventually(lambda: not _containers_sleeping(seconds), timeout=30), (
            "the container outlived its worker"
        )
    finally:
        run.kill()
        run.communicate()
