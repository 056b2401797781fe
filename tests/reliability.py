"""Helpers for the reliability tests: start ``cwl-dask run`` as a real process, watch pids."""

from __future__ import annotations

import contextlib
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

from conftest import eventually


def start_run(*args: str | Path, cwd: Path, new_session: bool = False) -> subprocess.Popen[str]:
    """``python -m cwl_dask run ARGS`` in the background, stdout/stderr captured.

    ``new_session``: in a process group of its own, as a shell runs a foreground job, so
    ``os.killpg(pid, SIGINT)`` is what Ctrl-C in a terminal does.
    """
    return subprocess.Popen(
        [sys.executable, "-m", "cwl_dask", "run", *map(str, args)],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=new_session,
    )


class RunEndedEarly(AssertionError):
    """The run ended before the awaited lines were written."""

    def __init__(self, code: int, stderr: str) -> None:
        super().__init__(f"the run ended ({code}) too early:\n{stderr}")
        self.code = code
        self.stderr = stderr


def wait_for_lines(
    path: Path, count: int, proc: subprocess.Popen[str], timeout: float = 90
) -> list[str]:
    """The first ``count`` lines of ``path`` once it has them (the run must still be alive)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = path.read_text().splitlines() if path.exists() else []
        if len(lines) >= count:
            return lines[:count]
        if proc.poll() is not None:
            _, err = proc.communicate()
            raise RunEndedEarly(proc.returncode, err)
        time.sleep(0.05)
    proc.kill()
    raise AssertionError(f"{path} did not get {count} lines in {timeout} s")


def alive(pid: int) -> bool:
    """Whether ``pid`` is a running process (a zombie counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def parent_of(pid: int) -> int:
    with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
        return int(handle.read().rsplit(")", 1)[1].split()[1])


def descendants(pid: int) -> set[int]:
    """Every process below ``pid`` now."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                children.setdefault(parent_of(int(entry)), []).append(int(entry))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def wait_gone(pids: set[int] | list[int], timeout: float = 10) -> set[int]:
    """The pids still alive after waiting up to ``timeout`` seconds for them to end."""
    deadline = time.monotonic() + timeout
    left = {pid for pid in pids if alive(pid)}
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = {pid for pid in left if alive(pid)}
    return left


def processes_with_args(*args: str) -> list[int]:
    """Every process on this machine whose command line ends with ``args``."""
    wanted = [a.encode() for a in args]
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                argv = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")[:-1]
            except OSError:
                continue
            if argv[-len(wanted) :] == wanted and alive(int(entry)):
                found.append(int(entry))
    return found


class Scatter:
    """One run of stop-scatter.cwl: its job file, its ``started/`` directory and its tag."""

    def __init__(self, tmp_path: Path, secs: list[int]) -> None:
        self.started_dir = tmp_path / "started"
        self.started_dir.mkdir()
        self.tag = f"0.000{random.randrange(100000, 999999)}"  # adds a microsecond to sleep
        self.job = tmp_path / "job.json"
        self.job.write_text(
            json.dumps({"started": str(self.started_dir), "tag": self.tag, "secs": secs})
        )

    def started(self) -> int:
        return len(list(self.started_dir.iterdir()))

    def wait_started(self, count: int, run: subprocess.Popen[str], timeout: float = 90) -> None:
        reached = eventually(lambda: self.started() >= count or run.poll() is not None, timeout)
        if run.poll() is not None:
            _, err = run.communicate()
            raise AssertionError(f"the run ended ({run.returncode}) too early:\n{err}")
        assert reached, f"{count} tools did not start in {timeout} s"

    def tools_left(self) -> list[int]:
        """The run's tool processes (guard, shell, sleep) alive anywhere on this machine."""
        return processes_with_args(self.tag)


#: The local stranger: a process of uid/gid 65534 (``nobody``) that tries to reach each
#: address it is given as a Dask client, as itself and with TLS credentials of its own, and
#: to run code there. It loads its modules first and then drops to ``nobody`` itself, as
#: ``setpriv --reuid 65534 --regid 65534 --clear-groups`` would before exec: this machine's
#: Python lives under /root (mode 0700), which ``nobody`` cannot start from.
_STRANGER = """
import logging, os, sys, urllib.error, urllib.request
from distributed import Client, LocalCluster
from distributed.security import Security
own_credentials = Security.temporary()
for warm_up in (None, own_credentials):  # import what a client needs while still able to
    with LocalCluster(n_workers=0, processes=False, protocol="tls" if warm_up else "tcp",
                      host="127.0.0.1", dashboard_address="127.0.0.1:0", security=warm_up,
                      silence_logs=logging.ERROR) as own, Client(own) as client:
        client.run_on_scheduler(os.getuid)
os.setgroups([])
os.setresgid(65534, 65534, 65534)
os.setresuid(65534, 65534, 65534)
print("stranger uid", os.getuid(), flush=True)
for address in sys.argv[1:]:
    try:  # an HTTP server (the dashboard's, a node's pages) is no Dask port
        urllib.request.urlopen(f"http://{address}/", timeout=2)
    except urllib.error.HTTPError:
        continue
    except Exception:  # no HTTP answer
        pass
    else:
        continue
    for scheme, security in (("tcp", None), ("tls", own_credentials)):
        try:
            with Client(f"{scheme}://{address}", security=security, timeout=10) as client:
                print("RAN", address, scheme, client.run_on_scheduler(os.getuid), flush=True)
        except Exception as err:
            print("refused", address, scheme, type(err).__name__, err, flush=True)
"""


def as_stranger(addresses: list[str], timeout: float = 120) -> str:
    """What the local stranger (``nobody``, see ``_STRANGER``) said trying ``addresses``
    (``host:port``): a ``RAN`` line for each it ran code through."""
    proc = subprocess.run(
        [sys.executable, "-c", _STRANGER, *addresses],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert "stranger uid 65534" in proc.stdout, proc.stdout + proc.stderr
    return proc.stdout


def listening(pids: set[int]) -> set[tuple[str, int]]:
    """The TCP (ip, port) that the processes ``pids`` listen on."""
    import psutil

    return {
        (conn.laddr.ip, conn.laddr.port)
        for conn in psutil.net_connections("tcp")
        if conn.status == psutil.CONN_LISTEN and conn.pid in pids
    }
