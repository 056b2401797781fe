"""``--scheduler``: a run on a Dask scheduler the test starts, with real worker processes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from dask.utils import key_split
from distributed import LocalCluster
from distributed.diagnostics.plugin import SchedulerPlugin

from conftest import DATA, SAMPLES


class Recorder(SchedulerPlugin):
    """Remembers every task that started, with the resources it was annotated with."""

    def __init__(self, scheduler) -> None:
        self.scheduler = scheduler
        self.started: list[tuple[str, dict[str, float]]] = []

    def transition(self, key, start, finish, *args, **kwargs) -> None:
        if finish == "processing" and key_split(key) != "ToolPackage":  # tool tasks only
            task = self.scheduler.tasks[key]
            self.started.append((key_split(key), dict(task.resource_restrictions or {})))


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    with LocalCluster(
        n_workers=1,
        threads_per_worker=4,
        processes=True,
        resources={"cores": 2, "ram": 4096},
        dashboard_address=":0",
    ) as running:
        yield running


@pytest.fixture
def recorder(cluster: LocalCluster) -> Iterator[Recorder]:
    plugin = Recorder(cluster.scheduler)
    cluster.scheduler.add_plugin(plugin, name="recorder")
    yield plugin
    cluster.scheduler.remove_plugin(name="recorder")


def test_task_keys_carry_the_step_names(cluster, recorder, cwl_dask, tmp_path: Path) -> None:
    app = SAMPLES / "eo-ndvi"
    result = cwl_dask(
        "run",
        "--no-container",
        "--scheduler",
        cluster.scheduler_address,
        "--outdir",
        tmp_path,
        app / "app-package.cwl",
        app / "params.yml",
    )
    assert result.code == 0, result.stderr
    assert {"ndvi", "mask", "mosaic", "stac"} <= {name for name, _ in recorder.started}


def test_tasks_are_annotated_with_the_steps_resource_requirement(
    cluster, recorder, cwl_dask, tmp_path: Path
) -> None:
    result = cwl_dask(
        "run",
        "--no-container",
        "--scheduler",
        cluster.scheduler_address,
        "--outdir",
        tmp_path,
        DATA / "scatter-echo.cwl",
    )
    assert result.code == 0, result.stderr
    assert {name: res for name, res in recorder.started} == {"shout": {"cores": 1, "ram": 100}}


def test_each_scatter_element_is_one_task(cluster, recorder, cwl_dask, tmp_path: Path) -> None:
    result = cwl_dask(
        "run",
        "--no-container",
        "--scheduler",
        cluster.scheduler_address,
        "--outdir",
        tmp_path,
        DATA / "scatter-echo.cwl",
    )
    assert result.code == 0, result.stderr
    assert [f["basename"] for f in result.output()["files"]] == [
        "alpha.txt",
        "beta.txt",
        "gamma.txt",
    ]
    assert [name for name, _ in recorder.started] == ["shout"] * 3


def test_request_no_worker_can_meet_fails_fast_naming_the_step(cluster, cwl_dask) -> None:
    result = cwl_dask(
        "run",
        "--no-container",
        "--scheduler",
        cluster.scheduler_address,
        DATA / "greedy.cwl",
        timeout=60,
    )
    assert result.code == 2
    assert "step 'hog' asks for 64 cores" in result.stderr
    assert "Traceback" not in result.stderr


def test_unreachable_scheduler_exits_2_with_the_address(cwl_dask) -> None:
    result = cwl_dask(
        "run",
        "--no-container",
        "--scheduler",
        "tcp://127.0.0.1:9",
        SAMPLES / "hello" / "hello.cwl",
        timeout=60,
    )
    assert result.code == 2
    assert "tcp://127.0.0.1:9" in result.stderr
    assert "Traceback" not in result.stderr
