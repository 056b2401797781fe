"""Fixtures for the Dask Gateway backend tests: a real ``dask-gateway-server`` on loopback.

Registered from ``conftest.py`` (``pytest_plugins``). The server runs
``tests/gateway_config.py`` (UnsafeLocalBackend, 127.0.0.1, a random free port, HTTP Basic
auth with one password) for the whole test module and is stopped with SIGTERM; scheduler and
worker processes it leaves behind are killed.
"""

from __future__ import annotations

import gc
import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

GATEWAY_USER = "tester"
GATEWAY_PASSWORD = "cwl-dask-test-secret"


def _gateway_server_installed() -> bool:
    return all(importlib.util.find_spec(name) for name in ("dask_gateway_server", "sqlalchemy"))


@pytest.fixture(scope="module")
def gateway_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A running gateway: ``.url``, ``.password``, ``.records(cluster_name)``."""
    if not _gateway_server_installed():
        pytest.skip("needs dask-gateway-server[local] (pip install 'cwl-dask[test]')")
    from gateway import start_gateway

    server = start_gateway(tmp_path_factory.mktemp("dask-gateway"), password=GATEWAY_PASSWORD)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def gateway_client(gateway_server: Any) -> Iterator[Any]:
    """A ``dask_gateway.Gateway`` logged in as the user the ``cwl-dask`` runs use."""
    from dask_gateway import BasicAuth, Gateway

    client = Gateway(gateway_server.url, auth=BasicAuth(GATEWAY_USER, gateway_server.password))
    try:
        yield client
    finally:
        client.close()
        client.close = lambda: None  # its __del__ would close again and raise
        gc.collect()  # collect dask-gateway objects in this thread, not on its IO loop


@pytest.fixture
def gateway_env(gateway_server: Any, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Basic-auth credentials for ``cwl-dask run --gateway``, through the Dask config."""
    monkeypatch.setenv("DASK_GATEWAY__AUTH__TYPE", "basic")
    monkeypatch.setenv("DASK_GATEWAY__AUTH__KWARGS__USERNAME", GATEWAY_USER)
    monkeypatch.setenv("DASK_GATEWAY__AUTH__KWARGS__PASSWORD", gateway_server.password)
    return gateway_server.work


@pytest.fixture
def factory_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where ``--cluster gateway:recording_local_cluster`` records its calls (tests/gateway.py):
    the factory and each ``adapt``; tests/ goes on the run's PYTHONPATH to import it."""
    import os

    log = tmp_path / "factory.jsonl"
    monkeypatch.setenv("CWL_DASK_TEST_FACTORY_LOG", str(log))
    tests = str(Path(__file__).resolve().parent)
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [tests, os.environ.get("PYTHONPATH")]))
    )
    return log
