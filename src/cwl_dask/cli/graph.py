"""``cwl-dask graph``: draw a workflow's step graph, optionally coloured by a run's usage.

The graph and its DOT text are :mod:`cwl_dask.observe.graph`'s; this is their command line.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from cwl_dask.cli.common import configure_logging, configured_imports, guarded, import_options


@click.command(
    "graph",
    epilog="""Examples:

\b
  cwl-dask graph cwl-samples/eo-ndvi/app-package.cwl              # DOT text on stdout
  cwl-dask graph cwl-samples/eo-ndvi/app-package.cwl -o wf.png
  cwl-dask run --usage-report usage.json pkg.cwl job.yml
  cwl-dask graph pkg.cwl --run usage.json -o run.svg    # coloured by step run time
""",
)
@click.argument("workflow")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write to this file: .dot (text), or .svg/.png/.pdf rendered with Graphviz's dot "
    "(without dot: the DOT text next to it). Default: DOT text on stdout.",
)
@click.option(
    "--run",
    "usage",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    metavar="USAGE_REPORT.json",
    help="Colour the steps by their run time in this usage report (run --usage-report, "
    "or a ZOO run's report.json).",
)
@click.option("--entry", default=None, metavar="ID", help="The process of a $graph to draw.")
@click.option("--relax-path-checks", is_flag=True, help="Accept unusual file names.")
@click.option("--debug", is_flag=True, help="Tracebacks on errors.")
@import_options
def graph_command(
    workflow: str,
    output: Path | None,
    usage: Path | None,
    entry: str | None,
    relax_path_checks: bool,
    debug: bool,
    import_cache: str | None,
    offline: bool,
) -> None:
    """Draw the step graph of WORKFLOW: scatter, sub-workflows and resources visible.

    Tool steps are boxes labelled with their tool and cores/RAM (stacked when scattered,
    dashed when conditional); sub-workflows are dashed frames around their steps.
    """
    import json

    from cwl_dask.documents.loading import load_process, resolve_entry
    from cwl_dask.errors import InvalidInputError
    from cwl_dask.observe.graph import colour_by_duration, step_graph, to_dot, write
    from cwl_dask.observe.usage import step_seconds

    configure_logging(quiet=True, debug=debug)
    logging.getLogger("cwltool").setLevel(logging.DEBUG if debug else logging.WARNING)

    def action() -> int:
        process = load_process(
            resolve_entry(workflow, entry),
            relax_path_checks=relax_path_checks,
            imports=configured_imports(import_cache, offline),
        )
        graph = step_graph(process)
        if usage is not None:
            try:
                report = json.loads(usage.read_text(encoding="utf-8"))
            except (OSError, ValueError) as err:
                raise InvalidInputError(f"{usage}: not a usage report: {err}") from err
            colour_by_duration(graph, step_seconds(report))
        dot = to_dot(graph, title=str(process.tool.get("label") or ""))
        if output is None:
            click.echo(dot, nl=False)
        else:
            click.echo(write(dot, output), err=True)
        return 0

    sys.exit(guarded(debug, action))
