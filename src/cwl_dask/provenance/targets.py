"""Where a run's research object and crate go, checked before anything runs.

cwltool deletes an existing ``--provenance`` folder when it saves the research object. A
folder that is an earlier research object (it has ``bagit.txt``) is replaced, as cwltool
does; any other non-empty folder is refused, since finished work is never destroyed. The
crate needs ro-crate-py and a directory to be written in.
"""

from __future__ import annotations

import importlib.util
import os

from cwl_dask.errors import InvalidInputError


def check_research_object_dir(path: str) -> None:
    """Refuse ``--provenance DIR`` when DIR holds anything but an earlier research object."""
    if os.path.isfile(path):
        raise InvalidInputError(f"--provenance {path}: is a file, not a directory")
    earlier = os.path.isfile(os.path.join(path, "bagit.txt"))
    if os.path.isdir(path) and os.listdir(path) and not earlier:
        raise InvalidInputError(
            f"--provenance {path}: the directory is not empty and holds no research object "
            "(no bagit.txt); cwltool would delete it: name a new or empty directory"
        )


def check_crate_target(path: str) -> None:
    """Refuse ``--provenance-crate FILE.zip`` that cannot be written, before the run."""
    if not path.endswith(".zip"):
        raise InvalidInputError(f"--provenance-crate {path}: the crate is written as a .zip")
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise InvalidInputError(f"--provenance-crate {path}: no directory {parent}")
    if importlib.util.find_spec("rocrate") is None:
        raise InvalidInputError(
            "--provenance-crate needs ro-crate-py: pip install 'cwl-dask[provenance]'"
        )
