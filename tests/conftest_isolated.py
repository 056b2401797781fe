"""Fixtures for store mode: an S3 server and a cluster whose workers share no files with us."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import DATA, SAMPLES
from isolated import IsolatedCluster, MotoServer, store_fs


def _unshare_works() -> bool:
    import subprocess

    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "true"], capture_output=True
    )
    return probe.returncode == 0


@pytest.fixture(scope="module")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    pytest.importorskip("moto.server")
    pytest.importorskip("s3fs")
    server = MotoServer(tmp_path_factory.mktemp("moto") / "moto.log").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def driver_area(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the driver keeps inputs, ``--outdir`` and its ``TMPDIR``: hidden from workers."""
    return tmp_path_factory.mktemp("driver-area")


@pytest.fixture(scope="module")
def isolated_cluster(
    moto_server: MotoServer, driver_area: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[IsolatedCluster]:
    """A real scheduler + one worker in ``unshare -m`` with a tmpfs over :func:`driver_area`."""
    if not _unshare_works():
        pytest.skip("unshare --mount is not permitted here (needs root or user namespaces)")
    logs = tmp_path_factory.mktemp("isolated-logs")
    cluster = IsolatedCluster(driver_area, logs, moto_server.environment())
    try:
        cluster.start()
        (driver_area / "visible-to-driver").write_text("x")
        assert cluster.worker_sees(driver_area / "visible-to-driver") == [False]
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def samples(driver_area: Path) -> Path:
    """The samples copied into the driver's area, so workers cannot read them in place."""
    target = driver_area / "samples"
    for name in ("eo-ndvi", "patterns", "dask-step"):
        shutil.copytree(SAMPLES / name, target / name)
    shutil.copytree(DATA, target / "data")
    return target


@pytest.fixture
def bucket(moto_server: Any) -> str:
    """A new, empty bucket on the module's S3 server."""
    name = f"work-{uuid.uuid4().hex[:8]}"
    store_fs(moto_server).mkdir(name)
    return name
