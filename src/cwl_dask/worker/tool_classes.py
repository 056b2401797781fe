"""The worker's cwltool classes: cwltool's own, adjusted through their extension points.

Kept apart from :mod:`cwl_dask.worker.invocation` (which runs an invocation) because they
are what the worker's ``construct_tool_object`` builds: rootful podman, the engine's limits
for an explicit ``ramMax``/``coresMax``, every command started as a supervised process
group (:mod:`cwl_dask.worker.tool_processes`), and outputs confined to the invocation's
directory or its inputs (:mod:`cwl_dask.worker.confinement`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Generator, MutableMapping
from contextvars import ContextVar
from typing import Any, cast
from weakref import WeakKeyDictionary

from cwltool.builder import Builder
from cwltool.command_line_tool import CommandLineTool, ExpressionTool
from cwltool.context import RuntimeContext
from cwltool.docker import DockerCommandLineJob, PodmanCommandLineJob
from cwltool.errors import WorkflowException
from cwltool.job import JobBase
from cwltool.loghandler import _logger as cwltool_logger
from cwltool.process import shortname
from cwltool.stdfsaccess import StdFsAccess
from cwltool.utils import aslist

from cwl_dask.errors import OutputRefused
from cwl_dask.worker.confinement import ConfinedGlob, Confinement, check_outputs
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


#: Where the outputs this thread collects may be, and their evaluated glob patterns by
#: output name (the tool object is shared by the worker's threads; this is not).
_collecting: ContextVar[tuple[Confinement, dict[str, list[str]]] | None] = ContextVar(
    "cwl_dask_collecting", default=None
)


#: The files ``InitialWorkDirRequirement`` staged for each invocation (by its Builder).
_staged_for: WeakKeyDictionary[Builder, list[Any]] = WeakKeyDictionary()


class WorkerCommandLineTool(CommandLineTool):
    """The worker's CommandLineTool: cwltool's, with rootful podman support, every command
    run supervised (its process tree dies with the task, see ``tool_processes``), and its
    outputs confined to its output directory or its inputs (``confinement``).
    """

    def collect_output_ports(
        self,
        ports: Any,
        builder: Builder,
        outdir: str,
        rcode: int,
        compute_checksum: bool = True,
        jobname: str = "",
        readers: MutableMapping[str, Any] | None = None,
    ) -> Any:
        """cwltool's collection, then every collected File and Directory checked (here, on
        the worker: the driver must never resolve a tool's links)."""
        staged = _staged_for.get(builder, [])
        confinement, patterns = Confinement(outdir, builder.job, staged), {}
        token = _collecting.set((confinement, patterns))
        try:
            output = super().collect_output_ports(
                ports, builder, outdir, rcode, compute_checksum, jobname, readers
            )
        finally:
            _collecting.reset(token)
        check_outputs(output, confinement, patterns)
        return output

    def collect_output(
        self,
        schema: Any,
        builder: Builder,
        outdir: str,
        fs_access: StdFsAccess,
        compute_checksum: bool = True,
    ) -> Any:
        """cwltool's, globbing through :class:`ConfinedGlob`: a match outside the output
        directory is never listed or read, and the output is refused naming the pattern."""
        name = shortname(str(schema.get("id") or schema.get("name")))  # a record's field: name
        collecting = _collecting.get()
        confined = ConfinedGlob(fs_access, outdir, collecting[0] if collecting else None)
        try:
            result = super().collect_output(
                schema, builder, outdir, cast(StdFsAccess, confined), compute_checksum
            )
        except WorkflowException:
            refusal = confined.refusal(name)
            if refusal is not None:
                raise refusal from None
            raise
        refusal = confined.refusal(name)
        if refusal is not None:
            raise refusal
        if collecting is not None:
            collecting[1][name] = _evaluated_globs(schema, builder)
        return result

    def _initialworkdir(self, j: JobBase | None, builder: Builder) -> None:
        """cwltool's; the files it stages for ``InitialWorkDirRequirement`` (the listing may
        name files of the tool's own, beside its document) are remembered: an output may
        be one of them (as a copy made here, see ``Confinement``)."""
        super()._initialworkdir(j, builder)
        if j is not None:
            _staged_for[builder] = list(j.generatefiles.get("listing", []))

    def make_job_runner(self, runtimeContext: RuntimeContext) -> type[JobBase]:
        runner = super().make_job_runner(runtimeContext)
        if runner is PodmanCommandLineJob:
            runner = RootfulPodmanJob
        elif runner is DockerCommandLineJob:
            runner = LimitedDockerJob
        return guarded(runner)


class WorkerExpressionTool(ExpressionTool):
    """cwltool's ExpressionTool whose output Files and Directories must be its inputs (or
    literals): an expression can name any location, and the driver would copy it."""

    def job(
        self, job_order: Any, output_callbacks: Any, runtimeContext: RuntimeContext
    ) -> Generator[Any, None, None]:
        def checked(output: Any, status: str) -> None:
            if status == "success":
                try:
                    check_outputs(output, Confinement(None, job_order), {})
                except OutputRefused as err:
                    cwltool_logger.error("[job %s] %s", runtimeContext.name, err)
                    output_callbacks({}, "permanentFail")
                    return
            output_callbacks(output, status)

        yield from super().job(job_order, checked, runtimeContext)


def _evaluated_globs(schema: Any, builder: Builder) -> list[str]:
    """An output's glob patterns as evaluated for this invocation (for messages only)."""
    binding = schema.get("outputBinding") or {}
    patterns: list[str] = []
    for glob in aslist(binding.get("glob", [])):
        try:
            value = builder.do_eval(glob)
        except Exception:  # it was evaluated once already; a message must not fail
            value = glob
        patterns.extend(str(v) for v in aslist(value) if v)
    return patterns
