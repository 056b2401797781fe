"""Workers that cannot see the driver's files, and an S3 server: real processes, by PID.

:class:`IsolatedCluster` starts a real ``dask scheduler`` and ``dask worker`` processes,
each worker inside ``unshare -m`` (a mount namespace of its own, mounts private) with an
empty tmpfs mounted over the driver's area (inputs, ``--outdir``, the driver's ``TMPDIR``),
and the worker's own ``TMPDIR`` inside that tmpfs, where the driver cannot look.
:class:`MotoServer` is moto's S3 server mode on 127.0.0.1 in a process of its own.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conftest import Completed


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stop(process: subprocess.Popen[bytes], timeout: float = 20) -> None:
    """SIGTERM the process group, then SIGKILL it."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout)


@dataclass
class MotoServer:
    """moto's S3 server on 127.0.0.1, in its own process."""

    log: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def environment(self) -> dict[str, str]:
        return {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": self.endpoint,
        }

    def start(self) -> MotoServer:
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{self.endpoint}/moto-api/", timeout=2).close()
                return self
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError(f"moto did not start: {self.log.read_text()}") from None
                time.sleep(0.2)

    def stop(self) -> None:
        if self.process is not None:
            _stop(self.process)


@dataclass
class IsolatedCluster:
    """A scheduler and workers whose mount namespace hides ``hidden`` behind an empty tmpfs."""

    hidden: Path
    logs: Path
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    #: False: plain workers that see everything (the shared-filesystem baseline).
    isolate: bool = True
    scheduler: subprocess.Popen[bytes] | None = None
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def address(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    def start(self, workers: int = 1, cores: int = 2, ram_mib: int = 6000) -> IsolatedCluster:
        self.logs.mkdir(parents=True, exist_ok=True)
        with open(self.logs / "scheduler.log", "wb") as log:
            self.scheduler = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "distributed.cli.dask_scheduler",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--no-dashboard",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env={**os.environ, **self.env},
            )
        for index in range(workers):
            self.add_worker(index, cores, ram_mib)
        self.wait_for_workers(workers)
        return self

    def add_worker(self, index: int, cores: int, ram_mib: int) -> None:
        scratch = self.hidden / f"worker-{index}-tmp"
        worker = (
            f"{sys.executable} -m distributed.cli.dask_worker {self.address} --nthreads {cores} "
            f"--resources cores={cores},ram={ram_mib} --no-dashboard --name worker-{index}"
        )
        command = ["sh", "-c", f"exec {worker}"]
        if self.isolate:
            script = (
                f"mount -t tmpfs cwl-dask-test {self.hidden} && mkdir -p {scratch} && "
                f"export TMPDIR={scratch} && exec {worker}"
            )
            command = ["unshare", "--mount", "--propagation", "private", "sh", "-c", script]
        with open(self.logs / f"worker-{index}.log", "wb") as log:
            self.workers.append(
                subprocess.Popen(
                    command,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    env={**os.environ, **self.env},
                )
            )

    def wait_for_workers(self, count: int, timeout: float = 60) -> None:
        from distributed import Client

        with Client(self.address, timeout=timeout) as client:
            client.wait_for_workers(count, timeout=timeout)

    def worker_sees(self, path: Path) -> list[bool]:
        """Whether each worker sees ``path`` (the isolation under test: it must not)."""
        from distributed import Client

        with Client(self.address, timeout=30) as client:
            return list(client.run(os.path.exists, str(path)).values())

    def stop(self) -> None:
        for worker in self.workers:
            _stop(worker)
        if self.scheduler is not None:
            _stop(self.scheduler)


# --------------------------------------------------------------------------- running


def store_fs(moto_server: Any) -> Any:
    import fsspec

    options = {"key": "testing", "secret": "testing"}
    options["client_kwargs"] = {"endpoint_url": moto_server.endpoint}
    return fsspec.filesystem("s3", skip_instance_cache=True, **options)


def _run(command: list[str], area: Path, env: dict[str, str], timeout: float = 300) -> Completed:
    tmp = area / "driver-tmp"
    tmp.mkdir(exist_ok=True)
    proc = subprocess.run(
        command,
        cwd=area,
        env={**os.environ, **env, "TMPDIR": str(tmp)},
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    return Completed(proc.returncode, proc.stdout, proc.stderr)


def cwl_dask(area: Path, env: dict[str, str], *args: str | Path) -> Completed:
    return _run([sys.executable, "-m", "cwl_dask", "run", *map(str, args)], area, env)


def cwltool(area: Path, *args: str | Path) -> Completed:
    return _run([sys.executable, "-m", "cwltool", *map(str, args)], area, {})


def objects_under(fs: Any, prefix: str) -> list[str]:
    fs.invalidate_cache()
    return [p for p in fs.find(prefix) if not p.endswith("/")]


def file_tree(root: Path) -> dict[str, int]:
    return {
        str(p.relative_to(root)): p.stat().st_size
        for p in root.rglob("*")
        if p.is_file() and ".cwl-dask" not in p.parts
    }


def outdir_for(area: Path, bucket: str, where: str) -> str:
    """``--outdir`` for a test run: in the store (``where == "store"``) or in the area."""
    return f"s3://{bucket}/results" if where == "store" else str(area / f"out-{bucket}")


def results_tree(fs: Any, outdir: str) -> dict[str, int]:
    """The output directory's files and sizes, local or in the store (cwl-dask's own
    ``.cwl-dask`` bookkeeping left out, as :func:`file_tree` does)."""
    if not outdir.startswith("s3://"):
        return file_tree(Path(outdir))
    prefix = outdir[len("s3://") :]
    return {
        path[len(prefix) + 1 :]: fs.size(path)
        for path in objects_under(fs, prefix)
        if ".cwl-dask" not in path.split("/")
    }


def files_of(value: Any) -> list[dict[str, Any]]:
    """Every File of an output object, secondaryFiles and listings included."""
    if isinstance(value, list):
        return [f for item in value for f in files_of(item)]
    if not isinstance(value, dict):
        return []
    found = [value] if value.get("class") == "File" else []
    for key in ("listing", "secondaryFiles"):
        found += files_of(value.get(key, []))
    if value.get("class") not in ("File", "Directory"):
        found += files_of(list(value.values()))
    return found


def assert_locations_hold_their_files(fs: Any, output: dict[str, Any], outdir: str) -> None:
    """Each File of the output object is where its location says, with its size."""
    files = files_of(output)
    assert files
    for file in files:
        location = file["location"]
        assert location.startswith(outdir if outdir.startswith("s3://") else "file://")
        size = (
            fs.size(location) if location.startswith("s3://") else Path(file["path"]).stat().st_size
        )
        assert size == file["size"], location
