"""Submits each RemoteJob as a Dask task: the driver's side of a task.

The :class:`Dispatcher` decides how an invocation travels: the runtime options a worker's
cwltool needs (:func:`shippable_options`), the tool's document sent once per run, the task's
key (named after its step, so the dashboard shows steps) and Dask resources (cores/RAM),
a step cluster, and whether ready invocations of one step are fused into one task
(:mod:`cwl_dask.driver.batching`). It also hears from workers when an invocation starts and
counts the expected invocations per step for the observer. What happens once a task ends is
inherited from :class:`~cwl_dask.driver.delivery.Delivery`.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import uuid
from typing import Any

from cwltool.workflow_job import WorkflowJob

from cwl_dask.clusters import Backend, stepclusters
from cwl_dask.data.staging import InputUploads
from cwl_dask.data.transfer import TransferError
from cwl_dask.driver.batching import BatchPolicy, split
from cwl_dask.driver.completions import Completions
from cwl_dask.driver.delivery import Delivery, _Invocation
from cwl_dask.driver.faults import hold
from cwl_dask.driver.pacing import Pacer
from cwl_dask.driver.tool import DaskProcessMixin, RemoteJob
from cwl_dask.errors import CwlDaskError
from cwl_dask.observe.events import InvocationRecord, RunObserver
from cwl_dask.observe.logs import InvocationLogs
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


class Dispatcher(Delivery):
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
        self.in_flight = 0
        #: How often cwltool's workflow is walked, and how much is in flight (``pacing``).
        self.pacer = Pacer.from_config()
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
        #: Wall seconds of the first finished invocation, per (tool, step): sizes batches.
        self._seconds: dict[tuple[int, str], float] = {}
        #: Steps whose first tasks run alone to learn how long an invocation takes.
        self._probing: set[tuple[int, str]] = set()
        self.failure: CwlDaskError | None = None
        self._finished = Completions()
        self._delivered: list[Any] = []
        self._packages: dict[tuple[int, int], Any] = {}
        self._names: dict[str, int] = {}
        self._subscribed = False
        self.provenance: Any = None
        #: Store mode: local inputs go up before their first task (see ``cwl_dask.data``).
        self.uploads: InputUploads | None = None

    def subscribe(self) -> None:
        """Hear from workers when an invocation starts (Dask structured events)."""
        for client in self.backend.clients():  # one per pool's cluster
            try:
                client.subscribe_topic(STARTED_TOPIC, self._on_started)
                self._subscribed = True
            except Exception as err:  # an old scheduler: no running counts, nothing else lost
                _logger.debug("cannot subscribe to worker events: %r", err)

    def unsubscribe(self) -> None:
        if self._subscribed:
            self._subscribed = False
            for client in self.backend.clients():
                try:
                    client.unsubscribe_topic(STARTED_TOPIC)
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

    def has_room(self) -> bool:
        """Whether another invocation may be handed over now (the pacer's window); after a
        halt, always: what is handed over then is refused at once."""
        return self.halted or self.pacer.has_room(self.in_flight)

    def unique_name(self, step: str) -> str:
        """``step``, ``step_2``, ``step_3``… as cwltool names jobs, counted per run.

        cwltool's own ``uniquename`` registers names process-wide; a worker in this process
        would then rename ``step`` to ``step_2`` in its logs.
        """
        count = self._names[step] = self._names.get(step, 0) + 1
        return step if count == 1 else f"{step}_{count}"

    def _package(self, tool: DaskProcessMixin, client: Any) -> Any:
        """The tool's document for a task: by value in its first task, then by future.

        A tool that runs once (a step of a chain: most Application Packages) travels inside
        its one task. A separate task holding the document would cost each dependent step a
        round trip to the worker before the tool's task can start, plus the delay of a second
        message on Dask's batched streams (issue 30: ≈ 5-10 ms per step, measured). From the
        tool's second invocation on (a scatter) the document is sent once per run and pool,
        held by a task that later tasks refer to by future; both carry the same token, so a
        worker builds the tool once either way.
        """
        held = self._packages.get((id(tool), id(client)))
        if held is None:
            graph = (
                tool.formatgraph if tool.formatgraph is not None and len(tool.formatgraph) else None
            )
            package = ToolPackage(
                token=uuid.uuid4().hex,
                doc=self._staged(tool.shipped_document(), document=True),
                metadata=tool.metadata,
                loading_options=self.loading_options,
                formatgraph=graph,
            )
            self._packages[(id(tool), id(client))] = package
            return package
        if isinstance(held, ToolPackage):
            # A task rather than scattered data: Dask recomputes it when the worker holding
            # it dies, where a scattered value would be lost with its dependent tasks.
            held = client.submit(hold, held, key=f"ToolPackage-{held.token}", pure=False)
            self._packages[(id(tool), id(client))] = held
        return held

    def _staged(self, value: Any, document: bool = False) -> Any:
        """Store mode (``--workdir s3://``): the value with its local files uploaded."""
        if self.uploads is None:
            return value
        try:
            return self.uploads.stage_document(value) if document else self.uploads.stage(value)
        except TransferError as err:
            raise CwlDaskError(str(err)) from None

    def _bound(self, job: RemoteJob) -> Any:
        """Store mode: a top-level tool's secondaryFiles are found here, beside its inputs."""
        if self.uploads is None or not job.runtime_context.toplevel:
            return job.job_order
        return job.tool.bound_job_order(job.job_order, job.runtime_context)

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
        self.in_flight += 1
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
        step, slots = group[:2], group[-1]
        seconds = self._seconds.get(step)
        if seconds is None and self.batching.size(len(self._queued[group]), slots, 0) > 1:
            # See batching.py: a queue wide enough to fuse; one task per slot first, alone.
            if step not in self._probing:
                self._probing.add(step)
                queue = self._queued[group]
                probes, self._queued[group] = queue[:slots], queue[slots:]
                for invocation in probes:
                    self._submit_task([invocation])
                if not self._queued[group]:
                    del self._queued[group]
            return
        queue = self._queued.pop(group)
        size = 1 if seconds is None else self.batching.size(len(queue), slots, seconds)
        for batch in split(queue, size):
            self._submit_task(batch)

    def _record(self, job: RemoteJob, resources: dict[str, float] | None, outcome: Outcome) -> None:
        super()._record(job, resources, outcome)
        if outcome.started and outcome.finished:
            seconds = max(0.0, outcome.finished - outcome.started)
        else:  # it never ran (e.g. refused): nothing learnt, so nothing is fused
            seconds = math.inf
        self._seconds.setdefault((id(job.tool), job.key_prefix), seconds)

    def _deliver(self, batch: list[tuple[Any, Any]]) -> None:
        super()._deliver(batch)
        self._release_idle_pools()

    def _release_idle_pools(self) -> None:
        """With several pools, forget the tool documents held in a pool with no task left.

        Dask's adaptive scaling never retires the last worker holding data, so a pool whose
        steps are done would keep one worker (and, on a small batch system, the node that
        the next pool's job waits for). A later invocation there sends the document again.
        """
        clients = self.backend.clients()
        if len(clients) < 2:
            return
        with self._lock:
            busy = {id(getattr(f, "client", None)) for f in self._futures.values()}
        for tool_client in list(self._packages):
            if tool_client[1] not in busy:
                del self._packages[tool_client]

    def flush(self) -> None:
        """Submit every queued invocation (the workflow cannot advance without them), but
        for those waiting for their step's first invocation to finish."""
        for group in list(self._queued):
            self._flush(group)

    def _submit_task(self, batch: list[_Invocation]) -> None:
        """One Dask task for one invocation, or for a batch of the same step's invocations."""
        job, resources, options = batch[0]
        invocations = [
            (
                self._staged(self._bound(i.job)),
                i.job.name,
                self.logs.path_for(i.job.name, i.job.step),
            )
            for i in batch
        ]
        if len(batch) == 1:
            job_order, name, log_path = invocations[0]
            function, args = run_invocation, (job_order, name, options, log_path)
        else:
            function, args = run_invocations, (invocations, options)
        client, submitted = self.backend.route(resources)  # the pool's cluster, if several
        future = client.submit(
            function,
            self._package(job.tool, client),
            *args,
            key=f"{job.key_prefix}-{uuid.uuid4().hex}",
            resources=submitted,
            # First handed over, first started (cwltool's order, e.g. a scatter's): with
            # equal priorities Dask orders queued tasks by their random keys.
            priority=-self.submitted,
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
