"""cwl_dask.zoo: ZOO services run as the ZOO kernel runs them, on a real local Dask cluster."""

from __future__ import annotations

import abc
import importlib.util
import json
import sys
import time
import types
from pathlib import Path
from typing import Any

import pytest

from conftest import DATA, SAMPLES
from cwl_dask.zoo import ExecutionHandler, ZooDaskRunner, ZooInputs, ZooStub, load_package
from cwl_dask.zoo.package import entry_process, input_types

ZOO_DATA = DATA / "zoo"
ITEMS = SAMPLES / "eo-ndvi" / "data"
ALL_STATUSES = ["pending", "running", "stopping", "stopped", "failed"]
HOOKS = [
    "pre_execution_hook",
    "get_secrets",
    "set_job_id",
    "get_additional_parameters",
    "get_pod_env_vars",
    "get_pod_node_selector",
    "handle_outputs",
    "post_execution_hook",
]


@pytest.fixture
def zoo(monkeypatch: pytest.MonkeyPatch) -> types.SimpleNamespace:
    """ZOO's ``zoo`` module as the kernel provides it, recording status updates."""
    module = types.ModuleType("zoo")
    module.statuses = []  # type: ignore[attr-defined]
    for name in ("SERVICE_SUCCEEDED", "SERVICE_FAILED"):
        setattr(module, name, getattr(ZooStub, name))
    module.update_status = lambda conf, pct: module.statuses.append(  # type: ignore[attr-defined]
        (pct, conf["lenv"]["message"])
    )
    module._ = lambda message: message  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "zoo", module)
    return module  # type: ignore[return-value]


@pytest.fixture
def service():
    spec = importlib.util.spec_from_file_location(
        "zoo_ndvi_service", SAMPLES / "zoo-service" / "service.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _conf(tmp_path: Path, identifier: str = "eo-ndvi", **sections: Any) -> dict[str, Any]:
    return {
        "lenv": {"Identifier": identifier, "usid": "abc-1234", "message": ""},
        "main": {"tmpPath": str(tmp_path), "tmpUrl": "http://localhost/temp/"},
        **sections,
    }


def _ndvi_inputs() -> dict[str, Any]:
    paths = [str(ITEMS / f"S2-synth-00{i}.json") for i in range(1, 5)]
    return {
        "stac_items": {
            "isArray": "true",
            "length": "4",
            "value": paths,
            "mimeType": ["application/geo+json"] * 4,
            "cache_file": [None] * 4,
            "inRequest": "true",
        },
        "aoi_name": {"value": "zoo-aoi", "dataType": "string", "inRequest": "true"},
        "threshold": {"value": "0.3", "dataType": "double", "inRequest": "false"},
    }


class Recorder:
    """Records every hook call with its keywords (mixed into the service's handler)."""

    calls: list[tuple[str, dict[str, Any]]]

    def _record(self, name: str, **kwargs: Any) -> None:
        self.__dict__.setdefault("calls", []).append((name, kwargs))

    def pre_execution_hook(self):
        self._record("pre_execution_hook")

    def get_secrets(self):
        self._record("get_secrets")
        return {}

    def set_job_id(self, job_id):
        self._record("set_job_id", job_id=job_id)
        super().set_job_id(job_id)  # type: ignore[misc]

    def get_additional_parameters(self):
        self._record("get_additional_parameters")
        return super().get_additional_parameters()  # type: ignore[misc]

    def get_pod_env_vars(self):
        self._record("get_pod_env_vars")
        return super().get_pod_env_vars()  # type: ignore[misc]

    def get_pod_node_selector(self):
        self._record("get_pod_node_selector")
        return None

    def handle_outputs(self, log, output, usage_report, tool_logs):
        self._record("handle_outputs", log=log, output=output, usage_report=usage_report,
                     tool_logs=tool_logs)  # fmt: skip
        super().handle_outputs(log, output, usage_report, tool_logs)  # type: ignore[misc]

    def post_execution_hook(self, log, output, usage_report, tool_logs):
        self._record("post_execution_hook", log=log, output=output, usage_report=usage_report,
                     tool_logs=tool_logs)  # fmt: skip


def test_the_ndvi_service_runs_as_zoo_calls_it(tmp_path: Path, zoo, service, monkeypatch) -> None:
    handlers: list[Any] = []

    class RecordingHandler(Recorder, service.Handler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            handlers.append(self)

    monkeypatch.setattr(service, "Handler", RecordingHandler)
    conf = _conf(tmp_path, pod_env_vars={"FOO": "bar"})
    outputs: dict[str, Any] = {"results": {"mimeType": "application/json"}}

    assert service.eo_ndvi(conf, _ndvi_inputs(), outputs) == zoo.SERVICE_SUCCEEDED

    [handler] = handlers
    assert [name for name, _ in handler.calls] == HOOKS
    calls = dict(handler.calls)
    run_dir = tmp_path / "eo-ndvi-abc-1234"
    assert calls["set_job_id"] == {"job_id": "eo-ndvi-abc-1234"}
    for hook in ("handle_outputs", "post_execution_hook"):
        assert set(calls[hook]) == {"log", "output", "usage_report", "tool_logs"}
    # The wrapped run's output: the staged-out catalog's URI, in both shapes.
    output = calls["handle_outputs"]["output"]
    uri = output["results"]["value"]
    assert uri.startswith((run_dir / "staged-out").as_uri()) and uri.endswith("/catalog.json")
    assert output["StacCatalogUri"] == uri
    # The FeatureCollection ZOO returns: one Item per input and the summary Item.
    collection = json.loads(outputs["results"]["value"])
    assert collection["type"] == "FeatureCollection"
    ids = sorted(f["id"] for f in collection["features"])
    assert ids == ["S2-synth-001", "S2-synth-002", "S2-synth-003", "S2-synth-004", "ndvi-summary"]
    for feature in collection["features"]:
        for asset in feature["assets"].values():
            assert Path(asset["href"]).is_absolute() and Path(asset["href"]).exists()
    # Usage report: calrissian's report.json shape, one child per invocation.
    report = calls["post_execution_hook"]["usage_report"]
    names = sorted(c["name"] for c in report["children"])
    staged = ["directory_stage_in_0" + n for n in ("", "_2", "_3", "_4")]
    tools = [f"{s}{n}" for s in ("ndvi", "mask") for n in ("", "_2", "_3", "_4")]
    assert names == sorted([*staged, *tools, "mosaic", "stac", "stage_out_0"])
    assert report["total_tasks"] == 15
    assert report["cores_allowed"] >= 2 and report["ram_mb_allowed"] >= 1024  # from the plan
    stac = next(c for c in report["children"] if c["name"] == "stac")
    assert (stac["cpus"], stac["ram_megabytes"], stac["exit_code"]) == (2, 768, 0)
    for key in ("cpu_hours", "ram_megabyte_hours", "elapsed_seconds", "elapsed_hours"):
        assert stac[key] >= 0
    assert 1 <= report["max_parallel_tasks"] <= 15
    assert report["max_parallel_cpus"] >= 1 and report["max_parallel_ram_megabytes"] >= 256
    assert report["total_cpu_hours"] > 0 and report["start_time"] <= report["finish_time"]
    # Tool logs lie in the run directory, one base name per invocation, as calrissian's.
    tool_logs = calls["handle_outputs"]["tool_logs"]
    assert len(tool_logs) == 15 and all(Path(p).is_file() for p in tool_logs)
    assert {Path(p).parent for p in tool_logs} == {run_dir}
    assert len({Path(p).name for p in tool_logs}) == 15
    log = calls["handle_outputs"]["log"]
    assert "finished stac: success" in log and "the run succeeded" in log
    assert conf["service_logs"]["length"] == "15"
    # Status: calrissian's milestones, then one update per finished task, rising.
    percents = [p for p, _ in zoo.statuses]
    assert percents == sorted(percents)
    assert percents[0] == 2 and percents[-1] == 100
    messages = [m for _, m in zoo.statuses]
    assert "Pre-execution hook" in messages and "Post-execution hook" in messages
    assert sum("tasks done" in m for m in messages) == 15
    assert conf["lenv"]["message"] == "execution successful"
    # The job order ZOO's inputs became: URI records for the wrapped #main, and "process".
    job = json.loads((run_dir / "job.json").read_text())
    assert job["stac_items"] == [
        {"value": str(ITEMS / f"S2-synth-00{i}.json")} for i in range(1, 5)
    ]
    assert job["process"] == "eo-ndvi-abc-1234"
    assert "threshold" not in job  # filled by ZOO from the default: the CWL default applies
    package = json.loads((run_dir / "app-package.cwl").read_text())
    assert package["$graph"][0]["requirements"][-1] == {
        "class": "EnvVarRequirement",
        "envDef": [{"envName": "FOO", "envValue": "bar"}],
    }


def test_a_failing_run_calls_the_hooks_and_names_the_failed_step(tmp_path: Path, zoo) -> None:
    class Handler(Recorder, ExecutionHandler):
        pass

    conf = _conf(tmp_path, "broken")
    outputs: dict[str, Any] = {"out": {"mimeType": "text/plain"}}
    handler = Handler(conf, outputs)  # positional, as zoo-template-common's docs do
    runner = ZooDaskRunner(
        cwl=load_package(ZOO_DATA / "broken.cwl"),
        conf=conf,
        inputs={"message": {"value": "hello", "dataType": "string"}},
        outputs=outputs,
        execution_handler=handler,
    )
    assert runner.execute() == zoo.SERVICE_FAILED
    assert [name for name, _ in handler.calls] == HOOKS
    calls = dict(handler.calls)
    assert calls["handle_outputs"]["output"] is None
    assert outputs["out"]["value"] is None
    message = conf["lenv"]["message"]
    assert message.startswith("execution failed: step explode failed") and "exit code 3" in message
    report = calls["post_execution_hook"]["usage_report"]
    assert [(c["name"], c["exit_code"]) for c in report["children"]] == [
        ("greet", 0),
        ("explode", 3),
    ]
    explode_log = next(p for p in calls["handle_outputs"]["tool_logs"] if p.endswith("explode.log"))
    assert "disk on fire" in Path(explode_log).read_text()
    assert "failure: step explode failed" in runner.execution.get_log()


def test_missing_mandatory_input_fails_before_any_other_hook(tmp_path: Path, zoo) -> None:
    class Handler(Recorder, ExecutionHandler):
        pass

    conf = _conf(tmp_path, "broken")
    handler = Handler(conf=conf)
    runner = ZooDaskRunner(load_package(ZOO_DATA / "broken.cwl"), conf, {}, {}, handler)
    assert runner.execute() == zoo.SERVICE_FAILED
    assert [name for name, _ in handler.calls] == ["pre_execution_hook"]
    assert conf["lenv"]["message"] == "missing mandatory inputs: message"


# A handler and service written for zoo-calrissian-runner (research notes §10), with
# zoo-runner-common's abstract base class reproduced here: duck typing, no import of ours.
class CommonExecutionHandler(abc.ABC):
    def __init__(self, **kwargs):
        self.job_id = None
        self.outputs = {}
        self.results = None
        self.__dict__.update(kwargs)

    def set_job_id(self, job_id):
        self.job_id = job_id

    @abc.abstractmethod
    def pre_execution_hook(self): ...

    @abc.abstractmethod
    def post_execution_hook(self, log, output, usage_report, tool_logs): ...

    @abc.abstractmethod
    def get_secrets(self): ...

    @abc.abstractmethod
    def get_pod_env_vars(self): ...

    @abc.abstractmethod
    def get_pod_node_selector(self): ...

    @abc.abstractmethod
    def handle_outputs(self, log, output, usage_report, tool_logs): ...

    @abc.abstractmethod
    def get_additional_parameters(self): ...


class CalrissianHandler(CommonExecutionHandler):
    def pre_execution_hook(self): ...
    def post_execution_hook(self, log, output, usage_report, tool_logs):
        self.results = (output, usage_report)

    def get_secrets(self):
        return {}

    def get_pod_env_vars(self):
        return self.conf.get("pod_env_vars", {})

    def get_pod_node_selector(self):
        return {}

    def get_additional_parameters(self):
        return {**self.conf.get("additional_parameters", {}), "extra": self.conf["lenv"]["usid"]}

    def handle_outputs(self, log, output, usage_report, tool_logs): ...


def echo_env(conf, inputs, outputs):  # the service function, as in the notes
    import os

    from cwl_dask.zoo import ZooDaskRunner, zoo_module

    zoo = zoo_module()
    cwl = load_package(ZOO_DATA / "echo-env.cwl")
    handler = CalrissianHandler(conf=conf, outputs=outputs)
    runner = ZooDaskRunner(
        cwl=cwl, conf=conf, inputs=inputs, outputs=outputs, execution_handler=handler
    )
    wd = os.path.join(conf["main"]["tmpPath"], runner.get_namespace_name())
    os.makedirs(wd, exist_ok=True)
    os.chdir(wd)
    if runner.execute() == zoo.SERVICE_SUCCEEDED:
        for v in outputs.values():
            if "collection" in v:
                v["value"] = json.dumps(v["collection"])
        return zoo.SERVICE_SUCCEEDED
    conf["lenv"]["message"] = zoo._("Execution failed")
    return zoo.SERVICE_FAILED


def test_a_calrissian_handler_and_service_run_unchanged(tmp_path: Path, zoo, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    conf = _conf(tmp_path, "echo-env", pod_env_vars={"FOO": "from $(handler)"})
    inputs = {
        "words": {"value": "solo", "dataType": "string", "maxOccurs": "3"},
        "flag": {"value": "false", "dataType": "boolean"},
        "count": {"value": "NULL", "dataType": "integer"},
        "ratio": {"value": "0.25", "dataType": "double", "inRequest": "true"},
    }
    outputs: dict[str, Any] = {"report": {"dataType": "string"}}
    assert echo_env(conf, inputs, outputs) == zoo.SERVICE_SUCCEEDED
    # The whole output object, as calrissian hands it; the File output staged out.
    report = outputs["report"]["value"]["report"]["value"]
    text = Path(report.removeprefix("file://")).read_text().split()
    assert " ".join(text) == "FOO=from $(handler) --words solo --ratio 0.25 --extra abc-1234"


def test_inputs_sizing_and_stub_without_running(tmp_path: Path) -> None:
    cwl = {
        "cwlVersion": "v1.2",
        "$graph": [
            {
                "class": "Workflow",
                "id": "main",
                "inputs": {
                    "item": "https://raw.githubusercontent.com/eoap/schemas/main/string_format.yaml#URI",
                    "items": {"type": {"type": "array", "items": "string_format:URI"}},
                    "n": "int?",
                    "f": "File?",
                    "b": "boolean",
                },
                "outputs": {},
                "steps": {},
            }
        ],
    }
    types_ = input_types(entry_process(cwl, "main"))
    assert [n for n, t in types_.items() if t.mandatory] == ["item", "items", "b"]
    inputs = ZooInputs(
        {
            "item": {"value": "https://x/a.json"},
            "items": {"value": "https://x/b.json", "maxOccurs": "2"},
            "b": {"value": "False", "dataType": "boolean"},
            "n": {"value": "NULL", "dataType": "integer"},
            "undeclared": {"value": ["1", "2"], "dataType": ["integer", "integer"]},
        },
        types_,
    )
    assert inputs.get_processing_parameters() == {
        "item": {"value": "https://x/a.json"},
        "items": [{"value": "https://x/b.json"}],
        "b": False,
        "undeclared": [1, 2],
    }
    # Sizing comes from the planner: coresMin honoured, a CommandLineTool alone is sized.
    conf = _conf(tmp_path, "show")
    runner = ZooDaskRunner(load_package(ZOO_DATA / "echo-env.cwl"), conf, {}, {})
    assert (runner.get_max_cores(), runner.get_max_ram()) == (3, "1000Mi")
    assert runner.outputs.output_key == "stac"
    stub = ZooStub()
    assert (stub.SERVICE_SUCCEEDED, stub.SERVICE_FAILED, stub._("x")) == (3, 4, "x")
    stub.update_status(conf, 10)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_the_ndvi_service_runs_on_a_dask_gateway_from_dask_gateway_url(
    tmp_path: Path, zoo, service, gateway_server, gateway_client, gateway_env, monkeypatch
) -> None:
    import dask

    from conftest_gateway import GATEWAY_USER

    monkeypatch.setenv("DASK_GATEWAY_URL", gateway_server.url)
    auth = {"username": GATEWAY_USER, "password": gateway_server.password}
    config = dask.config.set({"gateway.auth.type": "basic", "gateway.auth.kwargs": auth})
    with config:
        _run_on_gateway(tmp_path, zoo, service, gateway_server, gateway_client)


def _run_on_gateway(tmp_path, zoo, service, gateway_server, gateway_client) -> None:
    before = {c.name for c in gateway_client.list_clusters(status=ALL_STATUSES)}
    conf = _conf(tmp_path)
    outputs: dict[str, Any] = {"results": {"mimeType": "application/json"}}
    assert service.eo_ndvi(conf, _ndvi_inputs(), outputs) == zoo.SERVICE_SUCCEEDED, conf
    assert len(json.loads(outputs["results"]["value"])["features"]) == 5
    after = {c.name for c in gateway_client.list_clusters(status=ALL_STATUSES)}
    [created] = after - before
    tasks = [r["prefix"] for r in gateway_server.records(created) if r["event"] == "task"]
    tasks = [t for t in tasks if t != "cwl-dask-storage-probe"]
    assert sorted(tasks) == sorted(
        ["directory_stage_in_0"] * 4 + ["mask"] * 4 + ["mosaic"] + ["ndvi"] * 4
        + ["stac", "stage_out_0"]
    )  # fmt: skip


def _small_runner(conf: dict[str, Any], package: str, inputs: dict[str, Any], handler: Any):
    """A runner for one of the small packages of tests/data/zoo (a File output ``out``)."""
    return ZooDaskRunner(
        cwl=load_package(ZOO_DATA / package),
        conf=conf,
        inputs=inputs,
        outputs={"out": {"mimeType": "text/plain"}},
        execution_handler=handler,
    )


def test_wall_time_stops_the_whole_run_and_fails_the_service(tmp_path: Path, zoo) -> None:
    conf = _conf(tmp_path, "sleepy")
    inputs = {"seconds": {"value": "120", "dataType": "integer"}}
    runner = _small_runner(conf, "sleepy.cwl", inputs, ExecutionHandler(conf=conf))
    started = time.monotonic()
    assert runner.execute(wall_time=2) == zoo.SERVICE_FAILED
    assert time.monotonic() - started < 60  # the sleep asked for 120 s
    assert "wall_time" in conf["lenv"]["message"]
    assert "wall_time" in runner.execution.get_log()


def test_the_node_selector_becomes_the_labels_of_every_pool(tmp_path: Path, zoo) -> None:
    class Handler(ExecutionHandler):
        def get_pod_node_selector(self):
            return {"node-role": "highmem"}

    conf = _conf(tmp_path, "broken")
    inputs = {"message": {"value": "hello", "dataType": "string"}}
    runner = _small_runner(conf, "broken.cwl", inputs, Handler(conf=conf))
    runner.execute()
    assert "get_pod_node_selector() = {'node-role': 'highmem'}: labels of every pool" in (
        runner.execution.get_log()
    )
    assert runner.node_selector == (("node-role", "highmem"),)


def _echo_env_runner(conf: dict[str, Any], handler: Any) -> ZooDaskRunner:
    inputs = {
        "words": {"value": "solo", "dataType": "string", "maxOccurs": "3"},
        "flag": {"value": "false", "dataType": "boolean"},
    }
    return ZooDaskRunner(
        cwl=load_package(ZOO_DATA / "echo-env.cwl"),
        conf=conf,
        inputs=inputs,
        outputs={"report": {"dataType": "string"}},
        execution_handler=handler,
    )


def test_with_provenance_on_handle_outputs_gets_the_runs_crate(tmp_path: Path, zoo) -> None:
    import dask.config
    from rocrate.rocrate import ROCrate

    class Handler(ExecutionHandler):
        def handle_outputs(self, log, output, usage_report, tool_logs, provenance_crate=None):
            self.crate = provenance_crate

    conf = _conf(tmp_path, "echo-env")
    handler = Handler(conf=conf)
    with dask.config.set({"cwl-dask.zoo.provenance": True}):
        assert _echo_env_runner(conf, handler).execute() == zoo.SERVICE_SUCCEEDED
    assert handler.crate == str(tmp_path / "echo-env-abc-1234" / "provenance-crate.zip")
    actions = [e for e in ROCrate(handler.crate).get_entities() if e.type == "CreateAction"]
    assert any(a["instrument"].id.endswith("#show") for a in actions), [a.id for a in actions]


def test_provenance_is_off_by_default_and_handlers_keep_their_arguments(
    tmp_path: Path, zoo
) -> None:
    import dask.config

    class Handler(Recorder, ExecutionHandler):
        pass

    conf = _conf(tmp_path, "echo-env")
    handler = Handler(conf=conf)
    assert _echo_env_runner(conf, handler).execute() == zoo.SERVICE_SUCCEEDED
    assert not (tmp_path / "echo-env-abc-1234" / "provenance-crate.zip").exists()
    runner = _echo_env_runner(conf, handler)
    with dask.config.set({"cwl-dask.zoo.provenance": True}):  # four arguments: no fifth
        assert runner.execute() == zoo.SERVICE_SUCCEEDED
    calls = [kwargs for name, kwargs in handler.calls if name == "handle_outputs"]
    assert [sorted(c) for c in calls] == [["log", "output", "tool_logs", "usage_report"]] * 2
    assert "handle_outputs takes no provenance_crate: crate /" in runner.execution.get_log()
