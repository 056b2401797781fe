"""One run, end to end: cwltool's main loop with cwl-dask's executor and tool factory.

cwltool stays the CWL semantics library here as well — document loading, job-order
parsing (files and ``--input value`` arguments), input validation, output relocation and
the JSON it prints are cwltool's — with two hooks: ``construct_tool_object`` (tools whose
invocations become Dask tasks) and the ``JobExecutor`` (the Dask driver loop). This module
only prepares the work directory, the contexts and the backend, and maps the outcome to
cwl-dask's exit codes.
"""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from typing import IO, Any

from cwltool.argparser import arg_parser
from cwltool.context import LoadingContext
from cwltool.main import main as cwltool_main
from schema_salad.exceptions import ValidationException

from cwl_dask._version import __version__
from cwl_dask.clusters import Backend
from cwl_dask.data.cache import open_cache
from cwl_dask.documents import schemas
from cwl_dask.documents.imports import ImportCache
from cwl_dask.documents.loading import loader_tracebacks_hidden
from cwl_dask.driver.children import child_exit_codes
from cwl_dask.driver.engines import ContainerEngine
from cwl_dask.driver.executor import DaskExecutor
from cwl_dask.driver.outputs import OutputPublisher
from cwl_dask.driver.relocation import OutputPathMapper
from cwl_dask.driver.remote import RemoteOutdir, close_store, open_store
from cwl_dask.driver.stopping import on_abandon
from cwl_dask.driver.tool import DaskRuntimeContext, make_tool
from cwl_dask.errors import (
    EXIT_FAILED,
    EXIT_INVALID,
    EXIT_SUCCESS,
    EXIT_UNSUPPORTED,
    InvalidInputError,
    RunStopped,
)
from cwl_dask.observe.events import InvocationRecord, RunObserver
from cwl_dask.provenance import targets

_logger = logging.getLogger("cwl_dask")


@dataclass
class RunRequest:
    """What ``cwl-dask run`` was asked to do."""

    workflow: str
    backend: Backend
    job_args: list[str] = field(default_factory=list)
    outdir: str = "."
    workdir: str | None = None
    quiet: bool = False
    debug: bool = False
    container: ContainerEngine = "docker"
    container_detected: bool = False  # no engine was named: ``container`` was detected
    relax_path_checks: bool = False
    logs_dir: str | None = None  # per-invocation logs; default: <outdir>/.cwl-dask/logs
    observer: RunObserver | None = None
    log_handler: logging.Handler | None = None  # where cwltool's log records go too
    stac: bool = False  # check the STAC outputs after success, summary on stderr
    stac_collection: str | None = None  # also write <outdir>/<id>.json wrapping all items
    on_error: str = "stop"  # cwltool's --on-error: stop, or continue independent branches
    retry_tool: int = 0  # resubmissions of an invocation that ends in temporaryFail
    cachedir: str | None = None  # a folder or URL: unchanged invocations are not re-run
    overwrite: bool = True  # replace entries of --outdir that have an output's name
    preserve_environment: list[str] = field(default_factory=list)  # host variables tools see
    imports: ImportCache | None = None  # remote $import/run: documents; default: configured
    provenance: str | None = None  # cwltool's --provenance DIR: the run's research object
    provenance_crate: str | None = None  # the Workflow Run RO-Crate of the run, FILE.zip
    stac_processing: bool = False  # the STAC Items get a processing block naming the run


def version() -> str:
    from importlib.metadata import version as package_version

    return (
        f"cwl-dask {__version__} (cwltool {package_version('cwltool')}, "
        f"dask {package_version('distributed')})"
    )


def default_logs_dir(outdir: str) -> str:
    """Where the invocations' logs are kept unless told: ``<outdir>/.cwl-dask/logs``."""
    return os.path.join(outdir, ".cwl-dask", "logs")


def _make_run_dir(workdir: str | None) -> str:
    """A fresh directory for this run's intermediate files, unique even for concurrent runs."""
    parent = os.path.abspath(workdir) if workdir else tempfile.gettempdir()
    try:
        os.makedirs(parent, exist_ok=True)
        return tempfile.mkdtemp(prefix="cwl-dask-", dir=parent)
    except OSError as err:
        raise InvalidInputError(f"cannot create the work directory under {parent}: {err}") from err


def _research_object_dir(request: RunRequest, run_dir: str) -> str | None:
    """``--provenance DIR``; with only ``--provenance-crate``, one in the run directory."""
    if request.provenance:
        return os.path.abspath(request.provenance)
    return os.path.join(run_dir, "research-object") if request.provenance_crate else None


def cwltool_arguments(request: RunRequest, run_dir: str) -> list[str]:
    """The cwltool command line equivalent to the request, with our directory layout."""
    argv = [
        "--outdir",
        os.path.abspath(request.outdir),
        "--tmpdir-prefix",
        os.path.join(run_dir, "tmp", ""),
        # Intermediate outputs are removed with the run directory, on success only.
        "--leave-tmpdir",
    ]
    # --cachedir is cwl-dask's own (``data.cache``, used by the workers), not cwltool's.
    argv.extend(["--tmp-outdir-prefix", os.path.join(run_dir, "out", "")])
    if request.on_error != "stop":
        argv.extend(["--on-error", request.on_error])
    if request.quiet:
        argv.append("--quiet")
    if request.debug:
        argv.append("--debug")
    if request.relax_path_checks:
        argv.append("--relax-path-checks")
    research_object = _research_object_dir(request, run_dir)
    if research_object:
        argv.extend(["--provenance", research_object])
    for name in request.preserve_environment:
        argv.extend(["--preserve-environment", name])
    argv.extend(
        {"none": ["--no-container"], "podman": ["--podman"], "singularity": ["--singularity"]}.get(
            request.container, []
        )
    )
    return [*argv, request.workflow, *request.job_args]


@dataclass
class RunResult:
    """A finished run, for callers that use cwl-dask as a library (the ZOO runner)."""

    code: int
    output: dict[str, Any] | None
    records: list[InvocationRecord]
    run_dir: str | None  # kept on failure, None once removed
    started: bool = False  # cwltool got as far as running jobs (the inputs were accepted)


def run_printing(request: RunRequest, stdout: IO[str]) -> RunResult:
    """Run the workflow and print its output object on ``stdout`` as cwltool does."""
    with child_exit_codes():  # a caller ignoring SIGCHLD would read every exit code as 0
        return _run_printing(request, stdout)


def _run_printing(request: RunRequest, stdout: IO[str]) -> RunResult:
    remote = RemoteOutdir.of(request)  # --outdir s3://…: a local outdir, then uploaded
    if remote is not None:
        request = remote.local_request
    if not (request.stac or request.stac_collection or remote):
        return _run(request, stdout)
    buffer = io.StringIO()  # the output object is needed, and may change, before printing
    success = False
    try:
        result = _run(request, buffer)
        text = buffer.getvalue()
        if result.code == EXIT_SUCCESS and text.strip():
            _check_stac(request, text, stdout, remote)
            success = True
        else:
            stdout.write(text)
    finally:
        if remote is not None:
            remote.finish(success)
    return result


def _check_stac(
    request: RunRequest, text: str, stdout: IO[str], remote: RemoteOutdir | None = None
) -> None:
    """``--stac``: make catalogs self-contained, print the output object, check the STAC.

    Catalog files that had to be rewritten change size and checksum, so the output object
    printed is updated; the summary goes to stderr (stdout keeps the output object alone).
    A broken catalog raises StacError (exit 1) once the output object is printed. With an
    ``--outdir`` in the store the (self-contained) outputs are uploaded before printing.
    """
    from cwl_dask.eo import stac

    output = json.loads(text)
    checking = request.stac or request.stac_collection
    changed = bool(checking) and stac.make_outputs_self_contained(output)
    local_output = output
    if remote is not None:
        output, changed = remote.publish(output), True
    if changed:
        trailing = text[len(text.rstrip()) :]
        text = json.dumps(output, indent=4, ensure_ascii=False) + trailing
    stdout.write(text)
    stdout.flush()
    if checking:
        report = stac.check_outputs(local_output, request.outdir, request.stac_collection)
        print(json.dumps(report.to_json()), file=sys.stderr, flush=True)


def run_captured(request: RunRequest) -> RunResult:
    """Run the workflow and return its output object instead of printing it."""
    buffer = io.StringIO()
    # The library's callers check STAC themselves; an --outdir in the store still uploads.
    result = run_printing(dataclasses.replace(request, stac=False, stac_collection=None), buffer)
    text = buffer.getvalue().strip()
    result.output = json.loads(text) if text else None
    return result


def _run(request: RunRequest, stdout: IO[str]) -> RunResult:
    if request.provenance:
        targets.check_research_object_dir(request.provenance)
    if request.provenance_crate:
        targets.check_crate_target(request.provenance_crate)
    outputs = OutputPublisher(request.outdir, request.overwrite)
    outputs.prepare()  # an unwritable --outdir is bad input, found before anything starts
    try:
        store = open_store(request.workdir, request.cachedir)  # a URL: checked now, exit 2
        cache = open_cache(request.cachedir) if request.cachedir else None  # the same
        request.backend.start()  # the cluster boots while cwltool loads the document
        forget_backend = on_abandon(request.backend.abandon)  # should a stop's cleanup hang
    except BaseException:
        outputs.discard()
        raise
    run_dir = _make_run_dir(None if store else request.workdir)
    for sub in ("out", "tmp", "logs"):
        os.makedirs(os.path.join(run_dir, sub))
    logs_dir = os.path.abspath(request.logs_dir or default_logs_dir(request.outdir))
    result = RunResult(EXIT_FAILED, None, [], run_dir)
    executor: DaskExecutor | None = None
    try:
        try:
            args = arg_parser().parse_args(cwltool_arguments(request, run_dir))
        except SystemExit as err:
            result.code = EXIT_INVALID if err.code else EXIT_SUCCESS
            return result
        runtime_context = DaskRuntimeContext(vars(args))
        runtime_context.path_mapper = OutputPathMapper
        runtime_context.container_detected = request.container_detected
        loading_context = LoadingContext(vars(args))
        loading_context.construct_tool_object = make_tool
        imports = request.imports or ImportCache.configured()
        loading_context.fetcher_constructor = imports.fetcher
        executor = DaskExecutor(
            request.backend,
            run_dir,
            loading_context,
            request.observer,
            logs_dir,
            imports,
            outputs=outputs,
            retry_tool=request.retry_tool,
            stac_processing=request.stac_processing,
            provenance_crate=request.provenance_crate,
            store=store,
            cache=cache,
        )
        try:
            with loader_tracebacks_hidden(request.debug):
                code = cwltool_main(
                    args=args,
                    executor=executor,
                    loadingContext=loading_context,
                    runtimeContext=runtime_context,
                    stdout=stdout,
                    versionfunc=version,
                    logger_handler=request.log_handler,
                    custom_schema_callback=schemas.prepare,
                )
        except SystemExit as err:  # cwltool exits on some job orders (e.g. an empty one)
            code = err.code if isinstance(err.code, int) else EXIT_FAILED
        except ValidationException as err:  # raised by cwltool outside its own handlers
            raise InvalidInputError(str(err)) from err
        result.code = _exit_code(code, executor)
        result.started = executor.started
        if request.provenance_crate and executor.provenance is not None:
            _write_crate(request, run_dir)
        if imports.missing:  # offline and a document was not in the cache: nothing ran
            if executor.error is None:  # else cwltool has shown this message already
                _logger.error(imports.missing_message())
            result.code = EXIT_INVALID
        if executor.dispatcher is not None:
            result.records = executor.dispatcher.records
        return result
    except RunStopped as err:
        err.progress = err.progress or "no tool invocation had been submitted"
        raise
    finally:
        request.backend.close()
        forget_backend()
        outputs.discard()
        nothing_ran = executor is None or executor.dispatcher is None
        nothing_ran = nothing_ran or not executor.dispatcher.submitted  # type: ignore[union-attr]
        if store is not None:
            close_store(store, result.code == EXIT_SUCCESS or nothing_ran)
        if result.code == EXIT_SUCCESS or nothing_ran:
            shutil.rmtree(run_dir, ignore_errors=True)
            result.run_dir = None
        else:
            logs = f"; the invocations' logs are in {logs_dir}" if os.path.isdir(logs_dir) else ""
            _logger.error("intermediate files are kept in %s%s", run_dir, logs)


def _write_crate(request: RunRequest, run_dir: str) -> None:
    """``--provenance-crate``: the crate of the research object cwltool has just saved."""
    from cwl_dask.provenance import crate

    research_object = _research_object_dir(request, run_dir)
    assert research_object is not None and request.provenance_crate is not None
    try:
        actions = crate.build(research_object, request.provenance_crate)
    except OSError as err:  # an output that cannot be written: exit 2, as for --outdir
        raise InvalidInputError(f"--provenance-crate {request.provenance_crate}: {err}") from err
    _logger.info(
        "Workflow Run RO-Crate (%d tool runs) saved to %s", actions, request.provenance_crate
    )


def _exit_code(code: int, executor: DaskExecutor) -> int:
    if code in (EXIT_SUCCESS, EXIT_UNSUPPORTED):
        return code
    if executor.error is not None:
        return executor.error.exit_code
    if not executor.started or executor.rejected_input is not None:
        return EXIT_INVALID  # the document, the job order or the inputs were refused
    return EXIT_FAILED
