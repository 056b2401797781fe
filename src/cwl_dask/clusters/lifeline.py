"""Clusters this process created, told to whoever must stop them should it be killed.

A process killed with SIGKILL cannot shut down what it created elsewhere: a Dask Gateway
cluster then runs (and is billed) until someone stops it by name. The ZOO-Project kernel
dismisses a job exactly so (``DELETE /jobs/{id}``: SIGKILL to the job's process), so the ZOO
runner hands these announcements to a watcher process that outlives the job
(:mod:`cwl_dask.zoo.lifeline`). Backends announce each cluster they submit and the one they
shut down; listeners must be quick and must not raise.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class GatewayCluster:
    """A Dask Gateway cluster, stopped by name from a fresh client: what outlives a process."""

    address: str
    name: str


Listener = Callable[[GatewayCluster, bool], None]  # (cluster, running)
_listeners: list[Listener] = []
_lock = threading.Lock()


def announce(cluster: GatewayCluster, running: bool) -> None:
    """``cluster`` was created (``running``) or was shut down (not ``running``)."""
    with _lock:
        listeners = list(_listeners)
    for listener in listeners:
        listener(cluster, running)


@contextmanager
def listening(listener: Listener) -> Iterator[None]:
    """Hand ``listener`` every announcement made in this process during the block."""
    with _lock:
        _listeners.append(listener)
    try:
        yield
    finally:
        with _lock:
            _listeners.remove(listener)
