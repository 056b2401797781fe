"""A ``cwltool:Secrets`` input never appears in what a run leaves behind or shows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from distributed import LocalCluster
from distributed.diagnostics.plugin import SchedulerPlugin

from conftest import DATA
from cwl_dask.cli.main import _configure_logging
from cwl_dask.clusters.scheduler import SchedulerBackend
from cwl_dask.driver.launch import RunRequest, run_captured
from cwl_dask.observe.usage import usage_report
from cwl_dask.zoo.report import failure_message

SECRET = "Hunter2-s3cr3t-VALUE"


class KeyRecorder(SchedulerPlugin):
    """Every task key the scheduler saw."""

    def __init__(self) -> None:
        self.keys: list[str] = []

    def update_graph(self, scheduler, *, keys, **kwargs) -> None:
        self.keys.extend(map(str, keys))


def _files_with(root: Path, text: str) -> list[Path]:
    found = []
    for path in root.rglob("*"):
        if path.is_file() and text.encode() in path.read_bytes():
            found.append(path)
    return found


@pytest.mark.parametrize("debug", [False, True], ids=["quiet", "debug"])
def test_secret_input_is_in_no_file_log_report_or_task_key(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], debug: bool
) -> None:
    recorder = KeyRecorder()
    with LocalCluster(
        n_workers=1,
        threads_per_worker=2,
        processes=True,  # the secret store travels to another process, as on a cluster
        resources={"cores": 2, "ram": 4096},
        dashboard_address=None,
    ) as cluster:
        cluster.scheduler.add_plugin(recorder, name="keys")
        _configure_logging(quiet=False, debug=debug)
        result = run_captured(
            RunRequest(
                workflow=str(DATA / "reliability" / "secret.cwl"),
                backend=SchedulerBackend(cluster.scheduler_address),
                job_args=["--user", "alice", "--password", SECRET],
                outdir=str(tmp_path / "out"),
                workdir=str(tmp_path / "work"),
                container="none",
                debug=debug,
                on_error="continue",  # one step fails: logs, messages and a kept work dir
            )
        )
    captured = capfd.readouterr()
    assert result.code == 1
    assert (tmp_path / "out" / "session.txt").read_text() == "session for alice\n"
    assert result.run_dir is not None and Path(result.run_dir).is_dir()
    assert "password refused" in captured.err  # the failure was reported...
    assert SECRET not in captured.err + captured.out  # ...without the secret
    assert _files_with(tmp_path, SECRET) == []
    assert SECRET not in json.dumps(result.output)
    assert SECRET not in json.dumps(usage_report(result.records, 2, 4096))
    assert SECRET not in (failure_message(result.records) or "")
    assert recorder.keys and not [key for key in recorder.keys if SECRET in key]
