"""Where a cache is: a local folder or an fsspec URL, checked before a run.

A local folder is written through fsspec's ``file`` protocol, so one code path serves both;
the folder must then be visible to every worker (the driver checks that, as for a local
``--workdir``). A URL is probed with a write, read and delete before anything runs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from cwl_dask.data.store import (
    Store,
    check_writable,
    configured_options,
    filesystem_for,
    is_url,
)
from cwl_dask.errors import InvalidInputError

#: The runtime option (shipped with every task) that gives a worker the cache.
CACHE_OPTION = "cwl_dask_cache"


@dataclass(frozen=True)
class CacheLocation(Store):
    """The cache's root URL (``file:///abs/path`` for a local folder) and storage options:
    a :class:`Store` (one fsspec URL and its options, shipped to the workers the same way)."""

    @property
    def local(self) -> bool:
        return self.protocol == "file"

    @property
    def display(self) -> str:
        """The cache as the user named it: a path for a folder, else the URL."""
        return self.url[len("file://") :] if self.local else self.url

    def filesystem(self) -> Any:
        if self.local:  # a folder: parents are made as objects are written, as in a store
            return filesystem_for("file", {"auto_mkdir": True})
        return super().filesystem()

    @staticmethod
    def from_shipped(value: Any) -> CacheLocation | None:
        store = Store.from_shipped(value)
        return CacheLocation(store.url, store.storage_options) if store is not None else None

    @staticmethod
    def parse(value: str) -> CacheLocation:
        """``DIR``, ``file:///DIR`` or ``s3://bucket/prefix``; nothing is checked here."""
        if is_url(value):
            return CacheLocation(value.rstrip("/"), configured_options())
        path = value[len("file://") :] if value.startswith("file://") else value
        return CacheLocation(f"file://{os.path.abspath(path)}")


def open_cache(value: str) -> CacheLocation:
    """The cache named by ``--cachedir``, created (a folder) or probed (a URL): exit 2 if not."""
    location = CacheLocation.parse(value)
    if location.local:
        try:
            os.makedirs(location.display, exist_ok=True)
        except OSError as err:
            raise InvalidInputError(f"--cachedir {value}: cannot create it: {err}") from None
        if not os.access(location.display, os.W_OK):
            raise InvalidInputError(f"--cachedir {value}: not writable")
        return location
    check_writable(location.url, location.storage_options, "--cachedir")
    return location
