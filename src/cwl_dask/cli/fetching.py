"""``cwl-dask fetch-imports``: put every remote document a package loads into the cache.

A URL that cannot be fetched makes the loader fail with its own nested report
(``Validation error in position 0`` … five levels deep) or, for ``$schemas``, only warn;
either way the user needs one ``failed URL`` line and the reason, so that is what is
printed, and the loader's report only with ``--debug``.
"""

from __future__ import annotations

import logging
import re

import click

from cwl_dask.documents.imports import ImportCache
from cwl_dask.documents.loading import _graph_processes, load_process, resolve_entry
from cwl_dask.errors import EXIT_FAILED, InvalidInputError

_logger = logging.getLogger("cwl_dask")


class _NoSchemaWarnings(logging.Filter):
    """schema-salad's "Could not load extension schema" warning: the failed line says it."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Could not load extension schema")


def fetch_imports(workflow: str, imports: ImportCache, relax_path_checks: bool) -> int:
    """Load ``workflow`` (every Workflow of a $graph without ``#id``); list each URL's state."""
    references = [resolve_entry(workflow)]
    if "#" not in workflow:  # a $graph: its other Workflows may run: other documents
        graph = _graph_processes(workflow) or {}
        references += [f"{workflow}#{i}" for i, cls in graph.items() if cls == "Workflow"]
    quiet = _NoSchemaWarnings()
    salad = logging.getLogger("salad")
    salad.addFilter(quiet)
    try:
        for reference in dict.fromkeys(references):
            try:
                load_process(reference, relax_path_checks=relax_path_checks, imports=imports)
            except InvalidInputError:
                if not imports.failed:  # the document itself is wrong, not the network
                    raise
                _logger.debug("loading %s failed", reference, exc_info=True)
    finally:
        salad.removeFilter(quiet)
    for url in imports.used:
        state = (
            "failed" if url in imports.failed else "fetched" if url in imports.fetched else "cached"
        )
        click.echo(f"{state} {url}")
    click.echo(f"import cache: {imports.directory} ({len(imports.used)} URLs)", err=True)
    for url, why in imports.failed.items():
        click.echo(f"cwl-dask: error: cannot fetch {url}: {short_reason(why, url)}", err=True)
    return EXIT_FAILED if imports.failed else 0


def short_reason(why: str, url: str) -> str:
    """The cause at the bottom of requests' message (``[Errno 111] Connection refused``)."""
    errno = re.findall(r"\[Errno -?\d+\] [^\"')]+", why)
    if errno:
        return errno[-1].strip()
    return why.replace(f"Error fetching {url}: ", "").strip()
