"""The STAC results of a run: find them in the output object, check them, wrap them.

Why: an EO Application Package's result is a STAC catalog (OGC 20-089r1: "a valid STAC
Catalog, named catalog.json", with Items and Assets pointing to the results), and what
consumes it — a stage-out step, ZOO-Project's execution handler — reads it by following
hrefs. A catalog with a dangling href, or with absolute paths into a work directory that
was removed after the run, fails there, far from the run and with an unhelpful message.
Checked right after the run, locally and without the network, the same fault becomes one
message naming the output, the file and the href.

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

Nothing here opens a URL: hrefs that are not local files are never fetched, and JSON
schemas are only read from pystac's bundled copies or a configured local directory.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pystac
from pystac.layout import HrefLayoutStrategy
from pystac.stac_io import DefaultStacIO

from cwl_dask.errors import InvalidInputError, StacError

_logger = logging.getLogger("cwl_dask.eo.stac")

CATALOG_FILES = ("catalog.json", "collection.json")
"""Names of a root document in a directory, in order of preference (the BP's name first)."""

STRUCTURE_RELS = ("child", "item", "parent", "root", "self")
"""Link relations that make up the catalog's structure; each must lead to a local file."""

SCHEMA_DIR_CONFIG = "cwl-dask.stac-schemas"
"""Dask config key (env ``DASK_CWL_DASK__STAC_SCHEMAS``) naming a local mirror of schemas."""

_JSON_SUFFIXES = (".json", ".geojson")
_MAX_PROBLEMS = 5  # problems spelled out in one error message; the rest are counted


# --------------------------------------------------------------------------- finding


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
    return _kind(doc)


def _stac_in(value: Any) -> Iterator[Path]:
    if isinstance(value, list):
        for element in value:
            yield from _stac_in(element)
    elif isinstance(value, dict):
        cls = value.get("class")
        if cls in ("File", "Directory"):
            path = _local_path(value)
            if path is None:
                return
            if cls == "Directory" and path.is_dir():
                yield from catalogs_in_directory(path)
            elif cls == "File" and stac_type(path) is not None:
                yield path
        elif cls is None:  # a record output: look at its fields
            for field_value in value.values():
                yield from _stac_in(field_value)


def _local_path(entry: Mapping[str, Any]) -> Path | None:
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


def _kind(doc: Any) -> str | None:
    if not isinstance(doc, dict):
        return None
    kind = doc.get("type")
    if kind in ("Catalog", "Collection"):
        return str(kind)
    if kind == "Feature" and "stac_version" in doc:
        return "Item"
    return None


# --------------------------------------------------------------------------- walking


def _href_path(href: str, base_dir: Path) -> Path | None:
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


def _is_absolute_local(href: str) -> bool:
    return urlparse(href).scheme == "file" or Path(href).is_absolute()


@dataclass(frozen=True)
class _Ref:
    """One href of one document: where it is, what it is, where it leads."""

    source: Path
    what: str  # "child link", "asset 'ndvi'" ...
    href: str
    target: Path | None  # None: not a local file
    is_asset: bool


@dataclass
class _Tree:
    """Every document reachable from a root through child/item links, and their hrefs."""

    root: Path
    kinds: dict[Path, str] = field(default_factory=dict)
    docs: dict[Path, dict[str, Any]] = field(default_factory=dict)
    refs: list[_Ref] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def items(self) -> list[Path]:
        return [path for path, kind in self.kinds.items() if kind == "Item"]


Rebase = Callable[[Path], Path]


def _walk(root: Path, rebase: Rebase = lambda path: path) -> _Tree:
    """Read the catalog tree as plain JSON, following child and item links.

    Plain JSON rather than pystac because a broken tree must be reported href by href
    (pystac stops at the first missing file with an error that names neither the
    referencing file nor the href). ``rebase`` maps a path the documents mention to the
    path where the file is now (see :func:`make_self_contained`).
    """
    tree = _Tree(root)
    queue: list[tuple[Path, tuple[str, ...]]] = [(root, ("Catalog", "Collection", "Item"))]
    seen = {root}
    while queue:
        path, expected = queue.pop(0)
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            tree.problems.append(f"{path}: cannot be read as JSON: {err}")
            continue
        kind = _kind(doc)
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


def _refs(path: Path, doc: dict[str, Any], rebase: Rebase, problems: list[str]) -> list[_Ref]:
    refs = []
    for link in doc.get("links") or []:
        rel = link.get("rel") if isinstance(link, dict) else None
        if rel not in STRUCTURE_RELS:
            continue
        href = link.get("href")
        if not isinstance(href, str) or not href:
            problems.append(f"{path}: {rel} link without an href")
            continue
        target = _href_path(href, path.parent)
        refs.append(_Ref(path, f"{rel} link", href, target and rebase(target), False))
    assets = doc.get("assets") or {}
    for key, asset in assets.items() if isinstance(assets, dict) else []:
        href = asset.get("href") if isinstance(asset, dict) else None
        if not isinstance(href, str) or not href:
            problems.append(f"{path}: asset {key!r} without an href")
            continue
        target = _href_path(href, path.parent)
        refs.append(_Ref(path, f"asset {key!r}", href, target and rebase(target), True))
    return refs


# --------------------------------------------------------------------------- inspecting


@dataclass(frozen=True)
class StacSummary:
    """One checked STAC root: what it holds, for the run summary and the results collection."""

    catalog: Path  # the root document (catalog.json, collection.json, or a lone Item)
    root: pystac.STACObject
    items: tuple[pystac.Item, ...]
    assets: int  # every asset of every document of the tree
    remote_assets: int = 0  # assets whose href is not a local file (counted, not checked)
    output_id: str | None = None
    schema: str = "not validated"  # "valid", or why schemas were not checked

    def to_json(self) -> dict[str, Any]:
        """The shape ``run --stac`` and ``stac --json`` print for one catalog."""
        return {"catalog": str(self.catalog), "items": len(self.items), "assets": self.assets}

    def describe(self) -> str:
        """One line for people."""
        kind = type(self.root).__name__
        remote = f" ({self.remote_assets} not local, not checked)" if self.remote_assets else ""
        return (
            f"{kind} {self.root.id!r}: {len(self.items)} items, {self.assets} assets{remote}; "
            f"JSON schema: {self.schema}"
        )


def inspect_catalog(
    path: Path, output_id: str | None = None, *, schema_dir: Path | None = None
) -> StacSummary:
    """Open a STAC root with pystac after checking that its structure holds together.

    Every child/item/parent/root/self link href and every local asset href must resolve to
    an existing file (relative hrefs against the file that holds them); child and item
    links must lead to documents of the right type. Link hrefs that are not local files
    are errors (the catalog must be complete where it is, to be staged out); asset hrefs
    that are not local files are counted and left alone (nothing is fetched).

    JSON-schema validation runs when ``jsonschema`` is importable and every schema needed
    is local: pystac's bundled ones (STAC 1.1.0) or ``schema_dir`` / the Dask config key
    ``cwl-dask.stac-schemas`` (a mirror laid out as ``<host>/<path>``, e.g.
    ``schemas.stacspec.org/v1.0.0/item-spec/json-schema/item.json``). Otherwise it is
    skipped and ``schema`` says why — pystac would download the schemas, and a run must
    not depend on the network.

    Raises :class:`StacError` naming the output, the file and the bad href.
    """
    path = Path(os.path.abspath(path))
    tree = _walk(path)
    problems = list(tree.problems)
    remote_assets = 0
    for ref in tree.refs:
        if ref.target is None:
            if ref.is_asset:
                remote_assets += 1
            else:
                problems.append(f"{ref.source}: {ref.what} href {ref.href!r} is not a local file")
        elif not ref.target.is_file():
            problems.append(
                f"{ref.source}: {ref.what} href {ref.href!r} does not resolve to an existing "
                f"file ({ref.target})"
            )
    if problems:
        raise _stac_error(output_id, path, problems)

    stac_io = _LocalStacIO()
    try:
        root = pystac.read_file(str(path), stac_io=stac_io)
    except Exception as err:  # pystac raises many kinds on odd documents; name the file
        raise _stac_error(output_id, path, [f"{path}: pystac cannot read it: {err}"]) from err
    items = []
    for item_path in tree.items:
        try:
            items.append(pystac.Item.from_file(str(item_path), stac_io=stac_io))
        except Exception as err:
            message = f"{item_path}: pystac cannot read it: {err}"
            raise _stac_error(output_id, path, [message]) from err

    schema = _validate_schemas(tree, schema_dir if schema_dir else configured_schema_dir())
    if schema.startswith("invalid"):
        raise _stac_error(output_id, path, [schema.removeprefix("invalid: ")])
    assets = sum(1 for ref in tree.refs if ref.is_asset)
    return StacSummary(
        path, root, tuple(items), assets, remote_assets, output_id=output_id, schema=schema
    )


def _stac_error(output_id: str | None, root: Path, problems: list[str]) -> StacError:
    what = f"STAC output {output_id!r} ({root})" if output_id else f"STAC catalog {root}"
    lines = problems[:_MAX_PROBLEMS]
    if len(problems) > _MAX_PROBLEMS:
        lines.append(f"... and {len(problems) - _MAX_PROBLEMS} more")
    return StacError(f"{what} is broken:\n  " + "\n  ".join(lines))


class _LocalStacIO(DefaultStacIO):
    """pystac I/O that reads local files only, so that loading never reaches the network."""

    def read_text_from_href(self, href: str) -> str:
        path = _href_path(href, Path.cwd())
        if path is None:
            raise OSError(f"not a local file, not fetched: {href}")
        return path.read_text(encoding="utf-8")


# --------------------------------------------------------------------------- schemas


def configured_schema_dir() -> Path | None:
    """The local schema mirror from the Dask config (``cwl-dask.stac-schemas``), if any."""
    import dask.config

    value = dask.config.get(SCHEMA_DIR_CONFIG, None)
    return Path(value) if value else None


class _SchemaUnavailable(Exception):
    """A schema is not available offline; validation is skipped, not failed."""


def _validate_schemas(tree: _Tree, schema_dir: Path | None) -> str:
    """``valid``, ``invalid: <file>: <reason>``, or why validation was skipped."""
    try:
        import jsonschema
        from pystac.validation.local_validator import get_local_schema_cache
        from pystac.validation.schema_uri_map import DefaultSchemaUriMap
        from referencing import Registry, Resource
        from referencing.jsonschema import DRAFT7
    except ImportError:
        return "not validated (jsonschema is not installed: pip install 'pystac[validation]')"

    bundled = get_local_schema_cache()

    def load(uri: str) -> dict[str, Any]:
        if uri in bundled:
            return bundled[uri]
        parsed = urlparse(uri)
        if schema_dir is not None and parsed.netloc:
            local = schema_dir / parsed.netloc / parsed.path.lstrip("/")
            if local.is_file():
                schema: dict[str, Any] = json.loads(local.read_text(encoding="utf-8"))
                return schema
        raise _SchemaUnavailable(uri)

    def retrieve(uri: str) -> Any:
        return Resource.from_contents(load(uri), default_specification=DRAFT7)

    registry: Any = Registry(retrieve=retrieve)  # type: ignore[call-arg]
    uri_map = DefaultSchemaUriMap()
    object_types = {
        "Catalog": pystac.STACObjectType.CATALOG,
        "Collection": pystac.STACObjectType.COLLECTION,
        "Item": pystac.STACObjectType.ITEM,
    }
    try:
        for path, doc in tree.docs.items():
            version = str(doc.get("stac_version", ""))
            uris = [uri_map.get_object_schema_uri(object_types[tree.kinds[path]], version)]
            uris.extend(str(uri) for uri in doc.get("stac_extensions") or [])
            for uri in uris:
                if uri is None:
                    raise _SchemaUnavailable(f"STAC {version!r}")
                schema = load(uri)
                validator = jsonschema.validators.validator_for(schema)(schema, registry=registry)
                error = jsonschema.exceptions.best_match(validator.iter_errors(doc))
                if error is not None:
                    where = "/".join(map(str, error.absolute_path)) or "(top)"
                    return f"invalid: {path}: does not match {uri} at {where}: {error.message}"
    except Exception as err:  # a schema, or one it references ($ref), is not local
        missing = _schema_unavailable(err)
        if missing is None:  # e.g. a malformed schema in the mirror: say so, do not fail
            _logger.warning("STAC schema validation failed: %s: %s", type(err).__name__, err)
            return f"not validated (schema error: {type(err).__name__})"
        return f"not validated ({missing} is not available offline; see {SCHEMA_DIR_CONFIG})"
    return "valid"


def _schema_unavailable(err: BaseException | None) -> _SchemaUnavailable | None:
    """The _SchemaUnavailable behind an error (referencing and jsonschema wrap it)."""
    seen = set()
    while err is not None and id(err) not in seen:
        if isinstance(err, _SchemaUnavailable):
            return err
        seen.add(id(err))
        err = err.__cause__ or err.__context__
    return None


# --------------------------------------------------------------------------- self-contained


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
    if _kind(doc) not in ("Catalog", "Collection"):
        return []
    rebase = _rebaser(_former_directory(doc, path), path.parent)
    tree = _walk(path, rebase)
    local = [ref for ref in tree.refs if ref.target is not None]
    if tree.problems or not any(_is_absolute_local(ref.href) for ref in local):
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
        _refresh_files(output_object, {Path(os.path.abspath(p)) for p in rewritten})
    return rewritten


def _former_directory(doc: dict[str, Any], path: Path) -> Path | None:
    for rel in ("self", "root"):
        for link in doc.get("links") or []:
            if not isinstance(link, dict) or link.get("rel") != rel:
                continue
            href = link.get("href")
            if isinstance(href, str) and _is_absolute_local(href):
                target = _href_path(href, path.parent)
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


class _RebasingStacIO(_LocalStacIO):
    """Reads documents with their absolute hrefs rebased; writes by temp file + rename."""

    def __init__(self, rebase: Rebase, written: list[Path]) -> None:
        super().__init__()
        self.rebase = rebase
        self.written = written

    def read_text_from_href(self, href: str) -> str:
        path = _href_path(href, Path.cwd())
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
        if isinstance(href, str) and _is_absolute_local(href):
            target = _href_path(href, path.parent)
            if target is not None:
                holder["href"] = str(self.rebase(target))

    def write_text_to_href(self, href: str, txt: str) -> None:
        path = Path(href)
        _atomic_write(path, txt)
        self.written.append(path)


class _KeepLayout(HrefLayoutStrategy):
    """Every object stays where it is: normalize_hrefs only pins the (rebased) self hrefs."""

    def get_catalog_href(self, cat: pystac.Catalog, parent_dir: str, is_root: bool) -> str:
        return str(cat.get_self_href())

    def get_collection_href(self, col: pystac.Collection, parent_dir: str, is_root: bool) -> str:
        return str(col.get_self_href())

    def get_item_href(self, item: pystac.Item, parent_dir: str) -> str:
        return str(item.get_self_href())


def _atomic_write(path: Path, text: str) -> None:
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


def _refresh_files(value: Any, paths: set[Path]) -> None:
    """Update size/checksum of the File entries for ``paths`` anywhere in an output object."""
    if isinstance(value, list):
        for element in value:
            _refresh_files(element, paths)
    elif isinstance(value, dict):
        if value.get("class") == "File":
            path = _local_path(value)
            if path is not None and Path(os.path.abspath(path)) in paths:
                data = path.read_bytes()
                value["size"] = len(data)
                if "checksum" in value:
                    value["checksum"] = "sha1$" + hashlib.sha1(data).hexdigest()
        for child in value.values():
            if isinstance(child, list | dict):
                _refresh_files(child, paths)


# --------------------------------------------------------------------------- results


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
    _atomic_write(path, text)
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
                target = _href_path(str(link.get("href", "")), base)
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


# --------------------------------------------------------------------------- run level


@dataclass(frozen=True)
class StacReport:
    """The checked STAC of a run (by output id) or of a directory (by relative path)."""

    summaries: dict[str, list[StacSummary]]
    collection: Path | None = None

    def to_json(self) -> dict[str, Any]:
        """``{"stac": {key: summary}}``; a key with several catalogs gets a list of them."""
        return {
            "stac": {
                key: found[0].to_json() if len(found) == 1 else [s.to_json() for s in found]
                for key, found in self.summaries.items()
            }
        }

    def describe(self) -> str:
        lines = [
            f"{key}: {summary.catalog}\n  {summary.describe()}"
            for key, found in self.summaries.items()
            for summary in found
        ]
        if self.collection is not None:
            lines.append(f"results collection: {self.collection}")
        return "\n".join(lines)


def check_outputs(
    output_object: Mapping[str, Any],
    outdir: str | Path,
    collection_id: str | None = None,
    *,
    schema_dir: Path | None = None,
) -> StacReport:
    """Check every STAC output of a finished run; write the results collection if asked.

    ``<outdir>/<collection_id>.json`` is refused (StacError) when it is one of the run's
    outputs: a results collection never replaces a result.
    """
    found = find_stac(output_object)
    if not found:
        _logger.warning("no STAC catalog among the outputs")
    summaries = {
        output_id: [inspect_catalog(p, output_id, schema_dir=schema_dir) for p in paths]
        for output_id, paths in found.items()
    }
    for output_id, checked in summaries.items():
        for summary in checked:
            _logger.info("output %r: %s", output_id, summary.describe())
    collection_path = None
    if collection_id is not None:
        target = Path(os.path.abspath(Path(outdir) / f"{collection_id}.json"))
        if target in _output_paths(output_object):
            raise StacError(
                f"--stac-collection {collection_id}: {target} is an output of the run; "
                "choose another collection id"
            )
        every = [summary for checked in summaries.values() for summary in checked]
        collection = results_collection(every, collection_id)
        collection_path = write_results_collection(collection, target)
        _logger.info("results collection written to %s", collection_path)
    return StacReport(summaries, collection_path)


def check_directory(target: Path, *, schema_dir: Path | None = None) -> StacReport:
    """Check the catalogs of an existing run: ``target`` is its outdir or one STAC file.

    Keys are paths relative to ``target``. Raises InvalidInputError (exit 2) when there is
    no STAC to check, StacError (exit 1) when a catalog is broken.
    """
    target = Path(os.path.abspath(target))
    if target.is_dir():
        roots = catalogs_under(target)
        keys = [str(root.relative_to(target)) for root in roots]
    elif stac_type(target) is not None:
        roots, keys = [target], [target.name]
    else:
        raise InvalidInputError(f"{target} is not a STAC Catalog, Collection or Item")
    if not roots:
        raise InvalidInputError(f"no {' or '.join(CATALOG_FILES)} under {target}")
    return StacReport(
        {
            key: [inspect_catalog(root, schema_dir=schema_dir)]
            for key, root in zip(keys, roots, strict=True)
        }
    )


def _output_paths(value: Any) -> set[Path]:
    paths: set[Path] = set()
    if isinstance(value, list):
        for element in value:
            paths |= _output_paths(element)
    elif isinstance(value, dict):
        if value.get("class") in ("File", "Directory"):
            path = _local_path(value)
            if path is not None:
                paths.add(Path(os.path.abspath(path)))
        for child in value.values():
            if isinstance(child, list | dict):
                paths |= _output_paths(child)
    return paths
