"""The driver's transfers in store mode: local inputs up once, final outputs down or across.

*Inputs.* A local ``File``/``Directory`` (with its ``secondaryFiles`` and ``listing``, and
the files a tool document names, e.g. its defaults) is uploaded the first time a task
needs it, to ``<run>/inputs/<its absolute path>``: the mapping is a function of the path,
so entries of an uploaded directory are found inside it and nothing goes up twice.
``http(s)://`` and store URLs are left for the workers to read.

*Outputs.* The final output object names store URLs; for a local ``--outdir`` they are
downloaded into the driver's run directory (``<run dir>/out/<same relative path>``), where
cwltool's ``relocateOutputs`` then moves them exactly as in a shared-filesystem run (same
names, renaming rules, STAC handling). For ``--outdir s3://…`` the local result is then
uploaded there (:func:`publish`) and the output object names its URLs.
"""

from __future__ import annotations

import hashlib
import os
import threading
from typing import Any

from schema_salad.ref_resolver import file_uri

from cwl_dask.data import objects, transfer
from cwl_dask.data.store import Store, filesystem_for, protocol_of


class InputUploads:
    """Uploads local inputs under the run's prefix, each path once per run."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.bytes_up = 0
        self._trees: dict[str, str] = {}  # uploaded local directory -> its URL
        self._files: dict[str, str] = {}
        self._lock = threading.Lock()

    def url_for(self, path: str) -> str:
        return self.store.join("inputs", os.path.abspath(path).lstrip("/"))

    def stage(self, value: Any) -> Any:
        """A copy of a job order (or tool document) whose local files are store URLs."""
        return objects.rewrite(value, self._stage_one)

    def stage_document(self, doc: Any) -> Any:
        """A copy of a tool document (its defaults, InitialWorkDir entries) with local files
        uploaded; the document's own map and sequence types are kept."""
        import copy

        doc = copy.deepcopy(doc)
        objects.rewrite_in_place(doc, self._stage_one)
        return doc

    def _stage_one(self, obj: dict[str, Any]) -> dict[str, Any]:
        path = objects.local_path(obj)
        if path is None:
            return obj
        with self._lock:
            url = objects.inside(path, self._trees)
            if url is None and obj["class"] == "File":
                url = self._files.get(path)
                if url is None:
                    url = self.url_for(path)
                    self.bytes_up += transfer.upload_file(self.store.filesystem(), path, url)
                    self._files[path] = url
            elif url is None:
                url = self.url_for(path)
                self.bytes_up += transfer.upload_tree(self.store.filesystem(), path, url)
                self._trees[path.rstrip("/")] = url
        return objects.relocated(obj, url)


def download_outputs(output: Any, store: Store, local_root: str) -> tuple[Any, int]:
    """The output object with every store URL downloaded below ``local_root``; and the bytes.

    Directories come down one by one as the object is walked (a File inside one is found
    there); the other Files are then fetched together, concurrently (fsspec's batched
    ``get``), each checked against the size the store lists for it: one listing of the
    run's prefix instead of a request per file. Measured: the final downloads of a
    scatter-1000 took 14 s one by one (a GET and a HEAD each) against a local S3 server.
    """
    fs = store.filesystem()
    trees: dict[str, str] = {}
    files: dict[str, str] = {}  # url -> local path, fetched after the walk
    got = 0

    def fetch(obj: dict[str, Any]) -> dict[str, Any]:
        nonlocal got
        location = obj.get("location")
        if not isinstance(location, str) or not store.handles(location):
            return obj
        local = objects.inside(location, trees)
        if local is None:
            local = os.path.join(local_root, *_relative(store, location).split("/"))
            if obj["class"] == "Directory":
                got += transfer.download_tree(fs, location, local)
                trees[location.rstrip("/")] = local
            elif not os.path.exists(local):
                files[location] = local
        return objects.relocated(obj, file_uri(local))

    relocated = objects.rewrite(output, fetch)
    got += transfer.download_files(fs, files, transfer.listed_sizes(fs, store.url, files))
    return relocated, got


def _relative(store: Store, url: str) -> str:
    """Where a URL goes below the local root: its path in the run, or a name for outside ones."""
    prefix = store.url.rstrip("/") + "/"
    if url.startswith(prefix):
        return url[len(prefix) :].rstrip("/")
    digest = hashlib.sha256(url.encode()).hexdigest()[:12]
    return f"external/{digest}/{url.rstrip('/').rsplit('/', 1)[-1]}"


def publish(output: Any, local_outdir: str, url: str, storage_options: dict[str, Any]) -> Any:
    """Upload every entry of ``local_outdir`` to ``url`` and point the output object there.

    An entry of the same name at ``url`` is replaced, as a local ``--outdir`` entry is.
    """
    fs = filesystem_for(protocol_of(url), storage_options)
    base = url.rstrip("/")
    for entry in sorted(os.listdir(local_outdir)):
        source = os.path.join(local_outdir, entry)
        target = f"{base}/{entry}"
        if os.path.isdir(source):
            transfer.remove_tree(fs, target)
            transfer.upload_tree(fs, source, target)
        else:
            transfer.upload_file(fs, source, target)
    root = os.path.abspath(local_outdir).rstrip("/")

    def point(obj: dict[str, Any]) -> dict[str, Any]:
        path = objects.local_path(obj)
        if path is None or not (path == root or path.startswith(root + "/")):
            return obj
        return objects.relocated(obj, base + path[len(root) :])

    return objects.rewrite(output, point)
