"""``cwl-dask provenance``: the crate of a finished run's research object.

``run --provenance DIR`` keeps the research object; this writes its Workflow Run RO-Crate
afterwards (the same as ``run --provenance-crate``), with :mod:`cwl_dask.provenance.crate`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from cwl_dask.cli.common import configure_logging, guarded


@click.command(
    "provenance",
    epilog="""Examples:

\b
  cwl-dask run --provenance ro/ pkg.cwl job.yml
  cwl-dask provenance ro/ --crate run-crate.zip
""",
)
@click.argument("research_object", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--crate",
    "crate_path",
    required=True,
    metavar="FILE.zip",
    help="Write the Workflow Run RO-Crate (Provenance Run Crate profile) to FILE.zip.",
)
@click.option("--debug", is_flag=True, help="Tracebacks on errors.")
def provenance_command(research_object: Path, crate_path: str, debug: bool) -> None:
    """Write the RO-Crate of RESEARCH_OBJECT, a folder `cwl-dask run --provenance` saved.

    One CreateAction per tool invocation (instrument: the tool in workflow/packed.cwl;
    object/result: the files by checksum). Exit codes: 0 written, 2 not such a folder or
    FILE.zip cannot be written.
    """
    configure_logging(quiet=True, debug=debug)

    def action() -> int:
        from cwl_dask.provenance import crate, targets

        targets.check_crate_target(crate_path)
        actions = crate.build(research_object, crate_path)
        click.echo(f"{crate_path}: Workflow Run RO-Crate with {actions} tool runs", err=True)
        return 0

    sys.exit(guarded(debug, action))
