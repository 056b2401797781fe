"""cwl-dask inside the real ZOO-Project kernel, end to end over HTTP (OGC API Processes).

The kernel (C CGI ``zoo_loader.cgi``, embedded Python 3.11, one process per request) is
built from the pinned source and served by ``deploy/zoo/serve.sh`` (fixture
``zoo_kernel``, ``conftest_zoo.py``). Packages are deployed as ZOO-Project-DRU deploys
them (``cwl_dask.zoo.deploy``: ``{id}.zcfg``, ``{id}/service.py``, ``{id}/app-package.cwl``)
with each real service template of ``../shared/zoo-templates`` (only the runner swapped)
and with the project's own cookiecutter template. S3 is a moto server on 127.0.0.1, whose
settings reach the services through ``main.cfg`` as a platform gives them.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import signal
import time
import warnings
from pathlib import Path
from typing import Any

import pytest

from conftest import DATA, ROOT, SAMPLES
from cwl_dask.zoo.deploy import deploy, render_service
from cwl_dask.zoo.package import load_package
from reliability import alive, descendants

TEMPLATES = Path(os.environ.get("ZOO_TEMPLATES") or ROOT.parent / "shared" / "zoo-templates")
EOEPCA = TEMPLATES / "eoepca-proc-service-template" / "service.py"
GEOLABS = TEMPLATES / "zoo-service-template" / "service.py"
OWN = ROOT / "deploy" / "zoo" / "service-template" / "{{cookiecutter.service_name}}" / "service.py"
#: Process id suffix per template: the same package is deployed once per template.
TEMPLATE_IDS = {"eoepca": EOEPCA, "geolabs": GEOLABS, "own": OWN}
EO_INPUTS = {
    "stac_items": [f"s3://inputs/eo-ndvi/S2-synth-00{i}.json" for i in (1, 2, 3)],
    "aoi_name": "zoo-aoi",
    "threshold": 0.3,
}
EO_OUTPUTS = {"results": {"format": {"mediaType": "application/json"}, "transmissionMode": "value"}}
SECRET = "zoo-kernel-s3-secret"  # moto takes any key

pytestmark = [
    pytest.mark.skipif(
        not (EOEPCA.exists() and GEOLABS.exists()),
        reason=f"the ZOO service templates are not at {TEMPLATES} (set ZOO_TEMPLATES)",
    ),
    pytest.mark.timeout(900),
]


def _renamed(package: dict[str, Any], old: str, new: str) -> dict[str, Any]:
    """The package with its entry Workflow ``#old`` renamed ``#new`` (one package per
    template; steps reference the tools, never the entry)."""
    copy = json.loads(json.dumps(package))
    for process in copy.get("$graph", [copy]):
        if str(process.get("id", "")).split("#")[-1] == old:
            process["id"] = new
    return copy


@pytest.fixture(scope="session")
def zoo(zoo_kernel: Any, zoo_s3: Any) -> Any:
    """The kernel with the packages deployed and S3 settings in ``main.cfg``:
    ``[additional_parameters]`` (zoo-template-common's spelling: GeoLabs' and our template)
    and ``[env]`` ``STAGEIN_*``/``STAGEOUT_*`` (what EOEPCA's handler reads)."""
    endpoint = zoo_s3.endpoint
    zoo_kernel.set_config(
        "additional_parameters",
        {
            "s3_bucket": "results",
            "region_name": "us-east-1",
            "aws_access_key_id": "testing",
            "aws_secret_access_key": SECRET,
            "endpoint_url": endpoint,
        },
    )
    env: dict[str, str | None] = {"STAGEOUT_OUTPUT": "results"}
    for side in ("STAGEIN", "STAGEOUT"):
        env[f"{side}_AWS_SERVICEURL"] = endpoint
        env[f"{side}_AWS_ACCESS_KEY_ID"] = "testing"
        env[f"{side}_AWS_SECRET_ACCESS_KEY"] = SECRET
        env[f"{side}_AWS_REGION"] = "us-east-1"
    zoo_kernel.set_config("env", env)
    eo = load_package(SAMPLES / "eo-ndvi" / "app-package-staged.cwl")
    geolabs_path = [str(zoo_kernel.venv / "zoo-template-common-0.1.4")]
    for name, template in TEMPLATE_IDS.items():
        deploy(
            zoo_kernel.cgi,
            _renamed(eo, "eo-ndvi", f"eo-ndvi-{name}"),
            template,
            f"eo-ndvi-{name}",
            mutable=False,
            python_path=geolabs_path if template == GEOLABS else (),
        )
        deploy(
            zoo_kernel.cgi,
            _renamed(load_package(DATA / "zoo" / "broken.cwl"), "broken", f"broken-{name}"),
            template,
            f"broken-{name}",
            mutable=False,
            python_path=geolabs_path if template == GEOLABS else (),
        )
    for package in ("sleepy", "greet"):
        deploy(zoo_kernel.cgi, DATA / "zoo" / f"{package}.cwl", OWN, package, mutable=False)
    dask_step = load_package(SAMPLES / "dask-step" / "app-package.cwl")
    deploy(
        zoo_kernel.cgi, _renamed(dask_step, "main", "dask-step"), OWN, "dask-step", mutable=False
    )
    greet = load_package(DATA / "zoo" / "greet.cwl")
    deploy(zoo_kernel.cgi, _renamed(greet, "greet", "greet-dru"), OWN, "greet-dru")  # mutable
    return zoo_kernel


# ---------------------------------------------------------------------------- helpers


def _find(value: Any, kinds: tuple[str, ...]) -> dict[str, Any] | None:
    """The first (Feature)Collection in a result document (values may be JSON text)."""
    if isinstance(value, str) and value.lstrip().startswith(("{", '"')):
        try:
            return _find(json.loads(value), kinds)
        except ValueError:
            return None
    if isinstance(value, dict):
        if value.get("type") in kinds:
            return value
        for inner in value.values():
            found = _find(inner, kinds)
            if found is not None:
                return found
    if isinstance(value, list):
        for inner in value:
            found = _find(inner, kinds)
            if found is not None:
                return found
    return None


def _assert_stac_results_in_s3(document: Any, s3: Any, items: int = 3) -> None:
    """The published STAC result's Items (a FeatureCollection, or EOEPCA's Collection
    whose item links are in the bucket) have every asset in S3."""
    s3.invalidate_cache()
    collection = _find(document, ("FeatureCollection", "Collection"))
    assert collection is not None, str(document)[:3000]
    if collection["type"] == "FeatureCollection":
        features = collection["features"]
    else:
        links = [link["href"] for link in collection["links"] if link["rel"] == "item"]
        features = [json.loads(s3.cat_file(href)) for href in links]
    assert len(features) >= items, collection
    for feature in features:
        hrefs = [asset["href"] for asset in feature["assets"].values()]
        assert hrefs and all(h.startswith("s3://") for h in hrefs), hrefs
        assert all(s3.exists(h) for h in hrefs), hrefs


#: Seconds within which an async job's service reports its first status (the runner's
#: "Pre-execution hook", 2 %); it takes about a second on an idle machine.
SERVICE_START = 90


def _submit(zoo: Any, process: str, body: dict[str, Any]) -> str:
    """POST an async execute; returns the job's URL (``Location``) once its service runs.

    The kernel (C) sometimes crashes with SIGSEGV before it runs the service: in about
    one run of this file in three, an async POST answered 500 "receiving signal 11 =
    SIGSEGV", or its job stayed "running" at 0 % with an empty stderr, no run directory and
    no process, its status file saying SIGSEGV (no line of cwl-dask or of the template had
    run). Such a job is reported (a pytest warning with what its process showed) and
    submitted once more; a second one fails the test.
    """
    for attempt in (1, 2):
        reply = zoo.execute(process, body, asynchronous=True)
        if reply.status == 500 and b"SIGSEGV" in reply.body and attempt == 1:
            warnings.warn(f"the kernel crashed accepting a job of {process}: {reply.body!r}; "
                          "submitted again", stacklevel=2)  # fmt: skip
            continue
        assert reply.status == 201, (reply.status, reply.body[:3000])
        assert reply.json()["status"] in ("accepted", "running"), reply.json()
        job = reply.headers["Location"]
        started = zoo.poll(job, timeout=SERVICE_START, until=_STARTED, fail=False)
        if started:
            return job
        report = f"job {job} of {process}: no sign of its service in {SERVICE_START} s"
        assert attempt == 1, f"{report}, twice\n{zoo.job_process(job)}"
        warnings.warn(f"{report}; submitted again\n{zoo.job_process(job)}", stacklevel=2)
    raise AssertionError("unreachable")


def _STARTED(status: dict[str, Any]) -> bool:
    """The job's service has run (a status update or a final status)."""
    return status.get("status") != "running" or int(status.get("progress") or 0) > 0


def _job_report(zoo: Any, statuses: list[dict[str, Any]]) -> str:
    """What to show when a job did not end as expected."""
    last = statuses[-1]
    links = [link["href"] for link in last.get("links", [])]
    return f"{json.dumps(statuses[-3:], indent=1)[:4000]}\nlinks: {links}\n{zoo.error_log()}"


def _pids_of(marker: str) -> list[int]:
    """Processes whose command line or environment contains ``marker``."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        for name in ("cmdline", "environ"):
            try:
                if marker.encode() in (proc / name).read_bytes():
                    found.append(int(proc.name))
                    break
            except OSError:
                continue
    return found


# ------------------------------------------------------------------------------ tests


def test_the_process_list_shows_each_deployed_package_with_its_inputs_and_outputs(
    zoo: Any,
) -> None:
    reply = zoo.request("GET", "/processes")
    assert reply.status == 200, reply.body[:2000]
    ids = {p["id"] for p in reply.json()["processes"]}
    assert {f"eo-ndvi-{name}" for name in TEMPLATE_IDS} <= ids, ids
    assert {"sleepy", "greet", "greet-dru"} <= ids
    description = zoo.request("GET", "/processes/eo-ndvi-own").json()
    assert set(description["inputs"]) == {"stac_items", "aoi_name", "threshold"}
    assert description["inputs"]["stac_items"]["maxOccurs"] in (999, "unbounded")
    assert description["inputs"]["stac_items"].get("minOccurs", 1) == 1
    assert description["inputs"]["threshold"]["minOccurs"] == 0  # it has a default
    assert set(description["outputs"]) == {"results"}


@pytest.mark.parametrize("template", list(TEMPLATE_IDS))
def test_a_sync_execute_returns_the_stac_results_staged_to_s3(
    zoo: Any, zoo_s3: Any, template: str
) -> None:
    reply = zoo.execute(f"eo-ndvi-{template}", {"inputs": EO_INPUTS, "outputs": EO_OUTPUTS})
    assert reply.status == 200, (reply.status, reply.body[:3000], zoo.error_log())
    _assert_stac_results_in_s3(reply.json(), zoo_s3)


@pytest.mark.parametrize("template", list(TEMPLATE_IDS))
def test_an_async_job_shows_the_runners_progress_then_its_stac_results(
    zoo: Any, zoo_s3: Any, template: str
) -> None:
    job = _submit(zoo, f"eo-ndvi-{template}", {"inputs": EO_INPUTS, "outputs": EO_OUTPUTS})
    statuses = zoo.poll(job)
    assert statuses[-1]["status"] == "successful", _job_report(zoo, statuses)
    running = [s["message"] for s in statuses if s["status"] == "running"]
    # the runner's own milestones (calrissian's wording), not only the kernel's "accepted"
    assert any(re.search(r"execution|step|tasks|Pre-execution", m or "") for m in running), running
    results = zoo.request("GET", f"{job}/results")
    assert results.status == 200, results.body[:2000]
    _assert_stac_results_in_s3(results.json(), zoo_s3)


def test_a_failing_tool_fails_the_job_naming_the_step_and_its_log_link_resolves(
    zoo: Any,
) -> None:
    """``explode`` exits 3 after writing its stdout: only its exit code says it failed
    (with SIGCHLD ignored, as the kernel leaves it, every exit code reads 0)."""
    job = _submit(zoo, "broken-own", {"inputs": {"message": "hi"}, "outputs": {"out": {}}})
    statuses = zoo.poll(job)
    final = statuses[-1]
    assert final["status"] == "failed", _job_report(zoo, statuses)
    assert "explode" in final["message"], final["message"]
    logs = [link["href"] for link in final["links"] if link["href"].endswith(".log")]
    assert logs, final["links"]
    for href in logs:
        reply = zoo.request("GET", href)
        assert reply.status == 200 and reply.body, (href, reply.status)
    assert any(b"disk on fire" in zoo.request("GET", href).body for href in logs), logs


@pytest.mark.parametrize("template", ["eoepca", "geolabs"])
def test_a_failing_tool_never_comes_back_successful_from_a_real_template(
    zoo: Any, template: str
) -> None:
    """The real templates replace the runner's message with their own; the status stays,
    and the run's log (served from tmpUrl) says which step failed with which exit code."""
    process = f"broken-{template}"
    job = _submit(zoo, process, {"inputs": {"message": "hi"}, "outputs": {"out": {}}})
    statuses = zoo.poll(job)
    assert statuses[-1]["status"] == "failed", _job_report(zoo, statuses)
    job_id = job.rstrip("/").rsplit("/", 1)[1]
    log = zoo.request("GET", f"{zoo.base}/temp/{process}-{job_id}/cwl-dask.log")
    assert log.status == 200, log.status
    assert re.search(rb"explode.*exit code 3", log.body), log.body[-3000:]


def _service_of(job_id: str) -> int | None:
    """The job's service process: the one the runner's lifeline watcher watches (its
    command line names the job's log, under a directory named after the job)."""
    for pid in _pids_of(job_id):
        with contextlib.suppress(OSError, IndexError, ValueError):
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            if argv[2].endswith(b"lifeline.py"):
                return int(argv[3])
    return None


def _dismiss(zoo: Any) -> tuple[dict[int, bytes], int | None]:
    """Run sleepy, dismiss it once its tool runs: what is left 10 s later, and the job's
    service process if the kernel's SIGKILL missed it."""
    seconds = random.randint(3000, 3999)  # `sleep <seconds>`: the tool's marker
    job = _submit(zoo, "sleepy", {"inputs": {"seconds": seconds}, "outputs": {"out": {}}})
    job_id = job.rstrip("/").rsplit("/", 1)[1]
    marker = f"sleep\0{seconds}"

    def tool_running() -> list[int]:
        return _pids_of(marker)

    deadline = time.monotonic() + 120
    while not tool_running() and time.monotonic() < deadline:
        time.sleep(0.3)
    assert tool_running(), _job_report(zoo, zoo.poll(job, timeout=1, until=()))
    pidfile = zoo.tmp / f"{job_id}.pid"
    service_pid = int(pidfile.read_text().split()[0]) if pidfile.exists() else None
    service = _service_of(job_id)
    run = set(tool_running()) | set(_pids_of(job_id))
    for pid in (service_pid, service):
        if pid is not None:
            run |= {pid} | descendants(pid)
    reply = zoo.request("DELETE", f"/jobs/{job_id}")
    assert reply.status == 200, reply.body[:2000]
    assert reply.json()["status"] == "dismissed"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(alive(p) for p in run):
        time.sleep(0.2)
    left = {p: Path(f"/proc/{p}/cmdline").read_bytes()[:200] for p in run if alive(p)}
    missed = service if service is not None and alive(service) else None
    if missed is not None:  # the kernel's SIGKILL did not reach it: nothing could notice
        os.kill(missed, signal.SIGKILL)
        time.sleep(8)
    return left, missed


def test_a_dismissed_job_leaves_nothing_of_its_run_behind(zoo: Any) -> None:
    """ZOO's DELETE SIGKILLs the pid of the job's ``.pid`` file; the runner's watcher
    stops the rest. In two of about eight runs of this file the job's service process was
    still alive after the DELETE (the kernel's kill missed it): then nothing of the run can
    know, and the case is reported (a pytest warning) and tried once more."""
    left, missed = _dismiss(zoo)
    if missed is not None:
        warnings.warn(f"the kernel's dismissal left the job's process {missed} running; "
                      f"trying again ({left})", stacklevel=1)  # fmt: skip
        left, missed = _dismiss(zoo)
        assert missed is None, f"the kernel's dismissal missed the job's process twice: {left}"
    assert not left, f"left running 10 s after the dismissal: {left}"


def test_two_async_jobs_at_once_both_deliver_their_own_result(zoo: Any, zoo_s3: Any) -> None:
    messages = [f"hello from job {i} {random.randint(0, 10**9)}" for i in (1, 2)]
    jobs = [
        _submit(zoo, "greet", {"inputs": {"message": m}, "outputs": {"out": {}}}) for m in messages
    ]
    for job, message in zip(jobs, messages, strict=True):
        statuses = zoo.poll(job)
        assert statuses[-1]["status"] == "successful", _job_report(zoo, statuses)
        result = zoo.request("GET", f"{job}/results")
        assert result.status == 200, result.body[:2000]
        uris = re.findall(r"s3://[^\"'\s]+", result.body.decode())
        assert uris, result.body[:2000]
        zoo_s3.invalidate_cache()
        assert zoo_s3.cat_file(uris[0]).decode().strip() == message


def test_a_mutable_service_is_refused_sync_as_dru_deploys_it(zoo: Any) -> None:
    """DRU deploys packages mutable; the kernel runs those only asynchronously."""
    reply = zoo.execute("greet-dru", {"inputs": {"message": "hi"}, "outputs": {"out": {}}})
    assert reply.status >= 400
    assert b"mutable" in reply.body


# --------------------------------------------------------------------------- backends


def _gateway_env(gateway_server: Any) -> dict[str, str | None]:
    """What the chart's ``dask.enabled`` gives the services (``DASK_GATEWAY_URL``), plus
    the gateway's Basic-auth credentials through the Dask config."""
    from conftest_gateway import GATEWAY_USER

    return {
        "DASK_GATEWAY_URL": gateway_server.url,
        "DASK_GATEWAY__AUTH__TYPE": "basic",
        "DASK_GATEWAY__AUTH__KWARGS__USERNAME": GATEWAY_USER,
        "DASK_GATEWAY__AUTH__KWARGS__PASSWORD": gateway_server.password,
    }


def _new_gateway_clusters(gateway_server: Any, before: set[str]) -> set[str]:
    return {p.stem for p in gateway_server.record_dir.glob("*.jsonl")} - before


def test_with_dask_gateway_url_in_the_kernels_environment_the_tools_run_on_the_gateway(
    zoo: Any, zoo_s3: Any, gateway_server: Any
) -> None:
    before = _new_gateway_clusters(gateway_server, set())
    message = f"hello over the gateway {random.randint(0, 10**9)}"
    with zoo.configured("env", _gateway_env(gateway_server)):
        job = _submit(zoo, "greet", {"inputs": {"message": message}, "outputs": {"out": {}}})
        statuses = zoo.poll(job)
    assert statuses[-1]["status"] == "successful", _job_report(zoo, statuses)
    clusters = _new_gateway_clusters(gateway_server, before)
    assert clusters, "no cluster was started on the gateway"
    ran = [r for name in clusters for r in gateway_server.records(name) if r["event"] == "task"]
    assert ran, f"no task ran on the gateway's clusters {clusters}"
    result = zoo.request("GET", f"{job}/results").body.decode()
    zoo_s3.invalidate_cache()
    assert zoo_s3.cat_file(re.findall(r"s3://[^\"'\s]+", result)[0]).decode().strip() == message


def test_with_an_object_store_workdir_in_the_dask_config_the_run_keeps_its_files_there(
    zoo: Any, zoo_s3: Any
) -> None:
    """``cwl-dask.workdir: s3://…`` from a Dask config file named by ``DASK_CONFIG`` in
    ``[env]``: the run's intermediate files go to the bucket (ZOO and the workers then
    need no shared volume)."""
    prefix = f"work/zoo-{random.randint(0, 10**9)}"
    config = zoo.run / "dask-config"
    config.mkdir(exist_ok=True)
    (config / "cwl-dask.yaml").write_text(
        json.dumps(  # JSON is YAML
            {
                "cwl-dask": {
                    "workdir": f"s3://{prefix}",
                    "storage-options": {
                        "key": "testing",
                        "secret": SECRET,
                        "client_kwargs": {"endpoint_url": zoo_s3.endpoint},
                    },
                }
            }
        )
    )
    with zoo.configured("env", {"DASK_CONFIG": str(config)}):
        job = _submit(zoo, "eo-ndvi-own", {"inputs": EO_INPUTS, "outputs": EO_OUTPUTS})
        statuses = zoo.poll(job)
    assert statuses[-1]["status"] == "successful", _job_report(zoo, statuses)
    _assert_stac_results_in_s3(zoo.request("GET", f"{job}/results").json(), zoo_s3)
    # store mode: each tool ran in its worker's scratch directory (the in-process worker's
    # is in the job's own directory, TMPDIR), not in the run's shared work directory (the
    # run's files went through the bucket; a successful run leaves nothing there)
    job_id = job.rstrip("/").rsplit("/", 1)[1]
    run_dir = zoo.tmp / f"eo-ndvi-own-{job_id}"
    log = (run_dir / "ndvi.log").read_text()
    tool_dir = re.search(r"\[job ndvi\w*\] (/\S+)\$", log)
    assert tool_dir and "/cwl-dask-scratch/" in tool_dir.group(1), log[:2000]
    assert not tool_dir.group(1).startswith(str(run_dir / "work")), log[:2000]
    zoo_s3.invalidate_cache()
    assert not zoo_s3.find(prefix), "the run left intermediate files in the bucket"


def test_a_dask_gateway_requirement_step_gets_its_own_gateway_cluster(
    zoo: Any, zoo_s3: Any, gateway_server: Any
) -> None:
    before = _new_gateway_clusters(gateway_server, set())
    body = {
        "inputs": {"size": 256, "chunk": 128, "max_cores": 1},
        "outputs": {"stats": {}, "dask_report": {}},
    }
    with zoo.configured("env", _gateway_env(gateway_server)):
        job = _submit(zoo, "dask-step", body)
        statuses = zoo.poll(job)
    assert statuses[-1]["status"] == "successful", _job_report(zoo, statuses)
    result = zoo.request("GET", f"{job}/results").json()
    zoo_s3.invalidate_cache()
    report = json.loads(zoo_s3.cat_file(result["dask_report"]["value"]))
    assert report["mode"] == "gateway", report
    # the run's own cluster and the step's: two clusters on the gateway
    assert len(_new_gateway_clusters(gateway_server, before)) >= 2


def test_our_service_template_renders_as_cookiecutter_renders_it() -> None:
    """Cookiecutter renders every file with Jinja2 and the ``cookiecutter`` context: our
    template must give what ``cwl_dask.zoo.deploy`` writes, and valid Python."""
    jinja2 = pytest.importorskip("jinja2")
    context = json.loads((OWN.parent.parent / "cookiecutter.json").read_text())
    context.update(workflow_id="eo-ndvi", service_name="eo-ndvi")
    environment = jinja2.Environment(keep_trailing_newline=True)
    rendered = environment.from_string(OWN.read_text()).render(cookiecutter=context)
    assert rendered == render_service(OWN.read_text(), "eo-ndvi")
    compile(rendered, "service.py", "exec")
    assert "def eo_ndvi(conf, inputs, outputs):" in rendered
    assert environment.from_string(OWN.parent.name).render(cookiecutter=context) == "eo-ndvi"
