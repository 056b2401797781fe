"""The STAC check of a whole run (its output object) or of an existing run's directory.

Why: the entry points — ``run --stac``, ``cwl-dask stac DIR``, the API — want one report
over every catalog, keyed by output id or relative path, and optionally the results
collection written beside the outputs; this ties finding, inspecting and collecting
together.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cwl_dask.eo.stac.collection import results_collection, write_results_collection
from cwl_dask.eo.stac.find import CATALOG_FILES, catalogs_under, find_stac, local_path, stac_type
from cwl_dask.eo.stac.inspect import StacSummary, inspect_catalog
from cwl_dask.errors import InvalidInputError, StacError

_logger = logging.getLogger("cwl_dask.eo.stac")


@dataclass(frozen=True)
class StacReport:
    """The checked STAC of a run (by output id) or of a directory (by relative path)."""

    summaries: dict[str, list[StacSummary]]
    collection: Path | None = None

    def to_json(self) -> dict[str, Any]:
        """``{"stac": {key: summary}}``; a key with several catalogs gets a list of them."""
        return {
            "stac": {
                key: found[0].to_json() if len(found) == 1 else [s.to_json() for s in found]
                for key, found in self.summaries.items()
            }
        }

    def describe(self) -> str:
        lines = [
            f"{key}: {summary.catalog}\n  {summary.describe()}"
            for key, found in self.summaries.items()
            for summary in found
        ]
        if self.collection is not None:
            lines.append(f"results collection: {self.collection}")
        return "\n".join(lines)


def check_outputs(
    output_object: Mapping[str, Any],
    outdir: str | Path,
    collection_id: str | None = None,
    *,
    schema_dir: Path | None = None,
) -> StacReport:
    """Check every STAC output of a finished run; write the results collection if asked.

    ``<outdir>/<collection_id>.json`` is refused (StacError) when it is one of the run's
    outputs: a results collection never replaces a result.
    """
    found = find_stac(output_object)
    if not found:
        _logger.warning("no STAC catalog among the outputs")
    summaries = {
        output_id: [inspect_catalog(p, output_id, schema_dir=schema_dir) for p in paths]
        for output_id, paths in found.items()
    }
    for output_id, checked in summaries.items():
        for summary in checked:
            _logger.info("output %r: %s", output_id, summary.describe())
    collection_path = None
    if collection_id is not None:
        target = Path(os.path.abspath(Path(outdir) / f"{collection_id}.json"))
        if target in _output_paths(output_object):
            raise StacError(
                f"--stac-collection {collection_id}: {target} is an output of the run; "
                "choose another collection id"
            )
        every = [summary for checked in summaries.values() for summary in checked]
        collection = results_collection(every, collection_id)
        collection_path = write_results_collection(collection, target)
        _logger.info("results collection written to %s", collection_path)
    return StacReport(summaries, collection_path)


def check_directory(target: Path, *, schema_dir: Path | None = None) -> StacReport:
    """Check the catalogs of an existing run: ``target`` is its outdir or one STAC file.

    Keys are paths relative to ``target``. Raises InvalidInputError (exit 2) when there is
    no STAC to check, StacError (exit 1) when a catalog is broken.
    """
    target = Path(os.path.abspath(target))
    if target.is_dir():
        roots = catalogs_under(target)
        keys = [str(root.relative_to(target)) for root in roots]
    elif stac_type(target) is not None:
        roots, keys = [target], [target.name]
    else:
        raise InvalidInputError(f"{target} is not a STAC Catalog, Collection or Item")
    if not roots:
        raise InvalidInputError(f"no {' or '.join(CATALOG_FILES)} under {target}")
    return StacReport(
        {
            key: [inspect_catalog(root, schema_dir=schema_dir)]
            for key, root in zip(keys, roots, strict=True)
        }
    )


def _output_paths(value: Any) -> set[Path]:
    paths: set[Path] = set()
    if isinstance(value, list):
        for element in value:
            paths |= _output_paths(element)
    elif isinstance(value, dict):
        if value.get("class") in ("File", "Directory"):
            path = local_path(value)
            if path is not None:
                paths.add(Path(os.path.abspath(path)))
        for child in value.values():
            if isinstance(child, list | dict):
                paths |= _output_paths(child)
    return paths
