"""The public Python API: an Application Package run as a function call.

``cwl_dask.run()`` runs a CWL document (plain or a ``$graph`` package) and returns a
:class:`RunResult`; ``cwl_dask.submit()`` does the same in the background and returns a
``concurrent.futures.Future``, so a notebook can run several packages at once on one
cluster. ``run_request()`` is the one entry both build on, and the one the ``cwl-dask
run`` command and the ZOO runner call: every way of running goes through cwltool's main
loop with cwl-dask's executor (:mod:`cwl_dask.driver.launch`).

Errors are :mod:`cwl_dask.errors` classes (a failed step is :class:`~cwl_dask.errors.StepFailed`
naming the step), never ``SystemExit``.
"""

from __future__ import annotations

import json
import os
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, fields
from functools import cached_property
from pathlib import Path
from typing import IO, Any

from cwl_dask.driver.launch import RunRequest
from cwl_dask.errors import (
    EXIT_FAILED,
    EXIT_INVALID,
    EXIT_SUCCESS,
    CwlDaskError,
    InvalidInputError,
    StepFailed,
)
from cwl_dask.observe.events import InvocationRecord, failure_message

__all__ = ["RunRequest", "RunResult", "run", "run_request", "submit"]

_STATUS = {EXIT_SUCCESS: "success", EXIT_INVALID: "invalid"}


@dataclass
class RunResult:
    """A finished run: its output object, the invocations it ran, where things are."""

    code: int
    """The exit code ``cwl-dask run`` would give (0 success, 1 failed, 2 invalid, 33 …)."""
    outputs: dict[str, Any] | None
    """The CWL output object (cwltool's), None when the run failed."""
    records: list[InvocationRecord] = field(default_factory=list)
    """One record per tool invocation: step, worker, resources, times, exit code, log."""
    outdir: Path | None = None
    """Where the final outputs are (``outdir`` of the call)."""
    run_dir: str | None = None
    """The intermediate files of a failed run (kept), None once removed."""
    error: str | None = None
    """What went wrong, as the CLI prints it (the failed step and its log)."""
    started: bool = False
    """cwltool got as far as running jobs: the document and the inputs were accepted."""

    @property
    def status(self) -> str:
        """cwltool's final status: ``success``, ``permanentFail``, or ``invalid`` (nothing ran)."""
        return _STATUS.get(self.code, "permanentFail")

    @property
    def ok(self) -> bool:
        """The run succeeded (exit code 0)."""
        return self.code == EXIT_SUCCESS

    @cached_property
    def stac(self) -> dict[str, list[Any]]:
        """The pystac objects (Catalog, Collection or Item) of each output holding STAC."""
        import pystac

        from cwl_dask.eo.stac import find_stac

        found = find_stac(self.outputs or {})
        return {key: [pystac.read_file(str(p)) for p in paths] for key, paths in found.items()}

    @cached_property
    def usage(self) -> dict[str, Any]:
        """calrissian's usage report of the run (``report.json``), with per-step totals;
        what was "allowed" is what the run used at most at once (the cluster is not known)."""
        from cwl_dask.observe.usage import usage_report

        report = usage_report(self.records, 0, 0)
        report["cores_allowed"] = report["max_parallel_cpus"]
        report["ram_mb_allowed"] = report["max_parallel_ram_megabytes"]
        return report

    def raise_for_status(self) -> RunResult:
        """This result, or the error of a run that did not succeed."""
        if self.code == EXIT_SUCCESS:
            return self
        message = self.error or f"the run failed (exit code {self.code})"
        if self.code == EXIT_INVALID:
            raise InvalidInputError(message)
        if self.code == EXIT_FAILED:
            raise StepFailed(message)
        error = CwlDaskError(message)
        error.exit_code = self.code
        raise error


def run(
    workflow: str | os.PathLike[str],
    inputs: dict[str, Any] | str | os.PathLike[str] | None = None,
    *,
    client: Any = None,
    backend: Any = None,
    outdir: str | os.PathLike[str] | None = None,
    workdir: str | os.PathLike[str] | None = None,
    container: str | None = None,
    check: bool = True,
    **options: Any,
) -> RunResult:
    """Run ``workflow`` (a path or URL, ``pkg.cwl#id`` or ``entry=id`` for one process of a
    ``$graph``; without either, ``#main``, else its first Workflow, as ``cwl-dask run``).

    ``inputs``: the job order as a dict (relative paths are relative to the current
    directory) or the path of a YAML/JSON job file. ``client``: a ``distributed.Client``
    to run on, used and left open; else ``backend`` (a :class:`cwl_dask.clusters.Backend`),
    else an embedded local cluster sized to this machine. ``outdir``: where the outputs go
    (default: a new temporary directory, see ``RunResult.outdir``). ``container``:
    ``docker``, ``podman``, ``singularity`` or ``none`` (default: whichever answers).
    ``options``: any other field of :class:`RunRequest` (``on_error``, ``retry_tool``,
    ``cachedir``, ``observer``, ``quiet`` …). With ``check`` (the default) a run that does
    not succeed raises its error (:class:`~cwl_dask.errors.StepFailed` naming the step,
    :class:`~cwl_dask.errors.InvalidInputError` …) instead of returning it.
    """
    known = {f.name for f in fields(RunRequest)} - {"workflow", "backend", "job_args"}
    known.add("entry")
    unknown = sorted(set(options) - known)
    if unknown:
        raise InvalidInputError(
            f"unknown option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    from cwl_dask.documents.hostile import check_document
    from cwl_dask.documents.joborder import check_job_file
    from cwl_dask.documents.loading import resolve_entry

    check_document(os.fspath(workflow))  # binary, alias bombs: refused before cwltool's load
    reference = resolve_entry(os.fspath(workflow), options.pop("entry", None))
    chosen = _backend(client, backend)
    with tempfile.TemporaryDirectory(prefix="cwl-dask-job-") as private:
        job_args = _job(inputs, Path(private))
        if not isinstance(inputs, dict):  # a file given, checked as cwl-dask run does
            check_job_file(job_args)
        request = RunRequest(
            workflow=reference,
            backend=chosen,
            job_args=job_args,
            outdir=os.fspath(outdir) if outdir else tempfile.mkdtemp(prefix="cwl-dask-out-"),
            workdir=os.fspath(workdir) if workdir else None,
            container=container or _detected_engine(),  # type: ignore[arg-type]
            **options,
        )
        result = run_request(request)
    return result.raise_for_status() if check else result


def submit(
    workflow: str | os.PathLike[str],
    inputs: dict[str, Any] | str | os.PathLike[str] | None = None,
    **kwargs: Any,
) -> Future[RunResult]:
    """:func:`run` in a background thread: the Future's result is the RunResult (or its
    error). Runs submitted together share the cluster of the ``client`` they are given."""
    return _pool().submit(run, workflow, inputs, **kwargs)


def run_request(request: RunRequest, stdout: IO[str] | None = None) -> RunResult:
    """Run one :class:`RunRequest`: the output object is printed on ``stdout`` when given
    (``cwl-dask run``: cwltool's JSON, byte for byte), and returned in any case."""
    import io

    from cwl_dask.data.store import is_url
    from cwl_dask.driver.launch import run_captured, run_printing

    capture = _ErrorCapture()
    with capture:
        if stdout is None:
            done = run_captured(request)
        else:
            buffer = io.StringIO()
            try:
                done = run_printing(request, buffer)
            finally:  # what was printed stays printed, also when a check fails after it
                stdout.write(buffer.getvalue())
            text = buffer.getvalue()
            done.output = json.loads(text) if text.strip() else None
    return RunResult(
        code=done.code,
        outputs=done.output if done.code == EXIT_SUCCESS else None,
        records=list(done.records),
        outdir=None if is_url(request.outdir) else Path(request.outdir).resolve(),
        run_dir=done.run_dir,
        error=failure_message(done.records) or capture.first,
        started=done.started,
    )


# ------------------------------------------------------------------------------ helpers


def _backend(client: Any, backend: Any) -> Any:
    if client is not None and backend is not None:
        raise InvalidInputError("give a client or a backend, not both")
    if client is not None:
        from cwl_dask.clusters import ClientBackend

        return ClientBackend(client)
    if backend is not None:
        return backend
    from cwl_dask.clusters import make_backend

    return make_backend()


def _job(inputs: Any, private: Path) -> list[str]:
    """The job-order arguments for cwltool: a job file as given, a dict written to one."""
    if inputs is None:
        return []
    if isinstance(inputs, dict):
        path = private / "job.json"
        try:
            path.write_text(json.dumps(_absolute(inputs)), encoding="utf-8")
        except TypeError as err:
            raise InvalidInputError(f"the inputs are not JSON-serialisable: {err}") from err
        return [str(path)]
    path = Path(inputs)
    if not path.is_file():
        raise InvalidInputError(f"job file {path} does not exist")
    return [str(path)]


def _absolute(value: Any) -> Any:
    """The dict's File/Directory ``location``/``path`` made absolute from the current
    directory: a job file's are relative to the file, and the dict's file is elsewhere."""
    if isinstance(value, list):
        return [_absolute(v) for v in value]
    if not isinstance(value, dict):
        return value
    value = {k: _absolute(v) for k, v in value.items()}
    if value.get("class") in ("File", "Directory"):
        for key in ("location", "path"):
            where = value.get(key)
            if isinstance(where, str) and "://" not in where and not where.startswith("_:"):
                value[key] = os.path.abspath(where)
    return value


def _detected_engine() -> str:
    from cwl_dask.driver.engines import detect_engine

    return detect_engine()


_POOL: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(thread_name_prefix="cwl-dask-run")
    return _POOL


class _ErrorCapture:
    """The first ERROR record logged by this thread (the run's: runs submitted together
    log from their own threads), for a failure that no invocation record names."""

    def __init__(self) -> None:
        import logging
        import threading

        self.first: str | None = None
        capture, thread = self, threading.get_ident()

        class Handler(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                if record.levelno < logging.ERROR or record.thread != thread:
                    return
                message = " ".join(record.getMessage().split())
                if capture.first is None and message:
                    capture.first = message[:2000]

        self.handler = Handler(logging.ERROR)
        self.loggers = [logging.getLogger(n) for n in ("cwl_dask", "cwltool")]

    def __enter__(self) -> _ErrorCapture:
        for logger in self.loggers:
            logger.addHandler(self.handler)
        return self

    def __exit__(self, *exc: object) -> None:
        for logger in self.loggers:
            logger.removeHandler(self.handler)
