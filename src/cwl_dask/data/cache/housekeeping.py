"""``cwl-dask cache ls`` and ``cache prune``: what a cache holds, and removing old entries.

Listing reads each entry's manifest (step, size, image, when). Pruning removes entries
created before a cut-off, the manifest first (so no run can start reusing an entry being
removed: it is no longer visible), then its files; it also removes what no manifest names
and is older than the cut-off: the files of a writer that lost a race (see
:mod:`.manifest`) or of a worker that died before its manifest.
"""

from __future__ import annotations

import contextlib
import re
import time
from dataclasses import dataclass
from typing import Any

from cwl_dask.data.cache.location import CacheLocation
from cwl_dask.data.cache.manifest import MANIFEST, DamagedEntry, Manifest
from cwl_dask.errors import InvalidInputError

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_KEY = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class EntryInfo:
    key: str
    step: str
    size: int
    files: int
    created: float
    seconds: float
    image: str


def parse_age(text: str) -> float:
    """``30d``, ``12h``, ``90m``, ``2w``, ``45s`` as seconds; InvalidInputError otherwise."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", text)
    if match is None:
        raise InvalidInputError(
            f"--older-than {text!r}: expected a number and a unit (s, m, h, d, w), e.g. 30d"
        )
    return float(match.group(1)) * _UNITS[match.group(2)]


def entries(location: CacheLocation) -> list[EntryInfo]:
    """Every whole entry of the cache, oldest first (damaged manifests are skipped)."""
    fs = location.filesystem()
    found = []
    for key in _keys(fs, location):
        try:
            manifest = Manifest.from_json(fs.cat_file(location.join(key, MANIFEST)), key)
        except (FileNotFoundError, DamagedEntry):
            continue
        found.append(
            EntryInfo(
                key,
                manifest.step,
                manifest.size,
                len(manifest.files),
                manifest.created,
                manifest.seconds,
                manifest.image,
            )
        )
    return sorted(found, key=lambda e: e.created)


def prune(location: CacheLocation, older_than: float, now: float | None = None) -> tuple[int, int]:
    """Remove what is older than ``older_than`` seconds: (entries removed, bytes freed)."""
    fs = location.filesystem()
    cutoff = (now or time.time()) - older_than
    removed = freed = 0
    for key in _keys(fs, location):
        objects = _objects(fs, location.join(key))
        manifest_url = location.join(key, MANIFEST)
        try:
            manifest: Manifest | None = Manifest.from_json(fs.cat_file(manifest_url), key)
        except (FileNotFoundError, DamagedEntry):
            manifest = None
        if manifest is not None and manifest.created < cutoff:
            fs.rm_file(manifest_url)  # first: the entry is no longer visible
            freed += sum(size for _, size, _ in objects)
            _remove(fs, location.join(key))
            removed += 1
            continue
        kept = location.join(key, manifest.writer) if manifest is not None else None
        for path, size, modified in objects:
            if path == _strip(fs, manifest_url) or (kept and path.startswith(_strip(fs, kept))):
                continue
            if modified < cutoff:  # a lost race or a dead writer: nobody reads these
                fs.rm_file(path)
                freed += size
    return removed, freed


def _keys(fs: Any, location: CacheLocation) -> list[str]:
    try:
        listed = fs.ls(location.url, detail=False)
    except FileNotFoundError:
        return []
    names = [str(p).rstrip("/").rsplit("/", 1)[-1] for p in listed]
    return sorted(n for n in names if _KEY.match(n))


def _objects(fs: Any, url: str) -> list[tuple[str, int, float]]:
    """(path, size, modified epoch) of every file below ``url``."""
    found = []
    for path, info in fs.find(url, detail=True).items():
        modified = info.get("LastModified") or info.get("mtime") or info.get("created") or 0
        if hasattr(modified, "timestamp"):
            modified = modified.timestamp()
        found.append((str(path), int(info.get("size") or 0), float(modified)))
    return found


def _strip(fs: Any, url: str) -> str:
    return str(fs._strip_protocol(url))


def _remove(fs: Any, url: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        fs.rm(url, recursive=True)
