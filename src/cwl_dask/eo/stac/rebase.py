"""Making a catalog self-contained again after cwltool moved it to ``--outdir``.

Why: a tool that saved its catalog with absolute hrefs points into its working
directory, which is removed after the run; consumers would find nothing there. The
hrefs are rebased to where the files are now and rewritten relative, each file replaced
atomically (:func:`atomic_write`), and the output object's sizes and checksums updated.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import pystac
from pystac.layout import HrefLayoutStrategy

from cwl_dask.eo.stac.find import document_kind, find_stac, local_path
from cwl_dask.eo.stac.tree import (
    LocalStacIO,
    Rebase,
    href_path,
    is_absolute_local,
    walk,
)

_logger = logging.getLogger("cwl_dask.eo.stac")


def make_self_contained(path: Path, written: list[Path] | None = None) -> list[Path]:
    """Make a catalog moved to ``--outdir`` self-contained again; return the files rewritten.

    A tool that saved its catalog with absolute hrefs (pystac ``ABSOLUTE_PUBLISHED``, or
    hand-written) points into its working directory, which cwltool moved to ``--outdir``
    and cwl-dask removes after the run. The catalog's former directory is read from the
    root document's own ``self`` (else ``root``) link; absolute hrefs under it are mapped
    to the same place under the catalog's directory now, and the tree is saved with
    relative hrefs (pystac ``normalize_hrefs`` keeping the layout, then
    ``save(SELF_CONTAINED)``; pystac writes its own STAC version).

    Only if needed — nothing is written when no href is absolute — and only if every
    mapped href resolves; otherwise the catalog is left as it is for
    :func:`inspect_catalog` to report. Each file is written to a temporary file next to
    it and renamed over it, so an interruption never leaves a truncated document.
    Lone Items (File outputs) are left alone: they have no tree to rebase. Files are
    appended to ``written`` as they are replaced, so a caller knows them even if a later
    write fails.
    """
    written = [] if written is None else written
    path = Path(os.path.abspath(path))
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if document_kind(doc) not in ("Catalog", "Collection"):
        return []
    rebase = _rebaser(_former_directory(doc, path), path.parent)
    tree = walk(path, rebase)
    local = [ref for ref in tree.refs if ref.target is not None]
    if tree.problems or not any(is_absolute_local(ref.href) for ref in local):
        return []
    if not all(ref.target is not None and ref.target.is_file() for ref in local):
        return []
    stac_io = _RebasingStacIO(rebase, written)
    root = pystac.read_file(str(path), stac_io=stac_io)
    if not isinstance(root, pystac.Catalog):
        return []
    root.normalize_hrefs(str(path.parent), strategy=_KeepLayout())
    root.make_all_asset_hrefs_relative()
    if isinstance(root, pystac.Collection):
        root.make_asset_hrefs_relative()
    root.save(pystac.CatalogType.SELF_CONTAINED, stac_io=stac_io)
    return written


def make_outputs_self_contained(output_object: dict[str, Any]) -> list[Path]:
    """:func:`make_self_contained` for every catalog of the outputs; fix the output object.

    Rewritten files change size and checksum, so their entries in ``output_object`` are
    updated in place (the caller prints it afterwards). Never raises for a catalog it
    cannot fix: that one is left as it was and reported by :func:`inspect_catalog`.
    """
    rewritten: list[Path] = []
    for output_id, paths in find_stac(output_object).items():
        for path in paths:
            before = len(rewritten)
            try:
                make_self_contained(path, rewritten)
            except Exception as err:  # leave it; the check that follows names the problem
                _logger.warning("output %r: %s not made self-contained: %s", output_id, path, err)
                continue
            if len(rewritten) > before:
                _logger.info("output %r: made %s self-contained", output_id, path)
    if rewritten:
        refresh_files(output_object, {Path(os.path.abspath(p)) for p in rewritten})
    return rewritten


def _former_directory(doc: dict[str, Any], path: Path) -> Path | None:
    for rel in ("self", "root"):
        for link in doc.get("links") or []:
            if not isinstance(link, dict) or link.get("rel") != rel:
                continue
            href = link.get("href")
            if isinstance(href, str) and is_absolute_local(href):
                target = href_path(href, path.parent)
                if target is not None:
                    return target.parent
    return None


def _rebaser(old: Path | None, new: Path) -> Rebase:
    def rebase(path: Path) -> Path:
        if old is None or old == new:
            return path
        try:
            return new / path.relative_to(old)
        except ValueError:
            return path

    return rebase


class _RebasingStacIO(LocalStacIO):
    """Reads documents with their absolute hrefs rebased; writes by temp file + rename."""

    def __init__(self, rebase: Rebase, written: list[Path]) -> None:
        super().__init__()
        self.rebase = rebase
        self.written = written

    def read_text_from_href(self, href: str) -> str:
        path = href_path(href, Path.cwd())
        if path is None:
            raise OSError(f"not a local file, not fetched: {href}")
        path = self.rebase(path)
        doc = json.loads(path.read_text(encoding="utf-8"))
        for link in doc.get("links") or []:
            self._rebase_href(link, path)
        for asset in (doc.get("assets") or {}).values():
            self._rebase_href(asset, path)
        return json.dumps(doc)

    def _rebase_href(self, holder: Any, path: Path) -> None:
        href = holder.get("href") if isinstance(holder, dict) else None
        if isinstance(href, str) and is_absolute_local(href):
            target = href_path(href, path.parent)
            if target is not None:
                holder["href"] = str(self.rebase(target))

    def write_text_to_href(self, href: str, txt: str) -> None:
        path = Path(href)
        atomic_write(path, txt)
        self.written.append(path)


class _KeepLayout(HrefLayoutStrategy):
    """Every object stays where it is: normalize_hrefs only pins the (rebased) self hrefs."""

    def get_catalog_href(self, cat: pystac.Catalog, parent_dir: str, is_root: bool) -> str:
        return str(cat.get_self_href())

    def get_collection_href(self, col: pystac.Collection, parent_dir: str, is_root: bool) -> str:
        return str(col.get_self_href())

    def get_item_href(self, item: pystac.Item, parent_dir: str) -> str:
        return str(item.get_self_href())


def atomic_write(path: Path, text: str) -> None:
    """Write next to ``path`` and rename over it: readers see the old or the new file."""
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        if path.exists():
            os.chmod(temp, path.stat().st_mode & 0o7777)
        else:
            os.chmod(temp, 0o666 & ~_umask())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def refresh_files(value: Any, paths: set[Path]) -> None:
    """Update size/checksum of the File entries for ``paths`` anywhere in an output object."""
    if isinstance(value, list):
        for element in value:
            refresh_files(element, paths)
    elif isinstance(value, dict):
        if value.get("class") == "File":
            path = local_path(value)
            if path is not None and Path(os.path.abspath(path)) in paths:
                data = path.read_bytes()
                value["size"] = len(data)
                if "checksum" in value:
                    value["checksum"] = "sha1$" + hashlib.sha1(data).hexdigest()
        for child in value.values():
            if isinstance(child, list | dict):
                refresh_files(child, paths)
