"""The one error hierarchy of cwl-dask, with the exit code each kind of failure maps to.

Every error a user can cause or meet carries a short message meant to be printed as is;
the CLI prints it (no traceback unless ``--debug``) and exits with ``exit_code``.
The exit codes follow cwltool and cwltest: 1 for a workflow that ran and failed, 2 for
bad usage or input detected before anything ran, 33 for an unsupported requirement.
"""

from __future__ import annotations

from cwltool.errors import WorkflowException

EXIT_SUCCESS = 0
EXIT_FAILED = 1
EXIT_INVALID = 2
EXIT_UNSUPPORTED = 33


class CwlDaskError(WorkflowException):
    """Base of every error cwl-dask raises on purpose.

    It derives from cwltool's ``WorkflowException`` so that, raised inside cwltool's
    machinery (the executor runs under ``cwltool.main``), it is reported as a workflow
    error with its message rather than as an "unhandled error".
    """

    exit_code = EXIT_FAILED


class InvalidInputError(CwlDaskError):
    """The document, the job order or the command line is wrong; nothing ran."""

    exit_code = EXIT_INVALID


class BackendError(CwlDaskError):
    """The Dask cluster cannot be reached, started, or cannot run what the workflow asks."""

    exit_code = EXIT_INVALID


class UnsatisfiableRequest(BackendError):
    """A step asks for more cores or memory than any worker of the cluster has."""


class StepFailed(CwlDaskError):
    """A tool invocation ended in ``permanentFail``; the message names the step."""


class OutputRefused(StepFailed):
    """A tool's output resolves outside its own output directory (a glob such as ``..``,
    a link to elsewhere) and is not one of its inputs: refused on the worker, the step
    fails (an untrusted tool must not reach the driver's or the worker's other files)."""


class StacError(CwlDaskError):
    """A STAC catalog among the outputs is broken; the message names the output, file, href."""

    exit_code = EXIT_FAILED


class SchedulerLost(CwlDaskError):
    """The connection to the run's Dask scheduler was lost and not regained: the run ended,
    though none of its tools failed (the message says what finished and how to resume)."""


class StepClusterError(StepFailed):
    """The Dask cluster a step asks for itself (``DaskGatewayRequirement``) did not start."""


class RunStopped(BaseException):
    """The run was stopped from outside: a signal or ``--timeout`` (``driver.stopping``).

    A ``BaseException``, like ``KeyboardInterrupt``, so that cwltool's main loop, which turns
    every ``Exception`` into "workflow failed", lets it through to cwl-dask's cleanup. The
    executor adds ``progress`` (what had finished, what was cancelled) on its way out.
    """

    exit_code = EXIT_FAILED

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.progress = ""

    def __str__(self) -> str:
        return f"{self.reason}: {self.progress}" if self.progress else self.reason


class Interrupted(RunStopped):
    """SIGINT (Ctrl-C) or SIGTERM: exit 128 + the signal number (130, 143), as shells do."""

    def __init__(self, signum: int) -> None:
        import signal

        super().__init__(f"interrupted by {signal.Signals(signum).name}")
        self.exit_code = 128 + signum


class TimedOut(RunStopped):
    """``--timeout`` expired: the run failed (exit 1)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"run timed out after {seconds:g} s")
