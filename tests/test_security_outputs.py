"""Outputs are confined to the tool's own directory (issue 32, findings 1 and 2).

A tool is untrusted code (an Application Package deployed by a user). A glob that leaves
its output directory, or a symbolic link among its outputs that points elsewhere, is
refused on the worker with a message naming the step, the output and the pattern; the run
fails; nothing outside is read, moved or deleted, and ``--outdir`` is left as it was.
Outputs that stay inside (globs, ``.``, links to files of the directory or to the inputs)
are delivered as before, with the sizes and checksums of what was delivered. The same
behaviours on isolated workers in store mode: ``test_security_outputs_store.py``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import DATA
from security import (
    ESCAPING_GLOBS,
    ESCAPING_LINKS,
    EXPRESSION,
    LEGITIMATE,
    OUTPUTS,
    RECORD,
    TOKEN,
    WHOLE,
    assert_delivered_as_described,
    assert_outdir_untouched,
    assert_refused,
    assert_whole_delivered,
    prepared_outdir,
)


@pytest.mark.parametrize("pattern", ESCAPING_GLOBS)
def test_a_glob_that_leaves_the_tool_s_directory_is_refused_and_outdir_is_untouched(
    cwl_dask, tmp_path: Path, pattern: str
) -> None:
    out = prepared_outdir(tmp_path / "out")
    outside = tmp_path / "outside.txt"
    outside.write_text("mine\n")
    result = cwl_dask(
        "run", "--no-container", "--workdir", tmp_path / "work", "--outdir", out, OUTPUTS,
        "--script", "echo a > a.txt", "--pattern", pattern,
    )  # fmt: skip
    assert_refused(result, "outputs.cwl", pattern, out)
    assert outside.read_text() == "mine\n"


@pytest.mark.parametrize(("script", "pattern"), ESCAPING_LINKS)
def test_an_output_link_to_a_file_outside_is_refused_on_the_worker(
    cwl_dask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, script: str, pattern: str
) -> None:
    monkeypatch.setenv("CWL_DASK_TEST_TOKEN", TOKEN)  # the driver's: must not reach --outdir
    out = prepared_outdir(tmp_path / "out")
    result = cwl_dask(
        "run", "--no-container", "--outdir", out, OUTPUTS, "--script", script, "--pattern", pattern
    )  # fmt: skip
    assert_refused(result, "outputs.cwl", pattern, out)


def test_outputs_inside_the_tool_s_directory_and_links_to_inputs_are_delivered(
    cwl_dask, tmp_path: Path
) -> None:
    given = tmp_path / "given.dat"
    shutil.copy(DATA / "security" / "given.dat", given)
    out = tmp_path / "out"
    result = cwl_dask(
        "run", "--no-container", "--outdir", out, LEGITIMATE, "--given", given,
        "--folder", DATA / "security" / "folder",
    )  # fmt: skip
    assert result.code == 0, result.stderr
    assert_delivered_as_described(result.output(), out)
    assert given.read_text() == "input data\n"  # the input is copied, never moved


def test_the_whole_output_directory_with_links_inside_it_and_to_the_input_is_delivered(
    cwl_dask, tmp_path: Path
) -> None:
    given = tmp_path / "given.dat"
    shutil.copy(DATA / "security" / "given.dat", given)
    out = tmp_path / "out"
    result = cwl_dask("run", "--no-container", "--outdir", out, WHOLE, "--given", given)
    assert result.code == 0, result.stderr
    assert_whole_delivered(result.output(), out)
    assert given.read_text() == "input data\n"


def test_an_expression_tool_s_file_that_is_not_its_input_is_refused(
    cwl_dask, tmp_path: Path
) -> None:
    out = prepared_outdir(tmp_path / "out")
    result = cwl_dask("run", "--outdir", out, EXPRESSION, "--location", "file:///etc/passwd")
    assert result.code == 1, result.stderr
    assert "step 'expression.cwl' failed" in result.stderr
    assert "output 'found' resolves to /etc/passwd, not one of the tool's inputs" in result.stderr
    assert_outdir_untouched(out)


def test_an_expression_tool_passes_its_input_file_through(cwl_dask, tmp_path: Path) -> None:
    given = tmp_path / "given.dat"
    shutil.copy(DATA / "security" / "given.dat", given)
    result = cwl_dask("run", "--outdir", tmp_path / "out", EXPRESSION, "--given", given)
    assert result.code == 0, result.stderr
    assert Path(result.output()["found"]["path"]).read_text() == "input data\n"


@pytest.mark.parametrize(("pattern", "code"), [("a.txt", 0), ("../..", 1)])
def test_a_record_field_s_glob_is_confined_too(
    cwl_dask, tmp_path: Path, pattern: str, code: int
) -> None:
    result = cwl_dask(
        "run", "--no-container", "--outdir", tmp_path / "out", RECORD, "--pattern", pattern
    )
    assert result.code == code, result.stderr
    if code == 0:
        assert Path(result.output()["found"]["inner"]["path"]).read_text() == "a\n"
    else:
        assert f"output 'found' (glob '{pattern}')" in result.stderr  # the record


def test_a_link_to_a_file_the_tool_document_staged_is_replaced_by_a_copy_on_the_worker(
    tmp_path: Path,
) -> None:
    """A file named by the tool's own InitialWorkDirRequirement (not by the user) may be an
    output, but as a copy made on the worker: the driver would follow the link on its own
    machine. A link to the user's input stays a link (inputs are the user's files)."""
    from cwl_dask.worker.confinement import Confinement, check_outputs

    outdir, elsewhere = tmp_path / "out", tmp_path / "package"
    outdir.mkdir()
    elsewhere.mkdir()
    (elsewhere / "staged.txt").write_text("from the package\n")
    (elsewhere / "input.txt").write_text("the user's\n")
    (outdir / "staged.txt").symlink_to(elsewhere / "staged.txt")
    (outdir / "input.txt").symlink_to(elsewhere / "input.txt")

    def file(path: Path) -> dict[str, str]:
        return {"class": "File", "location": path.as_uri(), "basename": path.name}

    job = {"given": file(elsewhere / "input.txt")}
    output = {"a": file(outdir / "staged.txt"), "b": file(outdir / "input.txt")}
    check_outputs(output, Confinement(str(outdir), job, [file(elsewhere / "staged.txt")]), {})
    assert not (outdir / "staged.txt").is_symlink()
    assert (outdir / "staged.txt").read_text() == "from the package\n"
    assert (outdir / "input.txt").is_symlink()
