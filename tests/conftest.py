"""Shared helpers: run the real ``cwl-dask`` and ``cwltool`` commands in subprocesses."""

from __future__ import annotations

import functools
import http.server
import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytest_plugins = [
    "conftest_gateway",
    "conftest_s3",
    "conftest_slurm",
    "conftest_isolated",
    "conftest_zoo",
]

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "cwl-samples"
DATA = Path(__file__).resolve().parent / "data"


@dataclass
class Completed:
    code: int
    stdout: str
    stderr: str

    def output(self) -> dict[str, Any]:
        """The output object: stdout must be exactly one JSON document."""
        return json.loads(self.stdout)


def podman_ready() -> bool:
    """podman is installed and has the stand-in images ci/setup-podman.sh builds."""
    import shutil

    if shutil.which("podman") is None:
        return False
    probe = subprocess.run(
        ["podman", "image", "exists", "docker.io/library/python:3-slim"], capture_output=True
    )
    return probe.returncode == 0


def _run(command: list[str], cwd: Path, timeout: float) -> Completed:
    proc = subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
    )
    return Completed(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture(autouse=True)
def _cwl_dask_logger_restored():
    """A CLI call in the test process configures the ``cwl_dask`` logger (own handler, no
    propagation); put it back so that a later test's ``caplog`` still sees its records."""
    import logging

    logger = logging.getLogger("cwl_dask")
    saved = (logger.handlers[:], logger.propagate, logger.level)
    yield
    logger.handlers[:], logger.propagate, logger.level = saved[0], saved[1], saved[2]


@pytest.fixture
def cwl_dask(tmp_path: Path):
    """Run ``cwl-dask ARGS`` in a fresh directory; returns a :class:`Completed`."""

    def run(*args: str | Path, timeout: float = 240) -> Completed:
        command = [sys.executable, "-m", "cwl_dask", *map(str, args)]
        return _run(command, tmp_path, timeout)

    return run


@pytest.fixture
def cwltool(tmp_path: Path):
    """Run the reference runner the same way, for side-by-side comparisons."""

    def run(*args: str | Path, timeout: float = 240) -> Completed:
        command = [sys.executable, "-m", "cwltool", *map(str, args)]
        return _run(command, tmp_path, timeout)

    return run


def eventually(check: Callable[[], Any], timeout: float = 20) -> Any:
    """``check()``'s first truthy result, polling for up to ``timeout`` s (else its last)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.2)


def normalise(value: Any) -> Any:
    """An output object without the parts that differ between runs and runners.

    Locations and paths depend on the output directory; what must match is the shape,
    the names, the sizes and the checksums.
    """
    if isinstance(value, dict):
        if value.get("class") in ("File", "Directory"):
            kept = {
                k: normalise(v)
                for k, v in value.items()
                if k not in ("location", "path", "dirname", "nameroot", "nameext")
            }
            if "listing" in kept:
                kept["listing"] = sorted(kept["listing"], key=lambda e: e["basename"])
            if "secondaryFiles" in kept:
                kept["secondaryFiles"] = sorted(kept["secondaryFiles"], key=lambda e: e["basename"])
            return kept
        return {k: normalise(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalise(v) for v in value]
    return value


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        """No access log on the test's stderr."""


@contextmanager
def served(directory: Path) -> Iterator[str]:
    """A directory served over HTTP on 127.0.0.1 (a random port): yields its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
