"""The worker's cwltool classes: cwltool's own, adjusted through their extension points.

Kept apart from :mod:`cwl_dask.worker.invocation` (which runs an invocation) because they
are what the worker's ``construct_tool_object`` builds: rootful podman, the engine's limits
for an explicit ``ramMax``/``coresMax``, and every command started as a supervised process
group (:mod:`cwl_dask.worker.tool_processes`).
"""

from __future__ import annotations

import math
import os
from typing import Any

from cwltool.command_line_tool import CommandLineTool
from cwltool.context import RuntimeContext
from cwltool.docker import DockerCommandLineJob, PodmanCommandLineJob
from cwltool.job import JobBase

from cwl_dask.worker.cpu_limit import cores_max
from cwl_dask.worker.memory_limit import ram_max_mib
from cwl_dask.worker.tool_processes import guarded


def engine_limits(builder: Any) -> list[str]:
    """docker/podman flags for the tool's explicit ``ramMax`` and ``coresMax``.

    A container's processes are the engine's children, not the tool's, so neither the
    host-side rlimit nor the CPU cgroup reaches them: the engine's own limits do (cwltool
    passes them only with ``--strict-memory-limit``/``--strict-cpu-limit``, from the
    minimums). A later flag wins, so these override cwltool's if both are given.
    """
    flags = []
    if (cores := cores_max(builder)) is not None:
        flags.append(f"--cpus={cores:g}")
    if (ram := ram_max_mib(builder)) is not None:
        flags.append(f"--memory={math.ceil(ram)}m")
    return flags


class LimitedDockerJob(DockerCommandLineJob):
    """cwltool's docker job, with the engine's limits for ``ramMax``/``coresMax``."""

    def create_runtime(
        self, env: Any, runtimeContext: RuntimeContext
    ) -> tuple[list[str], str | None]:
        runtime, cidfile = super().create_runtime(env, runtimeContext)
        if runtimeContext.user_space_docker_cmd:  # udocker and the like: no such flags
            return runtime, cidfile
        return [*runtime, *engine_limits(self.builder)], cidfile


class RootfulPodmanJob(PodmanCommandLineJob, LimitedDockerJob):
    """cwltool's podman job, minus ``--userns=keep-id`` when running as root.

    cwltool always adds ``--userns=keep-id`` for podman, which rootful podman refuses
    ("keep-id is only supported in rootless mode"). As root the container already runs
    with the caller's ids (``--user=0:0``), so the flag is simply dropped.
    """

    def create_runtime(
        self, env: Any, runtimeContext: RuntimeContext
    ) -> tuple[list[str], str | None]:
        runtime, cidfile = super().create_runtime(env, runtimeContext)  # limits included
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
        elif runner is DockerCommandLineJob:
            runner = LimitedDockerJob
        return guarded(runner)
