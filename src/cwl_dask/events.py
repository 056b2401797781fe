"""What happened during a run, invocation by invocation, for reports and progress.

The dispatcher records one :class:`InvocationRecord` per finished tool invocation and tells
a :class:`RunObserver` (ZOO status updates, progress bars, usage reports) as things happen.
Observers are called from the driver thread; they must be quick and must not raise.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class InvocationRecord:
    """One tool invocation as it ran: where the usage report and the logs come from."""

    name: str  # cwltool's job name: the step, with _2, _3… for scatter elements
    step: str
    status: str  # success | permanentFail | temporaryFail
    cores: float
    ram_mib: float
    started: float | None  # epoch seconds on the worker; None if it never started
    finished: float | None
    exit_code: int | None  # the tool's, when it ran a command
    log_path: str

    @property
    def elapsed(self) -> float:
        if self.started is None or self.finished is None:
            return 0.0
        return max(0.0, self.finished - self.started)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "elapsed": self.elapsed}


class RunObserver:
    """Receives a run's events; override what you need (every method does nothing here)."""

    def submitted(self, name: str, step: str, resources: dict[str, float] | None) -> None:
        """A tool invocation became a Dask task."""

    def finished(self, record: InvocationRecord, done: int, submitted: int) -> None:
        """A tool invocation ended; ``done`` of the ``submitted`` so far have."""
