"""Helpers for the backend tests that run outside pytest's process.

* :func:`start_gateway` starts a real ``dask-gateway-server`` with ``tests/gateway_config.py``
  (the fixtures are in ``conftest_gateway.py``).
* ``dask_setup`` makes this module a scheduler preload: the test gateway's schedulers append
  every worker that joins and every task that starts to ``$CWL_DASK_TEST_RECORD_DIR/<cluster
  name>.jsonl`` (the cluster's own directory is removed when it stops).
* :func:`recording_local_cluster` is a ``--cluster`` factory: a ``LocalCluster`` whose worker
  declares the resources it is asked for; it logs its arguments and ``adapt`` calls to
  ``$CWL_DASK_TEST_FACTORY_LOG``.

Nothing here imports pytest: the gateway's schedulers and ``cwl-dask`` import this module.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from distributed.diagnostics.plugin import SchedulerPlugin

TESTS = Path(__file__).resolve().parent
CONFIG = TESTS / "gateway_config.py"


def _append(path: str | os.PathLike[str], entry: dict[str, Any]) -> None:
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(entry) + "\n")


def read_records(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


# --------------------------------------------------------------------------- the server


@dataclass
class GatewayServer:
    url: str
    password: str
    work: Path
    process: subprocess.Popen[bytes]

    @property
    def log(self) -> Path:
        return self.work / "gateway.log"

    @property
    def record_dir(self) -> Path:
        return self.work / "records"

    @property
    def clusters_dir(self) -> Path:
        return self.work / "clusters"

    def records(self, cluster_name: str) -> list[dict[str, Any]]:
        return read_records(self.record_dir / f"{cluster_name}.jsonl")

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM (the gateway stops its clusters), then SIGKILL the process group."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        for pid in leaked_cluster_pids(self.clusters_dir):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gateway(
    work: Path,
    password: str = "secret",
    timeout: float = 60,
    extra_env: dict[str, str] | None = None,
) -> GatewayServer:
    """Start the gateway on a free loopback port; return once /api/health answers 200.

    ``extra_env`` goes to the gateway process, e.g. ``CWL_DASK_TEST_HIDE`` (see
    ``gateway_config.py``: workers that cannot see that directory)."""
    port = free_port()
    for sub in ("clusters", "records"):
        (work / sub).mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "DASK_GATEWAY_PORT": str(port),
        "DASK_GATEWAY_PASSWORD": password,
        "DASK_GATEWAY_CLUSTERS_DIR": str(work / "clusters"),
        "CWL_DASK_TEST_RECORD_DIR": str(work / "records"),
        # the schedulers import this module as a preload (inherited by UnsafeLocalBackend)
        "PYTHONPATH": os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")])),
        # tools run by its workers find this Python (with dask) as python3, as in a tox env
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        **(extra_env or {}),
    }
    with open(work / "gateway.log", "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "dask_gateway_server", "-f", str(CONFIG)],
            cwd=work,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = GatewayServer(f"http://127.0.0.1:{port}", password, work, process)
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"dask-gateway-server exited:\n{_tail(server.log)}")
        try:
            with urllib.request.urlopen(f"{server.url}/api/health", timeout=2) as response:
                if response.status == 200:
                    return server
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(
                f"dask-gateway-server not ready in {timeout} s:\n{_tail(server.log)}"
            )
        time.sleep(0.05)


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def leaked_cluster_pids(clusters_dir: Path) -> list[int]:
    """Processes whose working directory lies under the gateway's clusters directory.

    Scheduler and worker processes run in their own sessions, so a gateway killed with
    SIGKILL leaves them behind; this finds them.
    """
    root = str(clusters_dir.resolve())
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if cwd == root or cwd.startswith(root + os.sep):
            pids.append(int(entry.name))
    return pids


# --------------------------------------------------------------------------- scheduler preload


class Recorder(SchedulerPlugin):
    """Scheduler plugin: one JSON line per joining worker and per started task."""

    def __init__(self, scheduler: Any, path: str) -> None:
        self.scheduler = scheduler
        self.path = path

    def add_worker(self, scheduler: Any = None, worker: str = "", **kwargs: Any) -> None:
        state = self.scheduler.workers.get(worker)
        if state is not None:
            _append(
                self.path,
                {
                    "event": "worker",
                    "resources": dict(state.resources),
                    "nthreads": state.nthreads,
                    "memory_limit": state.memory_limit,
                },
            )

    def transition(self, key: Any, start: str, finish: str, *args: Any, **kwargs: Any) -> None:
        from dask.utils import key_split

        if finish == "processing" and key_split(key) != "ToolPackage":  # tool tasks only
            task = self.scheduler.tasks.get(key)
            restrictions = dict(task.resource_restrictions or {}) if task is not None else {}
            _append(
                self.path, {"event": "task", "prefix": key_split(key), "resources": restrictions}
            )


def dask_setup(scheduler: Any) -> None:
    record_dir = os.environ.get("CWL_DASK_TEST_RECORD_DIR")
    name = os.environ.get("DASK_GATEWAY_CLUSTER_NAME")
    if record_dir and name:
        plugin = Recorder(scheduler, os.path.join(record_dir, f"{name}.jsonl"))
        scheduler.add_plugin(plugin, name="cwl-dask-test-recorder")


# --------------------------------------------------------------------------- --cluster factory


def recording_local_cluster(worker_cores: float, worker_memory_mib: float) -> Any:
    """A ``--cluster`` factory: workers declare ``cores``/``ram`` of the size asked for.

    It names ``worker_cores`` and ``worker_memory_mib`` but not ``minimum``/``maximum``, so
    cwl-dask calls ``adapt`` on the cluster itself.
    """
    from distributed import LocalCluster

    log = os.environ.get("CWL_DASK_TEST_FACTORY_LOG")

    class RecordingLocalCluster(LocalCluster):
        def adapt(self, *args: Any, **kwargs: Any) -> Any:
            if log:
                _append(log, {"adapt": kwargs})
            return super().adapt(*args, **kwargs)

    if log:
        _append(log, {"factory": {"worker_cores": worker_cores, "ram": worker_memory_mib}})
    return RecordingLocalCluster(
        n_workers=0,
        threads_per_worker=max(1, math.ceil(worker_cores)),
        processes=True,
        resources={"cores": worker_cores, "ram": worker_memory_mib},
        memory_limit=0,
        dashboard_address=None,
    )


def local_cluster_that_hangs_on_close() -> Any:
    """A ``--cluster`` factory whose cluster never finishes closing: a stop's cleanup that
    hangs, as a client blocked on a dead connection does (tests/test_reliability_stopping)."""
    import threading

    from distributed import LocalCluster

    class Hanging(LocalCluster):
        def close(self, *args: Any, **kwargs: Any) -> Any:
            threading.Event().wait()

    return Hanging(
        n_workers=1, threads_per_worker=2, processes=False,
        resources={"cores": 2, "ram": 2048}, memory_limit=0, dashboard_address=None,
    )  # fmt: skip
