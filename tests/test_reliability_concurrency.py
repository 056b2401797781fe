"""Concurrency: two runs at once on the same cluster, the same --workdir and outdir parent."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from distributed import LocalCluster
from distributed.diagnostics.plugin import SchedulerPlugin

from conftest import DATA
from reliability import start_run


class KeyRecorder(SchedulerPlugin):
    """Every task key the scheduler was asked to run."""

    def __init__(self) -> None:
        self.keys: list[str] = []

    def update_graph(self, scheduler, *, keys, **kwargs) -> None:
        self.keys.extend(str(key) for key in keys)


@pytest.fixture
def cluster() -> Iterator[LocalCluster]:
    with LocalCluster(
        n_workers=1,
        threads_per_worker=4,
        processes=False,
        protocol="tcp",
        resources={"cores": 2, "ram": 4096},
        dashboard_address=":0",
    ) as running:
        yield running


def test_two_runs_at_once_on_one_cluster_and_workdir_do_not_collide(
    cluster: LocalCluster, tmp_path: Path
) -> None:
    recorder = KeyRecorder()
    cluster.scheduler.add_plugin(recorder, name="keys")
    workdir = tmp_path / "work"
    words = {"a": ["alpha", "beta", "gamma"], "b": ["delta", "alpha", "beta"]}
    runs = {
        name: start_run(
            "--no-container",
            "--scheduler",
            cluster.scheduler_address,
            "--workdir",
            workdir,
            "--outdir",
            tmp_path / name,
            DATA / "scatter-echo.cwl",
            *[arg for w in ws for arg in ("--words", w)],
            cwd=tmp_path,
        )
        for name, ws in words.items()
    }
    results = {name: run.communicate(timeout=180) for name, run in runs.items()}

    for name, run in runs.items():
        out, err = results[name]
        assert run.returncode == 0, err
        files = json.loads(out)["files"]
        assert [f["basename"] for f in files] == [f"{w}.txt" for w in words[name]]
        for word, file in zip(words[name], files, strict=True):
            assert Path(file["path"]).read_text() == f"{word}\n"
            assert Path(file["path"]).parent == tmp_path / name
    shouts = [key for key in recorder.keys if key.startswith("shout-")]
    assert len(shouts) == 6
    assert len(set(recorder.keys)) == len(recorder.keys), "two tasks shared a key"
    assert list(workdir.iterdir()) == [], "a run left its work directory behind"
