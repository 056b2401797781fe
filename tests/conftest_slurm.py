"""Fixture for the SLURM tests: a real one-node SLURM (``tests/slurm.py``) for the module.

Registered from ``conftest.py`` (``pytest_plugins``). Skipped with the reason when the
binaries are absent (``apt-get install -y slurm-wlm munge``), when not root (slurmd runs
jobs as their users) or without dask-jobqueue (``pip install 'cwl-dask[hpc]'``).
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="module")
def slurm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from slurm import missing_binaries, start_slurm

    missing = missing_binaries()
    if missing:
        pytest.skip(f"needs SLURM and munge ({', '.join(missing)} missing): apt-get install -y "
                    "slurm-wlm munge")  # fmt: skip
    if os.geteuid() != 0:
        pytest.skip("needs root: slurmd runs the jobs as their users")
    if importlib.util.find_spec("dask_jobqueue") is None:
        pytest.skip("needs dask-jobqueue (pip install 'cwl-dask[hpc]')")
    cluster = start_slurm(tmp_path_factory.mktemp("slurm"))
    try:
        yield cluster
    finally:
        cluster.stop()
