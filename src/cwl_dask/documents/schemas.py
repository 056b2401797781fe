"""cwltool's parsed CWL schemas, kept on disk between runs.

Why: every cwltool process parses the CWL schema of the document's version from YAML, and
the whole v1.0 schema as well (``Process.__init__`` takes the File, Directory and Any types
from it): about 1 s of CPU, the largest part of a short run's start-up, paid again by every
run, every ``validate`` and every worker process. Measured: building v1.0 and v1.2 took
0.98 s, loading both from a pickle 0.03 s.

How: cwltool keeps parsed schemas in its own in-process cache, ``cwltool.process.SCHEMA_CACHE``,
which ``get_schema`` fills and reads. :func:`prepare` — cwl-dask's ``custom_schema_callback``,
called by cwltool after it chose the schemas and before it loads anything — registers the
``DaskGatewayRequirement`` extension and then fills that cache from one pickle in the user's
cache directory. On a miss it has cwltool build v1.0, v1.1 and v1.2 and saves them, before any
document is loaded: the loaders cwltool makes later share the schema loader's text cache, so a
schema saved after a run would carry that run's documents.

The file's name is a hash of everything the parsed schemas depend on (cwltool, schema-salad
and Python versions, the extension schemas), so an upgrade or another extension makes a new
file; one that does not load is rebuilt. Only a file owned by this user and writable by no
one else is unpickled. Dask config ``cwl-dask.schema-cache`` names the directory (default:
``$XDG_CACHE_HOME/cwl-dask/schemas``); ``false`` turns the cache off.
"""

from __future__ import annotations

import copyreg
import hashlib
import io
import json
import logging
import os
import pickle
import stat
import sys
from pathlib import Path
from typing import Any

from cwltool.update import INTERNAL_VERSION

from cwl_dask.documents.imports import write_atomically

_logger = logging.getLogger("cwl_dask")

CACHE_CONFIG = "cwl-dask.schema-cache"
"""Dask config key (env ``DASK_CWL_DASK__SCHEMA_CACHE``): the directory, or false for none."""

#: The CWL versions built on a miss: every released one (cwltool parses v1.0 in every run),
#: and cwltool's internal one: cwltool upgrades a workflow to it, then validates each
#: document a step runs (``run: tool.cwl``) against it, so a workflow whose steps are files
#: parsed that schema from YAML in every run (issue 30: ≈ 0.3 s of CPU, a third of
#: ``one_step``'s start-up, measured with cProfile).
VERSIONS = ("v1.0", "v1.1", "v1.2", INTERNAL_VERSION)
#: Bumped when what is pickled changes shape.
FORMAT = 1


class _SecretsHintKnown(logging.Filter):
    """Drops cwltool's warnings that its own ``cwltool:Secrets`` hint (and the other
    :attr:`KNOWN` hints) is unknown.

    cwltool checks hints against the standard schema (its extensions are loaded only with
    ``--enable-ext``), so every process carrying that hint draws "undefined reference" and
    "Unknown hint" warnings at every load — in the driver and for every tool a worker
    rebuilds — although cwltool applies the hint. cwl-dask's staging tools carry it (their
    S3 credentials): without this, each wrapped run would print those warnings by the dozen.
    """

    #: cwltool's hints that it applies without ``--enable-ext``: Secrets, and CUDARequirement
    #: (a GPU step's device count, which cwl-dask makes the Dask resource ``gpu``); and
    #: cwl-dask's own Placement hint, read by the pools.
    KNOWN = ("cwltool#Secrets", "cwltool#CUDARequirement", "cwl-dask/schema#Placement")

    def filter(self, record: logging.LogRecord) -> bool:
        text = " ".join(str(record.msg).split())  # schema-salad wraps its lines
        if not any(hint in text for hint in self.KNOWN):
            return True
        return "undefined reference" not in text and "Unknown hint" not in text


_SECRETS_HINT_KNOWN = _SecretsHintKnown()


def prepare() -> None:
    """Register cwl-dask's extension schema, then fill cwltool's schema cache from disk."""
    from cwl_dask.clusters import stepclusters

    for name in ("salad", "cwltool"):  # once per logger: addFilter ignores a repeat
        logging.getLogger(name).addFilter(_SECRETS_HINT_KNOWN)
    stepclusters.register_schema()
    from cwltool.process import SCHEMA_CACHE

    wanted = [version for version in VERSIONS if version not in SCHEMA_CACHE]
    directory = cache_dir() if wanted else None  # each new tool on a worker comes here
    if directory is None:
        return
    path = directory / f"schemas-{_fingerprint()}.pickle"
    saved = _load(path)
    if saved is not None and all(version in saved for version in wanted):
        for version in wanted:
            SCHEMA_CACHE[version] = saved[version]
        return
    _build_and_save(path)


def cache_dir() -> Path | None:
    """The configured cache directory, or None when the cache is off."""
    import dask.config

    configured = dask.config.get(CACHE_CONFIG, None)
    if configured in (False, 0) or str(configured).lower() in ("false", "off", "no", "0"):
        return None
    if configured:
        return Path(str(configured)).expanduser()
    from platformdirs import user_cache_path

    return user_cache_path("cwl-dask") / "schemas"


def _fingerprint() -> str:
    from importlib.metadata import version

    from cwltool.process import custom_schemas

    key = {
        "format": FORMAT,
        "python": sys.version,
        "cwltool": version("cwltool"),
        "schema-salad": version("schema-salad"),
        "extensions": sorted(custom_schemas.items()),
    }
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:20]


def _load(path: Path) -> dict[str, Any] | None:
    try:
        with open(path, "rb") as handle:
            info = os.fstat(handle.fileno())
            if info.st_uid != os.getuid() or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
                _logger.debug("not using %s: another user may write it", path)
                return None
            saved = pickle.load(handle)  # this user's own file, checked above
    except FileNotFoundError:
        return None
    except Exception as err:  # a truncated or outdated file: rebuild it
        _logger.debug("cannot load the schema cache %s: %r", path, err)
        return None
    return saved if isinstance(saved, dict) else None


def _build_and_save(path: Path) -> None:
    from cwltool.process import SCHEMA_CACHE, get_schema

    for version in VERSIONS:
        get_schema(version)
    built = {version: SCHEMA_CACHE[version] for version in VERSIONS}
    try:
        data = _dumps(built)
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_atomically(path, data)
    except Exception as err:  # a read-only home, a full disk: run without the cache
        _logger.debug("cannot save the schema cache %s: %r", path, err)


def _dumps(schemas: dict[str, Any]) -> bytes:
    """Pickle schema-salad's loaders, whose ``NormDict`` index needs its ``normalize`` first.

    The default pickling of a dict subclass restores the items before the attributes, and
    ``NormDict.__setitem__`` calls ``self.normalize``; this reducer passes it to the
    constructor. Local to this pickler: nothing else in the process changes.
    """
    from schema_salad.ref_resolver import NormDict

    def reduce_normdict(value: Any) -> tuple[Any, ...]:
        return (NormDict, (value.normalize,), None, None, iter(dict.items(value)))

    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = {**copyreg.dispatch_table, NormDict: reduce_normdict}
    pickler.dump(schemas)
    return buffer.getvalue()
