"""cwl-dask behind GA4GH WES: ``wes-server --backend=cwl_dask.wes.backend`` over HTTP.

The server (wes-service's, with cwl-dask's backend) runs as a real process on 127.0.0.1,
with HTTP Basic credentials, and its runs go to a real ``dask scheduler`` chosen by the Dask
config in its environment (``DASK_CWL_DASK__BACKEND=scheduler``), as docs/wes.md shows. The
tests make the calls zoo-wes-runner makes (``POST /runs`` with the workflow attached, ``GET
/runs/{id}/status``, ``GET /runs/{id}``, ``GET /runs/{run_log.stderr}``, ``POST
/runs/{id}/cancel``, through httpx as it does), and submit the EO sample with ``wes-client``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from conftest import DATA, SAMPLES, eventually, normalise
from isolated import free_port
from realcluster import RealCluster, stop
from reliability import Scatter, descendants, listening, wait_gone

httpx = pytest.importorskip("httpx")
pytest.importorskip("wes_service")

pytestmark = pytest.mark.timeout(300)

USER, PASSWORD = "zoo", "wes-test-password"
API = "/ga4gh/wes/v1"


@dataclass
class WesServer:
    process: subprocess.Popen[bytes]
    port: int
    runs: Path
    cluster: RealCluster

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{API}"

    def client(self, password: str = PASSWORD) -> Any:
        """An httpx client as zoo-wes-runner makes it (base URL, HTTP Basic)."""
        return httpx.Client(
            base_url=self.url, auth=httpx.BasicAuth(USER, password), trust_env=False, timeout=60
        )


@pytest.fixture(scope="module")
def wes_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WesServer]:
    where = tmp_path_factory.mktemp("wes")
    cluster = RealCluster(where / "cluster", host="127.0.0.1", name="wes-worker")
    port = free_port()
    environment = {
        **os.environ,
        "WES_USER": USER,
        "WES_PASSWORD": PASSWORD,
        "DASK_CWL_DASK__BACKEND": "scheduler",
        "DASK_CWL_DASK__SCHEDULER": cluster.address,
    }
    with open(where / "server.log", "wb") as log:
        process = subprocess.Popen(
            [
                sys.executable, "-m", "wes_service.wes_service_main",
                "--backend=cwl_dask.wes.backend", f"--port={port}",
                "--opt", "extra=--no-container", "--opt", f"runs={where / 'runs'}",
                "--opt", "grace=10",
            ],
            cwd=where, env=environment, stdin=subprocess.DEVNULL, stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    server = WesServer(process, port, where / "runs", cluster)
    try:

        def answers() -> bool:
            try:
                return server.client().get("/service-info").status_code == 200
            except httpx.TransportError:
                return process.poll() is not None

        assert eventually(answers, timeout=60) and process.poll() is None, (
            where / "server.log"
        ).read_text()
        yield server
    finally:
        stop(process)
        cluster.close()


def _submit(
    client: Any, name: str, document: bytes, params: dict[str, Any], kind: str = "CWL"
) -> Any:
    """``POST /runs`` as zoo-wes-runner makes it: the workflow attached as ``name``, whose
    ``workflow_url`` is that name; the response."""
    return client.post(
        "/runs",
        data={
            "workflow_url": name,
            "workflow_type": kind,
            "workflow_type_version": "v1.0",
            "workflow_params": json.dumps(params),
        },
        files={"workflow_attachment": (name, document)},
    )


def _finished(client: Any, run_id: str, timeout: float = 240) -> str:
    """The run's state once it left QUEUED/INITIALIZING/RUNNING (polled as zoo-wes-runner)."""
    deadline = time.monotonic() + timeout
    while True:
        state = client.get(f"/runs/{run_id}/status").json()["state"]
        if state not in ("QUEUED", "INITIALIZING", "RUNNING") or time.monotonic() > deadline:
            return str(state)
        time.sleep(0.5)


def _scheduler_ran(cluster: RealCluster, prefix: str) -> bool:
    """Whether the cluster's scheduler has seen tasks whose key starts with ``prefix``."""
    from distributed import Client

    with Client(cluster.address, timeout=10) as client:
        seen = client.run_on_scheduler(lambda dask_scheduler: list(dask_scheduler.task_prefixes))
    return any(str(name).startswith(prefix) for name in seen)


def test_the_server_listens_on_loopback_only(wes_server: WesServer) -> None:
    assert listening({wes_server.process.pid}) == {("127.0.0.1", wes_server.port)}


def test_requests_without_the_credentials_get_401_and_start_nothing(
    wes_server: WesServer,
) -> None:
    before = sorted(p.name for p in wes_server.runs.iterdir())
    anonymous = httpx.Client(base_url=wes_server.url, trust_env=False)
    for client in (anonymous, wes_server.client(password="wrong")):
        assert client.get("/runs").status_code == 401
        submitted = _submit(client, "hello.cwl", (SAMPLES / "hello/hello.cwl").read_bytes(), {})
        assert submitted.status_code == 401
    assert sorted(p.name for p in wes_server.runs.iterdir()) == before


def test_zoo_wes_runner_s_calls_run_a_workflow_and_fetch_its_outputs_and_log(
    wes_server: WesServer,
) -> None:
    client = wes_server.client()
    hello = (SAMPLES / "hello/hello.cwl").read_bytes()
    submitted = _submit(client, "job.cwl", hello, {"message": "through WES"}, kind="cwl")
    assert submitted.status_code == 200, submitted.text
    run_id = submitted.json()["run_id"]
    assert _finished(client, run_id) == "COMPLETE"
    log = client.get(f"/runs/{run_id}").json()
    assert log["state"] == "COMPLETE" and log["run_log"]["exit_code"] == 0
    hello = log["outputs"]["hello"]
    assert hello["basename"] == "hello.txt" and hello["size"] == len("through WES\n")
    assert Path(hello["path"]).read_text() == "through WES\n"
    stderr = client.get(f"/runs/{log['run_log']['stderr']}")
    assert stderr.status_code == 200 and stderr.text == log_file(wes_server, run_id)
    assert {"run_id": run_id, "state": "COMPLETE"} in client.get("/runs").json()["runs"]
    assert _scheduler_ran(wes_server.cluster, "hello"), (
        "the run did not use the configured scheduler"
    )


def log_file(server: WesServer, run_id: str) -> str:
    return (server.runs / run_id / "stderr.log").read_text()


def test_a_submission_that_is_not_cwl_gets_400_and_an_unknown_run_404(
    wes_server: WesServer,
) -> None:
    client = wes_server.client()
    submitted = _submit(client, "job.wdl", b"workflow w {}", {}, kind="WDL")
    assert submitted.status_code == 400 and "CWL" in submitted.json()["msg"]
    for path in ("/runs/0123456789abcdef0123456789abcdef", "/runs/..%2F..%2Fetc/status"):
        assert client.get(path).status_code == 404


def test_wes_client_runs_the_eo_sample_with_cwltool_s_outputs(
    wes_server: WesServer, cwltool: Any, tmp_path: Path
) -> None:
    sample = SAMPLES / "eo-ndvi"
    done = subprocess.run(
        [
            sys.executable, "-m", "wes_client.wes_client_main", "--proto=http",
            f"--host={USER}:{PASSWORD}@127.0.0.1:{wes_server.port}",
            "--attachments=ndvi.py,mask.py,mosaic.py,stac.py", "app-package.cwl", "params.yml",
        ],
        cwd=sample, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "State is COMPLETE" in done.stderr
    reference = cwltool("--no-container", "--outdir", tmp_path / "ref", sample / "app-package.cwl",
                        sample / "params.yml")  # fmt: skip
    assert reference.code == 0, reference.stderr
    assert normalise(json.loads(done.stdout)) == normalise(reference.output())


def test_a_cancel_stops_the_run_and_every_process_it_started(
    wes_server: WesServer, tmp_path: Path
) -> None:
    scatter = Scatter(tmp_path, [120] * 2)
    client = wes_server.client()
    workflow = (DATA / "stop-scatter.cwl").read_bytes()
    submitted = _submit(client, "stop-scatter.cwl", workflow, json.loads(scatter.job.read_text()))
    run_id = submitted.json()["run_id"]
    assert eventually(lambda: scatter.started() == 2, timeout=120), log_file(wes_server, run_id)
    assert client.get(f"/runs/{run_id}/status").json()["state"] == "RUNNING"
    run_pid = int((wes_server.runs / run_id / "pid").read_text())
    started = {run_pid, *descendants(run_pid), *scatter.tools_left()}
    assert scatter.tools_left(), "the tools are not running"

    canceled = client.post(f"/runs/{run_id}/cancel")

    assert canceled.status_code == 200 and canceled.json() == {"run_id": run_id}
    assert client.get(f"/runs/{run_id}/status").json()["state"] == "CANCELED"
    assert wait_gone(started, timeout=10) == set(), "a process of the run outlived the cancel"
    assert scatter.tools_left() == []
    log = client.get(f"/runs/{run_id}").json()
    assert log["state"] == "CANCELED" and log["outputs"] == {}


def test_the_server_refuses_to_start_without_credentials(tmp_path: Path) -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("WES_")}
    done = subprocess.run(
        [sys.executable, "-m", "wes_service.wes_service_main", "--backend=cwl_dask.wes.backend",
         f"--port={free_port()}"],
        cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode != 0
    assert "set WES_USER and WES_PASSWORD" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "wes-runs").exists()
