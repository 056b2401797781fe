"""Steps that use Dask themselves: calrissian's ``DaskGatewayRequirement``.

The requirement is recognised in every spelling, checked, evaluated with the step's inputs
and shown by ``cwl-dask plan``; a run gives each invocation its own cluster — on the run's
Dask Gateway (a real dask-gateway-server) or a local one — which the tool really uses and
which is shut down afterwards, also when the tool fails.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import DATA, SAMPLES, eventually
from cwl_dask.clusters import stepclusters
from cwl_dask.clusters.sizing import format_plan, load_job_order, plan
from cwl_dask.documents.loading import load_process
from cwl_dask.errors import InvalidInputError, StepClusterError

SAMPLE = SAMPLES / "dask-step" / "app-package.cwl"
PARAMS = SAMPLES / "dask-step" / "params.yml"
STEP_DATA = DATA / "dask-step"
#: The sample's raster statistics: the same whichever cluster computes them.
STATS = {"mean": 0.00195, "std": 0.502312, "min": -1.0, "max": 0.999999, "above_threshold": 784602}
#: Task prefixes of the sample's dask.array graph (mean, std, min, max of a product).
SAMPLE_PREFIXES = {"arange", "mul", "mean_chunk", "chunk_min", "chunk_max"}
ALL_STATUSES = ["pending", "running", "stopping", "stopped", "failed"]

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")

VALID = {
    "class": stepclusters.URI,
    "workerCores": 1,
    "workerCoresLimit": 2,
    "workerMemory": "4G",
    "clusterMaxCores": 8,
    "clusterMaxMemory": "10G",
}


@pytest.fixture
def tools_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """The sample's ``python3`` is this interpreter, which has dask and dask-gateway."""
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")


def _refuses_connections(address: str) -> bool:
    host, port = address.removeprefix("tcp://").rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=2).close()
    except OSError:
        return True
    return False


# --------------------------------------------------------------------------- the requirement


@pytest.mark.parametrize(
    "cls",
    [
        "https://calrissian-cwl.github.io/schema#DaskGatewayRequirement",
        "calrissian:DaskGatewayRequirement",
        "https://example.org/ext#DaskGatewayRequirement",
        "https://example.org/ext/DaskGatewayRequirement",
        "DaskGatewayRequirement",
    ],
)
def test_every_namespace_of_the_requirement_is_recognised(cls: str) -> None:
    assert stepclusters.is_requirement({"class": cls})


@pytest.mark.parametrize("cls", ["MyDaskGatewayRequirement", "DaskGatewayRequirements", ""])
def test_similar_class_names_are_not_the_requirement(cls: str) -> None:
    assert not stepclusters.is_requirement({"class": cls})


def test_workers_are_as_many_as_both_cluster_limits_allow() -> None:
    cluster = stepclusters.evaluate(VALID, None, "step 's'")
    # calrissian: min(clusterMaxCores // workerCoresLimit, clusterMaxMemory // workerMemory)
    assert cluster.workers == min(8 // 2, 10 // 4) == 2
    assert stepclusters.evaluate({**VALID, "clusterMaxMemory": "64G"}, None, "s").workers == 4


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("4G", 4 * 2**30),  # calrissian: G is binary
        ("4GB", 4 * 10**9),  # calrissian: GB is decimal
        ("4Gi", 4 * 2**30),  # Kubernetes
        ("512MiB", 512 * 2**20),
        ("1.5G", 3 * 2**29),
        (" 2 t ", 2 * 2**40),
    ],
)
def test_memory_sizes_follow_calrissian_and_kubernetes_units(text: str, size: int) -> None:
    assert stepclusters.parse_memory(text) == size


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"workerMemory": None}, "lacks workerMemory"),
        ({"workerCores": "2"}, "workerCores must be a positive integer, not '2'"),
        ({"workerCores": True}, "workerCores must be a positive integer"),
        ({"clusterMaxCores": 0}, "clusterMaxCores must be a positive integer, not 0"),
        ({"workerCoresLimit": -1}, "workerCoresLimit must be a positive integer, not -1"),
        ({"workerCores": 1.5}, "workerCores must be a positive integer, not 1.5"),
        ({"workerMemory": 4096}, "workerMemory must be a memory size such as '4G', not 4096"),
        ({"clusterMaxMemory": "16"}, "clusterMaxMemory: '16' is not a memory size with a unit"),
        ({"workerMemory": "0G"}, "workerMemory must be positive"),
        ({"workerCoresLimit": 1, "workerCores": 2}, "workerCoresLimit (1) is less than"),
        ({"clusterMaxMemory": "2G"}, "allows no worker"),
        ({"maxWorkers": 3}, "unknown field 'maxWorkers'"),
    ],
)
def test_an_invalid_requirement_is_an_error_naming_the_step(
    change: dict[str, Any], message: str
) -> None:
    requirement = {k: v for k, v in {**VALID, **change}.items() if v is not None}
    with pytest.raises(InvalidInputError) as err:
        stepclusters.evaluate(requirement, None, "step 'crunch'")
    assert str(err.value).startswith("step 'crunch': DaskGatewayRequirement")
    assert message in str(err.value)


def test_the_old_spelling_clustermaxcore_is_accepted_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    old = {k: v for k, v in VALID.items() if k != "clusterMaxCores"}
    old["clusterMaxCore"] = 8
    with caplog.at_level(logging.WARNING, logger="cwl_dask"):
        cluster = stepclusters.evaluate(old, None, "step 's'")
    assert cluster.cluster_max_cores == 8
    assert "'clusterMaxCore' is an old spelling of 'clusterMaxCores'" in caplog.text
    with pytest.raises(InvalidInputError, match="both 'clusterMaxCore' and 'clusterMaxCores'"):
        stepclusters.evaluate({**old, "clusterMaxCores": 8}, None, "s")


# --------------------------------------------------------------------------- gateway options


def _options(memory: Any, limit: bool = True) -> Any:
    from dask_gateway.options import Integer, Options, String

    fields = [Integer("worker_cores", 1, min=1, max=4), memory, String("image", "")]
    if limit:
        fields.append(Integer("worker_cores_limit", 0, min=0, max=8))
    return Options(*fields)


def test_worker_memory_goes_to_a_numeric_gateway_option_in_gib_and_to_a_string_one_as_given():
    from dask_gateway.options import Float, String

    cluster = stepclusters.evaluate(VALID | {"workerMemory": "1536M"}, None, "s")
    numeric = _options(Float("worker_memory", 1.0, min=0.25, max=8))
    assert stepclusters._set_gateway_options(numeric, cluster, "img:1") == []
    assert dict(numeric) == {
        "worker_cores": 1,
        "worker_memory": 1.5,
        "image": "img:1",
        "worker_cores_limit": 2,
    }
    text = _options(String("worker_memory", "1G"), limit=False)
    assert stepclusters._set_gateway_options(text, cluster, None) == ["worker_cores_limit"]
    assert text["worker_memory"] == "1536M"


def test_gateway_options_out_of_range_or_missing_are_errors() -> None:
    from dask_gateway.options import Float, Options

    cluster = stepclusters.evaluate(
        VALID | {"workerMemory": "16G", "clusterMaxMemory": "64G"}, None, "s"
    )
    options = _options(Float("worker_memory", 1.0, min=0.25, max=8))
    with pytest.raises(StepClusterError, match=r"refuses worker_memory=16\.0"):
        stepclusters._set_gateway_options(options, cluster, None)
    with pytest.raises(StepClusterError, match="no worker_cores/worker_memory"):
        stepclusters._set_gateway_options(Options(), cluster, None)


# --------------------------------------------------------------------------- plan


def test_plan_shows_the_step_cluster_evaluated_with_the_job_order() -> None:
    process = load_process(str(SAMPLE))
    result = plan(process, {**load_job_order(PARAMS), "max_cores": 3})
    [step] = result.steps
    # clusterMaxCores: $(inputs.max_cores) = 3 cores, 4G of 1G workers: 3 workers
    assert step.dask_cluster == {
        "worker_cores": 1,
        "worker_cores_limit": 1,
        "worker_memory": "1G",
        "cluster_max_cores": 3,
        "cluster_max_memory": "4G",
        "workers": 3,
    }
    assert (
        "raster_stats: own Dask cluster (DaskGatewayRequirement): 3 workers of 1 core "
        "(limit 1) and 1G; cluster at most 3 cores and 4G"
    ) in format_plan(result)


def test_plan_reads_a_hint_in_another_namespace_and_says_when_inputs_are_missing() -> None:
    process = load_process(str(STEP_DATA / "other-namespace-hint.cwl"))
    [known] = plan(process, {"cores": 2, "memory": "8G"}).steps
    assert known.dask_cluster is not None
    assert known.dask_cluster["workers"] == min(8 // 2, 64 // 8) == 4
    [unknown] = plan(process).steps
    assert unknown.dask_cluster is None
    assert "DaskGatewayRequirement: its expressions need inputs (no job order)" in unknown.notes


def test_loading_for_validate_and_plan_refuses_an_invalid_requirement() -> None:
    with pytest.raises(InvalidInputError, match="tool 'sloppy': DaskGatewayRequirement"):
        load_process(str(STEP_DATA / "bad-static.cwl"))


def test_plan_refuses_an_invalid_requirement() -> None:
    process = load_process(str(STEP_DATA / "bad-expression.cwl"))
    with pytest.raises(InvalidInputError, match="step 'crunch': DaskGatewayRequirement"):
        plan(process, {"cores": 0})


# --------------------------------------------------------------------------- runs: errors


def test_a_static_error_exits_2_before_anything_runs(cwl_dask) -> None:
    result = cwl_dask("run", "--no-container", STEP_DATA / "bad-static.cwl", timeout=120)
    assert result.code == 2, result.stderr
    assert "tool 'sloppy': DaskGatewayRequirement workerMemory: '4096'" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_expression_error_exits_2_naming_the_step(cwl_dask, tmp_path: Path) -> None:
    job = tmp_path / "job.yml"
    job.write_text("cores: 0\n")
    out = tmp_path / "out"
    result = cwl_dask(
        "run", "--no-container", "--outdir", out, STEP_DATA / "bad-expression.cwl", job
    )
    assert result.code == 2, result.stderr
    assert "step 'crunch': DaskGatewayRequirement clusterMaxCores must be a positive" in (
        result.stderr
    )
    assert "Traceback" not in result.stderr


# --------------------------------------------------------------------------- runs: local


def test_sample_runs_on_its_own_local_cluster_which_is_closed_afterwards(
    cwl_dask, tools_on_path, tmp_path: Path
) -> None:
    result = cwl_dask("run", "--no-container", "--outdir", tmp_path / "out", SAMPLE, PARAMS)
    assert result.code == 0, result.stderr
    stats = json.loads((tmp_path / "out" / "stats.json").read_text())
    assert {k: stats[k] for k in STATS} == STATS
    report = json.loads((tmp_path / "out" / "dask.json").read_text())
    # the tool got DASK_SCHEDULER_ADDRESS, and its graph ran on that scheduler
    assert report["mode"] == "scheduler"
    assert set(report["task_prefixes"]) >= SAMPLE_PREFIXES
    # sized by the requirement (2 cores / 1 core per worker), within this machine's cores
    assert report["workers"] == min(2, os.cpu_count() or 1)
    address = report["cluster"]
    assert f"local Dask cluster {address}: {report['workers']} worker" in result.stderr
    assert f"local Dask cluster {address} closed" in result.stderr
    assert _refuses_connections(address)


def test_a_local_step_cluster_is_closed_when_the_tool_fails() -> None:
    cluster = stepclusters.evaluate(VALID | {"clusterMaxCores": 2}, None, "s")
    target = stepclusters.shipped(cluster, backend=None, image=None)
    lines: list[str] = []
    with (
        pytest.raises(RuntimeError, match="tool failed"),
        stepclusters.provided_cluster(target, "s", lines.append) as env,
    ):
        address = env["DASK_SCHEDULER_ADDRESS"]
        assert not _refuses_connections(address)
        raise RuntimeError("tool failed")
    assert _refuses_connections(address)
    assert lines[-1] == f"step 's': local Dask cluster {address} closed"


# --------------------------------------------------------------------------- runs: gateway


def _clusters(gateway_client: Any, status: Any = None) -> set[str]:
    return {report.name for report in gateway_client.list_clusters(status=status)}


def _run_on_gateway(cwl_dask, server: Any, tmp_path: Path, *args: Any) -> Any:
    return cwl_dask(
        "run", "--no-container", "--gateway", server.url, "--workdir", tmp_path / "work",
        "--outdir", tmp_path / "out", *args,
    )  # fmt: skip


def test_sample_on_the_gateway_gets_its_own_cluster_with_the_requirements_options(
    gateway_server, gateway_client, gateway_env, cwl_dask, tools_on_path, tmp_path: Path
) -> None:
    before = _clusters(gateway_client, ALL_STATUSES)
    result = _run_on_gateway(cwl_dask, gateway_server, tmp_path, SAMPLE, PARAMS)
    assert result.code == 0, result.stderr
    stats = json.loads((tmp_path / "out" / "stats.json").read_text())
    assert {k: stats[k] for k in STATS} == STATS

    report = json.loads((tmp_path / "out" / "dask.json").read_text())
    assert report["mode"] == "gateway"  # the tool connected by DASK_CLUSTER
    step_cluster = report["cluster"]
    created = _clusters(gateway_client, ALL_STATUSES) - before
    assert step_cluster in created and len(created) == 2  # the run's cluster and the step's
    options = gateway_client.get_cluster(step_cluster).options
    assert options["worker_cores"] == 1
    assert options["worker_cores_limit"] == 1
    assert options["worker_memory"] == 1.0  # "1G", in the gateway's GiB
    assert options["image"] == "ghcr.io/dask/dask:2026.8.0"  # the tool's DockerRequirement

    records = gateway_server.records(step_cluster)
    workers = [r for r in records if r["event"] == "worker"]
    assert 1 <= len(workers) <= 2  # scaled to min(2 // 1, 4G // 1G) = 2
    prefixes = {r["prefix"] for r in records if r["event"] == "task"}
    assert prefixes >= SAMPLE_PREFIXES  # its scheduler ran the tool's graph
    assert set(report["task_prefixes"]) <= prefixes
    # the run's own cluster ran the step, not the tool's graph
    [run_cluster] = created - {step_cluster}
    run_prefixes = {r["prefix"] for r in gateway_server.records(run_cluster) if "prefix" in r}
    assert "raster_stats" in run_prefixes and not SAMPLE_PREFIXES & run_prefixes

    assert eventually(lambda: step_cluster in _clusters(gateway_client, "stopped"))
    assert eventually(lambda: not _clusters(gateway_client)), "a cluster is left running"


def test_a_gateway_step_cluster_is_shut_down_when_the_tool_fails(
    gateway_server, gateway_client, gateway_env, cwl_dask, tmp_path: Path
) -> None:
    before = _clusters(gateway_client, ALL_STATUSES)
    result = _run_on_gateway(cwl_dask, gateway_server, tmp_path, STEP_DATA / "fails.cwl")
    assert result.code == 1, result.stderr
    assert "step 'broken' failed" in result.stderr
    created = _clusters(gateway_client, ALL_STATUSES) - before
    assert len(created) == 2
    [step_cluster] = [c for c in created if f"DASK_CLUSTER={c}" in result.stderr]  # its echo
    assert eventually(lambda: step_cluster in _clusters(gateway_client, "stopped"))
    assert eventually(lambda: not _clusters(gateway_client)), "a cluster is left running"


def test_ctrl_c_during_the_step_stops_its_gateway_cluster_too(
    gateway_server, gateway_client, gateway_env, tools_on_path, tmp_path: Path
) -> None:
    before = _clusters(gateway_client, ALL_STATUSES)
    command = [sys.executable, "-m", "cwl_dask", "run", "--no-container"]
    command += ["--gateway", gateway_server.url, "--workdir", str(tmp_path / "work")]
    command += ["--outdir", str(tmp_path / "out"), str(SAMPLE), str(PARAMS)]
    run = subprocess.Popen(
        command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        # the run's cluster and the step's are up: the tool is starting
        assert eventually(lambda: len(_clusters(gateway_client, "running") - before) == 2, 120)
        run.send_signal(signal.SIGINT)
        _, stderr = run.communicate(timeout=60)
    finally:
        run.kill()
    assert run.returncode != 0
    created = _clusters(gateway_client, ALL_STATUSES) - before
    assert eventually(lambda: created <= _clusters(gateway_client, "stopped")), stderr
