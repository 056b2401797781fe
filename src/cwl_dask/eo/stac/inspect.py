"""Checking one STAC root: its structure holds together, pystac reads it, schemas agree.

Why: what consumes a run's catalog (a stage-out step, ZOO-Project's execution handler)
follows its hrefs; a dangling href or an absolute path into a removed work directory
fails there, far from the run. Checked here, right after the run, the same fault
becomes one message naming the output, the file and the href; a good catalog becomes a
:class:`StacSummary`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pystac

from cwl_dask.eo.stac.schemas import configured_schema_dir, validate_schemas
from cwl_dask.eo.stac.tree import LocalStacIO, walk
from cwl_dask.errors import StacError

_MAX_PROBLEMS = 5  # problems spelled out in one error message; the rest are counted


@dataclass(frozen=True)
class StacSummary:
    """One checked STAC root: what it holds, for the run summary and the results collection."""

    catalog: Path  # the root document (catalog.json, collection.json, or a lone Item)
    root: pystac.STACObject
    items: tuple[pystac.Item, ...]
    assets: int  # every asset of every document of the tree
    remote_assets: int = 0  # assets whose href is not a local file (counted, not checked)
    output_id: str | None = None
    schema: str = "not validated"  # "valid", or why schemas were not checked

    def to_json(self) -> dict[str, Any]:
        """The shape ``run --stac`` and ``stac --json`` print for one catalog."""
        return {"catalog": str(self.catalog), "items": len(self.items), "assets": self.assets}

    def describe(self) -> str:
        """One line for people."""
        kind = type(self.root).__name__
        remote = f" ({self.remote_assets} not local, not checked)" if self.remote_assets else ""
        return (
            f"{kind} {self.root.id!r}: {len(self.items)} items, {self.assets} assets{remote}; "
            f"JSON schema: {self.schema}"
        )


def inspect_catalog(
    path: Path, output_id: str | None = None, *, schema_dir: Path | None = None
) -> StacSummary:
    """Open a STAC root with pystac after checking that its structure holds together.

    Every child/item/parent/root/self link href and every local asset href must resolve to
    an existing file (relative hrefs against the file that holds them); child and item
    links must lead to documents of the right type. Link hrefs that are not local files
    are errors (the catalog must be complete where it is, to be staged out); asset hrefs
    that are not local files are counted and left alone (nothing is fetched).

    JSON-schema validation runs when ``jsonschema`` is importable and every schema needed
    is local: pystac's bundled ones (STAC 1.1.0) or ``schema_dir`` / the Dask config key
    ``cwl-dask.stac-schemas`` (a mirror laid out as ``<host>/<path>``, e.g.
    ``schemas.stacspec.org/v1.0.0/item-spec/json-schema/item.json``). Otherwise it is
    skipped and ``schema`` says why — pystac would download the schemas, and a run must
    not depend on the network.

    Raises :class:`StacError` naming the output, the file and the bad href.
    """
    path = Path(os.path.abspath(path))
    tree = walk(path)
    problems = list(tree.problems)
    remote_assets = 0
    for ref in tree.refs:
        if ref.target is None:
            if ref.is_asset:
                remote_assets += 1
            else:
                problems.append(f"{ref.source}: {ref.what} href {ref.href!r} is not a local file")
        elif not ref.target.is_file():
            problems.append(
                f"{ref.source}: {ref.what} href {ref.href!r} does not resolve to an existing "
                f"file ({ref.target})"
            )
    if problems:
        raise _stac_error(output_id, path, problems)

    stac_io = LocalStacIO()
    try:
        root = pystac.read_file(str(path), stac_io=stac_io)
    except Exception as err:  # pystac raises many kinds on odd documents; name the file
        raise _stac_error(output_id, path, [f"{path}: pystac cannot read it: {err}"]) from err
    items = []
    for item_path in tree.items:
        try:
            items.append(pystac.Item.from_file(str(item_path), stac_io=stac_io))
        except Exception as err:
            message = f"{item_path}: pystac cannot read it: {err}"
            raise _stac_error(output_id, path, [message]) from err

    schema = validate_schemas(tree, schema_dir if schema_dir else configured_schema_dir())
    if schema.startswith("invalid"):
        raise _stac_error(output_id, path, [schema.removeprefix("invalid: ")])
    assets = sum(1 for ref in tree.refs if ref.is_asset)
    return StacSummary(
        path, root, tuple(items), assets, remote_assets, output_id=output_id, schema=schema
    )


def _stac_error(output_id: str | None, root: Path, problems: list[str]) -> StacError:
    what = f"STAC output {output_id!r} ({root})" if output_id else f"STAC catalog {root}"
    lines = problems[:_MAX_PROBLEMS]
    if len(problems) > _MAX_PROBLEMS:
        lines.append(f"... and {len(problems) - _MAX_PROBLEMS} more")
    return StacError(f"{what} is broken:\n  " + "\n  ".join(lines))
