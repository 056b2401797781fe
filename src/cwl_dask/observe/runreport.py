"""What a finished run reports: the per-step summary, ``--usage-report`` and ``--report``.

The summary table (per step: invocations, total/mean/max duration, cores, RAM, retries) is
printed on stderr at the end of every run, successful or not. ``--usage-report FILE``
writes the usage report the ZOO runner returns (calrissian's shape plus ``steps``);
``--report FILE.html`` is Dask's ``performance_report`` of the run — task stream, worker
profile, bandwidth — with the summary table added at the top.
"""

from __future__ import annotations

import html
import json
import logging
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from dask.utils import format_bytes

from cwl_dask.clusters import RESOURCE_CORES, RESOURCE_RAM
from cwl_dask.observe.events import InvocationRecord, RunObserver
from cwl_dask.observe.usage import (
    format_summary,
    step_summary,
    summary_columns,
    summary_rows,
    usage_report,
)

_logger = logging.getLogger("cwl_dask")


class RunReport(RunObserver):
    """Collects the run's records and writes the summary and the reports when it ends."""

    def __init__(
        self,
        html_path: str | None = None,
        usage_path: str | None = None,
        print_summary: bool = True,
        json_lines: bool = False,
    ) -> None:
        self.html_path = str(Path(html_path).absolute()) if html_path else None
        self.usage_path = usage_path
        self.print_summary = print_summary
        self.json_lines = json_lines
        self.records: list[InvocationRecord] = []
        self.starts: Counter[str] = Counter()
        self.cores_allowed = 0.0
        self.ram_allowed = 0.0
        self._client: Any = None
        self._performance: Any = None
        self._holding: Any = None

    @property
    def retries(self) -> dict[str, int]:
        """Starts beyond the first, per invocation: Dask ran it again after a lost worker."""
        return {name: count - 1 for name, count in self.starts.items() if count > 1}

    def connected(self, client: Any) -> None:
        self._client = client
        if self.html_path:
            from distributed import performance_report

            try:
                # inline: Bokeh's JavaScript in the file, so that it opens offline too
                self._performance = performance_report(filename=self.html_path, mode="inline")
                self._performance.__enter__()
            except Exception as err:
                self._performance = None
                _logger.warning("no Dask performance report: %s", err)

    def clusters_connected(self, clients: list[Any]) -> None:
        """With ``--usage-report``: sample what the clusters' workers hold (:mod:`.holding`)."""
        if self.usage_path:
            from cwl_dask.observe.holding import Holding

            self._holding = Holding(clients)

    def started(self, name: str, step: str) -> None:
        self.starts[name] += 1

    def finished(self, record: InvocationRecord, done: int, submitted: int) -> None:
        self.records.append(record)

    def run_ended(self) -> None:
        """Stop the performance report and note the cluster's size, while still connected."""
        self._measure_cluster()
        if self._performance is not None:
            try:
                self._performance.__exit__(None, None, None)
            except Exception as err:
                _logger.warning("cannot write the Dask performance report: %s", err)
                self._performance = None
        self.finish()

    def _measure_cluster(self) -> None:
        if getattr(self._client, "status", None) != "running":
            return  # the scheduler was lost: asking it would wait for a reconnection
        try:
            workers = self._client.scheduler_info(n_workers=-1)["workers"].values()
        except Exception:
            return
        resources = [w.get("resources", {}) for w in workers]
        self.cores_allowed = sum(r.get(RESOURCE_CORES, 0) for r in resources) or sum(
            w.get("nthreads", 0) for w in workers
        )
        self.ram_allowed = sum(r.get(RESOURCE_RAM, 0) for r in resources)

    def finish(self) -> None:
        rows = step_summary(self.records, self.retries)
        if self.usage_path:
            report = usage_report(self.records, self.cores_allowed, self.ram_allowed, self.retries)
            if self._holding is not None:
                self._holding.stop()
                report["held"] = self._holding.report()
            Path(self.usage_path).write_text(json.dumps(report, indent=2), encoding="utf-8")
        if self.html_path and self._performance is not None:
            _add_summary(Path(self.html_path), rows, self.ram_allowed)
            _logger.info("Dask performance report: %s", self.html_path)
        if self.print_summary and rows:
            if self.json_lines:
                from dataclasses import asdict

                event = {"event": "summary", "steps": [asdict(r) for r in rows]}
                _logger.info("summary", extra={"event": event})
            else:
                print(format_summary(rows), file=sys.stderr, flush=True)


def _add_summary(path: Path, rows: list[Any], ram_mib: float = 0.0) -> None:
    """Put the per-step table at the top of Dask's performance report page.

    Dask's page gives the workers' memory limit as the cluster's memory, which is 0 B for
    cwl-dask's local cluster (tools are subprocesses: Dask must not pause or kill the
    worker for their memory); the RAM the tools may ask for is said instead.
    """
    head = "".join(f"<th>{html.escape(c)}</th>" for c in summary_columns(rows))
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>"
        for row in summary_rows(rows)
    )
    section = (
        '<section id="cwl-dask-summary" style="font-family:sans-serif;margin:1em">'
        "<h2>cwl-dask: invocations per step</h2>"
        f'<table border="1" cellpadding="4" style="border-collapse:collapse">'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></section>"
    )
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        _logger.warning("cannot add the summary to %s: %s", path, err)
        return
    if ram_mib:
        ram = f"Memory: {format_bytes(ram_mib * 2**20)} for tools (cwl-dask's RAM resource)"
        text = text.replace("Memory: 0 B", ram)
    # Dask's template names its favicon on docs.dask.org: the one request the page would make
    # to the network, each time the report is opened (seen by tests/test_browser.py).
    text = _REMOTE_ICON.sub("", text)
    # The page's own <body> tag, not the "<body>" strings inside Bokeh's inlined JavaScript
    # (putting the table into a script broke the script and hid the table).
    body_tag = next((m for m in _BODY_OR_SCRIPT.finditer(text) if m.group("body")), None)
    if body_tag is None:
        text = section + text
    else:
        text = text[: body_tag.end()] + section + text[body_tag.end() :]
    path.write_text(text, encoding="utf-8")


_REMOTE_ICON = re.compile(r"<link\s+rel=\"(?:shortcut )?icon\"\s+href=\"https?://[^\"]*\"\s*/?>")
_BODY_OR_SCRIPT = re.compile(r"<script\b.*?</script\s*>|(?P<body><body\b[^>]*>)", re.S | re.I)
