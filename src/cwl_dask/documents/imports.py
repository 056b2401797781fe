"""Remote documents a CWL package loads — ``$import``, ``$include``, ``$schemas``, ``run:`` —
fetched once into an on-disk cache, so packages run on air-gapped clusters and in CI.

Why: real EO Application Packages ``$import`` the eoap schemas from
raw.githubusercontent.com, ``run:`` released tools by URL and name the schema.org RDF in
``$schemas``. Each load would fetch them again, and a cluster without internet access could
not load the package at all. The cache is keyed by URL; ``cwl-dask fetch-imports`` fills it
ahead of time and ``--offline`` guarantees nothing is fetched.

How: schema-salad's ``Loader`` takes a ``fetcher_constructor`` (cwltool passes
``LoadingContext.fetcher_constructor`` to every loader it makes, for the workflow, its
``run:`` documents and the job order), so :class:`CachingFetcher` — schema-salad's
``DefaultFetcher`` with a disk cache in front of ``http(s)://`` — is all it takes. Only the
driver loads documents: workers rebuild tools from the resolved documents shipped to them
and never fetch anything.

``$schemas`` need one more step: schema-salad fetches them inside a ``try`` that turns any
error into a warning, so a document would load offline with its format ontology silently
missing. The fetcher therefore records every URL it could not serve (:attr:`ImportCache.missing`)
and callers refuse to go on (:meth:`ImportCache.check`) once the document is loaded.

Layout of the cache directory: per URL, ``<sha256>.body`` (the text as fetched) and
``<sha256>.url`` (the URL, for listing); both are written to a temporary file and renamed,
so concurrent runs sharing the cache never see half a file.

Being the loader's fetcher, it is also where cwl-dask accepts packed documents carrying a
stale ``original_cwlVersion`` (see :mod:`cwl_dask.documents.packed`).
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urlsplit

import dask.config
from schema_salad.exceptions import ValidationException
from schema_salad.fetcher import DefaultFetcher

from cwl_dask.documents.packed import without_stale_original_version
from cwl_dask.errors import InvalidInputError

_logger = logging.getLogger("cwl_dask")

CACHE_CONFIG = "cwl-dask.import-cache"
"""Dask config key (env ``DASK_CWL_DASK__IMPORT_CACHE``) naming the cache directory."""

OFFLINE_CONFIG = "cwl-dask.offline"
"""Dask config key (env ``DASK_CWL_DASK__OFFLINE``): never fetch, as ``--offline``."""

REMOTE_SCHEMES = ("http", "https")


def default_cache_dir() -> Path:
    """The user's cache directory for imports: ``$XDG_CACHE_HOME/cwl-dask/imports`` on Linux."""
    from platformdirs import user_cache_path

    return user_cache_path("cwl-dask") / "imports"


def is_remote(url: str) -> bool:
    return urlsplit(url).scheme in REMOTE_SCHEMES


@dataclass
class ImportCache:
    """The cache of remote documents, and what one load did with it.

    ``fetcher`` is the ``fetcher_constructor`` to put into cwltool's ``LoadingContext``.
    """

    directory: Path
    offline: bool = False
    fetched: list[str] = field(default_factory=list)  # downloaded by this process
    used: list[str] = field(default_factory=list)  # every remote URL served, in order
    missing: list[str] = field(default_factory=list)  # offline and not in the cache
    failed: dict[str, str] = field(default_factory=dict)  # online, fetching failed: why

    @classmethod
    def configured(cls, directory: str | Path | None = None, offline: bool = False) -> ImportCache:
        """The cache the options name, else the Dask config's, else the user cache dir."""
        chosen = directory or dask.config.get(CACHE_CONFIG, None) or default_cache_dir()
        offline = offline or _truthy(dask.config.get(OFFLINE_CONFIG, False))
        return cls(Path(chosen).expanduser().resolve(), offline)

    # ----------------------------------------------------------------- storage

    def _stem(self, url: str) -> Path:
        return self.directory / hashlib.sha256(url.encode("utf-8")).hexdigest()

    def get(self, url: str) -> str | None:
        """The cached text of ``url`` (without fragment), or None."""
        try:
            return self._stem(url).with_suffix(".body").read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None

    def put(self, url: str, text: str) -> None:
        """Store ``text`` for ``url``; a cache that cannot be written only costs a warning."""
        stem = self._stem(url)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            write_atomically(stem.with_suffix(".body"), text)
            write_atomically(stem.with_suffix(".url"), url + "\n")
        except OSError as err:
            _logger.warning("cannot write the import cache %s: %s", self.directory, err)

    def urls(self) -> list[str]:
        """Every URL the cache holds, sorted."""
        if not self.directory.is_dir():
            return []
        found = []
        for marker in self.directory.glob("*.url"):
            if marker.with_suffix(".body").is_file():
                found.append(marker.read_text(encoding="utf-8").strip())
        return sorted(found)

    # ----------------------------------------------------------------- loading

    def fetcher(self, cache: Any, session: Any) -> CachingFetcher:
        """schema-salad's ``FetcherCallableType``: a fetcher bound to this cache."""
        return CachingFetcher(cache, session, self)

    def missing_message(self) -> str:
        urls = "\n  ".join(dict.fromkeys(self.missing))
        return (
            f"--offline: not in the import cache {self.directory}:\n  {urls}\n"
            "fetch them once with network access: cwl-dask fetch-imports PACKAGE "
            f"--import-cache {self.directory}"
        )

    def check(self) -> None:
        """Refuse to go on when, offline, a document needed a URL the cache does not hold."""
        if self.missing:
            raise InvalidInputError(self.missing_message())

    def _note(self, target: list[str], url: str) -> None:
        if url not in target:
            target.append(url)


class CachingFetcher(DefaultFetcher):
    """schema-salad's DefaultFetcher with the :class:`ImportCache` in front of http(s)."""

    def __init__(self, cache: Any, session: Any, imports: ImportCache) -> None:
        super().__init__(cache, session)
        self.imports = imports

    def fetch_text(self, url: str, content_types: list[str] | None = None) -> str:
        return without_stale_original_version(self._text(url, content_types), url)

    def _text(self, url: str, content_types: list[str] | None) -> str:
        if not is_remote(url):
            return super().fetch_text(url, content_types)
        key = urldefrag(url)[0]
        self.imports._note(self.imports.used, key)
        text = self.imports.get(key)
        if text is not None:
            return text
        if self.imports.offline:
            self.imports._note(self.imports.missing, key)
            raise ValidationException(f"--offline: {key} is not in the import cache")
        try:
            text = super().fetch_text(url, content_types)
        except ValidationException as err:
            self.imports.failed[key] = str(err)
            raise
        self.imports.put(key, text)
        self.imports._note(self.imports.fetched, key)
        _logger.info("fetched %s into the import cache", key)
        return text

    def check_exists(self, url: str) -> bool:
        """A cached URL exists; offline, an unknown remote one is assumed to.

        schema-salad asks this for links it did not load (e.g. a default ``File`` whose
        ``location`` is an http URL): that is data, staged when the tool runs, not a
        document to import, so being offline is no reason to refuse the package.
        """
        if is_remote(url):
            key = urldefrag(url)[0]
            if self.imports.get(key) is not None:
                return True
            if self.imports.offline:
                return True
        return super().check_exists(url)


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def write_atomically(path: Path, data: str | bytes) -> None:
    """Write a private file (mode 600) next to ``path`` and rename it over ``path``, so
    concurrent runs sharing a cache never see half a file."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
