"""Publishing the Items of checked catalogs: a results Collection, a FeatureCollection.

Why: ZOO-Project's execution handlers expect a Collection linking a run's Items (written
next to the outputs with ``--stac-collection``), and ZOO returns a process's STAC result
as a GeoJSON FeatureCollection with absolute hrefs. Both are built from
:class:`~cwl_dask.eo.stac.inspect.StacSummary` objects; no result file is touched.
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pystac

from cwl_dask.eo.stac.inspect import StacSummary
from cwl_dask.eo.stac.rebase import atomic_write
from cwl_dask.eo.stac.tree import href_path
from cwl_dask.errors import StacError

_logger = logging.getLogger("cwl_dask.eo.stac")


def results_collection(
    summaries: Iterable[StacSummary], collection_id: str, *, description: str | None = None
) -> pystac.Collection:
    """One Collection linking every Item of the checked catalogs, with their joint extent.

    This is what ZOO-Project's execution handlers publish (they expect a Collection in the
    result and return its Items). The Items are clones: their files are not touched, and
    the Collection's links lead to them where they are (relative once it has a self href).
    """
    items = [item.clone() for summary in summaries for item in summary.items]
    if not items:
        raise StacError("no STAC Items among the outputs to put in a results collection")
    duplicates = sorted(i for i, n in Counter(item.id for item in items).items() if n > 1)
    if duplicates:
        _logger.warning("results collection %r: duplicate item ids %s", collection_id, duplicates)
    collection = pystac.Collection(
        id=collection_id,
        description=description or f"Results of a cwl-dask run: {len(items)} items.",
        extent=_extent(items),
        catalog_type=pystac.CatalogType.SELF_CONTAINED,
    )
    # Items are added before the collection has a self href: pystac would otherwise move
    # their self hrefs to its best-practice layout next to the collection.
    collection.add_items(items)
    return collection


def write_results_collection(collection: pystac.Collection, path: Path) -> Path:
    """Write only the collection document (items stay as they are), atomically."""
    path = Path(os.path.abspath(path))
    collection.set_self_href(str(path))
    text = json.dumps(collection.to_dict(include_self_link=False), indent=2) + "\n"
    atomic_write(path, text)
    return path


def feature_collection(
    summaries: Iterable[StacSummary], collection_id: str | None = None
) -> dict[str, Any]:
    """The Items as a GeoJSON FeatureCollection, as ZOO returns a process's STAC result.

    Hrefs are made absolute (a FeatureCollection travels without its files around it);
    ``collection_id`` sets each Item's ``collection`` (ZOO sets the job's id there).
    """
    features = []
    for summary in summaries:
        for original in summary.items:
            item = original.clone()
            item.make_asset_hrefs_absolute()
            if collection_id is not None:
                item.collection_id = collection_id
            doc = item.to_dict(include_self_link=False, transform_hrefs=False)
            base = Path(str(original.get_self_href() or summary.catalog)).parent
            for link in doc.get("links", []):
                target = href_path(str(link.get("href", "")), base)
                if target is not None:
                    link["href"] = str(target)
            features.append(doc)
    return {"type": "FeatureCollection", "features": features}


def _extent(items: list[pystac.Item]) -> pystac.Extent:
    extent = pystac.Extent.from_items(items)
    bbox = extent.spatial.bboxes[0] if extent.spatial.bboxes else []
    if not bbox or any(abs(v) == float("inf") for v in bbox):
        extent.spatial = pystac.SpatialExtent([[-180.0, -90.0, 180.0, 90.0]])
    return extent
