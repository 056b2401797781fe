"""The public Python API: ``cwl_dask.run`` and ``cwl_dask.submit``, as a notebook uses them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import cwl_dask
from conftest import SAMPLES
from cwl_dask.errors import InvalidInputError, StepFailed

HELLO = SAMPLES / "hello" / "hello.cwl"
PATTERNS = SAMPLES / "patterns"
BROKEN = Path(__file__).resolve().parent / "data" / "zoo" / "broken.cwl"


@pytest.fixture(scope="module")
def client():
    """A user's own Client on a LocalCluster, opened before and closed after the runs."""
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=1, threads_per_worker=2, processes=False)
    with cluster, Client(cluster) as user_client:
        yield user_client


def test_run_takes_the_inputs_as_a_dict(tmp_path: Path) -> None:
    result = cwl_dask.run(HELLO, {"message": "from a dict"}, outdir=tmp_path, container="none")
    assert result.ok and result.status == "success"
    out = Path(result.outputs["hello"]["path"])
    assert out.parent == tmp_path and out.read_text().strip() == "from a dict"
    assert [r.step for r in result.records] == ["hello"]


def test_run_takes_the_inputs_as_a_job_file(tmp_path: Path) -> None:
    result = cwl_dask.run(
        HELLO, SAMPLES / "hello" / "params.yml", outdir=tmp_path, container="none"
    )
    assert result.ok and Path(result.outputs["hello"]["path"]).exists()


def test_relative_paths_of_a_dict_are_relative_to_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(PATTERNS)
    inputs = {
        "scene": {"class": "Directory", "location": "data/scene-a"},
        "series": [{"class": "Directory", "location": "data/series-1"}],
    }
    result = cwl_dask.run(PATTERNS / "app-package.cwl", inputs, outdir=tmp_path, container="none")
    assert result.ok
    assert set(result.stac) == {"scene_catalog", "series_catalogs"}
    (catalog,) = result.stac["scene_catalog"]
    assert [item.id for item in catalog.get_items(recursive=True)]


def test_a_users_client_runs_the_tasks_and_stays_open(client, tmp_path: Path) -> None:
    result = cwl_dask.run(
        HELLO, {"message": "hi"}, client=client, outdir=tmp_path, container="none"
    )
    assert result.ok
    assert client.submit(sum, [1, 2]).result() == 3  # still usable afterwards
    assert result.records[0].step == "hello"


def test_two_submits_run_at_once_on_one_client(client, tmp_path: Path) -> None:
    first = cwl_dask.submit(
        HELLO, {"message": "one"}, client=client, outdir=tmp_path / "1", container="none"
    )
    second = cwl_dask.submit(
        PATTERNS / "app-package.cwl",
        PATTERNS / "params.yml",
        client=client,
        outdir=tmp_path / "2",
        container="none",
    )
    one, two = first.result(timeout=240), second.result(timeout=240)
    assert Path(one.outputs["hello"]["path"]).read_text().strip() == "one"
    assert two.ok and two.outputs["series_mean"] == pytest.approx(two.outputs["series_mean"])
    assert {r.step for r in two.records} >= {"scene_stats", "series_stats"}
    assert "hello" not in {r.step for r in two.records}  # each run has its own records


def test_a_failing_package_raises_step_failed_naming_the_step(tmp_path: Path) -> None:
    with pytest.raises(StepFailed, match="explode"):
        cwl_dask.run(f"{BROKEN}#broken", {"message": "x"}, outdir=tmp_path, container="none")


def test_check_false_returns_the_failed_result(tmp_path: Path) -> None:
    result = cwl_dask.run(
        f"{BROKEN}#broken", {"message": "x"}, outdir=tmp_path, container="none", check=False
    )
    assert result.status == "permanentFail" and result.outputs is None
    assert "explode" in (result.error or "")


def test_an_unknown_option_is_refused_with_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match=r"unknown option.*retry_tools.*retry_tool"):
        cwl_dask.run(HELLO, {"message": "x"}, outdir=tmp_path, retry_tools=2)


def test_the_usage_report_counts_the_invocations(tmp_path: Path) -> None:
    result = cwl_dask.run(HELLO, {"message": "x"}, outdir=tmp_path, container="none")
    assert result.usage["total_tasks"] == 1
    assert json.dumps(result.usage)  # JSON as report.json


def _with_sigchld_ignored(tmp_path: Path, code: str) -> str:
    """Run ``code`` in a Python whose SIGCHLD is ignored (as the ZOO kernel leaves its
    services); its stdout."""
    import subprocess
    import sys

    prologue = "import signal; signal.signal(signal.SIGCHLD, signal.SIG_IGN)\n"
    done = subprocess.run(
        [sys.executable, "-c", prologue + code],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_failing_tool_fails_the_run_of_a_caller_that_ignores_sigchld(tmp_path: Path) -> None:
    """With SIGCHLD ignored every child's exit code reads 0: the tool exiting 3 after
    writing its output was reported a success."""
    out = _with_sigchld_ignored(
        tmp_path,
        "import signal, cwl_dask\n"
        f"r = cwl_dask.run({str(BROKEN)!r}, {{'message': 'hi'}}, check=False, container='none',"
        " outdir='out')\n"
        "print(r.code, signal.getsignal(signal.SIGCHLD) == signal.SIG_IGN)\n",
    )
    assert out.split() == ["1", "True"]  # failed; the caller's disposition is back


def test_a_run_off_the_main_thread_of_a_caller_ignoring_sigchld_is_refused(
    tmp_path: Path,
) -> None:
    out = _with_sigchld_ignored(
        tmp_path,
        "import concurrent.futures, cwl_dask\n"
        "from cwl_dask.errors import BackendError\n"
        "with concurrent.futures.ThreadPoolExecutor() as pool:\n"
        f"    job = pool.submit(cwl_dask.run, {str(HELLO)!r}, {{'message': 'x'}},"
        " container='none', outdir='out')\n"
        "    try:\n"
        "        job.result()\n"
        "    except BackendError as err:\n"
        "        print(err)\n",
    )
    assert "SIGCHLD is ignored in this process" in out
