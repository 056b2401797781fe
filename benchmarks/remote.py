"""What the remote and the very wide workloads need: a real cluster, generated job files.

``scale-remote`` runs the scatters on a ``dask scheduler`` with 2 ``dask worker`` processes
(1 core and 2 threads each, declaring ``cores=1``: the 2 slots of the local cluster on this
2-core machine), started before the first such run and stopped by pid after the last. The
workers stay up between runs, as a deployment's do, so only the first run pays their
imports. The sampled tree is then the driver alone: tools run under the workers.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

#: The workers: 2 processes of 1 core (``cores`` resource), 2 threads, 2 GiB each.
WORKERS = 2
WORKER_ARGS = ("--nthreads", "2", "--resources", "cores=1,ram=2048", "--memory-limit", "0")


def job_file(name: str) -> str:
    """``jobs/<name>``, or for a ``scatter_N.yml`` not kept in the repository (N = 100,000:
    600 kB) the same ``{"items": [1..N]}`` written once to the temporary directory."""
    kept = HERE / "jobs" / name
    if kept.exists() or not (name.startswith("scatter_") and name.endswith(".yml")):
        return str(kept)
    n = int(name[len("scatter_") : -len(".yml")])
    made = Path(tempfile.gettempdir()) / f"cwl-dask-bench-{name}"
    if not made.exists():
        made.write_text(json.dumps({"items": list(range(1, n + 1))}))
    return str(made)


def _dask(*args: str, cwd: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "dask", *args],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class RemoteCluster:
    """A ``dask scheduler`` and :data:`WORKERS` ``dask worker`` processes, stopped by pid."""

    def __init__(self, timeout: float = 60) -> None:
        self.where = tempfile.mkdtemp(prefix="bench-cluster-")
        info = Path(self.where, "scheduler.json")
        self.scheduler = _dask(
            "scheduler", "--port", "0", "--no-dashboard", "--scheduler-file", str(info),
            cwd=self.where,
        )  # fmt: skip
        self.workers: list[subprocess.Popen[bytes]] = []
        try:
            self.address = json.loads(_wait_for(info, timeout).read_text())["address"]
            for number in range(WORKERS):
                self.workers.append(_dask(
                    "worker", self.address, *WORKER_ARGS, "--no-dashboard",
                    "--name", f"bench-{number}", cwd=self.where,
                ))  # fmt: skip
            self._wait_for_workers(timeout)
        except BaseException:
            self.close()
            raise

    def _wait_for_workers(self, timeout: float) -> None:
        from distributed import Client

        with Client(self.address, timeout=timeout) as client:
            client.wait_for_workers(WORKERS, timeout=timeout)

    def close(self) -> None:
        for worker in self.workers:
            _stop(worker)
        _stop(self.scheduler)


def _wait_for(path: Path, timeout: float) -> Path:
    deadline = time.monotonic() + timeout
    while not (path.exists() and path.stat().st_size):
        if time.monotonic() > deadline:
            raise RuntimeError(f"the benchmark's dask scheduler did not start in {timeout:g} s")
        time.sleep(0.1)
    time.sleep(0.1)  # the file is written in one go, but give the writer its close
    return path
