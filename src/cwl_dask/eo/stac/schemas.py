"""JSON-schema validation of a catalog tree, offline or not at all.

Why: pystac validates by downloading the schemas, and a run must not depend on the
network. Schemas are read from pystac's bundled copies or a configured local mirror
(:data:`SCHEMA_DIR_CONFIG`); when one is missing, validation is skipped and the summary
says why, instead of failing the run.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pystac

from cwl_dask.eo.stac.tree import Tree

_logger = logging.getLogger("cwl_dask.eo.stac")

SCHEMA_DIR_CONFIG = "cwl-dask.stac-schemas"
"""Dask config key (env ``DASK_CWL_DASK__STAC_SCHEMAS``) naming a local mirror of schemas."""


def configured_schema_dir() -> Path | None:
    """The local schema mirror from the Dask config (``cwl-dask.stac-schemas``), if any."""
    import dask.config

    value = dask.config.get(SCHEMA_DIR_CONFIG, None)
    return Path(value) if value else None


class _SchemaUnavailable(Exception):
    """A schema is not available offline; validation is skipped, not failed."""


def validate_schemas(tree: Tree, schema_dir: Path | None) -> str:
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
