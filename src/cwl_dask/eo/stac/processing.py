"""The STAC processing extension on each Item of a run's STAC outputs (``--stac-processing``).

"Which package, which version, which run produced this asset" is what a catalogue needs of
an EO product; the processing extension (v1.2.0) is where STAC keeps it:
``processing:software`` (the package and its ``s:softwareVersion``, cwl-dask), and
``processing:lineage`` (the run id: the research object's UUID with ``--provenance``), and,
when the run wrote a crate, a link ``rel: via`` to it. Off by default: it rewrites the
Items the tool wrote (each atomically), and the output object's sizes and checksums are
updated to match.
"""

from __future__ import annotations

import datetime
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cwl_dask.eo.stac.find import find_stac
from cwl_dask.eo.stac.rebase import atomic_write, refresh_files
from cwl_dask.eo.stac.tree import walk

EXTENSION = "https://stac-extensions.github.io/processing/v1.2.0/schema.json"


@dataclass(frozen=True)
class Processing:
    """What each Item is told about the run that produced it."""

    run_id: str  # a URN: urn:uuid:… of the research object, or of the run alone
    software: dict[str, str] = field(default_factory=dict)  # name -> version
    crate: str | None = None  # the run's RO-Crate (.zip), linked as rel=via

    def lineage(self) -> str:
        names = ", ".join(f"{name} {version}" for name, version in self.software.items())
        return f"Produced by {names} in run {self.run_id}"


def annotate_outputs(output_object: dict[str, Any], processing: Processing) -> list[Path]:
    """Add the processing block to every Item of every STAC output; returns the Items."""
    written: list[Path] = []
    for paths in find_stac(output_object).values():
        for root in paths:
            tree = walk(root)
            for path, kind in tree.kinds.items():
                if kind == "Item" and path not in written:
                    _annotate(path, tree.docs[path], processing)
                    written.append(path)
    if written:
        refresh_files(output_object, {Path(os.path.abspath(p)) for p in written})
    return written


def _annotate(path: Path, item: dict[str, Any], processing: Processing) -> None:
    extensions = item.setdefault("stac_extensions", [])
    if EXTENSION not in extensions:
        extensions.append(EXTENSION)
    properties = item.setdefault("properties", {})
    properties["processing:software"] = dict(processing.software)
    properties["processing:lineage"] = processing.lineage()
    properties["processing:datetime"] = (
        datetime.datetime.now(datetime.timezone.utc).isoformat().replace("+00:00", "Z")
    )
    if processing.crate:
        links = [link for link in item.get("links", []) if link.get("rel") != "via"]
        links.append(
            {
                "rel": "via",
                "href": os.path.relpath(os.path.abspath(processing.crate), path.parent),
                "type": "application/zip",
                "title": f"Workflow Run RO-Crate of {processing.run_id}",
            }
        )
        item["links"] = links
    atomic_write(path, json.dumps(item, indent=2, ensure_ascii=False) + "\n")
