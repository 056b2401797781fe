"""STAC results: finding them in output objects, checking them, `run --stac`, `cwl-dask stac`."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import socket
from pathlib import Path
from typing import Any

import pytest

from conftest import DATA, SAMPLES
from cwl_dask.eo import stac
from cwl_dask.errors import EXIT_FAILED, StacError

EO = (SAMPLES / "eo-ndvi" / "app-package.cwl", SAMPLES / "eo-ndvi" / "params.yml")
STAC_DATA = DATA / "stac"
SCHEMAS = STAC_DATA / "schemas"
SAMPLE_ITEMS = 5  # 4 inputs + the summary item
SAMPLE_ASSETS = 4 * 3 + 1  # ndvi, mask, stats per input item + the summary


def _stac_line(stderr: str) -> dict[str, Any]:
    """The one JSON summary line `run --stac` writes among the logs on stderr."""
    lines = [line for line in stderr.splitlines() if line.startswith('{"stac"')]
    assert len(lines) == 1, stderr
    return json.loads(lines[0])


@pytest.fixture
def catalog(tmp_path: Path) -> Path:
    """A private copy of the two-item fixture catalog, free to break."""
    shutil.copytree(STAC_DATA / "catalog", tmp_path / "catalog")
    return tmp_path / "catalog" / "catalog.json"


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


# --------------------------------------------------------------------------- find_stac


def test_find_stac_finds_the_catalog_directory_of_the_eo_sample(cwl_dask, tmp_path: Path) -> None:
    result = cwl_dask("run", "--no-container", "--outdir", tmp_path / "out", *EO)
    assert result.code == 0, result.stderr
    found = stac.find_stac(result.output())
    # "summary" is a plain JSON file, not STAC: left out.
    assert found == {"results": [tmp_path / "out" / "catalog" / "catalog.json"]}


def test_find_stac_looks_one_level_down_only_when_the_top_has_no_catalog(tmp_path: Path) -> None:
    workdir = tmp_path / "glob-dot"
    shutil.copytree(STAC_DATA / "catalog", workdir / "result")
    (workdir / "other").mkdir()
    output = {"out": {"class": "Directory", "path": str(workdir)}}
    assert stac.find_stac(output) == {"out": [workdir / "result" / "catalog.json"]}
    # A catalog at the top wins: the sub-directories are its children.
    shutil.copy(STAC_DATA / "catalog" / "catalog.json", workdir / "catalog.json")
    assert stac.find_stac(output) == {"out": [workdir / "catalog.json"]}


def test_find_stac_takes_stac_files_and_arrays_and_skips_plain_json(catalog: Path) -> None:
    item = catalog.parent / "item-a" / "item-a.json"
    plain = catalog.parent / "item-a" / "meta.json"
    output = {
        "items": [
            {"class": "File", "location": item.as_uri()},
            {"class": "File", "path": str(plain)},
        ],
        "dirs": [{"class": "Directory", "path": str(catalog.parent)}],
        "count": 3,
    }
    assert stac.find_stac(output) == {"items": [item], "dirs": [catalog]}


# --------------------------------------------------------------------------- inspect_catalog


def test_inspect_catalog_counts_items_and_assets(catalog: Path) -> None:
    summary = stac.inspect_catalog(catalog, "results")
    assert summary.to_json() == {"catalog": str(catalog), "items": 2, "assets": 4}
    assert sorted(item.id for item in summary.items) == ["item-a", "item-b"]


def test_inspect_catalog_names_output_file_and_href_of_a_deleted_asset(catalog: Path) -> None:
    (catalog.parent / "item-b" / "data.txt").unlink()
    with pytest.raises(StacError) as caught:
        stac.inspect_catalog(catalog, "results")
    message = str(caught.value)
    assert "STAC output 'results'" in message
    assert f"{catalog.parent / 'item-b' / 'item-b.json'}: asset 'data' href './data.txt'" in message
    assert caught.value.exit_code == EXIT_FAILED


def test_inspect_catalog_names_a_corrupt_item_link(catalog: Path) -> None:
    doc = json.loads(catalog.read_text())
    doc["links"][1]["href"] = "./item-a/nope.json"
    catalog.write_text(json.dumps(doc))
    with pytest.raises(StacError, match=r"catalog\.json: item link href './item-a/nope\.json'"):
        stac.inspect_catalog(catalog, "results")


def test_inspect_catalog_rejects_a_link_that_leaves_the_filesystem(catalog: Path) -> None:
    doc = json.loads(catalog.read_text())
    doc["links"].append({"rel": "child", "href": "https://example.org/catalog.json"})
    catalog.write_text(json.dumps(doc))
    with pytest.raises(StacError) as caught:
        stac.inspect_catalog(catalog, "results")
    assert "child link href 'https://example.org/catalog.json' is not a local" in str(caught.value)


def test_schema_validation_is_skipped_rather_than_downloaded(catalog: Path, no_network) -> None:
    summary = stac.inspect_catalog(catalog, "results")
    assert summary.schema.startswith("not validated")


def test_schema_validation_uses_a_local_schema_mirror(catalog: Path, no_network) -> None:
    pytest.importorskip("jsonschema")
    assert stac.inspect_catalog(catalog, "results", schema_dir=SCHEMAS).schema == "valid"


def test_schema_validation_failure_names_the_file(catalog: Path, no_network) -> None:
    pytest.importorskip("jsonschema")
    item = catalog.parent / "item-a" / "item-a.json"
    doc = json.loads(item.read_text())
    del doc["properties"]["datetime"]  # required by basics.json, reached through a $ref
    doc["properties"]["start_datetime"] = "2024-01-01T00:00:00Z"
    doc["properties"]["end_datetime"] = "2024-01-02T00:00:00Z"
    item.write_text(json.dumps(doc))
    with pytest.raises(StacError, match=rf"{re.escape(str(item))}: does not match .*datetime"):
        stac.inspect_catalog(catalog, "results", schema_dir=SCHEMAS)


# --------------------------------------------------------------------------- self-contained


def test_make_self_contained_leaves_a_relative_catalog_untouched(catalog: Path) -> None:
    before = {p: p.read_bytes() for p in catalog.parent.rglob("*") if p.is_file()}
    assert stac.make_self_contained(catalog) == []
    assert {p: p.read_bytes() for p in catalog.parent.rglob("*") if p.is_file()} == before


def test_run_stac_makes_a_moved_absolute_catalog_self_contained(cwl_dask, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = cwl_dask(
        "run", "--stac", "--no-container", "--outdir", out, STAC_DATA / "absolute-catalog.cwl"
    )
    assert result.code == 0, result.stderr
    (root,) = out.glob("*/result/catalog.json")  # glob: . -> one level down
    assert _stac_line(result.stderr) == {
        "stac": {"workdir": {"catalog": str(root), "items": 1, "assets": 1}}
    }
    for doc in (root, root.parent / "item-a" / "item-a.json"):
        hrefs = [link["href"] for link in json.loads(doc.read_text())["links"]]
        assert hrefs and not any(href.startswith("/") for href in hrefs), hrefs
    assert not list(out.rglob("*.tmp"))
    # The printed output object describes the rewritten files, not the old ones.
    listing = json.dumps(result.output())
    digest = hashlib.sha1(root.read_bytes()).hexdigest()
    assert f"sha1${digest}" in listing


# --------------------------------------------------------------------------- results collection


def test_results_collection_links_every_item_with_their_extent(catalog: Path) -> None:
    summary = stac.inspect_catalog(catalog, "results")
    collection = stac.results_collection([summary], "ndvi")
    path = stac.write_results_collection(collection, catalog.parent.parent / "ndvi.json")
    doc = json.loads(path.read_text())
    assert doc["type"] == "Collection" and doc["id"] == "ndvi"
    items = sorted(link["href"] for link in doc["links"] if link["rel"] == "item")
    assert items == ["./catalog/item-a/item-a.json", "./catalog/item-b/item-b.json"]
    assert doc["extent"]["spatial"]["bbox"] == [[10.0, 45.0, 10.3, 45.1]]
    assert doc["extent"]["temporal"]["interval"] == [
        ["2024-06-01T10:30:00Z", "2024-06-03T10:30:00Z"]
    ]
    assert "collection" not in json.loads((catalog.parent / "item-a" / "item-a.json").read_text())


def test_feature_collection_has_absolute_asset_hrefs(catalog: Path) -> None:
    summary = stac.inspect_catalog(catalog, "results")
    features = stac.feature_collection([summary], collection_id="job-1")
    assert features["type"] == "FeatureCollection"
    assert [f["collection"] for f in features["features"]] == ["job-1", "job-1"]
    for feature in features["features"]:
        for asset in feature["assets"].values():
            assert Path(asset["href"]).is_absolute() and Path(asset["href"]).is_file()


# --------------------------------------------------------------------------- CLI


def test_run_stac_summary_goes_to_stderr_and_stdout_keeps_the_output_object(
    cwl_dask, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    result = cwl_dask("run", "--stac", "--no-container", "--outdir", out, *EO)
    assert result.code == 0, result.stderr
    assert set(result.output()) == {"results", "summary"}  # stdout: one JSON document
    catalog = out / "catalog" / "catalog.json"
    assert _stac_line(result.stderr) == {
        "stac": {
            "results": {"catalog": str(catalog), "items": SAMPLE_ITEMS, "assets": SAMPLE_ASSETS}
        }
    }


def test_run_stac_collection_writes_one_collection_of_all_items(cwl_dask, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = cwl_dask("run", "--stac-collection", "ndvi", "--no-container", "--outdir", out, *EO)
    assert result.code == 0, result.stderr
    doc = json.loads((out / "ndvi.json").read_text())
    assert doc["type"] == "Collection" and doc["id"] == "ndvi"
    items = [link for link in doc["links"] if link["rel"] == "item"]
    assert len(items) == SAMPLE_ITEMS
    assert all((out / link["href"]).is_file() for link in items)
    assert _stac_line(result.stderr)["stac"]["results"]["items"] == SAMPLE_ITEMS
    assert "ndvi.json" not in result.stdout  # the collection is not an output


def test_run_stac_rejects_a_broken_catalog_naming_output_file_and_href(
    cwl_dask, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    result = cwl_dask(
        "run", "--stac", "--no-container", "--outdir", out, STAC_DATA / "broken-catalog.cwl"
    )
    assert result.code == 1, result.stderr
    item = out / "stac" / "item-a" / "item-a.json"
    assert "STAC output 'results'" in result.stderr
    assert f"{item}: asset 'data' href './missing.tif' does not resolve" in result.stderr
    assert "results" in result.output()  # the run's output object is still printed


def test_stac_command_checks_an_existing_outdir(cwl_dask, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert cwl_dask("run", "--no-container", "--outdir", out, *EO).code == 0
    result = cwl_dask("stac", "--json", out)
    assert result.code == 0, result.stderr
    catalog = str(out / "catalog" / "catalog.json")
    expected = {"catalog": catalog, "items": SAMPLE_ITEMS, "assets": SAMPLE_ASSETS}
    assert json.loads(result.stdout) == {"stac": {"catalog/catalog.json": expected}}


def test_stac_command_exits_1_on_a_broken_catalog(cwl_dask, catalog: Path) -> None:
    (catalog.parent / "item-a" / "meta.json").unlink()
    result = cwl_dask("stac", catalog.parent)
    assert result.code == 1
    assert "item-a.json: asset 'meta' href './meta.json' does not resolve" in result.stderr


def test_stac_command_exits_2_when_there_is_no_catalog(cwl_dask, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = cwl_dask("stac", tmp_path / "empty")
    assert result.code == 2
    assert "no catalog.json or collection.json under" in result.stderr
