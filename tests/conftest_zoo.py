"""Fixtures for the tests against the real ZOO-Project kernel (tests/test_zoo_kernel.py).

Registered from ``conftest.py`` (``pytest_plugins``). ``zoo_kernel`` builds (cached) and
serves the kernel once per pytest(-xdist) worker and stops its Apache by PID at the end.
Without root, the apt packages or the kernel's source the tests skip, saying which is
missing, unless ``CI`` is set: in CI a missing prerequisite fails them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="session")
def zoo_kernel(worker_id: str) -> Iterator[Any]:
    """A served kernel (:class:`zoo_server.ZooServer`)."""
    import zoo_server

    missing = zoo_server.missing_prerequisites()
    if missing:
        reason = "the real ZOO kernel needs: " + "; ".join(missing) + " (see .ci/run)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    server = zoo_server.start(worker_id)
    try:
        yield server
    finally:
        zoo_server.stop(server)


@pytest.fixture(scope="session")
def zoo_s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A moto S3 server on 127.0.0.1 for the kernel's services, for the whole session
    (its endpoint goes into the kernel's ``main.cfg``), with the samples' data in
    ``s3://inputs/`` and an empty ``s3://results``. Yields an s3fs filesystem
    (``.endpoint``) that holds its own credentials: the test process's environment stays
    as it is. The server runs in a process of its own: moto's in-process servers share
    one backend per process, which the other S3 tests' fixture resets (in CI a test of
    theirs on the same xdist worker had left a bucket ``inputs``)."""
    pytest.importorskip("moto.server")
    fsspec = pytest.importorskip("fsspec")
    pytest.importorskip("s3fs")
    from conftest import SAMPLES
    from isolated import MotoServer

    server = MotoServer(tmp_path_factory.mktemp("zoo-moto") / "moto.log").start()
    fs = fsspec.filesystem(
        "s3",
        key="testing",
        secret="testing",
        client_kwargs={"endpoint_url": server.endpoint},
        skip_instance_cache=True,
    )
    fs.endpoint = server.endpoint
    fs.mkdir("inputs")
    fs.mkdir("results")
    fs.mkdir("work")
    fs.put(f"{SAMPLES / 'eo-ndvi' / 'data'}/", "inputs/eo-ndvi/", recursive=True)
    try:
        yield fs
    finally:
        server.stop()
