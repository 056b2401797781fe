"""Store mode: ``--workdir s3://…`` on workers that share no filesystem with the driver.

The workers run in a mount namespace where the driver's inputs, ``--outdir`` and temp
directory are hidden behind an empty tmpfs (``conftest_isolated``), and S3 is moto's server
on 127.0.0.1: whatever a worker reads or writes must go through the store.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from conftest import SAMPLES, normalise
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
from reliability import parent_of, wait_for_lines

pytestmark = pytest.mark.timeout(600)


SAMPLE_RUNS = [
    ("eo-ndvi/app-package.cwl", "eo-ndvi/params.yml"),
    ("patterns/app-package.cwl#patterns", "patterns/params.yml"),
]


@pytest.mark.parametrize("where", ["local", "store"], ids=["local-outdir", "outdir-in-store"])
@pytest.mark.parametrize(("package", "job"), SAMPLE_RUNS, ids=["eo-ndvi", "patterns"])
def test_a_sample_on_workers_without_shared_files_gives_cwltool_s_outputs(
    isolated_cluster: Any,
    moto_server: Any,
    samples: Path,
    bucket: str,
    package: str,
    job: str,
    where: str,
) -> None:
    area = samples.parent
    outdir = outdir_for(area, bucket, where)
    done = cwl_dask(
        area, moto_server.environment(), "--no-container", "--scheduler", isolated_cluster.address,
        "--workdir", f"s3://{bucket}/runs", "--outdir", outdir,
        f"{samples}/{package}", samples / job,
    )  # fmt: skip
    assert done.code == 0, done.stderr
    reference = cwltool(
        area, "--no-container", "--outdir", area / f"ref-{bucket}", f"{samples}/{package}",
        samples / job,
    )  # fmt: skip
    assert reference.code == 0, reference.stderr
    fs = store_fs(moto_server)
    assert normalise(done.output()) == normalise(reference.output())
    assert results_tree(fs, outdir) == file_tree(area / f"ref-{bucket}")
    assert_locations_hold_their_files(fs, done.output(), outdir)
    assert objects_under(fs, f"{bucket}/runs") == [], "the run's prefix was kept"


def test_an_outdir_in_the_store_publishes_checked_stac_with_relative_hrefs_and_counts_bytes(
    isolated_cluster: Any, moto_server: Any, samples: Path, bucket: str
) -> None:
    area = samples.parent
    done = cwl_dask(
        area,
        moto_server.environment(),
        "--no-container",
        "--scheduler",
        isolated_cluster.address,
        "--workdir",
        f"s3://{bucket}/runs",
        "--outdir",
        f"s3://{bucket}/results",
        "--usage-report",
        area / f"usage-{bucket}.json",
        "--stac",
        samples / "eo-ndvi/app-package.cwl",
        samples / "eo-ndvi/params.yml",
    )
    assert done.code == 0, done.stderr
    assert done.output()["results"]["location"] == f"s3://{bucket}/results/catalog"
    # --stac checked the catalog before it was published
    assert "Catalog 'ndvi-results': 5 items, 13 assets; JSON schema: valid" in done.stderr
    usage = json.loads((area / f"usage-{bucket}.json").read_text())
    steps = {row["step"]: row for row in usage["steps"]}
    assert steps["ndvi"]["bytes_downloaded"] > 0 and steps["ndvi"]["bytes_uploaded"] > 0
    assert sum(c["bytes_uploaded"] for c in usage["children"]) == sum(
        row["bytes_uploaded"] for row in usage["steps"]
    )
    fs = store_fs(moto_server)
    catalog = json.loads(fs.cat_file(f"{bucket}/results/catalog/catalog.json"))
    assert all(not link["href"].startswith(("/", "file:", "s3:")) for link in catalog["links"])


def test_expressions_on_the_driver_read_files_from_the_store(
    isolated_cluster: Any, moto_server: Any, samples: Path, bucket: str
) -> None:
    area = samples.parent
    done = cwl_dask(
        area, moto_server.environment(), "--no-container", "--scheduler", isolated_cluster.address,
        "--workdir", f"s3://{bucket}/runs", "--outdir", area / f"out-{bucket}",
        samples / "data/contents-step.cwl",
    )  # fmt: skip
    assert done.code == 0, done.stderr
    assert done.output() == {"out": "from-the-worker"}


def _wrapped_job(
    fs: Any, samples: Path, area: Path, bucket: str, target: str | None, name: str
) -> Path:
    """The wrapped patterns sample's job: its inputs are STAC references in the bucket."""
    if not fs.exists(f"{bucket}/inputs/mask-a"):
        fs.put(f"{samples / 'patterns' / 'data'}/", f"{bucket}/inputs/", recursive=True)
    job = area / f"wrapped-{bucket}-{name}.yml"
    job.write_text(
        json.dumps(
            {
                "scene": {"value": f"s3://{bucket}/inputs/scene-a/catalog.json"},
                "series": [{"value": f"s3://{bucket}/inputs/series-{i}"} for i in (1, 2, 3)],
                "mask": {"value": f"s3://{bucket}/inputs/mask-a"},
                "threshold": 0.5,
                **({"stage_out_target": target} if target else {}),
            }
        )
    )
    return job


def _staged(fs: Any, prefix: str) -> dict[str, bytes]:
    """What was staged out below ``s3://prefix/``: relative path → content, with the
    prefix itself blanked (published hrefs are absolute)."""
    return {
        path[len(prefix) + 1 :]: fs.cat_file(path).replace(f"s3://{prefix}/".encode(), b"")
        for path in objects_under(fs, prefix)
    }


#: Where the wrapped run stages out: (stage_out_target, --outdir) -> the objects' prefix.
WRAPPED_TARGETS = {
    ("given", "local"): "staged",
    ("default", "local"): "runs/staged-out",  # the workers could not write the local --outdir
    ("default", "store"): "results/staged-out",
}


@pytest.mark.parametrize(
    ("target", "where"), list(WRAPPED_TARGETS), ids=["-".join(k) for k in WRAPPED_TARGETS]
)
def test_the_wrapped_patterns_sample_stages_out_what_cwltool_stages_out(
    isolated_cluster: Any,
    moto_server: Any,
    samples: Path,
    bucket: str,
    target: str,
    where: str,
) -> None:
    """With no stage_out_target the default target is ``<--outdir>/staged-out`` for an
    ``--outdir`` in the store, else ``<--workdir>/staged-out``: the workers could not write
    the driver's --outdir. The reference is cwltool running the document ``cwl-dask wrap``
    writes, on the driver."""
    area = samples.parent
    fs = store_fs(moto_server)
    given = f"s3://{bucket}/staged" if target == "given" else None
    done = cwl_dask(
        area, moto_server.environment(), "--no-container", "--scheduler",
        isolated_cluster.address, "--workdir", f"s3://{bucket}/runs",
        "--outdir", outdir_for(area, bucket, where), "--wrap",
        samples / "patterns/app-package.cwl",
        _wrapped_job(fs, samples, area, bucket, given, "ours"),
    )  # fmt: skip
    assert done.code == 0, done.stderr
    staged_at = f"{bucket}/{WRAPPED_TARGETS[target, where]}"
    wrapped = area / f"wrapped-{bucket}.cwl"
    subprocess.run(
        [sys.executable, "-m", "cwl_dask", "wrap", "--staging-python", sys.executable,
         "-o", wrapped, samples / "patterns/app-package.cwl"],
        check=True, capture_output=True,
    )  # fmt: skip
    reference = _run_with_env(
        area, moto_server.environment(), "--no-container", "--outdir", area / f"ref-{bucket}",
        f"{wrapped}#main", _wrapped_job(fs, samples, area, bucket, f"s3://{bucket}/refstg", "ref"),
    )  # fmt: skip
    assert reference.code == 0, reference.stderr
    blank = {f"s3://{staged_at}/": "", f"s3://{bucket}/refstg/": ""}
    assert _uris_blanked(done.output(), blank) == _uris_blanked(reference.output(), blank)
    assert _values(done.output()) and all(fs.exists(v["value"]) for v in _values(done.output()))
    staged = _staged(fs, staged_at)
    assert any(name.endswith("catalog.json") for name in staged)
    assert staged == _staged(fs, f"{bucket}/refstg")


def _run_with_env(area: Path, env: dict[str, str], *args: str | Path) -> Any:
    """cwltool with the S3 settings, kept for its tools (the staging tools read and write
    the store; cwltool gives tools an environment of its own otherwise)."""
    from isolated import _run

    kept = [option for name in env for option in ("--preserve-environment", name)]
    return _run([sys.executable, "-m", "cwltool", *kept, *map(str, args)], area, env)


def _uris_blanked(value: Any, blank: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: _uris_blanked(v, blank) for k, v in value.items()}
    if isinstance(value, list):
        return [_uris_blanked(v, blank) for v in value]
    if isinstance(value, str):
        for old, new in blank.items():
            value = value.replace(old, new)
    return value


def _values(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        if "value" in value and isinstance(value["value"], str):
            return [value]
        return [v for item in value.values() for v in _values(item)]
    if isinstance(value, list):
        return [v for item in value for v in _values(item)]
    return []


def test_a_worker_killed_mid_run_is_replaced_and_the_run_finishes_correct(
    isolated_cluster: Any, moto_server: Any, samples: Path, bucket: str, tmp_path: Path
) -> None:
    area = samples.parent
    marker = tmp_path / "pids.txt"  # outside the hidden area: the worker's tool writes it
    tmp = area / "driver-tmp"
    tmp.mkdir(exist_ok=True)
    run = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cwl_dask",
            "run",
            "--no-container",
            "--scheduler",
            isolated_cluster.address,
            "--workdir",
            f"s3://{bucket}/runs",
            "--outdir",
            area / f"out-{bucket}",
            samples / "data/nap.cwl",
            "--marker",
            marker,
            "--seconds",
            "4",
        ],
        cwd=area,
        env={**os.environ, **moto_server.environment(), "TMPDIR": str(tmp)},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    first = wait_for_lines(marker, 2, run)
    worker = parent_of(int(first[0].split()[0]))  # the tool is the worker's child
    os.kill(worker, signal.SIGKILL)
    second = wait_for_lines(marker, 4, run, timeout=120)[2:]
    assert second[0].split()[1] != first[0].split()[1]
    out, err = run.communicate(timeout=180)
    assert run.returncode == 0, err
    output = json.loads(out)
    assert (area / f"out-{bucket}" / "out.txt").read_text() == "rested\n"
    assert output["out"]["size"] == len("rested\n")
    assert objects_under(store_fs(moto_server), f"{bucket}/runs") == []


def _marks_of(marker: Path, job: str, count: int, run: subprocess.Popen[str]) -> list[str]:
    """The first ``count`` lines "job pid dir" that scatter job ``job`` wrote to ``marker``."""
    deadline = time.monotonic() + 120
    while True:
        wait_for_lines(marker, 1, run)
        mine = [line for line in marker.read_text().splitlines() if line.split()[0] == job]
        if len(mine) >= count:
            return mine[:count]
        assert time.monotonic() < deadline, f"job {job} did not write {count} lines"
        time.sleep(0.05)


def test_what_a_lost_attempt_uploaded_is_never_read(
    isolated_cluster: Any, moto_server: Any, samples: Path, bucket: str, tmp_path: Path
) -> None:
    """A batch (one Dask task) whose first invocation finished and uploaded its output
    loses its worker during the second: the rerun's objects make the output, not the lost
    attempt's, which is altered in the store to tell."""
    area = samples.parent
    marker, flag = tmp_path / "marks.txt", tmp_path / "flag"
    (area / "driver-tmp").mkdir(exist_ok=True)
    run = subprocess.Popen(
        [
            sys.executable, "-m", "cwl_dask", "run", "--no-container", "--scheduler",
            isolated_cluster.address, "--workdir", f"s3://{bucket}/runs",
            "--outdir", area / f"out-{bucket}", samples / "data/batch-nap.cwl",
            "--marker", marker, "--flag", flag, "--sleeper", "4",
        ],
        cwd=area,
        # 2 slots: jobs 1 and 2 run alone, then 3-9 and 10-16 are one task each
        env={
            **os.environ, **moto_server.environment(), "TMPDIR": str(area / "driver-tmp"),
            "DASK_CWL_DASK__BATCH__TASKS_PER_SLOT": "1",
        },
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    [sleeping] = _marks_of(marker, "4", 1, run)  # job 3 finished before it, in its task
    os.kill(parent_of(int(sleeping.split()[1])), signal.SIGKILL)  # the tool's worker
    fs = store_fs(moto_server)
    lost = [
        path
        for path in objects_under(fs, f"{bucket}/runs")
        if path.endswith("/out.txt") and fs.cat_file(path) == b"3\n"
    ]
    # Usually one; two when a loaded machine already lost an earlier attempt of the batch.
    assert lost, "job 3 of the lost attempt had not uploaded its output"
    for path in lost:
        fs.pipe_file(path, b"LOST\n")
    flag.touch()
    _marks_of(marker, "3", 2, run)  # job 3 ran again: its first result never reached us
    out, err = run.communicate(timeout=180)
    assert run.returncode == 0, err
    outs = [Path(f["path"]).read_text() for f in json.loads(out)["outs"]]
    assert outs == [f"{i}\n" for i in range(1, 17)]
    assert objects_under(fs, f"{bucket}/runs") == []


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("missing-bucket", "the bucket does not exist"),
        ("unreachable", "cannot be reached"),
        ("no-credentials", "no credentials"),
    ],
)
def test_a_store_that_cannot_be_used_is_refused_before_anything_runs(
    moto_server: Any, tmp_path: Path, setting: str, expected: str
) -> None:
    env = moto_server.environment()
    url = f"s3://no-such-bucket-{uuid.uuid4().hex[:6]}/runs"
    if setting == "unreachable":
        env["AWS_ENDPOINT_URL"] = "http://127.0.0.1:9"
        url = "s3://work/runs"
    elif setting == "no-credentials":
        env.update(
            AWS_ACCESS_KEY_ID="",
            AWS_SECRET_ACCESS_KEY="",
            AWS_EC2_METADATA_DISABLED="true",
            AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
            AWS_CONFIG_FILE=str(tmp_path / "none"),
        )
        url = "s3://work/runs"
    done = cwl_dask(
        tmp_path,
        env,
        "--no-container",
        "--workdir",
        url,
        "--outdir",
        tmp_path / "out",
        SAMPLES / "hello/hello.cwl",
        SAMPLES / "hello/params.yml",
    )
    assert done.code == 2, done.stderr
    assert url in done.stderr and expected in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


def test_no_overwrite_refuses_an_outdir_prefix_that_holds_objects(
    moto_server: Any, bucket: str, tmp_path: Path
) -> None:
    store_fs(moto_server).pipe_file(f"{bucket}/results/old.txt", b"kept")
    done = cwl_dask(
        tmp_path, moto_server.environment(), "--no-container", "--no-overwrite",
        "--workdir", f"s3://{bucket}/runs", "--outdir", f"s3://{bucket}/results",
        SAMPLES / "hello/hello.cwl", SAMPLES / "hello/params.yml",
    )  # fmt: skip
    assert done.code == 2, done.stderr
    assert f"s3://{bucket}/results" in done.stderr and "old.txt" in done.stderr
    assert store_fs(moto_server).cat_file(f"{bucket}/results/old.txt") == b"kept"
