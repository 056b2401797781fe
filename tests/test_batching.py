"""Short invocations of one step fused into fewer Dask tasks on the local cluster."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import dask.config
from dask.utils import key_split
from distributed.diagnostics.plugin import SchedulerPlugin

from conftest import DATA
from cwl_dask.clusters import LocalBackend
from cwl_dask.driver.batching import BatchPolicy
from cwl_dask.driver.launch import RunRequest, run_captured
from cwl_dask.observe.events import RunObserver


def test_a_scatter_narrower_than_two_tasks_per_slot_round_is_not_batched() -> None:
    policy = BatchPolicy(max_size=64, tasks_per_slot=4)
    assert policy.size(8, slots=2, seconds=0.01) == 1
    assert policy.size(15, slots=2, seconds=0.01) == 1
    assert policy.size(16, slots=2, seconds=0.01) == 2


def test_batches_are_capped_and_batching_can_be_turned_off() -> None:
    assert BatchPolicy(max_size=64, tasks_per_slot=4).size(10000, slots=2, seconds=0.01) == 64
    assert not BatchPolicy(max_size=1).enabled


def test_a_batch_holds_at_most_max_seconds_of_work_and_a_slow_step_is_never_batched() -> None:
    policy = BatchPolicy(max_size=64, tasks_per_slot=4, max_seconds=2.0)
    assert policy.size(10000, slots=2, seconds=0.5) == 4
    assert policy.size(10000, slots=2, seconds=3.0) == 1


def test_the_local_cluster_runs_as_many_invocations_as_cores_ram_and_threads_allow() -> None:
    backend = LocalBackend(cores=4, memory_mib=1000)
    assert backend.parallel_slots({"cores": 1, "ram": 100}) == 4
    assert backend.parallel_slots({"cores": 1, "ram": 400}) == 2
    assert backend.parallel_slots({"cores": 0.5, "ram": 1}) == 8  # the worker's 8 threads


class TaskKeys(SchedulerPlugin):
    """Records the keys of the tasks the (in-process) scheduler saw finish."""

    def __init__(self) -> None:
        self.keys: set[str] = set()

    def transition(self, key: Any, start: str, finish: str, *args: Any, **kwargs: Any) -> None:
        if finish == "memory":
            self.keys.add(str(key))


class CountingBackend(LocalBackend):
    def __init__(self) -> None:
        super().__init__(cores=1, memory_mib=2048)
        self.tasks = TaskKeys()

    def connect(self) -> Any:
        client = super().connect()
        self.cluster.scheduler.add_plugin(self.tasks)  # in-process scheduler: this very object
        return client


class Progress(RunObserver):
    """What a progress display hears: expected totals and each invocation's start."""

    def __init__(self) -> None:
        self.starts: list[str] = []
        self.totals: dict[str, int] = {}

    def started(self, name: str, step: str) -> None:
        self.starts.append(name)

    def expected(self, totals: dict[str, int]) -> None:
        self.totals = totals


def _run_scatter(tmp_path: Path, words: list[str], progress: RunObserver) -> Any:
    job = tmp_path / "job.json"
    job.write_text(json.dumps({"words": words}))
    backend = CountingBackend()
    result = run_captured(
        RunRequest(
            workflow=str(DATA / "scatter-echo.cwl"),
            backend=backend,
            job_args=[str(job)],
            outdir=str(tmp_path / "out"),
            workdir=str(tmp_path / "work"),
            container="none",
            quiet=True,
            logs_dir=str(tmp_path / "logs"),
            observer=progress,
        )
    )
    step_tasks = [k for k in backend.tasks.keys if key_split(k) == "shout"]
    return result, step_tasks


def test_a_wide_scatter_of_short_jobs_runs_in_fewer_tasks_with_every_invocation_recorded(
    tmp_path: Path,
) -> None:
    words = [f"w{i:02d}" for i in range(24)]
    progress = Progress()
    result, step_tasks = _run_scatter(tmp_path, words, progress)
    assert result.code == 0
    assert result.output is not None
    files = result.output["files"]
    assert [f["basename"] for f in files] == [f"{w}.txt" for w in words]
    assert [Path(f["path"]).read_text() for f in files] == [f"{w}\n" for w in words]
    names = sorted(r.name for r in result.records)
    assert len(set(names)) == 24 and {r.status for r in result.records} == {"success"}
    assert all(Path(r.log_path).exists() for r in result.records)
    # 1 slot (1 core): the step's first invocation alone (how long does one take?), then 4
    # tasks per slot: the other 23 -> 5 per task, 5 tasks; all named for the step.
    assert len(step_tasks) == 6
    # Progress sees every invocation start (not one per task) and the scatter's width.
    assert sorted(progress.starts) == names
    assert progress.totals == {"shout": 24}


def test_a_step_whose_invocations_outlast_max_seconds_runs_one_invocation_per_task(
    tmp_path: Path,
) -> None:
    words = [f"w{i:02d}" for i in range(24)]
    with dask.config.set({"cwl-dask.batch.max-seconds": 0.001}):  # any tool takes longer
        result, step_tasks = _run_scatter(tmp_path, words, RunObserver())
    assert result.code == 0 and len(result.records) == 24
    assert len(step_tasks) == 24
