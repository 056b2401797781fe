"""``coresMax`` as a limit on the tool's CPU: a CPU cgroup with a quota, or ``--cpus``.

CWL's ``coresMax`` is the most a tool may use; cwltool records it and enforces nothing (with
containers only ``--strict-cpu-limit`` passes ``--cpus`` = ceil(coresMin) to the engine).
cwl-dask limits a tool with an *explicit* ``coresMax`` (as for ``ramMax``: CWL makes the
maximum equal to the minimum when only that is given, far too tight to impose on tools that
never said) to that many cores' worth of CPU time, its children included:

- a tool on the host runs in a CPU cgroup of its own with a CFS quota (cgroup v1:
  ``cpu.cfs_quota_us``/``cpu.cfs_period_us``; v2: ``cpu.max``), created below the worker's
  own CPU cgroup (v2: or beside it, below a delegated parent). The tool joins it before
  its first instruction: a two-line shell puts its pid into ``cgroup.procs`` and ``exec``s
  the command (the same pid, so the supervisor's bookkeeping is unchanged); children
  inherit the cgroup. A tool without an explicit ``coresMax`` gets no launcher: the common
  case pays nothing.
- a containerised tool: its processes are the engine's children, not the tool's, so the
  engine limits them (``--cpus``, with ``--memory`` for ``ramMax``: see
  :mod:`cwl_dask.worker.tool_classes`).

Why a quota and not CPU affinity (``taskset``): affinity pins a tool to particular cores, and
concurrent tools pinned by different invocations collide on the same cores while others
idle; a quota limits the amount, and the kernel places it. Why it may be unavailable:
creating a cgroup needs write access to the worker's CPU cgroup — root on cgroup v1 (as
here), or on v2 a delegated subtree with the ``cpu`` controller enabled in its
``cgroup.subtree_control`` (a systemd ``Delegate=yes`` service, a Kubernetes pod rarely).
Where neither is writable the worker warns once and the tool runs unlimited.

Each invocation's cgroup (``cwl-dask-<worker pid>-<n>``) is removed when its tool ends.
One left by a worker that died is removed by the next worker on the machine that creates
one (it is empty once the supervisor has killed the tool): simpler than teaching the
supervisor about cgroups, and a dead worker's cgroups hold nothing but a directory.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import logging
import os
import re
import time
from dataclasses import dataclass
from typing import Any

from cwl_dask.worker.memory_limit import explicit_maximum

_logger = logging.getLogger("cwl_dask")

#: The CFS period (µs): 100 ms, the kernel's default.
PERIOD_US = 100_000
#: The smallest quota the kernel accepts (µs).
MIN_QUOTA_US = 1_000
PREFIX = "cwl-dask-"
_counter = itertools.count(1)


def cores_max(builder: Any) -> float | None:
    """The invocation's explicit ``coresMax`` (expressions evaluated), else None."""
    return explicit_maximum(builder, "coresMax")


@dataclass(frozen=True)
class CpuCgroups:
    """Where this worker may create CPU cgroups: a writable parent, and its cgroup version."""

    parent: str
    version: int

    def create(self, cores: float) -> str:
        """A new cgroup limited to ``cores`` cores' worth of CPU time; returns its path."""
        self._remove_stale()
        path = os.path.join(self.parent, f"{PREFIX}{os.getpid()}-{next(_counter)}")
        os.mkdir(path)
        quota = max(MIN_QUOTA_US, round(cores * PERIOD_US))
        if self.version == 2:
            _write(os.path.join(path, "cpu.max"), f"{quota} {PERIOD_US}")
        else:
            _write(os.path.join(path, "cpu.cfs_period_us"), str(PERIOD_US))
            _write(os.path.join(path, "cpu.cfs_quota_us"), str(quota))
        return path

    def remove(self, path: str, timeout: float = 2.0) -> None:
        """Remove the cgroup once its processes are gone (they may still be exiting)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                os.rmdir(path)
                return
            except FileNotFoundError:
                return
            except OSError as err:  # EBUSY: a process is still in it
                if time.monotonic() > deadline:
                    _logger.debug("CPU cgroup %s not removed: %s", path, err)
                    return
                time.sleep(0.02)

    def _remove_stale(self) -> None:
        """Remove the cgroups of workers that are gone (see the module's docstring)."""
        with contextlib.suppress(OSError):
            for name in os.listdir(self.parent):
                found = re.fullmatch(rf"{PREFIX}(\d+)-\d+", name)
                if found and not _alive(int(found.group(1))):
                    with contextlib.suppress(OSError):
                        os.rmdir(os.path.join(self.parent, name))


def join_prefix(cgroup: str) -> list[str]:
    """The command that moves itself into ``cgroup`` and then ``exec``s the rest."""
    return ["/bin/sh", "-c", 'echo $$ > "$0" && exec "$@"', os.path.join(cgroup, "cgroup.procs")]


def find_cpu_cgroups(
    proc_cgroup: str = "/proc/self/cgroup", root: str = "/sys/fs/cgroup"
) -> CpuCgroups | None:
    """Where this process may create CPU cgroups (v2 first, then v1), or None."""
    try:
        with open(proc_cgroup, encoding="utf-8") as handle:
            lines = [line.rstrip("\n").split(":", 2) for line in handle if line.count(":") >= 2]
    except OSError:
        return None
    own = {tuple(controllers.split(",")): path for _, controllers, path in lines}
    if ("",) in own and os.path.exists(os.path.join(root, "cgroup.controllers")):
        # v2 lets no cgroup but the root hold processes and enable controllers for children,
        # so in a delegated subtree the worker sits in a leaf: its tools' cgroups are then
        # siblings of that leaf, below the delegated parent.
        mine = own[("",)].strip("/")
        for place in dict.fromkeys((mine, os.path.dirname(mine))):
            parent = os.path.join(root, place) if place else root
            control = _read(os.path.join(parent, "cgroup.subtree_control")).split()
            if "cpu" in control and _writable(parent):
                return CpuCgroups(parent, 2)
    for controllers, path in own.items():
        if "cpu" not in controllers:
            continue
        for mount in (os.path.join(root, "cpu"), os.path.join(root, ",".join(controllers))):
            for parent in (os.path.join(mount, path.lstrip("/")), mount):
                quota = os.path.join(parent, "cpu.cfs_quota_us")
                if os.path.exists(quota) and _writable(parent):
                    return CpuCgroups(parent, 1)
    return None


@functools.cache
def worker_cpu_cgroups() -> CpuCgroups | None:
    """This worker's place for CPU cgroups, looked up once; warns once if there is none."""
    found = find_cpu_cgroups()
    if found is None:
        _logger.warning(
            "coresMax is not enforced here: no writable CPU cgroup (needs cgroup v1 as root, "
            "or a delegated cgroup v2 subtree with the cpu controller)"
        )
    return found


def _writable(path: str) -> bool:
    return os.path.isdir(path) and os.access(path, os.W_OK)


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except OSError:
        return ""


def _write(path: str, text: str) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
