"""Fuzzing: whatever job order or command line a user types, cwl-dask answers with a
message and exit 2 (or runs it), never a traceback.

Examples run in-process (click's CliRunner) against one in-process Dask scheduler, so each
costs a document load, not a Python start and a cluster; the counts stay small.
"""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import dask
import pytest
from click.testing import CliRunner
from distributed import LocalCluster
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cwl_dask.cli.main import cli

TOOL = """\
cwlVersion: v1.2
class: CommandLineTool
baseCommand: 'true'
inputs:
  count: {type: int, inputBinding: {position: 1}}
  name: {type: string, inputBinding: {position: 2}}
  scene: {type: 'File?', inputBinding: {position: 3}}
  levels: {type: 'int[]?', inputBinding: {position: 4}}
  mode: {type: ['null', {type: enum, symbols: [fast, exact]}], inputBinding: {position: 5}}
outputs: []
"""

FUZZ = settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True),
    st.text(max_size=12),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(["class", "path", "location", "x"]), inner, max_size=3),
    ),
    max_leaves=6,
)
keys = st.sampled_from(["count", "name", "scene", "levels", "mode", "cwl:tool", "bogus", ""])


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    with LocalCluster(
        n_workers=1,
        processes=False,
        resources={"cores": 2, "ram": 2048},
        dashboard_address=":0",
    ) as cluster:
        yield cluster.scheduler_address


@pytest.fixture(scope="module")
def tool(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fuzz") / "typed.cwl"
    path.write_text(TOOL)
    return path


def _invoke(args: list[str], capfd: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Run the CLI; its exit code and everything it said (cwltool logs to its own handler)."""
    said = io.StringIO()
    handler = logging.StreamHandler(said)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    cwltool_logger = logging.getLogger("cwltool")
    cwltool_logger.addHandler(handler)
    try:
        result = CliRunner().invoke(cli, args)
    finally:
        cwltool_logger.removeHandler(handler)
    captured = capfd.readouterr()
    text = result.output + said.getvalue() + captured.err + captured.out
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, text


def _assert_clear(code: int, text: str) -> None:
    assert code in (0, 2), text
    assert "Traceback" not in text
    assert "internal error" not in text
    if code == 2:
        assert "error" in text.lower() or "usage" in text.lower(), text


@FUZZ
@given(job=st.dictionaries(keys, values, max_size=5) | st.text(max_size=40))
def test_any_job_order_file_is_run_or_refused_with_exit_2(
    job, scheduler: str, tool: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    job_file = tmp_path / "job.yml"
    job_file.write_text(job if isinstance(job, str) else json.dumps(job))
    code, text = _invoke(
        ["run", "--no-container", "--scheduler", scheduler, "--outdir", str(tmp_path / "o"),
         "--overwrite", str(tool), str(job_file)],
        capfd,
    )  # fmt: skip
    _assert_clear(code, text)


options = st.sampled_from(
    ["--outdir", "--workdir", "--cores", "--memory", "--entry", "--on-error", "--retry-tool",
     "--cachedir", "--stac-collection", "--worker-cores", "--max-workers", "--count", "--name",
     "--levels", "--mode", "--scene", "--quiet", "--overwrite", "--outdri", "-x", "--"]
)  # fmt: skip
words = st.one_of(options, st.text(max_size=10), st.sampled_from(["-1", "0", "2GiB", "fast"]))


@FUZZ
@given(before=st.lists(words, max_size=3), after=st.lists(words, max_size=4))
def test_any_command_line_is_run_or_refused_with_exit_2(
    before, after, scheduler: str, tool: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    args = ["run", "--no-container", "--scheduler", scheduler, *before, str(tool), *after]
    code, text = _invoke(args, capfd)
    _assert_clear(code, text)


# ----------------------------------------------------------- hostile files (issue 32, finding 5)


def _alias_bomb(prefix: str = "") -> str:
    """ "Billion laughs": 9 levels of 9 aliases each, 9^9 strings once expanded."""
    lines = [f'{prefix}a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"{prefix}a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    return "\n".join(lines) + "\n"


@FUZZ
@given(job=st.binary(min_size=1, max_size=200))
def test_any_bytes_as_a_job_file_are_run_or_refused_with_exit_2(
    job, scheduler: str, tool: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    job_file = tmp_path / "job.yml"
    job_file.write_bytes(job)
    code, text = _invoke(
        ["run", "--no-container", "--scheduler", scheduler, "--outdir", str(tmp_path / "o"),
         str(tool), str(job_file)],
        capfd,
    )  # fmt: skip
    _assert_clear(code, text)


def test_a_binary_job_file_is_refused_as_not_a_text_file(
    scheduler: str, tool: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    job_file = tmp_path / "job.yml"
    job_file.write_bytes(b"count: 1\nname: \xde\xad\xbe\xef\x00\n")
    code, text = _invoke(["run", "--scheduler", scheduler, str(tool), str(job_file)], capfd)
    assert code == 2, text
    assert f"{job_file} is not a text file" in text
    assert "Traceback" not in text and "internal error" not in text


def test_a_binary_workflow_is_refused_as_not_a_text_file(
    scheduler: str, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    document = tmp_path / "tool.cwl"
    document.write_bytes(b"cwlVersion: v1.2\nclass: \xde\xad\xbe\xef\n")
    code, text = _invoke(["run", "--scheduler", scheduler, str(document)], capfd)
    assert code == 2, text
    assert f"{document} is not a text file" in text
    assert "Traceback" not in text


def test_a_yaml_alias_bomb_in_a_job_file_is_refused_fast(cwl_dask, tool: Path, tmp_path: Path):
    job_file = tmp_path / "job.yml"
    job_file.write_text(_alias_bomb() + "count: 1\nname: x\n")
    started = time.monotonic()
    done = cwl_dask("run", "--no-container", tool, job_file, timeout=60)
    assert done.code == 2, done.stderr
    assert f"{job_file}" in done.stderr and "YAML aliases" in done.stderr, done.stderr
    assert time.monotonic() - started < 30


def test_a_yaml_alias_bomb_in_a_workflow_is_refused_fast(cwl_dask, tmp_path: Path) -> None:
    document = tmp_path / "tool.cwl"
    document.write_text(TOOL + _alias_bomb(prefix="x"))
    started = time.monotonic()
    done = cwl_dask("run", "--no-container", document, "--count", "1", "--name", "x", timeout=60)
    assert done.code == 2, done.stderr
    assert f"{document}" in done.stderr and "YAML aliases" in done.stderr, done.stderr
    assert time.monotonic() - started < 30


def test_a_job_file_over_the_size_bound_is_refused_naming_the_bound(
    scheduler: str, tool: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    job_file = tmp_path / "job.yml"
    job_file.write_text("count: 1\nname: x\n" + "".join(f"k{i}: {i}\n" for i in range(300)))
    with dask.config.set({"cwl-dask.job-file-limit": "1 KiB"}):
        code, text = _invoke(["run", "--scheduler", scheduler, str(tool), str(job_file)], capfd)
    assert code == 2, text
    assert f"{job_file} is larger than 1.00 kiB" in text, text
    assert "cwl-dask.job-file-limit" in text


def test_unknown_keys_of_a_job_file_are_summarised_in_one_line_with_a_count(
    scheduler: str, tool: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    job_file = tmp_path / "job.yml"
    job_file.write_text("count: 1\nname: x\n" + "".join(f"k{i}: {i}\n" for i in range(2000)))
    code, text = _invoke(
        ["run", "--no-container", "--scheduler", scheduler, "--outdir", str(tmp_path / "o"),
         str(tool), str(job_file)],
        capfd,
    )  # fmt: skip
    assert code == 0, text
    said = [line for line in text.splitlines() if "unknown input" in line]
    assert len(said) == 1, "\n".join(said[:5])
    assert "2000 unknown inputs" in said[0]


def test_validate_refuses_a_yaml_alias_bomb_fast(cwl_dask, tmp_path: Path) -> None:
    document = tmp_path / "tool.cwl"
    document.write_text(TOOL + _alias_bomb(prefix="x"))
    started = time.monotonic()
    done = cwl_dask("validate", document, timeout=60)
    assert done.code == 2, done.stderr
    assert "YAML aliases" in done.stderr, done.stderr
    assert time.monotonic() - started < 30


@pytest.mark.parametrize("hostile", ["workflow", "job file"])
def test_the_python_api_refuses_a_yaml_alias_bomb_fast(hostile: str, tmp_path: Path) -> None:
    document, job_file = tmp_path / "tool.cwl", tmp_path / "job.yml"
    document.write_text(TOOL + (_alias_bomb(prefix="x") if hostile == "workflow" else ""))
    job_file.write_text((_alias_bomb() if hostile == "job file" else "") + "count: 1\nname: x\n")
    call = (
        "import sys\nfrom cwl_dask import api\nfrom cwl_dask.errors import InvalidInputError\n"
        "try:\n    api.run(sys.argv[1], sys.argv[2], container='none')\n"
        "except InvalidInputError as err:\n    print(err)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", call, str(document), str(job_file)],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert "YAML aliases" in done.stdout, done.stdout + done.stderr
