"""Headless Chromium (Debian's ``chromium``) driven through the DevTools protocol.

``tests/test_browser.py`` opens pages in it and asserts on their DOM and on what the page
logged, never on pixels. The browser listens on 127.0.0.1 only (its DevTools port, a
random one), resolves no host name but 127.0.0.1 (so an offline page that reaches for the
network fails instead of passing here by luck), keeps its profile in the test's tmp dir,
and is stopped by PID (its process group, which it was started in).
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

START_TIMEOUT = 30.0
LOAD_TIMEOUT = 60.0


def chromium() -> str | None:
    """The Chromium binary, if installed (Debian: ``apt-get install chromium``)."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def required(missing: str) -> None:
    """Skip the test saying what is missing, or fail it in CI (env ``CI``), where the
    prerequisite is installed by ``.ci/run``."""
    if os.environ.get("CI"):
        pytest.fail(missing)
    pytest.skip(missing)


@dataclass
class Visit:
    """What a page did while it loaded: its console errors, uncaught exceptions, log
    entries of level error, and the URLs it requested."""

    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)


class Page:
    """One tab, spoken to over its DevTools websocket."""

    def __init__(self, ws_url: str) -> None:
        import websocket  # websocket-client (the test extra)

        self._ws = websocket.create_connection(ws_url, timeout=LOAD_TIMEOUT, suppress_origin=True)
        self._next = 0
        self.visit = Visit()
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable")

    def close(self) -> None:
        self._ws.close()

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send a command; the events that arrive meanwhile are recorded."""
        self._next += 1
        ident = self._next
        self._ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            message = json.loads(self._ws.recv())
            if message.get("id") == ident:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self._record(message)

    def _wait_for(self, event: str, deadline: float) -> None:
        while time.monotonic() < deadline:
            message = json.loads(self._ws.recv())
            self._record(message)
            if message.get("method") == event:
                return
        raise TimeoutError(f"no {event} within {LOAD_TIMEOUT} s")

    def _record(self, message: dict[str, Any]) -> None:
        method, params = message.get("method"), message.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in {"error", "assert"}:
            args = [a.get("value", a.get("description", "")) for a in params.get("args", [])]
            self.visit.errors.append("console: " + " ".join(map(str, args)))
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            text = details.get("exception", {}).get("description") or details.get("text")
            self.visit.errors.append(f"exception: {text}")
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            entry = params["entry"]
            self.visit.errors.append(f"log: {entry.get('text')} ({entry.get('url', '')})")
        elif method == "Network.requestWillBeSent":
            self.visit.requests.append(params.get("request", {}).get("url", ""))

    def open(self, url: str) -> Visit:
        """Load ``url`` and wait for its load event (and a moment for scripts to run)."""
        self.visit = Visit()
        self.call("Page.navigate", url=url)
        self._wait_for("Page.loadEventFired", time.monotonic() + LOAD_TIMEOUT)
        self.evaluate("new Promise(r => setTimeout(r, 500))")
        return self.visit

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (awaited, returned by value)."""
        result = self.call(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result.get("result", {}).get("value")

    def screenshot(self, path: Path) -> Path:
        """Save the page as a PNG, for a person to look at (tests assert on the DOM)."""
        data = self.call("Page.captureScreenshot", format="png")["data"]
        path.write_bytes(base64.b64decode(data))
        return path


@contextmanager
def browser(profile: Path) -> Iterator[Page]:
    """A headless Chromium with one page, stopped (by PID) on exit."""
    binary = chromium()
    if binary is None:
        required("the browser checks need Debian's chromium (apt-get install chromium)")
    profile.mkdir(parents=True, exist_ok=True)
    command = [
        str(binary),
        "--headless",
        "--no-sandbox",  # root in CI
        "--disable-gpu",
        "--disable-dev-shm-usage",  # containers' /dev/shm is small
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        "--remote-debugging-address=127.0.0.1",
        "--remote-debugging-port=0",
        "--window-size=1280,1024",
        f"--user-data-dir={profile}",
        "about:blank",
    ]
    process = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    page: Page | None = None
    try:
        page = Page(_page_websocket(process))
        yield page
    finally:
        if page is not None:
            page.close()
        _stop(process)


def _page_websocket(process: subprocess.Popen[str]) -> str:
    """Read the DevTools port Chromium prints, then the websocket of its one page."""
    import urllib.request

    assert process.stderr is not None
    seen: list[str] = []
    deadline = time.monotonic() + START_TIMEOUT
    port = None
    while port is None and time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line and process.poll() is not None:
            break
        seen.append(line)
        match = re.search(r"DevTools listening on ws://127\.0\.0\.1:(\d+)/", line)
        if match:
            port = int(match.group(1))
    if port is None:
        raise RuntimeError("chromium did not start its DevTools server:\n" + "".join(seen[-20:]))
    _drain(process)
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as reply:
        targets = json.load(reply)
    return next(t["webSocketDebuggerUrl"] for t in targets if t.get("type") == "page")


def _drain(process: subprocess.Popen[str]) -> None:
    """Keep reading Chromium's stderr so that it never blocks on a full pipe."""
    import threading

    def read() -> None:
        assert process.stderr is not None
        for _ in process.stderr:
            pass

    threading.Thread(target=read, daemon=True).start()


def _stop(process: subprocess.Popen[str]) -> None:
    """SIGTERM to the process group Chromium was started in (its renderers and helpers
    are in it too), then SIGKILL to whatever of the group is left."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        pass
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
