"""Usage report (calrissian's report.json shape) and ZOO progress from the run's records."""

from __future__ import annotations

from collections.abc import Callable

from cwl_dask.observe.events import InvocationRecord, RunObserver, failure_message
from cwl_dask.observe.usage import usage_report

__all__ = ["FIRST", "LAST", "ProgressObserver", "failure_message", "usage_report"]

#: Progress while tasks run goes from FIRST to LAST percent (calrissian: 23 submitted, 90 done).
FIRST, LAST = 23, 90


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
