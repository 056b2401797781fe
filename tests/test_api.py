"""The public Python API: ``cwl_dask.run`` and ``cwl_dask.submit``, as a notebook uses them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import cwl_dask
from conftest import SAMPLES
from cwl_dask.errors import InvalidInputError, StepFailed

HELLO = SAMPLES / "hello" / "hello.cwl"
PATTERNS = SAMPLES / "patterns"
BROKEN = Path(__file__).resolve().parent / "data" / "zoo" / "broken.cwl"


@pytest.fixture(scope="module")
def client():
    """A user's own Client on a LocalCluster, opened before and closed after the runs."""
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=1, threads_per_worker=2, processes=False)
    with cluster, Client(cluster) as user_client:
        yield user_client


def test_run_takes_the_inputs_as_a_dict(tmp_path: Path) -> None:
    result = cwl_dask.run(HELLO, {"message": "from a dict"}, outdir=tmp_path, container="none")
    assert result.ok and result.status == "success"
    out = Path(result.outputs["hello"]["path"])
    assert out.parent == tmp_path and out.read_text().strip() == "from a dict"
    assert [r.step for r in result.records] == ["hello"]


def test_run_takes_the_inputs_as_a_job_file(tmp_path: Path) -> None:
    result = cwl_dask.run(
        HELLO, SAMPLES / "hello" / "params.yml", outdir=tmp_path, container="none"
    )
    assert result.ok and Path(result.outputs["hello"]["path"]).exists()


def test_relative_paths_of_a_dict_are_relative_to_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(PATTERNS)
    inputs = {
        "scene": {"class": "Directory", "location": "data/scene-a"},
        "series": [{"class": "Directory", "location": "data/series-1"}],
    }
    result = cwl_dask.run(PATTERNS / "app-package.cwl", inputs, outdir=tmp_path, container="none")
    assert result.ok
    assert set(result.stac) == {"scene_catalog", "series_catalogs"}
    (catalog,) = result.stac["scene_catalog"]
    assert [item.id for item in catalog.get_items(recursive=True)]


def test_a_users_client_runs_the_tasks_and_stays_open(client, tmp_path: Path) -> None:
    result = cwl_dask.run(
        HELLO, {"message": "hi"}, client=client, outdir=tmp_path, container="none"
    )
    assert result.ok
    assert client.submit(sum, [1, 2]).result() == 3  # still usable afterwards
    assert result.records[0].step == "hello"


def test_two_submits_run_at_once_on_one_client(client, tmp_path: Path) -> None:
    first = cwl_dask.submit(
        HELLO, {"message": "one"}, client=client, outdir=tmp_path / "1", container="none"
    )
    second = cwl_dask.submit(
        PATTERNS / "app-package.cwl",
        PATTERNS / "params.yml",
        client=client,
        outdir=tmp_path / "2",
        container="none",
    )
    one, two = first.result(timeout=240), second.result(timeout=240)
    assert Path(one.outputs["hello"]["path"]).read_text().strip() == "one"
    assert two.ok and two.outputs["series_mean"] == pytest.approx(two.outputs["series_mean"])
    assert {r.step for r in two.records} >= {"scene_stats", "series_stats"}
    assert "hello" not in {r.step for r in two.records}  # each run has its own records


def test_a_failing_package_raises_step_failed_naming_the_step(tmp_path: Path) -> None:
    with pytest.raises(StepFailed, match="explode"):
        cwl_dask.run(f"{BROKEN}#broken", {"message": "x"}, outdir=tmp_path, container="none")


def test_check_false_returns_the_failed_result(tmp_path: Path) -> None:
    result = cwl_dask.run(
        f"{BROKEN}#broken", {"message": "x"}, outdir=tmp_path, container="none", check=False
    )
    assert result.status == "permanentFail" and result.outputs is None
    assert "explode" in (result.error or "")


def test_an_unknown_option_is_refused_with_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match=r"unknown option.*retry_tools.*retry_tool"):
        cwl_dask.run(HELLO, {"message": "x"}, outdir=tmp_path, retry_tools=2)


def test_the_usage_report_counts_the_invocations(tmp_path: Path) -> None:
    result = cwl_dask.run(HELLO, {"message": "x"}, outdir=tmp_path, container="none")
    assert result.usage["total_tasks"] == 1
    assert json.dumps(result.usage)  # JSON as report.json
