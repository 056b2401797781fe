"""The worker image (``Containerfile``): what Dask Gateway, Kubernetes or SLURM workers run.

Built with podman FROM the local ``python:3-slim`` stand-in (``ci/setup-podman.sh``), cached
by content (``tests/worker_image.py``). A ``dask worker`` in it (host network, 127.0.0.1,
TLS) joins a real ``dask scheduler`` and runs the EO sample with ``--workdir s3://`` (moto):
the container sees no file of the host, so everything it reads or writes goes through the
store. Without podman the tests skip, saying why; in CI (``CI`` set) they fail instead.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import eventually, normalise, podman_ready
from isolated import MotoServer, cwl_dask, cwltool, file_tree, objects_under, store_fs
from realcluster import RealCluster, tls_files
from reliability import listening
from worker_image import ContainerWorker, built_image

pytestmark = [
    pytest.mark.podman,
    pytest.mark.timeout(1800),  # the first build of the image: ~2.5 min here, up to ~10 on CI
    # Expected: the image's Python is Debian's (3.11.2), the test machine's may be another
    # patch release; the worker does not have numpy (nothing it runs needs it).
    pytest.mark.filterwarnings("ignore::distributed.versions.VersionMismatchWarning"),
]


@pytest.fixture(scope="module")
def worker_image(tmp_path_factory: pytest.TempPathFactory) -> str:
    if not podman_ready():
        reason = "the worker image needs rootful podman and ci/setup-podman.sh's images"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return built_image(tmp_path_factory.mktemp("image") / "build.log")


@pytest.fixture(scope="module")
def image_cluster(
    worker_image: str, moto_server: MotoServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[RealCluster, ContainerWorker]]:
    """A TLS scheduler on 127.0.0.1 and one worker in the image, which reaches moto."""
    where = tmp_path_factory.mktemp("image-cluster")
    certs = tls_files(where / "certs")
    cluster = RealCluster(where / "scheduler", workers=0, tls=certs, host="127.0.0.1")
    worker = ContainerWorker(
        worker_image,
        cluster.address,
        certs["ca"].parent,
        moto_server.environment(),
        where / "w.log",
    )
    try:
        assert eventually(lambda: cluster._workers() == 1, timeout=120), (
            "the worker in the image did not connect:\n" + (where / "w.log").read_text()
        )
        yield cluster, worker
    finally:
        worker.stop()
        cluster.close()


def test_the_image_runs_as_a_non_root_user_with_node_and_dask_gateway_s_commands(
    worker_image: str,
) -> None:
    shown = subprocess.run(
        [
            "podman",
            "run",
            "--rm",
            worker_image,
            "sh",
            "-c",
            "id -u; node --version; cwl-dask --version; dask-worker --version",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shown.returncode == 0, shown.stderr
    uid, node, version, worker = shown.stdout.splitlines()
    assert uid != "0"
    assert node.startswith("v")
    assert version.startswith("cwl-dask ")
    assert worker.startswith("dask, version"), "Dask Gateway's default worker_cmd, dask-worker"


def test_the_worker_in_the_image_listens_on_loopback_only(
    image_cluster: tuple[RealCluster, ContainerWorker],
) -> None:
    _, worker = image_cluster
    addresses = listening(worker.pids())
    assert addresses, "the worker listens nowhere"
    assert {ip for ip, _ in addresses} == {"127.0.0.1"}, addresses


def test_the_eo_sample_on_a_worker_in_the_image_gives_cwltool_s_outputs(
    image_cluster: tuple[RealCluster, ContainerWorker],
    moto_server: MotoServer,
    samples: Path,
    bucket: str,
) -> None:
    cluster, worker = image_cluster
    assert cluster.address.startswith("tls://127.0.0.1:") and cluster.tls
    area = samples.parent
    tls = {
        "DASK_DISTRIBUTED__COMM__TLS__CA_FILE": str(cluster.tls["ca"]),
        "DASK_DISTRIBUTED__COMM__TLS__CLIENT__CERT": str(cluster.tls["cert"]),
        "DASK_DISTRIBUTED__COMM__TLS__CLIENT__KEY": str(cluster.tls["key"]),
    }
    done = cwl_dask(
        area, {**moto_server.environment(), **tls}, "--no-container",
        "--scheduler", cluster.address, "--workdir", f"s3://{bucket}/runs",
        "--outdir", area / f"out-{bucket}",
        samples / "eo-ndvi/app-package.cwl", samples / "eo-ndvi/params.yml",
    )  # fmt: skip
    assert done.code == 0, done.stderr
    reference = cwltool(
        area, "--no-container", "--outdir", area / f"ref-{bucket}",
        samples / "eo-ndvi/app-package.cwl", samples / "eo-ndvi/params.yml",
    )  # fmt: skip
    assert reference.code == 0, reference.stderr
    assert normalise(done.output()) == normalise(reference.output())
    assert file_tree(area / f"out-{bucket}") == file_tree(area / f"ref-{bucket}")
    assert cluster.worker_names() == [worker.name], "a worker outside the image took part"
    assert objects_under(store_fs(moto_server), f"{bucket}/runs") == [], "the run's prefix was kept"
