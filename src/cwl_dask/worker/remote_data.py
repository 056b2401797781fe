"""Worker side of store mode: a local scratch directory, a fetch cache, uploads of results.

With ``--workdir s3://…`` a worker shares no path with the driver or other workers. Each
invocation then runs in ``<worker temp dir>/cwl-dask-scratch/<run>/`` (``out/``, ``tmp/``,
``logs/``, ``cache/``): its store inputs are fetched into ``cache/`` (once per worker
process and URL, so a file several invocations use is downloaded once), cwltool runs the
tool there as in a shared-filesystem run (containers included), and what the tool wrote is
uploaded under ``<run>/<task-key>.<attempt>-<random>/`` — a prefix of this attempt alone,
so a lost worker's attempt leaves only objects nobody reads. The output object that goes
back names those URLs, with cwltool's sizes and checksums; inputs passed through as outputs
get their original URLs back. The driver removes the scratch directories when the run ends.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
import threading
import uuid
from typing import Any

from cwltool.process import fill_in_defaults
from cwltool.stdfsaccess import StdFsAccess
from schema_salad.ref_resolver import file_uri

from cwl_dask.data import objects, transfer
from cwl_dask.data.store import STORE_OPTION, Store

#: Per worker process: URL -> local copy, and a lock per URL so one thread fetches it.
_cache: dict[str, str] = {}
_fetching: dict[str, threading.Lock] = {}
_cache_lock = threading.Lock()
#: Size and mtime of each cached file as fetched: a tool that changed it (inplaceUpdate)
#: has made a new file, which is uploaded, and the cached copy is no longer the URL's.
_fetched: dict[str, tuple[int, int]] = {}


#: A log at most this big comes back in the task's result instead of through the store.
INLINE_LOG_BYTES = 64 * 1024


def _stamp(path: str) -> Any:
    """Size and mtime of a file; of every entry below a directory."""
    if not os.path.isdir(path):
        status = os.stat(path)
        return status.st_size, status.st_mtime_ns
    entries = []
    for root, dirs, files in os.walk(path):
        for name in sorted(dirs + files):
            status = os.lstat(os.path.join(root, name))
            entries.append((os.path.relpath(os.path.join(root, name), path), status.st_size,
                            status.st_mtime_ns))  # fmt: skip
    return sorted(entries)


def _changed(path: str, obj: dict[str, Any]) -> bool:
    with _cache_lock:
        before = _fetched.get(path)
    try:
        return before is not None and _stamp(path) != before
    except OSError:
        return False


def _forget(url: str) -> None:
    """Drop a cached copy that a tool changed: the next invocation fetches the URL again."""
    with _cache_lock:
        local = _cache.pop(url, None)
        if local is not None:
            _fetched.pop(local.rstrip("/"), None)
    if local is not None:
        if os.path.isdir(local):
            shutil.rmtree(local, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                os.remove(local)


def scratch_root(run_id: str) -> str:
    return os.path.join(tempfile.gettempdir(), "cwl-dask-scratch", run_id)


def remove_scratch(run_id: str) -> None:
    """``Client.run`` target at the end of a run: its scratch and cache on this worker go."""
    root = scratch_root(run_id)
    with _cache_lock:
        for url in [u for u, p in _cache.items() if p.startswith(root + os.sep)]:
            _cache.pop(url, None)
    shutil.rmtree(root, ignore_errors=True)


class RemoteInvocation:
    """One invocation's transfers; :meth:`from_options` is None for a shared-filesystem run."""

    def __init__(self, store: Store, log_path: str) -> None:
        self.store = store
        self.fs = store.filesystem()
        self.root = scratch_root(store.run_id)
        self.log_path = os.path.join(self.root, "logs", os.path.basename(log_path))
        self.bytes_in = 0
        self.bytes_out = 0
        self._originals: dict[str, str] = {}  # local copy -> the URL it came from
        self._updated: list[str] = []  # URLs whose cached copy the tool changed

    @staticmethod
    def from_options(options: dict[str, Any], log_path: str) -> RemoteInvocation | None:
        store = Store.from_shipped(options.get(STORE_OPTION))
        return RemoteInvocation(store, log_path) if store is not None else None

    def local_options(self, options: dict[str, Any]) -> dict[str, Any]:
        """The runtime options with the run's prefixes moved into the local scratch."""
        return {
            **options,
            "tmp_outdir_prefix": os.path.join(self.root, "out", ""),
            "tmpdir_prefix": os.path.join(self.root, "tmp", ""),
        }

    # ------------------------------------------------------------------ inputs

    def localize(self, tool: Any, job_order: dict[str, Any]) -> dict[str, Any]:
        """The job order (defaults filled in, as cwltool would) with store URLs fetched."""
        job = dict(job_order)
        fill_in_defaults(tool.tool["inputs"], job, StdFsAccess(""))
        return objects.rewrite(job, self._fetch)

    def _fetch(self, obj: dict[str, Any]) -> dict[str, Any]:
        location = obj.get("location")
        if not isinstance(location, str) or not self.store.handles(location):
            return obj
        local = objects.inside(location, {u: p for u, p in self._originals_by_url().items()})
        if local is None:
            local = self._cached(location, obj["class"] == "Directory")
        self._originals[local.rstrip("/")] = location.rstrip("/")
        return objects.relocated(obj, file_uri(local))

    def _originals_by_url(self) -> dict[str, str]:
        return {url: local for local, url in self._originals.items()}

    def _cached(self, url: str, directory: bool) -> str:
        with _cache_lock:
            lock = _fetching.setdefault(url, threading.Lock())
        with lock:
            with _cache_lock:
                local = _cache.get(url)
                before = _fetched.get(local.rstrip("/")) if local else None
            if local is not None and os.path.exists(local) and _stamp(local) == before:
                return local
            if local is not None:  # a tool changed the copy in place: fetch the URL again
                _forget(url)
            # One cache directory per parent URL: siblings (secondaryFiles) sit side by side.
            parent, _, name = url.rstrip("/").rpartition("/")
            digest = hashlib.sha256(parent.encode()).hexdigest()[:16]
            folder = os.path.join(self.root, "cache", digest)
            local = os.path.join(folder, name or "data")
            if directory:
                self.bytes_in += transfer.download_tree(self.fs, url, local)
            else:
                self.bytes_in += transfer.download_file(self.fs, url, local)
            with _cache_lock:
                _cache[url] = local
                _fetched[local.rstrip("/")] = _stamp(local)
            return local

    def localize_document(self, doc: Any) -> Any:
        """A copy of a tool document whose store files (defaults, InitialWorkDir entries the
        driver uploaded) are fetched into the cache; the document's own types are kept."""
        import copy

        doc = copy.deepcopy(doc)
        objects.rewrite_in_place(doc, self._fetch)
        return doc

    # ------------------------------------------------------------------ outputs

    def upload_outputs(self, output: Any, attempt_dir: str, attempt_key: str) -> Any:
        """Upload what the tool wrote below ``attempt_dir``; the output object names URLs."""
        safe = os.path.basename(attempt_dir.rstrip("/")) or attempt_key
        prefix = self.store.join(f"{safe}-{uuid.uuid4().hex[:8]}")
        base = attempt_dir.rstrip("/")
        uploaded: dict[str, str] = {}

        def put(obj: dict[str, Any]) -> dict[str, Any]:
            path = objects.local_path(obj)
            if path is None:
                return obj
            url = objects.inside(path, uploaded)
            if url is not None:
                return objects.relocated(obj, url)
            original = objects.inside(path, self._originals)
            if original is not None and not _changed(path, obj):
                return objects.relocated(obj, original)
            if original is not None:  # an input updated in place (InplaceUpdateRequirement)
                url = f"{prefix}/inplace/{uuid.uuid4().hex[:8]}/{os.path.basename(path)}"
                upload = (
                    transfer.upload_tree if obj["class"] == "Directory" else transfer.upload_file
                )
                self.bytes_out += upload(self.fs, path, url)
                uploaded[path.rstrip("/")] = url
                self._updated.append(original)
                return objects.relocated(obj, url)
            if url is None:
                rel = path[len(base) + 1 :] if path.startswith(base + "/") else None
                rel = rel or f"other/{uuid.uuid4().hex[:8]}/{os.path.basename(path)}"
                url = f"{prefix}/{rel}"
                if obj["class"] == "Directory":
                    self.bytes_out += transfer.upload_tree(self.fs, path, url)
                else:
                    self.bytes_out += transfer.upload_file(self.fs, path, url)
                uploaded[path.rstrip("/")] = url
            return objects.relocated(obj, url)

        try:
            return objects.rewrite(output, put)
        finally:
            for url in self._updated:  # the cached copy is no longer the URL's content
                _forget(url)

    def return_log(self) -> tuple[str, str | None]:
        """The invocation's log for the driver: ``(its name, its text)`` when it is at most
        :data:`INLINE_LOG_BYTES` (it travels in the task's result: one object request fewer
        on each side per invocation, ≈ a third of store mode's cost per invocation in a
        scatter of short jobs), else ``(its URL, None)`` once uploaded into ``<run>/logs/``.
        """
        if not os.path.isfile(self.log_path):
            return self.log_path, None
        name = os.path.basename(self.log_path)
        if os.path.getsize(self.log_path) <= INLINE_LOG_BYTES:
            with open(self.log_path, encoding="utf-8", errors="replace") as log:
                text = log.read()
            os.remove(self.log_path)
            return name, text
        url = self.store.join("logs", uuid.uuid4().hex[:8], name)
        transfer.upload_file(self.fs, self.log_path, url)
        os.remove(self.log_path)
        return url, None

    def discard(self, attempt_dir: str) -> None:
        """The attempt's local output directory, once uploaded (or failed)."""
        if attempt_dir:
            shutil.rmtree(attempt_dir, ignore_errors=True)
