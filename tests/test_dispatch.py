"""How invocations travel as Dask tasks: what a task carries, and when the driver lets go of a
finished one (issue 30: the latency of a dependent step).

Observed on the scheduler of a real in-process LocalCluster, through a scheduler plugin that
records, in the scheduler's order, the graphs the driver submits and the tasks it releases.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dask.utils import key_split
from distributed import Client, LocalCluster
from distributed.diagnostics.plugin import SchedulerPlugin

import cwl_dask

DATA = Path(__file__).resolve().parent / "data"
PIPELINE = DATA / "reliability" / "pipeline.cwl"  # first -> middle -> last
SCATTER = DATA / "scatter-echo.cwl"


class Journal(SchedulerPlugin):
    """("submitted", key) for each key of each graph, ("released", key) when the client let
    go of a finished task, in the order the scheduler saw them."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []

    def update_graph(self, scheduler: Any, *, keys: Any = (), **kwargs: Any) -> None:
        self.events.extend(("submitted", str(key)) for key in keys)

    def transition(self, key: Any, start: str, finish: str, *args: Any, **kwargs: Any) -> None:
        if start == "memory" and finish in ("released", "forgotten"):
            self.events.append(("released", str(key)))

    def keys(self, step: str) -> list[str]:
        return [k for what, k in self.events if what == "submitted" and key_split(k) == step]

    def index(self, event: tuple[str, str]) -> int:
        return self.events.index(event)


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    with LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=":0"
    ) as running:
        yield running


@pytest.fixture
def journal(cluster: LocalCluster) -> Iterator[Journal]:
    plugin = Journal()
    cluster.scheduler.add_plugin(plugin, name="journal")
    yield plugin
    cluster.scheduler.remove_plugin(name="journal")


def _run(cluster: LocalCluster, workflow: Path, inputs: dict[str, Any], outdir: Path) -> None:
    with Client(cluster) as client:
        result = cwl_dask.run(workflow, inputs, client=client, outdir=outdir, container="none")
    assert result.ok


def test_a_tool_run_once_travels_inside_its_task(cluster, journal, tmp_path: Path) -> None:
    """No task holding a step's document is submitted before a chain's step: each step's
    one task carries it, so the step starts without waiting for another task first."""
    _run(cluster, PIPELINE, {"marker": str(tmp_path / "marker")}, tmp_path / "out")
    assert [len(journal.keys(step)) for step in ("first", "middle", "last")] == [1, 1, 1]
    assert journal.keys("ToolPackage") == []


def test_a_scattered_tools_document_is_held_by_one_task(cluster, journal, tmp_path) -> None:
    """From a tool's second invocation on, its document is sent once and shared by future."""
    words = [f"w{i}" for i in range(6)]
    _run(cluster, SCATTER, {"words": words}, tmp_path / "out")
    assert len(journal.keys("ToolPackage")) == 1
    assert len(journal.keys("shout")) >= 2


def test_a_finished_task_is_released_after_the_step_it_enabled_is_submitted(
    cluster, journal, tmp_path: Path
) -> None:
    """Releasing a task is a message to the scheduler too: it follows the submission of the
    next step, which it would otherwise hold back on Dask's batched client stream."""
    _run(cluster, PIPELINE, {"marker": str(tmp_path / "marker")}, tmp_path / "out")
    for done, enabled in (("first", "middle"), ("middle", "last")):
        (done_key,), (enabled_key,) = journal.keys(done), journal.keys(enabled)
        released = journal.index(("released", done_key))
        assert journal.index(("submitted", enabled_key)) < released
