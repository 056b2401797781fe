"""The ``cwl-dask`` command line: the click group, ``--version``, and its commands.

Only argument handling lives in ``cwl_dask.cli``: each command, in its own module, builds a
request and calls the module that does the work. Errors cwl-dask raises on purpose are
printed as one short message and mapped to their exit code; tracebacks appear only with
``--debug`` (see :mod:`cwl_dask.cli.common`). This module registers the commands; the names
it re-exports are those callers imported from it before the commands had modules of their own.
"""

from __future__ import annotations

import click

from cwl_dask.cli.cache import cache_command
from cwl_dask.cli.common import EXIT_INTERRUPTED
from cwl_dask.cli.common import configure_logging as _configure_logging
from cwl_dask.cli.common import configured_imports as _imports
from cwl_dask.cli.common import guarded as _guarded
from cwl_dask.cli.common import import_options as _import_options
from cwl_dask.cli.common import say as _say
from cwl_dask.cli.fetch_imports import fetch_imports
from cwl_dask.cli.graph import graph_command
from cwl_dask.cli.plan import plan
from cwl_dask.cli.provenance import provenance_command
from cwl_dask.cli.run import _plan_cluster, _staging_environment, _wrapped_run, run
from cwl_dask.cli.run_options import _collection_id
from cwl_dask.cli.stac import stac_command
from cwl_dask.cli.validate import validate
from cwl_dask.cli.wrap import wrap_command

__all__ = [
    "EXIT_INTERRUPTED",
    "_collection_id",
    "_configure_logging",
    "_guarded",
    "_import_options",
    "_imports",
    "_plan_cluster",
    "_say",
    "_staging_environment",
    "_wrapped_run",
    "cli",
    "fetch_imports",
    "graph_command",
    "main",
    "plan",
    "provenance_command",
    "run",
    "stac_command",
    "validate",
    "wrap_command",
]


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from cwl_dask.driver.launch import version

    click.echo(version())
    ctx.exit()


@click.group(
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog="""Examples:

\b
  cwl-dask run --outdir out cwl-samples/eo-ndvi/app-package.cwl cwl-samples/eo-ndvi/params.yml
  cwl-dask run --report report.html --usage-report usage.json pkg.cwl#main job.yml
  cwl-dask run --provenance ro/ --provenance-crate crate.zip pkg.cwl job.yml
  cwl-dask plan cwl-samples/eo-ndvi/app-package.cwl cwl-samples/eo-ndvi/params.yml
  cwl-dask graph cwl-samples/eo-ndvi/app-package.cwl -o wf.svg
  cwl-dask validate pkg.cwl
  cwl-dask cache ls s3://bucket/cache

\b
Shell completion (bash; zsh and fish likewise with zsh_source/fish_source):
  eval "$(_CWL_DASK_COMPLETE=bash_source cwl-dask)"
""",
)
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Show the versions of cwl-dask, cwltool and Dask, and exit.",
)
def cli() -> None:
    """Run CWL workflows and EO Application Packages on Dask."""


for _command in (
    run,
    wrap_command,
    validate,
    plan,
    stac_command,
    graph_command,
    fetch_imports,
    provenance_command,
    cache_command,
):
    cli.add_command(_command)


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
