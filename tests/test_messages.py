"""A new user's mistakes get one short message naming what to fix (issue 18's list).

Each test makes one mistake with the installed CLI and checks the message and the exit
code docs/usage.md promises (2: bad input or usage, nothing ran).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import DATA, SAMPLES

EO = SAMPLES / "eo-ndvi"
FLAKY = DATA / "reliability" / "flaky.cwl"


def eo_job(tmp_path: Path, **changes: str) -> Path:
    """The eo-ndvi sample's params.yml with absolute paths and lines replaced."""
    text = (EO / "params.yml").read_text().replace("path: data/", f"path: {EO}/data/")
    for old, new in changes.items():
        text = text.replace(old, new)
    job = tmp_path / "job.yml"
    job.write_text(text)
    return job


def test_a_misspelt_input_name_is_named_with_the_input_it_meant(cwl_dask, tmp_path: Path) -> None:
    job = eo_job(tmp_path, **{"stac_items:": "stac_item:"})
    result = cwl_dask("run", "--no-container", EO / "app-package.cwl", job)
    assert result.code == 2
    assert "job.yml:3: unknown input 'stac_item'; did you mean 'stac_items'?" in result.stderr
    assert "missing required input 'stac_items' (File[])" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_wrong_input_type_names_the_line_the_input_and_the_type(cwl_dask, tmp_path: Path) -> None:
    job = eo_job(tmp_path, **{"threshold: 0.3": "threshold: high"})
    result = cwl_dask("run", "--no-container", EO / "app-package.cwl", job)
    assert result.code == 2
    assert "job.yml:13: input 'threshold' must be float, not 'high'" in result.stderr
    assert "stac_items" not in result.stderr  # only the wrong input is named


def test_a_misspelt_optional_input_is_a_warning_and_the_run_goes_on(
    cwl_dask, tmp_path: Path
) -> None:
    job = tmp_path / "job.yml"
    job.write_text("mesage: Hi\n")
    result = cwl_dask("run", "--no-container", SAMPLES / "hello" / "hello.cwl", job)
    assert result.code == 0, result.stderr
    assert "job.yml:1: unknown input 'mesage'; did you mean 'message'? (ignored" in result.stderr


def test_a_broken_job_file_is_named_as_the_job_file(cwl_dask, tmp_path: Path) -> None:
    job = tmp_path / "job.yml"
    job.write_text("message: [unclosed\n")
    result = cwl_dask("run", "--no-container", SAMPLES / "hello" / "hello.cwl", job)
    assert result.code == 2
    assert f"the job file {job} is not valid YAML or JSON" in result.stderr
    assert f"{job}:1:10: while parsing a flow sequence" in result.stderr
    assert "Tool definition" not in result.stderr


def test_an_unknown_option_before_the_workflow_is_named_with_the_option_it_meant(
    cwl_dask, tmp_path: Path
) -> None:
    result = cwl_dask("run", "--outdri", tmp_path / "o", SAMPLES / "hello" / "hello.cwl")
    assert result.code == 2
    assert "no such option: --outdri; did you mean --outdir?" in result.stderr
    assert "--tmpdir-prefix" not in result.stderr  # not cwltool's usage
    assert len(result.stderr.splitlines()) <= 4


def test_an_unknown_process_after_the_hash_lists_the_ids(cwl_dask) -> None:
    result = cwl_dask("run", "--no-container", f"{EO / 'app-package.cwl'}#mian")
    assert result.code == 2
    assert "no process #mian in" in result.stderr
    assert "(did you mean #main?)" in result.stderr
    assert "#main (Workflow), #process_item (Workflow)" in result.stderr


def test_no_container_engine_is_not_reported_as_no_container(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"  # a PATH with a shell but neither docker nor podman
    bin_dir.mkdir()
    for tool in ("sh", "true"):
        os.symlink(shutil.which(tool) or f"/bin/{tool}", bin_dir / tool)
    env = {**os.environ, "PATH": str(bin_dir)}
    proc = subprocess.run(
        [sys.executable, "-m", "cwl_dask", "run", DATA / "needs-docker.cwl"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 33
    assert "--no-container, but" not in proc.stderr
    assert "no container engine answers (tried docker, podman)" in proc.stderr
    assert "step 'needs-docker.cwl' has DockerRequirement under 'requirements'" in proc.stderr


@pytest.mark.parametrize("cores", ["-1", "0"])
def test_cores_must_be_more_than_zero(cwl_dask, cores: str) -> None:
    result = cwl_dask("run", "--cores", cores, SAMPLES / "hello" / "hello.cwl")
    assert result.code == 2
    assert "Invalid value for '--cores'" in result.stderr


def test_memory_that_is_no_size_names_the_option(cwl_dask) -> None:
    result = cwl_dask("run", "--memory", "lots", SAMPLES / "hello" / "hello.cwl")
    assert result.code == 2
    assert "Invalid value for '--memory': 'lots' is no memory size" in result.stderr


def _flaky(cwl_dask, tmp_path: Path):
    return cwl_dask(
        "run", "--no-container", "--retry-tool", "2", "--outdir", tmp_path / "out",
        FLAKY, "--counter", tmp_path / "attempts", "--failures", "2",
    )  # fmt: skip


def test_a_retried_attempt_is_one_line_not_a_failure_block(cwl_dask, tmp_path: Path) -> None:
    result = _flaky(cwl_dask, tmp_path)
    assert result.code == 0, result.stderr
    assert "failed (flaky.cwl" not in result.stderr
    assert "last lines of its log" not in result.stderr
    retries = [line for line in result.stderr.splitlines() if "retrying flaky.cwl" in line]
    assert len(retries) == 2
    assert "(attempt 2 of 3; exit code 75, log " in retries[0]


def test_two_retries_are_counted_as_two(cwl_dask, tmp_path: Path) -> None:
    result = _flaky(cwl_dask, tmp_path)
    assert result.code == 0, result.stderr
    [row] = [line.split() for line in result.stderr.splitlines() if line.startswith("flaky.cwl ")]
    assert row[1:3] == ["3", "2"] and row[-1] == "2"  # 3 attempts, 2 failed, 2 retries


def test_each_failed_attempt_keeps_its_log(cwl_dask, tmp_path: Path) -> None:
    result = _flaky(cwl_dask, tmp_path)
    assert result.code == 0, result.stderr
    logs = tmp_path / "out" / ".cwl-dask" / "logs"
    assert sorted(p.name for p in logs.iterdir()) == [
        "flaky.cwl.attempt1.log",
        "flaky.cwl.attempt2.log",
        "flaky.cwl.log",
    ]
    assert "busy, try later" in (logs / "flaky.cwl.attempt1.log").read_text()
    assert "completed success" in (logs / "flaky.cwl.log").read_text()
    assert f"log {logs / 'flaky.cwl.attempt1.log'})" in result.stderr


def test_validate_lists_steps_in_document_order(cwl_dask) -> None:
    results = [cwl_dask("validate", EO / "app-package.cwl") for _ in range(3)]
    assert all(r.code == 0 for r in results)
    assert len({r.stdout for r in results}) == 1
    steps = [line.strip() for line in results[0].stdout.splitlines() if "- " in line]
    assert [s.split()[1] for s in steps] == ["process", "ndvi", "mask", "mosaic", "stac"]


@pytest.mark.skipif(importlib.util.find_spec("bokeh") is None, reason="--report needs bokeh")
def test_report_works_offline_and_names_the_tools_memory(cwl_dask, tmp_path: Path) -> None:
    report = tmp_path / "report.html"
    result = cwl_dask(
        "run", "--no-container", "--memory", "2GiB", "--report", report,
        "--outdir", tmp_path / "out", SAMPLES / "hello" / "hello.cwl",
    )  # fmt: skip
    assert result.code == 0, result.stderr
    html = report.read_text()
    assert "cdn.bokeh.org" not in html  # Bokeh's JavaScript is in the file
    assert "Memory: 0 B" not in html
    assert "Memory: 2.00 GiB for tools" in html
