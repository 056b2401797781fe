"""Which container engine runs DockerRequirement tools when the user did not say."""

from __future__ import annotations

import logging
import shutil
import subprocess
from typing import Literal

_logger = logging.getLogger("cwl_dask")

ContainerEngine = Literal["docker", "podman", "singularity", "none"]

_PROBES: list[tuple[ContainerEngine, list[str]]] = [
    ("docker", ["docker", "info", "--format", "{{.ServerVersion}}"]),
    ("podman", ["podman", "info", "--format", "{{.Host.OCIRuntime.Name}}"]),
]


def _answers(command: list[str]) -> bool:
    if shutil.which(command[0]) is None:
        return False
    try:
        probe = subprocess.run(command, capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


def detect_engine() -> ContainerEngine:
    """The first engine whose daemon/runtime answers: docker, then podman; else none.

    cwltool assumes docker and fails where there is none; a user who did not choose an
    engine is better served by the one that works, and by running hinted containers on the
    host when none does (a DockerRequirement under ``requirements`` then fails with 33).
    """
    for engine, command in _PROBES:
        if _answers(command):
            _logger.info("container engine: %s (detected; choose with --docker/--podman)", engine)
            return engine
    _logger.warning(
        "no container engine answers (tried docker, podman): tools run on the host; "
        "pass --docker or --podman to require one"
    )
    return "none"
