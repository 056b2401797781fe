"""``coresMax`` enforced for the tool process (``worker/cpu_limit.py``), and the engine's
limits and GPU flag for containerised tools (``worker/tool_classes.py``).

``burn.cwl`` runs four busy processes for 3 s of wall time and reports the cores they used
(their CPU seconds over the wall time): on this 2-core machine about 2 unlimited.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from conftest import DATA, podman_ready
from cwl_dask.worker.cpu_limit import PREFIX, find_cpu_cgroups

BURN = DATA / "pools" / "burn.cwl"
CGROUPS = find_cpu_cgroups()
needs_cgroups = pytest.mark.skipif(
    CGROUPS is None, reason="no writable CPU cgroup here (cgroup v1 as root, or delegated v2)"
)


def _logs(outdir: Path) -> str:
    """The invocation logs of a run (cwltool's lines, the command line included)."""
    return "".join(p.read_text() for p in sorted((outdir / ".cwl-dask" / "logs").rglob("*.log")))


def _cores_used(cwl_dask, *args: str) -> float:
    result = cwl_dask("run", "--no-container", "--debug", "--outdir", "out", BURN, *args)
    assert result.code == 0, result.stderr
    return float(result.output()["cores_used"])


@needs_cgroups
def test_a_tool_gets_no_more_cpu_than_its_cores_max(cwl_dask) -> None:
    assert _cores_used(cwl_dask, "--cores_max", "0.25") < 0.4


@needs_cgroups
def test_a_tool_without_a_cores_max_is_not_limited(cwl_dask) -> None:
    # Four busy processes take both cores of an idle machine; other tests share it (load 7
    # seen), but four runnable processes still get far more than coresMax 0.25 ever allows.
    assert _cores_used(cwl_dask) > 0.5


@needs_cgroups
def test_only_an_explicit_cores_max_starts_the_tool_in_a_cgroup(cwl_dask, tmp_path: Path) -> None:
    limited = cwl_dask(
        "run", "--no-container", "--debug", "--outdir", "a", BURN, "--cores_max", "1"
    )
    plain = cwl_dask("run", "--no-container", "--debug", "--outdir", "b", BURN, "--seconds", "0.1")
    assert limited.code == 0 and plain.code == 0, limited.stderr + plain.stderr
    assert re.search(
        r"/bin/sh \\\s+-c \\\s+'echo \$\$ > \"\$0\" && exec \"\$@\"' \\\s+\S+/cgroup\.procs",
        _logs(tmp_path / "a"),
    )
    assert "burn.cwl" in _logs(tmp_path / "b") and "cgroup.procs" not in _logs(tmp_path / "b")


@needs_cgroups
def test_the_tool_s_cgroup_is_gone_when_the_run_ends(cwl_dask) -> None:
    assert CGROUPS is not None
    result = cwl_dask("run", "--no-container", "--outdir", "out", BURN, "--seconds", "0.5",
                      "--cores_max", "1")  # fmt: skip
    assert result.code == 0, result.stderr
    left = [
        name
        for name in os.listdir(CGROUPS.parent)
        if name.startswith(PREFIX) and not _alive(int(name[len(PREFIX) :].split("-")[0]))
    ]
    assert left == []


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _fake_tree(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def _find(tmp_path: Path, own: str, files: dict[str, str]) -> tuple[int, str] | None:
    """find_cpu_cgroups on a fake /proc/self/cgroup (``own``) and cgroup tree (``files``)."""
    (tmp_path / "proc").write_text(own)
    _fake_tree(tmp_path / "fs", files)
    found = find_cpu_cgroups(str(tmp_path / "proc"), str(tmp_path / "fs"))
    return None if found is None else (found.version, found.parent)


V2_ROOT = {"cgroup.controllers": "cpu memory\n"}


def test_cgroup_v2_is_used_where_the_cpu_controller_is_delegated(tmp_path: Path) -> None:
    tree = {**V2_ROOT, "worker.slice/cgroup.subtree_control": "cpu memory\n"}
    found = _find(tmp_path, "0::/worker.slice\n", tree)
    assert found == (2, str(tmp_path / "fs" / "worker.slice"))


def test_cgroup_v2_beside_a_worker_in_a_leaf_of_a_delegated_subtree(tmp_path: Path) -> None:
    tree = {
        **V2_ROOT,
        "svc.service/cgroup.subtree_control": "cpu\n",
        "svc.service/worker/cgroup.subtree_control": "",
    }
    found = _find(tmp_path, "0::/svc.service/worker\n", tree)
    assert found == (2, str(tmp_path / "fs" / "svc.service"))


def test_cgroup_v2_without_the_cpu_controller_gives_nothing(tmp_path: Path) -> None:
    tree = {**V2_ROOT, "worker.slice/cgroup.subtree_control": "memory\n"}
    assert _find(tmp_path, "0::/worker.slice\n", tree) is None


def test_cgroup_v1_is_found_below_the_worker_s_own_cpu_cgroup(tmp_path: Path) -> None:
    own = "4:memory:/m\n3:cpu,cpuacct:/pod/worker\n0::/\n"
    found = _find(tmp_path, own, {"cpu,cpuacct/pod/worker/cpu.cfs_quota_us": "-1\n"})
    assert found == (1, str(tmp_path / "fs" / "cpu,cpuacct" / "pod" / "worker"))


def test_a_v1_cgroup_gets_the_quota_of_its_cores(tmp_path: Path) -> None:
    from cwl_dask.worker.cpu_limit import CpuCgroups

    made = CpuCgroups(str(tmp_path), 1).create(1.5)
    assert Path(made, "cpu.cfs_quota_us").read_text() == "150000"
    assert Path(made, "cpu.cfs_period_us").read_text() == "100000"


CONTAINED = """cwlVersion: v1.2
class: CommandLineTool
requirements:
  DockerRequirement: {dockerPull: "docker.io/library/debian:stable-slim"}
  ResourceRequirement: {coresMax: 0.5, ramMax: 64}
baseCommand: [sh, -c]
arguments:
  - cat /sys/fs/cgroup/cpu.max 2>/dev/null || cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us;
    cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes
inputs: []
outputs:
  limits: stdout
"""


@pytest.mark.podman
@pytest.mark.skipif(not podman_ready(), reason="needs podman and ci/setup-podman.sh's images")
def test_a_contained_tool_gets_its_cores_max_and_ram_max_from_the_engine(
    cwl_dask, tmp_path: Path
) -> None:
    (tmp_path / "contained.cwl").write_text(CONTAINED)
    result = cwl_dask("run", "--debug", "--outdir", "out", "contained.cwl")
    assert result.code == 0, result.stderr
    assert "--cpus=0.5" in _logs(tmp_path / "out") and "--memory=64m" in _logs(tmp_path / "out")
    limits = (tmp_path / "out" / Path(result.output()["limits"]["path"]).name).read_text()
    assert limits.split()[0] == "50000" and str(64 * 2**20) in limits  # v1: quota, bytes


GPU_CONTAINED = """cwlVersion: v1.2
class: CommandLineTool
$namespaces: {cwltool: "http://commonwl.org/cwltool#"}
requirements:
  DockerRequirement: {dockerPull: "docker.io/library/debian:stable-slim"}
hints:
  cwltool:CUDARequirement: {cudaVersionMin: "11.4", cudaComputeCapability: "3.0",
                            cudaDeviceCountMin: 1}
baseCommand: ["true"]
inputs: []
outputs: []
"""


@pytest.mark.podman
@pytest.mark.skipif(not podman_ready(), reason="needs podman and ci/setup-podman.sh's images")
def test_the_gpu_flag_cwltool_gives_the_engine_is_kept(
    cwl_dask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """This machine has no GPU: the run itself may fail in podman; what is checked is the
    container command cwltool logs, through the worker's own job classes."""
    from test_gpus import FAKE_SMI

    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "nvidia-smi").write_text(FAKE_SMI.replace("{count}", "1"))
    (tmp_path / "bin" / "nvidia-smi").chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("DASK_CWL_DASK__LOCAL__GPUS", "1")
    (tmp_path / "gpu.cwl").write_text(GPU_CONTAINED)
    result = cwl_dask("run", "--debug", "--outdir", "out", "gpu.cwl")
    assert "--gpus=1" in _logs(tmp_path / "out"), result.stderr
