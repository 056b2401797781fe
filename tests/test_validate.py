"""``cwl-dask validate``: cwltool's verdict plus a one-screen summary."""

from __future__ import annotations

from pathlib import Path

from conftest import SAMPLES


def test_summary_lists_steps_scatter_and_requirements(cwl_dask) -> None:
    result = cwl_dask("validate", SAMPLES / "eo-ndvi" / "app-package.cwl")
    assert result.code == 0, result.stderr
    for text in ("Workflow main", "scatter over", "ResourceRequirement", "mosaic", "stac"):
        assert text in result.stdout


def test_invalid_document_exits_nonzero_with_cwltools_message(cwl_dask, tmp_path: Path) -> None:
    broken = tmp_path / "broken.cwl"
    broken.write_text("cwlVersion: v1.2\nclass: Workflow\ninputs: []\noutputs: []\n")
    result = cwl_dask("validate", broken)
    assert result.code == 2
    assert "steps" in result.stderr
    assert "Traceback" not in result.stderr
