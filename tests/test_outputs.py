"""Final outputs reach --outdir intact: same-named scattered directories are kept apart."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import DATA
from cwl_dask.driver.relocation import unique_name
from cwl_dask.eo.stac import inspect_catalog

WORKFLOW = DATA / "scatter-same-dirname.cwl"


def test_unique_name_numbers_from_two() -> None:
    assert unique_name("result", set()) == "result"
    assert unique_name("result", {"result"}) == "result_2"
    assert unique_name("result", {"result", "result_2"}) == "result_3"


def test_scattered_directories_with_one_basename_are_numbered_in_scatter_order(
    cwl_dask, tmp_path: Path
) -> None:
    outdir = tmp_path / "out"
    result = cwl_dask(
        "run", "--no-container", "--stac", "--outdir", outdir, WORKFLOW,
        "--names", "a", "--names", "b", "--names", "c",
    )  # fmt: skip
    assert result.code == 0, result.stderr
    results = result.output()["results"]
    assert [d["basename"] for d in results] == ["result", "result_2", "result_3"]
    for directory, name in zip(results, "abc", strict=True):
        path = Path(directory["path"])
        assert path == outdir / directory["basename"]
        catalog = json.loads((path / "catalog.json").read_text())
        assert catalog["id"] == f"catalog-{name}"
        assert (path / f"item-{name}" / "data.txt").read_text() == f"{name}\n"
        summary = inspect_catalog(path / "catalog.json")  # every href resolves where it is now
        assert [item.id for item in summary.items] == [f"item-{name}"]
    outputs = sorted(p.name for p in outdir.iterdir() if p.name != ".cwl-dask")  # logs
    assert outputs == ["result", "result_2", "result_3"]


def test_cwltool_merges_them_and_fails(cwltool, tmp_path: Path) -> None:
    """The reference runner's behaviour this works around (cwltool 3.3): keep it visible."""
    result = cwltool(
        "--outdir", tmp_path / "out", WORKFLOW, "--names", "a", "--names", "b"
    )  # fmt: skip
    assert not result.stdout.strip()  # no output object (cwltool even exits 0 here)
    assert "catalog.json_2" in result.stderr
