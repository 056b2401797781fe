"""One screen about a failed tool invocation: which step, which scatter element, what ran,
how it ended, the end of its log and where everything is kept."""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable, Sequence
from typing import Any

from cwl_dask.driver.outputs import finished_files
from cwl_dask.observe.events import InvocationRecord
from cwl_dask.worker.memory_limit import out_of_memory

_logger = logging.getLogger("cwl_dask")

#: cwltool's scatter callbacks: ``functools.partial(rc.receive_scatter_output, index)``.
_SCATTER_CALLBACK = "receive_scatter_output"


def scatter_index(callback: Callable[..., Any] | None) -> list[int]:
    """The scatter position of an invocation, outermost first ([] when not scattered).

    cwltool curries each scatter element's index into the output callback it hands down;
    the chain of partials (and the scatter receivers' own callbacks, for nested scatters
    and scattered subworkflows) is read, never called.
    """
    found: list[int] = []
    seen: set[int] = set()
    todo: list[Any] = [callback]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, functools.partial):
            func = current.func
            if getattr(func, "__name__", "") == _SCATTER_CALLBACK and current.args:
                if isinstance(current.args[0], int):
                    found.append(current.args[0])
                todo.append(getattr(getattr(func, "__self__", None), "output_callback", None))
            todo.append(func)
            todo.extend(arg for arg in current.args if callable(arg))
    return found[::-1]


def ram_max_of(job: Any) -> float | None:
    """The invocation's explicit ``ramMax`` (MiB), the limit its tool ran under, or None.

    Evaluated as the worker does (:func:`cwl_dask.worker.memory_limit.ram_max_mib`), with the
    invocation's inputs bound on placeholder directories when it is an expression.
    """
    requirement, _ = job.tool.get_requirement("ResourceRequirement")
    value = (requirement or {}).get("ramMax")
    if value is None or isinstance(value, (int, float)):
        return float(value) if value else None
    try:
        probe = job.runtime_context.copy()
        probe.outdir, probe.tmpdir, probe.stagedir = "/out", "/tmp", "/stage"
        probe.select_resources = lambda request, _context: dict(request)
        builder = job.tool._init_job(job.job_order, probe)
        return float(job.tool.evalResources(builder, probe)["ramMax"])
    except Exception:  # the message goes without the limit, not without the failure
        return None


def describe_failure(
    step: str, name: str, callback: Any, outcome: Any, ram_max: float | None = None
) -> str:
    """The message the driver logs when an invocation did not succeed; a tool limited to
    ``ram_max`` MiB that ended for memory is said to have run out of memory."""
    details = [name]
    index = scatter_index(callback)
    if index:
        details.append("scatter index " + "/".join(map(str, index)))
    details.append(outcome.status)
    if outcome.exit_code is not None:
        details.append(f"exit code {outcome.exit_code}")
    lines = [f"step '{step}' failed ({', '.join(details)})"]
    tail, peak = outcome.log_tail or [], getattr(outcome, "peak_mib", None)
    if ram_max is not None and out_of_memory(outcome.exit_code, tail, peak, ram_max):
        lines[0] += f": ran out of memory (ramMax {ram_max:g} MiB)"
    if outcome.message:
        lines.append(f"  {outcome.message}")
    if getattr(outcome, "command", ""):
        lines.append(f"  command: {outcome.command}")
    if outcome.log_tail:
        lines.append(f"  last lines of its log ({outcome.log_path}):")
        lines.extend(f"    {line}" for line in outcome.log_tail)
    elif outcome.log_path:
        lines.append(f"  log: {outcome.log_path}")
    if getattr(outcome, "workdir", ""):
        lines.append(f"  its output directory is kept: {outcome.workdir}")
    return "\n".join(lines)


def report_finished(
    records: Sequence[InvocationRecord],
    partial_output: Any,
    failed_dirs: tuple[str, ...],
    run_dir: str,
    written_to: str | None,
) -> None:
    """After a failed run, name what finished and where it is: the run directory (kept),
    or ``--outdir`` for the outputs ``--on-error continue`` wrote there."""
    done: dict[str, int] = {}
    for record in records:
        if record.status == "success":
            done[record.step] = done.get(record.step, 0) + 1
    if done:
        _logger.error(
            "finished before the failure (outputs kept in %s): %s",
            os.path.join(run_dir, "out"),
            ", ".join(f"{step} ({n})" if n > 1 else step for step, n in done.items()),
        )
    finished = [(k, p) for k, p in finished_files(partial_output) if not p.startswith(failed_dirs)]
    if finished and written_to:
        _logger.error(
            "workflow outputs that finished are written to %s:\n%s",
            written_to,
            "\n".join(f"  {key}: {os.path.basename(path)}" for key, path in finished),
        )
    elif finished:
        _logger.error(
            "workflow outputs that finished are kept in %s:\n%s",
            run_dir,
            "\n".join(f"  {key}: {path}" for key, path in finished),
        )
