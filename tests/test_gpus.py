"""GPU steps: ``cwltool:CUDARequirement`` → the Dask resource ``gpu``.

This machine has no GPU. ``nvidia-smi`` is the one stand-in: a script answering ``-L`` and
``-q -x`` as a one-GPU machine does, since cwltool's own check (``cuda_check``, run where the
tool runs) asks it before starting the tool.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import DATA
from cwl_dask.clusters import LocalBackend
from cwl_dask.clusters.local import machine_gpus
from cwl_dask.errors import UnsatisfiableRequest

GPU = DATA / "pools" / "gpu.cwl"

FAKE_SMI = """#!/bin/sh
case "$1" in
  -L) i=0
      while [ $i -lt {count} ]; do echo "GPU $i: Stand-in GPU (UUID: GPU-$i)"; i=$((i+1)); done ;;
  *) echo '<?xml version="1.0" ?><nvidia_smi_log><cuda_version>12.0</cuda_version>'\
'<attached_gpus>{count}</attached_gpus></nvidia_smi_log>' ;;
esac
"""


@pytest.fixture
def one_gpu_machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    smi = bin_dir / "nvidia-smi"
    smi.write_text(FAKE_SMI.replace("{count}", "1"))
    smi.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return bin_dir


def test_a_gpu_step_runs_on_a_local_cluster_declaring_one_gpu_by_config(
    cwl_dask, one_gpu_machine: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DASK_CWL_DASK__LOCAL__GPUS", "1")
    result = cwl_dask("run", "--debug", "--no-progress", "--no-container", "--outdir", "out", GPU)
    assert result.code == 0, result.stderr
    assert "submitted train (1 cores, 256 MiB, 1 GPU)" in result.stderr  # the task asks a gpu
    assert "submitted prepare (1 cores, 256 MiB)" in result.stderr  # and only the GPU step
    assert (tmp_path / "out" / "model.txt").read_text().startswith("trained on GPU")


def test_a_gpu_step_on_a_machine_without_gpus_fails_before_anything_runs(
    cwl_dask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DASK_CWL_DASK__LOCAL__GPUS", "0")
    result = cwl_dask("run", "--no-progress", "--no-container", "--outdir", "out", GPU)
    assert result.code == 2, result.stderr
    assert "step 'train' needs 1 GPU (cwltool:CUDARequirement)" in result.stderr
    assert "the local cluster (0 GPUs)" in result.stderr
    assert "started prepare" not in result.stderr  # nothing ran, not even the CPU step
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out" / "data.txt").exists()


def test_the_local_cluster_counts_the_gpus_nvidia_smi_lists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "nvidia-smi").write_text(FAKE_SMI.replace("{count}", "2"))
    (tmp_path / "nvidia-smi").chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv("DASK_CWL_DASK__LOCAL__GPUS", raising=False)
    assert machine_gpus() == 2
    backend = LocalBackend(cores=2, memory_mib=1024)
    assert backend.fit("train", {"cores": 1, "ram": 256, "gpu": 2})["gpu"] == 2
    with pytest.raises(UnsatisfiableRequest, match="needs 3 GPUs"):
        backend.fit("train", {"cores": 1, "ram": 256, "gpu": 3})
