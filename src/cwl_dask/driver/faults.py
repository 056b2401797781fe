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


def stop_running_tools(client: Any, keys: Sequence[str]) -> None:
    """Kill, on every worker, the tools of the tasks ``keys`` (best effort)."""
    from cwl_dask.worker.tool_processes import kill_tools

    try:
        client.run(kill_tools, list(keys), on_error="return")
    except Exception as err:  # a dead or unreachable worker must not stop the cleanup
        _logger.debug("could not reach every worker to stop its tools: %s", err)
