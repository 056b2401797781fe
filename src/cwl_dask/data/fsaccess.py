"""cwltool's file access over the store, for what the driver itself reads.

The driver evaluates workflow-level expressions (``valueFrom`` with ``self.contents``,
``loadContents`` of step inputs, dynamic ``ResourceRequirement``) on files that, in store
mode, are store URLs. cwltool reads them through ``RuntimeContext.make_fs_access``; this
subclass of its ``StdFsAccess`` sends URLs of the store's protocol to fsspec and everything
else to cwltool's own code, as Toil's ``ToilFsAccess`` does for its job store and
StreamFlow's ``RemoteStreamFlowFsAccess`` for its remote locations.
"""

from __future__ import annotations

import functools
from typing import IO, Any

from cwltool.stdfsaccess import StdFsAccess

from cwl_dask.data.store import filesystem_for
from cwl_dask.data.transfer import EMPTY_MARKER


class StoreFsAccess(StdFsAccess):
    """``StdFsAccess`` that also reads ``<protocol>://`` locations, through fsspec."""

    def __init__(
        self, basedir: str, protocol: str = "s3", storage_options: dict[str, Any] | None = None
    ) -> None:
        super().__init__(basedir)
        self.protocol = protocol
        self.storage_options = storage_options or {}

    @staticmethod
    def factory(protocol: str, storage_options: dict[str, Any]) -> Any:
        """What ``RuntimeContext.make_fs_access`` takes: called with the base directory."""
        return functools.partial(StoreFsAccess, protocol=protocol, storage_options=storage_options)

    def _remote(self, path: str) -> bool:
        return path.startswith(f"{self.protocol}://")

    @property
    def _fs(self) -> Any:
        return filesystem_for(self.protocol, self.storage_options)

    def glob(self, pattern: str) -> list[str]:
        if not self._remote(pattern):
            return super().glob(pattern)
        return [self._fs.unstrip_protocol(p) for p in self._fs.glob(pattern)]

    def open(self, fn: str, mode: str) -> IO[Any]:
        if not self._remote(fn):
            return super().open(fn, mode)
        return self._fs.open(fn, mode)  # type: ignore[no-any-return]

    def exists(self, fn: str) -> bool:
        return self._fs.exists(fn) if self._remote(fn) else super().exists(fn)  # type: ignore[no-any-return]

    def size(self, fn: str) -> int:
        return int(self._fs.size(fn)) if self._remote(fn) else super().size(fn)

    def isfile(self, fn: str) -> bool:
        return self._fs.isfile(fn) if self._remote(fn) else super().isfile(fn)  # type: ignore[no-any-return]

    def isdir(self, fn: str) -> bool:
        return self._fs.isdir(fn) if self._remote(fn) else super().isdir(fn)  # type: ignore[no-any-return]

    def listdir(self, fn: str) -> list[str]:
        if not self._remote(fn):
            return super().listdir(fn)
        entries = self._fs.ls(fn, detail=False)
        return [
            self._fs.unstrip_protocol(e)
            for e in entries
            if e.rstrip("/").rsplit("/", 1)[-1] != EMPTY_MARKER
        ]

    def join(self, path: str, *paths: str) -> str:
        if not self._remote(path):
            return super().join(path, *paths)
        return "/".join([path.rstrip("/"), *(p.strip("/") for p in paths)])

    def realpath(self, path: str) -> str:
        return path if self._remote(path) else super().realpath(path)
