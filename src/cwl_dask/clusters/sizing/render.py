"""The plan as text for ``cwl-dask plan`` (the JSON form is :meth:`Plan.to_json`).

Only presentation: a table of steps, each step's notes and own Dask cluster, the cluster
spec and the plan's notes. Nothing here changes a number.
"""

from __future__ import annotations

from cwl_dask.clusters import stepclusters
from cwl_dask.clusters.sizing.model import Plan, _fmt


def format_plan(result: Plan) -> str:
    """The plan as a table of steps followed by the cluster spec and the notes."""
    header = ("step", "tool", "cores", "ram MiB", "width")
    rows = [
        (
            s.step,
            s.tool,
            _fmt(s.cores) if s.cores_max == s.cores else f"{_fmt(s.cores)}-{_fmt(s.cores_max)}",
            str(s.ram_mib) if s.ram_max_mib == s.ram_mib else f"{s.ram_mib}-{s.ram_max_mib}",
            str(s.width),
        )
        for s in result.steps
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(r, widths, strict=True)).rstrip()
        for r in [header, *rows]
    ]
    for step in result.steps:
        lines.extend(f"  {step.step}: {note}" for note in step.notes)
        if step.dask_cluster is not None:
            cluster = stepclusters.StepCluster(
                **{k: v for k, v in step.dask_cluster.items() if k != "workers"}
            )
            lines.append(
                f"  {step.step}: own Dask cluster (DaskGatewayRequirement): {cluster.describe()}"
            )
    spec = result.spec
    lines += [
        "",
        f"worker: {_fmt(spec.worker_cores)} core{'' if spec.worker_cores == 1 else 's'}, "
        f"{spec.worker_memory_mib} MiB",
        f"workers: min {spec.min_workers}, max {spec.max_workers}",
    ]
    if result.pools:
        lines += [
            "",
            f"pools ({len(result.pools)}; one cluster each where the backend creates them):",
        ]
        lines.extend(f"  {line}" for line in _pool_lines(result))
    lines.extend(f"note: {note}" for note in result.notes)
    return "\n".join(lines)


def _pool_lines(result: Plan) -> list[str]:
    """One line per pool: the worker, the worker counts, the waste, the steps."""
    lines = []
    for pool in result.pools:
        worker = f"{_fmt(pool.cores)} core{'' if pool.cores == 1 else 's'}, {pool.ram_mib} MiB"
        if pool.gpus:
            worker += f", {pool.gpus} GPU{'' if pool.gpus == 1 else 's'}"
        if pool.labels:
            worker += ", " + ",".join(f"{k}={v}" for k, v in pool.labels.items())
        lines.append(
            f"{pool.name}: workers of {worker}; {pool.min_workers}-{pool.max_workers} workers; "
            f"{pool.waste:.0%} idle; steps {', '.join(pool.steps)}"
        )
    return lines
