"""``--provenance DIR`` and ``--provenance-crate``: what the workers ran, as cwltool records it.

The EO sample runs once through cwl-dask on a cluster of real worker processes (a
LocalCluster, ``--scheduler``) and once through cwltool ``--provenance``; the tests read the
two research objects with ``cwlprov`` and the crate with ``rocrate``.
"""

from __future__ import annotations

import collections
import hashlib
import importlib.util
import json
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from distributed import LocalCluster

from conftest import SAMPLES, Completed, _run, podman_ready
from cwl_dask.eo.stac.processing import EXTENSION

APP = SAMPLES / "eo-ndvi"
CWLPROV = str(Path(sys.executable).parent / "cwlprov")
TOOL_STEPS = {"ndvi": 4, "mask": 4, "mosaic": 1, "stac": 1}


@dataclass
class Run:
    result: Completed
    research_object: Path
    crate: Path

    def items(self) -> dict[Path, dict[str, Any]]:
        """The STAC Items of the run's catalog output."""
        catalog = Path(self.result.output()["results"]["path"])
        found = {p: json.loads(p.read_text()) for p in catalog.rglob("*.json")}
        return {p: doc for p, doc in found.items() if doc.get("type") == "Feature"}


def _cwlprov(research_object: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CWLPROV, "-d", str(research_object), *args], capture_output=True, text=True, timeout=120
    )


def _documents(research_object: Path) -> list[dict[str, Any]]:
    """Every PROV-JSON document of the research object (the workflow's and nested ones)."""
    folder = research_object / "metadata" / "provenance"
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.cwlprov.json"))]


def _records(document: dict[str, Any], kind: str) -> Iterator[tuple[str, dict[str, Any]]]:
    for key, value in document.get(kind, {}).items():
        for record in value if isinstance(value, list) else [value]:
            yield key, record


def _process_runs(research_object: Path) -> collections.Counter[str]:
    """The process runs: their labels, counted once per activity id across documents."""
    labels: dict[str, str] = {}
    for document in _documents(research_object):
        for key, record in _records(document, "activity"):
            kind = record.get("prov:type", {})
            if isinstance(kind, dict) and kind.get("$") == "wfprov:ProcessRun":
                labels[key] = record["prov:label"]
    return collections.Counter(labels.values())


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    with LocalCluster(
        n_workers=1,
        threads_per_worker=4,
        processes=True,
        resources={"cores": 2, "ram": 4096},
        dashboard_address=":0",
    ) as running:
        yield running


@pytest.fixture(scope="module")
def ours(cluster: LocalCluster, tmp_path_factory: pytest.TempPathFactory) -> Run:
    where = tmp_path_factory.mktemp("ours")
    result = _run(
        [
            sys.executable,
            "-m",
            "cwl_dask",
            "run",
            "--no-container",
            "--scheduler",
            cluster.scheduler_address,
            "--outdir",
            str(where / "out"),
            "--provenance",
            str(where / "ro"),
            "--provenance-crate",
            str(where / "crate.zip"),
            "--stac-processing",
            str(APP / "app-package.cwl"),
            str(APP / "params.yml"),
        ],
        where,
        300,
    )
    assert result.code == 0, result.stderr
    return Run(result, where / "ro", where / "crate.zip")


@pytest.fixture(scope="module")
def cwltools(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """cwltool's research object of the same run.

    The inputs are given on the command line: from a job file cwltool's ``--provenance``
    fails on this sample ("Type is not JSON serializable: ScalarFloat", the YAML-loaded
    threshold in rdflib's JSON-LD); cwl-dask's run above takes params.yml itself.
    """
    where = tmp_path_factory.mktemp("cwltool")
    items = [
        a for i in range(1, 5) for a in ("--stac_items", str(APP / f"data/S2-synth-00{i}.json"))
    ]
    command = [sys.executable, "-m", "cwltool", "--no-container", "--provenance", "ro"]
    command += ["--outdir", "out", str(APP / "app-package.cwl"), *items]
    result = _run([*command, "--aoi_name", "synthetic-aoi", "--threshold", "0.3"], where, 300)
    assert result.code == 0, result.stderr
    return where / "ro"


def test_research_object_passes_cwlprov_validate(ours: Run) -> None:
    checked = _cwlprov(ours.research_object, "validate")
    assert checked.returncode == 0, checked.stderr
    assert "Valid CWLProv RO" in checked.stdout


def test_process_runs_are_cwltools_for_the_same_run(ours: Run, cwltools: Path) -> None:
    runs = _process_runs(ours.research_object)
    assert runs == _process_runs(cwltools)
    for step, count in TOOL_STEPS.items():
        names = [label for label in runs if label.rsplit("/", 1)[-1].split("_")[0] == step]
        assert len(names) == count, (step, sorted(runs))


def test_cwlprov_runtimes_lists_the_workflows_tool_steps(ours: Run, cwltools: Path) -> None:
    def steps(research_object: Path) -> list[str]:
        listed = _cwlprov(research_object, "runtimes")
        assert listed.returncode == 0, listed.stderr
        return sorted(line.split()[-1] for line in listed.stdout.splitlines()[1:] if line.strip())

    assert steps(ours.research_object) == steps(cwltools) == ["main/mosaic", "main/stac"]


def test_each_invocation_names_its_worker_resources_and_exit_code(
    ours: Run, cluster: LocalCluster
) -> None:
    workers = set(cluster.scheduler_info["workers"])
    described: dict[str, dict[str, Any]] = {}
    for document in _documents(ours.research_object):
        for key, record in _records(document, "activity"):
            if "cwldask:worker" in record:
                described[key] = record
    assert len(described) == sum(TOOL_STEPS.values())
    for record in described.values():
        assert record["cwldask:worker"] in workers
        assert record["cwldask:exitCode"]["$"] == 0
        assert record["cwldask:cores"]["$"] in (1.0, 2.0, "1.0", "2.0")  # the sample's coresMin


def test_invocations_start_and_end_at_the_workers_times(ours: Run) -> None:
    run = json.loads((ours.research_object / "metadata" / "cwl-dask-run.json").read_text())
    started: dict[str, str] = {}
    ended: dict[str, str] = {}
    for document in _documents(ours.research_object):
        for _, record in _records(document, "wasStartedBy"):
            started[record["prov:activity"]] = record["prov:time"]
        for _, record in _records(document, "wasEndedBy"):
            ended.setdefault(record["prov:activity"], record["prov:time"])
    for invocation in run["invocations"]:
        run_id = invocation["run"].replace("urn:uuid:", "id:")
        assert started[run_id] == invocation["started"]
        assert ended[run_id] == invocation["finished"]
        assert invocation["started"] <= invocation["finished"]


def test_data_files_are_under_data_by_their_checksum(ours: Run) -> None:
    files = [p for p in (ours.research_object / "data").rglob("*") if p.is_file()]
    assert len(files) > 20  # inputs with their bands, each step's outputs
    for path in files:
        assert hashlib.sha1(path.read_bytes()).hexdigest() == path.name
        assert path.parent.name == path.name[:2]


def _crate_actions(crate: Path) -> list[Any]:
    from rocrate.rocrate import ROCrate

    loaded = ROCrate(str(crate))
    return [e for e in loaded.get_entities() if e.type == "CreateAction"]


def test_crate_has_one_create_action_per_invocation_with_its_tool(ours: Run) -> None:
    actions = _crate_actions(ours.crate)
    tools = collections.Counter(
        a["instrument"].id for a in actions if a["instrument"].id != "workflow/packed.cwl"
    )
    assert tools == {f"workflow/packed.cwl#{step}": n for step, n in TOOL_STEPS.items()}
    for action in actions:
        name = action["name"].rsplit("/", 1)[-1].split("_")[0]
        if action["instrument"].id != "workflow/packed.cwl":
            assert action["instrument"].id.endswith(f"#{name}")


def test_crate_objects_and_results_are_the_checksummed_files(ours: Run) -> None:
    archive = zipfile.ZipFile(ours.crate)
    for action in _crate_actions(ours.crate):
        if action["instrument"].id == "workflow/packed.cwl":
            continue
        assert action["object"] and action["result"], action.id
        for file in _files(action["object"] + action["result"]):
            assert file.id == f"data/{file['sha1'][:2]}/{file['sha1']}"
            assert hashlib.sha1(archive.read(file.id)).hexdigest() == file["sha1"]


def _files(entities: list[Any]) -> Iterator[Any]:
    """The File entities among ``entities`` and inside their Datasets, at any depth."""
    for entity in entities:
        if entity.type == "File":
            yield entity
        else:
            yield from _files(entity["hasPart"])


def test_provenance_command_writes_the_same_crate_from_the_folder(
    ours: Run, cwl_dask, tmp_path: Path
) -> None:
    again = tmp_path / "again.zip"
    result = cwl_dask("provenance", ours.research_object, "--crate", again)
    assert result.code == 0, result.stderr
    assert {a.id for a in _crate_actions(again)} == {a.id for a in _crate_actions(ours.crate)}


def test_a_folder_that_is_no_research_object_gives_no_crate(cwl_dask, tmp_path: Path) -> None:
    result = cwl_dask("provenance", tmp_path, "--crate", tmp_path / "c.zip")
    assert result.code == 2
    assert "not a research object of cwl-dask run --provenance" in result.stderr
    assert "Traceback" not in result.stderr


def test_non_empty_provenance_dir_is_refused_before_anything_runs(cwl_dask, tmp_path: Path) -> None:
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "paper.tex").write_text("keep me")
    workflow, params = APP / "app-package.cwl", APP / "params.yml"
    result = cwl_dask("run", "--provenance", tmp_path / "notes", workflow, params)
    assert result.code == 2
    assert "--provenance" in result.stderr and "not empty" in result.stderr
    assert (tmp_path / "notes" / "paper.tex").read_text() == "keep me"
    assert not result.stdout


def test_a_lone_tool_run_is_one_process_run_with_its_worker(cwl_dask, tmp_path: Path) -> None:
    hello = SAMPLES / "hello"
    result = cwl_dask(
        "run",
        "--no-container",
        "--outdir",
        tmp_path / "out",
        "--provenance",
        tmp_path / "ro",
        "--provenance-crate",
        tmp_path / "c.zip",
        hello / "hello.cwl",
        hello / "params.yml",
    )
    assert result.code == 0, result.stderr
    assert _cwlprov(tmp_path / "ro", "validate").returncode == 0
    (action,) = _crate_actions(tmp_path / "c.zip")  # the run and the tool's run are one
    assert action["instrument"].id == "workflow/packed.cwl"
    assert [f["alternateName"] for f in _files(action["result"])] == ["hello.txt"]


def test_plain_scalars_replaces_ruamels_numbers_in_place() -> None:
    from ruamel.yaml import YAML

    from cwl_dask.provenance.recorder import plain_scalars

    loaded = YAML().load("threshold: 0.3\nitems: [1, 2.5]\nflag: true\n")
    items = loaded["items"]
    plain_scalars(loaded)
    assert type(loaded["threshold"]) is float and loaded["threshold"] == 0.3
    assert [type(v) for v in items] == [int, float]
    assert loaded["items"] is items  # the same containers: cwltool marks them with @id


def test_stac_items_name_the_package_its_version_and_the_run(ours: Run) -> None:
    run = json.loads((ours.research_object / "metadata" / "cwl-dask-run.json").read_text())
    items = ours.items()
    assert len(items) == 5  # one per input and the summary
    for path, item in items.items():
        assert EXTENSION in item["stac_extensions"]
        properties = item["properties"]
        assert properties["processing:software"]["app-package.cwl#main"] == "1.0.0"
        assert run["workflow"]["run"] in properties["processing:lineage"]
        (via,) = [link for link in item["links"] if link["rel"] == "via"]
        assert (path.parent / via["href"]).resolve() == ours.crate.resolve()


def test_the_output_object_has_the_annotated_items_sizes_and_checksums(ours: Run) -> None:
    def files(value: Any) -> Iterator[dict[str, Any]]:
        if isinstance(value, dict):
            if value.get("class") == "File":
                yield value
            for child in value.values():
                yield from files(child)
        elif isinstance(value, list):
            for child in value:
                yield from files(child)

    listed = {Path(f["path"]): f for f in files(ours.result.output())}
    for path in ours.items():
        data = path.read_bytes()
        assert listed[path]["size"] == len(data)
        assert listed[path]["checksum"] == "sha1$" + hashlib.sha1(data).hexdigest()


def test_stac_processing_is_off_by_default(cwl_dask, tmp_path: Path) -> None:
    result = cwl_dask("run", "--no-container", "--outdir", tmp_path, APP / "app-package.cwl",
                      APP / "params.yml")  # fmt: skip
    assert result.code == 0, result.stderr
    plain = Run(result, tmp_path / "none", tmp_path / "none.zip")
    assert plain.items()
    for item in plain.items().values():
        assert EXTENSION not in item.get("stac_extensions", [])
        assert not any(key.startswith("processing:") for key in item["properties"])


def test_a_failed_run_records_the_failed_invocation_and_its_exit_code(
    cwl_dask, tmp_path: Path
) -> None:
    broken = Path(__file__).parent / "data" / "zoo" / "broken.cwl"
    crate = tmp_path / "c.zip"
    result = cwl_dask("run", "--no-container", "--provenance", tmp_path / "ro",
                      "--provenance-crate", crate, broken, "--message", "hi")  # fmt: skip
    assert result.code == 1
    assert _cwlprov(tmp_path / "ro", "validate").returncode == 0
    assert _process_runs(tmp_path / "ro") == {
        "Run of workflow/packed.cwl#main/greet": 1,
        "Run of workflow/packed.cwl#main/explode": 1,
    }
    status = {a["name"].rsplit("/", 1)[-1]: a for a in _crate_actions(crate)}
    assert status["explode"]["actionStatus"] == "http://schema.org/FailedActionStatus"
    assert status["explode"]["exitCode"] == 3
    assert status["greet"]["actionStatus"] == "http://schema.org/CompletedActionStatus"


def test_each_invocation_is_orchestrated_by_its_workflow_step(ours: Run) -> None:
    from rocrate.rocrate import ROCrate

    loaded = ROCrate(str(ours.crate))
    controls = [e for e in loaded.get_entities() if e.type == "ControlAction"]
    assert len(controls) == sum(TOOL_STEPS.values())
    for control in controls:
        step, action = control["instrument"], control["object"]
        assert step.type == "HowToStep"
        assert step["workExample"].id == action["instrument"].id  # the step runs that tool
    (organize,) = [e for e in loaded.get_entities() if e.type == "OrganizeAction"]
    assert {c.id for c in organize["object"]} == {c.id for c in controls}
    steps = {s.id for s in loaded.get("workflow/packed.cwl#process_item")["step"]}
    assert steps == {
        "workflow/packed.cwl#process_item/ndvi",
        "workflow/packed.cwl#process_item/mask",
    }


@pytest.mark.podman
@pytest.mark.skipif(not podman_ready(), reason="needs podman and ci/setup-podman.sh's images")
def test_a_contained_invocation_names_its_image(cwl_dask, tmp_path: Path) -> None:
    hello = SAMPLES / "hello"
    result = cwl_dask("run", "--podman", "--outdir", tmp_path / "out", "--provenance",
                      tmp_path / "ro", "--provenance-crate", tmp_path / "c.zip",
                      hello / "hello.cwl", hello / "params.yml")  # fmt: skip
    assert result.code == 0, result.stderr
    images = [
        record["cwlprov:image"]
        for document in _documents(tmp_path / "ro")
        for _, record in _records(document, "agent")
        if "cwlprov:image" in record
    ]
    assert images == ["docker.io/library/python:3-slim"]
    (action,) = _crate_actions(tmp_path / "c.zip")
    assert action["containerImage"]["name"] == "docker.io/library/python:3-slim"


def test_batched_invocations_of_an_inline_tool_are_each_a_process_run(
    cwl_dask, tmp_path: Path
) -> None:
    """40 scatter jobs on 2 cores are fused into fewer tasks (docs/architecture.md, Batching); each
    invocation is still its own process run, and the inline tool is named by its step."""
    job = tmp_path / "job.json"
    job.write_text(json.dumps({"words": [f"w{i}" for i in range(40)]}))
    workflow = Path(__file__).parent / "data" / "scatter-echo.cwl"
    result = cwl_dask("run", "--no-container", "--cores", "2", "--outdir", tmp_path / "out",
                      "--provenance", tmp_path / "ro", "--provenance-crate", tmp_path / "c.zip",
                      workflow, job)  # fmt: skip
    assert result.code == 0, result.stderr
    runs = _process_runs(tmp_path / "ro")
    assert len(runs) == 40 and set(runs.values()) == {1}
    actions = _crate_actions(tmp_path / "c.zip")
    tools = collections.Counter(a["instrument"].id for a in actions)
    assert tools == {"workflow/packed.cwl#main/shout/run": 40, "workflow/packed.cwl": 1}


def _store_mode() -> bool:
    try:
        return importlib.util.find_spec("cwl_dask.data.store") is not None
    except ModuleNotFoundError:
        return False


@pytest.mark.skipif(not _store_mode(), reason="store mode (--workdir s3://, issue 20) not merged")
def test_with_intermediate_files_in_object_storage_the_research_object_is_complete(
    s3, cwl_dask, tmp_path: Path
) -> None:
    """No shared filesystem (``--workdir s3://``): the driver reads the outputs through the
    run's file access at their store locations."""
    s3.mkdir("work")
    result = cwl_dask("run", "--no-container", "--worker-processes", "--workdir", "s3://work/runs",
                      "--outdir", tmp_path / "out", "--provenance", tmp_path / "ro",
                      "--provenance-crate", tmp_path / "c.zip", APP / "app-package.cwl",
                      APP / "params.yml")  # fmt: skip
    assert result.code == 0, result.stderr
    assert _cwlprov(tmp_path / "ro", "validate").returncode == 0
    runs = _process_runs(tmp_path / "ro")
    assert sum(runs.values()) == sum(TOOL_STEPS.values()) + 1  # and the sub-workflow's
    archive = zipfile.ZipFile(tmp_path / "c.zip")
    for action in _crate_actions(tmp_path / "c.zip"):
        for file in _files(action["result"]):
            assert hashlib.sha1(archive.read(file.id)).hexdigest() == file["sha1"]


def test_each_attempt_of_retry_tool_is_a_process_run(cwl_dask, tmp_path: Path) -> None:
    flaky = Path(__file__).parent / "data" / "reliability" / "flaky.cwl"
    workflow = tmp_path / "wf.cwl"
    workflow.write_text(json.dumps({
        "cwlVersion": "v1.2", "class": "Workflow",
        "inputs": {"counter": "string", "failures": "int"},
        "outputs": {"done": {"type": "File?", "outputSource": "try/done"}},
        "steps": {"try": {"run": str(flaky), "in": {"counter": "counter", "failures": "failures"},
                          "out": ["done"]}},
    }))  # fmt: skip
    result = cwl_dask("run", "--no-container", "--retry-tool", "2", "--outdir", tmp_path / "out",
                      "--provenance", tmp_path / "ro", "--provenance-crate", tmp_path / "c.zip",
                      workflow, "--counter", tmp_path / "attempts", "--failures", "2")  # fmt: skip
    assert result.code == 0, result.stderr
    assert _process_runs(tmp_path / "ro") == {"Run of workflow/packed.cwl#main/try": 3}
    codes = sorted(
        a.get("exitCode") for a in _crate_actions(tmp_path / "c.zip") if "try" in a["name"]
    )
    assert codes == [0, 75, 75]


def test_the_crate_alone_keeps_no_research_object(cwl_dask, tmp_path: Path) -> None:
    hello = SAMPLES / "hello"
    result = cwl_dask("run", "--no-container", "--outdir", tmp_path / "out", "--workdir",
                      tmp_path / "work", "--provenance-crate", tmp_path / "c.zip",
                      hello / "hello.cwl", hello / "params.yml")  # fmt: skip
    assert result.code == 0, result.stderr
    assert len(_crate_actions(tmp_path / "c.zip")) == 1
    assert list((tmp_path / "work").iterdir()) == []  # the run directory went, and the RO in it
    assert not list((tmp_path / "out").rglob("bagit.txt"))
