"""Shared by the output-confinement tests (issue 32): the tools, the cases, the checks."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from conftest import DATA, Completed
from isolated import files_of

SECURITY = DATA / "security"
#: Runs ``script`` in its output directory and collects ``glob: $(inputs.pattern)``.
OUTPUTS = SECURITY / "outputs.cwl"
#: Outputs that stay inside the tool's directory or are its input: must keep working.
LEGITIMATE = SECURITY / "legitimate.cwl"
#: ``glob: .``, the whole directory, with links to one of its files and to the input.
WHOLE = SECURITY / "whole.cwl"
#: An ExpressionTool that returns its input File or a File at any location it is given.
EXPRESSION = SECURITY / "expression.cwl"
#: A record output whose field globs ``$(inputs.pattern)``.
RECORD = SECURITY / "record.cwl"
#: A value only the driver's environment holds: a link to /proc/self/environ must not copy it.
TOKEN = "driver-only-token-5f1c"

#: Globs that resolve outside the tool's output directory.
ESCAPING_GLOBS = ["../../..", "../..", ".."]
#: (script, glob): outputs that are, or hold, links to files outside the tool's directory.
ESCAPING_LINKS = [
    ("ln -s /proc/self/environ env.txt", "env.txt"),
    ("ln -s /etc/passwd passwd.txt", "*.txt"),
    ("mkdir d; echo ok > d/ok.txt; ln -s /etc d/etc", "d"),
    ("mkdir d; ln -s ../../.. d/up", "."),
]


def prepared_outdir(out: Path) -> Path:
    """An ``--outdir`` that already holds a result and an earlier run's logs."""
    (out / ".cwl-dask" / "logs").mkdir(parents=True)
    (out / ".cwl-dask" / "logs" / "earlier.log").write_text("log\n")
    (out / "precious.txt").write_text("precious\n")
    return out


def assert_outdir_untouched(out: Path) -> None:
    """``--outdir`` holds exactly what :func:`prepared_outdir` put there, plus logs."""
    assert (out / "precious.txt").read_text() == "precious\n"
    assert (out / ".cwl-dask" / "logs" / "earlier.log").read_text() == "log\n"
    assert sorted(p.name for p in out.iterdir()) == [".cwl-dask", "precious.txt"]
    for path in out.rglob("*"):
        if path.is_file():
            assert TOKEN not in path.read_text(errors="replace"), path


def assert_refused(result: Completed, step: str, pattern: str, out: Path) -> None:
    """The run failed (exit 1) and said which step, output and pattern were refused."""
    assert result.code == 1, result.stderr
    assert f"step '{step}' failed" in result.stderr
    assert f"output 'found' (glob '{pattern}')" in result.stderr
    assert "outside the tool's output directory" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout.strip() in ("", "{}", "null"), result.stdout
    assert_outdir_untouched(out)


def assert_delivered_as_described(output: dict[str, Any], out: Path) -> None:
    """legitimate.cwl's outputs: delivered into ``out``, sizes and checksums as delivered."""
    assert [f["basename"] for f in output["texts"]] == ["a.txt", "c.txt", "link.txt"]
    assert [f["basename"] for f in output["tifs"]] == ["x.tif"]
    assert Path(output["absolute"]["path"]).read_text() == "a\n"
    assert Path(output["link"]["path"]).read_text() == "a\n"
    assert Path(output["to_input"]["path"]).read_text() == "input data\n"
    assert Path(output["staged_input"]["path"]).read_text() == "input data\n"
    assert [Path(f["path"]).read_text() for f in output["in_folder"]] == ["in folder\n"]
    assert_delivered_as_described_files(output, out)


def assert_whole_delivered(output: dict[str, Any], out: Path) -> None:
    """whole.cwl's directory: delivered into ``out``, its links' files readable in it."""
    whole = Path(output["whole"]["path"])
    assert whole.parent == out
    assert (whole / "sub" / "x.tif").read_text() == "tif\n"
    assert (whole / "link.tif").read_text() == "tif\n"
    assert (whole / "given-link.dat").read_text() == "input data\n"
    assert_delivered_as_described_files(output, out)


def assert_delivered_as_described_files(output: dict[str, Any], out: Path) -> None:
    """Every File of ``output`` is in ``out`` with the size and checksum it is said to have."""
    for file in files_of(output):
        path = Path(file["path"])
        assert path.is_relative_to(out), path
        data = path.read_bytes()
        assert file.get("size", len(data)) == len(data), path
        checksum = "sha1$" + hashlib.sha1(data).hexdigest()
        assert file.get("checksum", checksum) == checksum, path
