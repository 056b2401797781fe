"""``cwl-dask validate``: check a document with cwltool, and optionally the EO Best Practice.

Prints a one-screen summary (or JSON); the checks are :mod:`cwl_dask.documents`'.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import click

from cwl_dask.cli.common import configure_logging, configured_imports, guarded, import_options


@click.command(
    epilog="""Examples:

\b
  cwl-dask validate cwl-samples/eo-ndvi/app-package.cwl
  cwl-dask validate --app-package cwl-samples/eo-ndvi/app-package.cwl
  cwl-dask validate --app-package --json pkg.cwl#water-bodies
""",
)
@click.argument("workflow")
@click.option(
    "--app-package",
    is_flag=True,
    help="Also check the OGC EO Application Package Best Practice (OGC 20-089r1) and print "
    "each rule it breaks as a warning, with the rule's text. Never an error.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--relax-path-checks", is_flag=True, help="Accept unusual file names.")
@click.option("--debug", is_flag=True, help="Tracebacks on errors.")
@import_options
def validate(
    workflow: str,
    app_package: bool,
    as_json: bool,
    relax_path_checks: bool,
    debug: bool,
    import_cache: str | None,
    offline: bool,
) -> None:
    """Validate WORKFLOW with cwltool and print a one-screen summary of it.

    A $graph without #id is validated as `cwl-dask run` would run it (#main, else its first
    Workflow). Exit codes: 0 valid (Best Practice warnings included), 2 invalid.
    """
    import json

    from cwl_dask.documents.bestpractice import check, describe_warnings, load_package
    from cwl_dask.documents.summary import describe

    configure_logging(quiet=True, debug=debug)
    logging.getLogger("cwltool").setLevel(logging.DEBUG if debug else logging.WARNING)

    def action() -> int:
        imports = configured_imports(import_cache, offline)
        package = load_package(workflow, relax_path_checks=relax_path_checks, imports=imports)
        warnings = check(package) if app_package else []
        if as_json:
            result: dict[str, Any] = {
                "valid": True,
                "entry": package.entry_id,
                "processes": package.graph,
            }
            if app_package:
                result["app_package"] = {"warnings": [w.to_json() for w in warnings]}
            click.echo(json.dumps(result, indent=2))
            return 0
        click.echo(describe(package.entry))
        if app_package:
            click.echo("")
            click.echo(describe_warnings(warnings))
        return 0

    sys.exit(guarded(debug, action))
