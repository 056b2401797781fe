"""Worker pools per step shape (``clusters.sizing.pools``, ``plan``'s ``pools``)."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import DATA, SAMPLES
from cwl_dask.clusters.sizing import Plan, SizingOptions, plan
from cwl_dask.documents.loading import load_process

POOLS = DATA / "pools"
NDVI = SAMPLES / "eo-ndvi"


def plan_of(path: Path, job: dict | None = None, **options: float) -> Plan:
    return plan(load_process(str(path)), job, SizingOptions(**options))  # type: ignore[arg-type]


def shapes(result: Plan) -> list[tuple[float, int, int, dict, int, int, tuple[str, ...]]]:
    return [
        (p.cores, p.ram_mib, p.gpus, p.labels, p.min_workers, p.max_workers, p.steps)
        for p in result.pools
    ]


def test_a_one_core_scatter_and_a_big_gather_get_a_pool_each() -> None:
    result = plan_of(POOLS / "mixed.cwl", {"tiles": ["a", "b", "c", "d"]})
    assert shapes(result) == [
        (2, 3072, 0, {}, 0, 1, ("mosaic",)),
        (1, 512, 0, {}, 0, 4, ("crop",)),  # the scatter's width, in 1-core workers
    ]
    assert [p.waste for p in result.pools] == [0, 0]


def test_pool_waste_allows_merging_the_mixed_shapes_into_one_pool() -> None:
    # one 2-core / 3 GiB worker runs 2 crops at once: its RAM is 2/3 idle, 1/3 overall
    result = plan_of(POOLS / "mixed.cwl", {"tiles": ["a", "b", "c", "d"]}, pool_waste=0.5)
    [pool] = result.pools
    assert (pool.cores, pool.ram_mib, pool.steps) == (2, 3072, ("crop", "mosaic"))
    assert pool.waste == 0.267  # 4 crops at 1/3 idle and the mosaic at 0, weighted
    assert (pool.min_workers, pool.max_workers) == (1, 2)


def test_the_eo_sample_fits_one_pool_with_little_idle() -> None:
    from cwl_dask.clusters.sizing import load_job_order

    result = plan_of(NDVI / "app-package.cwl", load_job_order(NDVI / "params.yml"))
    [pool] = result.pools
    assert (pool.cores, pool.ram_mib, pool.gpus, pool.labels) == (2, 1024, 0, {})
    assert pool.steps == ("process/ndvi", "process/mask", "mosaic", "stac")
    assert (pool.min_workers, pool.max_workers) == (1, 2)
    assert pool.waste == 0.138


def test_pool_waste_zero_keeps_every_shape_apart() -> None:
    from cwl_dask.clusters.sizing import load_job_order

    result = plan_of(NDVI / "app-package.cwl", load_job_order(NDVI / "params.yml"), pool_waste=0)
    assert [(p.cores, p.ram_mib, p.steps) for p in result.pools] == [
        (2, 768, ("stac",)),
        (1, 1024, ("mosaic",)),
        (1, 512, ("process/ndvi",)),
        (1, 256, ("process/mask",)),
    ]


def test_a_cuda_requirement_makes_a_gpu_pool_of_its_own() -> None:
    result = plan_of(POOLS / "gpu.cwl", {})
    assert [(p.gpus, p.steps) for p in result.pools] == [(1, ("train",)), (0, ("prepare",))]
    train = next(s for s in result.steps if s.step == "train")
    assert train.gpus == 1
    assert result.spec.worker_gpus == 1


def test_a_placement_hint_makes_a_labelled_pool() -> None:
    result = plan_of(POOLS / "placement.cwl", {})
    assert [(p.labels, p.steps) for p in result.pools] == [
        ({}, ("plain",)),
        ({"pool": "highmem"}, ("placed",)),
    ]


def test_backend_limits_cap_each_pools_workers() -> None:
    result = plan_of(
        POOLS / "mixed.cwl", {"tiles": list("abcdef")}, max_worker_memory_mib=2560, max_workers=3
    )
    assert [(p.ram_mib, p.max_workers) for p in result.pools] == [(2560, 1), (512, 3)]


def test_plan_json_has_the_pools(cwl_dask) -> None:
    result = cwl_dask("plan", "--json", POOLS / "mixed.cwl", POOLS / "mixed.yml")
    assert result.code == 0, result.stderr
    pools = json.loads(result.stdout)["pools"]
    assert [
        {k: p[k] for k in ("cores", "ram_mib", "gpus", "labels", "min_workers", "max_workers")}
        for p in pools
    ] == [
        {"cores": 2, "ram_mib": 3072, "gpus": 0, "labels": {}, "min_workers": 0, "max_workers": 1},
        {"cores": 1, "ram_mib": 512, "gpus": 0, "labels": {}, "min_workers": 0, "max_workers": 4},
    ]
    assert [p["steps"] for p in pools] == [["mosaic"], ["crop"]]


def test_plan_prints_one_line_per_pool(cwl_dask) -> None:
    result = cwl_dask("plan", POOLS / "mixed.cwl", POOLS / "mixed.yml")
    assert result.code == 0, result.stderr
    assert "2cpu-3072mib: workers of 2 cores, 3072 MiB; 0-1 workers; 0% idle; steps mosaic" in (
        result.stdout
    )
    assert "1cpu-512mib: workers of 1 core, 512 MiB; 0-4 workers" in result.stdout


def test_the_usage_report_says_what_the_workers_held(cwl_dask, tmp_path: Path) -> None:
    job = tmp_path / "job.yml"
    job.write_text("tiles: [a, b]\npause: 2.5\n")
    usage = tmp_path / "usage.json"
    result = cwl_dask(
        "run", "--no-container", "--usage-report", usage, "--cores", "2", "--memory", "4GiB",
        "--outdir", "out", POOLS / "mixed.cwl", job,
    )  # fmt: skip
    assert result.code == 0, result.stderr
    held = json.loads(usage.read_text())["held"]
    [cluster] = held["clusters"]  # the local cluster: one worker of 2 cores, 4096 MiB
    assert cluster["max_workers_seen"] == 1
    # held for the whole run (> 2.5 s of crops): at least 2 cores x 2.5 s, and 4096 MiB x 2.5 s
    assert held["worker_core_seconds"] >= 5
    assert held["worker_ram_mib_seconds"] >= 4096 * 2.5
