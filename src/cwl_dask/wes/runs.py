"""The runs of the WES backend: a directory and a ``cwl-dask run`` process group each.

A run's directory (``<runs>/<run_id>/``) holds what WES reports and nothing else decides it:
``request.json`` (the submission), ``params.json`` (its ``workflow_params``), ``attachments/``,
``stdout.json`` (the output object ``cwl-dask run`` prints), ``stderr.log``, ``pid``,
``exit_code`` once the process ended, ``canceled`` once a cancel was asked, ``times.json``.
The outputs are reported only for a run that exited 0: a run that failed or was stopped
half-way has none, whatever its stdout holds.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import psutil  # distributed's dependency

#: The run ids this backend makes (and the only ones it accepts: no path can be smuggled in).
RUN_ID = re.compile(r"^[0-9a-f]{32}$")

#: WES states of a run whose process has not ended.
ACTIVE = ("QUEUED", "INITIALIZING", "RUNNING", "CANCELING")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


class Runs:
    """The runs under ``root``, started as ``cwl-dask run EXTRA… --outdir OUT WORKFLOW PARAMS``.

    ``outdir``: where each run's outputs go, as ``<outdir>/<run_id>`` (a path or an object
    store URL); by default ``<root>/<run_id>/outdir``. ``grace``: seconds a cancelled run has
    to stop its tools after SIGTERM before its process group is killed.
    """

    def __init__(
        self, root: Path, extra: list[str], outdir: str | None = None, grace: float = 20
    ) -> None:
        self.root = root
        self.extra = extra
        self.outdir = outdir
        self.grace = grace
        self.root.mkdir(parents=True, exist_ok=True)
        self._processes: dict[str, subprocess.Popen[bytes]] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ submission

    def start(self, body: dict[str, Any], attachments: Path) -> str:
        """Start the run ``body`` asks for (``workflow_url`` resolved by wes-service's
        ``collect_attachments`` into ``attachments``) and return its id."""
        run_id = uuid.uuid4().hex
        run = self.root / run_id
        run.mkdir()
        kept = run / "attachments"
        shutil.move(str(attachments), kept)
        body = {
            key: f"file://{kept}{value[len(f'file://{attachments}') :]}"
            if isinstance(value, str) and value.startswith(f"file://{attachments}")
            else value
            for key, value in body.items()
        }  # the URLs wes-service gave into its temporary directory, moved into the run's
        workflow = str(body["workflow_url"])
        if workflow.startswith("file://"):
            workflow = workflow[len("file://") :]
        (run / "request.json").write_text(json.dumps(body))
        (run / "params.json").write_text(json.dumps(body.get("workflow_params") or {}))
        outdir = f"{self.outdir.rstrip('/')}/{run_id}" if self.outdir else str(run / "outdir")
        command = [
            sys.executable, "-m", "cwl_dask", "run", *self.extra, "--outdir", outdir,
            workflow, str(run / "params.json"),
        ]  # fmt: skip
        (run / "work").mkdir()
        with open(run / "stdout.json", "wb") as out, open(run / "stderr.log", "wb") as err:
            process = subprocess.Popen(
                command,
                cwd=run / "work",
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,  # its own process group: a cancel reaches all of it
            )
        with self._lock:
            self._processes[run_id] = process
        (run / "pid").write_text(str(process.pid))
        (run / "times.json").write_text(json.dumps({"start_time": _now(), "cmd": command}))
        return run_id

    # ------------------------------------------------------------------ reading

    def known(self, run_id: str) -> bool:
        return bool(RUN_ID.match(run_id)) and (self.root / run_id / "pid").is_file()

    def ids(self) -> list[str]:
        return sorted(p.name for p in self.root.iterdir() if self.known(p.name))

    def _exit_code(self, run_id: str) -> int | None:
        """The run's exit code, recorded in ``exit_code`` the first time it is seen."""
        run = self.root / run_id
        recorded = run / "exit_code"
        if recorded.is_file():
            return int(recorded.read_text())
        with self._lock:
            process = self._processes.get(run_id)
            code = process.poll() if process is not None else None
            if code is None:
                return None
            self._processes.pop(run_id, None)
        times = json.loads((run / "times.json").read_text())
        (run / "times.json").write_text(json.dumps({**times, "end_time": _now()}))
        recorded.write_text(str(code))
        return code

    def state(self, run_id: str) -> str:
        run = self.root / run_id
        code = self._exit_code(run_id)
        canceled = (run / "canceled").exists()
        if code is None:
            pid = int((run / "pid").read_text())
            if run_id not in self._processes and not psutil.pid_exists(pid):
                # started by an earlier server process, ended unseen (its exit code is lost)
                return "CANCELED" if canceled else "SYSTEM_ERROR"
            return "CANCELING" if canceled else "RUNNING"
        if canceled:
            return "CANCELED"
        return "COMPLETE" if code == 0 else "EXECUTOR_ERROR"

    def stderr(self, run_id: str) -> str:
        return (self.root / run_id / "stderr.log").read_text(errors="replace")

    def log(self, run_id: str) -> dict[str, Any]:
        """The WES ``RunLog``; ``run_log.stderr`` is the log's URL relative to this run's
        (``runs/{id}`` -> ``runs/{id}/stderr``), which is also what zoo-wes-runner asks for
        (``GET /runs/{run_log.stderr}``)."""
        run = self.root / run_id
        state = self.state(run_id)
        times = json.loads((run / "times.json").read_text())
        outputs: dict[str, Any] = {}
        if state == "COMPLETE":
            with contextlib.suppress(ValueError):
                outputs = json.loads((run / "stdout.json").read_text())
        code = self._exit_code(run_id)
        return {
            "run_id": run_id,
            "request": json.loads((run / "request.json").read_text()),
            "state": state,
            "run_log": {
                "name": "cwl-dask run",
                "cmd": times["cmd"],
                "start_time": times["start_time"],
                "end_time": times.get("end_time", ""),
                "stdout": "",
                "stderr": f"{run_id}/stderr",
                "exit_code": code,
            },
            "task_logs": [],
            "outputs": outputs,
        }

    # ------------------------------------------------------------------ cancel

    def cancel(self, run_id: str) -> None:
        """Stop the run: SIGTERM to ``cwl-dask run`` (it stops its tools and its cluster and
        exits 143), SIGKILL to its whole process group after :attr:`grace` seconds, and to
        whatever of the group outlives it. Returns once the process has ended."""
        run = self.root / run_id
        if self._exit_code(run_id) is not None:
            return  # already ended: nothing to stop, the state stays what it was
        (run / "canceled").touch()
        pid = int((run / "pid").read_text())
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        with self._lock:
            process = self._processes.get(run_id)
        if process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(self.grace)
        else:  # started by an earlier server process: not our child, watched by its pid
            deadline = time.monotonic() + self.grace
            while psutil.pid_exists(pid) and time.monotonic() < deadline:
                time.sleep(0.2)
        _signal_group(pid, signal.SIGKILL)  # the run if it is still there, and what it left
        if process is not None:
            process.wait()
        self._exit_code(run_id)
