"""cwl-dask as a library: ``run_captured`` and the per-invocation records observers see."""

from __future__ import annotations

from pathlib import Path

from conftest import DATA
from cwl_dask.clusters import LocalBackend
from cwl_dask.driver.launch import RunRequest, run_captured
from cwl_dask.observe.events import InvocationRecord, RunObserver


class Collector(RunObserver):
    def __init__(self) -> None:
        self.submitted_steps: list[str] = []
        self.progress: list[tuple[int, int]] = []

    def submitted(self, name: str, step: str, resources: dict[str, float] | None) -> None:
        self.submitted_steps.append(step)

    def finished(self, record: InvocationRecord, done: int, submitted: int) -> None:
        self.progress.append((done, submitted))


def _request(workflow: Path, tmp_path: Path, observer: RunObserver) -> RunRequest:
    return RunRequest(
        workflow=str(workflow),
        backend=LocalBackend(cores=2, memory_mib=2048),
        outdir=str(tmp_path / "out"),
        workdir=str(tmp_path / "work"),
        container="none",
        quiet=True,
        logs_dir=str(tmp_path / "logs"),
        observer=observer,
    )


def test_run_captured_returns_the_output_object_and_one_record_per_invocation(
    tmp_path: Path,
) -> None:
    observer = Collector()
    result = run_captured(_request(DATA / "scatter-echo.cwl", tmp_path, observer))
    assert result.code == 0
    assert result.output is not None
    assert [f["basename"] for f in result.output["files"]] == ["alpha.txt", "beta.txt", "gamma.txt"]
    assert sorted(r.name for r in result.records) == ["shout", "shout_2", "shout_3"]
    for record in result.records:
        assert (record.step, record.status, record.exit_code) == ("shout", "success", 0)
        assert (record.cores, record.ram_mib) == (1, 100)
        assert record.started is not None and record.finished is not None
        assert record.finished >= record.started
        assert Path(record.log_path).parent == tmp_path / "logs"
    assert observer.submitted_steps == ["shout"] * 3
    assert [done for done, _ in observer.progress] == [1, 2, 3]


def test_a_failed_invocation_is_recorded_with_its_exit_code_and_kept_log(tmp_path: Path) -> None:
    result = run_captured(_request(DATA / "fail.cwl", tmp_path, Collector()))
    assert result.code == 1
    assert result.output is None
    [record] = result.records
    assert (record.step, record.status, record.exit_code) == ("explode", "permanentFail", 3)
    assert "disk on fire" in Path(record.log_path).read_text()
    assert result.run_dir is not None and Path(result.run_dir).is_dir()
