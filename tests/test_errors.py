"""Bad input gets a short message and the documented exit code, never a traceback."""

from __future__ import annotations

from pathlib import Path

from conftest import DATA, SAMPLES


def test_invalid_cwl_exits_2_naming_the_problem(cwl_dask, tmp_path: Path) -> None:
    broken = tmp_path / "broken.cwl"
    broken.write_text(
        "cwlVersion: v1.2\nclass: CommandLineTool\ninputs: {}\noutputs: {}\nbaseCommand: 3\n"
    )
    result = cwl_dask("run", broken)
    assert result.code == 2
    assert "baseCommand" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_missing_required_input_exits_2_naming_the_input(cwl_dask) -> None:
    result = cwl_dask("run", "--no-container", SAMPLES / "eo-ndvi" / "app-package.cwl")
    assert result.code == 2
    assert "stac_items" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_input_of_a_lone_tool_exits_2(cwl_dask, tmp_path: Path) -> None:
    tool = tmp_path / "needs.cwl"
    tool.write_text(
        "cwlVersion: v1.2\nclass: CommandLineTool\nbaseCommand: cat\n"
        "inputs:\n  src: {type: File, inputBinding: {position: 1}}\noutputs: []\n"
    )
    result = cwl_dask("run", "--no-container", tool)
    assert result.code == 2
    assert "src" in result.stderr


def test_failing_tool_exits_1_naming_the_step_and_its_stderr(cwl_dask) -> None:
    result = cwl_dask("run", "--no-container", DATA / "fail.cwl")
    assert result.code == 1
    assert "step 'explode' failed" in result.stderr
    assert "disk on fire" in result.stderr
    assert "Traceback" not in result.stderr


def test_failure_keeps_the_work_directory_and_names_it(cwl_dask, tmp_path: Path) -> None:
    result = cwl_dask("run", "--no-container", "--workdir", tmp_path / "work", DATA / "fail.cwl")
    assert result.code == 1
    kept = [p for p in (tmp_path / "work").iterdir()]
    assert len(kept) == 1
    assert str(kept[0]) in result.stderr


def test_success_removes_the_work_directory(cwl_dask, tmp_path: Path) -> None:
    hello = SAMPLES / "hello"
    work = tmp_path / "work"
    result = cwl_dask(
        "run",
        "--no-container",
        "--workdir",
        work,
        "--outdir",
        tmp_path / "o",
        hello / "hello.cwl",
        hello / "params.yml",
    )
    assert result.code == 0, result.stderr
    assert list(work.iterdir()) == []


def test_required_docker_without_containers_is_unsupported_33(cwl_dask) -> None:
    result = cwl_dask("run", "--no-container", DATA / "needs-docker.cwl")
    assert result.code == 33
    assert "DockerRequirement" in result.stderr


def test_tool_output_on_stdout_never_reaches_our_stdout(cwl_dask) -> None:
    result = cwl_dask("run", "--no-container", DATA / "chatty.cwl")
    assert result.code == 0, result.stderr
    assert "tool says hi" not in result.stdout
    assert result.output()["result"]["basename"] == "result.txt"


def test_unknown_option_is_a_usage_error(cwl_dask) -> None:
    result = cwl_dask("run", "--no-such-option-here")
    assert result.code == 2
    assert "Traceback" not in result.stderr


def test_inputs_can_be_given_as_options_after_the_workflow(cwl_dask) -> None:
    result = cwl_dask("run", "--no-container", SAMPLES / "hello" / "hello.cwl", "--message", "Hi")
    assert result.code == 0, result.stderr
    assert result.output()


def test_failed_run_leaves_outdir_untouched(cwl_dask, tmp_path: Path) -> None:
    outdir = tmp_path / "out"
    result = cwl_dask("run", "--no-container", "--outdir", outdir, DATA / "fail.cwl")
    assert result.code == 1
    # Only the invocations' logs (OUTDIR/.cwl-dask/logs) are there, no output.
    assert not outdir.exists() or [p.name for p in outdir.iterdir()] == [".cwl-dask"]
    assert result.stdout == ""


TYPED_TOOL = (
    "cwlVersion: v1.2\nclass: CommandLineTool\nbaseCommand: cat\n"
    "inputs:\n  n: {type: int, inputBinding: {position: 2}}\n"
    "  src: {type: File, inputBinding: {position: 1}}\noutputs: []\n"
)


def test_yaml_syntax_error_in_the_document_names_line_and_column(cwl_dask, tmp_path: Path) -> None:
    broken = tmp_path / "broken.cwl"
    broken.write_text("cwlVersion: v1.2\nclass: CommandLineTool\ninputs:\n  a: int\n   b: [\n")
    result = cwl_dask("run", "--no-container", "--workdir", tmp_path / "work", broken)
    assert result.code == 2
    assert "broken.cwl:5:5: mapping values are not allowed here" in result.stderr
    assert "Traceback" not in result.stderr
    # nothing ran: no work directory is kept, and none is announced
    assert list((tmp_path / "work").iterdir()) == []
    assert "kept" not in result.stderr


def test_yaml_syntax_error_in_the_job_order_names_line_and_column(cwl_dask, tmp_path: Path) -> None:
    tool, job = tmp_path / "typed.cwl", tmp_path / "job.yml"
    tool.write_text(TYPED_TOOL)
    job.write_text("n: [1\n")
    result = cwl_dask("run", "--no-container", tool, job)
    assert result.code == 2
    assert "job.yml:1:4: while parsing a flow sequence" in result.stderr
    assert "Traceback" not in result.stderr


def test_wrong_input_type_names_the_input(cwl_dask, tmp_path: Path) -> None:
    tool, job = tmp_path / "typed.cwl", tmp_path / "job.yml"
    tool.write_text(TYPED_TOOL)
    job.write_text(f"n: abc\nsrc: {{class: File, path: {tool}}}\n")
    result = cwl_dask("run", "--no-container", tool, job)
    assert result.code == 2
    assert "job.yml:1: input 'n' must be int, not 'abc'" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_input_file_exits_2_naming_the_input_and_path_before_anything_runs(
    cwl_dask, tmp_path: Path
) -> None:
    missing = tmp_path / "nope.tif"
    workflow = tmp_path / "wf.cwl"
    workflow.write_text(
        "cwlVersion: v1.2\nclass: Workflow\ninputs:\n  scene: File\noutputs: []\n"
        "steps:\n  first:\n    in: {}\n    out: []\n    run:\n      class: CommandLineTool\n"
        "      baseCommand: [sh, -c, 'echo ran >> ran.txt']\n      inputs: []\n"
        "      outputs: []\n  look:\n    in: {scene: scene}\n    out: []\n    run:\n"
        "      class: CommandLineTool\n      baseCommand: cat\n"
        "      inputs: {scene: {type: File, inputBinding: {position: 1}}}\n      outputs: []\n"
    )
    result = cwl_dask("run", "--no-container", workflow, "--scene", missing)
    assert result.code == 2
    assert f"input 'scene': File {missing} does not exist" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "ran.txt").exists()


def test_misspelt_option_after_the_workflow_is_named_with_the_option_it_meant(
    cwl_dask, tmp_path: Path
) -> None:
    hello = SAMPLES / "hello"
    result = cwl_dask(
        "run", "--no-container", hello / "hello.cwl", hello / "params.yml", "--outdri", tmp_path
    )
    assert result.code == 2
    assert "unknown option --outdri: not an input of" in result.stderr
    assert "did you mean the cwl-dask option --outdir?" in result.stderr
    assert "its inputs (--message)" in result.stderr
    assert "Traceback" not in result.stderr


def test_invalid_expression_is_reported_without_a_traceback(cwl_dask, tmp_path: Path) -> None:
    tool = tmp_path / "badexpr.cwl"
    tool.write_text(
        "cwlVersion: v1.2\nclass: CommandLineTool\nbaseCommand: [sh, -c]\n"
        "arguments: ['echo $(wc -l)']\ninputs: []\noutputs: []\n"
    )
    result = cwl_dask("run", "--no-container", tool)
    assert result.code == 1
    assert "badexpr.cwl:4:13: Syntax error in parameter reference '(wc -l)'" in result.stderr
    assert "Traceback" not in result.stderr
