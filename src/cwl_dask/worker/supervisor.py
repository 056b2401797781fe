"""One per worker process: stops the tools of that worker, and all of them once it is gone.

Why a process apart: a Dask worker that is SIGKILLed (OOM killer, a lost node's pod, a
``scancel``) cannot kill anything on its way out, while the tools it started run on in
sessions of their own and keep writing where a rerun of their task will write. Each tool
used to run under a shell guard of its own that watched the worker (a fork and a shell per
tool, ≈ 2.5 ms of CPU each: the largest worker-side cost of wide scatters, issue 22); one
supervisor per worker watches it once, for every tool.

Started by :mod:`cwl_dask.worker.tool_processes` as ``python -I -S supervisor.py GRACE`` in a
session of its own, stdlib only (it imports nothing of cwl-dask, and starts in ≈ 20 ms once
per worker). Its stdin is a pipe whose only writer is the worker: the worker's end closes
when the worker dies, however it dies, so end-of-file is the signal — nothing is polled. The
worker writes one JSON object per line and event:

- ``{"op": "start", "pgid": PGID}``, with ``"engine"`` and ``"cidfile"`` for a container:
  a tool runs as the leader of process group PGID (it was started by ``setsid``), with a
  container whose id ``ENGINE run --cidfile`` writes there;
- ``{"op": "end", "pgid": PGID}``: the tool ended and the worker killed what it left in
  its group;
- ``{"op": "stop", "pgid": PGID}``: stop that tool (the run was cancelled, or its time limit
  passed): its container is killed and removed, its group gets SIGTERM and, after GRACE
  seconds, SIGKILL.

At end-of-file, or on SIGTERM/SIGHUP to the supervisor itself, every tool still registered
is stopped that way and the supervisor exits. SIGINT is ignored: a Ctrl-C is the driver's
to handle (see ``driver/stopping.py``), and a worker that a Ctrl-C kills closes the pipe.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

#: Tools still running: process group -> (container engine, cid file) or None.
_groups: dict[int, tuple[str, str] | None] = {}
#: Stops under way (each waits out its grace period): waited for before exiting.
_stopping: list[threading.Thread] = []
#: Reentrant: the SIGTERM handler takes it in the main thread, which may hold it already.
_lock = threading.RLock()


def _signal_group(pgid: int, signum: int) -> bool:
    """Send ``signum`` to the group; False once the group has no process left."""
    try:
        os.killpg(pgid, signum)
    except ProcessLookupError:
        return False
    except OSError:
        pass
    return True


def _kill_container(engine: str, cidfile: str) -> None:
    try:
        with open(cidfile) as file:
            cid = file.read().strip()
    except OSError:
        return  # the engine did not create the container (yet): nothing to kill
    if not cid:
        return
    for action in (["kill", cid], ["rm", "--force", cid]):
        subprocess.run(
            [engine, *action],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )


def stop(entries: list[tuple[int, tuple[str, str] | None]], grace: float) -> None:
    """Stop these tools (group, container): containers first, then SIGTERM, then SIGKILL
    after ``grace`` s."""
    for pgid, container in entries:
        if container is not None:
            _kill_container(*container)
        _signal_group(pgid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    left = [pgid for pgid, _ in entries]
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = [pgid for pgid in left if _signal_group(pgid, 0)]
    for pgid in left:
        _signal_group(pgid, signal.SIGKILL)


def _handle(line: str, grace: float) -> None:
    try:
        event = json.loads(line)
        op, pgid = event["op"], int(event["pgid"])
    except (ValueError, KeyError, TypeError):
        return  # not from the worker's Supervisor class: ignored
    if op == "start":
        engine, cidfile = event.get("engine"), event.get("cidfile")
        with _lock:
            _groups[pgid] = (str(engine), str(cidfile)) if engine and cidfile else None
    elif op == "end":
        with _lock:
            _groups.pop(pgid, None)
    elif op == "stop":  # beside the reader: the grace period must not block it
        with _lock:
            entries = [(pgid, _groups.pop(pgid, None))]
            thread = threading.Thread(target=stop, args=(entries, grace), daemon=True)
            _stopping[:] = [t for t in _stopping if t.is_alive()] + [thread]
        thread.start()


def _stop_all_and_exit(grace: float) -> None:
    with _lock:
        entries = list(_groups.items())
        _groups.clear()
        under_way = list(_stopping)
    stop(entries, grace)
    for thread in under_way:  # a tool that ignores SIGTERM still gets its SIGKILL
        thread.join()
    os._exit(0)


def main() -> None:
    grace = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda *_: _stop_all_and_exit(grace))
    for line in sys.stdin:
        _handle(line, grace)
    _stop_all_and_exit(grace)


if __name__ == "__main__":
    main()
