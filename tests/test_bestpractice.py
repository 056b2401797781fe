"""``cwl-dask validate --app-package``: OGC 20-089r1 rules broken are warnings, never errors."""

from __future__ import annotations

import json

import pytest

from conftest import DATA, SAMPLES
from cwl_dask.documents import bestpractice
from cwl_dask.documents.bestpractice import RULES, Package, check, load_package

BP = DATA / "bestpractice"


@pytest.fixture(scope="module")
def bad() -> Package:
    return load_package(str(BP / "bad-package.cwl"))


def _findings(package: Package, rule_id: str) -> list[tuple[str, str]]:
    rule = next(r for r in RULES if r.id == rule_id)
    return [(f.where, f.message) for f in rule.check(package)]


def test_every_rule_has_its_text_and_a_unique_id() -> None:
    assert len({rule.id for rule in RULES}) == len(RULES)
    # The Best Practice's wording, or a summary that says it is one.
    assert all("SHALL" in rule.text or "(Summary of" in rule.text for rule in RULES)


def test_a_document_without_workflow_is_not_a_package() -> None:
    lone = load_package(str(BP / "lone-tool.cwl"))
    assert _findings(lone, "workflow-and-tools") == [
        ("document", "the document has no Workflow (a lone tool is not a package)")
    ]
    assert "not a Workflow" in _findings(lone, "entry-point")[0][1]


def test_two_top_level_workflows_without_main_make_the_entry_ambiguous(bad: Package) -> None:
    assert bad.entry_id == "water-bodies" and bad.entry_reason == "first Workflow"
    [(where, message)] = _findings(bad, "entry-point")
    assert where == "#water-bodies"
    assert "#water-bodies, #other-entry" in message


def test_sub_workflows_do_not_make_the_entry_ambiguous() -> None:
    sample = load_package(str(SAMPLES / "eo-ndvi" / "app-package.cwl"))
    assert _findings(sample, "entry-point") == []


def test_file_and_string_product_inputs_are_asked_to_be_directories(bad: Package) -> None:
    findings = dict(_findings(bad, "directory-inputs"))
    assert "is File: if it carries EO products" in findings["#water-bodies/aoi"]
    assert "looks like a product reference" in findings["#water-bodies/input_reference"]


def test_an_entry_without_directory_output_cannot_stage_out_a_catalog(bad: Package) -> None:
    [(_, message)] = _findings(bad, "stac-outputs")
    assert "report: File" in message


def test_missing_software_version_is_reported(bad: Package) -> None:
    assert [w for w, _ in _findings(bad, "software-version")] == ["#water-bodies"]


def test_missing_labels_and_docs_are_reported_per_input(bad: Package) -> None:
    wheres = [w for w, _ in _findings(bad, "workflow-metadata")]
    assert wheres == ["#water-bodies", "#water-bodies/input_reference"]  # aoi has both


def test_tools_without_resource_or_docker_requirement_are_named(bad: Package) -> None:
    assert [w for w, _ in _findings(bad, "resource-requirement")] == ["#count"]
    assert [w for w, _ in _findings(bad, "docker-requirement")] == ["#count"]


def test_a_compliant_package_has_no_warning() -> None:
    """Workflow-level ResourceRequirement and document-level s:softwareVersion count."""
    assert check(load_package(str(BP / "good-package.cwl"))) == []


def test_eo_ndvi_sample_only_warns_about_its_file_inputs() -> None:
    """The sample takes STAC item Files with their bands as secondaryFiles, not a Directory."""
    warnings = check(load_package(str(SAMPLES / "eo-ndvi" / "app-package.cwl")))
    assert [(w.rule.id, w.finding.where) for w in warnings] == [
        ("directory-inputs", "#main/stac_items")
    ]


def test_validate_app_package_prints_warnings_with_rule_text_and_exits_0(cwl_dask) -> None:
    result = cwl_dask("validate", "--app-package", BP / "bad-package.cwl")
    assert result.code == 0, result.stderr
    assert "Workflow water-bodies" in result.stdout  # the summary is still there
    assert f"{bestpractice.SOURCE}: 9 warnings" in result.stdout
    assert "[docker-requirement] #count: no DockerRequirement" in result.stdout
    assert "rule: The Application Package SHALL be" not in result.stdout  # rule not broken
    assert "rule: All input parameters of the CWL Workflow" in result.stdout


def test_validate_app_package_json(cwl_dask) -> None:
    result = cwl_dask("validate", "--app-package", "--json", BP / "bad-package.cwl")
    assert result.code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["entry"] == "water-bodies"
    assert report["processes"] == {
        "water-bodies": "Workflow",
        "other-entry": "Workflow",
        "count": "CommandLineTool",
    }
    warnings = report["app_package"]["warnings"]
    assert {w["rule"] for w in warnings} == {r.id for r in RULES} - {"workflow-and-tools"}
    first = warnings[0]
    assert set(first) == {"rule", "title", "where", "message", "text", "source"}
