"""A ``dask scheduler`` and ``dask worker`` processes, started and stopped by pid."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import eventually


def _dask(*args: str, cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "dask", *args],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class RealCluster:
    """A scheduler and ``workers`` worker processes (by default one of 2 cores, 4 threads)."""

    def __init__(
        self,
        where: Path,
        workers: int = 1,
        nthreads: int = 4,
        resources: str = "cores=2,ram=4096",
        name: str = "stop-test",
    ) -> None:
        where.mkdir(parents=True, exist_ok=True)
        info = where / "scheduler.json"
        self.scheduler = _dask(
            "scheduler", "--port", "0", "--no-dashboard", "--scheduler-file", str(info), cwd=where
        )
        self.workers: list[subprocess.Popen[bytes]] = []
        try:
            assert eventually(info.exists, timeout=60), "the scheduler did not start"
            self.address = json.loads(info.read_text())["address"]
            for number in range(workers):
                label = name if workers == 1 else f"{name}-{number}"
                self.workers.append(_dask(
                    "worker", self.address, "--nthreads", str(nthreads), "--resources", resources,
                    "--no-dashboard", "--name", label, cwd=where,
                ))  # fmt: skip
            assert eventually(lambda: self._workers() == workers, timeout=60), (
                "the workers did not connect"
            )
        except BaseException:
            self.close()
            raise

    @property
    def worker(self) -> subprocess.Popen[bytes] | None:
        """The first (or only) worker process."""
        return self.workers[0] if self.workers else None

    def _workers(self) -> int:
        from distributed import Client

        with Client(self.address, timeout=10) as client:
            return len(client.scheduler_info(n_workers=-1)["workers"])

    def close(self) -> None:
        for worker in self.workers:
            stop(worker)
        stop(self.scheduler)
