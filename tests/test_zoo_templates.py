"""ZooDaskRunner in the service templates ZOO-Project-DRU really deploys.

Each template of ``../shared/zoo-templates`` (verbatim upstream files, read from there) is
deployed for a package as ZOO-Project-DRU deploys it (see ``zoo_kernel.py``: cookiecutter's
field substituted, only the runner swapped) and called in its own process as the kernel
calls it, with a ZOO-Project-DRU ``conf``, string inputs (``s3://`` Item URLs) and S3 on a
moto server on 127.0.0.1. ZOO's temporary directory is served over HTTP as ZOO's web
server serves it, so the status links are followed as a client follows them.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import ROOT, SAMPLES
from cwl_dask.zoo import load_package

TEMPLATES = Path(os.environ.get("ZOO_TEMPLATES") or ROOT.parent / "shared" / "zoo-templates")
EOEPCA = TEMPLATES / "eoepca-proc-service-template" / "service.py"
GEOLABS = TEMPLATES / "zoo-service-template" / "service.py"
KERNEL = Path(__file__).resolve().parent / "zoo_kernel.py"
USER = "alice"
USID = "8f1c2a9e-0d4b-11f0-9c1a-0242ac120002"
SECRET = "s3cr3t-never-served-7f3a"  # moto takes any key; this one must leak nowhere

pytestmark = pytest.mark.skipif(
    not (EOEPCA.exists() and GEOLABS.exists()),
    reason=f"the ZOO service templates are not at {TEMPLATES} (set ZOO_TEMPLATES)",
)


@pytest.fixture(scope="session")
def geolabs_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    """zoo-template-common 0.1.4 first on the path: the GeoLabs template's handler calls
    ``super().__init__(conf, outputs)``, which 0.1.5 and later refuse (upstream quirk)."""
    target = tmp_path_factory.mktemp("zoo-template-common-0.1.4")
    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target)]
    done = subprocess.run([*pip, "zoo-template-common==0.1.4"], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot install zoo-template-common 0.1.4: {done.stderr.strip()[-300:]}")
    return str(target)


@pytest.fixture
def temp_server(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """ZOO's ``tmpPath`` and ``tmpUrl``: the directory served over HTTP as ZOO's web server
    serves it, also under ``/<user>/temp/`` (the templates rewrite ``temp/`` that way)."""
    tmp = tmp_path / "zoo-tmp"
    tmp.mkdir()

    class Temp(http.server.SimpleHTTPRequestHandler):
        def translate_path(self, path: str) -> str:
            for prefix in (f"/{USER}/temp/", "/temp/"):
                if path.startswith(prefix):
                    return super().translate_path("/" + path.removeprefix(prefix))
            return str(tmp / "not-served")

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Temp, directory=str(tmp))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield tmp, f"http://127.0.0.1:{server.server_address[1]}/temp/"
    finally:
        server.shutdown()
        server.server_close()


# ------------------------------------------------------------------------- the requests


def _array(values: list[str]) -> dict[str, Any]:
    n = str(len(values))
    return {"isArray": "true", "length": n, "value": values, "inRequest": "true"}


def _literal(value: str, data_type: str = "string") -> dict[str, Any]:
    return {"value": value, "dataType": data_type, "inRequest": "true"}


PACKAGES: dict[str, dict[str, Any]] = {
    "eo-ndvi": {
        "package": SAMPLES / "eo-ndvi" / "app-package-staged.cwl",
        "inputs": {
            "stac_items": _array([f"s3://inputs/eo-ndvi/S2-synth-00{i}.json" for i in (1, 2, 3)]),
            "aoi_name": _literal("zoo-aoi"),
            "threshold": _literal("0.3", "double"),
        },
        "outputs": {"results": {"mimeType": "application/json"}},
        "items": 3,
    },
    "patterns": {
        "package": SAMPLES / "patterns" / "app-package.cwl",
        "inputs": {
            "scene": _literal("s3://inputs/data/scene-a/catalog.json"),
            "series": _array(
                ["s3://inputs/data/series-1/catalog.json", "s3://inputs/data/series-2"]
            ),
        },
        "outputs": {
            "scene_catalog": {"mimeType": "application/json"},
            "series_catalogs": {"mimeType": "application/json"},
            "scene_mean": {"dataType": "double"},
            "series_mean": {"dataType": "double"},
        },
        "items": 1,
    },
}


def _conf(
    tmp: Path, url: str, workflow_id: str, s3: Any, template: Path, usid: str = USID
) -> dict[str, Any]:
    conf: dict[str, Any] = {
        "main": {"tmpPath": str(tmp), "tmpUrl": url, "language": "en-US"},
        "lenv": {"Identifier": workflow_id, "usid": usid, "message": ""},
        "auth_env": {"user": USER},
        "renv": {},
    }
    if template == GEOLABS:  # zoo-template-common's spelling, from the platform's config
        conf["additional_parameters"] = {
            "s3_bucket": "results",
            "region_name": "us-east-1",
            "aws_access_key_id": "testing",
            "aws_secret_access_key": SECRET,
            "endpoint_url": s3.endpoint,
        }
    return conf


def _environment(s3: Any, template: Path, geolabs_path: str) -> dict[str, str]:
    """The kernel's environment: no ``AWS_*`` (the platform's settings must be what
    works); EOEPCA's handler reads the staging settings from ``STAGEIN_*``/``STAGEOUT_*``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    if template == EOEPCA:
        for side in ("STAGEIN", "STAGEOUT"):
            env[f"{side}_AWS_SERVICEURL"] = s3.endpoint
            env[f"{side}_AWS_ACCESS_KEY_ID"] = "testing"
            env[f"{side}_AWS_SECRET_ACCESS_KEY"] = SECRET
            env[f"{side}_AWS_REGION"] = "us-east-1"
        env["STAGEOUT_OUTPUT"] = "eoepca"
    else:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [geolabs_path, env.get("PYTHONPATH")]))
    return env


def _deploy_and_execute(
    template: Path,
    name: str,
    s3: Any,
    temp: tuple[Path, str],
    geolabs_path: str,
    usid: str = USID,
    dask_config: dict[str, str] | None = None,
    **changes: Any,
) -> dict[str, Any]:
    """Deploy ``template`` for the package ``name`` and execute it once, as ZOO does (job
    ``usid``; ``dask_config``: the kernel's ``DASK_*`` variables)."""
    tmp, url = temp
    case = PACKAGES[name]
    workflow_id = name
    request = {
        "template": str(template),
        "package": load_package(case["package"]),
        "workflow_id": workflow_id,
        "service_dir": str(tmp.parent / "services" / workflow_id),
        "conf": _conf(tmp, url, workflow_id, s3, template, usid),
        "inputs": {**case["inputs"], **changes},
        "outputs": json.loads(json.dumps(case["outputs"])),
    }
    request_path, result_path = tmp.parent / "request.json", tmp.parent / "result.json"
    request_path.write_text(json.dumps(request, indent=2))
    done = subprocess.run(
        [sys.executable, str(KERNEL), str(request_path), str(result_path)],
        env={**_environment(s3, template, geolabs_path), **(dask_config or {})},
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp.parent,
    )
    assert result_path.exists(), done.stderr[-3000:]
    result = json.loads(result_path.read_text())
    result["stderr"] = done.stderr
    assert "kernel_traceback" not in result["conf"], result["conf"]["kernel_traceback"]
    return result


def _links(conf: dict[str, Any]) -> list[str]:
    logs = conf.get("service_logs", {})
    return [v for k, v in logs.items() if k == "url" or k.startswith("url_")]


def _fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read()


def _published_collection(result: dict[str, Any]) -> dict[str, Any]:
    """The (Feature)Collection the service put into its first STAC output."""
    first = next(iter(result["outputs"].values()))
    value = json.loads(first["value"])
    return json.loads(value) if isinstance(value, str) else value


def _features(collection: dict[str, Any], s3: Any) -> list[dict[str, Any]]:
    """The Items of what a handler published: a FeatureCollection (zoo-template-common,
    and EOEPCA's without a Collection) or the staged-out Collection (EOEPCA's), whose
    ``item`` links are read from the bucket."""
    if collection["type"] == "FeatureCollection":
        return collection["features"]
    assert collection["type"] == "Collection", collection["type"]
    links = [link["href"] for link in collection["links"] if link["rel"] == "item"]
    assert all(h.startswith("s3://") for h in links), links
    return [json.loads(s3.cat_file(h)) for h in links]


def _assert_assets_in_bucket(collection: dict[str, Any], s3: Any, items: int) -> None:
    s3.invalidate_cache()
    features = _features(collection, s3)
    assert len(features) >= items
    for feature in features:
        hrefs = [asset["href"] for asset in feature["assets"].values()]
        assert hrefs and all(h.startswith("s3://") for h in hrefs), hrefs
        assert all(s3.exists(h) for h in hrefs), hrefs


# --------------------------------------------------------------------------- the cases

TEMPLATE_CASES = [pytest.param(EOEPCA, id="eoepca"), pytest.param(GEOLABS, id="geolabs")]


@pytest.mark.parametrize("name", ["eo-ndvi", "patterns"])
@pytest.mark.parametrize("template", TEMPLATE_CASES)
def test_a_deployed_template_publishes_the_staged_out_collection(
    template: Path, name: str, s3: Any, temp_server: tuple[Path, str], geolabs_path: str
) -> None:
    result = _deploy_and_execute(template, name, s3, temp_server, geolabs_path)
    assert result["code"] == 3, result["conf"]["lenv"].get("message") or result["stderr"][-3000:]
    collection = _published_collection(result)
    assert collection["id"] == USID  # the handlers name it after the job
    _assert_assets_in_bucket(collection, s3, PACKAGES[name]["items"])
    assert [p for p, _m in result["statuses"]][-1] == 100


@pytest.mark.parametrize("template", TEMPLATE_CASES)
def test_the_s3_secret_is_in_no_file_zoo_serves(
    template: Path, s3: Any, temp_server: tuple[Path, str], geolabs_path: str
) -> None:
    tmp, _url = temp_server
    result = _deploy_and_execute(template, "eo-ndvi", s3, temp_server, geolabs_path)
    assert result["code"] == 3
    files = [p for p in tmp.rglob("*") if p.is_file()]
    assert any(p.name == "job.json" for p in files)
    assert [p for p in files if SECRET.encode() in p.read_bytes()] == []


@pytest.mark.parametrize("template", TEMPLATE_CASES)
def test_a_deployed_template_reports_a_failing_tool_with_its_logs(
    template: Path, s3: Any, temp_server: tuple[Path, str], geolabs_path: str
) -> None:
    tmp, _url = temp_server
    item = json.loads((SAMPLES / "eo-ndvi" / "data" / "S2-synth-001.json").read_text())
    item["id"] = "S2-broken"
    s3.pipe("inputs/broken/S2-broken.json", json.dumps(item).encode())
    s3.pipe("inputs/broken/S2-synth-001.red.f32", b"\0\0\0")  # not the Item's shape
    s3.put(str(SAMPLES / "eo-ndvi" / "data" / "S2-synth-001.nir.f32"), "inputs/broken/")
    broken = _array(["s3://inputs/eo-ndvi/S2-synth-001.json", "s3://inputs/broken/S2-broken.json"])
    result = _deploy_and_execute(
        template, "eo-ndvi", s3, temp_server, geolabs_path, stac_items=broken
    )
    assert result["code"] == 4
    job_log = tmp / f"eo-ndvi-{USID}" / "job.log"
    text = job_log.read_text()
    assert "step 'ndvi' failed" in text and "expected shape" in text, text[-2000:]
    links = _links(result["conf"])
    tool_logs = [link for link in links if not link.endswith("/job.log")]
    assert tool_logs, result["conf"].get("service_logs")
    assert any(b"expected shape" in _fetch(link) for link in tool_logs)
    for link in links:
        assert _fetch(link), link  # every link resolves to a file with content


def test_a_second_identical_execution_returns_the_first_s_stac_results_running_no_tool(
    s3: Any, temp_server: tuple[Path, str], geolabs_path: str
) -> None:
    """With the Dask config ``cwl-dask.cachedir``, a second execution of the same request
    reuses every result of the first; only the stage-out runs again (its target names the
    new job, as the templates expect)."""
    tmp, _url = temp_server
    template = EOEPCA  # the cache is the runner's: one template shows it
    cache = {"DASK_CWL_DASK__CACHEDIR": str(tmp.parent / "cache")}
    first = _deploy_and_execute(template, "eo-ndvi", s3, temp_server, geolabs_path,
                                dask_config=cache)  # fmt: skip
    assert first["code"] == 3, first["stderr"][-3000:]
    again = "0d5e6f70-0d4b-11f0-9c1a-0242ac120003"
    second = _deploy_and_execute(template, "eo-ndvi", s3, temp_server, geolabs_path, usid=again,
                                 dask_config=cache)  # fmt: skip
    assert second["code"] == 3, second["conf"]["lenv"].get("message") or second["stderr"][-3000:]
    collection = _published_collection(second)
    assert collection["id"] == again
    _assert_assets_in_bucket(collection, s3, PACKAGES["eo-ndvi"]["items"])
    [report] = (tmp / f"eo-ndvi-{again}").glob("report.json")
    children = json.loads(report.read_text())["children"]
    ran = [c["name"] for c in children if not c["cached"]]
    assert [name for name in ran if not name.startswith("stage_out")] == [], ran
    assert len(ran) < len(children)  # stage-in and every tool of the package were reused
    assert list((tmp.parent / "cache" / "users" / USER).iterdir())  # alice's own prefix


def test_the_runner_installs_beside_everything_the_templates_import() -> None:
    """``pip check`` for the closure of cwl-dask and zoo-calrissian-runner: the versions
    installed together satisfy every requirement of either (the ZOO-Project-DRU image)."""
    from importlib import metadata

    from packaging.requirements import Requirement

    broken, todo, seen = [], ["cwl-dask", "zoo-calrissian-runner", "zoo-template-common"], set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for text in metadata.requires(name) or []:
            requirement = Requirement(text)
            if requirement.marker and not requirement.marker.evaluate({"extra": ""}):
                continue
            try:
                version = metadata.version(requirement.name)
            except metadata.PackageNotFoundError:
                broken.append(f"{name} needs {requirement}, not installed")
                continue
            if not requirement.specifier.contains(version, prereleases=True):
                broken.append(f"{name} needs {requirement}, {version} is installed")
            todo.append(requirement.name.lower())
    assert not broken, broken
