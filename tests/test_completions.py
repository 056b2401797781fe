"""Finished tasks reach the driver from every cluster of a pooled run, each on its own loop."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from distributed import Client, LocalCluster

from cwl_dask.driver.completions import Completions


def _slow(value: int, seconds: float) -> int:
    time.sleep(seconds)
    return value


def _fails() -> None:
    raise ValueError("the tool's task failed")


@pytest.fixture
def two_clients() -> Iterator[tuple[Any, Any]]:
    """Two clusters whose clients run separate event loops, as two pools' Gateways do."""
    options: dict[str, Any] = {"processes": False, "n_workers": 1, "dashboard_address": None}
    with (
        LocalCluster(**options) as one,
        LocalCluster(**options) as other,
        Client(one, set_as_default=False) as a,
        Client(other, set_as_default=False) as b,
    ):
        assert a.loop is not b.loop
        yield a, b


def _drain(completions: Completions, count: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    while len(results) < count:
        for future, result in completions.next_batch(block=True):
            results[future.key] = result
    return results


def test_tasks_finished_on_two_event_loops_are_all_delivered(two_clients) -> None:
    a, b = two_clients
    completions = Completions()
    futures = [a.submit(_slow, 1, 0.2, key="a-1"), b.submit(_slow, 2, 0.5, key="b-2")]
    futures += [b.submit(_slow, 3, 0, key="b-3"), a.submit(_slow, 4, 1.0, key="a-4")]
    for future in futures:
        completions.add(future)
    assert _drain(completions, 4) == {"a-1": 1, "b-2": 2, "b-3": 3, "a-4": 4}


def test_a_failed_task_on_the_second_loop_is_delivered_with_its_error(two_clients) -> None:
    a, b = two_clients
    completions = Completions()
    completions.add(a.submit(_slow, 1, 0, key="fine"))
    completions.add(b.submit(_fails, key="broken"))
    results = _drain(completions, 2)
    assert results["fine"] == 1
    assert "the tool's task failed" in str(results["broken"])


def test_nothing_is_ready_before_a_task_finishes(two_clients) -> None:
    a, b = two_clients
    completions = Completions()
    completions.add(a.submit(_slow, 1, 1.0, key="a-slow"))
    completions.add(b.submit(_slow, 2, 1.0, key="b-slow"))
    assert completions.next_batch(block=False) == []
    assert sorted(_drain(completions, 2)) == ["a-slow", "b-slow"]


def test_waiting_with_nothing_submitted_ends_as_as_completed_does() -> None:
    with pytest.raises(StopIteration):
        Completions().next_batch(block=True)
