"""The real ZOO-Project kernel for the tests: built and served by ``deploy/zoo/serve.sh``.

One build (kernel + the services' venv, cached by stamp files) under ``ZOO_PREFIX``
(default ``/tmp/cwl-dask-zoo``), made under a file lock so that two pytest-xdist workers
never build at once; each worker then serves its own instance (its own ``run-<worker>``
folder, port and Apache, stopped by PID), so one worker's ``main.cfg`` changes never reach
the other's requests. Requests go over HTTP (OGC API Processes) with urllib.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SERVE = ROOT / "deploy" / "zoo" / "serve.sh"
SHARED = Path(os.environ.get("ZOO_SHARED") or ROOT.parent / "shared" / "zoo-project")
TARBALL = SHARED / "ZOO-Project-afc0403.tar.gz"
PREFIX = Path(os.environ.get("ZOO_PREFIX") or "/tmp/cwl-dask-zoo")
#: What the build needs beyond a compiler (.ci/run installs them): a file of each package.
PREREQUISITES = {
    "apache2": "/usr/sbin/apache2",
    "build-essential": "/usr/bin/gcc",
    "flex": "/usr/bin/flex",
    "bison": "/usr/bin/bison",
    "autoconf": "/usr/bin/autoreconf",
    "libfcgi-dev": "/usr/include/fcgi_stdio.h",
    "libxml2-dev": "/usr/include/libxml2/libxml/parser.h",
    "libjson-c-dev": "/usr/include/json-c/json.h",
    "libgdal-dev": "/usr/include/gdal/gdal.h",
    "python3-dev": "/usr/include/python3.11/Python.h",
    "python3-venv": "/usr/lib/python3.11/ensurepip/__init__.py",
}


def missing_prerequisites() -> list[str]:
    """Why the kernel cannot be built and served here (empty when it can)."""
    missing = [] if os.geteuid() == 0 else ["root (Apache runs services as www-data)"]
    missing += [
        f"apt {name} ({path})" for name, path in PREREQUISITES.items() if not Path(path).exists()
    ]
    if not TARBALL.exists():
        missing.append(f"the kernel's source {TARBALL} (set ZOO_SHARED)")
    return missing


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class ZooServer:
    """A served kernel: ``url`` (…/ogc-api), ``cgi`` (services, main.cfg), ``tmp`` (tmpPath)."""

    run: Path
    port: int
    env: dict[str, str] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.base}/ogc-api"

    @property
    def cgi(self) -> Path:
        return self.run / "cgi-bin"

    @property
    def tmp(self) -> Path:
        return self.run / "zTmp"

    @property
    def venv(self) -> Path:
        return PREFIX / "venv"

    @property
    def pid(self) -> int | None:
        pidfile = self.run / "apache" / "httpd.pid"
        return int(pidfile.read_text()) if pidfile.exists() else None

    def error_log(self, tail: int = 4000) -> str:
        path = self.run / "apache" / "logs" / "error.log"
        return path.read_text(errors="replace")[-tail:] if path.exists() else ""

    # -- main.cfg: the kernel reads it on every request ------------------------------------
    def set_config(self, section: str, values: dict[str, str | None]) -> None:
        """Set (or, with None, remove) keys of a ``main.cfg`` section."""
        path = self.cgi / "main.cfg"
        text = path.read_text()
        match = re.search(_section(section), text, flags=re.M)
        if match is None:
            text = text.rstrip("\n") + f"\n\n[{section}]\n"
            match = re.search(_section(section), text, flags=re.M)
        assert match is not None
        lines = [line for line in match.group(1).splitlines() if line.strip()]
        kept = [line for line in lines if line.split("=", 1)[0].strip() not in values]
        kept += [f"{k}={v}" for k, v in values.items() if v is not None]
        body = "".join(line + "\n" for line in kept) + "\n"
        path.write_text(text[: match.start(1)] + body + text[match.end(1) :])

    def config(self, section: str) -> dict[str, str]:
        text = (self.cgi / "main.cfg").read_text()
        match = re.search(_section(section), text, flags=re.M)
        pairs = [line.split("=", 1) for line in (match.group(1) if match else "").splitlines()]
        return {k.strip(): v.strip() for k, v in (p for p in pairs if len(p) == 2)}

    @contextlib.contextmanager
    def configured(self, section: str, values: dict[str, str | None]) -> Iterator[None]:
        """``values`` in ``main.cfg`` for the block's requests, the old ones afterwards."""
        before = self.config(section)
        self.set_config(section, values)
        try:
            yield
        finally:
            self.set_config(section, {k: before.get(k) for k in values})

    # -- HTTP -----------------------------------------------------------------------------
    def request(
        self,
        method: str,
        url: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        timeout: float = 300,
    ) -> Response:
        """One request; redirects are followed (``/results`` answers 302 to ``tmpUrl``)."""
        if not url.startswith("http"):
            url = self.url + url
        data = json.dumps(body).encode() if body is not None else None
        all_headers = {"Accept": "application/json", **(headers or {})}
        if data is not None:
            all_headers["Content-Type"] = "application/json"
        request = urllib.request.Request(url, data=data, method=method, headers=all_headers)
        started = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=timeout) as reply:
                response = Response(reply.status, dict(reply.headers), reply.read())
        except urllib.error.HTTPError as err:
            response = Response(err.code, dict(err.headers), err.read())
        _transcribe(method, url, headers, data, response, time.monotonic() - started)
        return response

    def execute(self, process: str, body: dict[str, Any], asynchronous: bool = False) -> Response:
        headers = {"Prefer": "respond-async"} if asynchronous else {}
        return self.request("POST", f"/processes/{process}/execution", body, headers)

    def poll(
        self,
        job_url: str,
        timeout: float = 300,
        until: tuple[str, ...] | Callable[[dict[str, Any]], bool] = (
            "successful",
            "failed",
            "dismissed",
        ),
        fail: bool = True,
    ) -> list[dict[str, Any]]:
        """Every status document of the job until it is final (or ``until``: statuses, or
        a test of the status document). A job that does not get there in time fails the
        test, or gives ``[]`` when not ``fail`` (the caller decides)."""
        seen: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        done = until if callable(until) else lambda status: status.get("status") in until
        while time.monotonic() < deadline:
            reply = self.request("GET", job_url)
            assert reply.status == 200, (reply.status, reply.body[:2000])
            seen.append(reply.json())
            if done(seen[-1]):
                return seen
            time.sleep(0.3)
        if not fail:
            return []
        raise AssertionError(
            f"job {job_url} not done in {timeout} s: {seen[-1:]}\n{self.job_process(job_url)}"
        )

    def job_process(self, job_url: str) -> str:
        """What the job's process is doing (its pid file, state, kernel wait channel and
        stderr so far): for a job that never ends."""
        job_id = job_url.rstrip("/").rsplit("/", 1)[1]
        pidfile = self.tmp / f"{job_id}.pid"
        if not pidfile.exists():
            return f"no pid file {pidfile}"
        pid = pidfile.read_text().split()[0]
        facts = [f"job process {pid}"]
        for name in ("status", "wchan", "stack"):
            with contextlib.suppress(OSError):
                text = Path(f"/proc/{pid}/{name}").read_text()
                facts.append(f"{name}: {text[:1500] if name != 'status' else text[:300]}")
        for proc in Path("/proc").iterdir():  # the kernel's processes, whatever they do
            with contextlib.suppress(OSError):
                command = (proc / "cmdline").read_bytes()
                if b"zoo_loader" in command or job_id.encode() in command:
                    wchan = (proc / "wchan").read_text()
                    stat = (proc / "stat").read_text().rsplit(")", 1)[1].split()[:3]
                    facts.append(f"process {proc.name} {stat} wchan {wchan}: {command[:120]!r}")
        for log in self.tmp.glob(f"*{job_id}*error.log"):
            facts.append(f"{log.name}: {log.read_text(errors='replace')[-2000:]}")
        return "\n".join(facts)


def _transcribe(
    method: str,
    url: str,
    headers: dict[str, str] | None,
    data: bytes | None,
    response: Response,
    seconds: float,
) -> None:
    """With ``ZOO_TRANSCRIPT=FILE``, every exchange, abridged, is appended to FILE (the
    issue's closing note quotes them)."""
    target = os.environ.get("ZOO_TRANSCRIPT")
    if not target:
        return
    prefer = f"  Prefer: {headers['Prefer']}" if headers and "Prefer" in headers else ""
    location = response.headers.get("Location")
    lines = [f"{method} {url}{prefer}"]
    if data:
        lines.append(f"  {data[:300].decode(errors='replace')}")
    lines.append(
        f"-> {response.status} ({seconds:.2f} s)" + (f" Location: {location}" if location else "")
    )
    lines.append(f"  {response.body[:400].decode(errors='replace')}")
    with open(target, "a", encoding="utf-8") as transcript:
        transcript.write("\n".join(lines) + "\n\n")


def _section(name: str) -> str:
    """A ``main.cfg`` section: its header, then its lines up to the next header."""
    return rf"^\[{re.escape(name)}\]\n((?:[^\[\n].*\n|\n)*)"


def _lock() -> Any:
    PREFIX.mkdir(parents=True, exist_ok=True)
    handle = open(PREFIX / ".lock", "w")  # noqa: SIM115 (held until released)
    fcntl.flock(handle, fcntl.LOCK_EX)
    return handle


def start(worker: str) -> ZooServer:
    """Build (once, under the lock) and serve an instance of the kernel for ``worker``."""
    run = PREFIX / f"run-{worker}"
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "ZOO_PREFIX": str(PREFIX),
        "ZOO_RUN": str(run),
        "ZOO_PORT": str(port),
        "ZOO_SHARED": str(SHARED),
        "ZOO_RESET_CONFIG": "1",
        "HOME": os.environ.get("HOME", "/root"),
    }
    if os.environ.get("ZOO_SERVICE_SRC"):  # another checkout's cwl_dask for the services
        env["ZOO_SERVICE_SRC"] = os.environ["ZOO_SERVICE_SRC"]
    shutil.rmtree(run, ignore_errors=True)
    lock = _lock()
    try:
        # The services get the versions this test environment has: pip has nothing to resolve.
        frozen = subprocess.run(
            [sys.executable, "-m", "pip", "freeze"], capture_output=True, text=True, check=True
        ).stdout.splitlines()
        pins = [
            line
            for line in frozen
            if not line.startswith(("-e", "#", "cwl-dask")) and " @ " not in line
        ]
        constraints = PREFIX / "constraints.txt"
        if not constraints.exists() or constraints.read_text() != "\n".join(pins) + "\n":
            constraints.write_text("\n".join(pins) + "\n")
        env["ZOO_PIP_CONSTRAINTS"] = str(constraints)
        done = subprocess.run(
            ["bash", str(SERVE), "build"], env=env, capture_output=True, text=True, timeout=1800
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"serve.sh build failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
            )
    finally:
        lock.close()
    done = subprocess.run(
        ["bash", str(SERVE), "start"], env=env, capture_output=True, text=True, timeout=300
    )
    server = ZooServer(run, port, env)
    if done.returncode != 0:
        raise RuntimeError(f"serve.sh start failed:\n{done.stderr[-4000:]}\n{server.error_log()}")
    return server


def stop(server: ZooServer) -> None:
    """Stop the worker's Apache by its PID (SIGTERM, then SIGKILL after 10 s)."""
    pid = server.pid
    if pid is None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
