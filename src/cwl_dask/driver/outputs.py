"""Final outputs reach ``--outdir`` complete or not at all.

cwltool's ``relocateOutputs`` moves (or copies) each output into the final directory one
file at a time and overwrites what is there. cwl-dask points cwltool's final directory at a
hidden staging directory *inside* ``--outdir`` (same filesystem, so a rename is atomic),
lets cwltool relocate there, and then renames each top-level entry into ``--outdir``: a
reader of ``--outdir`` sees an output whole or not at all. An existing entry of the same
name is replaced, as cwltool does (and said in a warning), so a command can be run again.
``--no-overwrite`` asks for an ``--outdir`` without entries instead; that is checked before
anything runs, because output names are only known once the tools have run, and a run
refused after the work would have wasted it and left its outputs behind.

The staging directory is only created once the jobs are done (a run killed while its
tools run leaves nothing in ``--outdir``). A relocation that fails (a full disk) is undone
(:meth:`OutputPublisher.abandon`): a staged entry whose source is still there (a copy,
maybe truncated) is removed, one that was renamed in is renamed back, and the staging
directory goes; nothing half-written is left, and the message names where each finished
output is kept. So that the sources stay whole, outputs are copied instead of moved when
the run directory is on another filesystem than ``--outdir`` (a move there is a copy and
a delete anyway).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from typing import Any

from cwltool.pathmapper import PathMapper
from schema_salad.ref_resolver import file_uri, uri_file_path

from cwl_dask.errors import CwlDaskError, InvalidInputError

_logger = logging.getLogger("cwl_dask")

STAGING_PREFIX = ".cwl-dask-outputs-"


class OutputError(CwlDaskError):
    """The outputs cannot be written to ``--outdir`` (not writable, full, or a name clash)."""

    exit_code = 2


class OutputPublisher:
    """Stages cwltool's relocated outputs next to their destination and renames them in."""

    def __init__(self, outdir: str, overwrite: bool = True) -> None:
        self.outdir = os.path.abspath(outdir)
        self.overwrite = overwrite
        #: The staging directory's path, chosen by :meth:`prepare`, created by :meth:`open`.
        self.staging: str | None = None
        self.created = False
        #: The relocation's path mapper (source -> staged target), see :meth:`recording`.
        self.relocation: PathMapper | None = None

    def prepare(self) -> str:
        """Create ``--outdir`` and choose the staging directory's name, proving ``--outdir``
        writable before anything runs (the directory itself is made by :meth:`open`). With
        ``--no-overwrite``, an ``--outdir`` that has entries (besides the logs,
        ``.cwl-dask``) is refused first, and nothing is created."""
        if not self.overwrite:
            self._refuse_entries()
        try:
            os.makedirs(self.outdir, exist_ok=True)
            staging = tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=self.outdir)
            os.rmdir(staging)
        except OSError as err:
            raise InvalidInputError(
                f"--outdir {self.outdir} is not writable: {err.strerror or err}"
            ) from err
        self.staging = staging
        return staging

    def open(self) -> None:
        """Create the staging directory, once the jobs are done and outputs are due."""
        if self.staging is None or self.created:
            return
        try:
            os.mkdir(self.staging)
        except FileExistsError:  # the name was taken since prepare(): take another
            self.staging = tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=self.outdir)
        self.created = True

    def recording(self, mapper: type[PathMapper]) -> type[PathMapper]:
        """``mapper`` keeping the relocation's mapping here, for :meth:`abandon`."""
        publisher = self

        class Recorded(mapper):  # type: ignore[misc,valid-type]
            def setup(self, referenced_files: Any, basedir: str) -> None:
                super().setup(referenced_files, basedir)
                if not self.separateDirs:  # relocateOutputs' flat layout
                    publisher.relocation = self

        return Recorded

    def abandon(self) -> list[str]:
        """Undo a failed relocation: nothing of it is left in ``--outdir``.

        A staged entry whose source still exists is a copy (maybe truncated): removed. One
        whose source is gone was renamed in whole: renamed back. Returns the staged
        entries that could not be put back (kept in the staging directory, which is then
        kept too)."""
        staging, kept = self.staging, []
        if staging is None or not self.created:
            return []
        entries = self.relocation.items() if self.relocation is not None else []
        for _, entry in entries:
            target = entry.target
            if not entry.staged or os.path.dirname(target) != staging:
                continue
            if not os.path.lexists(target):
                continue
            try:
                if os.path.lexists(entry.resolved):
                    _remove(target)
                else:
                    os.rename(target, entry.resolved)
            except OSError as err:
                _logger.error("cannot undo %s: %s", target, err.strerror or err)
                kept.append(target)
        if kept:
            return kept
        shutil.rmtree(staging, ignore_errors=True)
        self.staging, self.created = None, False
        return []

    def _refuse_entries(self) -> None:
        try:
            entries = sorted(e for e in os.listdir(self.outdir) if e != ".cwl-dask")
        except FileNotFoundError:
            return
        except OSError as err:
            raise InvalidInputError(f"--outdir {self.outdir}: {err.strerror or err}") from err
        if entries:
            shown = ", ".join(entries[:5]) + (
                f" and {len(entries) - 5} more" if entries[5:] else ""
            )
            raise OutputError(
                f"--no-overwrite: --outdir {self.outdir} already has {shown}; nothing ran "
                "(choose an empty --outdir, or drop --no-overwrite to replace same-named entries)"
            )

    def publish(self, output: Any) -> Any:
        """Rename every staged entry into ``--outdir``; the output object follows."""
        staging = self.staging
        if staging is None:
            return output
        if not self.created:  # nothing was relocated (no file among the outputs)
            self.staging = None
            return output
        entries = sorted(os.listdir(staging))
        clashes = [e for e in entries if os.path.lexists(os.path.join(self.outdir, e))]
        if clashes and not self.overwrite:
            names = ", ".join(os.path.join(self.outdir, e) for e in clashes)
            raise OutputError(
                f"--outdir already has {names} (written while this run ran); the new "
                f"outputs are kept in {staging} (drop --no-overwrite to replace)"
            )
        replaced = os.path.join(staging, ".replaced")
        for entry in entries:
            target = os.path.join(self.outdir, entry)
            if os.path.lexists(target):
                # Move the old entry out of the way first: the name is never half-written.
                os.makedirs(replaced, exist_ok=True)
                os.rename(target, os.path.join(replaced, entry))
                _logger.warning("replaced %s (as cwltool does; --no-overwrite refuses)", target)
            os.rename(os.path.join(staging, entry), target)
        shutil.rmtree(staging, ignore_errors=True)
        self.staging = None
        return _relocated(output, staging, self.outdir)

    def discard(self) -> None:
        """Remove the staging directory if nothing is in it (a run that produced nothing)."""
        if self.staging is not None and self.created:
            try:
                os.rmdir(self.staging)
                self.staging, self.created = None, False
            except OSError:
                pass  # it holds outputs: kept, and the error message names it


def _remove(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    else:
        os.unlink(path)


def same_filesystem(one: str, other: str) -> bool:
    """Whether two existing directories are on one filesystem (a rename between them works)."""
    try:
        return os.stat(one).st_dev == os.stat(other).st_dev
    except OSError:
        return False


def _relocated(value: Any, old: str, new: str) -> Any:
    """The output object with ``old/...`` locations and paths turned into ``new/...``."""
    old_uri, new_uri = file_uri(old) + "/", file_uri(new) + "/"
    if isinstance(value, dict):
        moved = {k: _relocated(v, old, new) for k, v in value.items()}
        location = moved.get("location")
        if isinstance(location, str) and location.startswith(old_uri):
            moved["location"] = new_uri + location[len(old_uri) :]
        path = moved.get("path")
        if isinstance(path, str) and path.startswith(old + "/"):
            moved["path"] = new + path[len(old) :]
        return moved
    if isinstance(value, list):
        return [_relocated(v, old, new) for v in value]
    return value


def finished_files(output: Any) -> Iterator[tuple[str, str]]:
    """``(output id, path)`` of every File/Directory at the top of a (partial) output object."""
    if not isinstance(output, dict):
        return
    for key, value in output.items():
        for entry in _entries(value):
            location = entry.get("location", "")
            path = entry.get("path") or (
                uri_file_path(location) if location.startswith("file:") else location
            )
            yield key.rsplit("#", 1)[-1].rsplit("/", 1)[-1], path


def _entries(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        if value.get("class") in ("File", "Directory"):
            yield value
        else:
            for item in value.values():
                yield from _entries(item)
    elif isinstance(value, list):
        for item in value:
            yield from _entries(item)


def drop_outputs_under(output: Any, prefixes: tuple[str, ...]) -> Any:
    """The output object with every output that has a file under ``prefixes`` set to null:
    a failed invocation's files are not results, even when cwltool collected them."""
    if not isinstance(output, dict) or not prefixes:
        return output
    kept = dict(output)
    for key, path in finished_files(output):
        for full in list(kept):
            if full.rsplit("#", 1)[-1].rsplit("/", 1)[-1] == key and path.startswith(prefixes):
                kept[full] = None
    return kept
