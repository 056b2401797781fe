"""``--gateway`` on a real dask-gateway-server, ``--cluster module:factory``, the storage probe
and the backend selection (command line and Dask config)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dask
import pytest

from conftest import DATA, SAMPLES, eventually
from cwl_dask.clusters import (
    ClusterClassBackend,
    GatewayBackend,
    LocalBackend,
    SchedulerBackend,
    WorkerShape,
    make_backend,
)
from cwl_dask.errors import InvalidInputError, UnsatisfiableRequest

EO = (SAMPLES / "eo-ndvi" / "app-package.cwl", SAMPLES / "eo-ndvi" / "params.yml")
HELLO = (SAMPLES / "hello" / "hello.cwl", SAMPLES / "hello" / "params.yml")

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


def _names(gateway_client: Any, status: Any = None) -> set[str]:
    return {report.name for report in gateway_client.list_clusters(status=status)}


ALL_STATUSES = ["pending", "running", "stopping", "stopped", "failed"]


# --------------------------------------------------------------------------- real gateway


def test_eo_sample_runs_on_a_new_gateway_cluster_sized_by_the_plan_and_shut_down(
    gateway_server, gateway_client, gateway_env, cwl_dask, tmp_path: Path
) -> None:
    before = _names(gateway_client, ALL_STATUSES)
    result = cwl_dask(
        "run",
        "--no-container",
        "--gateway",
        gateway_server.url,
        "--gateway-auth",
        "basic",
        "--workdir",
        tmp_path / "work",
        "--outdir",
        tmp_path / "out",
        *EO,
    )
    assert result.code == 0, result.stderr
    assert result.output()["results"]["class"] == "Directory"

    [created] = _names(gateway_client, ALL_STATUSES) - before
    assert created in result.stderr  # the log names the cluster
    assert f"/clusters/{created}/status" in result.stderr  # and its dashboard, proxied
    # created with the plan's worker shape (`cwl-dask plan`: largest step 2 cores, largest
    # ramMin 1024 MiB), and shut down afterwards
    assert eventually(lambda: created in _names(gateway_client, "stopped")), "not shut down"
    report = gateway_client.get_cluster(created)
    assert report.options["worker_cores"] == 2
    assert report.options["worker_memory"] == 1.0
    assert _names(gateway_client) == set()  # nothing pending or running

    # scaled: workers joined, declaring the resources of the options; used: the steps ran
    records = gateway_server.records(created)
    workers = [r for r in records if r["event"] == "worker"]
    assert workers, records
    assert all(w["resources"] == {"cores": 2, "ram": 1024} for w in workers)
    tasks = {r["prefix"]: r["resources"] for r in records if r["event"] == "task"}
    assert {"cwl-dask-storage-probe", "ndvi", "mask", "mosaic", "stac"} <= tasks.keys()
    assert tasks["stac"] == {"cores": 2, "ram": 768}
    assert tasks["mosaic"] == {"cores": 1, "ram": 1024}


def test_request_larger_than_the_gateway_workers_fails_before_running(
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
        "4GiB",
        "--workdir",
        tmp_path,
        DATA / "greedy.cwl",
        timeout=120,
    )
    assert result.code == 2, result.stderr
    assert "step 'hog' asks for 64 cores" in result.stderr
    assert "2 cores and 4096 MiB" in result.stderr  # the defaults: 2 cores, 4 GiB
    assert "--worker-cores" in result.stderr
    assert "Traceback" not in result.stderr
    [created] = _names(gateway_client, ALL_STATUSES) - before
    tasks = [r for r in gateway_server.records(created) if r["event"] == "task"]
    assert [t["prefix"] for t in tasks] == ["cwl-dask-storage-probe"]  # hog never submitted
    assert eventually(lambda: not _names(gateway_client)), "the cluster was not shut down"


def test_keep_cluster_leaves_it_running_and_gateway_cluster_reuses_it(
    gateway_server, gateway_client, gateway_env, cwl_dask, tmp_path: Path
) -> None:
    before = _names(gateway_client, ALL_STATUSES)
    kept = cwl_dask(
        "run",
        "--no-container",
        "--gateway",
        gateway_server.url,
        "--keep-cluster",
        "--worker-cores",
        "1",
        "--worker-memory",
        "1GiB",
        "--outdir",
        tmp_path / "first",
        *HELLO,
    )
    assert kept.code == 0, kept.stderr
    [name] = _names(gateway_client, ALL_STATUSES) - before
    try:
        assert _names(gateway_client, "running") == {name}
        assert f"--gateway-cluster {name}" in kept.stderr  # how to reuse it

        reused = cwl_dask(
            "run",
            "--no-container",
            "--gateway",
            gateway_server.url,
            "--gateway-cluster",
            name,
            "--outdir",
            tmp_path / "second",
            *HELLO,
        )
        assert reused.code == 0, reused.stderr
        assert (tmp_path / "second" / "hello.txt").read_text() == "Hello from cwl-dask\n"
        time.sleep(1)
        assert _names(gateway_client, "running") == {name}  # a reused cluster is left running
        tasks = [r["prefix"] for r in gateway_server.records(name) if r["event"] == "task"]
        assert tasks.count("hello") == 2
    finally:
        gateway_client.stop_cluster(name)


def test_ctrl_c_shuts_the_cluster_down(
    gateway_server, gateway_client, gateway_env, tmp_path: Path
) -> None:
    before = _names(gateway_client, ALL_STATUSES)
    command = [sys.executable, "-m", "cwl_dask", "run", "--no-container"]
    command += ["--gateway", gateway_server.url, "--workdir", str(tmp_path / "work")]
    command += ["--outdir", str(tmp_path / "out"), *map(str, EO)]
    # A Ctrl-C during start-up sometimes leaves the gateway client reconnecting at exit (cause
    # not found); the stop's watchdog then ends the process after the grace and stops the
    # cluster by name. A grace of 10 s keeps that path inside this test's 60 s.
    env = {**os.environ, "CWL_DASK_STOP_GRACE": "10"}
    run = subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert eventually(lambda: _names(gateway_client, "running") - before, timeout=60)
        run.send_signal(signal.SIGINT)
        try:
            _, stderr = run.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            run.kill()
            _, stderr = run.communicate()
            raise AssertionError(f"no exit 60 s after Ctrl-C; its stderr:\n{stderr}") from None
    finally:
        run.kill()
    assert run.returncode != 0
    [created] = _names(gateway_client, ALL_STATUSES) - before
    assert eventually(lambda: created in _names(gateway_client, "stopped")), stderr


def test_unreachable_gateway_exits_2_with_the_address(cwl_dask, tmp_path: Path) -> None:
    result = cwl_dask(
        "run",
        "--no-container",
        "--gateway",
        "http://127.0.0.1:9",
        "--workdir",
        tmp_path,
        *HELLO,
        timeout=60,
    )
    assert result.code == 2
    assert "cannot reach the Dask Gateway at http://127.0.0.1:9" in result.stderr
    assert "gateway.address" in result.stderr  # the hint
    assert "Traceback" not in result.stderr


# --------------------------------------------------------------------------- --cluster


def test_cluster_factory_runs_the_hello_sample(cwl_dask, factory_log: Path, tmp_path: Path) -> None:
    from gateway import read_records

    log = factory_log
    result = cwl_dask(
        "run",
        "--no-container",
        "--cluster",
        "gateway:recording_local_cluster",
        "--worker-cores",
        "1",
        "--worker-memory",
        "1024",
        "--max-workers",
        "2",
        "--outdir",
        tmp_path / "out",
        *HELLO,
        timeout=120,
    )
    assert result.code == 0, result.stderr
    assert (tmp_path / "out" / "hello.txt").read_text() == "Hello from cwl-dask\n"
    assert read_records(log) == [
        {"factory": {"worker_cores": 1, "ram": 1024}},
        {"adapt": {"minimum": 1, "maximum": 2}},  # minimum not given: the plan's
    ]


# --------------------------------------------------------------------------- storage probe


@pytest.fixture
def isolated_worker(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A scheduler, and one worker that sees an empty tmpfs at ``hidden`` (not shared)."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare(1) for a private mount namespace")
    from distributed import Client, LocalCluster

    hidden = tmp_path / "hidden"
    hidden.mkdir()
    worker_cmd = (
        f"mount -t tmpfs tmpfs {hidden} && exec {sys.executable} -m "
        "distributed.cli.dask_worker {address} --nthreads 2 --resources cores=2,ram=2048 "
        "--no-dashboard"
    )
    with LocalCluster(n_workers=0, processes=True, dashboard_address=None) as cluster:
        command = worker_cmd.replace("{address}", cluster.scheduler_address)
        worker = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c", command],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            with Client(cluster) as client:
                try:
                    client.wait_for_workers(1, timeout=60)
                except TimeoutError:
                    pytest.skip("the worker in a private mount namespace did not start")
            yield cluster.scheduler_address, hidden
        finally:
            worker.terminate()
            worker.wait(30)


def test_workdir_the_workers_cannot_see_exits_2_naming_it(isolated_worker, cwl_dask) -> None:
    address, hidden = isolated_worker
    result = cwl_dask(
        "run", "--no-container", "--scheduler", address, "--workdir", hidden, *HELLO, timeout=120
    )
    assert result.code == 2, result.stderr
    assert f"the work directory {hidden}/cwl-dask-" in result.stderr
    assert "is not shared with the workers" in result.stderr
    assert "--workdir" in result.stderr
    assert "Traceback" not in result.stderr


# --------------------------------------------------------------------------- selection


def test_backend_options_are_mutually_exclusive(cwl_dask) -> None:
    result = cwl_dask(
        "run", "--gateway", "http://127.0.0.1:9", "--scheduler", "tcp://127.0.0.1:9", *HELLO
    )
    assert result.code == 2
    assert "--scheduler and --gateway cannot be used together" in result.stderr
    assert "Usage:" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--keep-cluster"], "--keep-cluster: only for a Dask Gateway"),
        (["--scheduler", "tcp://h:1", "--gateway-auth", "basic"], "--gateway-auth: only for"),
        (["--gateway", "http://h", "--cores", "2"], "--cores size the local cluster"),
        (["--cluster", "nosuchmodule:make"], "--cluster nosuchmodule:make: cannot import it"),
        (["--cluster", "justamodule"], "--cluster expects module:factory"),
        (["--gateway", "http://h", "--min-workers", "3", "--max-workers", "2"], "--min-workers"),
    ],
)
def test_contradictory_backend_options_are_usage_errors(cwl_dask, args, message) -> None:
    result = cwl_dask("run", *args, *HELLO)
    assert result.code == 2
    assert message in result.stderr


def test_the_dask_config_chooses_the_backend() -> None:
    assert isinstance(make_backend(), LocalBackend)
    with dask.config.set({"cwl-dask.backend": "scheduler", "cwl-dask.scheduler": "tcp://h:1"}):
        backend = make_backend()
        assert isinstance(backend, SchedulerBackend)
        assert backend.address == "tcp://h:1"
    with dask.config.set({"cwl-dask.backend": "gateway", "gateway.address": "http://gw:8000/"}):
        backend = make_backend(worker_cores=3, worker_memory_mib=6144, max_workers=7)
        assert isinstance(backend, GatewayBackend)
        assert (backend.address, backend.maximum) == ("http://gw:8000", 7)
        assert backend.worker_shape() == WorkerShape(3, 6144)
        # the command line wins over the config
        assert isinstance(make_backend(scheduler="tcp://h:2"), SchedulerBackend)
    with dask.config.set(
        {"cwl-dask.backend": "cluster", "cwl-dask.cluster": "gateway:recording_local_cluster"}
    ):
        backend = make_backend(worker_cores=1, worker_memory_mib=512)
        assert isinstance(backend, ClusterClassBackend)
        assert backend.kwargs == {"worker_cores": 1, "worker_memory_mib": 512}
        assert backend.worker_shape() == WorkerShape(1, 512)
    with (
        dask.config.set({"cwl-dask.backend": "gateway", "gateway.address": None}),
        pytest.raises(InvalidInputError, match=r"gateway\.address"),
    ):
        make_backend()


def test_gateway_worker_shape_rejects_a_request_before_connecting() -> None:
    backend = GatewayBackend("http://gw", worker_cores=2, worker_memory_mib=2048)
    assert backend.fit("small", {"cores": 2, "ram": 2048}) == {"cores": 2, "ram": 2048}
    with pytest.raises(UnsatisfiableRequest, match=r"step 'big' asks for 3 cores.*--worker-cores"):
        backend.fit("big", {"cores": 3, "ram": 100})
