"""Entries up to and down from the cache: publish a result, find it, restore it checked.

The worker calls these itself, so a result never passes through the driver. Publishing
uploads the files below a prefix unique to this writer and then the manifest
(:mod:`.manifest`), so an entry is visible only once whole; a local folder's manifest is
written under a temporary name and renamed, an object store's ``PUT`` is atomic. Restoring
downloads every file under a temporary name and checks its size and SHA-1 against the
manifest before anything is handed back; the first mismatch makes the entry
:class:`~.manifest.DamagedEntry` (the caller recomputes and overwrites it).
"""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from typing import Any

from schema_salad.ref_resolver import file_uri

from cwl_dask.data import objects
from cwl_dask.data.cache.key import sha1_of
from cwl_dask.data.cache.location import CacheLocation
from cwl_dask.data.cache.manifest import MANIFEST, DamagedEntry, FileRecord, Manifest


class ResultCache:
    """One cache (a :class:`CacheLocation`) as the worker uses it."""

    def __init__(self, location: CacheLocation) -> None:
        self.location = location
        self.fs = location.filesystem()

    def manifest_url(self, key: str) -> str:
        return self.location.join(key, MANIFEST)

    def lookup(self, key: str) -> Manifest | None:
        """The entry's manifest, None if there is no entry; DamagedEntry if unreadable."""
        try:
            data = self.fs.cat_file(self.manifest_url(key))
        except FileNotFoundError:
            return None
        return Manifest.from_json(data, key)

    # ------------------------------------------------------------------ restore

    def restore(self, manifest: Manifest, local_dir: str) -> dict[str, Any]:
        """Download the entry into ``local_dir`` (checked); the output object pointing there."""
        base = self.location.join(manifest.key, manifest.writer)
        for rel in manifest.directories:
            os.makedirs(os.path.join(local_dir, *rel.split("/")), exist_ok=True)
        for rel, record in sorted(manifest.files.items()):
            self._fetch_checked(f"{base}/{rel}", os.path.join(local_dir, *rel.split("/")), record)
        root = local_dir.rstrip("/")
        held = {*manifest.files, *manifest.directories}

        def place(obj: dict[str, Any]) -> dict[str, Any]:
            location = obj.get("location")
            if not isinstance(location, str) or location.startswith("_:"):
                return obj  # a literal (its contents are in the object)
            if objects.inside(location, {h: h for h in held}) is None:
                # Only the entry's own files: a manifest (in a shared cache, anyone's)
                # must never make a run hand over a file or URL from elsewhere.
                raise DamagedEntry(f"its output names {location}, which it does not hold")
            return objects.relocated(obj, file_uri(f"{root}/{location}"))

        output: dict[str, Any] = objects.rewrite(manifest.output, place)
        return output

    def _fetch_checked(self, url: str, local: str, record: FileRecord) -> None:
        os.makedirs(os.path.dirname(local), exist_ok=True)
        partial = f"{local}.part-{uuid.uuid4().hex[:8]}"
        rel = url.rsplit("/", 1)[-1]
        try:
            try:
                self.fs.get_file(url, partial)
            except FileNotFoundError:
                raise DamagedEntry(f"{rel} is missing") from None
            except Exception as err:  # a transfer that fails: the entry is not usable now
                raise DamagedEntry(f"{rel} cannot be read ({type(err).__name__}: {err})") from None
            size = os.path.getsize(partial)
            if size != record.size:
                raise DamagedEntry(f"{rel} has {size} bytes, its manifest says {record.size}")
            if _sha1(partial) != record.checksum:
                raise DamagedEntry(f"{rel} does not match its manifest's checksum")
            os.replace(partial, local)
        finally:
            if os.path.exists(partial):
                os.remove(partial)

    # ------------------------------------------------------------------ publish

    def publish(self, key: str, output: dict[str, Any], outdir: str, **about: Any) -> Manifest:
        """Upload the files ``output`` names (below ``outdir``, or anywhere: copied under
        ``other/``) and then the manifest. ``about``: step, image, seconds."""
        writer = uuid.uuid4().hex[:12]
        base = self.location.join(key, writer)
        manifest = Manifest(key=key, writer=writer, output={}, created=time.time(), **about)
        placed: dict[str, str] = {}  # local path -> relative path in the entry
        root = outdir.rstrip("/")

        def relative(path: str) -> str:
            found = objects.inside(path, placed)
            if found is not None:
                return found
            if path.startswith(root + "/"):
                return path[len(root) + 1 :]
            return f"other/{len(placed)}/{os.path.basename(path.rstrip('/'))}"

        def put(obj: dict[str, Any]) -> dict[str, Any]:
            path = objects.local_path(obj)
            if path is None:
                return obj
            rel = relative(path)
            if objects.inside(path, placed) is None:
                self._upload(path, rel, base, manifest)
                placed[path.rstrip("/")] = rel
            return objects.relocated(obj, rel)

        manifest.output = objects.rewrite(output, put)
        self._write_manifest(key, manifest)
        return manifest

    def _upload(self, path: str, rel: str, base: str, manifest: Manifest) -> None:
        if not os.path.isdir(path):
            self._upload_file(path, rel, base, manifest)
            return
        manifest.directories.append(rel)
        # Links are followed as the driver copies them: the worker's confinement has
        # already refused an output whose tree links outside its directory or inputs.
        for folder, dirs, files in os.walk(path, followlinks=True):
            inner = os.path.relpath(folder, path)
            prefix = rel if inner == "." else f"{rel}/{inner.replace(os.sep, '/')}"
            manifest.directories.extend(f"{prefix}/{name}" for name in dirs)
            for name in files:
                self._upload_file(os.path.join(folder, name), f"{prefix}/{name}", base, manifest)

    def _upload_file(self, path: str, rel: str, base: str, manifest: Manifest) -> None:
        if os.path.islink(path) and not os.path.isfile(path):
            raise OSError(f"{rel} is a link to nothing or to a directory: not cached")
        record = FileRecord(os.path.getsize(path), sha1_of(path))
        self.fs.put_file(path, f"{base}/{rel}")
        manifest.files[rel] = record

    def _write_manifest(self, key: str, manifest: Manifest) -> None:
        url = self.manifest_url(key)
        if self.location.local:  # a rename: no reader ever sees half a manifest
            partial = f"{url}.part-{manifest.writer}"
            self.fs.pipe_file(partial, manifest.to_json())
            self.fs.mv(partial, url)
        else:  # an object PUT is atomic
            self.fs.pipe_file(url, manifest.to_json())


def _sha1(path: str) -> str:
    """Uncached SHA-1 (a downloaded file is checked as it is, never by memo)."""
    digest = hashlib.sha1()  # nosec - cwltool's checksum algorithm, for content identity
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return f"sha1${digest.hexdigest()}"
