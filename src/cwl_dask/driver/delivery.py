"""The outcome side of the :class:`~cwl_dask.driver.dispatcher.Dispatcher`.

Split from the submitting side because what happens once a task ends is its own set of
rules: each outcome goes back to cwltool's output callback in the driver thread, a
``temporaryFail`` may run again (``--retry-tool``), every invocation is recorded for the
observer and the stop report, ``--on-error stop`` cancels the rest after a failure, and a
lost scheduler ends the run with one message. :class:`Delivery` holds these as a base class
of the dispatcher, over the state the two sides share (tasks in flight, the lock).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any, NamedTuple

from cwltool.errors import UnsupportedRequirement

from cwl_dask.clusters import RESOURCE_CORES, RESOURCE_RAM, Backend, stepclusters
from cwl_dask.data.transfer import download_file
from cwl_dask.driver.completions import Completions
from cwl_dask.driver.failures import describe_failure, ram_max_of
from cwl_dask.driver.faults import cancel_tasks, task_error_message
from cwl_dask.driver.pacing import Pacer
from cwl_dask.driver.tool import RemoteJob
from cwl_dask.errors import CwlDaskError, SchedulerLost
from cwl_dask.observe.events import InvocationRecord, RunObserver
from cwl_dask.observe.logs import InvocationLogs
from cwl_dask.observe.stopreport import StopReport, classify, lost_scheduler_message
from cwl_dask.worker.invocation import Outcome

_logger = logging.getLogger("cwl_dask")

#: How often a wait that gathers finished tasks looks for more (see ``pacing``).
_GATHER_STEP = 0.005


class _Invocation(NamedTuple):
    """A RemoteJob with what the dispatcher decided for it: Dask resources, task options."""

    job: RemoteJob
    resources: dict[str, float] | None
    options: dict[str, Any]


class Delivery:
    """Delivers finished tasks' outcomes to cwltool: retries, records, stop and cancel.

    The dispatcher sets every attribute below in its ``__init__`` and provides
    :meth:`submit` (a retry resubmits) and :meth:`flush` (before blocking, queued
    invocations are submitted).
    """

    client: Any
    backend: Backend
    logs: InvocationLogs
    observer: RunObserver
    submitted: int
    retry_tool: int
    failed_dirs: set[str]
    records: list[InvocationRecord]
    on_error: str
    cachedir: str | None
    halted: bool
    failure: CwlDaskError | None
    _pending: dict[str, list[_Invocation]]
    #: Invocations queued or submitted and not delivered yet (the pacer's window).
    in_flight: int
    pacer: Pacer
    _futures: dict[str, Any]
    _started: dict[str, int]
    _refused: list[_Invocation]
    _queued: dict[tuple[Any, ...], list[_Invocation]]
    _lock: threading.Lock
    _finished: Any
    #: The futures of the tasks delivered since the last wait, kept until the driver blocks
    #: again. Releasing a future is a message on the client's batched stream to the
    #: scheduler, which sends at most one batch per 10 ms: released at once, it went just
    #: before the submission of the next step of a chain and held that back (issue 30).
    _delivered: list[Any]
    #: ``--provenance``: records each invocation in the research object (else None).
    provenance: Any

    def submit(self, job: RemoteJob) -> None:
        raise NotImplementedError

    def flush(self) -> None:
        raise NotImplementedError

    @property
    def busy(self) -> bool:
        return bool(self._pending or self._queued or self._refused or self.failure)

    def wait(self) -> None:
        """Block until at least one task finished, and deliver all that did."""
        if self.failure is not None:
            raise self.failure
        if self._refused:
            refused, self._refused = self._refused, []
            self._deliver_unrun(refused)
            return
        self.flush()
        # Only now, after the tasks they enabled were submitted, are the tasks delivered
        # since the last wait released: see _delivered.
        self._delivered = []
        batch = self._finished.next_batch(block=True)
        batch.extend(self._gathered(len(batch)))
        self._delivered.extend(future for future, _ in batch)
        self._deliver(batch)

    def _gathered(self, have: int) -> list[tuple[Any, Any]]:
        """More finished tasks, until the pacer's time is up or none is left in flight
        (see :mod:`cwl_dask.driver.pacing`): a chain's next step is never held back."""
        more: list[tuple[Any, Any]] = []
        until = self.pacer.gather_until()
        while have + len(more) < len(self._pending):
            left = until - time.monotonic()
            if left <= 0:
                break
            time.sleep(min(_GATHER_STEP, left))
            more.extend(self._finished.next_batch(block=False))
        return more

    def poll(self) -> None:
        """Deliver finished tasks without blocking."""
        if self._finished.has_ready():
            batch = self._finished.next_batch(block=False)
            self._delivered.extend(future for future, _ in batch)
            self._deliver(batch)

    def _deliver(self, batch: list[tuple[Any, Any]]) -> None:
        failed = False
        for future, result in batch:
            with self._lock:
                invocations = self._pending.pop(future.key, None)
                self._futures.pop(future.key, None)
            if invocations is None:  # cancelled by a halt after a failure
                continue
            self.in_flight -= len(invocations)
            outcomes = outcomes_of(result)
            if outcomes is None:
                error = result[1] if isinstance(result, tuple) else result
                if _scheduler_lost(error):
                    with self._lock:
                        self._pending[future.key] = invocations
                    raise self._lost()
                outcomes = [
                    Outcome("permanentFail", message=task_error_message(i.job.step, error))
                    for i in invocations
                ]
            for invocation, outcome in zip(invocations, outcomes, strict=True):
                job = invocation.job
                outcome.log_path = self.logs.keep(job.name, self._local_log(outcome))
                if outcome.cache_warning:  # --cachedir: a damaged entry, an unusable cache
                    _logger.warning("step '%s' (%s): %s", job.step, job.name, outcome.cache_warning)
                if outcome.memory_note:
                    _logger.warning("step '%s' (%s): %s", job.step, job.name, outcome.memory_note)
                if outcome.unsupported:
                    raise UnsupportedRequirement(outcome.message)
                retry = outcome.status == "temporaryFail" and self._may_retry(job)
                if retry:  # one line, not a failure block: the run may still succeed
                    self._announce_retry(job, outcome)
                elif outcome.status != "success":
                    _report_failure(job, outcome)
                if outcome.status != "success" and outcome.workdir:
                    self.failed_dirs.add(outcome.workdir.rstrip("/") + "/")
                self._record(job, invocation.resources, outcome)
                if retry:
                    self.submit(job)
                    continue
                failed = failed or outcome.status != "success"
                job.delivered = True
                job.output_callback(outcome.output or {}, outcome.status)
        if failed and self.on_error == "stop" and not self.halted:
            self._halt()

    def _local_log(self, outcome: Outcome) -> str:
        """Store mode: a worker's log comes back as its text (small ones) or as a URL;
        either way it is written into the log directory, and its path returned."""
        path = outcome.log_path
        uploads = getattr(self, "uploads", None)
        if uploads is None or not path:
            return path
        local = os.path.join(self.logs.write_dir, path.rstrip("/").rsplit("/", 1)[-1])
        if outcome.log_text is not None:
            os.makedirs(self.logs.write_dir, exist_ok=True)
            with open(local, "w", encoding="utf-8") as log:
                log.write(outcome.log_text)
            outcome.log_text = None
            return local
        if not uploads.store.handles(path):
            return path
        try:
            download_file(uploads.store.filesystem(), path, local)
        except OSError as err:
            _logger.warning("cannot fetch the log %s: %s", path, err)
            return path
        return local

    def _halt(self) -> None:
        """``--on-error stop``: after a failure, start nothing more and kill what runs.

        cwltool stops handing over jobs after a failure, but the invocations already handed
        over wait in Dask's queues and would run for nothing. They end as ``permanentFail``
        for cwltool's bookkeeping (so the workflow completes as failed), but are neither
        recorded nor reported as failures: they did not fail.
        """
        self.halted = True
        with self._lock:
            unrun = [i for batch in self._pending.values() for i in batch]
        unrun += [i for queue in self._queued.values() for i in queue]
        report = self.cancel_all()
        if report.killed or report.not_started:
            _logger.error("stopping after the failure (--on-error stop): %s", report.describe())
        self._deliver_unrun(unrun)

    def _deliver_unrun(self, invocations: list[_Invocation]) -> None:
        for invocation in invocations:
            invocation.job.delivered = True
            invocation.job.output_callback({}, "permanentFail")

    def _lost(self) -> SchedulerLost:
        """The run's one message when the scheduler went away (no reconnection happened)."""
        return SchedulerLost(
            lost_scheduler_message(self.backend.description, self.stop_report(), self.cachedir)
        )

    def _may_retry(self, job: RemoteJob) -> bool:
        """``--retry-tool N``: a temporaryFail invocation runs again, up to N more times."""
        return getattr(job, "attempts", 1) <= self.retry_tool

    def _announce_retry(self, job: RemoteJob, outcome: Outcome) -> None:
        """Keep the failed attempt's log under its own name and say so in one line."""
        attempt = getattr(job, "attempts", 1)
        job.attempts = attempt + 1  # type: ignore[attr-defined]
        outcome.log_path = self.logs.set_aside(outcome.log_path, attempt)
        code = f"exit code {outcome.exit_code}, " if outcome.exit_code is not None else ""
        _logger.warning(
            "retrying %s after a temporary failure (attempt %d of %d; %slog %s)",
            job.name,
            attempt + 1,
            self.retry_tool + 1,
            code,
            outcome.log_path,
        )

    def _record(self, job: RemoteJob, resources: dict[str, float] | None, outcome: Outcome) -> None:
        record = InvocationRecord(
            name=job.name,
            step=job.step,
            status=outcome.status,
            cores=(resources or {}).get(RESOURCE_CORES, 0.0),
            ram_mib=(resources or {}).get(RESOURCE_RAM, 0.0),
            started=outcome.started,
            finished=outcome.finished,
            exit_code=outcome.exit_code,
            log_path=outcome.log_path,
            bytes_downloaded=outcome.bytes_in,
            bytes_uploaded=outcome.bytes_out,
            cached=outcome.cached,
            saved_seconds=outcome.saved_seconds,
            saved_bytes=outcome.saved_bytes,
        )
        self.records.append(record)
        if self.provenance is not None:  # before the outputs flow on: cwltool marks them
            self.provenance.invocation(job, resources, outcome)
        self.observer.finished(record, len(self.records), self.submitted)

    def cancel_all(self) -> StopReport:
        """Cancel every task of the run and kill the tools already running on the workers;
        returns what had finished, what was killed and what never started."""
        with self._lock:
            futures = list(self._futures.values())
            keys = list(self._pending)
        killed = cancel_tasks(futures, keys, self.client)
        report = self.stop_report(killed)
        with self._lock:
            self._pending.clear()
            self._futures.clear()
        self._queued.clear()
        self.in_flight = 0
        # The cancelled futures are not delivered (a halted run goes on to its end).
        self._finished = Completions()
        stepclusters.stop_orphans(self.client, self.backend)
        return report

    def stop_report(self, killed_keys: set[str] | None = None) -> StopReport:
        """The run's invocations now: finished, failed, started (killed), not started."""
        with self._lock:
            tasks = {k: [i.job.name for i in batch] for k, batch in self._pending.items()}
            started = dict(self._started)
        queued = [i.job.name for queue in self._queued.values() for i in queue]
        return classify(self.records, self.submitted, tasks, queued, started, killed_keys)


def outcomes_of(result: Any) -> list[Outcome] | None:
    """The outcomes a task returned (one, or a batch's), or None when it returned none
    (its error, or the cancellation, is then ``result``).

    Decided from the result, not from the future's status: a client that loses its
    scheduler marks every future cancelled, also those whose results it already had (seen
    in CI: an invocation that finished just before the scheduler died was reported as a
    failed task, not among the finished ones).
    """
    if isinstance(result, Outcome):
        return [result]
    if isinstance(result, list) and result and all(isinstance(o, Outcome) for o in result):
        return result
    return None


def _scheduler_lost(error: Any) -> bool:
    """Whether a task's future was cancelled because the client lost its scheduler."""
    return getattr(error, "reason", None) == "scheduler-connection-lost"


def _report_failure(job: RemoteJob, outcome: Outcome) -> None:
    ram_max = ram_max_of(job) if outcome.exit_code not in (None, 0) else None
    _logger.error(describe_failure(job.step, job.name, job.output_callback, outcome, ram_max))
