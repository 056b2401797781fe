"""Fuzzing: whatever job order or command line a user types, cwl-dask answers with a
message and exit 2 (or runs it), never a traceback.

Examples run in-process (click's CliRunner) against one in-process Dask scheduler, so each
costs a document load, not a Python start and a cluster; the counts stay small.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

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
