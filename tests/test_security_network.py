"""Security against other users of the machine and the network (issue 32, finding 3).

The embedded cluster listens on loopback only, its HTTP pages and dashboard too unless
``--dashboard-address`` says otherwise; with ``--worker-processes`` its scheduler speaks TLS
with credentials made for the run, so a local stranger (``nobody``) who finds its port
cannot connect, let alone run code as the run's user.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import SAMPLES
from cwl_dask.clusters.local import LocalBackend
from reliability import as_stranger, descendants, listening, start_run, wait_gone

SLEEPER = """\
cwlVersion: v1.2
class: CommandLineTool
baseCommand: [sleep, '60']
inputs: []
outputs: []
"""

LOOPBACK = {"127.0.0.1", "::1"}


@pytest.fixture
def running_with_worker_processes(tmp_path: Path) -> Iterator[tuple[int, set[int]]]:
    """A ``cwl-dask run --worker-processes`` whose tool is running: its pid and processes."""
    tool = tmp_path / "sleeper.cwl"
    tool.write_text(SLEEPER)
    run = start_run(
        "--no-container", "--worker-processes", "--outdir", tmp_path / "out", tool, cwd=tmp_path
    )
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and run.poll() is None:
            below = descendants(run.pid)
            if any(_command(pid).startswith("sleep") for pid in below):
                yield run.pid, {run.pid, *below}
                break
            time.sleep(0.1)
        else:
            pytest.fail(f"the tool did not start: {run.communicate(timeout=30)}")
    finally:
        pids = {run.pid, *descendants(run.pid)}
        run.send_signal(signal.SIGTERM)
        run.communicate(timeout=60)
        assert not wait_gone(pids)


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


@pytest.mark.skipif(os.geteuid() != 0, reason="becoming nobody needs root")
def test_a_local_stranger_cannot_run_code_through_the_worker_processes_cluster(
    running_with_worker_processes: tuple[int, set[int]],
) -> None:
    _, pids = running_with_worker_processes
    ports = listening(pids)
    assert ports, "the run listens nowhere"
    said = as_stranger([f"127.0.0.1:{port}" for _, port in ports])
    assert "RAN" not in said, said
    assert "refused" in said, said  # it found the Dask ports and tried them


@pytest.mark.parametrize(
    "processes, dashboard",
    [(False, False), (True, False), (False, True), (True, True)],
    ids=["in-process", "worker-processes", "dashboard", "worker-processes-dashboard"],
)
def test_the_local_cluster_listens_on_loopback_only(processes: bool, dashboard: bool) -> None:
    backend = LocalBackend(cores=1, memory_mib=512, processes=processes, dashboard=dashboard)
    try:
        backend.connect()
        pids = {os.getpid(), *descendants(os.getpid())}
        addresses = listening(pids)
        assert addresses
        assert {ip for ip, _ in addresses} <= LOOPBACK, addresses
    finally:
        backend.close()


@pytest.mark.parametrize("processes", [False, True], ids=["in-process", "worker-processes"])
def test_without_a_dashboard_the_clusters_http_servers_serve_no_page(processes: bool) -> None:
    backend = LocalBackend(cores=1, memory_mib=512, processes=processes)
    try:
        backend.connect()
        served = []
        for ip, port in listening({os.getpid(), *descendants(os.getpid())}):
            for page in ("info/main/workers.html", "json/counts.json", "health", "metrics"):
                try:
                    with urllib.request.urlopen(f"http://{ip}:{port}/{page}", timeout=5):
                        served.append(f"{port}/{page}")
                except urllib.error.HTTPError:
                    continue  # 404: nothing there
                except (OSError, http.client.HTTPException):
                    break  # no HTTP server: a Dask comm port
        assert not served
    finally:
        backend.close()


def test_the_dashboard_link_names_where_the_dashboard_listens() -> None:
    backend = LocalBackend(cores=1, memory_mib=512, dashboard=True)
    try:
        backend.connect()
        link = backend.dashboard_link()
        assert link is not None and link.startswith("http://127.0.0.1:"), link
        port = int(link.split(":")[2].split("/")[0])
        assert ("127.0.0.1", port) in listening({os.getpid()})
    finally:
        backend.close()


def test_the_dashboard_listens_where_dashboard_address_says() -> None:
    backend = LocalBackend(cores=1, memory_mib=512, dashboard=True, dashboard_address="0.0.0.0:0")
    try:
        backend.connect()
        link = backend.dashboard_link()
        assert link is not None
        port = int(link.split(":")[2].split("/")[0])
        assert ("0.0.0.0", port) in listening({os.getpid()})
    finally:
        backend.close()


def test_the_worker_processes_scheduler_speaks_tls() -> None:
    backend = LocalBackend(cores=1, memory_mib=512, processes=True)
    try:
        client = backend.connect()
        assert client.scheduler.address.startswith("tls://127.0.0.1:")
        assert client.submit(sum, [1, 2]).result() == 3
    finally:
        backend.close()


def test_run_serves_and_logs_the_dashboard_where_dashboard_address_says(
    cwl_dask, tmp_path: Path
) -> None:
    with socket.socket() as probe:  # a port free now
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    done = cwl_dask(
        "run", "--no-container", "--dashboard-address", f"127.0.0.1:{port}",
        "--outdir", tmp_path / "out", SAMPLES / "hello" / "hello.cwl", "--message", "hi",
    )  # fmt: skip
    assert done.code == 0, done.stderr
    assert f"Dask dashboard: http://127.0.0.1:{port}/status" in done.stderr
