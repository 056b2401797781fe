"""``cwl-dask wrap``: write a package wrapped in stage-in and stage-out, as EO platforms run it.

The wrapping itself is :mod:`cwl_dask.eo.wrap`'s; this is its command line.
"""

from __future__ import annotations

import sys

import click

from cwl_dask.cli.common import configure_logging, guarded


@click.command(
    "wrap",
    epilog="""Examples:

\b
  cwl-dask wrap cwl-samples/patterns/app-package.cwl -o wrapped.cwl
  cwl-dask wrap --entry water-bodies --stage-in my-stage-in.cwl pkg.cwl -o wrapped.cwl
  cwl-dask run wrapped.cwl#main job.yml
""",
)
@click.argument("package")
@click.option("--entry", default=None, metavar="ID", help="Entry Workflow of a $graph.")
@click.option(
    "--stage-in", default=None, metavar="CWL", help="Stage-in tool (default: cwl-dask's)."
)
@click.option(
    "--stage-out", default=None, metavar="CWL", help="Stage-out tool (default: cwl-dask's)."
)
@click.option(
    "--staging-python",
    default="python3",
    show_default=True,
    help="Interpreter of the default staging tools; it needs pystac (and s3fs for s3://).",
)
@click.option(
    "-o", "--output", default="-", show_default=True, help="Where to write the wrapped document."
)
@click.option("--debug", is_flag=True, help="Tracebacks on errors.")
def wrap_command(
    package: str,
    entry: str | None,
    stage_in: str | None,
    stage_out: str | None,
    staging_python: str,
    output: str,
    debug: bool,
) -> None:
    """Wrap PACKAGE's entry Workflow in a #main that stages its data in and out.

    As EO platforms (ZOO-Project, with eoap-cwlwrap) do: every Directory input becomes a
    STAC reference (an eoap URI record) resolved by a stage-in step, every Directory
    output is published by a stage-out step and becomes the URI of its catalog; other
    inputs and outputs pass through. The result is one packed $graph that runs offline.
    """
    from cwl_dask.eo.wrap import wrap_package, write_wrapped

    configure_logging(quiet=True, debug=debug)

    def action() -> int:
        document = wrap_package(package, entry, stage_in, stage_out, python=staging_python)
        write_wrapped(document, output)
        return 0

    sys.exit(guarded(debug, action))
