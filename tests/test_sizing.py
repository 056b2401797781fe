"""Sizing a cluster from a workflow before it runs (``clusters.sizing``, ``cwl-dask plan``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import DATA, SAMPLES
from cwl_dask.clusters.sizing import (
    ClusterSpec,
    Plan,
    SizingOptions,
    StepRequest,
    load_job_order,
    plan,
    resource_request,
)
from cwl_dask.documents.loading import load_process
from cwl_dask.errors import InvalidInputError

SIZING = DATA / "sizing"
NDVI = SAMPLES / "eo-ndvi"


def plan_of(name: str, job: dict | None = None, **options: float) -> Plan:
    process = load_process(str(SIZING / name))
    return plan(process, job, SizingOptions(**options))  # type: ignore[arg-type]


def row(result: Plan, step: str) -> StepRequest:
    return next(s for s in result.steps if s.step == step)


# --- the ZOO runners' bugs, each absent here ---------------------------------------------


def test_a_package_holding_only_a_command_line_tool_is_sized() -> None:
    result = plan_of("tool-only-package.cwl", {})
    assert result.spec == ClusterSpec(3, 2048, min_workers=1, max_workers=1)
    assert [(s.step, s.cores, s.cores_max, s.ram_mib) for s in result.steps] == [
        ("main", 3, 4, 2048)
    ]


def test_core_and_ram_minimums_size_the_worker_without_any_maximum() -> None:
    spec = plan_of("min-only.cwl", {}).spec
    assert (spec.worker_cores, spec.worker_memory_mib) == (6, 3000)


def test_workflow_hints_reach_the_tools_of_its_steps() -> None:
    result = plan_of("workflow-hints.cwl", {})
    assert (row(result, "inherits").cores, row(result, "inherits").ram_mib) == (3, 10240)
    assert (result.spec.worker_cores, result.spec.worker_memory_mib) == (3, 10240)


def test_a_tools_own_requirement_wins_over_an_inherited_hint() -> None:
    own = row(plan_of("workflow-hints.cwl", {}), "own")
    assert (own.cores, own.ram_mib) == (1, 512)


def test_v1_0_documents_default_to_1024_mib_as_in_cwltool() -> None:
    assert row(plan_of("v10-defaults.cwl", {}), "only").ram_mib == 1024


def test_v1_2_documents_default_to_one_core_and_256_mib() -> None:
    only = row(plan_of("v12-defaults.cwl", {}), "only")
    assert (only.cores, only.ram_mib) == (1, 256)


# --- reading the documents ---------------------------------------------------------------


def test_requirements_in_list_form_and_map_form_are_read_alike() -> None:
    assert plan_of("min-only-list.cwl", {}).spec == plan_of("min-only.cwl", {}).spec


def test_an_expression_tool_is_sized_like_a_command_line_tool() -> None:
    spec = plan_of("expression-tool.cwl", {}).spec
    assert (spec.worker_cores, spec.worker_memory_mib) == (2, 1500)


def test_rows_follow_subworkflows_of_a_graph_package_by_step_path() -> None:
    result = plan(load_process(str(NDVI / "app-package.cwl")), load_job_order(NDVI / "params.yml"))
    assert [s.step for s in result.steps] == ["process/ndvi", "process/mask", "mosaic", "stac"]
    assert [s.tool for s in result.steps] == ["ndvi", "mask", "mosaic", "stac"]


def test_the_app_package_sample_needs_2_cores_and_1024_mib_per_worker() -> None:
    result = plan(load_process(str(NDVI / "app-package.cwl")), load_job_order(NDVI / "params.yml"))
    assert (result.spec.worker_cores, result.spec.worker_memory_mib) == (2, 1024)
    assert row(result, "process/ndvi").width == 4
    assert row(result, "stac").width == 1


# --- scatter widths ----------------------------------------------------------------------


SCATTER_JOB = {"a": [1, 2, 3], "b": ["x", "y", "z"]}


def test_a_dotproduct_scatter_is_as_wide_as_its_arrays() -> None:
    assert row(plan_of("scatter-methods.cwl", SCATTER_JOB), "dot").width == 3


def test_crossproduct_scatters_are_as_wide_as_the_product_of_their_arrays() -> None:
    result = plan_of("scatter-methods.cwl", SCATTER_JOB)
    assert (row(result, "flat").width, row(result, "nested").width) == (9, 9)


def test_a_scatter_over_one_array_is_as_wide_as_that_array() -> None:
    assert row(plan_of("scatter-methods.cwl", SCATTER_JOB), "single").width == 3


def test_a_scatter_inside_a_scattered_subworkflow_multiplies() -> None:
    result = plan_of("nested-scatter.cwl", {"groups": [[1, 2, 3], [4, 5, 6]]})
    assert row(result, "group/work").width == 6


def test_uneven_inner_arrays_are_counted_element_by_element() -> None:
    result = plan_of("nested-scatter.cwl", {"groups": [[1, 2], [3, 4, 5]]})
    assert row(result, "group/work").width == 5


def test_an_array_made_by_another_step_counts_as_the_default_width_with_a_note() -> None:
    use = row(plan_of("chained-scatter.cwl", {}, default_width=5), "use")
    assert use.width == 5
    assert any("run time" in note for note in use.notes)


def test_without_a_job_order_scatters_count_as_the_default_width_with_a_note() -> None:
    result = plan_of("scatter-methods.cwl", None)
    assert row(result, "dot").width == 8
    assert any("no job order" in note for note in row(result, "dot").notes)


def test_an_empty_scatter_makes_no_invocations_and_does_not_size_the_worker() -> None:
    result = plan_of("packing.cwl", {"items": []})
    assert row(result, "small").width == 0
    assert result.spec.worker_cores == 4


# --- resource expressions ----------------------------------------------------------------


def test_expressions_are_evaluated_from_the_job_order_and_its_files(tmp_path: Path) -> None:
    (tmp_path / "blob.bin").write_bytes(b"x" * 3000)
    job_file = tmp_path / "job.yml"
    job_file.write_text("threads: 3\nf: {class: File, path: blob.bin}\n")
    tool = load_process(str(SIZING / "expressions.cwl"))
    request = resource_request(tool, load_job_order(job_file))
    assert (request.cores, request.ram_mib, request.notes) == (3, 3000, ())


def test_expressions_without_a_job_order_fall_back_with_a_note() -> None:
    tool = load_process(str(SIZING / "expressions.cwl"))
    request = resource_request(tool, None, SizingOptions(fallback_cores=5, fallback_ram_mib=999))
    assert (request.cores, request.ram_mib) == (5, 999)
    assert any("no job order" in note for note in request.notes)


def test_an_expression_over_another_steps_output_falls_back_with_a_note() -> None:
    work = row(plan_of("expression-from-step.cwl", {}, fallback_cores=5), "work")
    assert (work.cores, work.ram_mib) == (5, 700)
    assert any("run time" in note and "threads" in note for note in work.notes)


def test_relative_job_file_locations_are_resolved_against_the_job_file(tmp_path: Path) -> None:
    (tmp_path / "job.yml").write_text("f: {class: File, location: data/a.txt}\n")
    assert load_job_order(tmp_path / "job.yml")["f"]["location"] == (
        (tmp_path / "data" / "a.txt").as_uri()
    )


def test_a_missing_job_file_is_invalid_input(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="no such job order"):
        load_job_order(tmp_path / "absent.yml")


# --- how many workers --------------------------------------------------------------------


def test_independent_steps_of_one_wave_add_up() -> None:
    result = plan_of("waves.cwl", {"items": [1, 2, 3], "more": [1, 2, 3, 4]})
    assert result.spec.max_workers == 6  # left 3 + right 3; "after" (4) runs later


def test_small_invocations_share_a_worker_sized_for_a_big_one() -> None:
    result = plan_of("packing.cwl", {"items": list(range(8))})
    assert row(result, "small").width == 8
    assert result.spec == ClusterSpec(4, 1024, min_workers=1, max_workers=2)


def test_backend_limits_cap_the_worker_and_name_the_step_that_asks_for_more() -> None:
    result = plan_of("min-only.cwl", {}, max_worker_cores=4, max_worker_memory_mib=2048)
    assert (result.spec.worker_cores, result.spec.worker_memory_mib) == (4, 2048)
    assert any("min-only" in note and "cores" in note for note in result.notes)


def test_the_backends_worker_count_limit_caps_max_workers() -> None:
    result = plan_of("waves.cwl", {"items": [1, 2, 3], "more": [1]}, max_workers=2)
    assert result.spec.max_workers == 2


# --- cwl-dask plan -----------------------------------------------------------------------


def test_plan_prints_a_table_of_steps_and_the_worker_size(cwl_dask) -> None:
    result = cwl_dask("plan", NDVI / "app-package.cwl", NDVI / "params.yml")
    assert result.code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["step", "tool", "cores", "ram", "MiB", "width"]
    assert "process/ndvi  ndvi    1      512      4" in lines
    assert "worker: 2 cores, 1024 MiB" in lines


def test_plan_json_is_machine_readable(cwl_dask) -> None:
    result = cwl_dask("plan", "--json", NDVI / "app-package.cwl", NDVI / "params.yml")
    assert result.code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["spec"] == {
        "worker_cores": 2,
        "worker_memory_mib": 1024,
        "min_workers": 1,
        "max_workers": 2,
        "worker_gpus": 0,
    }
    ndvi = next(s for s in data["steps"] if s["step"] == "process/ndvi")
    assert (ndvi["cores"], ndvi["ram_mib"], ndvi["width"]) == (1, 512, 4)


def test_plan_with_a_missing_job_file_exits_2_without_a_traceback(cwl_dask) -> None:
    result = cwl_dask("plan", NDVI / "app-package.cwl", "absent.yml")
    assert result.code == 2
    assert "no such job order file" in result.stderr
    assert "Traceback" not in result.stderr


def test_plan_of_an_invalid_document_exits_2(cwl_dask, tmp_path: Path) -> None:
    broken = tmp_path / "broken.cwl"
    broken.write_text("cwlVersion: v1.2\nclass: Workflow\ninputs: []\noutputs: []\n")
    result = cwl_dask("plan", broken)
    assert result.code == 2
    assert "Traceback" not in result.stderr
