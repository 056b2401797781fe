"""Seeing a run move: progress bars on a terminal, one line per event otherwise.

:class:`ProgressBars` draws one rich bar per step (done/total invocations, running, elapsed,
ETA) while stderr is a terminal; :class:`EventLog` writes one log line per event (plain
text, or JSON with ``--log-format json``) for files, CI logs and machines. Both are
:class:`~cwl_dask.observe.events.RunObserver`s; the totals come from
:class:`~cwl_dask.observe.totals.StepTotals` through ``expected()``.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from datetime import datetime, timezone
from typing import Any

from cwl_dask.observe.events import InvocationRecord, RunObserver

_logger = logging.getLogger("cwl_dask")


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Log records to whatever ``sys.stderr`` is now, as text or one JSON object per line.

    The stream is looked up at every record, so the lines land above the progress bars
    while rich redirects stderr. cwltool sets its own formatter on the handler it is given;
    the JSON layout is therefore not a formatter but this handler's ``format``.
    """

    def __init__(self, json_lines: bool = False) -> None:
        super().__init__()
        self.json_lines = json_lines
        self.formatter = logging.Formatter("%(levelname)s %(message)s")

    def setFormatter(self, fmt: logging.Formatter | None) -> None:
        """Kept as is: cwltool would set its (coloured) formatter on every handler it uses."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass

    def format(self, record: logging.LogRecord) -> str:
        if not self.json_lines:
            return super().format(record)
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=timezone.utc).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        event = getattr(record, "event", None)
        if isinstance(event, dict):
            line.update(event)
        if record.exc_info:
            line["traceback"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def _resources(resources: dict[str, float] | None) -> str:
    if not resources:
        return "no resource limits"
    text = f"{resources.get('cores', 0):g} cores, {resources.get('ram', 0):g} MiB"
    gpus = resources.get("gpu", 0)
    return f"{text}, {gpus:g} GPU{'' if gpus == 1 else 's'}" if gpus else text


class EventLog(RunObserver):
    """One log line per event (INFO; ``submitted`` at DEBUG), with the event as fields."""

    def __init__(self) -> None:
        self.totals: dict[str, int] = {}
        self.done: dict[str, int] = {}

    def _emit(self, level: int, message: str, **event: Any) -> None:
        _logger.log(level, message, extra={"event": event})

    def submitted(self, name: str, step: str, resources: dict[str, float] | None) -> None:
        self._emit(
            logging.DEBUG,
            f"submitted {name} ({_resources(resources)})",
            event="submitted",
            name=name,
            step=step,
            resources=resources,
        )

    def started(self, name: str, step: str) -> None:
        self._emit(logging.INFO, f"started {name}", event="started", name=name, step=step)

    def expected(self, totals: dict[str, int]) -> None:
        changed = {k: v for k, v in totals.items() if self.totals.get(k) != v}
        self.totals = dict(totals)
        if changed:
            text = ", ".join(f"{step} {count}" for step, count in changed.items())
            self._emit(
                logging.INFO, f"invocations expected: {text}", event="expected", totals=changed
            )

    def finished(self, record: InvocationRecord, done: int, submitted: int) -> None:
        step_done = self.done[record.step] = self.done.get(record.step, 0) + 1
        total = max(self.totals.get(record.step, 0), step_done)
        self._emit(
            logging.INFO,
            f"finished {record.name}: {record.status} in {record.elapsed:.1f} s "
            f"({step_done}/{total} of step {record.step}; log {record.log_path})",
            event="finished",
            name=record.name,
            step=record.step,
            status=record.status,
            exit_code=record.exit_code,
            elapsed=round(record.elapsed, 3),
            step_done=step_done,
            step_total=total,
            done=done,
            log=record.log_path,
        )


class ProgressBars(RunObserver):
    """One rich progress bar per step on a terminal: done/total, running, elapsed, ETA.

    Bars appear as steps become known; a total grows as scatters reveal their width, and
    shows ``?`` while nothing is known. Log records keep flowing above the bars.
    """

    def __init__(self, console: Any = None) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.console = console or Console(file=sys.stderr)
        self.progress = Progress(
            TextColumn("[bold]{task.description:<16}"),
            BarColumn(bar_width=30),
            TextColumn("{task.completed:>4.0f}/{task.fields[total_text]:<4}"),
            TextColumn("running {task.fields[running]:>3}"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=self.console,
            refresh_per_second=4,
            redirect_stderr=True,
            redirect_stdout=False,
        )
        self._tasks: dict[str, Any] = {}
        self._running: dict[str, set[str]] = {}
        self._finished: set[str] = set()
        self._done: dict[str, int] = {}
        self._submitted: dict[str, int] = {}
        self._totals: dict[str, int] = {}
        self._active = False

    def _task(self, step: str) -> Any:
        """The step's bar, added at its first invocation: bars stand in the order steps begin."""
        task = self._tasks.get(step)
        if task is None:
            task = self._tasks[step] = self.progress.add_task(
                step, total=None, start=False, running=0, total_text="?"
            )
            self._running[step] = set()
        return task

    def _refresh(self, step: str) -> None:
        if step not in self._tasks:
            return
        done = self._done.get(step, 0)
        total = max(self._totals.get(step, 0), self._submitted.get(step, 0), done)
        self.progress.update(
            self._task(step),
            completed=done,
            total=total or None,
            total_text=str(total) if total else "?",
            running=len(self._running[step] - self._finished),
        )

    def connected(self, client: Any) -> None:
        self.progress.start()
        self._active = True

    def submitted(self, name: str, step: str, resources: dict[str, float] | None) -> None:
        self._submitted[step] = self._submitted.get(step, 0) + 1
        self._task(step)
        self._refresh(step)

    def started(self, name: str, step: str) -> None:
        task = self._task(step)
        self.progress.start_task(task)
        self._running[step].add(name)
        self._refresh(step)

    def expected(self, totals: dict[str, int]) -> None:
        self._totals.update(totals)
        for step in totals:
            self._refresh(step)  # only steps that have a bar

    def finished(self, record: InvocationRecord, done: int, submitted: int) -> None:
        self._finished.add(record.name)
        self._done[record.step] = self._done.get(record.step, 0) + 1
        self.progress.start_task(self._task(record.step))
        self._refresh(record.step)

    def run_ended(self) -> None:
        if not self._active:
            return
        for step, task in self._tasks.items():  # skipped invocations: the bar ends full
            self._totals[step] = self._submitted[step] = self._done.get(step, 0)
            self._refresh(step)
            self.progress.stop_task(task)
        time.sleep(0.05)
        self.progress.stop()
        self._active = False


def make_display(log_format: str, quiet: bool, bars: bool | None = None) -> RunObserver:
    """Bars when stderr is a terminal (text logs, not quiet), else one line per event."""
    from rich.console import Console

    if bars is None:
        bars = log_format == "text" and not quiet and Console(file=sys.stderr).is_terminal
    return ProgressBars() if bars else EventLog()
