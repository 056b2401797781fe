"""The STAC results of a run: find them in the output object, check them, wrap them.

Why: an EO Application Package's result is a STAC catalog (OGC 20-089r1: "a valid STAC
Catalog, named catalog.json", with Items and Assets pointing to the results), and what
consumes it — a stage-out step, ZOO-Project's execution handler — reads it by following
hrefs. A catalog with a dangling href, or with absolute paths into a work directory that
was removed after the run, fails there, far from the run and with an unhelpful message.
Checked right after the run, locally and without the network, the same fault becomes one
message naming the output, the file and the href.

One module per job, each importing only those before it:

* :mod:`.find` — which files are STAC roots (in an output object, under a directory);
* :mod:`.tree` — a catalog tree read as plain JSON, its hrefs resolved; local-only I/O;
* :mod:`.schemas` — JSON-schema validation from local schemas only;
* :mod:`.inspect` — one root checked: :func:`inspect_catalog` → :class:`StacSummary`;
* :mod:`.rebase` — catalogs made self-contained again, files replaced atomically;
* :mod:`.collection` — the results Collection and the FeatureCollection of the Items;
* :mod:`.check` — a run's or a directory's STAC checked as a whole: :class:`StacReport`.

This package is the interface: callers use ``from cwl_dask.eo import stac`` and the names
below. Nothing here opens a URL: hrefs that are not local files are never fetched, and JSON
schemas are only read from pystac's bundled copies or a configured local directory.
"""

from __future__ import annotations

from cwl_dask.eo.stac.check import StacReport, check_directory, check_outputs
from cwl_dask.eo.stac.collection import (
    feature_collection,
    results_collection,
    write_results_collection,
)
from cwl_dask.eo.stac.find import (
    CATALOG_FILES,
    catalogs_in_directory,
    catalogs_under,
    find_stac,
    stac_type,
)
from cwl_dask.eo.stac.inspect import StacSummary, inspect_catalog
from cwl_dask.eo.stac.rebase import make_outputs_self_contained, make_self_contained
from cwl_dask.eo.stac.schemas import SCHEMA_DIR_CONFIG, configured_schema_dir
from cwl_dask.eo.stac.tree import STRUCTURE_RELS, Rebase

__all__ = [
    "CATALOG_FILES",
    "SCHEMA_DIR_CONFIG",
    "STRUCTURE_RELS",
    "Rebase",
    "StacReport",
    "StacSummary",
    "catalogs_in_directory",
    "catalogs_under",
    "check_directory",
    "check_outputs",
    "configured_schema_dir",
    "feature_collection",
    "find_stac",
    "inspect_catalog",
    "make_outputs_self_contained",
    "make_self_contained",
    "results_collection",
    "stac_type",
    "write_results_collection",
]
