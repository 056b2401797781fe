"""Loading and validating CWL documents with cwltool, with errors a user can act on."""

from __future__ import annotations

import difflib
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cwltool.context import LoadingContext
from cwltool.errors import WorkflowException
from cwltool.load_tool import load_tool
from cwltool.process import Process
from cwltool.workflow import default_make_tool
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError
from schema_salad.exceptions import ValidationException

from cwl_dask.clusters import stepclusters
from cwl_dask.documents import schemas
from cwl_dask.documents.hostile import check_document
from cwl_dask.documents.imports import ImportCache
from cwl_dask.errors import InvalidInputError

_logger = logging.getLogger("cwl_dask")


class _NoLoaderTracebacks(logging.Filter):
    """schema-salad logs a traceback ("loader is <id>", "failed") before raising each error.

    The error it raises carries the same message and is reported by cwltool or cwl-dask;
    the traceback is noise for a user (cwl-dask shows tracebacks only with ``--debug``).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg in ("loader is %s", "failed"):
            return False
        record.exc_info, record.exc_text = None, None
        return True


@contextmanager
def loader_tracebacks_hidden(debug: bool = False) -> Iterator[None]:
    """Hide schema-salad's tracebacks while loading, unless ``debug``.

    cwl-utils logs a traceback for every failing expression too (``_logger.exception``)
    before cwltool reports the same error as a message; only the message stays.
    """
    loggers = [logging.getLogger("salad"), logging.getLogger("cwl_utils")]
    quiet = _NoLoaderTracebacks()
    if not debug:
        for logger in loggers:
            logger.addFilter(quiet)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeFilter(quiet)


def load_process(
    reference: str, relax_path_checks: bool = False, imports: ImportCache | None = None
) -> Process:
    """Load, validate and resolve a process the way ``cwl-dask run`` (and cwltool) would.

    ``reference`` is a path or URI, optionally ``#id`` to pick one process of a ``$graph``;
    without a fragment a ``$graph`` resolves to ``#main``. Remote documents come from
    ``imports`` (default: the configured import cache); offline, a URL it lacks is an error.
    """
    imports = imports if imports is not None else ImportCache.configured()
    path, _, fragment = reference.partition("#")
    if "://" not in path:
        if not os.path.exists(path):
            raise InvalidInputError(f"no such file: {path}")
        check_document(path)  # binary, or an alias bomb cwltool would expand: refused now
        # A relative path with a fragment does not resolve in cwltool's loader; a URI does.
        reference = Path(path).resolve().as_uri() + (f"#{fragment}" if fragment else "")
    schemas.prepare()  # DaskGatewayRequirement may stand under requirements
    context = LoadingContext({"relax_path_checks": relax_path_checks})
    context.construct_tool_object = _make_checked_tool
    context.fetcher_constructor = imports.fetcher
    try:
        with loader_tracebacks_hidden(_logger.isEnabledFor(logging.DEBUG)):
            process = load_tool(reference, context)
    except (ValidationException, WorkflowException) as err:
        imports.check()  # offline: name the missing URLs rather than the loader's symptom
        raise InvalidInputError(f"{reference} is not valid CWL:\n{err}") from err
    imports.check()  # $schemas failures are only warnings in schema-salad
    return process


def _make_checked_tool(toolpath_object: Any, loading_context: LoadingContext) -> Process:
    """cwltool's tools, with their DaskGatewayRequirement checked as ``cwl-dask run`` does."""
    process = default_make_tool(toolpath_object, loading_context)
    stepclusters.check_static(process)
    return process


def resolve_entry(reference: str, entry: str | None = None) -> str:
    """The process of a document to run: ``reference`` with the right ``#id``.

    ``entry`` (``--entry``) picks one explicitly. Without a fragment, a ``$graph`` runs
    ``#main`` (cwltool's and the OGC Best Practice's rule) or, when there is no ``main``, its
    first Workflow — what ZOO-Project does with the packages it deploys, whose entry Workflow
    is rarely called ``main``. Anything this cannot read is left for cwltool to report.
    """
    path, _, fragment = reference.partition("#")
    if entry and fragment and entry.lstrip("#") != fragment:
        raise InvalidInputError(f"{reference} names #{fragment} but --entry says #{entry}")
    ids = _graph_processes(path)
    wanted = (entry or fragment).lstrip("#")
    if wanted and ids is not None and wanted not in ids:
        close = difflib.get_close_matches(wanted, list(ids), n=1)
        meant = f" (did you mean #{close[0]}?)" if close else ""
        raise InvalidInputError(
            f"no process #{wanted} in {path}{meant}; it has "
            + ", ".join(f"#{i} ({cls})" for i, cls in ids.items())
        )
    if wanted:
        return reference if fragment else f"{path}#{wanted}"
    if not ids or "main" in ids:
        return reference
    workflows = [i for i, cls in ids.items() if cls == "Workflow"]
    if not workflows:
        return reference
    _logger.info(
        "%s has no #main: running #%s, its first Workflow (choose with --entry)", path, workflows[0]
    )
    return f"{path}#{workflows[0]}"


def _graph_processes(path: str) -> dict[str, str] | None:
    """``{id: class}`` of a local ``$graph`` document, in order; None if not one."""
    if "://" in path and not path.startswith("file://"):
        return None
    local = path[len("file://") :] if path.startswith("file://") else path
    try:
        with open(local, encoding="utf-8") as handle:
            document = YAML(typ="safe", pure=True).load(handle)
    except (OSError, YAMLError):
        return None
    if not isinstance(document, dict) or not isinstance(document.get("$graph"), list):
        return None
    processes = {}
    for process in document["$graph"]:
        if isinstance(process, dict) and "id" in process:
            processes[str(process["id"]).rpartition("#")[2]] = str(process.get("class", "?"))
    return processes
