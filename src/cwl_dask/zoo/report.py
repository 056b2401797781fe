"""Usage report (calrissian's report.json shape) and ZOO progress from the run's records."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import Any

from cwl_dask.events import InvocationRecord, RunObserver

#: Progress while tasks run goes from FIRST to LAST percent (calrissian: 23 submitted, 90 done).
FIRST, LAST = 23, 90


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


def usage_report(
    records: Sequence[InvocationRecord], cores_allowed: float, ram_mb_allowed: float
) -> dict[str, Any]:
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
        "children": children,
    }


def failure_message(records: Sequence[InvocationRecord]) -> str | None:
    """Names the first invocation that did not succeed, or None."""
    for r in records:
        if r.status != "success":
            code = "" if r.exit_code is None else f", exit code {r.exit_code}"
            return f"step {r.step} failed ({r.name}: {r.status}{code}; log {r.log_path})"
    return None


class ProgressObserver(RunObserver):
    """Turns finished tasks into ZOO status updates between FIRST and LAST percent."""

    def __init__(self, update: Callable[[int, str], None], log: Callable[[str], None]) -> None:
        self.update = update
        self.log = log
        self.percent = FIRST

    def submitted(self, name: str, step: str, resources: dict[str, float] | None) -> None:
        self.log(f"submitted {name} (step {step}, resources {resources})")

    def finished(self, record: InvocationRecord, done: int, submitted: int) -> None:
        self.log(
            f"finished {record.name}: {record.status} (exit code {record.exit_code}, "
            f"{record.elapsed:.1f} s, log {record.log_path})"
        )
        percent = FIRST + (LAST - FIRST) * done // max(submitted, 1)
        self.percent = max(self.percent, min(percent, LAST - 1))
        self.update(
            self.percent, f"{done} of {submitted} tasks done ({record.name}: {record.status})"
        )
