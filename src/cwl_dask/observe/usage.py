"""What a run used, from its invocation records: the usage report and the per-step summary.

The usage report has calrissian's ``report.json`` shape (what ZOO-Project handlers receive
from zoo-calrissian-runner), so the CLI's ``--usage-report`` and the ZOO runner write the
same document; ``steps`` adds the per-step summary the CLI prints at the end of a run.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any

from cwl_dask.observe.events import InvocationRecord


def _iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, tz=timezone.utc).isoformat()


def _peaks(records: Sequence[InvocationRecord]) -> tuple[float, float, int]:
    """Largest cores, RAM and task count running at the same time."""
    events: list[tuple[float, int, InvocationRecord]] = []
    for r in records:
        if r.started is not None and r.finished is not None:
            events += [(r.started, 1, r), (r.finished, 0, r)]  # ends sort before starts
    cores = ram = best_cores = best_ram = 0.0
    tasks = best_tasks = 0
    for _, start, r in sorted(events, key=lambda e: (e[0], e[1])):
        sign = 1 if start else -1
        cores += sign * r.cores
        ram += sign * r.ram_mib
        tasks += sign
        best_cores, best_ram = max(best_cores, cores), max(best_ram, ram)
        best_tasks = max(best_tasks, tasks)
    return best_cores, best_ram, best_tasks


@dataclass(frozen=True)
class StepUsage:
    """One step's invocations, summed up: a row of the end-of-run table."""

    step: str
    invocations: int
    failed: int
    total_seconds: float
    mean_seconds: float
    max_seconds: float
    cores: float  # the largest request of an invocation
    ram_mib: float
    retries: int  # starts beyond the first (a lost worker's task started again)
    bytes_downloaded: int = 0  # store mode: what its invocations fetched and uploaded
    bytes_uploaded: int = 0
    cached: int = 0  # --cachedir: invocations whose result was reused (the tool did not run)
    saved_seconds: float = 0.0  # what those tools had taken, and the bytes of their results
    saved_bytes: int = 0


def step_summary(
    records: Sequence[InvocationRecord], retries: Mapping[str, int] | None = None
) -> list[StepUsage]:
    """Per step, in order of first completion; ``retries`` counts restarts per job name."""
    groups: dict[str, list[InvocationRecord]] = {}
    for r in records:
        groups.setdefault(r.step, []).append(r)
    rows = []
    for step, group in groups.items():
        times = [r.elapsed for r in group]
        rows.append(
            StepUsage(
                step=step,
                invocations=len(group),
                failed=sum(r.status != "success" for r in group),
                total_seconds=sum(times),
                mean_seconds=sum(times) / len(times),
                max_seconds=max(times),
                cores=max(r.cores for r in group),
                ram_mib=max(r.ram_mib for r in group),
                # per job name, not per record: each retried attempt is a record of its own
                retries=sum((retries or {}).get(name, 0) for name in {r.name for r in group}),
                bytes_downloaded=sum(r.bytes_downloaded for r in group),
                bytes_uploaded=sum(r.bytes_uploaded for r in group),
                cached=sum(r.cached for r in group),
                saved_seconds=sum(r.saved_seconds for r in group),
                saved_bytes=sum(r.saved_bytes for r in group),
            )
        )
    return rows


def _seconds(value: float) -> str:
    if value < 60:
        return f"{value:.1f}s"
    minutes, seconds = divmod(round(value), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{seconds:02d}s" if hours else f"{minutes}m{seconds:02d}s"


SUMMARY_COLUMNS = (
    "step",
    "invocations",
    "failed",
    "total",
    "mean",
    "max",
    "cores",
    "ram",
    "retries",
)


#: Added to :data:`SUMMARY_COLUMNS` when a result was reused from ``--cachedir``.
CACHE_COLUMNS = ("cached", "saved")


def summary_columns(rows: Sequence[StepUsage]) -> tuple[str, ...]:
    """The table's columns: the cache's only in a run that reused a result."""
    return SUMMARY_COLUMNS + (CACHE_COLUMNS if any(r.cached for r in rows) else ())


def _bytes(value: int) -> str:
    from dask.utils import format_bytes

    return str(format_bytes(value))


def summary_rows(rows: Sequence[StepUsage]) -> list[tuple[str, ...]]:
    """The table's cells as text, one tuple per step (same order as :func:`summary_columns`)."""
    cache = any(r.cached for r in rows)
    return [
        (
            row.step,
            str(row.invocations),
            str(row.failed),
            _seconds(row.total_seconds),
            _seconds(row.mean_seconds),
            _seconds(row.max_seconds),
            f"{row.cores:g}",
            f"{row.ram_mib:g} MiB",
            str(row.retries),
        )
        + (
            (str(row.cached), f"{_seconds(row.saved_seconds)} {_bytes(row.saved_bytes)}")
            if cache
            else ()
        )
        for row in rows
    ]


def format_summary(rows: Sequence[StepUsage]) -> str:
    """A plain-text table, aligned, for stderr and logs."""
    columns = summary_columns(rows)
    cells = [columns, *summary_rows(rows)]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    lines = [
        "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(line, widths, strict=True))
        )
        for line in cells
    ]
    return "\n".join(lines)


def usage_report(
    records: Sequence[InvocationRecord],
    cores_allowed: float,
    ram_mb_allowed: float,
    retries: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    """calrissian's usage report (``report.json``) plus ``steps``, the per-step summary."""
    children = []
    for r in records:
        hours = r.elapsed / 3600
        children.append(
            {
                "name": r.name,
                "step": r.step,
                "status": r.status,
                "start_time": _iso(r.started),
                "finish_time": _iso(r.finished),
                "cpus": r.cores,
                "ram_megabytes": r.ram_mib,
                "disk_megabytes": 0,
                "exit_code": r.exit_code,
                "elapsed_seconds": r.elapsed,
                "elapsed_hours": hours,
                "cpu_hours": r.cores * hours,
                "ram_megabyte_hours": r.ram_mib * hours,
                "log": r.log_path,
                "bytes_downloaded": r.bytes_downloaded,
                "bytes_uploaded": r.bytes_uploaded,
                "cached": r.cached,
                "saved_seconds": r.saved_seconds,
                "saved_bytes": r.saved_bytes,
            }
        )
    starts = [r.started for r in records if r.started is not None]
    ends = [r.finished for r in records if r.finished is not None]
    start, finish = (min(starts), max(ends)) if starts and ends else (None, None)
    elapsed = (finish - start) if start is not None and finish is not None else 0.0
    cores, ram, tasks = _peaks(records)
    return {
        "cores_allowed": cores_allowed,
        "ram_mb_allowed": ram_mb_allowed,
        "start_time": _iso(start),
        "finish_time": _iso(finish),
        "elapsed_seconds": elapsed,
        "elapsed_hours": elapsed / 3600,
        "total_cpu_hours": sum(c["cpu_hours"] for c in children),
        "total_ram_megabyte_hours": sum(c["ram_megabyte_hours"] for c in children),
        "total_disk_megabytes": 0,
        "total_tasks": len(children),
        "max_parallel_cpus": cores,
        "max_parallel_ram_megabytes": ram,
        "max_parallel_tasks": tasks,
        "cache_hits": sum(r.cached for r in records),
        "cache_saved_seconds": sum(r.saved_seconds for r in records),
        "cache_saved_bytes": sum(r.saved_bytes for r in records),
        "steps": [asdict(row) for row in step_summary(records, retries)],
        "children": children,
    }


def step_seconds(report: Mapping[str, Any]) -> dict[str, tuple[int, float]]:
    """Invocations and total seconds per step of a usage report (ours or calrissian's)."""
    totals: dict[str, tuple[int, float]] = {}
    for child in report.get("children", []):
        step = str(child.get("step") or re.sub(r"_\d+$", "", str(child.get("name", ""))))
        count, seconds = totals.get(step, (0, 0.0))
        totals[step] = (count + 1, seconds + float(child.get("elapsed_seconds") or 0.0))
    return totals
