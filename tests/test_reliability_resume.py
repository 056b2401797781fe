"""--cachedir: a rerun after a fix runs only the broken step and what depends on it."""

from __future__ import annotations

from pathlib import Path

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
    assert list(cache.glob("*/last.txt"))
