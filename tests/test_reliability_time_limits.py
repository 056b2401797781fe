"""Time limits: ``ToolTimeLimit`` and ``--timeout`` kill the tool's whole process tree."""

from __future__ import annotations

import random
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import DATA
from reliability import RunEndedEarly, start_run, wait_for_lines, wait_gone


def _pids(lines: list[str]) -> list[int]:
    return [int(line.split()[0]) for line in lines]


def test_tool_time_limit_kills_the_tool_and_its_children(tmp_path: Path) -> None:
    marker = tmp_path / "pids.txt"
    run = start_run(
        "--no-container",
        "--outdir",
        tmp_path / "out",
        DATA / "nap-tool.cwl",
        "--marker",
        marker,
        "--seconds",
        "60",
        "--limit",
        "1",
        cwd=tmp_path,
    )
    pids = _pids(wait_for_lines(marker, 2, run))
    _, err = run.communicate(timeout=60)
    assert run.returncode == 1, err
    assert "exceeded time limit of 1 seconds" in err
    # The shell's background `sleep 60` is not the process cwltool terminates.
    assert wait_gone(pids, timeout=1) == set()


def test_timeout_stops_the_run_and_kills_its_tools(tmp_path: Path) -> None:
    marker = tmp_path / "pids.txt"
    run = start_run(
        "--no-container",
        "--timeout",
        "8",
        "--outdir",
        tmp_path / "out",
        DATA / "nap.cwl",
        "--marker",
        marker,
        "--seconds",
        "60",
        cwd=tmp_path,
    )
    try:
        pids = _pids(wait_for_lines(marker, 2, run))
    except RunEndedEarly as early:
        assert "run timed out after 8 s" in early.stderr, early.stderr
        pytest.skip("this machine is too loaded: the run timed out before its tool started")
    _, err = run.communicate(timeout=60)
    assert run.returncode == 1, err
    assert "run timed out after 8 s: 1 of 2 tool invocations finished (wake); killed: nap" in err
    assert "Traceback" not in err
    assert wait_gone(pids, timeout=2) == set()


def _podman_ready() -> bool:
    if shutil.which("podman") is None:
        return False
    image = "docker.io/library/debian:stable-slim"
    return subprocess.run(["podman", "image", "exists", image], check=False).returncode == 0


@pytest.mark.podman
@pytest.mark.skipif(not _podman_ready(), reason="needs podman and ci/setup-podman.sh's images")
def test_tool_time_limit_kills_the_container(cwl_dask, tmp_path: Path) -> None:
    seconds = str(random.randrange(1000, 9999))  # tells this test's container apart
    result = cwl_dask(
        "run",
        "--podman",
        "--outdir",
        tmp_path / "out",
        DATA / "nap-in-container.cwl",
        "--seconds",
        seconds,
    )
    assert result.code == 1, result.stderr
    assert "exceeded time limit of 1 seconds" in result.stderr
    listed = subprocess.run(
        ["podman", "ps", "--all", "--no-trunc", "--format", "{{.ID}} {{.Command}}"],
        capture_output=True,
        text=True,
        check=True,
    )
    left = [line for line in listed.stdout.splitlines() if f"sleep {seconds}" in line]
    assert left == [], "the container outlived its time limit"
