"""Worker side: rebuild a tool from its shipped document and run one invocation with cwltool.

A Dask task carries only picklable data: a :class:`ToolPackage` (scattered once per tool),
the invocation's concrete job order and a few runtime options. The worker does all of the
tool's work with cwltool itself — staging, command line, containers, execution, output
collection — so containers, InitialWorkDir, secondaryFiles and JavaScript behave exactly
as in cwltool, and the driver only wires the workflow.

This module must stay importable without side effects: Dask pickles :func:`run_invocation`
by reference, so every worker imports it (and its per-process tool cache) once.
"""

from __future__ import annotations

import logging
import os
import shlex
import threading
import time
import traceback
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from cwltool.command_line_tool import CommandLineTool
from cwltool.context import LoadingContext, RuntimeContext
from cwltool.errors import UnsupportedRequirement, WorkflowException
from cwltool.job import ContainerCommandLineJob, JobBase
from cwltool.loghandler import _logger as cwltool_logger
from cwltool.loghandler import defaultStreamHandler
from cwltool.process import Process
from schema_salad.exceptions import ValidationException

from cwl_dask.clusters import stepclusters
from cwl_dask.data.transfer import TransferError
from cwl_dask.documents import schemas
from cwl_dask.worker.memory_limit import memory_note
from cwl_dask.worker.remote_data import RemoteInvocation
from cwl_dask.worker.result_cache import cache_from_options, run_with_cache
from cwl_dask.worker.secret_files import remove_secret_files
from cwl_dask.worker.tool_classes import WorkerCommandLineTool, WorkerExpressionTool
from cwl_dask.worker.tool_processes import (
    attempt_directories,
    cancelled,
    forget_cancelled,
    set_current_task,
)

LOG_TAIL_LINES = 25
#: Dask event topic on which workers announce that an invocation starts (progress, retries).
STARTED_TOPIC = "cwl-dask-started"
_logger = logging.getLogger("cwl_dask")


@dataclass(frozen=True)
class ToolPackage:
    """Everything a worker needs to rebuild one tool exactly as the driver loaded it.

    ``doc`` is the processed tool document whose ``requirements``/``hints`` are the tool's
    *effective* lists (inherited from the workflow and step included), so nothing depends on
    the workflow document being loaded again on the worker.
    """

    token: str
    doc: Any
    metadata: Any
    loading_options: dict[str, Any]
    formatgraph: Any = None


@dataclass
class Outcome:
    """What a task returns to the driver: the output object or why there is none."""

    status: str
    output: dict[str, Any] | None = None
    message: str = ""
    log_path: str = ""
    log_tail: list[str] = field(default_factory=list)
    unsupported: bool = False
    started: float | None = None
    finished: float | None = None
    exit_code: int | None = None
    command: str = ""  # the tool's command line (secrets still as cwltool's placeholders)
    workdir: str = ""  # the invocation's output directory on the shared work directory
    worker: str = ""  # the Dask worker's address (provenance: which worker ran what)
    image: str = ""  # the container image the tool ran in (its DockerRequirement), if any
    bytes_in: int = 0  # store mode: bytes fetched from the store for this invocation
    bytes_out: int = 0  # store mode: bytes of results uploaded to it
    log_text: str | None = None  # store mode: a small log itself (log_path is then its name)
    peak_mib: float | None = None  # the tool's peak resident memory, children included
    memory_note: str = ""  # the tool used more memory than its worker has (a warning)
    cached: bool = False  # --cachedir: reused from the cache, the tool did not run
    saved_seconds: float = 0.0  # a reused result: how long its tool had run
    saved_bytes: int = 0  # a reused result: the bytes of its files
    cache_warning: str = ""  # a damaged entry recomputed, a cache that cannot be used


#: Tools built by this worker process, most recently used last. Bounded: a long-lived
#: remote worker serves many runs, and each run ships its own tool packages.
_tools: OrderedDict[str, Process] = OrderedDict()
_tools_lock = threading.Lock()
TOOL_CACHE_SIZE = 256


def _tool_for(package: ToolPackage, options: dict[str, Any] | None = None) -> Process:
    """Build the tool once per worker process; every later invocation reuses it.

    In store mode (``options`` name a store) the document's files are fetched first."""
    with _tools_lock:
        tool = _tools.get(package.token)
        if tool is not None:
            _tools.move_to_end(package.token)
        else:
            schemas.prepare()  # the tool may carry a DaskGatewayRequirement
            loading = LoadingContext(package.loading_options)
            loading.metadata = package.metadata
            loading.requirements = []
            loading.hints = []
            cls = (
                WorkerCommandLineTool
                if package.doc["class"] == "CommandLineTool"
                else WorkerExpressionTool
            )
            remote = RemoteInvocation.from_options(options or {}, "")
            doc = remote.localize_document(package.doc) if remote else package.doc
            tool = cls(doc, loading)
            if package.formatgraph is not None:
                tool.formatgraph = package.formatgraph
            _tools[package.token] = tool
            if len(_tools) > TOOL_CACHE_SIZE:
                _tools.popitem(last=False)
        return tool


#: cwltool's message for a tool's non-zero exit: where the exit code can be read from.
_EXIT_MESSAGE = "[job %s] exited with status: %d"


class _ThreadLogHandler(logging.Handler):
    """Copies cwltool's log records of one invocation (one worker thread) into its log file.

    It also notes the exit code cwltool reports for a failing command, which the job object
    does not keep.
    """

    def __init__(self, stream: Any) -> None:
        super().__init__(logging.DEBUG)
        self.stream = stream
        self.thread = threading.get_ident()
        self.exit_code: int | None = None
        self.setFormatter(logging.Formatter("%(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            if record.msg == _EXIT_MESSAGE and isinstance(record.args, tuple):
                self.exit_code = int(record.args[1])
            self.stream.write(self.format(record) + "\n")
            self.stream.flush()


def _tail(path: str, lines: int = LOG_TAIL_LINES) -> list[str]:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return [line.rstrip("\n") for line in deque(handle, maxlen=lines)]
    except OSError:
        return []


def run_invocation(
    package: ToolPackage,
    job_order: dict[str, Any],
    name: str,
    options: dict[str, Any],
    log_path: str,
) -> Outcome:
    """Run one tool invocation as cwltool would, returning its outputs and status.

    Tool stdout/stderr (when the tool does not redirect them) and cwltool's messages about
    this job go to ``log_path``, so the driver can show the tail when the step fails, also
    when the worker runs on another machine.
    """
    key = _task_key()
    try:
        return _invoke(_tool_for(package, options), job_order, name, options, log_path, key, key)
    finally:
        forget_cancelled(key)


def run_invocations(
    package: ToolPackage,
    invocations: list[tuple[dict[str, Any], str, str]],
    options: dict[str, Any],
) -> list[Outcome]:
    """Several invocations of one tool, one after the other, in one Dask task.

    A batch of short scatter jobs (see :mod:`cwl_dask.driver.batching`); each invocation keeps its
    own name, log, start event and outcome, as if it had been a task of its own — and its
    own attempt directories, ``<task-key>.<name>.<n>``: the invocations share the task key,
    and attempts of one key empty each other's directories. A batch whose worker is lost is
    re-run whole, so each of its invocations, finished or not, starts a new attempt that
    discards what the lost one wrote; nothing of the lost attempt is collected.
    """
    tool = _tool_for(package, options)
    key = _task_key()
    outcomes: list[Outcome] = []
    try:
        for job_order, name, log_path in invocations:
            outcomes.append(_invoke(tool, job_order, name, options, log_path, key, f"{key}.{name}"))
    finally:
        forget_cancelled(key)
    return outcomes


def _invoke(
    tool: Process,
    job_order: dict[str, Any],
    name: str,
    options: dict[str, Any],
    log_path: str,
    task_key: str,
    attempt_key: str,
) -> Outcome:
    """One invocation in the task ``task_key`` (which cancelling kills), in directories
    unique to ``attempt_key`` and to this attempt.

    A task the driver cancelled (:func:`~cwl_dask.worker.tool_processes.kill_tools`) starts nothing:
    Dask may still start a queued task whose cancellation has not reached this worker yet.
    """
    if cancelled(task_key):
        return Outcome("permanentFail", message="cancelled", log_path=log_path)
    remote = RemoteInvocation.from_options(options, log_path)  # None: a shared filesystem
    if remote is not None:
        options, log_path = remote.local_options(options), remote.log_path
    step_cluster = options.get(stepclusters.OPTION)
    directories = attempt_directories(options, attempt_key)
    runtime = RuntimeContext({**options, **directories})
    runtime.name = name
    runtime.workflow_eval_lock = threading.Condition(threading.RLock())
    defaultStreamHandler.setLevel(options.get("log_level", logging.INFO))
    started = time.time()
    _announce_start(task_key, name)
    set_current_task(task_key)
    try:
        cache = cache_from_options(options)

        def run(job: dict[str, Any]) -> Outcome:  # --cachedir: a cached result if there is one
            attempt = partial(_run, tool, job, runtime, log_path, step_cluster)
            return run_with_cache(cache, tool, job, runtime, log_path, attempt, Outcome)

        if remote is None:
            outcome = run(job_order)
        else:
            outcome = _run_remote(remote, run, tool, job_order, runtime, log_path)
    finally:
        set_current_task(None)
    outcome.started, outcome.finished = started, time.time()
    outcome.log_path = log_path
    outcome.worker = _worker_address()
    if outcome.status != "success":
        outcome.log_tail = _tail(log_path)
    if remote is not None:
        remote.discard(directories.get("tmp_outdir_prefix", ""))
        outcome.bytes_in, outcome.bytes_out = remote.bytes_in, remote.bytes_out
        outcome.log_path, outcome.log_text = remote.return_log()
    return outcome


def _run_remote(
    remote: RemoteInvocation,
    run: Callable[[dict[str, Any]], Outcome],
    tool: Process,
    job_order: dict[str, Any],
    runtime: RuntimeContext,
    log_path: str,
) -> Outcome:
    """Store mode: fetch the inputs, run as usual, upload what the tool wrote.

    A transfer that fails (after the store client's own retries) fails the invocation,
    naming the file; nothing of a failed attempt is uploaded as a result.
    """
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    try:
        local_job = remote.localize(tool, job_order)
    except (TransferError, WorkflowException) as err:
        with open(log_path, "a", encoding="utf-8") as log:
            log.write(f"ERROR {err}\n")
        return Outcome("permanentFail", message=str(err))
    outcome = run(local_job)
    if outcome.status != "success":
        outcome.output = None  # its files stay in the worker's scratch, never results
    else:
        try:
            attempt_dir = runtime.tmp_outdir_prefix
            outcome.output = remote.upload_outputs(outcome.output, attempt_dir, "attempt")
        except TransferError as err:
            with open(log_path, "a", encoding="utf-8") as log:
                log.write(f"ERROR {err}\n")
            return Outcome("permanentFail", message=str(err))
    return outcome


def _task_key() -> str:
    """This task's Dask key (the same for every attempt), or a fresh name outside Dask."""
    try:
        from distributed import get_worker

        key = get_worker().get_current_task()
    except (ImportError, ValueError, KeyError):
        key = None
    return str(key) if key is not None else f"invocation-{uuid.uuid4().hex}"


def _worker_address() -> str:
    """This Dask worker's address, or "" outside a worker (tests call ``_invoke`` directly)."""
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return ""


def _announce_start(key: str, name: str) -> None:
    """Tell the driver invocation ``name`` of task ``key`` began (Dask structured events)."""
    try:
        from distributed import get_worker

        get_worker().log_event(STARTED_TOPIC, {"key": key, "name": name})
    except Exception:  # not in a Dask worker (tests call this directly): nobody to tell
        pass


def _run(
    tool: Process,
    job_order: dict[str, Any],
    runtime: RuntimeContext,
    log_path: str,
    step_cluster: dict[str, Any] | None = None,
) -> Outcome:
    results: list[tuple[Any, str]] = []
    ran: list[Any] = []
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    with open(log_path, "a", encoding="utf-8") as log:
        # cwltool closes the streams it was given once the tool ends: give it its own.
        runtime.default_stdout = open(log_path, "ab")  # noqa: SIM115
        runtime.default_stderr = open(log_path, "ab")  # noqa: SIM115
        handler = _ThreadLogHandler(log)
        cwltool_logger.addHandler(handler)
        try:
            for job in tool.job(
                job_order, lambda out, status: results.append((out, status)), runtime
            ):
                if job is not None:
                    ran.append(job)
                if job is not None and step_cluster is not None:
                    # A DaskGatewayRequirement: the cluster lives exactly as long as the tool
                    # runs, and the tool finds it in its environment (cwltool's JobBase).
                    def report(line: str) -> None:
                        log.write(f"INFO {line}\n")
                        log.flush()
                        _logger.info(line)

                    with stepclusters.provided_cluster(step_cluster, runtime.name, report) as env:
                        job.environment.update(env)
                        job.run(runtime)
                elif job is not None:
                    job.run(runtime)
        except UnsupportedRequirement as err:
            return Outcome("permanentFail", message=str(err), unsupported=True)
        except (WorkflowException, ValidationException) as err:
            log.write(f"ERROR {err}\n")
            return Outcome("permanentFail", message=str(err))
        except Exception as err:
            log.write(traceback.format_exc())
            return Outcome("permanentFail", message=f"{type(err).__name__}: {err}")
        finally:
            cwltool_logger.removeHandler(handler)
            for job in ran:
                remove_secret_files(job, runtime.secret_store)
    if not results:
        return Outcome("permanentFail", message="the tool produced no result")
    output, status = results[-1]
    exit_code = handler.exit_code
    if exit_code is None and status == "success" and isinstance(tool, CommandLineTool):
        exit_code = 0
    outcome = Outcome(status, output=output, exit_code=exit_code)
    if ran and isinstance(ran[-1], JobBase):
        outcome.command = " ".join(shlex.quote(str(arg)) for arg in ran[-1].command_line)
        outcome.workdir = ran[-1].outdir
        outcome.peak_mib = getattr(ran[-1], "peak_mib", None)
        outcome.memory_note = memory_note(ran[-1].builder, outcome.peak_mib)
    if ran and isinstance(ran[-1], ContainerCommandLineJob):
        docker, _ = ran[-1].get_requirement("DockerRequirement")
        outcome.image = str((docker or {}).get("dockerImageId") or (docker or {}).get("dockerPull"))
    return outcome
