"""``cwl-dask fetch-imports``: fill the import cache so that a package later loads offline.

The fetching is :mod:`cwl_dask.cli.fetching`'s; this is its command line.
"""

from __future__ import annotations

import logging
import sys

import click

from cwl_dask.cli.common import configure_logging, configured_imports, guarded


@click.command(
    "fetch-imports",
    epilog="""Examples:

\b
  cwl-dask fetch-imports pkg.cwl
  cwl-dask fetch-imports --import-cache /shared/cwl-imports pkg.cwl#main
  cwl-dask run --offline --import-cache /shared/cwl-imports pkg.cwl job.yml
""",
)
@click.argument("workflow")
@click.option("--import-cache", default=None, metavar="DIR", help="The cache to fill.")
@click.option("--relax-path-checks", is_flag=True, help="Accept unusual file names.")
@click.option("--debug", is_flag=True, help="Tracebacks on errors.")
def fetch_imports(
    workflow: str, import_cache: str | None, relax_path_checks: bool, debug: bool
) -> None:
    """Load WORKFLOW and put every remote document it needs into the import cache.

    Without #id, every Workflow of a $graph is loaded, so that any entry can run offline.
    Remote $import, $include, $schemas and run: URLs are fetched (or found in the cache)
    and listed on stdout, one per line: "fetched URL", "cached URL" or "failed URL".
    Afterwards `run/validate/plan --offline` load WORKFLOW without network access.
    Exit codes: 0 all there, 1 a URL could not be fetched, 2 invalid document.
    """
    from cwl_dask.cli.fetching import fetch_imports as fetch

    configure_logging(quiet=True, debug=debug)
    logging.getLogger("cwltool").setLevel(logging.DEBUG if debug else logging.WARNING)

    def action() -> int:
        return fetch(workflow, configured_imports(import_cache, False), relax_path_checks)

    sys.exit(guarded(debug, action))
