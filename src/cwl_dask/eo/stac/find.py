"""Finding STAC: the root documents among a run's outputs or under a directory.

Why a module of its own: the run (``--stac``), the API's ``RunResult.stac``, ``cwl-dask
stac DIR`` and the rebasing all start from "which files are STAC roots", and the answer
must be the same for all of them. Only the file system is read; nothing is fetched.

Where STAC is looked for (:func:`find_stac`), per output of the output object (arrays
and records included):

* a ``Directory`` holding ``catalog.json`` (else ``collection.json``) at its top; if there
  is none at its top, every immediate sub-directory holding one. One level only: a
  catalog's children live in sub-directories, so looking deeper would report sub-catalogs
  as separate roots, while one level covers the common ``glob: .`` output whose catalog
  was written into a sub-directory of the working directory;
* a ``File`` that is STAC JSON: ``.json``/``.geojson`` whose ``type`` is ``Catalog``,
  ``Collection``, or ``Feature`` with a ``stac_version`` (a plain GeoJSON Feature is not
  STAC).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

CATALOG_FILES = ("catalog.json", "collection.json")
"""Names of a root document in a directory, in order of preference (the BP's name first)."""

_JSON_SUFFIXES = (".json", ".geojson")


def find_stac(output_object: Mapping[str, Any]) -> dict[str, list[Path]]:
    """The STAC root documents of each output that has any (see the module docstring).

    Outputs without STAC are left out, so an empty dict means "no STAC among the outputs".
    Paths come from ``path`` (or a ``file://`` ``location``), as cwltool prints them after
    moving the outputs to ``--outdir``; outputs elsewhere (``s3://`` ...) are skipped.
    """
    found: dict[str, list[Path]] = {}
    for output_id, value in output_object.items():
        paths = list(dict.fromkeys(_stac_in(value)))
        if paths:
            found[output_id] = paths
    return found


def catalogs_in_directory(directory: Path) -> list[Path]:
    """The root catalog(s) of a Directory output: at its top, else one level down."""
    top = _catalog_file(directory)
    if top is not None:
        return [top]
    found = []
    for sub in sorted(directory.iterdir()):
        if sub.is_dir() and (doc := _catalog_file(sub)) is not None:
            found.append(doc)
    return found


def catalogs_under(directory: Path) -> list[Path]:
    """Every root catalog under ``directory``, at any depth, for an existing run's outdir.

    A directory holding ``catalog.json``/``collection.json`` is taken whole: its
    sub-directories belong to that catalog and are not searched for more roots.
    """
    found = []
    for current, dirs, _files in os.walk(directory):
        doc = _catalog_file(Path(current))
        if doc is not None:
            found.append(doc)
            dirs.clear()
        else:
            dirs.sort()
    return found


def stac_type(path: Path) -> str | None:
    """``Catalog``, ``Collection`` or ``Item`` when ``path`` is a STAC JSON file, else None."""
    if path.suffix.lower() not in _JSON_SUFFIXES or not path.is_file():
        return None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return document_kind(doc)


def _stac_in(value: Any) -> Iterator[Path]:
    if isinstance(value, list):
        for element in value:
            yield from _stac_in(element)
    elif isinstance(value, dict):
        cls = value.get("class")
        if cls in ("File", "Directory"):
            path = local_path(value)
            if path is None:
                return
            if cls == "Directory" and path.is_dir():
                yield from catalogs_in_directory(path)
            elif cls == "File" and stac_type(path) is not None:
                yield path
        elif cls is None:  # a record output: look at its fields
            for field_value in value.values():
                yield from _stac_in(field_value)


def local_path(entry: Mapping[str, Any]) -> Path | None:
    if isinstance(entry.get("path"), str):
        return Path(entry["path"])
    location = entry.get("location")
    if isinstance(location, str) and location.startswith("file://"):
        return Path(unquote(urlparse(location).path))
    return None


def _catalog_file(directory: Path) -> Path | None:
    for name in CATALOG_FILES:
        if (directory / name).is_file():
            return directory / name
    return None


def document_kind(doc: Any) -> str | None:
    if not isinstance(doc, dict):
        return None
    kind = doc.get("type")
    if kind in ("Catalog", "Collection"):
        return str(kind)
    if kind == "Feature" and "stac_version" in doc:
        return "Item"
    return None
