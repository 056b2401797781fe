"""``cwl-dask stac``: check the STAC catalogs of a finished run, as ``run --stac`` does.

The checks are :mod:`cwl_dask.eo.stac`'s; this is their command line.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from cwl_dask.cli.common import configure_logging, guarded


@click.command(
    "stac",
    epilog="""Examples:

\b
  cwl-dask stac out/
  cwl-dask stac --json out/catalog/catalog.json
""",
)
@click.argument("target", type=click.Path(exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--debug", is_flag=True, help="Tracebacks on errors.")
def stac_command(target: Path, as_json: bool, debug: bool) -> None:
    """Check the STAC catalogs of a finished run: TARGET is its --outdir or a STAC file.

    Every catalog.json (or collection.json) under TARGET is checked as `run --stac` does:
    links and assets must resolve to local files. Exit codes: 0 all good, 1 a catalog is
    broken (the message names the file and the href), 2 no STAC found.
    """
    import json

    from cwl_dask.eo.stac import check_directory

    configure_logging(quiet=True, debug=debug)

    def action() -> int:
        report = check_directory(target)
        click.echo(json.dumps(report.to_json(), indent=2) if as_json else report.describe())
        return 0

    sys.exit(guarded(debug, action))
