"""Outputs confined to the tool's directory on isolated workers, in store mode (issue 32).

The workers run in ``unshare -m`` and share no file with the driver (``conftest_isolated``);
``--workdir`` is in S3 (moto). A glob or a link that leaves the tool's directory is refused
on the worker, before anything is uploaded; legitimate outputs still arrive whole.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from conftest import DATA
from isolated import cwl_dask, objects_under, store_fs
from security import (
    ESCAPING_GLOBS,
    ESCAPING_LINKS,
    LEGITIMATE,
    OUTPUTS,
    TOKEN,
    WHOLE,
    assert_delivered_as_described,
    assert_refused,
    assert_whole_delivered,
    prepared_outdir,
)

pytestmark = pytest.mark.timeout(600)

CASES = [("echo a > a.txt", pattern) for pattern in ESCAPING_GLOBS] + ESCAPING_LINKS


@pytest.mark.parametrize(("script", "pattern"), CASES)
def test_an_output_outside_the_tool_s_directory_is_refused_on_an_isolated_worker(
    isolated_cluster: Any,
    moto_server: Any,
    driver_area: Path,
    bucket: str,
    script: str,
    pattern: str,
) -> None:
    out = prepared_outdir(driver_area / f"out-{bucket}")
    security = driver_area / f"security-{bucket}"
    shutil.copytree(DATA / "security", security)
    env = {**moto_server.environment(), "CWL_DASK_TEST_TOKEN": TOKEN}
    result = cwl_dask(
        driver_area, env, "--no-container", "--scheduler", isolated_cluster.address,
        "--workdir", f"s3://{bucket}/runs", "--outdir", out, security / OUTPUTS.name,
        "--script", script, "--pattern", pattern,
    )  # fmt: skip
    assert_refused(result, "outputs.cwl", pattern, out)
    fs = store_fs(moto_server)
    uploaded = [p for p in objects_under(fs, bucket) if "/logs/" not in p]
    assert not [p for p in uploaded if TOKEN.encode() in fs.cat_file(p)]


@pytest.mark.parametrize("tool", [LEGITIMATE, WHOLE], ids=["globs-and-links", "whole"])
def test_outputs_inside_the_tool_s_directory_arrive_from_an_isolated_worker(
    isolated_cluster: Any, moto_server: Any, driver_area: Path, bucket: str, tool: Path
) -> None:
    out = driver_area / f"out-{bucket}"
    security = driver_area / f"security-{bucket}"
    shutil.copytree(DATA / "security", security)
    result = cwl_dask(
        driver_area, moto_server.environment(), "--no-container",
        "--scheduler", isolated_cluster.address, "--workdir", f"s3://{bucket}/runs",
        "--outdir", out, security / tool.name, "--given", security / "given.dat",
        *(["--folder", security / "folder"] if tool == LEGITIMATE else []),
    )  # fmt: skip
    assert result.code == 0, result.stderr
    if tool == WHOLE:
        assert_whole_delivered(result.output(), out)
    else:
        assert_delivered_as_described(result.output(), out)
