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


def download_file(fs: Any, url: str, local: str, verify: bool = False) -> int:
    """Get one object to ``local`` via a temporary name; with ``verify``, a size other than
    the store's for the object is an error (a file's ``size`` field is no proof: a job
    order may state any)."""
    os.makedirs(os.path.dirname(local), exist_ok=True)
    partial = f"{local}.part-{uuid.uuid4().hex[:8]}"
    try:
        fs.get_file(url, partial)
        got = os.path.getsize(partial)
        size = int(fs.info(url)["size"]) if verify else None
        if size is not None and got != size:
            raise OSError(f"{got} bytes instead of {size}")
        os.replace(partial, local)
        return got
    except Exception as err:
        _remove(partial)
        raise TransferError(f"cannot download {url}: {_reason(err)}") from err


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
