"""--cachedir: a content-addressed result cache, in a local folder and in object storage.

Every test runs twice: with a local folder and a local cluster, and with
``--cachedir s3://…`` (moto's server) on workers that share no files with the driver
(``--workdir s3://…``, ``conftest_isolated``). The workflow appends a line per invocation
that really ran to a marker file (outside what the workers' tmpfs hides), so each test
counts what ran.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cache_runs import CachedRuns
from conftest import DATA, eventually

pytestmark = pytest.mark.timeout(600)

SQUARES = DATA / "cache" / "squares.cwl"
PIPELINE = DATA / "reliability" / "pipeline.cwl"


def _numbers(*values: int) -> list[str]:
    return [arg for value in values for arg in ("--numbers", str(value))]


def test_a_second_identical_run_runs_no_tool_and_gives_the_same_outputs(
    cached_runs: CachedRuns,
) -> None:
    first = cached_runs.run(SQUARES, *_numbers(1, 2, 3))
    assert first.code == 0, first.stderr
    assert sorted(cached_runs.ran()) == ["total", "work 1", "work 2", "work 3"]

    second = cached_runs.run(SQUARES, *_numbers(1, 2, 3))
    assert second.code == 0, second.stderr
    assert cached_runs.ran() == []
    assert second.output()["sum"]["checksum"] == first.output()["sum"]["checksum"]
    assert cached_runs.outdir_text("total.txt") == "14\n"


def test_a_driver_killed_mid_scatter_resumes_running_only_the_unfinished_invocations(
    cached_runs: CachedRuns,
) -> None:
    numbers = _numbers(*range(1, 9))
    killed = cached_runs.start(SQUARES, *numbers, "--secs", "1")
    eventually(lambda: len(cached_runs.manifests("work")) >= 2 or killed.poll() is not None, 90)
    assert killed.poll() is None, killed.communicate()[1]
    os.killpg(killed.pid, signal.SIGKILL)
    killed.communicate(timeout=60)
    finished = cached_runs.wait_settled("work")
    assert 2 <= finished < 8
    cached_runs.ran()  # forget what the killed run ran

    resumed = cached_runs.run(SQUARES, *numbers, "--secs", "1")
    assert resumed.code == 0, resumed.stderr
    ran = cached_runs.ran()
    work = [line for line in ran if line != "total"]
    assert len(work) == len(set(work)) == 8 - finished, ran
    assert set(work) <= {f"work {n}" for n in range(1, 9)}
    assert ran.count("total") == 1
    assert cached_runs.outdir_text("total.txt") == f"{sum(n * n for n in range(1, 9))}\n"


def test_an_edited_step_reruns_only_it_and_its_downstream(
    cached_runs: CachedRuns, tmp_path: Path
) -> None:
    done = cached_runs.run(PIPELINE)
    assert done.code == 0, done.stderr
    assert cached_runs.ran() == ["first", "middle", "last"]
    edited = tmp_path / "elsewhere" / "pipeline.cwl"
    edited.parent.mkdir()
    edited.write_text(PIPELINE.read_text().replace("echo b >> middle.txt", "echo B >> middle.txt"))

    rerun = cached_runs.run(edited)
    assert rerun.code == 0, rerun.stderr
    assert cached_runs.ran() == ["middle", "last"]
    assert cached_runs.outdir_text("last.txt") == "a\nB\nc\n"


def test_a_corrupted_entry_is_recomputed_with_one_warning(cached_runs: CachedRuns) -> None:
    assert cached_runs.run(SQUARES, *_numbers(5)).code == 0
    cached_runs.ran()
    [entry] = cached_runs.manifests("work")
    cached_runs.corrupt(entry, "square.txt")

    again = cached_runs.run(SQUARES, *_numbers(5))
    assert again.code == 0, again.stderr
    assert cached_runs.ran() == ["work 5"]  # total's input is the same file: it is reused
    warnings = [line for line in again.stderr.splitlines() if "is damaged" in line]
    assert len(warnings) == 1, again.stderr
    assert "(square.txt does not match its manifest's checksum): recomputed" in warnings[0]
    assert cached_runs.outdir_text("total.txt") == "25\n"

    assert cached_runs.run(SQUARES, *_numbers(5)).code == 0
    assert cached_runs.ran() == []  # the recomputed entry replaced the damaged one


def test_two_identical_runs_at_once_are_both_correct(cached_runs: CachedRuns) -> None:
    runs = [cached_runs.start(SQUARES, *_numbers(1, 2), outdir=f"out-{i}") for i in (1, 2)]
    for run in runs:
        _, err = run.communicate(timeout=300)
        assert run.returncode == 0, err
    for i in (1, 2):
        assert cached_runs.outdir_text("total.txt", f"out-{i}") == "5\n"
    cached_runs.ran()

    third = cached_runs.run(SQUARES, *_numbers(1, 2))
    assert third.code == 0, third.stderr
    assert cached_runs.ran() == []
    assert cached_runs.outdir_text("total.txt") == "5\n"


def test_a_local_cachedir_with_a_workdir_in_the_store_exits_2_naming_it(
    tmp_path: Path,
) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "cwl_dask", "run", "--workdir", "s3://bucket/runs",
         "--cachedir", str(tmp_path / "cache"), str(PIPELINE), "--marker", "m"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert f"--cachedir {tmp_path / 'cache'} is a local folder" in proc.stderr
    assert "use a URL such as --cachedir s3://bucket/cache" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.fixture(params=["folder", "s3"])
def cached_runs(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    """:class:`CachedRuns` with a local folder, or with s3:// and isolated workers."""
    if request.param == "folder":
        return CachedRuns.with_folder(tmp_path)
    cluster = request.getfixturevalue("isolated_cluster")
    server = request.getfixturevalue("moto_server")
    bucket = request.getfixturevalue("bucket")
    area = request.getfixturevalue("driver_area") / f"area-{bucket}"
    area.mkdir()
    return CachedRuns.with_store(area, tmp_path, cluster, server, bucket)


def test_the_usage_report_and_summary_count_cache_hits_with_seconds_and_bytes_saved(
    tmp_path: Path,
) -> None:
    import json

    runs = CachedRuns.with_folder(tmp_path)
    assert runs.run(SQUARES, *_numbers(1, 2)).code == 0
    again = runs.run(SQUARES, *_numbers(1, 2, 3), "--usage-report", str(tmp_path / "u.json"))
    assert again.code == 0, again.stderr
    report = json.loads((tmp_path / "u.json").read_text())
    assert report["cache_hits"] == 2
    assert report["cache_saved_bytes"] == 4  # "1\n" and "4\n"
    work = next(s for s in report["steps"] if s["step"] == "work")
    assert (work["invocations"], work["cached"]) == (3, 2)
    assert work["saved_seconds"] > 0
    header = next(line for line in again.stderr.splitlines() if line.startswith("step "))
    assert header.split()[-2:] == ["cached", "saved"]
