"""What happened during a run, invocation by invocation, for reports and progress.

The dispatcher records one :class:`InvocationRecord` per finished tool invocation and tells
a :class:`RunObserver` (ZOO status updates, progress bars, usage reports) as things happen.
Observers are called from the driver thread; they must be quick and must not raise.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

_logger = logging.getLogger("cwl_dask")


@dataclass(frozen=True)
class InvocationRecord:
    """One tool invocation as it ran: where the usage report and the logs come from."""

    name: str
    """cwltool's job name: the step, with ``_2``, ``_3``… for scatter elements."""
    step: str
    """The workflow step the invocation belongs to."""
    status: str
    """``success``, ``permanentFail`` or ``temporaryFail``."""
    cores: float
    """The cores its ``ResourceRequirement`` asked for."""
    ram_mib: float
    """The RAM (MiB) its ``ResourceRequirement`` asked for."""
    started: float | None
    """Epoch seconds on the worker; None if it never started."""
    finished: float | None
    """Epoch seconds on the worker; None if it never finished."""
    exit_code: int | None
    """The tool's, when it ran a command."""
    log_path: str
    """Its log: stdout/stderr when not redirected, and cwltool's messages about it."""
    bytes_downloaded: int = 0
    """Store mode (``--workdir s3://``): the inputs the worker fetched."""
    bytes_uploaded: int = 0
    """Store mode: the results the worker put into the store."""
    cached: bool = False
    """``--cachedir``: the result was reused, the tool did not run."""
    saved_seconds: float = 0.0
    """A reused result: how long its tool had run."""
    saved_bytes: int = 0
    """A reused result: the bytes of its files."""

    @property
    def elapsed(self) -> float:
        """Seconds from start to end on the worker (0 when it did not run)."""
        if self.started is None or self.finished is None:
            return 0.0
        return max(0.0, self.finished - self.started)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "elapsed": self.elapsed}


class RunObserver:
    """Receives a run's events; override what you need (every method does nothing here)."""

    def submitted(self, name: str, step: str, resources: dict[str, float] | None) -> None:
        """A tool invocation became a Dask task."""

    def connected(self, client: Any) -> None:
        """The run's Dask client is ready; nothing was submitted yet."""

    def clusters_connected(self, clients: list[Any]) -> None:
        """Every client tasks may go to (one per pool's cluster), after :meth:`connected`."""

    def started(self, name: str, step: str) -> None:
        """A worker began running an invocation (called from Dask's event thread)."""

    def expected(self, totals: dict[str, int]) -> None:
        """The invocations each step will have, as far as known (grows as scatters start)."""

    def finished(self, record: InvocationRecord, done: int, submitted: int) -> None:
        """A tool invocation ended; ``done`` of the ``submitted`` so far have."""

    def run_ended(self) -> None:
        """No more tasks will run; called while the Dask client is still connected."""


class Observers(RunObserver):
    """Several observers as one; one that raises is logged and does not stop the run."""

    def __init__(self, observers: Sequence[RunObserver | None]) -> None:
        self.observers = [o for o in observers if o is not None]

    def _each(self, method: str, *args: Any) -> None:
        for observer in self.observers:
            try:
                getattr(observer, method)(*args)
            except Exception as err:  # a display must never break a run
                _logger.debug("observer %s.%s failed: %r", type(observer).__name__, method, err)

    def submitted(self, name: str, step: str, resources: dict[str, float] | None) -> None:
        self._each("submitted", name, step, resources)

    def connected(self, client: Any) -> None:
        self._each("connected", client)

    def clusters_connected(self, clients: list[Any]) -> None:
        self._each("clusters_connected", clients)

    def started(self, name: str, step: str) -> None:
        self._each("started", name, step)

    def expected(self, totals: dict[str, int]) -> None:
        self._each("expected", totals)

    def finished(self, record: InvocationRecord, done: int, submitted: int) -> None:
        self._each("finished", record, done, submitted)

    def run_ended(self) -> None:
        self._each("run_ended")


def failure_message(records: Sequence[InvocationRecord]) -> str | None:
    """Names the first invocation that did not succeed, or None."""
    for r in records:
        if r.status != "success":
            code = "" if r.exit_code is None else f", exit code {r.exit_code}"
            return f"step {r.step} failed ({r.name}: {r.status}{code}; log {r.log_path})"
    return None
