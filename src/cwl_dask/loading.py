"""Loading and validating CWL documents with cwltool, with errors a user can act on."""

from __future__ import annotations

import os
from pathlib import Path

from cwltool.context import LoadingContext
from cwltool.errors import WorkflowException
from cwltool.load_tool import load_tool
from cwltool.process import Process
from cwltool.workflow import default_make_tool
from schema_salad.exceptions import ValidationException

from cwl_dask.errors import InvalidInputError


def load_process(reference: str, relax_path_checks: bool = False) -> Process:
    """Load, validate and resolve a process the way ``cwl-dask run`` (and cwltool) would.

    ``reference`` is a path or URI, optionally ``#id`` to pick one process of a ``$graph``;
    without a fragment a ``$graph`` resolves to ``#main``.
    """
    path, _, fragment = reference.partition("#")
    if "://" not in path:
        if not os.path.exists(path):
            raise InvalidInputError(f"no such file: {path}")
        # A relative path with a fragment does not resolve in cwltool's loader; a URI does.
        reference = Path(path).resolve().as_uri() + (f"#{fragment}" if fragment else "")
    context = LoadingContext({"relax_path_checks": relax_path_checks})
    context.construct_tool_object = default_make_tool
    try:
        return load_tool(reference, context)
    except (ValidationException, WorkflowException) as err:
        raise InvalidInputError(f"{reference} is not valid CWL:\n{err}") from err
