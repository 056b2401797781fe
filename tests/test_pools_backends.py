"""One created cluster per worker pool: a real dask-gateway-server and ``--cluster``."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from conftest import DATA, eventually
from cwl_dask.clusters import GatewayBackend, PooledBackend, WorkerShape
from cwl_dask.clusters.placement import as_request
from cwl_dask.errors import UnsatisfiableRequest

MIXED = DATA / "pools" / "mixed.cwl"
ALL_STATUSES = ["pending", "running", "stopping", "stopped", "failed"]

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


def _names(gateway_client: Any, status: Any = None) -> set[str]:
    return {report.name for report in gateway_client.list_clusters(status=status)}


def _text(output: bytes | str | None) -> str:
    return output.decode(errors="replace") if isinstance(output, bytes) else output or ""


def _job(tmp_path: Path, pause: float) -> Path:
    job = tmp_path / "job.yml"
    job.write_text(f"tiles: [a, b, c, d]\npause: {pause}\n")
    return job


def test_mixed_shapes_get_one_gateway_cluster_per_pool_during_the_run_and_none_after(
    gateway_server, gateway_client, gateway_env, tmp_path: Path
) -> None:
    before = _names(gateway_client, ALL_STATUSES)
    command = [sys.executable, "-m", "cwl_dask", "run", "--no-container", "--no-progress"]
    command += ["--gateway", gateway_server.url, "--gateway-auth", "basic", "--max-workers", "2"]
    command += ["--workdir", str(tmp_path / "work"), "--outdir", str(tmp_path / "out")]
    run = subprocess.Popen(
        [*command, str(MIXED), str(_job(tmp_path, pause=4))],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen: dict[str, dict[str, Any]] = {}

    def both_running() -> bool:
        for report in gateway_client.list_clusters(status="running"):
            if report.name not in before:
                seen[report.name] = dict(report.options)
        return len(seen) >= 2

    try:
        assert eventually(both_running, timeout=120), seen  # asked of the gateway's API
        try:
            _, stderr = run.communicate(timeout=240)
        except subprocess.TimeoutExpired as err:
            pytest.fail(f"the run did not end in 240 s; its log:\n{_text(err.stderr)[-4000:]}")
    finally:
        run.kill()
    assert run.returncode == 0, stderr
    assert (tmp_path / "out" / "mosaic.txt").read_text() == "a\nb\nc\nd\n"
    sizes = {(o["worker_cores"], o["worker_memory"]): name for name, o in seen.items()}
    assert sorted(sizes) == [(1, 0.5), (2, 3.0)]  # the plan's pools: 1 core/512 MiB, 2/3 GiB
    assert "one cluster per pool: 2cpu-3072mib (0-1 workers) for mosaic; 1cpu-512mib" in stderr
    assert eventually(lambda: not (_names(gateway_client) - before), timeout=60), "left running"

    def tool_tasks(name: str) -> list[str]:
        return [
            r["prefix"]
            for r in gateway_server.records(name)
            if r["event"] == "task" and r["prefix"] != "cwl-dask-storage-probe"
        ]

    assert tool_tasks(sizes[(1, 0.5)]) == ["crop"] * 4  # each invocation in its pool
    assert tool_tasks(sizes[(2, 3.0)]) == ["mosaic"]


def test_worker_cores_force_a_single_gateway_cluster(
    gateway_server, gateway_client, gateway_env, cwl_dask, tmp_path: Path
) -> None:
    before = _names(gateway_client, ALL_STATUSES)
    result = cwl_dask(
        "run",
        "--no-container",
        "--gateway",
        gateway_server.url,
        "--worker-cores",
        "2",
        "--worker-memory",
        "3GiB",
        "--workdir",
        tmp_path / "work",
        "--outdir",
        tmp_path / "out",
        MIXED,
        _job(tmp_path, pause=0),
    )
    assert result.code == 0, result.stderr
    [created] = _names(gateway_client, ALL_STATUSES) - before
    assert gateway_client.get_cluster(created).options["worker_cores"] == 2


def test_the_cluster_factory_is_called_once_per_pool(
    cwl_dask, factory_log: Path, tmp_path: Path
) -> None:
    from gateway import read_records

    log = factory_log
    result = cwl_dask(
        "run",
        "--no-container",
        "--cluster",
        "gateway:recording_local_cluster",
        "--outdir",
        tmp_path / "out",
        MIXED,
        _job(tmp_path, pause=0),
        timeout=180,
    )
    assert result.code == 0, result.stderr
    records = read_records(log)
    factories = [r["factory"] for r in records if "factory" in r]
    assert sorted((f["worker_cores"], f["ram"]) for f in factories) == [(1, 512), (2, 3072)]
    adapts = [r["adapt"] for r in records if "adapt" in r]
    assert sorted(a["maximum"] for a in adapts) == [1, 4]  # mosaic: 1, the 4-tile crop: 4


def test_gpu_and_label_options_are_set_on_the_gateway(gateway_server, gateway_client) -> None:
    backend = GatewayBackend(gateway_server.url, worker_gpus=1, labels={"node-role": "highmem"})
    options = gateway_client.cluster_options()  # the real gateway's declared options
    backend._set_options(options)
    assert options["worker_gpus"] == 1
    assert dict(options["worker_labels"]) == {"node-role": "highmem"}


def test_make_backend_gives_the_labels_to_every_pools_cluster() -> None:
    from cwl_dask.clusters import make_backend
    from cwl_dask.clusters.sizing import plan
    from cwl_dask.documents.loading import load_process

    planned = plan(load_process(str(DATA / "pools" / "placement.cwl")), {})
    backend = make_backend(
        gateway="http://127.0.0.1:9", planner=lambda: planned, labels={"zone": "a"}
    )
    assert isinstance(backend, PooledBackend)
    assert sorted(sorted(m.labels.items()) for _, m in backend.members) == [  # type: ignore
        [("pool", "highmem"), ("zone", "a")],
        [("zone", "a")],
    ]


# --------------------------------------------------------------------------- routing


def _member(cores: float, ram: float, gpus: int = 0, labels: dict | None = None) -> Any:
    return GatewayBackend(
        "http://127.0.0.1:9", worker_cores=cores, worker_memory_mib=ram, worker_gpus=gpus
    )


def test_an_invocation_goes_to_the_smallest_pool_that_fits() -> None:
    small, big, gpu = _member(1, 512), _member(2, 3072), _member(2, 3072, gpus=1)
    pools = PooledBackend([((), big), ((), small), ((), gpu)])
    chosen = pools._member_for
    assert chosen("crop", {"cores": 1, "ram": 256}) is small
    assert chosen("mosaic", {"cores": 2, "ram": 3072}) is big
    assert chosen("train", {"cores": 1, "ram": 256, "gpu": 1}) is gpu
    assert pools.worker_shape() == WorkerShape(2, 3072, 1)


def test_placement_labels_pick_the_labelled_pool_and_are_no_dask_resource() -> None:
    plain, placed = _member(1, 512), _member(1, 512)
    pools = PooledBackend([((), plain), ((("pool", "highmem"),), placed)])
    request = {"cores": 1, "ram": 256, **as_request((("pool", "highmem"),))}
    assert pools._member_for("placed", request) is placed
    assert pools._member_for("plain", {"cores": 1, "ram": 256}) is plain
    fitted = pools.fit("placed", request)
    assert fitted is not None
    assert pools._member_for("placed", fitted) is placed  # route() decides the same


def test_a_request_no_pool_fits_names_the_step() -> None:
    pools = PooledBackend([((), _member(1, 512)), ((), _member(2, 3072))])
    with pytest.raises(UnsatisfiableRequest, match="step 'hog' asks for 8 cores"):
        pools.fit("hog", {"cores": 8, "ram": 256})
    with pytest.raises(UnsatisfiableRequest, match="step 'train' needs 1 GPU"):
        pools.fit("train", {"cores": 1, "ram": 256, "gpu": 1})
    with pytest.raises(UnsatisfiableRequest, match="labels pool=highmem"):
        pools.fit("placed", {"cores": 1, "ram": 256, **as_request((("pool", "highmem"),))})


def test_a_placed_step_gets_a_gateway_cluster_with_its_labels(
    gateway_server, gateway_client, gateway_env, cwl_dask, tmp_path: Path
) -> None:
    before = _names(gateway_client, ALL_STATUSES)
    result = cwl_dask(
        "run", "--no-container", "--gateway", gateway_server.url, "--workdir", tmp_path / "work",
        "--outdir", tmp_path / "out", DATA / "pools" / "placement.cwl",
    )  # fmt: skip
    assert result.code == 0, result.stderr
    created = _names(gateway_client, ALL_STATUSES) - before
    labels = [dict(gateway_client.get_cluster(n).options["worker_labels"]) for n in created]
    assert sorted(labels, key=len) == [{}, {"pool": "highmem"}]  # for the node selector
    assert eventually(lambda: not (_names(gateway_client) - before), timeout=60)


def test_ctrl_c_shuts_every_pools_cluster_down(
    gateway_server, gateway_client, gateway_env, tmp_path: Path
) -> None:
    import signal

    before = _names(gateway_client, ALL_STATUSES)
    command = [sys.executable, "-m", "cwl_dask", "run", "--no-container", "--gateway"]
    command += [gateway_server.url, "--workdir", str(tmp_path / "work")]
    command += ["--outdir", str(tmp_path / "out"), str(MIXED), str(_job(tmp_path, pause=30))]
    run = subprocess.Popen(
        command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        running = lambda: len(_names(gateway_client, "running") - before) >= 2  # noqa: E731
        assert eventually(running, timeout=90)
        time.sleep(3)
        run.send_signal(signal.SIGINT)
        _, stderr = run.communicate(timeout=90)
    finally:
        run.kill()
    assert run.returncode == 130, stderr
    created = _names(gateway_client, ALL_STATUSES) - before
    assert len(created) == 2
    assert eventually(lambda: created <= _names(gateway_client, "stopped"), timeout=60), stderr
