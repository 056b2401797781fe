"""Moving final outputs to ``--outdir`` without merging directories that share a name.

Why: cwltool's ``relocateOutputs`` maps every output to ``OUTDIR/<basename>``. Two scattered
``Directory`` outputs with the same basename — each job of an EO Application Package writes
its STAC catalog into ``result/`` or returns ``glob: output`` — then land on the same target:
the directories are merged file by file, later ``catalog.json`` files overwrite earlier
ones, and cwltool then fails with ``No such file or directory: '.../catalog.json_2'`` (its
``_N`` renaming is for Files only, and the merged directory has no such file). The run's
results are destroyed on the way out.

The fix goes through cwltool's extension point for this, ``RuntimeContext.path_mapper``,
which ``relocateOutputs`` uses to decide where each output goes: a top-level ``Directory``
whose target is already taken gets ``<basename>_2``, ``_3``… in the order the output object
lists them (for a scatter: scatter order), so the numbering is deterministic. A directory is
moved whole, so the relative hrefs of a STAC catalog inside it stay valid. Files keep
cwltool's own conflict handling (``name_2``) so outputs stay identical to cwltool's where
cwltool succeeds — computed up front by
:func:`~cwl_dask.driver.output_targets.number_clashing_files`,
since cwltool's own search is quadratic in the number of same-named files.
"""

from __future__ import annotations

import os
from collections.abc import MutableSequence
from typing import Any
from urllib.parse import unquote

from cwltool.pathmapper import PathMapper

from cwl_dask.driver.output_targets import number_clashing_files
from cwl_dask.errors import OutputRefused


def unique_name(name: str, taken: set[str], tried: dict[str, int] | None = None) -> str:
    """``name``, or ``name_2``, ``name_3``… — the first not in ``taken``.

    ``tried`` (kept across calls while ``taken`` only grows) remembers where the search for
    each name stopped, so numbering N same-named directories is O(N), not O(N²).
    """
    if name not in taken:
        return name
    number = (tried or {}).get(name, 2)
    while f"{name}_{number}" in taken:
        number += 1
    if tried is not None:
        tried[name] = number + 1
    return f"{name}_{number}"


class OutputPathMapper(PathMapper):
    """cwltool's PathMapper that keeps same-named output directories apart.

    Only the flat layout (``separateDirs=False``, what ``relocateOutputs`` asks for) is
    changed; with separate directories every entry has its own ``stg…`` directory already,
    so staging tool inputs behaves exactly as cwltool's.
    """

    def setup(self, referenced_files: MutableSequence[Any], basedir: str) -> None:
        if self.separateDirs:
            super().setup(referenced_files, basedir)
            return
        taken: set[str] = set()
        tried: dict[str, int] = {}
        for entry in referenced_files:
            if entry.get("location") in self._pathmap:
                continue  # the same output listed twice goes to one place
            _check_name(entry)
            if entry.get("class") == "Directory" and not entry.get("dirname"):
                name = unique_name(entry["basename"], taken, tried)
                if name != entry["basename"]:
                    entry = {**entry, "basename": name}
            taken.add(entry["basename"])
            self.visit(
                entry,
                self.stagedir,
                basedir,
                copy=bool(entry.get("writable", False)),
                staged=True,
            )
        number_clashing_files(self)  # cwltool's File renaming, in O(n) instead of O(n²)


def _check_name(entry: Any) -> None:
    """An output named ``..`` (or with a ``/``) would be relocated beside ``--outdir``, not
    into it: refused (the workers refuse such names already; this is the driver's guard)."""
    name = entry.get("basename")
    if isinstance(name, str) and (name in ("", ".", "..") or "/" in name):
        raise OutputRefused(
            f"the output at {entry.get('location')} has the name {name!r}: refused, "
            "nothing of the outputs was written to --outdir"
        )


def fix_directory_basenames(output: Any) -> None:
    """Make every Directory's ``basename`` the last part of its ``location`` again.

    :class:`OutputPathMapper` renames a directory on its way to ``--outdir``; cwltool then
    updates ``location`` and ``path`` but not ``basename``, which must name the same thing.
    Files are left alone, as cwltool leaves them.
    """
    if isinstance(output, list):
        for value in output:
            fix_directory_basenames(value)
    elif isinstance(output, dict):
        location = output.get("location")
        if output.get("class") == "Directory" and isinstance(location, str):
            output["basename"] = unquote(os.path.basename(location.rstrip("/")))
        for value in output.values():
            if isinstance(value, (list, dict)):
                fix_directory_basenames(value)
