"""The ZOO runner in store mode: ZOO's run directory is hidden from the Dask workers.

The Dask config says where (``cwl-dask.backend: scheduler``, ``cwl-dask.workdir:
s3://…``); the workers (``conftest_isolated``) cannot see ZOO's ``tmpPath``, so nothing of
the run may need a volume shared between ZOO and them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conftest import DATA
from cwl_dask.zoo import ExecutionHandler, ZooDaskRunner, load_package
from isolated import objects_under, store_fs
from test_zoo import _conf, zoo  # noqa: F401  (the fixture)

pytestmark = pytest.mark.timeout(600)


def test_a_zoo_service_runs_on_workers_that_share_no_volume_with_zoo(
    isolated_cluster: Any,
    moto_server: Any,
    driver_area: Path,
    bucket: str,
    zoo: Any,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import dask

    for name, value in moto_server.environment().items():
        monkeypatch.setenv(name, value)
    run_dir = driver_area / f"zoo-{bucket}"
    run_dir.mkdir()
    conf = _conf(run_dir, "greet")
    outputs: dict[str, Any] = {"out": {"mimeType": "text/plain"}}
    settings = {
        "cwl-dask.backend": "scheduler",
        "cwl-dask.scheduler": isolated_cluster.address,
        "cwl-dask.workdir": f"s3://{bucket}/runs",
    }
    with dask.config.set(settings):
        runner = ZooDaskRunner(
            cwl=load_package(DATA / "zoo" / "greet.cwl"),
            conf=conf,
            inputs={"message": {"value": "hello from ZOO", "dataType": "string"}},
            outputs=outputs,
            execution_handler=ExecutionHandler(conf=conf),
        )
        assert runner.execute() == zoo.SERVICE_SUCCEEDED, runner.execution.get_log()
    fs = store_fs(moto_server)
    staged = objects_under(fs, f"{bucket}/runs/staged-out")
    assert [p for p in staged if p.endswith("greeting.txt")], staged
    [greeting] = [p for p in staged if p.endswith("greeting.txt")]
    assert fs.cat_file(greeting) == b"hello from ZOO\n"
    run_objects = [p for p in objects_under(fs, f"{bucket}/runs") if "/staged-out/" not in p]
    assert run_objects == [], "the run's intermediate prefix was kept"


def _greet(conf: dict[str, Any], settings: dict[str, Any]) -> Any:
    """One execution of the greet service with the Dask config ``settings``."""
    import dask

    with dask.config.set(settings):
        runner = ZooDaskRunner(
            cwl=load_package(DATA / "zoo" / "greet.cwl"),
            conf=conf,
            inputs={"message": {"value": "hello from the cache", "dataType": "string"}},
            outputs={"out": {"mimeType": "text/plain"}},
            execution_handler=ExecutionHandler(conf=conf),
        )
        assert runner.execute() == 3, runner.execution.get_log()
    return runner.execution


@pytest.mark.parametrize("shared", [False, True], ids=["per-user", "shared"])
def test_the_zoo_cache_is_per_user_unless_the_platform_shares_it(
    isolated_cluster: Any,
    moto_server: Any,
    driver_area: Path,
    bucket: str,
    monkeypatch: pytest.MonkeyPatch,
    shared: bool,
) -> None:
    """``cwl-dask.cachedir`` gives every service the cache: a user's second execution runs
    no tool; another user's reuses those results only with ``cwl-dask.cache.shared``."""
    for name, value in moto_server.environment().items():
        monkeypatch.setenv(name, value)
    settings = {
        "cwl-dask.backend": "scheduler",
        "cwl-dask.scheduler": isolated_cluster.address,
        "cwl-dask.workdir": f"s3://{bucket}/runs",
        "cwl-dask.cachedir": f"s3://{bucket}/cache",
        "cwl-dask.cache.shared": shared,
    }

    def execution(user: str, usid: str) -> list[bool]:
        run_dir = driver_area / f"zoo-{bucket}-{usid}"
        run_dir.mkdir()
        conf = _conf(run_dir, "greet", auth_env={"user": user})
        conf["lenv"]["usid"] = usid
        records = _greet(conf, settings).records  # the stage-out runs for each job
        return [r.cached for r in records if not r.step.startswith("stage_out")]

    assert execution("alice", "job-1") == [False]
    assert execution("alice", "job-2") == [True]
    assert execution("bob", "job-3") == [shared]
    fs = store_fs(moto_server)
    staged = objects_under(fs, f"{bucket}/runs/staged-out")
    for job in ("job-1", "job-2", "job-3"):
        assert [p for p in staged if job in p and p.endswith("greeting.txt")], staged
    prefixes = {p.split("/")[2:4][0] for p in objects_under(fs, f"{bucket}/cache")}
    assert prefixes == ({"shared"} if shared else {"users"})
