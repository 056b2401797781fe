"""cwltool ``JobExecutor`` that turns every tool invocation into a Dask task.

The driver runs cwltool's workflow machinery in one thread: it iterates ``process.job()``,
hands each :class:`~cwl_dask.driver.tool.RemoteJob` to the
:class:`~cwl_dask.driver.dispatcher.Dispatcher` (a Dask task named after its step and
annotated with its cores/RAM) and, whenever the workflow cannot advance, waits for finished
tasks and feeds their outputs back through cwltool's output callbacks
(:mod:`cwl_dask.driver.delivery`). Callbacks run in the driver thread only, so cwltool's
workflow state needs no extra locking. This module keeps the loop, the checks before the
first submission, the run's errors and the outputs' publication.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from cwltool.executors import JobExecutor
from cwltool.process import Process
from cwltool.utils import CWLObjectType
from cwltool.workflow_job import WorkflowJob
from schema_salad.exceptions import ValidationException

from cwl_dask.clusters import Backend
from cwl_dask.data.cache import CACHE_OPTION, CacheLocation
from cwl_dask.data.fsaccess import StoreFsAccess
from cwl_dask.data.staging import InputUploads, download_outputs
from cwl_dask.data.store import STORE_OPTION, Store
from cwl_dask.data.transfer import TransferError
from cwl_dask.documents.imports import ImportCache
from cwl_dask.documents.joborder import check_job_order, to_plain
from cwl_dask.driver.delivery import Delivery, _Invocation
from cwl_dask.driver.dispatcher import (
    _DRIVER_ONLY_OPTIONS,
    _LOADING_OPTIONS,
    Dispatcher,
    shippable_options,
)
from cwl_dask.driver.failures import report_finished
from cwl_dask.driver.outputs import (
    OutputError,
    OutputPublisher,
    drop_outputs_under,
    finished_files,
    same_filesystem,
)
from cwl_dask.driver.preflight import check_input_files, check_placement
from cwl_dask.driver.relocation import fix_directory_basenames
from cwl_dask.driver.remote import forget_scratch
from cwl_dask.driver.tool import DaskRuntimeContext
from cwl_dask.errors import CwlDaskError, RunStopped, SchedulerLost
from cwl_dask.observe.events import RunObserver

__all__ = [
    "_DRIVER_ONLY_OPTIONS",
    "_LOADING_OPTIONS",
    "DaskExecutor",
    "Delivery",
    "Dispatcher",
    "_Invocation",
    "shippable_options",
]

_logger = logging.getLogger("cwl_dask")


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
        stac_processing: bool = False,
        provenance_crate: str | None = None,
        store: Store | None = None,
        cache: CacheLocation | None = None,
    ) -> None:
        super().__init__()
        #: ``--cachedir``: results the workers reuse and publish themselves (``data.cache``).
        self.cache = cache
        #: ``--workdir s3://…``: intermediate files in object storage, no shared filesystem.
        self.store = store
        self.stac_processing = stac_processing
        self.provenance_crate = provenance_crate
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
        self.provenance: Any = None  # --provenance: a ProvenanceRecorder

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
            self._recorded(output, status)
            self._annotate_stac(process, output, status, runtime_context)
            return output, status
        runtime_context = runtime_context.copy()
        runtime_context.outdir = self.outputs.staging
        runtime_context.path_mapper = self.outputs.recording(runtime_context.path_mapper)
        if runtime_context.move_outputs == "move" and not same_filesystem(
            self.run_dir, self.outputs.outdir
        ):
            runtime_context.move_outputs = "copy"  # the sources stay whole until success
        try:
            output, status = super().execute(process, job_order_object, runtime_context, logger)
            fix_directory_basenames(output)  # directories renamed by OutputPathMapper
            self._recorded(output, status)
            if output is not None:
                output = self.outputs.publish(output)
            self._annotate_stac(process, output, status, runtime_context)
            return output, status
        except OutputError as err:
            self.error = err
            raise
        except OSError as err:
            if not self.jobs_done:
                raise
            # Collecting the outputs failed (disk full, permissions): what was written of
            # them is undone, and the run directory, which holds them whole, is kept.
            self.error = OutputError(self._unpublished(err))
            raise self.error from err

    def _unpublished(self, err: OSError) -> str:
        """Undo a failed relocation; the message says where each finished output is."""
        assert self.outputs is not None
        left = self.outputs.abandon()
        message = f"cannot write the outputs to {self.outputs.outdir}: {err}; "
        if left:
            message += f"these could not be taken back and are in the way: {', '.join(left)}; "
        else:
            message += "what was written of them is removed; "
        finished = list(finished_files(self.final_output[0] if self.final_output else None))
        elsewhere = [p for _, p in finished if not p.startswith(self.run_dir + os.sep)]
        message += "finished outputs are kept " + (
            "where they are (the cache, the inputs)" if elsewhere else f"in {self.run_dir}"
        )
        if finished:
            message += ":\n" + "\n".join(f"  {key}: {path}" for key, path in finished)
        return message

    def _recorded(self, output: Any, status: str) -> None:
        """The run's provenance is complete: keep its invocations for the crate."""
        if self.provenance is not None:
            self.provenance.finish(output, status)

    def _annotate_stac(
        self, process: Process, output: Any, status: str, runtime_context: Any
    ) -> None:
        """``--stac-processing``: the published STAC Items are told which run made them.

        After the provenance is complete: the research object describes the Items as the
        tool wrote them; the processing block is added as they are published.
        """
        if not self.stac_processing or output is None or status != "success":
            return
        from cwl_dask.driver.lineage import processing_of
        from cwl_dask.eo.stac.processing import annotate_outputs

        research_obj = runtime_context.research_obj
        processing = processing_of(process, research_obj, self.provenance_crate)
        items = annotate_outputs(output, processing)
        _logger.info("--stac-processing: %d STAC Items name run %s", len(items), processing.run_id)

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
        # Every invocation writes in the run directory (removed on success); a cached
        # result is restored there, a copy: the cache's files are never moved.
        runtime_context.tmp_outdir_prefix = os.path.join(self.run_dir, "out", "")
        self.output_dirs = {os.path.dirname(runtime_context.tmp_outdir_prefix)}
        try:
            if self.imports is not None:
                self.imports.check()  # offline, a $schemas URL was missing: only a warning so far
            # Before submitting (a lone tool would check them only on the worker), and in
            # the job file's terms: file, line, input.
            check_job_order(process, given, runtime_context, job_order_object)
            check_input_files(job_order_object)
            if self.store is None:
                self.backend.check_storage(self.run_dir)
            else:
                runtime_context.make_fs_access = StoreFsAccess.factory(
                    self.store.protocol, self.store.storage_options
                )
            if self.cache is not None and self.cache.local:
                self.backend.check_storage(self.cache.display, "the cache", "--cachedir")
            client = self.backend.client()
            check_placement(process, self.backend)  # GPU steps: refused before anything runs
            run_logs = os.path.join(self.run_dir, "logs")
            link = self.backend.dashboard_link()
            if link:
                _logger.info("Dask dashboard: %s", link)
            options = shippable_options(runtime_context)
            if self.store is not None:
                options[STORE_OPTION] = self.store.shipped()
            if self.cache is not None:
                options[CACHE_OPTION] = self.cache.shipped()
            self.dispatcher = Dispatcher(
                client,
                self.backend,
                options,
                self.loading_options,
                run_logs,
                self.observer,
                keep_logs_in=self.logs_dir,
            )
            self.dispatcher.retry_tool = self.retry_tool
            self.dispatcher.on_error = runtime_context.on_error or "stop"
            self.dispatcher.cachedir = self.cache.display if self.cache is not None else None
            if self.store is not None:
                self.dispatcher.uploads = InputUploads(self.store)
            runtime_context.dispatcher = self.dispatcher
            if runtime_context.research_obj is not None:
                from cwl_dask.provenance.recorder import ProvenanceRecorder

                self.provenance = ProvenanceRecorder(
                    runtime_context.research_obj, process, runtime_context
                )
                self.dispatcher.provenance = self.provenance
            self.observer.connected(client)
            self.observer.clusters_connected(self.backend.clients())
            self.dispatcher.subscribe()
            try:
                self._drive(process, job_order_object, logger, runtime_context)
            finally:
                self.dispatcher.unsubscribe()
                self.observer.run_ended()
                if self.store is not None:
                    forget_scratch(client, self.store)
            self.jobs_done = True
            if self.outputs is not None:
                self.outputs.open()  # only now: a run killed before leaves no staging
            if self.store is not None:
                self._fetch_outputs()
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

    def _fetch_outputs(self) -> None:
        """Store mode: the final outputs down into the run directory, where cwltool's
        ``relocateOutputs`` finds them as in a shared-filesystem run."""
        assert self.store is not None
        local = os.path.join(self.run_dir, "out")
        try:
            for index, output in enumerate(self.final_output):
                if output is not None:
                    self.final_output[index], _ = download_outputs(output, self.store, local)
        except TransferError as err:
            raise CwlDaskError(
                f"cannot collect the outputs: {err}; intermediate files are kept in "
                f"{self.store.url}"
            ) from None

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
        pacer = dispatcher.pacer  # times each walk of cwltool's generators (driver/pacing.py)
        pacer.walk_starts()
        for job in process.job(job_order, self.output_callback, runtime_context):
            if job is None:
                pacer.walk_ends()
                if not dispatcher.busy:
                    logger.error("Workflow cannot make any more progress.")
                    break
                dispatcher.announce_totals(interval=0.05)
                dispatcher.wait()
                pacer.walk_starts()
                continue
            if isinstance(job, WorkflowJob):
                dispatcher.workflow_job(job)
                if self.provenance is not None:  # as cwltool's executor does for each job
                    self.provenance.workflow_job(job, job_order)
            job.run(runtime_context)
            dispatcher.announce_totals()
            dispatcher.poll()
        while dispatcher.busy:
            dispatcher.announce_totals(interval=0.05)
            dispatcher.wait()
        dispatcher.announce_totals(interval=0)
