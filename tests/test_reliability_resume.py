"""--cachedir: a rerun after a fix runs only the broken step and what depends on it."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import DATA

PIPELINE = DATA / "reliability" / "pipeline.cwl"


def test_rerun_with_cachedir_runs_only_the_broken_step_and_its_downstream(
    cwl_dask, tmp_path: Path
) -> None:
    cache, marker = tmp_path / "cache", tmp_path / "ran.txt"

    def run(*extra: str):
        return cwl_dask(
            "run", "--no-container", "--cachedir", cache, "--outdir", tmp_path / "out",
            "--overwrite", PIPELINE, "--marker", marker, *extra,
        )  # fmt: skip

    broken = run("--broken", "4")
    assert broken.code == 1
    assert marker.read_text().split() == ["first", "middle"]

    fixed = run()
    assert fixed.code == 0, fixed.stderr
    assert marker.read_text().split() == ["first", "middle", "middle", "last"]
    assert (tmp_path / "out" / "last.txt").read_text() == "a\nb\nc\n"

    again = run()
    assert again.code == 0, again.stderr
    assert marker.read_text().split() == ["first", "middle", "middle", "last"]
    assert again.output()["result"]["checksum"] == fixed.output()["result"]["checksum"]
    # cached results are copied to --outdir, never moved out of the cache
    assert list(cache.glob("*/*/last.txt"))


@pytest.fixture
def isolated_worker(tmp_path: Path):
    """test_gateway_backend's scheduler with one worker that has a private tmpfs."""
    from test_gateway_backend import isolated_worker as fixture

    yield from fixture.__wrapped__(tmp_path)


def test_cachedir_the_workers_cannot_see_exits_2_naming_it(
    isolated_worker, cwl_dask, tmp_path: Path
) -> None:
    address, hidden = isolated_worker
    result = cwl_dask(
        "run", "--no-container", "--scheduler", address, "--workdir", tmp_path / "work",
        "--cachedir", hidden, PIPELINE, "--marker", tmp_path / "ran.txt", timeout=120,
    )  # fmt: skip
    assert result.code == 2, result.stderr
    assert f"the cache {hidden} is not shared with the workers" in result.stderr
    assert "put --cachedir on storage that every worker mounts" in result.stderr
    assert not (tmp_path / "ran.txt").exists()
