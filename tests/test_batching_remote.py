"""Short invocations fused into fewer tasks on remote clusters, sized from their workers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import DATA
from cwl_dask.clusters import (
    ClusterClassBackend,
    GatewayBackend,
    LocalBackend,
    SchedulerBackend,
    WorkerShape,
)
from cwl_dask.clusters.pooled import PooledBackend
from cwl_dask.clusters.slots import slots_of
from cwl_dask.driver.launch import RunRequest, run_captured
from cwl_dask.observe.events import RunObserver
from realcluster import RealCluster


def test_a_workers_slots_are_its_threads_unless_its_declared_resources_allow_fewer() -> None:
    workers = [
        {"nthreads": 4, "resources": {"cores": 2, "ram": 4096}},
        {"nthreads": 2, "resources": {"cores": 8, "ram": 1024}},
    ]
    assert slots_of(workers, {"cores": 1, "ram": 100}) == 2 + 2
    assert slots_of(workers, {"cores": 1, "ram": 1024}) == 2 + 1
    assert slots_of(workers, None) == 6  # no request: every thread


def test_a_worker_without_the_requested_resource_has_no_slot() -> None:
    assert slots_of([{"nthreads": 4, "resources": {}}], {"cores": 1, "ram": 100}) == 0


def test_an_adaptive_gateway_cluster_plans_its_maximum_workers_of_its_shape() -> None:
    backend = GatewayBackend(
        "http://gateway.invalid", worker_cores=2, worker_memory_mib=2048, maximum=3
    )
    planned = backend.planned_workers()
    assert planned == [WorkerShape(2, 2048).planned()] * 3
    assert slots_of(planned, {"cores": 1, "ram": 512}) == 6


def test_a_reused_gateway_cluster_plans_nothing_its_size_is_not_ours() -> None:
    backend = GatewayBackend("http://gateway.invalid", cluster_name="theirs", maximum=3)
    assert backend.planned_workers() == []


def test_a_gpu_worker_plans_its_gpus_as_a_resource() -> None:
    assert WorkerShape(4, 8192, gpus=1).planned()["resources"] == {
        "cores": 4,
        "ram": 8192,
        "gpu": 1,
    }


def test_pooled_clusters_batch_by_the_slots_of_the_pool_a_request_goes_to() -> None:
    small, big = LocalBackend(cores=1, memory_mib=1024), LocalBackend(cores=4, memory_mib=8192)
    pools = PooledBackend([((), small), ((), big)])
    assert pools.parallel_slots({"cores": 1, "ram": 256}) == 1  # the small pool fits it
    assert pools.parallel_slots({"cores": 1, "ram": 2048}) == 4  # only the big one does


def _sized_factory(worker_cores: float, worker_memory_mib: float) -> None:
    """A factory that names the worker shape (never called here)."""


def _shapeless_factory() -> None:
    """A factory whose workers' shape cwl-dask does not know (never called here)."""


def test_a_factory_cluster_plans_maximum_workers_only_when_it_was_given_their_shape() -> None:
    sized = ClusterClassBackend(_sized_factory, worker_cores=1, worker_memory_mib=1024, maximum=5)
    assert sized.planned_workers() == [WorkerShape(1, 1024).planned()] * 5
    assert ClusterClassBackend(_shapeless_factory, maximum=5).planned_workers() == []


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealCluster]:
    """A ``dask scheduler`` and 2 ``dask worker`` processes of 1 core, 2 threads each."""
    cluster = RealCluster(
        tmp_path_factory.mktemp("two-workers"),
        workers=2,
        nthreads=2,
        resources="cores=1,ram=1024",
        name="batch-test",
    )
    yield cluster
    cluster.close()


def _finished_tasks(address: str, prefix: str) -> int:
    """Tasks of ``prefix`` the scheduler has seen finish (it counts them per key prefix)."""
    from distributed import Client

    def count(dask_scheduler, prefix: str = prefix) -> int:  # type: ignore[no-untyped-def]
        found = dask_scheduler.task_prefixes.get(prefix)
        return 0 if found is None else int(found.state_counts["memory"])

    with Client(address, timeout=10) as client:
        return int(client.run_on_scheduler(count))


def test_a_wide_scatter_on_a_real_scheduler_runs_in_batches_sized_for_its_workers(
    tmp_path: Path, two_workers: RealCluster
) -> None:
    words = [f"w{i:02d}" for i in range(48)]
    job = tmp_path / "job.json"
    job.write_text(json.dumps({"words": words}))
    before = _finished_tasks(two_workers.address, "shout")
    result = run_captured(
        RunRequest(
            workflow=str(DATA / "scatter-echo.cwl"),
            backend=SchedulerBackend(two_workers.address),
            job_args=[str(job)],
            outdir=str(tmp_path / "out"),
            workdir=str(tmp_path / "work"),
            container="none",
            quiet=True,
            logs_dir=str(tmp_path / "logs"),
        )
    )
    assert result.code == 0
    assert result.output is not None
    files = result.output["files"]
    assert [Path(f["path"]).read_text() for f in files] == [f"{w}\n" for w in words]
    assert len({r.name for r in result.records}) == 48
    assert {r.status for r in result.records} == {"success"}
    assert all(Path(r.log_path).exists() for r in result.records)
    # 2 workers x 1 slot (1 core each for coresMin 1): one invocation alone per slot, then
    # 4 tasks per slot: the other 46 -> 5 per task, 10 tasks.
    assert _finished_tasks(two_workers.address, "shout") - before == 2 + 10


class AdaptiveFactory:
    """Makes a real LocalCluster with no worker yet; cwl-dask makes it adaptive."""

    def __init__(self) -> None:
        self.cluster: Any = None

    def __call__(self, worker_cores: float, worker_memory_mib: float) -> Any:
        from distributed import LocalCluster

        self.cluster = LocalCluster(
            n_workers=0,
            threads_per_worker=2,
            processes=False,
            resources={"cores": worker_cores, "ram": worker_memory_mib},
            memory_limit=0,
            dashboard_address=":0",
        )
        return self.cluster


class StepTasks(RunObserver):
    """Counts, as the run ends, the tasks of step ``shout`` the in-process scheduler ran."""

    def __init__(self, factory: AdaptiveFactory) -> None:
        self.factory = factory
        self.tasks = 0

    def run_ended(self) -> None:
        prefix = self.factory.cluster.scheduler.task_prefixes.get("shout")
        self.tasks = 0 if prefix is None else int(prefix.state_counts["memory"])


def test_an_adaptive_cluster_without_workers_yet_is_batched_for_its_maximum(
    tmp_path: Path,
) -> None:
    words = [f"w{i:02d}" for i in range(48)]
    job = tmp_path / "job.json"
    job.write_text(json.dumps({"words": words}))
    factory = AdaptiveFactory()
    backend = ClusterClassBackend(factory, worker_cores=1, worker_memory_mib=1024, maximum=2)
    tasks = StepTasks(factory)
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
            observer=tasks,
        )
    )
    assert result.code == 0
    assert {r.status for r in result.records} == {"success"} and len(result.records) == 48
    # Planned: 2 workers x 1 slot (the cluster had 0 workers): 2 alone, then 46 in 10 tasks.
    assert tasks.tasks == 2 + 10
