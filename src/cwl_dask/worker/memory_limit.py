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
"""

from __future__ import annotations

from typing import Any

#: What a tool prints when an allocation fails (Python, C/glibc, C++, Java, Go, R).
_SIGNS = (
    "MemoryError",
    "Cannot allocate memory",
    "std::bad_alloc",
    "OutOfMemoryError",
    "out of memory",
    "cannot allocate vector",
)


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


def out_of_memory(exit_code: int | None, log_tail: list[str]) -> bool:
    """Whether a failed, memory-limited tool ended for memory (its last lines or exit 137)."""
    if exit_code in (None, 0):
        return False
    return exit_code == 137 or any(sign in line for line in log_tail for sign in _SIGNS)
