"""Stage-in/stage-out wrapping (`cwl-dask wrap`, `run --wrap`) and the default staging tools."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pystac
import pytest
from ruamel.yaml import YAML

from conftest import SAMPLES, served
from cwl_dask.eo.wrap import (
    URI_TYPE,
    normalise_uri_value,
    wrap_package,
    wrapped_job,
    write_wrapped,
)
from cwl_dask.errors import InvalidInputError

PATTERNS = SAMPLES / "patterns"
PACKAGE = PATTERNS / "app-package.cwl"
DATA = PATTERNS / "data"
STAGING = Path(__file__).resolve().parent.parent / "src" / "cwl_dask" / "eo" / "staging"
WRAP_DATA = Path(__file__).resolve().parent / "data" / "wrap"


@pytest.fixture
def http_data() -> Iterator[str]:
    """The patterns sample's data served over HTTP on 127.0.0.1 (a random port)."""
    with served(DATA) as url:
        yield url


def _script(name: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    cwd.mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        [sys.executable, str(STAGING / name), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _staged(cwd: Path) -> Path:
    """The directory stage-in named in its cwl.output.json."""
    output = json.loads((cwd / "cwl.output.json").read_text())
    assert output["staged"]["class"] == "Directory"
    return cwd / output["staged"]["location"]


def _assert_self_contained(directory: Path) -> list[pystac.Item]:
    catalog = pystac.Catalog.from_file(str(directory / "catalog.json"))
    items = list(catalog.get_items(recursive=True))
    for path in directory.rglob("*.json"):
        document = json.loads(path.read_text())
        hrefs = [link["href"] for link in document.get("links", [])]
        hrefs += [asset["href"] for asset in document.get("assets", {}).values()]
        for href in hrefs:
            assert not href.startswith(("/", "file:", "http")), (path, href)
    for item in items:
        for asset in item.assets.values():
            assert Path(asset.get_absolute_href()).is_file()
    return items


# --------------------------------------------------------------------------- wrap


def _main(document: dict[str, Any]) -> dict[str, Any]:
    return next(p for p in document["$graph"] if p["id"] == "main")


def _types(parameters: list[dict[str, Any]]) -> dict[str, Any]:
    return {p["id"]: p["type"] for p in parameters}


def test_wrap_turns_directory_parameters_into_uris_and_keeps_the_rest() -> None:
    main = _main(wrap_package(str(PACKAGE)))
    inputs, outputs = _types(main["inputs"]), _types(main["outputs"])
    assert inputs["scene"] == URI_TYPE
    assert inputs["series"] == {"type": "array", "items": URI_TYPE}
    assert inputs["mask"] == ["null", URI_TYPE]
    assert inputs["threshold"] == "float"
    assert inputs["stage_out_target"] == "string"  # the stage-out's own input, once
    assert outputs == {
        "scene_catalog": URI_TYPE,
        "series_catalogs": {"type": "array", "items": URI_TYPE},
        "scene_mean": "float",
        "series_mean": "float",
    }
    steps = {s["id"]: s for s in main["steps"]}
    assert steps["app"]["run"] == "#patterns"
    assert steps["directory_stage_in_1"]["scatter"] == "reference"  # Directory[]
    assert "when" in steps["directory_stage_in_2"]  # Directory?


def test_wrapped_document_is_valid_for_cwltool_and_needs_no_network(
    cwl_dask, cwltool, tmp_path: Path
) -> None:
    wrapped = tmp_path / "wrapped.cwl"
    made = cwl_dask("wrap", PACKAGE, "-o", wrapped)
    assert made.code == 0, made.stderr
    text = wrapped.read_text()
    assert "$import" not in text and "raw.githubusercontent.com" in text  # names, not fetches
    checked = cwltool("--validate", wrapped)
    assert checked.code == 0, checked.stderr
    cwl_dask("wrap", PACKAGE, "-o", tmp_path / "again.cwl")
    assert (tmp_path / "again.cwl").read_text() == text  # deterministic


def _renamed_package(tmp_path: Path, renames: dict[str, str]) -> Path:
    """The patterns package with some process ids changed (and the steps that run them)."""
    package = tmp_path / "pkg.cwl"
    text = PACKAGE.read_text()
    source = YAML(typ="safe", pure=True).load(text)
    for process in source["$graph"]:
        process["id"] = renames.get(process["id"], process["id"])
        for step in (process.get("steps") or {}).values():
            step["run"] = "#" + renames.get(step["run"][1:], step["run"][1:])
    (tmp_path / "stats.py").write_text((PATTERNS / "stats.py").read_text())
    package.write_text(json.dumps(source))
    return package


def test_wrap_renames_an_entry_called_main_as_zoo_calrissian_runner_does(tmp_path: Path) -> None:
    document = wrap_package(str(_renamed_package(tmp_path, {"patterns": "main"})))
    ids = [p["id"] for p in document["$graph"]]
    assert ids.count("main") == 1 and "main_clt" in ids
    assert {s["id"]: s for s in _main(document)["steps"]}["app"]["run"] == "#main_clt"


def test_wrap_renames_a_tool_called_main_beside_the_entry(tmp_path: Path) -> None:
    document = wrap_package(str(_renamed_package(tmp_path, {"stats": "main"})), "patterns")
    processes = {p["id"]: p for p in document["$graph"]}
    assert "patterns_clt" in processes and list(processes).count("main") == 1
    runs = {s["id"]: s["run"] for s in processes["patterns"]["steps"]}
    assert "#patterns_clt" in runs.values() and "#main" not in runs.values()


def test_wrap_names_file_parameters_with_secondary_files_it_cannot_stage() -> None:
    with pytest.raises(InvalidInputError, match=r"input stac_items \(File\[\]\)") as err:
        wrap_package(str(SAMPLES / "eo-ndvi" / "app-package.cwl"))
    assert "secondaryFiles" in str(err.value)


def test_a_stage_in_importing_the_eoap_schema_is_used_without_the_network() -> None:
    document = wrap_package(str(PACKAGE), stage_in=str(WRAP_DATA / "stage-in-upstream.cwl"))
    main = _main(document)
    steps = {s["id"]: s for s in main["steps"]}
    assert steps["directory_stage_in_0"]["run"] == "#my-stage-in"
    assert _types(main["inputs"])["api_key"] == "string"  # its extra input
    assert "$import" not in json.dumps(document)
    assert [p["id"] for p in document["$graph"]].count("stage-in") == 0  # default unused


def test_a_stage_in_without_a_uri_input_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="no URL-compatible input"):
        wrap_package(str(PACKAGE), stage_in=str(WRAP_DATA / "not-a-stage-in.cwl"))


def test_wrap_command_reports_an_unknown_entry_with_exit_2(cwl_dask) -> None:
    result = cwl_dask("wrap", PACKAGE, "--entry", "nope")
    assert result.code == 2
    assert "no process #nope" in result.stderr and "#patterns (Workflow)" in result.stderr
    assert "Traceback" not in result.stderr


def test_stage_options_need_wrap(cwl_dask) -> None:
    result = cwl_dask("run", "--stage-in", "x.cwl", PACKAGE)
    assert result.code == 2 and "need --wrap" in result.stderr


# --------------------------------------------------------------------------- job orders


def test_uri_values_accept_value_href_and_bare_strings(tmp_path: Path) -> None:
    assert normalise_uri_value({"value": "s3://b/k"}, "/jobs") == {"value": "s3://b/k"}
    assert normalise_uri_value({"href": "http://h/c.json"}, "/jobs") == {"value": "http://h/c.json"}
    assert normalise_uri_value("data/c.json", "/jobs") == {"value": "/jobs/data/c.json"}
    assert normalise_uri_value([{"href": "/a"}, "b"], "/j") == [{"value": "/a"}, {"value": "/j/b"}]
    with pytest.raises(InvalidInputError):
        normalise_uri_value({"other": 1}, "/jobs")


def test_wrapped_job_stages_out_under_outdir_unless_told(tmp_path: Path) -> None:
    document = wrap_package(str(PACKAGE))
    job = wrapped_job(document, {"scene": "s", "mask": None}, "/j", str(tmp_path))
    assert job == {
        "scene": {"value": "/j/s"},
        "mask": None,
        "stage_out_target": str(tmp_path / "staged-out"),
    }
    told = wrapped_job(document, {"stage_out_target": "s3://b/p"}, "/j", str(tmp_path))
    assert told["stage_out_target"] == "s3://b/p"


# --------------------------------------------------------------------------- stage-in


@pytest.mark.parametrize(
    "reference",
    [
        str(DATA / "series-1"),  # a directory holding catalog.json
        (DATA / "series-1" / "catalog.json").as_uri(),
        json.dumps({"href": str(DATA / "series-1" / "catalog.json")}),  # older record form
    ],
    ids=["directory", "file-uri", "href-record"],
)
def test_stage_in_makes_a_self_contained_local_catalog(reference: str, tmp_path: Path) -> None:
    result = _script("stage_in.py", reference, cwd=tmp_path / "job")
    assert result.returncode == 0, result.stderr
    staged = _staged(tmp_path / "job")
    assert staged.name == "series-1"
    items = _assert_self_contained(staged)
    assert [i.id for i in items] == ["series-1-item"]
    copied = staged / "series-1-item" / "values.txt"
    assert copied.read_bytes() == (DATA / "series-1" / "series-1-item" / "values.txt").read_bytes()


def test_stage_in_downloads_a_catalog_and_its_assets_over_http(
    http_data: str, tmp_path: Path
) -> None:
    result = _script("stage_in.py", f"{http_data}/scene-a/catalog.json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    items = _assert_self_contained(_staged(tmp_path))
    asset = Path(items[0].assets["values"].get_absolute_href())
    assert asset.read_bytes() == (DATA / "scene-a" / "scene-a-item" / "values.txt").read_bytes()


def test_stage_in_of_a_single_item_wraps_it_in_a_catalog(http_data: str, tmp_path: Path) -> None:
    url = f"{http_data}/mask-a/mask-a-item/mask-a-item.json"
    result = _script("stage_in.py", url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    items = _assert_self_contained(_staged(tmp_path))
    assert [i.id for i in items] == ["mask-a-item"]


def test_stage_in_fails_clearly_on_a_missing_reference(tmp_path: Path) -> None:
    result = _script("stage_in.py", str(tmp_path / "nothing.json"), cwd=tmp_path / "job")
    assert result.returncode == 1
    assert "stage-in: no such file" in result.stderr and "Traceback" not in result.stderr


# --------------------------------------------------------------------------- stage-out


def test_stage_out_copies_the_catalog_and_never_overwrites(tmp_path: Path) -> None:
    source = tmp_path / "result"
    shutil.copytree(DATA / "scene-a", source)
    target = tmp_path / "published"
    uris = []
    for attempt in ("one", "two"):
        result = _script(
            "stage_out.py",
            "--target",
            str(target),
            "--catalog",
            str(source),
            cwd=tmp_path / attempt,
        )
        assert result.returncode == 0, result.stderr
        uris.append(json.loads((tmp_path / attempt / "cwl.output.json").read_text()))
    first, second = (Path(u["stac_catalog"]["value"].removeprefix("file://")) for u in uris)
    assert first.parent.name.startswith("scene-a-") and second.parent.name.endswith("-2")
    assert first.parent.parent == target
    _assert_self_contained(first.parent)
    copied = {p.relative_to(first.parent) for p in first.parent.rglob("*") if p.is_file()}
    assert {p.relative_to(source) for p in source.rglob("*") if p.is_file()} <= copied


def test_stage_out_puts_the_items_of_a_plain_catalog_in_a_collection(tmp_path: Path) -> None:
    source = tmp_path / "result"
    shutil.copytree(DATA / "scene-a", source)
    before = _tree(source)
    result = _script(
        "stage_out.py", "--target", str(tmp_path / "t"), "--catalog", str(source), cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    uri = json.loads((tmp_path / "cwl.output.json").read_text())["stac_catalog"]["value"]
    catalog = pystac.Catalog.from_file(uri.removeprefix("file://"))
    collection = next(catalog.get_all_collections())
    assert collection.id == catalog.id
    assert [i.id for i in collection.get_items(recursive=True)] == ["scene-a-item"]
    assert all(i.collection_id == catalog.id for i in collection.get_items(recursive=True))
    collection.validate_all()
    assert _tree(source) == before  # the application's own directory is not changed


def test_stage_out_keeps_a_catalog_that_has_a_collection(tmp_path: Path) -> None:
    source = tmp_path / "result"
    shutil.copytree(DATA / "scene-a", source)
    item = source / "scene-a-item" / "scene-a-item.json"
    collection = pystac.Collection(
        "mine",
        "a collection",
        pystac.Extent.from_dict(
            {"spatial": {"bbox": [[0, 0, 1, 1]]}, "temporal": {"interval": [[None, None]]}}
        ),
    )
    collection.add_item(pystac.Item.from_file(str(item)))
    catalog = pystac.Catalog("scene-a", "results")
    catalog.add_child(collection)
    shutil.rmtree(source)
    catalog.normalize_and_save(str(source), pystac.CatalogType.SELF_CONTAINED)
    result = _script(
        "stage_out.py", "--target", str(tmp_path / "t"), "--catalog", str(source), cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    uri = json.loads((tmp_path / "cwl.output.json").read_text())["stac_catalog"]["value"]
    staged = Path(uri.removeprefix("file://")).parent
    assert _tree(staged) == _tree(source)


def test_stage_out_refuses_a_catalog_with_absolute_hrefs(tmp_path: Path) -> None:
    source = tmp_path / "result"
    shutil.copytree(DATA / "scene-a", source)
    catalog = json.loads((source / "catalog.json").read_text())
    catalog["links"][1]["href"] = str(source / "scene-a-item" / "scene-a-item.json")
    (source / "catalog.json").write_text(json.dumps(catalog))
    result = _script(
        "stage_out.py", "--target", str(tmp_path / "t"), "--catalog", str(source), cwd=tmp_path
    )
    assert result.returncode == 1
    assert "absolute local href" in result.stderr
    assert not (tmp_path / "t").exists() or not any((tmp_path / "t").iterdir())


# --------------------------------------------------------------------------- whole runs


def _tree(directory: Path) -> dict[str, str]:
    return {
        str(p.relative_to(directory)): hashlib.sha1(p.read_bytes()).hexdigest()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def _published(output: dict[str, Any], target: Path) -> dict[str, Any]:
    """Output object with each URI made relative to the target, and its tree's checksums."""

    def visit(value: Any) -> Any:
        if isinstance(value, list):
            return [visit(v) for v in value]
        if isinstance(value, dict) and set(value) == {"value"}:
            path = Path(value["value"].removeprefix("file://"))
            assert path.is_relative_to(target), (path, target)
            return {"uri": str(path.relative_to(target)), "tree": _tree(path.parent)}
        return value

    return {key: visit(value) for key, value in output.items()}


def test_wrapped_sample_runs_like_cwltool_with_local_and_http_references(
    cwl_dask, cwltool, http_data: str, tmp_path: Path
) -> None:
    # The optional Directory (mask) is left out: its stage-in step is skipped (`when`).
    job = {
        "scene": {"value": str(DATA / "scene-a" / "catalog.json")},
        "series": [
            {"value": f"{http_data}/series-1/catalog.json"},
            {"href": str(DATA / "series-2")},
            "series-3/catalog.json",  # relative to the job file
        ],
        "threshold": 0.25,
    }
    (tmp_path / "jobs").mkdir()
    (tmp_path / "jobs" / "series-3").symlink_to(DATA / "series-3")
    job_file = tmp_path / "jobs" / "job.json"
    job_file.write_text(json.dumps(job))
    ours = cwl_dask(
        "run", "--wrap", "--no-container", "--outdir", tmp_path / "ours", PACKAGE, job_file
    )
    wrapped = tmp_path / "wrapped.cwl"
    document = wrap_package(str(PACKAGE), python=sys.executable)  # what `cwl-dask wrap` writes
    write_wrapped(document, wrapped)
    reference_job = wrapped_job(document, job, str(job_file.parent), str(tmp_path / "ref"))
    (tmp_path / "ref-job.json").write_text(json.dumps(reference_job))
    reference = cwltool(
        "--no-container", "--outdir", tmp_path / "ref", wrapped, tmp_path / "ref-job.json"
    )
    assert ours.code == 0, ours.stderr
    assert "previously defined" not in ours.stderr  # the URI type is defined once
    assert reference.code == 0, reference.stderr
    ours_published = _published(ours.output(), tmp_path / "ours" / "staged-out")
    assert ours_published == _published(reference.output(), tmp_path / "ref" / "staged-out")
    assert len(ours_published["series_catalogs"]) == 3
    scene = Path(ours.output()["scene_catalog"]["value"].removeprefix("file://")).parent
    stats = json.loads(next(scene.rglob("stats.json")).read_text())
    assert stats["masked"] is False and stats["count"] == 64


# --------------------------------------------------------------------------- S3 (moto)


def test_stage_in_and_out_through_s3(s3: Any, tmp_path: Path) -> None:
    staged = _script("stage_in.py", "s3://inputs/data/series-2/catalog.json", cwd=tmp_path / "in")
    assert staged.returncode == 0, staged.stderr
    items = _assert_self_contained(_staged(tmp_path / "in"))
    values = Path(items[0].assets["values"].get_absolute_href())
    assert values.read_bytes() == (DATA / "series-2" / "series-2-item" / "values.txt").read_bytes()

    published = _script(
        "stage_out.py",
        "--target",
        "s3://outputs/run-1",
        "--catalog",
        str(_staged(tmp_path / "in")),
        cwd=tmp_path / "out",
    )
    assert published.returncode == 0, published.stderr
    uri = json.loads((tmp_path / "out" / "cwl.output.json").read_text())["stac_catalog"]["value"]
    assert uri.startswith("s3://outputs/run-1/series-2-") and uri.endswith("/catalog.json")
    s3.invalidate_cache()
    prefix = uri.removeprefix("s3://").removesuffix("/catalog.json")
    assert sorted(p.removeprefix(prefix + "/") for p in s3.find(prefix)) == [
        "catalog.json",
        "collection.json",
        "series-2-item/series-2-item.json",
        "series-2-item/values.txt",
    ]


def test_wrapped_run_stages_in_from_and_out_to_s3(s3: Any, cwl_dask, tmp_path: Path) -> None:
    job = tmp_path / "job.json"
    job.write_text(
        json.dumps(
            {
                "scene": {"value": "s3://inputs/data/scene-a/catalog.json"},
                "series": [{"value": "s3://inputs/data/series-1/catalog.json"}],
                "stage_out_target": "s3://outputs/wrapped",
            }
        )
    )
    result = cwl_dask("run", "--wrap", "--no-container", "--outdir", tmp_path / "o", PACKAGE, job)
    assert result.code == 0, result.stderr
    output = result.output()
    assert output["scene_catalog"]["value"].startswith("s3://outputs/wrapped/scene-a-stats-")
    (series,) = output["series_catalogs"]
    s3.invalidate_cache()
    assert s3.exists(series["value"])
    local = tmp_path / "o"  # results went to S3: only the run's logs are local
    assert not local.exists() or {p.name for p in local.iterdir()} <= {".cwl-dask"}
