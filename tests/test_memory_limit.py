"""``ramMax`` enforced for the tool process (``worker/memory_limit.py``, the guard)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import DATA
from cwl_dask.worker.memory_limit import out_of_memory

HOG = DATA / "pools" / "hog.cwl"


def test_a_tool_over_its_ram_max_ran_out_of_memory(cwl_dask, tmp_path: Path) -> None:
    result = cwl_dask("run", "--no-container", "--no-progress", "--outdir", "out", HOG)
    assert result.code == 1, result.stderr
    assert "failed (hog.cwl, permanentFail, exit code 1): ran out of memory (ramMax 64 MiB)" in (
        result.stderr
    )
    assert "MemoryError" in result.stderr  # the tool's own words, in its log's last lines


@pytest.mark.parametrize(
    ("package", "words"),
    [
        ("hog-perl.cwl", "Out of memory!"),
        ("hog-node.cwl", "RangeError: Array buffer allocation failed"),
    ],
)
def test_a_tool_over_its_ram_max_ran_out_of_memory_whatever_its_language_says(
    cwl_dask, tmp_path: Path, package: str, words: str
) -> None:
    result = cwl_dask("run", "--no-container", "--no-progress", "--outdir", "out",
                      DATA / "pools" / package)  # fmt: skip
    assert result.code == 1, result.stderr
    assert "ran out of memory (ramMax" in result.stderr
    assert words in result.stderr


def test_a_tool_using_more_than_its_worker_has_is_named_in_a_warning(
    cwl_dask, tmp_path: Path
) -> None:
    result = cwl_dask("run", "--no-container", "--no-progress", "--memory", "256MiB",
                      "--outdir", "out", DATA / "pools" / "over-the-worker.cwl")  # fmt: skip
    assert result.code == 0, result.stderr  # not stopped: nothing said how much it may use
    assert "step 'over-the-worker.cwl' (over-the-worker.cwl): the tool used 4" in result.stderr
    assert "more than the RAM its worker has (256 MiB)" in result.stderr
    assert "give the step a ramMax" in result.stderr


def test_a_tool_using_more_than_its_workers_memory_limit_is_named_in_a_warning(
    cwl_dask, tmp_path: Path
) -> None:
    from realcluster import RealCluster

    cluster = RealCluster(tmp_path / "cluster", nthreads=1, memory_limit="600MiB")
    try:
        result = cwl_dask("run", "--no-container", "--no-progress", "--scheduler",
                          cluster.address, "--outdir", "out",
                          DATA / "pools" / "over-the-worker.cwl", "--allocate", "800")  # fmt: skip
    finally:
        cluster.close()
    assert result.code == 0, result.stderr
    assert "more than its worker's memory limit (600 MiB)" in result.stderr


def test_a_tool_within_what_its_worker_has_gets_no_memory_warning(cwl_dask, tmp_path: Path) -> None:
    result = cwl_dask("run", "--no-container", "--no-progress", "--memory", "1GiB",
                      "--outdir", "out", DATA / "pools" / "over-the-worker.cwl")  # fmt: skip
    assert result.code == 0, result.stderr
    assert "at its peak" not in result.stderr


def test_a_tool_within_its_ram_max_runs(cwl_dask, tmp_path: Path) -> None:
    result = cwl_dask(
        "run", "--no-container", "--outdir", "out", HOG, "--allocate", "100", "--limit", "256"
    )
    assert result.code == 0, result.stderr
    assert "ran out of memory" not in result.stderr


def test_without_an_explicit_ram_max_nothing_is_limited(cwl_dask, tmp_path: Path) -> None:
    result = cwl_dask("run", "--no-container", "--outdir", "out", DATA / "pools" / "no-ram-max.cwl")
    assert result.code == 0, result.stderr  # 200 MiB with ramMin 32: ramMax = ramMin, unused


@pytest.mark.parametrize(
    ("code", "tail", "expected"),
    [
        (137, [], True),  # the OOM killer's SIGKILL
        (1, ["Traceback (most recent call last):", "MemoryError"], True),
        (1, ["gdal: Cannot allocate memory"], True),
        (1, ["terminate called after throwing an instance of 'std::bad_alloc'"], True),
        (12, ["Out of memory!"], True),  # perl
        (1, ["RangeError: Array buffer allocation failed"], True),  # node
        (-9, [], True),  # SIGKILL, as subprocess reports it
        (1, ["ValueError: bad input"], False),
        (0, ["MemoryError"], False),
    ],
)
def test_out_of_memory_is_told_by_exit_137_or_the_tools_last_words(
    code: int, tail: list[str], expected: bool
) -> None:
    assert out_of_memory(code, tail) is expected


def test_out_of_memory_is_told_by_a_peak_that_reached_the_limit() -> None:
    assert out_of_memory(1, ["segmentation fault"], peak_mib=62.0, limit_mib=64.0)
    assert not out_of_memory(1, ["segmentation fault"], peak_mib=20.0, limit_mib=64.0)
