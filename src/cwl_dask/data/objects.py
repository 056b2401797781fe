"""Visiting and rewriting the CWL ``File``/``Directory`` objects of a job order or output.

Both sides move files and then point the objects at their new place: the driver from local
paths to store URLs, the worker from URLs to its scratch copies and back. Rewriting is
top-down (a Directory before its ``listing``), so a directory's new place is known when its
entries are met, and every entry inside it follows without a transfer of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, urlsplit

#: Keys cwltool derives from ``location``; dropped when the location changes, recomputed.
DERIVED_KEYS = ("path", "dirname")

Rewrite = Callable[[dict[str, Any]], dict[str, Any]]


def is_file_object(value: Any) -> bool:
    return isinstance(value, dict) and value.get("class") in ("File", "Directory")


def rewrite(value: Any, change: Rewrite) -> Any:
    """A copy of ``value`` with ``change`` applied to every File/Directory, outer first."""
    if isinstance(value, list):
        return [rewrite(v, change) for v in value]
    if not isinstance(value, dict):
        return value
    if is_file_object(value):
        value = change(dict(value))
    return {k: rewrite(v, change) if isinstance(v, (list, dict)) else v for k, v in value.items()}


def rewrite_in_place(value: Any, change: Rewrite) -> None:
    """:func:`rewrite` inside ``value`` itself, keeping its containers' types (a loaded tool
    document's ruamel maps and sequences carry the line numbers cwltool's checks read)."""
    items: Any = enumerate(value) if isinstance(value, list) else value.items()
    for key, item in list(items):
        if is_file_object(item):
            value[key] = item = change(dict(item))
        if isinstance(item, (list, dict)):
            rewrite_in_place(item, change)


def relocated(obj: dict[str, Any], location: str) -> dict[str, Any]:
    """``obj`` at ``location``, without the keys derived from its old one."""
    moved = {k: v for k, v in obj.items() if k not in DERIVED_KEYS}
    moved["location"] = location
    return moved


def local_path(obj: dict[str, Any]) -> str | None:
    """The local path of a File/Directory given by ``file://`` location or ``path``, else None
    (literals, ``_:`` ids, remote URLs)."""
    location = obj.get("location")
    if isinstance(location, str) and location.startswith("file://"):
        return unquote(urlsplit(location).path)
    if isinstance(location, str) and location.startswith("/"):
        return location
    path = obj.get("path")
    if not location and isinstance(path, str) and path.startswith("/"):
        return path
    return None


def inside(path: str, prefixes: dict[str, str]) -> str | None:
    """The mapping of ``path`` through the nearest of ``prefixes`` (old prefix -> new), or None."""
    candidate = path.rstrip("/")
    while candidate:
        if candidate in prefixes:
            return prefixes[candidate] + path[len(candidate) :]
        parent = candidate.rsplit("/", 1)[0]
        if parent == candidate:
            break
        candidate = parent
    return None
