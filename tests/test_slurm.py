"""HPC for real: cwl-dask on a one-node SLURM (``slurmctld`` + ``slurmd`` + ``munge`` from
Debian), workers submitted with ``sbatch`` by dask-jobqueue, one ``SLURMCluster`` per pool."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from conftest import DATA, SAMPLES, eventually

FACTORY = "cwl_dask.clusters.slurm:slurm_cluster"
EO = (SAMPLES / "eo-ndvi" / "app-package.cwl", SAMPLES / "eo-ndvi" / "params.yml")


def _start(slurm: Any, tmp_path: Path, *args: str | Path, **env: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "cwl_dask", "run", "--no-container", "--no-progress"]
    command += ["--cluster", FACTORY, "--workdir", str(tmp_path / "work")]
    command += ["--outdir", str(tmp_path / "out"), *map(str, args)]
    return subprocess.Popen(
        command,
        cwd=tmp_path,
        env={**os.environ, **slurm.env, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(run: subprocess.Popen[str], slurm: Any, deadline: float) -> tuple[str, str]:
    """The run's output, or a failure showing its stderr, the queue and SLURM's logs."""
    try:
        return run.communicate(timeout=max(1.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        run.kill()
        _, stderr = run.communicate(timeout=30)
        pytest.fail(f"the run did not end in time; squeue: {slurm.squeue()}\n{stderr[-5000:]}")


@pytest.mark.timeout(480)  # worker jobs start one after another on this 2-core node
def test_two_pools_are_two_job_shapes_in_squeue_and_a_cancelled_worker_job_is_survived(
    slurm: Any, tmp_path: Path
) -> None:
    job = tmp_path / "job.yml"
    job.write_text("tiles: [a, b]\npause: 6\n")
    # two crops and the mosaic: two pools once merging allows at most 10 % idle
    run = _start(
        slurm, tmp_path, DATA / "pools" / "mixed.cwl", job, DASK_CWL_DASK__POOL_WASTE="0.1"
    )
    shapes: set[tuple[str, str]] = set()
    cancelled = None
    running_since: dict[str, float] = {}
    deadline = time.monotonic() + 420
    try:
        while run.poll() is None and time.monotonic() < deadline:
            for entry in slurm.squeue():
                shapes.add((entry["cpus"], entry["memory"]))
                if entry["state"] == "RUNNING" and entry["cpus"] == "1":
                    since = running_since.setdefault(entry["id"], time.monotonic())
                    # a crop worker that has had time to start a 6 s crop: cancel its job
                    if cancelled is None and time.monotonic() - since > 4:
                        subprocess.run(
                            ["scancel", entry["id"]], env={**os.environ, **slurm.env}, check=True
                        )
                        cancelled = entry["id"]
            time.sleep(0.5)
        _, stderr = _finish(run, slurm, deadline)
    finally:
        run.kill()
    assert run.returncode == 0, f"{stderr}\n{slurm.logs()}"
    assert cancelled is not None, "no crop worker job ran long enough to be cancelled"
    assert {("1", "512M"), ("2", "3G")} <= shapes  # one job shape per pool
    assert (tmp_path / "out" / "mosaic.txt").read_text() == "a\nb\n"
    assert eventually(lambda: not slurm.squeue(), timeout=60), "worker jobs left behind"


def test_the_eo_sample_runs_through_sbatched_workers(slurm: Any, tmp_path: Path) -> None:
    run = _start(slurm, tmp_path, *EO)
    shapes: set[tuple[str, str, str]] = set()
    deadline = time.monotonic() + 240
    try:
        while run.poll() is None and time.monotonic() < deadline:
            shapes.update((e["name"], e["cpus"], e["memory"]) for e in slurm.squeue())
            time.sleep(0.5)
        stdout, stderr = _finish(run, slurm, deadline)
    finally:
        run.kill()
    assert run.returncode == 0, f"{stderr}\n{slurm.logs()}"
    assert json.loads(stdout)["results"]["class"] == "Directory"
    # one pool (plan: 2 cores, 1024 MiB): its workers were SLURM jobs of that shape
    assert ("cwl-dask-2c-1024m", "2", "1G") in shapes, shapes
    assert eventually(lambda: not slurm.squeue(), timeout=60), "worker jobs left behind"


def test_a_pools_gpus_and_labels_become_the_job_scripts_directives() -> None:
    pytest.importorskip("dask_jobqueue")
    from cwl_dask.clusters.slurm import slurm_cluster

    cluster = slurm_cluster(2, 1024, worker_gpus=1, labels={"partition": "gpu", "zone": "a"})
    try:
        script = cluster.job_script()
    finally:
        cluster.close()
    assert "#SBATCH --gres=gpu:1" in script
    assert "#SBATCH -p gpu" in script  # the partition label
    assert "#SBATCH --constraint=a" in script  # other labels: node features
    assert "--resources cores=2,ram=1024,gpu=1" in script  # what the worker declares
