"""A tool's outputs are confined to its own output directory (or are its inputs).

Why: a tool is untrusted code (an Application Package deployed by a user). cwltool joins a
glob to the output directory without resolving it, so ``glob: '../../..'`` collects the
directories around it, and the driver's ``relocateOutputs`` then moves them into
``--outdir`` — merging and deleting as it goes. And a symbolic link among the outputs is
followed where the outputs are relocated: on the driver, where ``/proc/self/environ`` is
the driver's environment and ``/etc`` the driver's machine.

Both are checked here, on the worker, where the files are and before anything leaves it:

- :class:`ConfinedGlob` wraps the fs access cwltool's ``collect_output`` globs with; a match
  whose directory resolves outside the output directory is not returned (nothing outside
  is listed, read or checksummed) and is remembered, so the output is refused naming the
  pattern.
- :func:`check_outputs` walks the collected output object (``cwl.output.json`` included):
  every File and Directory, and every link inside a Directory, must resolve inside the
  output directory or to one of the invocation's inputs (inputs are staged as links; a tool
  may pass them through). A link to anything else is refused.

The worker's classes (:mod:`cwl_dask.worker.tool_classes`) call both through cwltool's own
methods, so output collection stays cwltool's.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

from schema_salad.ref_resolver import uri_file_path

from cwl_dask.errors import OutputRefused

#: Why an output is refused, once a path was found outside.
OUTSIDE = "outside the tool's output directory"


def _path_of(location: str) -> str | None:
    """The local path of a ``file:`` URI or an absolute path; None for anything else."""
    if location.startswith("file:"):
        return uri_file_path(location)
    return location if location.startswith("/") else None


def _within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def resolved_parent(path: str, resolved: dict[str, str] | None = None) -> str:
    """``path`` with every component but the last resolved (the last one too if it is
    ``.`` or ``..``): where a glob match really is, without following a link it names.

    ``resolved`` caches the parents already resolved (a glob's matches mostly share one)."""
    head, tail = os.path.split(path.rstrip(os.sep))
    if tail in ("", ".", ".."):
        return os.path.realpath(path)
    cache = resolved if resolved is not None else {}
    if head not in cache:
        cache[head] = os.path.realpath(head)
    return os.path.join(cache[head], tail)


class ConfinedGlob:
    """cwltool's fs access for one output, whose ``glob`` keeps to the output directory
    (or, with ``confinement``, to the inputs too: a staged input directory may be globbed).

    Everything else is the wrapped fs access's own. Refused matches are kept in
    ``refused`` for the message; the output then fails (:meth:`refusal`).
    """

    def __init__(self, fs_access: Any, outdir: str, confinement: Confinement | None = None) -> None:
        self._fs_access = fs_access
        self._confinement = confinement
        self._given = outdir.rstrip(os.sep)
        self._outdir = os.path.realpath(outdir)
        self.refused: list[tuple[str, str]] = []  # (pattern, where it resolved)
        self._parents: dict[str, str] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fs_access, name)

    def glob(self, pattern: str) -> list[str]:
        matches: list[str] = self._fs_access.glob(pattern)
        kept = []
        for match in matches:
            path = _path_of(match)
            where = resolved_parent(path, self._parents) if path is not None else None
            if where is None or self._allowed(where):
                kept.append(match)
            else:
                self.refused.append((self._relative(pattern), where))
        return kept

    def _allowed(self, where: str) -> bool:
        if _within(where, self._outdir):
            return True
        return self._confinement is not None and self._confinement.allows(where)

    def _relative(self, pattern: str) -> str:
        """The pattern as the tool gave it (cwltool joined it to the output directory)."""
        path = _path_of(pattern) or pattern
        for prefix in (self._given, self._outdir):
            if path.rstrip(os.sep) == prefix:
                return "."
            if path.startswith(prefix + os.sep):
                return path[len(prefix) + 1 :]
        return path

    def refusal(self, output: str) -> OutputRefused | None:
        """The error for ``output`` if a match was refused, else None."""
        if not self.refused:
            return None
        pattern, where = self.refused[0]
        more = f" (and {len(self.refused) - 1} more)" if self.refused[1:] else ""
        return OutputRefused(
            f"output '{output}' (glob '{pattern}') matches {where}{more}, {OUTSIDE} "
            f"{self._outdir}: refused, nothing collected"
        )


class _Files:
    """Resolved files and directory trees, from the File and Directory objects of a value."""

    def __init__(self, value: Any) -> None:
        self.files: set[str] = set()
        self.dirs: list[str] = []
        for entry, _ in _entries(value, into_listings=False):
            for key in ("location", "path"):
                path = _path_of(str(entry.get(key) or ""))
                if path is None:
                    continue
                real = os.path.realpath(path)
                if entry.get("class") == "Directory":
                    self.dirs.append(real)
                else:
                    self.files.add(real)

    def holds(self, real: str) -> bool:
        return real in self.files or any(_within(real, root) for root in self.dirs)


class Confinement:
    """Where an invocation's outputs may resolve: its output directory, its inputs, and
    the files ``InitialWorkDirRequirement`` staged for it (``staged``). An ExpressionTool
    has no output directory: its Files must be its inputs.

    The inputs are the user's, named by the job order; a staged file may be named by the
    tool document itself (``location: /etc/…``), so a link to one is replaced by a copy
    here, on the worker (:meth:`resolve_staged`): the driver would otherwise copy the file
    of that name on its own machine.
    """

    def __init__(self, outdir: str | None, job_order: Any, staged: Any = None) -> None:
        self.outdir = os.path.realpath(outdir) if outdir is not None else None
        self.inputs = _Files(job_order)
        self.staged = _Files(staged or [])
        self._parents: dict[str, str] = {}

    def allows(self, real: str) -> bool:
        """Whether a resolved path is inside the output directory, an input or staged."""
        return self._inside(real) or self.inputs.holds(real) or self.staged.holds(real)

    def resolve_staged(self, link: str, target: str) -> None:
        """Replace ``link`` (in the output directory) by a copy of ``target`` when that is
        only allowed as a staged file, not as the user's input."""
        if self.inputs.holds(target) or self._inside(target) or not self.staged.holds(target):
            return
        if not self._inside(resolved_parent(link, self._parents)):
            return
        copy = f"{link}.cwl-dask-copy"
        if os.path.isdir(target):
            shutil.copytree(target, copy)
            os.unlink(link)
        else:
            shutil.copy2(target, copy)
        os.replace(copy, link)

    def _inside(self, real: str) -> bool:
        return self.outdir is not None and _within(real, self.outdir)

    def escapes(self, path: str, walk: bool = True) -> str | None:
        """Where ``path`` (or, with ``walk``, a link in the tree under it) resolves outside,
        or None.

        Directories are walked without following links; a link to a directory inside the
        output directory is walked too (once), since the driver copies through it.
        """
        real = self._resolved(path)
        if not self.allows(real):
            return real
        if os.path.islink(path):
            self.resolve_staged(path, real)
            real = self._resolved(path)
        if not walk or not self._inside(real) or not os.path.isdir(real):
            return None  # an input: the user's own data, delivered as given
        todo, seen = [real], {real}
        while todo:
            with os.scandir(todo.pop()) as entries:
                for entry in entries:
                    if entry.is_symlink():
                        target = os.path.realpath(entry.path)
                        if not self.allows(target):
                            return f"{entry.path} -> {target}"
                        self.resolve_staged(entry.path, target)
                        target = os.path.realpath(entry.path)
                        if self._inside(target) and target not in seen and os.path.isdir(target):
                            seen.add(target)
                            todo.append(target)
                    elif entry.is_dir(follow_symlinks=False):
                        todo.append(entry.path)
        return None

    def _resolved(self, path: str) -> str:
        """``os.path.realpath(path)``, with the parents' resolution cached (an output of
        many files in one directory resolves that directory once)."""
        if os.path.islink(path):
            return os.path.realpath(path)
        return resolved_parent(path, self._parents)


def check_outputs(output: Any, confinement: Confinement, globs: dict[str, list[str]]) -> None:
    """Refuse the first File or Directory of ``output`` that resolves outside.

    ``globs`` maps output names to their evaluated patterns, for the message. A Directory
    is walked once, at the top; an entry of a listing is only resolved (a listing written
    in ``cwl.output.json`` may name any file). Names are checked too: a ``basename`` of
    ``..`` or with a ``/`` would place the output outside ``--outdir``.
    """
    if not isinstance(output, dict):
        return
    for name, value in output.items():
        for entry, listed in _entries(value, into_listings=True):
            basename = entry.get("basename")
            if isinstance(basename, str) and (basename in ("", ".", "..") or "/" in basename):
                raise OutputRefused(f"output '{name}' has the name {basename!r}: refused")
            path = _path_of(str(entry.get("location") or ""))
            where = confinement.escapes(path, walk=not listed) if path is not None else None
            if where is not None:
                pattern = f" (glob '{', '.join(globs[name])}')" if globs.get(name) else ""
                why = (
                    f"{OUTSIDE} {confinement.outdir} and not an input"
                    if confinement.outdir is not None
                    else "not one of the tool's inputs"
                )
                raise OutputRefused(f"output '{name}'{pattern} resolves to {where}, {why}: refused")


def _entries(
    value: Any, into_listings: bool, listed: bool = False
) -> Iterator[tuple[dict[str, Any], bool]]:
    """Every File and Directory of a CWL value, secondaryFiles (and listings) included,
    each with whether it was found in a listing."""
    if isinstance(value, list):
        for item in value:
            yield from _entries(item, into_listings, listed)
    elif isinstance(value, dict):
        if value.get("class") in ("File", "Directory"):
            yield value, listed
            yield from _entries(value.get("secondaryFiles", []), into_listings, listed)
            if into_listings:
                yield from _entries(value.get("listing", []), into_listings, True)
        else:
            for item in value.values():
                yield from _entries(item, into_listings, listed)
