"""The worker's cwltool classes: cwltool's own, adjusted through their extension points.

Kept apart from :mod:`cwl_dask.worker.invocation` (which runs an invocation) because they
are what the worker's ``construct_tool_object`` builds: rootful podman, and every command
started as a supervised process group (:mod:`cwl_dask.worker.tool_processes`).
"""

from __future__ import annotations

import os
from typing import Any

from cwltool.command_line_tool import CommandLineTool
from cwltool.context import RuntimeContext
from cwltool.docker import PodmanCommandLineJob
from cwltool.job import JobBase

from cwl_dask.worker.tool_processes import guarded


class RootfulPodmanJob(PodmanCommandLineJob):
    """cwltool's podman job, minus ``--userns=keep-id`` when running as root.

    cwltool always adds ``--userns=keep-id`` for podman, which rootful podman refuses
    ("keep-id is only supported in rootless mode"). As root the container already runs
    with the caller's ids (``--user=0:0``), so the flag is simply dropped.
    """

    def create_runtime(
        self, env: Any, runtimeContext: RuntimeContext
    ) -> tuple[list[str], str | None]:
        runtime, cidfile = super().create_runtime(env, runtimeContext)
        if os.geteuid() == 0:
            runtime = [arg for arg in runtime if arg != "--userns=keep-id"]
        return runtime, cidfile


class WorkerCommandLineTool(CommandLineTool):
    """The worker's CommandLineTool: cwltool's, with rootful podman support, and every
    command run supervised (its process tree dies with the task, see ``tool_processes``).
    """

    def make_job_runner(self, runtimeContext: RuntimeContext) -> type[JobBase]:
        runner = super().make_job_runner(runtimeContext)
        if runner is PodmanCommandLineJob:
            runner = RootfulPodmanJob
        return guarded(runner)
