"""Which process of a ``$graph`` runs: ``#main``, else the first Workflow, or ``--entry``."""

from __future__ import annotations

from pathlib import Path

from conftest import DATA

PACKAGE = DATA / "graph-no-main.cwl"


def test_graph_without_main_runs_its_first_workflow_and_says_so(cwl_dask, tmp_path: Path) -> None:
    result = cwl_dask("run", "--no-container", "--outdir", tmp_path, PACKAGE)
    assert result.code == 0, result.stderr
    assert "running #water-bodies" in result.stderr
    assert (tmp_path / "shout.txt").read_text() == "from-the-workflow\n"


def test_entry_picks_another_process(cwl_dask, tmp_path: Path) -> None:
    result = cwl_dask(
        "run", "--no-container", "--outdir", tmp_path, "--entry", "shout", PACKAGE, "--word", "hi"
    )
    assert result.code == 0, result.stderr
    assert (tmp_path / "shout.txt").read_text() == "hi\n"


def test_unknown_entry_exits_2_listing_the_processes(cwl_dask) -> None:
    result = cwl_dask("run", "--no-container", "--entry", "nope", PACKAGE)
    assert result.code == 2
    assert "#shout (CommandLineTool), #water-bodies (Workflow)" in result.stderr
    assert "Traceback" not in result.stderr
