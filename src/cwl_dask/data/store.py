"""What a store is: an fsspec URL, the storage options to reach it, and the check before a run.

``--workdir s3://bucket/prefix`` (any fsspec protocol: ``gs://``, ``az://``…) makes the
run's intermediate files live under ``<prefix>/cwl-dask-<id>/`` instead of a shared
directory. Credentials and endpoint come from where the fsspec backend reads them (for
s3fs: botocore's ``AWS_*`` variables and profiles) and from the Dask config key
``cwl-dask.storage-options`` (a mapping passed to ``fsspec.filesystem``), which the driver
also ships to the workers with every task, so a platform sets it once. A store that cannot
be used is refused before anything runs, naming the URL.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from cwl_dask.errors import InvalidInputError

#: The runtime option (shipped with every task) that puts a worker in store mode.
STORE_OPTION = "cwl_dask_store"
#: Dask config key whose mapping is passed to ``fsspec.filesystem``.
CONFIG_KEY = "cwl-dask.storage-options"


def is_url(value: str | None) -> bool:
    """Whether ``value`` names object storage (``s3://…``) rather than a local path."""
    if not value or "://" not in value:
        return False
    return not value.startswith("file://")


def protocol_of(url: str) -> str:
    return url.split("://", 1)[0]


def configured_options() -> dict[str, Any]:
    """``cwl-dask.storage-options`` from the Dask config (``DASK_CWL_DASK__STORAGE_OPTIONS``)."""
    import dask.config

    options = dask.config.get(CONFIG_KEY, default=None) or {}
    if not isinstance(options, dict):
        raise InvalidInputError(f"Dask config {CONFIG_KEY} must be a mapping, not {options!r}")
    return dict(options)


@dataclass(frozen=True)
class Store:
    """One run's prefix in object storage: every URL of the run starts with ``url``."""

    url: str
    storage_options: dict[str, Any] = field(default_factory=dict)

    @property
    def protocol(self) -> str:
        return protocol_of(self.url)

    @property
    def run_id(self) -> str:
        return self.url.rstrip("/").rsplit("/", 1)[-1]

    def filesystem(self) -> Any:
        return filesystem_for(self.protocol, self.storage_options)

    def handles(self, location: str) -> bool:
        """Whether ``location`` is read through this store's filesystem."""
        return location.startswith(f"{self.protocol}://")

    def join(self, *parts: str) -> str:
        return "/".join([self.url.rstrip("/"), *(p.strip("/") for p in parts if p)])

    def shipped(self) -> dict[str, Any]:
        """The picklable form a task carries (see :data:`STORE_OPTION`)."""
        return {"url": self.url, "storage_options": dict(self.storage_options)}

    @staticmethod
    def from_shipped(value: Any) -> Store | None:
        if not isinstance(value, dict) or not value.get("url"):
            return None
        return Store(str(value["url"]), dict(value.get("storage_options") or {}))


def filesystem_for(protocol: str, storage_options: dict[str, Any]) -> Any:
    """The fsspec filesystem (fsspec caches instances per protocol and options)."""
    try:
        import fsspec
    except ImportError as err:  # pragma: no cover - the s3 extra is missing
        raise InvalidInputError(
            f"{protocol}:// storage needs fsspec (pip install 'cwl-dask[s3]')"
        ) from err
    try:
        return fsspec.filesystem(protocol, **storage_options)
    except (ImportError, ValueError) as err:
        raise InvalidInputError(
            f"{protocol}:// storage is not available: {err} (for s3://: pip install 'cwl-dask[s3]')"
        ) from err


def open_run(workdir: str, option: str = "--workdir") -> Store:
    """A fresh run prefix under ``workdir``, after proving the store can be written and read.

    The probe object is written, read back and removed: a missing bucket, refused or missing
    credentials and an unreachable endpoint all end here, before anything runs.
    """
    store = Store(f"{workdir.rstrip('/')}/cwl-dask-{uuid.uuid4().hex[:12]}", configured_options())
    check_writable(workdir.rstrip("/"), store.storage_options, option)
    return store


def check_writable(url: str, storage_options: dict[str, Any], option: str) -> None:
    """Raise :class:`InvalidInputError` naming ``url`` unless an object can be put there."""
    fs = filesystem_for(protocol_of(url), storage_options)
    probe = f"{url.rstrip('/')}/.cwl-dask-probe-{uuid.uuid4().hex[:8]}"
    try:
        fs.pipe_file(probe, b"cwl-dask")
        if fs.cat_file(probe) != b"cwl-dask":
            raise OSError("an object read back differs from what was written")
        fs.rm_file(probe)
    except Exception as err:  # botocore, aiohttp, OSError: all mean "cannot use it"
        raise InvalidInputError(f"{option} {url}: {describe_error(err)}") from None


def describe_error(err: BaseException) -> str:
    """A short reason for a store error: missing bucket, credentials, endpoint."""
    name = type(err).__name__
    text = str(err) or name
    if name in ("NoCredentialsError", "PartialCredentialsError"):
        return (
            "no credentials (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile, "
            f"or the Dask config {CONFIG_KEY})"
        )
    if isinstance(err, FileNotFoundError) or "NoSuchBucket" in text:
        return f"the bucket does not exist ({text})"
    if isinstance(err, PermissionError) or "AccessDenied" in text or "Forbidden" in text:
        return f"access refused ({text})"
    if "Could not connect" in text or "Connect" in name or "Endpoint" in name:
        return f"the store cannot be reached ({text})"
    return f"{name}: {text}"
