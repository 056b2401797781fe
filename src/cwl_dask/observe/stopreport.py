"""What a stopped run had done: the invocations that finished, were killed, never started.

A stop (a signal, ``--timeout``, a failure under ``--on-error stop``, a lost scheduler) is
reported in one line, and a user deciding whether to resume needs to tell apart the work
that is done, the work that was cut short and the work that never began. The driver knows
which invocations finished (their records), which had started (the workers' start events,
see :data:`cwl_dask.worker.invocation.STARTED_TOPIC`) and which tasks still had a tool running when
the workers were told to kill them (:func:`cwl_dask.driver.faults.stop_running_tools`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from cwl_dask.observe.events import InvocationRecord


@dataclass
class StopReport:
    """The invocations of a stopped run, by what happened to them."""

    submitted: int
    finished: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    killed: list[str] = field(default_factory=list)  # had started; cut short by the stop
    not_started: list[str] = field(default_factory=list)

    def describe(self, killed: str = "killed") -> str:
        """``N of M tool invocations finished (…); killed: …; never started: …``."""
        parts = [f"{len(self.finished)} of {self.submitted} tool invocations finished"]
        if self.finished:
            parts[0] += f" ({shown(self.finished)})"
        if self.failed:
            parts.append(f"failed: {shown(self.failed)}")
        if self.killed:
            parts.append(f"{killed}: {shown(self.killed)}")
        if self.not_started:
            parts.append(f"never started: {shown(self.not_started)}")
        if not self.killed and not self.not_started:
            parts.append("nothing else was running")
        return "; ".join(parts)


def classify(
    records: Sequence[InvocationRecord],
    submitted: int,
    tasks: Mapping[str, Sequence[str]],
    queued: Iterable[str],
    started: Mapping[str, int],
    killed_keys: set[str] | None = None,
) -> StopReport:
    """Sort a run's invocations when it stops.

    ``tasks`` maps each unfinished Dask task to the names of its invocations (one, or a
    batch), ``queued`` names the invocations not yet submitted, ``started`` the invocations
    a worker announced, ``killed_keys`` the tasks whose tool the workers found running
    (None: the workers could not be asked). The workers' answer decides for a task of one
    invocation: announced, it may still have been refused its tool by the stop. In a batch
    only the last started invocation can be running; those before it finished, but their
    results go with the batch, so they count as killed too (a rerun runs them again).
    """
    queued = list(queued)
    report = StopReport(submitted + len(queued))  # handed over by cwltool, all of them
    for record in records:
        (report.finished if record.status == "success" else report.failed).append(record.name)
    for key, names in tasks.items():
        begun = [name for name in names if name in started]
        if killed_keys is not None and len(names) == 1:
            begun = list(names) if key in killed_keys else []
        elif not begun and killed_keys and key in killed_keys:
            begun = list(names[:1])
        report.killed.extend(begun)
        report.not_started.extend(name for name in names if name not in begun)
    report.not_started.extend(queued)
    return report


def shown(names: Sequence[str], limit: int = 10) -> str:
    """At most ``limit`` names, then how many more."""
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def lost_scheduler_message(where: str, report: StopReport, cachedir: str | None) -> str:
    """The one message for a run whose scheduler went away: what was done, how to resume."""
    if cachedir:
        resume = (
            f"to resume, run the same command again once {where} is back: the invocations "
            f"that finished are taken from --cachedir {cachedir}"
        )
    else:
        resume = (
            "this run had no --cachedir, so running it again starts over; with "
            "--cachedir DIR a run that stops this way resumes where it stopped"
        )
    status = report.describe(killed="running when it was lost")
    return f"lost the connection to the Dask scheduler of {where}: {status}; {resume}"
