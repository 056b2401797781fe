"""Store mode on a real ``dask-gateway-server`` whose workers share no files with the driver.

The gateway (``tests/gateway_config.py`` with ``CWL_DASK_TEST_HIDE``) starts every worker in
``unshare -m`` with an empty tmpfs over the driver's area, as ``conftest_isolated`` does for a
plain scheduler; S3 is moto's server. The ``DaskGatewayRequirement`` sample creates its own
cluster on the same gateway from inside its tool.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import normalise
from conftest_gateway import GATEWAY_PASSWORD, GATEWAY_USER, _gateway_server_installed
from isolated import (
    assert_locations_hold_their_files,
    cwl_dask,
    cwltool,
    file_tree,
    objects_under,
    outdir_for,
    results_tree,
    store_fs,
)
from test_step_clusters import STATS

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def hidden_gateway(
    moto_server: Any, driver_area: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    if not _gateway_server_installed():
        pytest.skip("needs dask-gateway-server[local] (pip install 'cwl-dask[test]')")
    from conftest_isolated import _unshare_works
    from gateway import start_gateway

    if not _unshare_works():
        pytest.skip("unshare --mount is not permitted here")
    server = start_gateway(
        tmp_path_factory.mktemp("hidden-gateway"),
        password=GATEWAY_PASSWORD,
        extra_env={**moto_server.environment(), "CWL_DASK_TEST_HIDE": str(driver_area)},
    )
    try:
        yield server
    finally:
        server.stop()


def _env(server: Any, moto_server: Any) -> dict[str, str]:
    return {
        **moto_server.environment(),
        "DASK_GATEWAY__AUTH__TYPE": "basic",
        "DASK_GATEWAY__AUTH__KWARGS__USERNAME": GATEWAY_USER,
        "DASK_GATEWAY__AUTH__KWARGS__PASSWORD": server.password,
        # the dask-step tool's python3 is this interpreter (it has dask and dask-gateway)
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }


WHERE = pytest.mark.parametrize(
    "where", ["local", "store"], ids=["local-outdir", "outdir-in-store"]
)


@WHERE
def test_the_eo_sample_on_hidden_gateway_workers_gives_cwltool_s_outputs(
    hidden_gateway: Any, moto_server: Any, samples: Path, bucket: str, where: str
) -> None:
    area = samples.parent
    outdir = outdir_for(area, bucket, where)
    package, job = samples / "eo-ndvi/app-package.cwl", samples / "eo-ndvi/params.yml"
    done = cwl_dask(
        area, _env(hidden_gateway, moto_server), "--no-container", "--gateway",
        hidden_gateway.url, "--workdir", f"s3://{bucket}/runs", "--outdir", outdir, package, job,
    )  # fmt: skip
    assert done.code == 0, done.stderr
    reference = cwltool(area, "--no-container", "--outdir", area / f"ref-{bucket}", package, job)
    assert reference.code == 0, reference.stderr
    fs = store_fs(moto_server)
    assert normalise(done.output()) == normalise(reference.output())
    assert results_tree(fs, outdir) == file_tree(area / f"ref-{bucket}")
    assert_locations_hold_their_files(fs, done.output(), outdir)
    assert objects_under(fs, f"{bucket}/runs") == []


@WHERE
def test_a_dask_gateway_requirement_step_on_hidden_gateway_workers_gives_cwltool_s_outputs(
    hidden_gateway: Any, moto_server: Any, samples: Path, bucket: str, where: str
) -> None:
    area = samples.parent
    outdir = outdir_for(area, bucket, where)
    package, job = samples / "dask-step/app-package.cwl", samples / "dask-step/params.yml"
    done = cwl_dask(
        area, _env(hidden_gateway, moto_server), "--no-container", "--gateway",
        hidden_gateway.url, "--workdir", f"s3://{bucket}/runs", "--outdir", outdir, package, job,
    )  # fmt: skip
    assert done.code == 0, done.stderr
    # cwltool cannot load the calrissian extension, so the reference is a run with a shared
    # filesystem (the embedded local cluster), whose outputs the other tests hold to cwltool's.
    reference = cwl_dask(
        area, _env(hidden_gateway, moto_server), "--no-container", "--outdir",
        area / f"ref-{bucket}", package, job,
    )  # fmt: skip
    assert reference.code == 0, reference.stderr
    fs = store_fs(moto_server)
    ours, theirs = done.output(), reference.output()
    assert normalise(ours["stats"]) == normalise(theirs["stats"])
    assert sorted(ours) == sorted(theirs)
    assert {name: value["basename"] for name, value in ours.items()} == {
        name: value["basename"] for name, value in theirs.items()
    }
    # dask.json says which cluster the tool used, so only its name and presence are compared
    assert results_tree(fs, outdir).keys() == file_tree(area / f"ref-{bucket}").keys()
    assert_locations_hold_their_files(fs, ours, outdir)
    stats = json.loads(_read(fs, ours["stats"]["location"]))
    assert {k: stats[k] for k in STATS} == STATS
    # The tool's own report says which cluster it used: the gateway's, made for the step.
    assert json.loads(_read(fs, ours["dask_report"]["location"]))["mode"] == "gateway"
    assert objects_under(fs, f"{bucket}/runs") == []


def _read(fs: Any, location: str) -> bytes:
    if location.startswith("s3://"):
        return bytes(fs.cat_file(location))
    return Path(location.removeprefix("file://")).read_bytes()
