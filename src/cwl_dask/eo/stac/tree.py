"""Reading a catalog tree as plain JSON: its documents, its hrefs, where they lead.

Why: checking (:mod:`.inspect`) and rebasing (:mod:`.rebase`) both need every document
reachable from a root and every href in them, resolved to local paths — read href by
href, so that a broken tree can be reported in full rather than at pystac's first
missing file. Also the pystac I/O that reads local files only: nothing here opens a URL.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from pystac.stac_io import DefaultStacIO

from cwl_dask.eo.stac.find import document_kind

STRUCTURE_RELS = ("child", "item", "parent", "root", "self")
"""Link relations that make up the catalog's structure; each must lead to a local file."""


def href_path(href: str, base_dir: Path) -> Path | None:
    """The local file an href names, relative hrefs resolved against ``base_dir``.

    None for anything that is not a local file (``https://``, ``s3://`` ...): those are
    never opened here.
    """
    parsed = urlparse(href)
    if parsed.scheme == "file":
        return Path(os.path.normpath(unquote(parsed.path)))
    if len(parsed.scheme) > 1:
        return None
    path = Path(href)
    return Path(os.path.normpath(path if path.is_absolute() else base_dir / path))


def _article(kind: str) -> str:
    return "an" if kind[0] in "AEIOU" else "a"


def is_absolute_local(href: str) -> bool:
    return urlparse(href).scheme == "file" or Path(href).is_absolute()


@dataclass(frozen=True)
class Ref:
    """One href of one document: where it is, what it is, where it leads."""

    source: Path
    what: str  # "child link", "asset 'ndvi'" ...
    href: str
    target: Path | None  # None: not a local file
    is_asset: bool


@dataclass
class Tree:
    """Every document reachable from a root through child/item links, and their hrefs."""

    root: Path
    kinds: dict[Path, str] = field(default_factory=dict)
    docs: dict[Path, dict[str, Any]] = field(default_factory=dict)
    refs: list[Ref] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def items(self) -> list[Path]:
        return [path for path, kind in self.kinds.items() if kind == "Item"]


Rebase = Callable[[Path], Path]


def walk(root: Path, rebase: Rebase = lambda path: path) -> Tree:
    """Read the catalog tree as plain JSON, following child and item links.

    Plain JSON rather than pystac because a broken tree must be reported href by href
    (pystac stops at the first missing file with an error that names neither the
    referencing file nor the href). ``rebase`` maps a path the documents mention to the
    path where the file is now (see :func:`cwl_dask.eo.stac.rebase.make_self_contained`).
    """
    tree = Tree(root)
    queue: list[tuple[Path, tuple[str, ...]]] = [(root, ("Catalog", "Collection", "Item"))]
    seen = {root}
    while queue:
        path, expected = queue.pop(0)
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            tree.problems.append(f"{path}: cannot be read as JSON: {err}")
            continue
        kind = document_kind(doc)
        if kind is None:
            tree.problems.append(f"{path}: not a STAC Catalog, Collection or Item")
            continue
        if kind not in expected:
            linked = " or ".join(expected)
            tree.problems.append(f"{path}: is {_article(kind)} {kind}, linked as {linked}")
            continue
        tree.kinds[path], tree.docs[path] = kind, doc
        for ref in _refs(path, doc, rebase, tree.problems):
            tree.refs.append(ref)
            rel = ref.what.split()[0]
            if ref.is_asset or rel not in ("child", "item") or ref.target is None:
                continue
            if ref.target.is_file() and ref.target not in seen:
                seen.add(ref.target)
                want = ("Item",) if rel == "item" else ("Catalog", "Collection")
                queue.append((ref.target, want))
    return tree


def _refs(path: Path, doc: dict[str, Any], rebase: Rebase, problems: list[str]) -> list[Ref]:
    refs = []
    for link in doc.get("links") or []:
        rel = link.get("rel") if isinstance(link, dict) else None
        if rel not in STRUCTURE_RELS:
            continue
        href = link.get("href")
        if not isinstance(href, str) or not href:
            problems.append(f"{path}: {rel} link without an href")
            continue
        target = href_path(href, path.parent)
        refs.append(Ref(path, f"{rel} link", href, target and rebase(target), False))
    assets = doc.get("assets") or {}
    for key, asset in assets.items() if isinstance(assets, dict) else []:
        href = asset.get("href") if isinstance(asset, dict) else None
        if not isinstance(href, str) or not href:
            problems.append(f"{path}: asset {key!r} without an href")
            continue
        target = href_path(href, path.parent)
        refs.append(Ref(path, f"asset {key!r}", href, target and rebase(target), True))
    return refs


class LocalStacIO(DefaultStacIO):
    """pystac I/O that reads local files only, so that loading never reaches the network."""

    def read_text_from_href(self, href: str) -> str:
        path = href_path(href, Path.cwd())
        if path is None:
            raise OSError(f"not a local file, not fetched: {href}")
        return path.read_text(encoding="utf-8")
