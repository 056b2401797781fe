"""A failing tool is reported in one screen; what finished is kept; retries and --on-error."""

from __future__ import annotations

from pathlib import Path

from conftest import DATA

RELIABILITY = DATA / "reliability"


def outputs_in(outdir: Path) -> list[str]:
    """The entries of --outdir besides the invocations' logs (OUTDIR/.cwl-dask)."""
    return sorted(p.name for p in outdir.iterdir() if p.name != ".cwl-dask")


def test_failing_scatter_element_names_step_index_command_exit_code_and_stderr(
    cwl_dask, tmp_path: Path
) -> None:
    work, out = tmp_path / "work", tmp_path / "out"
    result = cwl_dask(
        "run", "--no-container", "--workdir", work, "--outdir", out, RELIABILITY / "branches.cwl"
    )
    assert result.code == 1
    assert "step 'bad' failed (bad_2, scatter index 1, permanentFail, exit code 3)" in result.stderr
    assert "command: sh -c " in result.stderr
    assert "no luck with two" in result.stderr
    [run_dir] = list(work.iterdir())
    assert f"last lines of its log ({out}/.cwl-dask/logs/bad.2.log)" in result.stderr
    assert f"its output directory is kept: {run_dir}/out/" in result.stderr
    assert "Traceback" not in result.stderr


def test_on_error_stop_keeps_finished_outputs_in_the_run_directory_and_names_them(
    cwl_dask, tmp_path: Path
) -> None:
    out, work = tmp_path / "out", tmp_path / "work"
    result = cwl_dask(
        "run", "--no-container", "--workdir", work, "--outdir", out, RELIABILITY / "branches.cwl"
    )
    assert result.code == 1
    assert outputs_in(out) == []
    [run_dir] = list(work.iterdir())
    assert f"finished before the failure (outputs kept in {run_dir}/out): " in result.stderr
    assert "bad (2), good" in result.stderr or "good, bad (2)" in result.stderr
    [good] = (run_dir / "out").rglob("good.txt")
    assert good.read_text() == "fine\n"
    # the finished scatter elements are named; the failed one's file is no result
    assert "workflow outputs that finished are kept in" in result.stderr
    assert "/one.txt" in result.stderr and "/three.txt" in result.stderr
    assert "/two.txt" not in result.stderr


def test_on_error_continue_finishes_independent_branches_and_writes_their_outputs(
    cwl_dask, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    result = cwl_dask(
        "run", "--no-container", "--on-error", "continue", "--outdir", out,
        RELIABILITY / "branches.cwl",
    )  # fmt: skip
    assert result.code == 1
    assert (out / "good.txt").read_text() == "fine\n"
    assert result.output()["good"]["basename"] == "good.txt"
    assert result.output()["bad"] is None
    assert outputs_in(out) == ["good.txt"]


def test_temporary_failure_is_retried_with_retry_tool(cwl_dask, tmp_path: Path) -> None:
    counter = tmp_path / "attempts"
    result = cwl_dask(
        "run", "--no-container", "--retry-tool", "2", "--outdir", tmp_path / "out",
        RELIABILITY / "flaky.cwl", "--counter", counter, "--failures", "2",
    )  # fmt: skip
    assert result.code == 0, result.stderr
    assert counter.read_text().count("attempt") == 3
    assert "after a temporary failure (attempt 3 of 3; exit code 75" in result.stderr
    assert (tmp_path / "out" / "done.txt").read_text() == "done\n"


def test_temporary_failure_without_retries_fails_naming_the_status(
    cwl_dask, tmp_path: Path
) -> None:
    counter = tmp_path / "attempts"
    result = cwl_dask(
        "run", "--no-container", RELIABILITY / "flaky.cwl", "--counter", counter,
        "--failures", "1",
    )  # fmt: skip
    assert result.code == 1
    assert "temporaryFail, exit code 75" in result.stderr
    assert "busy, try later" in result.stderr
    assert counter.read_text().count("attempt") == 1


def test_success_codes_make_a_non_zero_exit_a_success(cwl_dask, tmp_path: Path) -> None:
    tool = tmp_path / "three.cwl"
    tool.write_text(
        "cwlVersion: v1.2\nclass: CommandLineTool\nbaseCommand: [sh, -c, 'exit 3']\n"
        "successCodes: [3]\ninputs: []\noutputs: []\n"
    )
    result = cwl_dask("run", "--no-container", tool)
    assert result.code == 0, result.stderr


def test_scatter_index_of_a_nested_scatter_reads_cwltools_callback_chain() -> None:
    import functools

    from cwltool.workflow_job import ReceiveScatterOutput

    from cwl_dask.driver.failures import scatter_index

    def final(out, status) -> None:
        pass

    # nested_crossproduct_scatter: outer receiver, inner receiver curried with outer index 2
    outer = ReceiveScatterOutput(final, {}, 3)
    inner = ReceiveScatterOutput(functools.partial(outer.receive_scatter_output, 2), {}, 4)
    step_callback = functools.partial(final, functools.partial(inner.receive_scatter_output, 1))
    assert scatter_index(step_callback) == [2, 1]
    assert scatter_index(functools.partial(final, final)) == []
