"""A watcher that outlives a ZOO job: what a dismissed job leaves behind is stopped.

ZOO-Project dismisses a running job (``DELETE /jobs/{id}``) with SIGKILL to the job's one
process, which then cannot clean up: its Dask worker processes, their tools (which run in
sessions of their own) and the Dask Gateway clusters it created would run on. So the runner
starts this module as a process of its own (:class:`Lifeline`), in a session of its own so
that no signal meant for the job reaches it. Its stdin is a pipe whose only writer is the
job: end-of-file without a ``done`` line means the job died. It then

- sends SIGTERM to every process it has seen descend from the job (walking ``/proc`` every
  :data:`POLL` seconds while the job lives: orphans are re-parented, so after the job's
  death its tree can no longer be found) and to their descendants, and SIGKILL to those
  left after :data:`GRACE` seconds (each worker's tool supervisor, given SIGTERM, stops its
  tools and their containers first);
- stops by name every Dask Gateway cluster announced as running and not since shut down
  (:mod:`cwl_dask.clusters.lifeline`), from a fresh gateway client, as the Dask config of
  the job's environment says;
- appends one line saying what it stopped to the job's log.

The job side writes one JSON object per line: ``{"op": "cluster", "address": …, "name": …,
"running": true|false}`` and, when the run is over, ``{"op": "done"}``. The watcher imports
nothing of cwl-dask (it starts in tens of milliseconds); ``dask_gateway`` only when it has a
cluster to stop.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

#: Seconds between two walks of the job's process tree.
POLL = 0.2
#: Seconds between SIGTERM and SIGKILL for what the job left.
GRACE = 5.0


class Lifeline:
    """The job's side: starts the watcher, tells it about clusters, says when it is done."""

    def __init__(self, job_log: Path) -> None:
        self._lock = threading.Lock()
        self._process = subprocess.Popen(
            # -P: this folder (zoo/) is not put on the watcher's sys.path
            [sys.executable, "-P", __file__, str(os.getpid()), str(job_log)],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            close_fds=True,
        )

    @property
    def pid(self) -> int:
        return self._process.pid

    def cluster(self, cluster: Any, running: bool) -> None:
        """A :data:`cwl_dask.clusters.lifeline.Listener`: one line per announcement."""
        self._send({"op": "cluster", "address": cluster.address, "name": cluster.name,
                    "running": running})  # fmt: skip

    def done(self) -> None:
        """The run is over and cleaned up: the watcher leaves without stopping anything."""
        self._send({"op": "done"})
        assert self._process.stdin is not None
        self._process.stdin.close()
        self._process.wait()

    def _send(self, message: dict[str, Any]) -> None:
        assert self._process.stdin is not None
        with self._lock:
            try:
                self._process.stdin.write(json.dumps(message).encode() + b"\n")
                self._process.stdin.flush()
            except (BrokenPipeError, ValueError):  # the watcher is gone: nothing to tell
                pass


# ---------------------------------------------------------------------- the watcher side


def _stat(pid: int) -> tuple[int, int, str] | None:
    """(parent pid, start time in ticks, state) of a process, or None once it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()  # the name may hold spaces and ")"
    return int(fields[1]), int(fields[19]), fields[0]


def _table() -> dict[int, tuple[int, int, str]]:
    table = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (stat := _stat(int(entry))) is not None:
            table[int(entry)] = stat
    return table


def _descendants(roots: set[int], table: dict[int, tuple[int, int, str]]) -> dict[int, int]:
    """Every process below ``roots`` (not the roots): pid -> start time."""
    found: dict[int, int] = {}
    frontier = set(roots)
    while frontier:
        frontier = {pid for pid, (ppid, _, _) in table.items() if ppid in frontier} - found.keys()
        found.update({pid: table[pid][1] for pid in frontier})
    return found


def _alive(seen: dict[int, int]) -> dict[int, int]:
    """The processes of ``seen`` still running as the same process (not a reused pid)."""
    alive = {}
    for pid, start in seen.items():
        stat = _stat(pid)
        if stat is not None and stat[1] == start and stat[2] != "Z":
            alive[pid] = start
    return alive


def _signal(pids: dict[int, int], signum: int) -> None:
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signum)


def _stop_cluster(address: str, name: str, said: list[str]) -> None:
    try:
        from dask_gateway import Gateway

        gateway = Gateway(address)
        try:
            gateway.stop_cluster(name)
        finally:
            gateway.close()
        said.append(f"Dask Gateway cluster {name} stopped")
    except Exception as err:
        said.append(f"could not stop the Dask Gateway cluster {name}: {err}")


def _read(stream: IO[bytes], clusters: dict[tuple[str, str], bool], done: threading.Event,
          ended: threading.Event) -> None:  # fmt: skip
    for line in stream:
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if message.get("op") == "done":
            done.set()
        elif message.get("op") == "cluster":
            clusters[(message["address"], message["name"])] = bool(message["running"])
    ended.set()


def watch(job: int, job_log: Path) -> int:
    """Watch ``job`` until it says it is done (0) or dies (its leftovers stopped: 1)."""
    me = os.getpid()
    clusters: dict[tuple[str, str], bool] = {}
    done, ended = threading.Event(), threading.Event()
    threading.Thread(target=_read, args=(sys.stdin.buffer, clusters, done, ended),
                     daemon=True).start()  # fmt: skip
    first = _stat(job)
    seen: dict[int, int] = {}
    while not done.is_set():
        table = _table()
        job_stat = table.get(job)
        if ended.is_set() or job_stat is None or job_stat[2] == "Z" or job_stat[1] != first[1]:
            break
        seen.update(_descendants({job}, table))
        seen.pop(me, None)
        done.wait(POLL)
    ended.wait(0.5)  # lines the job wrote just before it died
    if done.is_set():
        return 0
    said: list[str] = []
    stoppers = [
        threading.Thread(target=_stop_cluster, args=(address, name, said), daemon=True)
        for (address, name), running in clusters.items()
        if running
    ]
    for stopper in stoppers:
        stopper.start()
    left = _alive(seen)
    left.update(_descendants(set(left), _table()))
    left.pop(me, None)
    _signal(left, signal.SIGTERM)
    deadline = time.monotonic() + GRACE
    while (alive := _alive(left)) and time.monotonic() < deadline:
        time.sleep(0.1)
    _signal(alive, signal.SIGKILL)
    for stopper in stoppers:
        stopper.join(30)
    said.insert(0, f"{len(left)} processes of the run stopped ({len(alive)} with SIGKILL)")
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
    try:
        with job_log.open("a", encoding="utf-8") as log:
            log.write(f"{stamp} the job's process ended before its run: {'; '.join(said)}\n")
    except OSError:
        pass
    return 1


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    sys.exit(watch(int(sys.argv[1]), Path(sys.argv[2])))
