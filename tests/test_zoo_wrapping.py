"""cwl_dask.zoo.wrapping: the job order and output object of a wrapped ZOO run."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import SAMPLES
from cwl_dask.errors import InvalidInputError
from cwl_dask.zoo.wrapping import handed_output, job_order, staging_tools, wrap_for_zoo


@pytest.fixture(scope="module")
def wrapped() -> dict[str, Any]:
    return wrap_for_zoo(SAMPLES / "patterns" / "app-package.cwl", "patterns", sys.executable)


def _order(wrapped: dict[str, Any], parameters: dict[str, Any], **additional: Any) -> Any:
    return job_order(wrapped, "patterns-1234", parameters, additional, "/base", "/work/out")


def test_the_job_order_names_the_process_and_lifts_the_additional_parameters(wrapped) -> None:
    order = _order(wrapped, {"threshold": 0.2}, s3_bucket="results", sub_path="1234")
    assert order["process"] == "patterns-1234"
    assert (order["threshold"], order["s3_bucket"], order["sub_path"]) == (0.2, "results", "1234")


def test_ades_prefixed_parameters_set_the_input_without_the_prefix(wrapped) -> None:
    order = _order(wrapped, {}, ADES_STAGEOUT_OUTPUT="bucket", ADES_UNKNOWN="kept")
    assert order["STAGEOUT_OUTPUT"] == "bucket" and "ADES_STAGEOUT_OUTPUT" not in order
    assert order["ADES_UNKNOWN"] == "kept"


def test_string_references_become_uri_records_in_arrays_too(wrapped) -> None:
    order = _order(wrapped, {"scene": "s3://b/scene/catalog.json", "series": ["a", "s3://b/x"]})
    assert order["scene"] == {"value": "s3://b/scene/catalog.json"}
    assert order["series"] == [{"value": "/base/a"}, {"value": "s3://b/x"}]


def test_a_local_stage_out_target_is_the_default_only_without_an_s3_target(wrapped) -> None:
    assert _order(wrapped, {})["stage_out_target"] == "/work/out"
    for spelling in ({"STAGEOUT_OUTPUT": "eoepca"}, {"s3_bucket": "results"}):
        assert "stage_out_target" not in _order(wrapped, {}, **spelling)


def test_the_handed_output_has_both_shapes_of_the_staged_out_catalog() -> None:
    output = {
        "scene_catalog": {"value": "s3://r/1/scene-a/catalog.json"},
        "series_catalogs": [{"value": "s3://r/1/s1/catalog.json"}],
        "scene_mean": 0.5,
    }
    handed = handed_output(output)
    assert handed is not None
    assert handed["StacCatalogUri"] == "s3://r/1/scene-a/catalog.json"
    assert {k: handed[k] for k in output} == output
    assert handed_output(None) is None


def test_a_staging_tool_named_but_missing_is_refused_naming_the_variable(tmp_path) -> None:
    with pytest.raises(InvalidInputError, match=r"WRAPPER_STAGE_IN=/nowhere/stagein\.yaml"):
        staging_tools({"WRAPPER_STAGE_IN": "/nowhere/stagein.yaml"})


def test_a_missing_file_stage_out_is_optional_as_in_zoo_calrissian_runner(tmp_path) -> None:
    stage_in = tmp_path / "stagein.yaml"
    stage_in.write_text("class: CommandLineTool\n")
    tools = staging_tools(
        {"WRAPPER_STAGE_IN": str(stage_in), "WRAPPER_STAGE_OUT_FILE": str(tmp_path / "no.yaml")}
    )
    assert tools == {
        "stage_in": str(stage_in),
        "stage_in_file": None,
        "stage_out": None,
        "stage_out_file": None,
    }


def test_staging_tools_default_to_cwl_dask_s_own(tmp_path: Path) -> None:
    assert set(staging_tools({}).values()) == {None}


def test_the_own_staging_tools_setting_ignores_the_platform_s_variables(monkeypatch) -> None:
    import dask

    monkeypatch.setenv("WRAPPER_STAGE_IN", "/assets/stagein.yaml")  # as the DRU chart sets
    with dask.config.set({"cwl-dask.zoo.staging-tools": "own"}):
        wrapped = wrap_for_zoo(SAMPLES / "patterns" / "app-package.cwl", "patterns", "python3")
    ids = [str(p["id"]) for p in wrapped["$graph"]]
    assert any("stage" in i for i in ids)
    with pytest.raises(InvalidInputError, match="WRAPPER_STAGE_IN"):
        wrap_for_zoo(SAMPLES / "patterns" / "app-package.cwl", "patterns", "python3")
