"""Driver side of faults on the workers: lost workers, and stopping tools that still run.

Dask re-runs a task whose worker died (up to the scheduler's ``allowed-failures``, set by
``--retries`` for the local cluster), then fails its future with ``KilledWorker``; this
module turns that into a message naming the step. Cancelling a future does not stop a task
that already runs, so :func:`stop_running_tools` asks every worker to kill the tool process
trees of the cancelled tasks (:func:`cwl_dask.worker.tool_processes.kill_tools`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

_logger = logging.getLogger("cwl_dask")


def hold(value: Any) -> Any:
    """A task that returns its argument: data Dask can recompute if its worker dies."""
    return value


def task_error_message(step: str, error: BaseException | Any) -> str:
    """Why a task ended in error, for the failure report of ``step``."""
    from distributed.scheduler import KilledWorker

    if isinstance(error, KilledWorker):
        losses = error.allowed_failures + 1
        last = getattr(error.last_worker, "address", error.last_worker)
        return (
            f"worker died {losses} time{'s' if losses != 1 else ''} running step '{step}' "
            f"(the last one was {last}); the task is re-run after a lost worker "
            f"{error.allowed_failures} time{'s' if error.allowed_failures != 1 else ''} "
            "(--retries N, or the scheduler's distributed.scheduler.allowed-failures)"
        )
    return f"the Dask task failed: {error!r}"


def cancel_tasks(futures: Sequence[Any], keys: Sequence[str], default: Any) -> set[str] | None:
    """Cancel ``futures`` and kill their tools, through the client of each (one per pool's
    cluster; ``default`` when there are none); the keys whose tools were killed, or None."""
    by_client: dict[int, tuple[Any, list[Any]]] = {}
    for future in futures:
        client = getattr(future, "client", None) or default
        by_client.setdefault(id(client), (client, []))[1].append(future)
    if not by_client and keys:
        by_client[id(default)] = (default, [])
    killed: set[str] | None = None
    for client, group in by_client.values():
        if group:
            client.cancel(group)
        if keys:
            mine = [f.key for f in group] or list(keys)
            found = stop_running_tools(client, mine)
            if found is not None:
                killed = (killed or set()) | found
    return killed


def stop_running_tools(client: Any, keys: Sequence[str], settle: float = 2.0) -> set[str] | None:
    """Kill, on every worker, the tools of the tasks ``keys`` (best effort).

    Called after ``Client.cancel``, whose message travels to the scheduler on the client's
    batched stream while ``Client.run`` takes another connection: until the scheduler has
    released the tasks it may still send one to a worker after the kill. So this waits (up
    to ``settle`` s) until the scheduler holds none of them waiting for a worker; the workers
    then mark them cancelled, and a task already sent to a worker starts no tool.
    Returns the keys of the tasks whose tools were running (and were killed), None if the
    workers could not be asked.
    """
    from cwl_dask.worker.tool_processes import kill_tools

    _wait_released(client, keys, settle)
    try:
        replies = client.run(kill_tools, list(keys), on_error="return")
    except Exception as err:  # a dead or unreachable worker must not stop the cleanup
        _logger.debug("could not reach every worker to stop its tools: %s", err)
        return None
    killed: set[str] = set()
    for reply in replies.values():
        if isinstance(reply, list):  # else the worker's error, returned by on_error
            killed.update(reply)
    return killed


def _wait_released(client: Any, keys: Sequence[str], timeout: float) -> None:
    """Until the scheduler will send none of ``keys`` to a worker (best effort)."""
    import time

    def unreleased(dask_scheduler: Any, keys: list[str]) -> int:
        # Defined here, so it travels by value: a scheduler need not have cwl-dask installed.
        tasks = dask_scheduler.tasks
        waiting = ("waiting", "queued", "no-worker")
        return sum(1 for key in keys if key in tasks and tasks[key].state in waiting)

    deadline = time.monotonic() + timeout
    while True:
        try:
            if not client.run_on_scheduler(unreleased, keys=list(keys)):
                return
        except Exception as err:  # a scheduler that refuses pickled functions, or gone
            _logger.debug("cannot ask the scheduler whether it released the tasks: %r", err)
            return
        if time.monotonic() > deadline:
            return
        time.sleep(0.05)
