"""``--scheduler tls://…`` (issue 32, finding 7): a TLS scheduler is reached with Dask's own
TLS config (``distributed.comm.tls.*``, in YAML or ``DASK_DISTRIBUTED__COMM__TLS__*``);
without it, the run is refused with a message that says which keys to set (exit 2)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import SAMPLES
from realcluster import RealCluster, tls_files

HELLO = SAMPLES / "hello" / "hello.cwl"


@pytest.fixture(scope="module")
def tls_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealCluster]:
    where = tmp_path_factory.mktemp("tls")
    cluster = RealCluster(where / "cluster", tls=tls_files(where / "certs"))
    try:
        yield cluster
    finally:
        cluster.close()


def test_a_tls_scheduler_runs_the_workflow_with_dasks_tls_config(
    tls_cluster: RealCluster, cwl_dask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert tls_cluster.address.startswith("tls://") and tls_cluster.tls
    monkeypatch.setenv("DASK_DISTRIBUTED__COMM__TLS__CA_FILE", str(tls_cluster.tls["ca"]))
    monkeypatch.setenv("DASK_DISTRIBUTED__COMM__TLS__CLIENT__CERT", str(tls_cluster.tls["cert"]))
    monkeypatch.setenv("DASK_DISTRIBUTED__COMM__TLS__CLIENT__KEY", str(tls_cluster.tls["key"]))
    done = cwl_dask(
        "run", "--no-container", "--scheduler", tls_cluster.address,
        "--outdir", tmp_path / "out", HELLO, "--message", "over TLS",
    )  # fmt: skip
    assert done.code == 0, done.stderr
    assert done.output()


def test_a_tls_scheduler_without_credentials_exits_2_naming_the_option_and_config_keys(
    tls_cluster: RealCluster, cwl_dask, tmp_path: Path
) -> None:
    done = cwl_dask(
        "run", "--no-container", "--scheduler", tls_cluster.address,
        "--outdir", tmp_path / "out", HELLO, "--message", "over TLS", timeout=60,
    )  # fmt: skip
    assert done.code == 2, done.stderr
    assert "--scheduler" in done.stderr
    for key in ("distributed.comm.tls.ca-file", "distributed.comm.tls.client.cert"):
        assert key in done.stderr
    assert "Traceback" not in done.stderr and "Unhandled" not in done.stderr, done.stderr


def test_run_help_says_how_to_reach_a_tls_scheduler(cwl_dask) -> None:
    shown = cwl_dask("run", "--help").stdout
    assert "tls://" in shown and "distributed.comm.tls" in shown
