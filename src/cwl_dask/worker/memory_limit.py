"""``ramMax`` as a limit on the tool process (``prlimit --data``, put before the tool).

CWL's ``ramMax`` is the most a tool may use; cwltool records it and enforces nothing (with
containers only ``--strict-memory-limit`` passes ``--memory`` = ramMin to the engine).
cwl-dask limits the tool's data segment (``RLIMIT_DATA``: heap and private anonymous
mappings, i.e. what the tool allocates, not the address space it merely reserves) to an
*explicit* ``ramMax``, through util-linux ``prlimit --data`` in front of the command
(:mod:`cwl_dask.worker.tool_processes`), for the tool and each process it starts. Why not
a cgroup (as ``coresMax`` uses, :mod:`cwl_dask.worker.cpu_limit`): a memory cgroup the
worker may write is rarer than a CPU one, and an rlimit works everywhere, unprivileged.
Why not ``RLIMIT_AS``: runtimes (Node.js, Java, Go) reserve far more address space than
they use. The limit is per process, not summed over a tool's children. A container's
processes are the engine's children, not the tool's: there the engine limits them
(``--memory``, :mod:`cwl_dask.worker.tool_classes`) and no rlimit is put on its client.

An allocation beyond the limit fails in the tool (``MemoryError``, ``Cannot allocate
memory``, ``std::bad_alloc``) or the kernel's OOM killer ends it (exit 137): the driver then
says "ran out of memory (ramMax N MiB)" (:func:`out_of_memory`) instead of a bare exit code.
A tool without ``ramMax`` that used more than its worker has is named in a warning
(:func:`memory_note`).
"""

from __future__ import annotations

from typing import Any

#: What a tool prints when an allocation fails (Python, C/glibc, C++, Java, Go, R, Perl,
#: Node.js).
_SIGNS = (
    "MemoryError",
    "Cannot allocate memory",
    "std::bad_alloc",
    "OutOfMemoryError",
    "out of memory",
    "Out of memory!",
    "cannot allocate vector",
    "Array buffer allocation failed",
    "JavaScript heap out of memory",
)
#: Exit codes of a process the OOM killer (or a container engine's cgroup) ended: SIGKILL
#: as a shell reports it (137) and as Python's subprocess does (-9).
_KILLED = (137, -9)
#: A peak this close to the limit means the limit was reached (sampled once a second).
_NEAR = 0.9


def ram_max_mib(builder: Any) -> float | None:
    """The invocation's explicit ``ramMax`` in MiB (expressions evaluated), else None.

    Only an explicit ``ramMax`` limits: CWL makes ``ramMax`` = ``ramMin`` when only the
    minimum is given (256 MiB by default), far too tight to enforce on tools that never
    said how much they need at most.
    """
    return explicit_maximum(builder, "ramMax")


def explicit_maximum(builder: Any, field: str) -> float | None:
    """``field`` (``ramMax``, ``coresMax``) of the invocation's ``ResourceRequirement`` as
    written (an expression evaluated by cwltool), else None when not given or not positive."""
    from cwltool.process import eval_resource

    requirement, _ = builder.get_requirement("ResourceRequirement")
    value = (requirement or {}).get(field)
    if value is None:
        return None
    evaluated = eval_resource(builder, value)
    return float(evaluated) if isinstance(evaluated, (int, float)) and evaluated > 0 else None


def out_of_memory(
    exit_code: int | None,
    log_tail: list[str],
    peak_mib: float | None = None,
    limit_mib: float | None = None,
) -> bool:
    """Whether a failed, memory-limited tool ended for memory: killed (137), its last lines
    say so in its language, or its sampled peak reached ``limit_mib``."""
    if exit_code in (None, 0):
        return False
    if exit_code in _KILLED or any(sign in line for line in log_tail for sign in _SIGNS):
        return True
    return peak_mib is not None and limit_mib is not None and peak_mib >= _NEAR * limit_mib


def memory_note(builder: Any, peak_mib: float | None) -> str:
    """A warning when a tool without ``ramMax`` used more memory than its worker has.

    Such a tool is not stopped: nothing said how much it may use, and stopping it at its
    ``ramMin`` (a placement hint, 256 MiB by default) would fail tools that merely
    underestimated. But it may push its worker into swap or the OOM killer, taking other
    tasks along: the run says which step, how much, and what to write. The worker's memory
    is Dask's memory limit, else the RAM it declares as a resource (the local cluster's);
    with neither, an explicit ``ramMin`` is the yardstick.
    """
    if peak_mib is None or ram_max_mib(builder) is not None:
        return ""
    worker_mib, what = _worker_memory_mib()
    if worker_mib is None:
        worker_mib, what = explicit_maximum(builder, "ramMin"), "its ramMin"
    if worker_mib is None or peak_mib <= worker_mib:
        return ""
    return (
        f"the tool used {peak_mib:.0f} MiB at its peak, more than {what} ({worker_mib:.0f} "
        "MiB); it was not stopped: give the step a ramMax to limit it, and a ramMin to have "
        "it placed on a worker with that much memory"
    )


def _worker_memory_mib() -> tuple[float | None, str]:
    """The memory of the Dask worker running this task, and how it is known."""
    try:
        from distributed import get_worker

        worker = get_worker()
    except (ImportError, ValueError):  # not in a Dask task
        return None, ""
    limit = getattr(getattr(worker, "memory_manager", None), "memory_limit", None)
    if limit:
        return limit / 2**20, "its worker's memory limit"
    from cwl_dask.clusters.base import RESOURCE_RAM

    state = getattr(worker, "state", worker)  # distributed keeps it in the WorkerState
    declared = (getattr(state, "total_resources", None) or {}).get(RESOURCE_RAM)
    return (float(declared), "the RAM its worker has") if declared else (None, "")
