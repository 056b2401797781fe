"""Checking, not assuming, that the workers share the run directory with the driver."""

from __future__ import annotations

import contextlib
import os
import socket
import time
import uuid
from typing import Any

from cwl_dask.errors import BackendError

#: How long the storage probe may wait for a worker (an adaptive cluster starts one first).
PROBE_TIMEOUT = 600.0
#: How long each side looks again for the other's file (NFS attribute caches lag a little).
PROBE_SETTLE = 3.0


def _read_token(path: str, settle: float) -> tuple[str | None, str]:
    deadline = time.monotonic() + settle
    while True:
        try:
            with open(path, encoding="utf-8") as handle:
                return handle.read(), ""
        except OSError as err:
            if time.monotonic() >= deadline:
                return None, f"{type(err).__name__}: {err.strerror or err}"
        time.sleep(0.2)


def answer_storage_probe(marker: str, token: str, settle: float = PROBE_SETTLE) -> dict[str, Any]:
    """Worker side of :func:`probe_shared_storage`: read the marker, write a reply next to it."""
    host = socket.gethostname()
    reply = f"{marker}.{host}-{os.getpid()}-{uuid.uuid4().hex[:8]}.reply"
    answer: dict[str, Any] = {"host": host, "seen": False, "reply": None}
    seen, error = _read_token(marker, settle)
    answer["seen"] = seen == token
    if seen is not None and seen != token:
        error = "it holds something else"
    if answer["seen"]:
        try:
            with open(reply, "w", encoding="utf-8") as handle:
                handle.write(token)
            answer["reply"] = reply
        except OSError as err:
            error = f"{type(err).__name__}: {err.strerror or err}"
    answer["error"] = error
    return answer


def _ask_workers(
    client: Any, marker: str, token: str, settle: float, timeout: float
) -> list[dict[str, Any]]:
    """The probe's answers: from every connected worker, or from a task if there is none.

    ``client.run`` reaches the workers there are without creating a task; a cluster with no
    worker yet (adaptive from 0) gets one task instead, which makes it start a worker.
    """
    if client.scheduler_info(n_workers=-1)["workers"]:
        answers = client.run(answer_storage_probe, marker, token, settle, on_error="return")
        answers = [a for a in answers.values() if isinstance(a, dict)]
        if answers:
            return answers
    future = client.submit(
        answer_storage_probe, marker, token, settle, key=f"cwl-dask-storage-probe-{token}"
    )
    try:
        return [future.result(timeout=timeout)]
    except TimeoutError:
        future.cancel()
        raise BackendError(
            f"no worker ran the shared-storage check within {timeout:g} s; check that the "
            "cluster has workers or can start them"
        ) from None


def probe_shared_storage(
    client: Any,
    path: str,
    timeout: float = PROBE_TIMEOUT,
    settle: float = PROBE_SETTLE,
    what: str = "the work directory",
    option: str = "--workdir",
) -> None:
    """Fail with a :class:`BackendError` unless the workers see ``path`` as the driver does.

    The driver writes a marker file under ``path``; each connected worker (or, with none
    yet, one task) reads it and writes a reply next to it, which the driver must then read.
    Workers read inputs and write outputs in the run directory, so a cluster without shared
    storage would otherwise fail at the first tool with a confusing missing-file error.
    """
    token = uuid.uuid4().hex
    marker = os.path.join(path, f".cwl-dask-probe-{token}")
    hint = f"put {option} on storage that every worker mounts at the same path"
    replies: list[str] = []
    try:
        with open(marker, "w", encoding="utf-8") as handle:
            handle.write(token)
        try:
            answers = _ask_workers(client, marker, token, settle, timeout)
        except BackendError:
            raise
        except Exception as err:
            raise BackendError(
                f"the shared-storage check failed on the cluster: {type(err).__name__}: {err}"
            ) from None
        replies = [a["reply"] for a in answers if a["reply"]]
        for answer in answers:
            where = f"a worker on {answer['host']}"
            if not answer["seen"]:
                raise BackendError(
                    f"{what} {path} is not shared with the workers: {where} "
                    f"cannot read {marker} ({answer['error']}); {hint}"
                )
            if not answer["reply"]:
                raise BackendError(
                    f"{what} {path} is not writable by the workers: {where} "
                    f"cannot write into it ({answer['error']}); {hint}"
                )
            reply, error = _read_token(answer["reply"], settle)
            if reply != token:
                raise BackendError(
                    f"{what} {path} is not shared with the workers: a file {where} "
                    f"wrote there is not visible here ({error or 'different content'}); {hint}"
                )
    except OSError as err:
        raise BackendError(f"cannot write into {what} {path}: {err}") from None
    finally:
        for leftover in (marker, *replies):
            with contextlib.suppress(OSError):
                os.remove(leftover)
