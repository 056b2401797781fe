"""cwltool ``JobExecutor`` that turns every tool invocation into a Dask task.

The driver runs cwltool's workflow machinery in one thread: it iterates ``process.job()``,
hands each :class:`~cwl_dask.driver.tool.RemoteJob` to the :class:`Dispatcher` (a Dask task
named after its step and annotated with its cores/RAM) and, whenever the workflow cannot
advance, waits for finished tasks and feeds their outputs back through cwltool's output
callbacks. Callbacks run in the driver thread only, so cwltool's workflow state needs no
extra locking.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Mapping
from typing import Any, NamedTuple

from cwltool.errors import UnsupportedRequirement
from cwltool.executors import JobExecutor
from cwltool.process import Process
from cwltool.utils import CWLObjectType
from cwltool.workflow_job import WorkflowJob
from schema_salad.exceptions import ValidationException

from cwl_dask.clusters import RESOURCE_CORES, RESOURCE_RAM, Backend, stepclusters
from cwl_dask.documents.imports import ImportCache
from cwl_dask.documents.joborder import check_job_order
from cwl_dask.driver.batching import BatchPolicy, split
from cwl_dask.driver.failures import describe_failure, report_finished
from cwl_dask.driver.faults import hold, stop_running_tools, task_error_message
from cwl_dask.driver.outputs import OutputError, OutputPublisher, drop_outputs_under
from cwl_dask.driver.preflight import check_input_files
from cwl_dask.driver.relocation import fix_directory_basenames
from cwl_dask.driver.tool import DaskProcessMixin, DaskRuntimeContext, RemoteJob
from cwl_dask.errors import CwlDaskError, RunStopped, SchedulerLost
from cwl_dask.observe.events import InvocationRecord, RunObserver
from cwl_dask.observe.logs import InvocationLogs
from cwl_dask.observe.stopreport import StopReport, classify, lost_scheduler_message
from cwl_dask.observe.totals import StepTotals
from cwl_dask.worker.invocation import (
    STARTED_TOPIC,
    Outcome,
    ToolPackage,
    run_invocation,
    run_invocations,
)

_logger = logging.getLogger("cwl_dask")

#: Runtime options that describe *this* job on the driver and must not travel.
_DRIVER_ONLY_OPTIONS = frozenset(
    {
        "outdir",
        "tmpdir",
        "stagedir",
        "name",
        "part_of",
        "toplevel",
        "validate_only",
        "process_run_id",
    }
)
#: Loading options a worker needs to rebuild a tool as the driver did.
_LOADING_OPTIONS = ("relax_path_checks", "podman", "singularity", "debug", "strict", "eval_timeout")


def to_plain(value: Any) -> Any:
    """A copy of a job order made of plain dicts and lists.

    cwltool deep-copies the top-level job order several times; a ruamel ``CommentedSeq``
    copies in O(N²), which made a 3000-element scatter twice as slow. Plain types copy in O(N).
    """
    if isinstance(value, Mapping):
        return {k: to_plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_plain(v) for v in value]
    return value


def shippable_options(runtime_context: Any) -> dict[str, Any]:
    """The runtime options a worker's cwltool needs: plain values only.

    Whatever is a live object on the driver (locks, callbacks, the provenance profile) stays
    behind; the secret store travels because tools need the secrets' values.
    """
    options: dict[str, Any] = {}
    for key, value in vars(runtime_context).items():
        if key in _DRIVER_ONLY_OPTIONS:
            continue
        if value is None or isinstance(value, (bool, int, float, str)):
            options[key] = value
        elif isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
            options[key] = list(value)
    options["secret_store"] = runtime_context.secret_store
    options["mpi_config"] = runtime_context.mpi_config
    options["rm_tmpdir"] = True
    options["log_level"] = _logger.getEffectiveLevel()
    return options


class _Invocation(NamedTuple):
    """A RemoteJob with what the dispatcher decided for it: Dask resources, task options."""

    job: RemoteJob
    resources: dict[str, float] | None
    options: dict[str, Any]


class Dispatcher:
    """Submits RemoteJobs as Dask tasks and delivers their outcomes back to cwltool."""

    def __init__(
        self,
        client: Any,
        backend: Backend,
        options: dict[str, Any],
        loading_options: dict[str, Any],
        log_dir: str,
        observer: RunObserver | None = None,
        keep_logs_in: str | None = None,
    ) -> None:
        from distributed import as_completed

        self.client = client
        self.backend = backend
        self.options = options
        self.loading_options = loading_options
        self.log_dir = log_dir
        self.logs = InvocationLogs(log_dir, keep_logs_in)
        self.observer = observer or RunObserver()
        self.submitted = 0
        self.retry_tool = 0  # resubmissions of an invocation that ended in temporaryFail
        self.failed_dirs: set[str] = set()  # output directories of failed invocations
        self.records: list[InvocationRecord] = []
        self.totals = StepTotals()
        self._announced: dict[str, int] = {}
        self._announced_at = 0.0
        #: Submitted tasks by key: the invocations each runs (one, or a batch).
        self._pending: dict[str, list[_Invocation]] = {}
        self._futures: dict[str, Any] = {}
        #: Invocations a worker announced, with the order of their announcements.
        self._started: dict[str, int] = {}
        #: ``--on-error stop``: the first failure cancels the rest (see :meth:`_halt`).
        self.on_error = "stop"
        self.cachedir: str | None = None
        #: Invocations refused after the halt; cwltool hears of them at the next wait.
        self._refused: list[_Invocation] = []
        self.halted = False
        #: Ready invocations waiting to be fused into tasks, per (tool, step, request, cluster).
        self._queued: dict[tuple[Any, ...], list[_Invocation]] = {}
        self._lock = threading.Lock()
        self.batching = BatchPolicy.from_config()
        self.failure: CwlDaskError | None = None
        self._finished = as_completed([], with_results=True, raise_errors=False)
        self._packages: dict[int, Any] = {}
        self._names: dict[str, int] = {}
        self._subscribed = False

    def subscribe(self) -> None:
        """Hear from workers when an invocation starts (Dask structured events)."""
        try:
            self.client.subscribe_topic(STARTED_TOPIC, self._on_started)
            self._subscribed = True
        except Exception as err:  # an old scheduler: no running counts, nothing else lost
            _logger.debug("cannot subscribe to worker events: %r", err)

    def unsubscribe(self) -> None:
        if self._subscribed:
            self._subscribed = False
            try:
                self.client.unsubscribe_topic(STARTED_TOPIC)
            except Exception as err:
                _logger.debug("cannot unsubscribe from worker events: %r", err)

    def _on_started(self, event: Any) -> None:
        """Dask's event thread: an invocation began on a worker (again, after a lost worker)."""
        message = event[1] if isinstance(event, tuple) else event
        key = message.get("key") if isinstance(message, dict) else None
        name = message.get("name") if isinstance(message, dict) else None
        with self._lock:
            batch = self._pending.get(key, []) if key is not None else []
        for invocation in batch:  # a batch's invocations start one after the other
            if invocation.job.name == name:
                with self._lock:
                    self._started[name] = len(self._started)
                self.observer.started(invocation.job.name, invocation.job.step)
                break

    def workflow_job(self, job: WorkflowJob) -> None:
        self.totals.workflow_job(job)

    def announce_totals(self, interval: float = 0.5) -> None:
        """Tell the observer the expected invocations per step, if ``interval`` s have passed.

        Counting walks every open step, so it is rationed; before the driver blocks the
        interval is short, so a bar does not keep a stale total while tasks run.
        """
        now = time.monotonic()
        if now - self._announced_at < interval:
            return
        self._announced_at = now
        totals = self.totals.totals()
        if totals != self._announced:
            self._announced = totals
            self.observer.expected(dict(totals))

    def unique_name(self, step: str) -> str:
        """``step``, ``step_2``, ``step_3``… as cwltool names jobs, counted per run.

        cwltool's own ``uniquename`` registers names process-wide; a worker in this process
        would then rename ``step`` to ``step_2`` in its logs.
        """
        count = self._names[step] = self._names.get(step, 0) + 1
        return step if count == 1 else f"{step}_{count}"

    def _package(self, tool: DaskProcessMixin) -> Any:
        """Send each tool's document once per run; tasks refer to it by future."""
        future = self._packages.get(id(tool))
        if future is None:
            graph = (
                tool.formatgraph if tool.formatgraph is not None and len(tool.formatgraph) else None
            )
            package = ToolPackage(
                token=uuid.uuid4().hex,
                doc=tool.shipped_document(),
                metadata=tool.metadata,
                loading_options=self.loading_options,
                formatgraph=graph,
            )
            # A task rather than scattered data: Dask recomputes it when the worker holding
            # it dies, where a scattered value would be lost with its dependent tasks.
            future = self.client.submit(
                hold, package, key=f"ToolPackage-{package.token}", pure=False
            )
            self._packages[id(tool)] = future
        return future

    def submit(self, job: RemoteJob) -> None:
        """Queue or submit the invocation; a refusal (e.g. no worker fits) waits for :meth:`wait`.

        Tools call this from inside cwltool's job generators, where cwltool would turn any
        exception into a step failure; cwl-dask's own errors must end the run instead.
        """
        try:
            self._submit(job)
        except CwlDaskError as err:
            self.failure = self.failure or err

    def _submit(self, job: RemoteJob) -> None:
        if self.halted:  # what cwltool still hands over after a failure stopped the run
            self._refused.append(_Invocation(job, None, {}))
            return
        resources = self.backend.fit(job.step, job.resource_request())
        options = self.options
        if job.runtime_context.toplevel:
            options = {**options, "toplevel": True}
        cluster = job.tool.step_cluster(job.job_order, job.runtime_context, job.step)
        if cluster is not None:
            target = stepclusters.shipped(
                cluster, self.backend, stepclusters.docker_image(job.tool)
            )
            options = {**options, stepclusters.OPTION: target}
        invocation = _Invocation(job, resources, options)
        slots = self.backend.parallel_slots(resources) if self.batching.enabled else None
        if slots is None or job.runtime_context.toplevel:
            self._submit_task([invocation])
            return
        # Only invocations that a task can run with the same options share it: the same
        # tool and step, resource request and step cluster (DaskGatewayRequirement values).
        request = tuple(sorted((resources or {}).items()))
        group = (id(job.tool), job.key_prefix, request, cluster, slots)
        queue = self._queued.setdefault(group, [])
        queue.append(invocation)
        if len(queue) >= self.batching.flush_at(slots):
            self._flush(group)

    def _flush(self, group: tuple[Any, ...]) -> None:
        queue = self._queued.pop(group)
        for batch in split(queue, self.batching.size(len(queue), group[-1])):
            self._submit_task(batch)

    def flush(self) -> None:
        """Submit every queued invocation (the workflow cannot advance without them)."""
        for group in list(self._queued):
            self._flush(group)

    def _submit_task(self, batch: list[_Invocation]) -> None:
        """One Dask task for one invocation, or for a batch of the same step's invocations."""
        job, resources, options = batch[0]
        invocations = [
            (i.job.job_order, i.job.name, self.logs.path_for(i.job.name, i.job.step)) for i in batch
        ]
        if len(batch) == 1:
            job_order, name, log_path = invocations[0]
            function, args = run_invocation, (job_order, name, options, log_path)
        else:
            function, args = run_invocations, (invocations, options)
        future = self.client.submit(
            function,
            self._package(job.tool),
            *args,
            key=f"{job.key_prefix}-{uuid.uuid4().hex}",
            resources=resources,
            pure=False,
        )
        with self._lock:
            self._pending[future.key] = batch
            self._futures[future.key] = future
        self._finished.add(future)
        for invocation in batch:
            self.submitted += 1
            self.totals.submitted(invocation.job.step, invocation.job.runtime_context.part_of)
            self.observer.submitted(invocation.job.name, invocation.job.step, resources)

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
        self._deliver(self._finished.next_batch(block=True))

    def poll(self) -> None:
        """Deliver finished tasks without blocking."""
        if self._finished.has_ready():
            self._deliver(self._finished.next_batch(block=False))

    def _deliver(self, batch: list[tuple[Any, Any]]) -> None:
        failed = False
        for future, result in batch:
            with self._lock:
                invocations = self._pending.pop(future.key, None)
                self._futures.pop(future.key, None)
            if invocations is None:  # cancelled by a halt after a failure
                continue
            if future.status == "finished":
                outcomes: list[Outcome] = result if isinstance(result, list) else [result]
            else:
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
                outcome.log_path = self.logs.keep(job.name, outcome.log_path)
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
        )
        self.records.append(record)
        self.observer.finished(record, len(self.records), self.submitted)

    def cancel_all(self) -> StopReport:
        """Cancel every task of the run and kill the tools already running on the workers;
        returns what had finished, what was killed and what never started."""
        from distributed import as_completed

        with self._lock:
            futures = list(self._futures.values())
            keys = list(self._pending)
        if futures:
            self.client.cancel(futures)
        killed = stop_running_tools(self.client, keys) if keys else None
        report = self.stop_report(killed)
        with self._lock:
            self._pending.clear()
            self._futures.clear()
        self._queued.clear()
        # The cancelled futures are not delivered (a halted run goes on to its end).
        self._finished = as_completed([], with_results=True, raise_errors=False)
        stepclusters.stop_orphans(self.client, self.backend)
        return report

    def stop_report(self, killed_keys: set[str] | None = None) -> StopReport:
        """The run's invocations now: finished, failed, started (killed), not started."""
        with self._lock:
            tasks = {k: [i.job.name for i in batch] for k, batch in self._pending.items()}
            started = dict(self._started)
        queued = [i.job.name for queue in self._queued.values() for i in queue]
        return classify(self.records, self.submitted, tasks, queued, started, killed_keys)


def _scheduler_lost(error: Any) -> bool:
    """Whether a task's future was cancelled because the client lost its scheduler."""
    return getattr(error, "reason", None) == "scheduler-connection-lost"


def _report_failure(job: RemoteJob, outcome: Outcome) -> None:
    _logger.error(describe_failure(job.step, job.name, job.output_callback, outcome))


class DaskExecutor(JobExecutor):
    """Runs a CWL process with cwltool's semantics and every invocation on Dask.

    All job output directories live under one parent (``tmp_outdir_prefix``), and only that
    parent is registered for ``relocateOutputs``: cwltool checks every output file against
    every registered directory, which is quadratic with one directory per job.
    """

    def __init__(
        self,
        backend: Backend,
        run_dir: str,
        loading_context: Any,
        observer: RunObserver | None = None,
        logs_dir: str | None = None,
        imports: ImportCache | None = None,
        outputs: OutputPublisher | None = None,
        retry_tool: int = 0,
    ) -> None:
        super().__init__()
        self.imports = imports
        self.outputs = outputs
        self.retry_tool = retry_tool
        self.jobs_done = False
        self.backend = backend
        self.observer = observer or RunObserver()
        self.logs_dir = logs_dir or os.path.join(run_dir, "logs")
        self.loading_options = {k: getattr(loading_context, k) for k in _LOADING_OPTIONS}
        self.run_dir = run_dir
        self.started = False
        self.rejected_input: Exception | None = None
        self.error: CwlDaskError | None = None
        self.dispatcher: Dispatcher | None = None

    def execute(
        self,
        process: Process,
        job_order_object: CWLObjectType,
        runtime_context: Any,
        logger: logging.Logger = _logger,
    ) -> tuple[CWLObjectType | None, str]:
        """cwltool's execute, relocating into a staging directory that is then renamed in."""
        if self.outputs is None or self.outputs.staging is None or not runtime_context.outdir:
            output, status = super().execute(process, job_order_object, runtime_context, logger)
            fix_directory_basenames(output)  # directories renamed by OutputPathMapper
            return output, status
        runtime_context = runtime_context.copy()
        runtime_context.outdir = self.outputs.staging
        try:
            output, status = super().execute(process, job_order_object, runtime_context, logger)
            fix_directory_basenames(output)  # directories renamed by OutputPathMapper
            if output is not None:
                output = self.outputs.publish(output)
            return output, status
        except OutputError as err:
            self.error = err
            raise
        except OSError as err:
            if not self.jobs_done:
                raise
            # Collecting the outputs failed (disk full, permissions): the run directory is
            # kept, and whatever was already moved stays in the staging directory.
            self.error = OutputError(
                f"cannot write the outputs to {self.outputs.outdir}: {err}; finished outputs "
                f"are kept in {self.run_dir} and {self.outputs.staging}"
            )
            raise self.error from err

    def run_jobs(
        self,
        process: Process,
        job_order_object: CWLObjectType,
        logger: logging.Logger,
        runtime_context: Any,
    ) -> None:
        self.started = True
        given = job_order_object  # with the job file's line numbers, for messages
        job_order_object = to_plain(job_order_object)
        runtime_context = DaskRuntimeContext.copy(runtime_context)
        # cwltool moves tmp_outdir_prefix next to --cachedir; cwl-dask keeps it in the run
        # directory (removed on success), and cached outputs are copied, never moved.
        runtime_context.tmp_outdir_prefix = os.path.join(self.run_dir, "out", "")
        self.output_dirs = {os.path.dirname(runtime_context.tmp_outdir_prefix)}
        try:
            if self.imports is not None:
                self.imports.check()  # offline, a $schemas URL was missing: only a warning so far
            # Before submitting (a lone tool would check them only on the worker), and in
            # the job file's terms: file, line, input.
            check_job_order(process, given, runtime_context)
            check_input_files(job_order_object)
            self.backend.check_storage(self.run_dir)
            if runtime_context.cachedir:
                cache = os.path.normpath(runtime_context.cachedir)
                self.backend.check_storage(cache, "the cache", "--cachedir")
            client = self.backend.client()
            run_logs = os.path.join(self.run_dir, "logs")
            link = self.backend.dashboard_link()
            if link:
                _logger.info("Dask dashboard: %s", link)
            self.dispatcher = Dispatcher(
                client,
                self.backend,
                shippable_options(runtime_context),
                self.loading_options,
                run_logs,
                self.observer,
                keep_logs_in=self.logs_dir,
            )
            self.dispatcher.retry_tool = self.retry_tool
            self.dispatcher.on_error = runtime_context.on_error or "stop"
            self.dispatcher.cachedir = runtime_context.cachedir or None
            runtime_context.dispatcher = self.dispatcher
            self.observer.connected(client)
            self.dispatcher.subscribe()
            try:
                self._drive(process, job_order_object, logger, runtime_context)
            finally:
                self.dispatcher.unsubscribe()
                self.observer.run_ended()
            self.jobs_done = True
            if self.final_status and self.final_status[0] != "success":
                self._failed(runtime_context)
        except ValidationException as err:
            if self.dispatcher is None or not self.dispatcher.submitted:
                self.rejected_input = err
            raise
        except RunStopped as err:
            if self.dispatcher is not None:
                err.progress = self.dispatcher.cancel_all().describe()
            raise
        except CwlDaskError as err:
            self.error = err
            if self.dispatcher is not None and not isinstance(err, SchedulerLost):
                self.dispatcher.cancel_all()
            raise
        except BaseException:
            if self.dispatcher is not None:
                self.dispatcher.cancel_all()
            raise

    def _failed(self, runtime_context: Any) -> None:
        """Name what finished. With ``--on-error stop`` (the default) a failed run's outputs
        stay in the kept run directory and nothing lands in ``--outdir``; with ``continue``
        the outputs that were produced are written to ``--outdir``, as cwltool does."""
        if self.final_output:
            # After a failure cwltool's workflow may report its outputs early and again
            # once the last running branch ends: the last report is the complete one.
            self.final_output[:] = self.final_output[-1:]
            self.final_status[:] = self.final_status[-1:]
        continuing = runtime_context.on_error == "continue"
        failed = tuple(self.dispatcher.failed_dirs) if self.dispatcher else ()
        partial = self.final_output[0] if self.final_output else None
        if continuing and self.final_output:
            partial = self.final_output[0] = drop_outputs_under(partial, failed)
        else:
            self.final_output = [None]
        report_finished(
            self.dispatcher.records if self.dispatcher else [],
            partial,
            failed,
            self.run_dir,
            self.outputs.outdir if continuing and self.outputs else None,
        )

    def _drive(
        self,
        process: Process,
        job_order: CWLObjectType,
        logger: logging.Logger,
        runtime_context: Any,
    ) -> None:
        dispatcher = self.dispatcher
        assert dispatcher is not None
        for job in process.job(job_order, self.output_callback, runtime_context):
            if job is None:
                if not dispatcher.busy:
                    logger.error("Workflow cannot make any more progress.")
                    break
                dispatcher.announce_totals(interval=0.05)
                dispatcher.wait()
                continue
            if isinstance(job, WorkflowJob):
                dispatcher.workflow_job(job)
            job.run(runtime_context)
            dispatcher.announce_totals()
            dispatcher.poll()
        while dispatcher.busy:
            dispatcher.announce_totals(interval=0.05)
            dispatcher.wait()
        dispatcher.announce_totals(interval=0)
