"""cwltool's parsed CWL schemas are kept on disk between runs (cwl_dask.documents.schemas).

Each test gives the runs a cache directory of its own (Dask config ``cwl-dask.schema-cache``)
and runs the real ``cwl-dask`` in subprocesses, whose cwltool starts with an empty in-process
schema cache.
"""

from __future__ import annotations

import json
import os
import pickle
import stat
import subprocess
import sys
from pathlib import Path

import pytest

TOOL = """\
cwlVersion: v1.2
class: CommandLineTool
baseCommand: echo
inputs:
  word: {type: string, default: %s, inputBinding: {position: 1}}
stdout: said.txt
outputs:
  said: stdout
"""


def run(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cwl_dask", *args],
        cwd=tmp_path,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=240,
        stdin=subprocess.DEVNULL,
    )


def said(tmp_path: Path, cache: Path, word: str) -> str:
    """Run the echo tool with ``word`` as its default; what it wrote."""
    tool = tmp_path / "say.cwl"
    tool.write_text(TOOL % word)
    outdir = tmp_path / f"out-{word}"
    result = run(
        tmp_path,
        "run",
        "--quiet",
        "--no-container",
        "--outdir",
        str(outdir),
        str(tool),
        DASK_CWL_DASK__SCHEMA_CACHE=str(cache),
    )
    assert result.returncode == 0, result.stderr
    return Path(json.loads(result.stdout)["said"]["path"]).read_text().strip()


def cache_files(cache: Path) -> list[Path]:
    return sorted(cache.glob("schemas-*.pickle"))


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "schema-cache"


def test_a_run_saves_the_parsed_schemas_of_every_cwl_version(tmp_path: Path, cache: Path) -> None:
    said(tmp_path, cache, "hello")
    [saved] = cache_files(cache)
    with open(saved, "rb") as handle:
        assert sorted(pickle.load(handle)) == ["v1.0", "v1.1", "v1.2", "v1.3.0-dev1"]
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600


def loaded_without_parsing(document: Path, cache: Path) -> list[str]:
    """In a new process whose cwltool may not parse any schema, load ``document`` with the
    cache; the versions cwltool's schema cache then holds, and the process's class."""
    check = f"""
import cwltool.process
def refuse(*args, **kwargs):
    raise AssertionError("the schema was parsed again")
cwltool.process.load_schema = refuse
from cwl_dask.documents.loading import load_process
process = load_process({str(document)!r})
print(" ".join(sorted(cwltool.process.SCHEMA_CACHE)), process.tool["class"])
"""
    result = subprocess.run(
        [sys.executable, "-c", check],
        env={**os.environ, "DASK_CWL_DASK__SCHEMA_CACHE": str(cache)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_a_later_process_takes_the_schemas_from_the_cache_without_parsing(
    tmp_path: Path, cache: Path
) -> None:
    said(tmp_path, cache, "hello")
    assert loaded_without_parsing(tmp_path / "say.cwl", cache) == [
        "v1.0",
        "v1.1",
        "v1.2",
        "v1.3.0-dev1",
        "CommandLineTool",
    ]


TWO_STEPS = """\
cwlVersion: v1.2
class: Workflow
inputs: []
outputs: []
steps:
  one: {run: say.cwl, in: [], out: [said]}
  two: {run: say.cwl, in: [], out: [said]}
"""


def test_a_workflow_of_file_steps_is_loaded_without_parsing_a_schema(
    tmp_path: Path, cache: Path
) -> None:
    """cwltool validates the ``run:`` documents of the second step on against its internal
    CWL version's schema (it has upgraded the workflow to it): that one is cached too."""
    said(tmp_path, cache, "hello")
    (tmp_path / "two.cwl").write_text(TWO_STEPS)
    assert loaded_without_parsing(tmp_path / "two.cwl", cache)[-1] == "Workflow"


def test_an_edited_document_is_read_anew_after_a_cached_run(tmp_path: Path, cache: Path) -> None:
    assert said(tmp_path, cache, "first") == "first"
    assert said(tmp_path, cache, "second") == "second"


def test_the_cache_never_holds_the_documents_a_run_loaded(tmp_path: Path, cache: Path) -> None:
    said(tmp_path, cache, "unmistakable-word")
    [saved] = cache_files(cache)
    assert b"unmistakable-word" not in saved.read_bytes()
    assert b"say.cwl" not in saved.read_bytes()


def test_a_damaged_cache_file_is_rebuilt(tmp_path: Path, cache: Path) -> None:
    said(tmp_path, cache, "hello")
    [saved] = cache_files(cache)
    saved.write_bytes(b"not a pickle")
    assert said(tmp_path, cache, "again") == "again"
    with open(saved, "rb") as handle:
        assert "v1.2" in pickle.load(handle)


def test_a_cache_file_others_may_write_is_replaced_not_read(tmp_path: Path, cache: Path) -> None:
    said(tmp_path, cache, "hello")
    [saved] = cache_files(cache)
    saved.write_bytes(b"written by someone else")
    saved.chmod(0o666)
    assert said(tmp_path, cache, "again") == "again"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert saved.read_bytes() != b"written by someone else"


def test_the_cache_can_be_turned_off(tmp_path: Path) -> None:
    home = tmp_path / "xdg-cache"
    (tmp_path / "say.cwl").write_text(TOOL % "hello")
    result = run(
        tmp_path,
        "run",
        "--quiet",
        "--no-container",
        "say.cwl",
        DASK_CWL_DASK__SCHEMA_CACHE="false",
        XDG_CACHE_HOME=str(home),
    )
    assert result.returncode == 0, result.stderr
    assert not (home / "cwl-dask" / "schemas").exists()


def test_by_default_the_cache_is_in_the_users_cache_directory(tmp_path: Path) -> None:
    home = tmp_path / "xdg-cache"
    (tmp_path / "say.cwl").write_text(TOOL % "hello")
    result = run(tmp_path, "run", "--quiet", "--no-container", "say.cwl", XDG_CACHE_HOME=str(home))
    assert result.returncode == 0, result.stderr
    assert len(cache_files(home / "cwl-dask" / "schemas")) == 1
