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
        tls: dict[str, Path] | None = None,
        memory_limit: str | None = None,
        host: str | None = None,
    ) -> None:
        """``tls``: ``ca``, ``cert`` and ``key`` files (see :func:`tls_files`): the scheduler
        then speaks TLS only, and its workers connect with these. ``host``: the interface the
        scheduler listens on (e.g. ``127.0.0.1``; by default Dask's choice)."""
        self.tls = tls
        secure = (
            ["--tls-ca-file", str(tls["ca"]), "--tls-cert", str(tls["cert"]),
             "--tls-key", str(tls["key"])]
            if tls else []
        )  # fmt: skip
        where.mkdir(parents=True, exist_ok=True)
        info = where / "scheduler.json"
        self.scheduler = _dask(
            "scheduler", "--port", "0", "--no-dashboard", "--scheduler-file", str(info),
            *(["--protocol", "tls", *secure] if tls else []),
            *(["--host", host] if host else []), cwd=where,
        )  # fmt: skip
        self.workers: list[subprocess.Popen[bytes]] = []
        try:
            assert eventually(info.exists, timeout=60), "the scheduler did not start"
            self.address = json.loads(info.read_text())["address"]
            for number in range(workers):
                label = name if workers == 1 else f"{name}-{number}"
                self.workers.append(_dask(
                    "worker", self.address, "--nthreads", str(nthreads), "--resources", resources,
                    "--no-dashboard", "--name", label, *secure,
                    *(["--memory-limit", memory_limit] if memory_limit else []), cwd=where,
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
        return len(self.worker_names())

    def worker_names(self) -> list[str]:
        """The names of the workers the scheduler has now."""
        from distributed import Client
        from distributed.security import Security

        security = (
            Security(
                tls_ca_file=str(self.tls["ca"]),
                tls_client_cert=str(self.tls["cert"]),
                tls_client_key=str(self.tls["key"]),
                require_encryption=True,
            )
            if self.tls
            else None
        )
        with Client(self.address, timeout=10, security=security) as client:
            workers = client.scheduler_info(n_workers=-1)["workers"].values()
            return [str(worker.get("name")) for worker in workers]

    def close(self) -> None:
        for worker in self.workers:
            stop(worker)
        stop(self.scheduler)


def tls_files(where: Path) -> dict[str, Path]:
    """A self-signed certificate and its key, made now (``Security.temporary()``), in files:
    ``ca`` (the certificate, which signs itself), ``cert`` and ``key``."""
    from distributed.security import Security

    made = Security.temporary()
    where.mkdir(parents=True, exist_ok=True)
    files = {"ca": where / "ca.pem", "cert": where / "cert.pem", "key": where / "key.pem"}
    files["ca"].write_text(str(made.tls_ca_file))
    files["cert"].write_text(str(made.tls_client_cert))
    files["key"].write_text(str(made.tls_client_key))
    files["key"].chmod(0o600)
    return files
