"""Files and directory trees up to and down from a store, never half-written.

Objects are put whole (an object store never shows a partial object), and downloads land
under a temporary name that is renamed into place only when complete, so a reader never
takes a partial file for a finished one. Object stores have no empty directories: an empty
one is kept as a marker object (:data:`EMPTY_MARKER`), which downloads and listings skip.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Iterable
from typing import Any

EMPTY_MARKER = ".cwl-dask-empty-directory"


class TransferError(OSError):
    """A file could not be moved to or from the store; the message names it."""


def _strip(fs: Any, url: str) -> str:
    return str(fs._strip_protocol(url)).rstrip("/")


def upload_file(fs: Any, local: str, url: str) -> int:
    """Put one file; returns its size."""
    try:
        fs.put_file(local, url)
    except Exception as err:
        raise TransferError(f"cannot upload {local} to {url}: {_reason(err)}") from err
    return os.path.getsize(local)


def upload_tree(fs: Any, local: str, url: str) -> int:
    """Put every file under ``local`` below ``url`` (empty directories as markers)."""
    sources: list[str] = []
    targets: list[str] = []
    base = url.rstrip("/")
    for root, dirs, files in os.walk(local, followlinks=True):
        rel = os.path.relpath(root, local)
        prefix = base if rel == "." else f"{base}/{rel.replace(os.sep, '/')}"
        if not dirs and not files:
            marker = os.path.join(_scratch_marker_dir(), EMPTY_MARKER)
            sources.append(marker)
            targets.append(f"{prefix}/{EMPTY_MARKER}")
        for name in files:
            sources.append(os.path.join(root, name))
            targets.append(f"{prefix}/{name}")
    try:
        for source, target in zip(sources, targets, strict=True):
            fs.put_file(source, target)
    except Exception as err:
        raise TransferError(f"cannot upload {local} to {url}: {_reason(err)}") from err
    return sum(os.path.getsize(s) for s in sources)


def _scratch_marker_dir() -> str:
    """A directory holding an empty :data:`EMPTY_MARKER` file, to upload as the marker."""
    import tempfile

    where = os.path.join(tempfile.gettempdir(), "cwl-dask-marker")
    marker = os.path.join(where, EMPTY_MARKER)
    if not os.path.exists(marker):
        os.makedirs(where, exist_ok=True)
        open(marker, "wb").close()
    return where


def download_file(fs: Any, url: str, local: str) -> int:
    """Get one object to ``local`` via a temporary name (a log, an intermediate file)."""
    os.makedirs(os.path.dirname(local), exist_ok=True)
    partial = f"{local}.part-{uuid.uuid4().hex[:8]}"
    try:
        fs.get_file(url, partial)
        os.replace(partial, local)
        return os.path.getsize(local)
    except Exception as err:
        _remove(partial)
        raise TransferError(f"cannot download {url}: {_reason(err)}") from err


def listed_sizes(fs: Any, prefix: str, urls: Iterable[str]) -> dict[str, int]:
    """The store's sizes of ``urls``: one listing of ``prefix`` for those below it (a
    request per 1,000 objects on S3), one lookup for each of the others."""
    wanted = list(urls)
    if not wanted:
        return {}
    base = _strip(fs, prefix)
    below = [u for u in wanted if _strip(fs, u).startswith(base + "/")]
    sizes: dict[str, int] = {}
    if below:
        try:
            listed = fs.find(prefix, detail=True)
        except FileNotFoundError:
            listed = {}
        by_key = {k.rstrip("/"): int(v.get("size") or 0) for k, v in listed.items()}
        sizes = {u: by_key[_strip(fs, u)] for u in below if _strip(fs, u) in by_key}
    for url in wanted:
        if url not in sizes:
            try:
                sizes[url] = int(fs.info(url)["size"])
            except Exception as err:
                raise TransferError(f"cannot download {url}: {_reason(err)}") from err
    return sizes


def download_files(fs: Any, files: dict[str, str], sizes: dict[str, int]) -> int:
    """Get each ``url`` of ``files`` to its local path, concurrently, each via a temporary
    name renamed into place only when complete and of the store's size (``sizes``)."""
    if not files:
        return 0
    urls = list(files)
    partials = [f"{files[u]}.part-{uuid.uuid4().hex[:8]}" for u in urls]
    for partial in partials:
        os.makedirs(os.path.dirname(partial), exist_ok=True)
    try:
        try:
            fs.get(urls, partials)
        except Exception as err:
            pairs = zip(urls, partials, strict=True)
            missing = next((u for u, p in pairs if not os.path.isfile(p)), urls[0])
            raise TransferError(f"cannot download {missing}: {_reason(err)}") from err
        total = 0
        for url, partial in zip(urls, partials, strict=True):
            got = os.path.getsize(partial) if os.path.isfile(partial) else -1
            if got != sizes[url]:
                what = "nothing" if got < 0 else f"{got} bytes"
                raise TransferError(f"cannot download {url}: {what} instead of {sizes[url]}")
            total += got
        for url, partial in zip(urls, partials, strict=True):
            os.replace(partial, files[url])
        return total
    finally:
        for partial in partials:
            _remove(partial)


def download_tree(fs: Any, url: str, local: str) -> int:
    """Get every object below ``url`` into the directory ``local`` (made whole, then renamed)."""
    partial = f"{local.rstrip('/')}.part-{uuid.uuid4().hex[:8]}"
    base = _strip(fs, url)
    total = 0
    try:
        keys = [k for k in fs.find(url, withdirs=False) if k.rstrip("/") != base]
        if not keys and not fs.isdir(url):
            raise FileNotFoundError(f"no such directory: {url}")
        os.makedirs(partial)
        for key in keys:
            rel = key[len(base) + 1 :]
            target = os.path.join(partial, *rel.split("/"))
            if os.path.basename(target) == EMPTY_MARKER:
                os.makedirs(os.path.dirname(target), exist_ok=True)
                continue
            os.makedirs(os.path.dirname(target), exist_ok=True)
            fs.get_file(fs.unstrip_protocol(key), target)
            total += os.path.getsize(target)
        if os.path.isdir(local):  # a stale copy (changed in place by a tool) goes
            shutil.rmtree(local, ignore_errors=True)
        os.makedirs(os.path.dirname(local.rstrip("/")), exist_ok=True)
        os.rename(partial, local)
        return total
    except Exception as err:
        shutil.rmtree(partial, ignore_errors=True)
        raise TransferError(f"cannot download {url}: {_reason(err)}") from err


def remove_tree(fs: Any, url: str) -> None:
    """Remove every object below ``url`` (nothing there is fine)."""
    with contextlib.suppress(FileNotFoundError):
        fs.rm(url, recursive=True)


def _remove(path: str) -> None:
    with contextlib.suppress(OSError):
        os.remove(path)


def _reason(err: BaseException) -> str:
    if isinstance(err, TransferError):
        return str(err)
    return f"{type(err).__name__}: {err}"
