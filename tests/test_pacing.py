"""How often the driver walks cwltool's workflow, and how much it keeps in flight (issue 30:
a scatter's walk visits every element, so waking up for each finished task was quadratic,
and a 100,000-element scatter held every invocation in the driver at once).

See ``cwl_dask.driver.pacing``. The window is observed on a real in-process LocalCluster,
through the run's observer; the pacing rule on the driver's delivery with stand-ins for the
finished tasks, since it is about when the driver looks, not about what Dask does.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import dask
import pytest
from distributed import Client, LocalCluster

import cwl_dask
from cwl_dask.driver import delivery
from cwl_dask.driver.delivery import Delivery
from cwl_dask.driver.pacing import MAX_GAP, Pacer
from cwl_dask.observe.events import InvocationRecord, RunObserver

DATA = Path(__file__).resolve().parent / "data"
SCATTER = DATA / "scatter-echo.cwl"


class InFlight(RunObserver):
    """The most invocations submitted and not finished at any moment, and the names in the
    order they were submitted."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 0
        self.most = 0
        self.names: list[str] = []

    def submitted(self, name: str, step: str, resources: dict[str, float] | None) -> None:
        self.now += 1
        self.most = max(self.most, self.now)
        self.names.append(name)

    def finished(self, record: InvocationRecord, done: int, submitted: int) -> None:
        self.now -= 1


def test_a_scatter_wider_than_the_window_never_has_more_in_flight(tmp_path: Path) -> None:
    """With a window of 3, a 12-element scatter runs 3 at a time at most, in cwltool's
    order, and its outputs come back in the scatter's order."""
    words = [f"w{i}" for i in range(12)]
    observer = InFlight()
    config = {"cwl-dask.walk.window": 3, "cwl-dask.batch.max-size": 1}
    with (
        dask.config.set(config),
        LocalCluster(n_workers=1, threads_per_worker=4, processes=False) as cluster,
        Client(cluster) as client,
    ):
        result = cwl_dask.run(
            SCATTER,
            {"words": words},
            client=client,
            outdir=tmp_path / "out",
            container="none",
            observer=observer,
        )
    assert result.ok
    assert observer.most == 3
    assert observer.names == ["shout"] + [f"shout_{i}" for i in range(2, 13)]
    outputs = next(iter(result.outputs.values()))
    assert [Path(f["path"]).read_text().strip() for f in outputs] == words


class Finished:
    """Stands in for the dispatcher's completions: ``ready`` items come out one per look."""

    def __init__(self, ready: list[tuple[Any, Any]]) -> None:
        self.ready = list(ready)
        self.looks = 0

    def next_batch(self, block: bool = True) -> list[tuple[Any, Any]]:
        self.looks += 1
        return [self.ready.pop(0)] if self.ready else []


def _delivery(pending: int, finished: Finished, pacer: Pacer) -> Delivery:
    shell = Delivery.__new__(Delivery)
    shell._pending = {f"task-{i}": [] for i in range(pending)}
    shell._finished = finished
    shell.pacer = pacer
    return shell


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """A fake monotonic clock that a ``time.sleep`` advances."""
    now = [100.0]
    monkeypatch.setattr(delivery.time, "monotonic", lambda: now[0])
    monkeypatch.setattr(delivery.time, "sleep", lambda s: now.__setitem__(0, now[0] + s))
    monkeypatch.setattr("cwl_dask.driver.pacing.time.monotonic", lambda: now[0])
    return now


def _walked(pacer: Pacer, clock: list[float], seconds: float) -> None:
    pacer.walk_starts()
    clock[0] += seconds
    pacer.walk_ends()


def test_a_task_that_was_the_only_one_in_flight_is_delivered_at_once(clock) -> None:
    """A chain's next step is never held back, however long the last walk took."""
    pacer = Pacer(ratio=4)
    _walked(pacer, clock, 0.1)
    shell = _delivery(1, Finished([("other", None)]), pacer)
    before = clock[0]
    assert shell._gathered(have=1) == []
    assert clock[0] == before


def test_after_a_long_walk_the_driver_gathers_tasks_for_ratio_times_the_walk(clock) -> None:
    """A walk of 20 ms with ratio 4: tasks finishing in the next 80 ms come in one delivery;
    the next walk is not started before."""
    pacer = Pacer(ratio=4)
    _walked(pacer, clock, 0.02)
    walk_ended = clock[0]
    finished = Finished([(f"t{i}", None) for i in range(100)])
    gathered = _delivery(101, finished, pacer)._gathered(have=1)
    assert len(gathered) == finished.looks
    assert clock[0] == pytest.approx(walk_ended + 0.08)


def test_gathering_stops_once_nothing_is_left_in_flight(clock) -> None:
    pacer = Pacer(ratio=4)
    _walked(pacer, clock, 0.1)
    gathered = _delivery(3, Finished([("a", None), ("b", None), ("c", None)]), pacer)._gathered(1)
    assert len(gathered) == 2


def test_no_finished_task_waits_longer_than_the_longest_gap(clock) -> None:
    pacer = Pacer(ratio=4)
    _walked(pacer, clock, 10.0)
    walk_ended = clock[0]
    _delivery(5, Finished([]), pacer)._gathered(have=1)
    assert clock[0] == pytest.approx(walk_ended + MAX_GAP)


def test_ratio_zero_turns_pacing_off(clock) -> None:
    pacer = Pacer(ratio=0)
    _walked(pacer, clock, 1.0)
    assert _delivery(5, Finished([("a", None)]), pacer)._gathered(have=1) == []


def test_the_window_counts_invocations_in_flight() -> None:
    pacer = Pacer(window=2)
    assert [pacer.has_room(n) for n in range(4)] == [True, True, False, False]


def test_a_full_window_refills_once_half_of_it_was_delivered() -> None:
    """Room comes back in big steps, so that what starts together can be batched."""
    pacer = Pacer(window=10)
    assert pacer.has_room(9)
    assert not pacer.has_room(10)
    assert [pacer.has_room(n) for n in (9, 8, 6)] == [False, False, False]
    assert pacer.has_room(5)
    assert pacer.has_room(9)
    assert not pacer.has_room(10)


def test_the_walk_settings_come_from_dask_config() -> None:
    with dask.config.set({"cwl-dask.walk.ratio": 0, "cwl-dask.walk.window": 7}):
        pacer = Pacer.from_config()
    assert (pacer.ratio, pacer.window) == (0.0, 7)


def test_paced_steps_keep_the_names_cwltool_gave_them(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The steps are handed to cwltool's WorkflowJob as paced steps without being made
    again: cwltool names each step once per process (a second naming logged ``…_2``).
    The step names are unique to this test, since cwltool's names are process-wide."""
    first, second = f"first_{uuid.uuid4().hex[:8]}", f"second_{uuid.uuid4().hex[:8]}"
    workflow = tmp_path / "two-steps.cwl"
    workflow.write_text(
        json.dumps(
            {
                "cwlVersion": "v1.2",
                "class": "Workflow",
                "requirements": {"StepInputExpressionRequirement": {}},
                "inputs": {"word": "string"},
                "outputs": {"out": {"type": "File", "outputSource": f"{second}/out"}},
                "steps": {
                    first: {"run": ECHO, "in": {"word": "word"}, "out": ["out"]},
                    second: {
                        "run": ECHO,
                        "in": {"word": {"source": f"{first}/out", "valueFrom": "again"}},
                        "out": ["out"],
                    },
                },
            }
        )
    )
    caplog.set_level("INFO", logger="cwltool")
    with LocalCluster(n_workers=1, processes=False) as cluster, Client(cluster) as client:
        result = cwl_dask.run(
            workflow, {"word": "hello"}, client=client, outdir=tmp_path / "out", container="none"
        )
    assert result.ok
    started = [r.getMessage() for r in caplog.records if r.getMessage().endswith("] start")]
    assert [m for m in started if m.startswith("[step")] == [
        f"[step {first}] start",
        f"[step {second}] start",
    ]


#: An inline tool: the word, echoed to a file.
ECHO = {
    "class": "CommandLineTool",
    "requirements": {"InlineJavascriptRequirement": {}},
    "baseCommand": "echo",
    "inputs": {"word": {"type": "Any", "inputBinding": {"position": 1}}},
    "stdout": "out.txt",
    "outputs": {"out": {"type": "stdout"}},
}
