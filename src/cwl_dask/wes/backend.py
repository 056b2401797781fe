"""``wes-server --backend=cwl_dask.wes.backend``: the WES API's operations on :class:`Runs`.

wes-service's server resolves each operation of its OpenAPI document (``RunWorkflow``,
``GetRunStatus``…) to the method of that name of the object ``create_backend`` returns, and
hands that function the application: this module adds to it the HTTP Basic check (every
request, before anything else) and the route of a run's log (``runs/{id}/stderr``).

Options (``--opt KEY=VALUE``, as wes-service's): ``extra=ARG`` (repeatable) an argument for
every ``cwl-dask run`` (e.g. ``extra=--no-container``); ``runs=DIR`` where runs are kept
(default ``./wes-runs``); ``outdir=DIR|URL`` where outputs go (``<outdir>/<run_id>``; default
inside the run's directory); ``grace=SECONDS`` what a cancelled run gets before SIGKILL (20).
Credentials: ``WES_USER`` and ``WES_PASSWORD`` in the server's environment (the names
zoo-wes-runner reads on its side); without them the server refuses to start.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
from pathlib import Path
from typing import Any

from wes_service.util import WESBackend

from cwl_dask._version import __version__
from cwl_dask.wes.runs import Runs

#: Where wes-service's OpenAPI document puts the API.
BASE_PATH = "/ga4gh/wes/v1"


def _problem(status: int, message: str) -> tuple[dict[str, Any], int]:
    """A WES ``ErrorResponse``."""
    return {"msg": message, "status_code": status}, status


class BasicAuth:
    """ASGI middleware: a request without the server's HTTP Basic credentials gets a 401."""

    def __init__(self, app: Any, user: str, password: str) -> None:
        self.app = app
        self.expected = f"{user}:{password}".encode()

    def _allowed(self, headers: list[tuple[bytes, bytes]]) -> bool:
        for name, value in headers:
            if name.lower() == b"authorization" and value[:6].lower() == b"basic ":
                try:
                    given = base64.b64decode(value[6:].strip(), validate=True)
                except (binascii.Error, ValueError):
                    return False
                return hmac.compare_digest(given, self.expected)
        return False

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and not self._allowed(scope.get("headers", [])):
            await send({
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"www-authenticate", b'Basic realm="cwl-dask WES"'),
                ],
            })  # fmt: skip
            body = b'{"msg": "HTTP Basic credentials required", "status_code": 401}'
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)


class CwlDaskBackend(WESBackend):
    """The WES operations; each run is a ``cwl-dask run`` process (see :class:`Runs`)."""

    def __init__(self, opts: list[str] | None) -> None:
        super().__init__(opts or [])
        extra = self.getoptlist("extra")
        if any(arg == "--outdir" or arg.startswith("--outdir=") for arg in extra):
            raise SystemExit("cwl-dask WES backend: use --opt outdir=…, not extra=--outdir")
        self.runs = Runs(
            Path(self.getopt("runs") or "wes-runs").resolve(),
            extra,
            outdir=self.getopt("outdir"),
            grace=float(self.getopt("grace") or 20),
        )

    def _unknown(self, run_id: str) -> tuple[dict[str, Any], int] | None:
        return None if self.runs.known(run_id) else _problem(404, f"no run {run_id!r}")

    def GetServiceInfo(self) -> dict[str, Any]:
        """What this endpoint runs."""
        states: dict[str, int] = {}
        for run_id in self.runs.ids():
            state = self.runs.state(run_id)
            states[state] = states.get(state, 0) + 1
        return {
            "workflow_type_versions": {"CWL": {"workflow_type_version": ["v1.0", "v1.1", "v1.2"]}},
            "supported_wes_versions": ["1.0.0"],
            "supported_filesystem_protocols": ["file", "http", "https", "s3"],
            "workflow_engine_versions": {"cwl-dask": __version__},
            "default_workflow_engine_parameters": [],
            "system_state_counts": states,
            "auth_instructions_url": "",
            "tags": {},
        }

    def ListRuns(self, page_size: Any = None, page_token: Any = None) -> dict[str, Any]:
        """Every run this server keeps, oldest id first (one page)."""
        runs = [{"run_id": run_id, "state": self.runs.state(run_id)} for run_id in self.runs.ids()]
        return {"runs": runs, "next_page_token": ""}

    def RunWorkflow(self, **args: Any) -> Any:
        """Stage the attachments and start the run; 400 for a submission it cannot run."""
        try:
            attachments, body = self.collect_attachments(args)
        except ValueError as err:  # wes-service's checks: no workflow_url, no params…
            return _problem(400, str(err))
        if str(body.get("workflow_type", "")).upper() != "CWL":
            return _problem(400, f"workflow_type {body.get('workflow_type')!r}: only CWL runs here")
        return {"run_id": self.runs.start(body, Path(attachments))}

    def GetRunLog(self, run_id: str) -> Any:
        """The run's request, state, log URL and, once it is COMPLETE, its output object."""
        return self._unknown(run_id) or self.runs.log(run_id)

    def GetRunStatus(self, run_id: str) -> Any:
        return self._unknown(run_id) or {"run_id": run_id, "state": self.runs.state(run_id)}

    def CancelRun(self, run_id: str) -> Any:
        """Stop the run and everything it started; answers once its process has ended."""
        unknown = self._unknown(run_id)
        if unknown:
            return unknown
        self.runs.cancel(run_id)
        return {"run_id": run_id}

    def RunStderr(self, run_id: str) -> Any:
        """The run's ``cwl-dask run`` log (``run_log.stderr`` points here), as text."""
        unknown = self._unknown(run_id)
        if unknown:
            return unknown
        return self.runs.stderr(run_id), 200, {"Content-Type": "text/plain; charset=utf-8"}


def create_backend(app: Any, opts: list[str] | None) -> CwlDaskBackend:
    """wes-service's entry point: the backend, with authentication and the log route on
    ``app`` (a connexion App)."""
    user, password = os.environ.get("WES_USER"), os.environ.get("WES_PASSWORD")
    if not user or not password:
        raise SystemExit(
            "cwl-dask WES backend: set WES_USER and WES_PASSWORD (HTTP Basic credentials that "
            "every request must carry); the server does not answer without them"
        )
    backend = CwlDaskBackend(opts)
    from connexion.middleware import MiddlewarePosition

    # Outermost but for the server-error catcher: before routing, validation, the Swagger UI.
    app.add_middleware(BasicAuth, MiddlewarePosition.BEFORE_EXCEPTION, user=user, password=password)
    app.add_url_rule(
        f"{BASE_PATH}/runs/<run_id>/stderr", "run_stderr", backend.RunStderr, methods=["GET"]
    )
    return backend
