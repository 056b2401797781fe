"""What a ZOO run leaves: its job log, tool logs, output and usage report.

The service templates read these through ``runner.execution`` (the names of pycalrissian's
execution object). Their ``except`` branch opens ``{tmpPath}/{namespace}/job.log`` for
writing and then writes ``runner.execution.get_log()`` into it, so the runner's log is
kept in memory (and mirrored to ``cwl-dask.log`` beside it), never in ``job.log``: a log
read back from the file the template has just truncated would be empty.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

from cwl_dask.observe.events import InvocationRecord

LOG_NAME = "cwl-dask.log"
"""The runner's own log file in the run directory (templates write ``job.log``)."""


class JobLog:
    """The run's log: the runner's lines plus cwltool's and cwl-dask's log records."""

    def __init__(self, mirror: Path) -> None:
        self.lines: list[str] = []
        self.mirror = mirror
        mirror.write_text("", encoding="utf-8")

    def write(self, line: str) -> None:
        self.add_line(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {line}")

    def add_line(self, text: str) -> None:
        self.lines.append(text)
        with self.mirror.open("a", encoding="utf-8") as f:
            f.write(text + "\n")

    def text(self) -> str:
        return "".join(f"{line}\n" for line in self.lines)

    def capture(self) -> LogCapture:
        """A context in which cwltool's and cwl-dask's log records go into this log."""
        return LogCapture(self)


class LogCapture(logging.Handler):
    """Copies log records of ``cwltool`` and ``cwl_dask`` (INFO and up) into a JobLog and
    remembers the last line of each error, for the failure message."""

    def __init__(self, log: JobLog) -> None:
        super().__init__(logging.INFO)
        self.log = log
        self.errors: list[str] = []
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        self.loggers = [logging.getLogger(n) for n in ("cwltool", "cwl_dask")]

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage().strip()
        if record.levelno >= logging.ERROR and message and "are kept in" not in message:
            self.errors.append(message.splitlines()[-1])
        self.log.add_line(self.format(record))

    def __enter__(self) -> LogCapture:
        for logger in self.loggers:
            logger.addHandler(self)
        return self

    def __exit__(self, *exc: object) -> None:
        for logger in self.loggers:
            logger.removeHandler(self)


class Execution:
    """What the run left: ``get_log()``, ``get_tool_logs()``, ``get_output()``,
    ``get_usage_report()`` (the names pycalrissian's execution object has)."""

    def __init__(self, log: JobLog) -> None:
        self.log = log
        self.output: dict[str, Any] | None = None
        self.records: list[InvocationRecord] = []
        self.usage_report: dict[str, Any] = {}
        self.code: int | None = None

    @property
    def log_path(self) -> Path:
        return self.log.mirror

    def get_log(self) -> str:
        return self.log.text()

    def get_tool_logs(self) -> list[str]:
        """One log per invocation, in the run directory, each with its own base name (the
        handlers link them as ``{tmpUrl}/{Identifier}-{usid}/<base name>``)."""
        return [r.log_path for r in self.records if r.log_path and os.path.exists(r.log_path)]

    def get_output(self) -> dict[str, Any] | None:
        return self.output

    def get_usage_report(self) -> dict[str, Any]:
        return self.usage_report

    def is_succeeded(self) -> bool:
        return self.code == 0
