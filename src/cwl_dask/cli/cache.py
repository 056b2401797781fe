"""``cwl-dask cache ls URL`` and ``cwl-dask cache prune URL --older-than 30d``.

The command line of :mod:`cwl_dask.data.cache.housekeeping`; ``URL`` is what ``run
--cachedir`` was given (a folder or ``s3://bucket/prefix``; storage options from the Dask
config ``cwl-dask.storage-options``, as for runs).
"""

from __future__ import annotations

import sys
import time

import click

from cwl_dask.cli.common import configure_logging, guarded
from cwl_dask.data.cache import CacheLocation


@click.group(
    "cache",
    epilog="""Examples:

\b
  cwl-dask run --cachedir s3://bucket/cache pkg.cwl job.yml
  cwl-dask cache ls s3://bucket/cache
  cwl-dask cache prune s3://bucket/cache --older-than 30d
""",
)
def cache_command() -> None:
    """List and prune a --cachedir (a folder or an fsspec URL)."""


@cache_command.command("ls")
@click.argument("url")
@click.option("--debug", is_flag=True, help="Tracebacks on errors.")
def cache_ls(url: str, debug: bool) -> None:
    """The entries of URL, oldest first: step, size, files, when, how long the tool ran."""
    from dask.utils import format_bytes

    from cwl_dask.data.cache.housekeeping import entries

    configure_logging(quiet=True, debug=debug)

    def action() -> int:
        found = entries(_location(url))
        rows = [("key", "step", "size", "files", "created (UTC)", "tool ran", "image")]
        for e in found:
            created = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(e.created))
            rows.append((e.key[:16], e.step, format_bytes(e.size), str(e.files), created,
                         f"{e.seconds:.1f}s", e.image or "-"))  # fmt: skip
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        for row in rows:
            click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        total = sum(e.size for e in found)
        click.echo(f"{len(found)} entries, {format_bytes(total)}", err=True)
        return 0

    sys.exit(guarded(debug, action))


@cache_command.command("prune")
@click.argument("url")
@click.option(
    "--older-than",
    required=True,
    metavar="AGE",
    help="Remove entries created more than AGE ago: a number and s, m, h, d or w (30d).",
)
@click.option("--debug", is_flag=True, help="Tracebacks on errors.")
def cache_prune(url: str, older_than: str, debug: bool) -> None:
    """Remove the entries of URL older than --older-than (and abandoned partial writes)."""
    from dask.utils import format_bytes

    from cwl_dask.data.cache.housekeeping import parse_age, prune

    configure_logging(quiet=True, debug=debug)

    def action() -> int:
        age = parse_age(older_than)
        removed, freed = prune(_location(url), age)
        click.echo(f"removed {removed} entries, {format_bytes(freed)} freed", err=True)
        return 0

    sys.exit(guarded(debug, action))


def _location(url: str) -> CacheLocation:
    """The cache at ``url``; a folder that does not exist is an error (exit 2)."""
    import os

    from cwl_dask.errors import InvalidInputError

    location = CacheLocation.parse(url)
    if location.local and not os.path.isdir(location.display):
        raise InvalidInputError(f"{url}: no such cache folder")
    return location
