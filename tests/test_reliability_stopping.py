"""Stopping a run with invocations still queued: nothing starts after the stop, nothing is left.

A 6-wide scatter of 40 s ``sleep`` tools, one core each, on workers with 2 cores: 2 run and 4
wait for a core. Whatever stops the run (SIGINT, SIGTERM, ``--timeout``, a failure under
``--on-error stop``), on the local cluster or on a real ``dask scheduler`` and ``dask worker``,
the waiting ones never start — not even on the cores the killed ones free — the running ones
are killed on the worker, and the driver exits within seconds with docs/usage.md's code.
Each tool creates a file named after its pid in ``started/`` and runs ``sleep SECS TAG``
with a tag unique to the test, so the test counts the tools that started and looks for any
left on this machine. A scheduler killed mid-run ends the run with one message instead of a
tool failure per invocation.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import DATA, eventually
from cwl_dask.driver.delivery import outcomes_of
from cwl_dask.worker.invocation import Outcome
from realcluster import RealCluster
from reliability import Scatter, alive, start_run, wait_gone

WORKFLOW = DATA / "stop-scatter.cwl"
#: Loose bound on the seconds from the stop to the driver's exit (measured: ~1 s).
STOPS_WITHIN = 10


def _finish(run: subprocess.Popen[str], since: float) -> tuple[str, float]:
    _, err = run.communicate(timeout=60)
    return err, time.monotonic() - since


def _assert_stopped_cleanly(scatter: Scatter, err: str, started: int) -> None:
    assert "Traceback" not in err, err
    assert scatter.started() == started, "an invocation started after the stop"
    assert eventually(lambda: not scatter.tools_left(), timeout=3), "a tool outlived the run"
    time.sleep(1)  # a queued task that slipped through would start now
    assert scatter.started() == started, "an invocation started after the run ended"


# --------------------------------------------------------------------------- real cluster
@pytest.fixture(scope="module")
def real_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealCluster]:
    cluster = RealCluster(tmp_path_factory.mktemp("real-cluster"))
    yield cluster
    cluster.close()


@pytest.fixture
def own_cluster(tmp_path: Path) -> Iterator[RealCluster]:
    """A cluster for one test alone (it may kill the scheduler)."""
    cluster = RealCluster(tmp_path / "cluster")
    yield cluster
    cluster.close()


# --------------------------------------------------------------------------- signals
def test_a_stop_whose_cleanup_hangs_still_ends_after_the_grace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cluster's close() never returns (tests/gateway.py): the watchdog of
    driver/stopping.py ends the process with the stop's exit code after CWL_DASK_STOP_GRACE."""
    tests = Path(__file__).parent
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [str(tests), os.environ.get("PYTHONPATH")]))
    )
    monkeypatch.setenv("CWL_DASK_STOP_GRACE", "3")
    scatter = Scatter(tmp_path, [40] * 2)
    run = start_run(
        "--no-container", "--cluster", "gateway:local_cluster_that_hangs_on_close",
        "--outdir", tmp_path / "out", WORKFLOW, scatter.job, cwd=tmp_path,
    )  # fmt: skip
    scatter.wait_started(2, run)
    since = time.monotonic()
    run.send_signal(signal.SIGINT)
    err, took = _finish(run, since)
    assert run.returncode == 130, err
    assert "stopping did not finish within 3 s: exiting now" in err
    assert took < 3 + STOPS_WITHIN, f"the driver took {took:.1f} s to stop"


@pytest.mark.parametrize(
    ("signum", "code", "options", "terminal"),
    [
        (signal.SIGINT, 130, [], True),  # Ctrl-C: the whole process group
        (signal.SIGTERM, 143, [], False),
        (signal.SIGTERM, 143, ["--worker-processes"], False),
    ],
    ids=["ctrl-c-in-process-worker", "sigterm-in-process-worker", "sigterm-worker-processes"],
)
def test_a_signal_starts_no_queued_invocation_and_kills_the_running_ones_on_the_local_cluster(
    tmp_path: Path, signum: int, code: int, options: list[str], terminal: bool
) -> None:
    scatter = Scatter(tmp_path, [40] * 6)
    run = start_run(
        "--no-container", "--cores", "2", *options, "--outdir", tmp_path / "out",
        WORKFLOW, scatter.job, cwd=tmp_path, new_session=terminal,
    )  # fmt: skip
    scatter.wait_started(2, run)
    time.sleep(1)  # a stop a moment later, as a user's: the workers' "started" news is in
    spawned = set(scatter.tools_left())

    since = time.monotonic()
    (os.killpg if terminal else os.kill)(run.pid, signum)
    err, took = _finish(run, since)

    assert run.returncode == code, err
    assert took < STOPS_WITHIN, f"the driver took {took:.1f} s to stop"
    name = signal.Signals(signum).name
    assert f"interrupted by {name}: 0 of 6 tool invocations finished; killed: " in err
    assert err.count("never started: ") == 1 and err.count("work") >= 6
    _assert_stopped_cleanly(scatter, err, started=2)
    assert wait_gone(spawned, timeout=1) == set()


_LOGS_ON_THE_WORKER = """
import logging
from cwl_dask.clusters.local import LocalBackend
from cwl_dask.worker.local_worker import HEARTBEAT_FAILED

def log_on_the_worker():
    log = logging.getLogger("distributed.worker")
    try:
        raise OSError("Stream is closed")
    except OSError:
        log.exception(HEARTBEAT_FAILED + ".")
        log.error("another worker error")

if __name__ == "__main__":
    backend = LocalBackend(cores=1, processes=True)
    backend.connect().run(log_on_the_worker)
    backend.close()
"""


def test_a_worker_process_of_the_local_cluster_prints_no_failed_heartbeat(tmp_path: Path) -> None:
    # A heartbeat under way while the local cluster closed was printed with a traceback on a
    # stopped run's stderr (CI, SIGTERM).
    script = tmp_path / "logs_on_the_worker.py"
    script.write_text(_LOGS_ON_THE_WORKER)

    run = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )

    assert run.returncode == 0, run.stderr
    assert "another worker error" in run.stderr
    assert "heartbeat" not in run.stderr and "Traceback" not in run.stderr, run.stderr


def test_a_signal_starts_no_queued_invocation_and_kills_the_running_ones_on_a_real_scheduler(
    tmp_path: Path, real_cluster: RealCluster
) -> None:
    scatter = Scatter(tmp_path, [40] * 6)
    run = start_run(
        "--no-container", "--scheduler", real_cluster.address, "--outdir", tmp_path / "out",
        WORKFLOW, scatter.job, cwd=tmp_path,
    )  # fmt: skip
    scatter.wait_started(2, run)
    time.sleep(1)  # a stop a moment later, as a user's: the workers' "started" news is in

    since = time.monotonic()
    os.kill(run.pid, signal.SIGTERM)
    err, took = _finish(run, since)

    assert run.returncode == 143, err
    assert took < STOPS_WITHIN, f"the driver took {took:.1f} s to stop"
    assert "interrupted by SIGTERM: 0 of 6 tool invocations finished; killed: " in err
    _assert_stopped_cleanly(scatter, err, started=2)
    assert real_cluster.worker is not None and alive(real_cluster.worker.pid)


# --------------------------------------------------------------------------- --timeout
@pytest.mark.parametrize("backend", ["local", "scheduler"])
def test_a_timeout_starts_no_queued_invocation_and_kills_the_running_ones(
    tmp_path: Path, request: pytest.FixtureRequest, backend: str
) -> None:
    options = ["--cores", "2"]
    if backend == "scheduler":
        options = ["--scheduler", request.getfixturevalue("real_cluster").address]
    scatter = Scatter(tmp_path, [40] * 6)
    since = time.monotonic()
    run = start_run(
        "--no-container", "--timeout", "8", *options, "--outdir", tmp_path / "out",
        WORKFLOW, scatter.job, cwd=tmp_path,
    )  # fmt: skip
    err, took = _finish(run, since)

    assert run.returncode == 1, err
    assert "run timed out after 8 s: " in err
    if scatter.started() < 2:
        pytest.skip("this machine is too loaded: the run timed out before its tools started")
    assert took < 8 + STOPS_WITHIN, f"the run took {took:.1f} s"
    assert "0 of 6 tool invocations finished; killed: " in err
    _assert_stopped_cleanly(scatter, err, started=2)


# --------------------------------------------------------------------------- --on-error stop
@pytest.mark.parametrize("backend", ["local", "scheduler"])
def test_a_failure_under_on_error_stop_starts_no_queued_invocation_and_kills_the_running_ones(
    tmp_path: Path, request: pytest.FixtureRequest, backend: str
) -> None:
    options = ["--cores", "2"]
    if backend == "scheduler":
        options = ["--scheduler", request.getfixturevalue("real_cluster").address]
    # The first element fails after 1 s; the core it frees may start one more before the
    # driver hears of the failure, never more.
    scatter = Scatter(tmp_path, [-1, 40, 40, 40, 40, 40])
    since = time.monotonic()
    run = start_run(
        "--no-container", *options, "--outdir", tmp_path / "out",
        WORKFLOW, scatter.job, cwd=tmp_path,
    )  # fmt: skip
    err, took = _finish(run, since)

    assert run.returncode == 1, err
    assert took < 40, f"the run took {took:.1f} s: the 40 s tools were not killed"
    assert err.count("ERROR step 'work' failed") == 1, err
    assert "stopping after the failure (--on-error stop): 0 of 6 tool invocations finished; " in err
    assert "failed: work; killed: " in err and "never started: " in err
    started = scatter.started()
    assert started in (2, 3)
    _assert_stopped_cleanly(scatter, err, started=started)


# --------------------------------------------------------------------------- lost scheduler
def test_a_lost_scheduler_is_one_message_saying_what_finished_and_how_to_resume(
    tmp_path: Path, own_cluster: RealCluster
) -> None:
    # 1 s each: longer than half of cwl-dask.batch.max-seconds, so never fused into batches
    # (a batch's finished invocations are delivered with the batch).
    scatter = Scatter(tmp_path, [1] * 40)
    run = start_run(
        "--no-container", "--scheduler", own_cluster.address, "--outdir", tmp_path / "out",
        WORKFLOW, scatter.job, cwd=tmp_path,
    )  # fmt: skip
    scatter.wait_started(4, run)  # the first two have finished, the next two run

    since = time.monotonic()
    own_cluster.scheduler.kill()
    err, took = _finish(run, since)

    assert run.returncode == 1, err
    assert took < STOPS_WITHIN, f"the driver took {took:.1f} s to stop"
    assert (
        f"lost the connection to the Dask scheduler of the cluster at {own_cluster.address}: "
        in err
    )
    assert " of 40 tool invocations finished (" in err
    assert "running when it was lost: " in err and "never started: " in err
    assert "--cachedir DIR" in err
    assert "step 'work' failed" not in err, err
    assert "Traceback" not in err and "CancelledError" not in err, err
    assert "distributed.client" not in err, err


def test_an_outcome_received_before_the_scheduler_was_lost_counts_as_finished(
    own_cluster: RealCluster,
) -> None:
    # The race CI once hit: the client had a task's result when its scheduler died, and
    # losing the scheduler marked that future cancelled too.
    from distributed import Client, as_completed

    client = Client(own_cluster.address, timeout=2)  # its reconnection gives up after 2 s
    try:
        future = client.submit(Outcome, "success")  # what a finished invocation returns
        done, result = next(as_completed([future], with_results=True))
        own_cluster.scheduler.kill()
        assert eventually(lambda: done.status == "cancelled", timeout=10)

        outcomes = outcomes_of(result)
    finally:
        client.close(timeout=5)
    assert outcomes is not None and [o.status for o in outcomes] == ["success"]
