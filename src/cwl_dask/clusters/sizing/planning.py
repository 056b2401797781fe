"""The plan: the worker size and the widest parallelism, from the walk's rows and waves.

The one place the numbers become a :class:`~cwl_dask.clusters.sizing.model.ClusterSpec`:
the largest request sets the worker, the backend's limits cap it, and the load of the
widest wave (in workers, small tasks packed) sets ``max_workers``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from cwltool.process import Process, shortname

from cwl_dask.clusters.sizing.load import load
from cwl_dask.clusters.sizing.model import (
    SIZED_CLASSES,
    UNKNOWN,
    Binding,
    ClusterSpec,
    Plan,
    SizingOptions,
    StepRequest,
    ToolRequest,
    _fmt,
    _number,
)
from cwl_dask.clusters.sizing.pools import pools
from cwl_dask.clusters.sizing.walk import _Row, _tool_name, _Walker


def plan(
    process: Process,
    job_order: Mapping[str, Any] | None = None,
    options: SizingOptions | None = None,
) -> Plan:
    """Size a cluster for ``process`` run with ``job_order`` (None: not known yet).

    Worker size: the largest ``coresMin`` and the largest ``ceil(ramMin)`` over every
    invocation (what the executor will ask Dask for), capped by the backend limits in
    ``options``. Invocations of steps that a job order makes empty are not counted.

    ``max_workers`` is the widest parallelism, measured in workers: the steps of a workflow
    are grouped into waves by dependency depth (steps of one wave are independent and run
    at the same time); a wave's load is the sum of its steps' loads; a tool step's load is
    its width times the share of a worker each invocation takes (1/k when k such
    invocations fit one worker, so small tasks pack onto a worker sized for a big one); a
    subworkflow step's load is the load of its widest wave, over all its invocations. The
    result is the widest top-level wave, rounded up. It is an estimate, not a bound:
    cwltool starts a step as soon as its own inputs are ready, so steps of neighbouring
    waves can overlap in an unbalanced graph; widths unknown up front count as
    ``options.default_width``.
    """
    options = options or SizingOptions()
    job_known = job_order is not None
    root: Binding
    if job_order is None:
        root = {shortname(i["id"]): UNKNOWN for i in process.tool["inputs"]}
    else:
        root = dict(job_order)
    walker = _Walker(options, job_known)
    tree = walker.process(process, "", [(root, 1)])
    notes = list(walker.notes)
    if not job_known and any("no job order" in n for row in walker.rows for n in row.notes):
        notes.append(
            "no job order: scatter widths and resource expressions are assumed "
            f"(width {options.default_width}, {_fmt(options.fallback_cores)} cores, "
            f"{_fmt(options.fallback_ram_mib)} MiB)"
        )
    running = [
        (row, request)
        for row in walker.rows
        if row.tool.tool.get("class") in SIZED_CLASSES
        for request, count in row.instances
        if count > 0
    ]
    cores = max((r.cores for _, r in running), default=1.0)
    ram = max((r.ram_mib for _, r in running), default=256)
    cores, ram = _capped(cores, ram, running, options, notes)
    gpus = max((r.gpus for _, r in running), default=0)
    peak = load(tree, cores, ram, gpus)
    max_workers = max(1, math.ceil(peak))
    if options.max_workers is not None and max_workers > options.max_workers:
        notes.append(
            f"the workflow could use {max_workers} workers; the backend allows "
            f"{options.max_workers}"
        )
        max_workers = max(1, options.max_workers)
    spec = ClusterSpec(_number(cores), math.ceil(ram), 1, max_workers, gpus)
    steps = tuple(_step_request(row) for row in walker.rows)
    sized = [row for row in walker.rows if row.tool.tool.get("class") in SIZED_CLASSES]
    return Plan(spec, steps, tuple(notes), pools(tree, sized, options))


def _capped(
    cores: float,
    ram: float,
    running: list[tuple[_Row, ToolRequest]],
    options: SizingOptions,
    notes: list[str],
) -> tuple[float, float]:
    """The worker size within the backend's limits, noting each step that asks for more."""
    limits = (
        ("cores", options.max_worker_cores, lambda r: r.cores, "cores"),
        ("ram", options.max_worker_memory_mib, lambda r: r.ram_mib, "MiB"),
    )
    for name, limit, amount, unit in limits:
        if limit is None:
            continue
        over = sorted({row.path for row, r in running if amount(r) > limit})
        if over:
            notes.append(
                f"{', '.join(over)} ask(s) for more {name} than a worker can have "
                f"({_fmt(limit)} {unit}); the worker is capped"
            )
    if options.max_worker_cores is not None:
        cores = min(cores, options.max_worker_cores)
    if options.max_worker_memory_mib is not None:
        ram = min(ram, options.max_worker_memory_mib)
    return cores, ram


def _step_request(row: _Row) -> StepRequest:
    requests = [r for r, _ in row.instances] or [ToolRequest(0, 0, 0, 0)]
    return StepRequest(
        step=row.path,
        tool=_tool_name(row.tool),
        cores=_number(max(r.cores for r in requests)),
        ram_mib=max(r.ram_mib for r in requests),
        cores_max=_number(max(r.cores_max for r in requests)),
        ram_max_mib=max(math.ceil(r.ram_max_mib) for r in requests),
        width=row.width,
        notes=tuple(row.notes),
        dask_cluster=row.dask_cluster,
        gpus=max(r.gpus for r in requests),
        labels=dict(requests[0].labels),
    )
