"""Driver side of a tool: cwltool's ``construct_tool_object`` hook.

CommandLineTools and ExpressionTools are loaded as the subclasses below, whose ``job()``
yields one :class:`RemoteJob` per invocation instead of running anything. The executor
turns each RemoteJob into a Dask task (see :mod:`cwl_dask.driver.executor`); everything else
(workflows, scatter, conditionals, valueFrom) stays cwltool's own code on the driver.
"""

from __future__ import annotations

import re
from collections.abc import Generator
from typing import Any, Protocol, cast

from cwl_utils.expression import needs_parsing
from cwltool.command_line_tool import CommandLineTool, ExpressionTool
from cwltool.context import LoadingContext, RuntimeContext
from cwltool.errors import UnsupportedRequirement
from cwltool.process import Process, shortname
from cwltool.utils import CWLObjectType, OutputCallbackType
from cwltool.workflow import default_make_tool
from ruamel.yaml.comments import CommentedMap

from cwl_dask.clusters import placement


class JobSink(Protocol):
    """What a tool needs of the executor's ``Dispatcher``: a unique name per invocation,
    somewhere to hand the invocation to, and whether it takes more now. A protocol, so that
    this module does not import the executor, which imports it."""

    def unique_name(self, step: str) -> str: ...

    def has_room(self) -> bool: ...

    def submit(self, job: RemoteJob) -> None: ...


class DaskRuntimeContext(RuntimeContext):
    """cwltool's RuntimeContext plus the dispatcher that submits RemoteJobs to Dask.

    cwltool copies the context for every step (``copy.copy``), so the attribute reaches
    every job the workflow machinery creates.
    """

    dispatcher: JobSink | None = None
    #: No engine was asked for and none answered: tools run on the host without the user
    #: having passed --no-container, so messages must not say they did.
    container_detected: bool = False


class RemoteJob:
    """One tool invocation, ready to become a Dask task.

    It quacks like the jobs cwltool's executors run (``run(runtimeContext)``, ``outdir``),
    but ``run`` only hands the invocation to the dispatcher.
    """

    outdir: str | None = None
    #: Set by the dispatcher once the outcome went to ``output_callback``.
    delivered = False

    def __init__(
        self,
        tool: DaskProcessMixin,
        job_order: CWLObjectType,
        output_callback: OutputCallbackType,
        runtime_context: RuntimeContext,
    ) -> None:
        self.tool = tool
        self.job_order = job_order
        self.output_callback = output_callback
        self.runtime_context = runtime_context
        self.step = runtime_context.name or shortname(cast(str, tool.tool.get("id", "job")))
        dispatcher = cast(DaskRuntimeContext, runtime_context).dispatcher
        self.name = dispatcher.unique_name(self.step) if dispatcher else self.step

    @property
    def key_prefix(self) -> str:
        """The task-key prefix Dask groups by: the step name, without dashes.

        ``dask.utils.key_split`` cuts keys at ``-`` and drops hex/numeric words, so a
        dash-free step name keeps the dashboard's groups equal to the workflow's steps.
        """
        return re.sub(r"[^0-9A-Za-z_.]", "_", self.step) or "step"

    def resource_request(self) -> dict[str, float]:
        """The cores and RAM (MiB) this invocation asks for, as cwltool evaluates them."""
        return self.tool.resource_request(self.job_order, self.runtime_context)

    def run(self, runtimeContext: RuntimeContext, tmpdir_lock: Any = None) -> None:
        dispatcher = cast(DaskRuntimeContext, self.runtime_context).dispatcher
        if dispatcher is None:
            raise RuntimeError("a RemoteJob can only run under cwl-dask's DaskExecutor")
        dispatcher.submit(self)


class DaskProcessMixin(Process):
    """What the Dask CommandLineTool and ExpressionTool share."""

    _static_request: dict[str, float] | None = None

    def job(
        self,
        job_order: CWLObjectType,
        output_callbacks: OutputCallbackType | None,
        runtimeContext: RuntimeContext,
    ) -> Generator[RemoteJob | None, None, None]:
        """Hand the invocation to the dispatcher, then say "waiting" until its outcome is in.

        Submitting here instead of yielding the job keeps cwltool's scatter loop linear:
        ``parallel_steps`` restarts its scan of the N element generators from the first one
        after every job yielded (O(N²): 22 s of the driver at N = 10000, profiled), but
        walks past generators that yield ``None`` — so a scatter's invocations are
        submitted in one pass (up to the dispatcher's window: see
        :mod:`cwl_dask.driver.workflow`), and the executor waits once they are.
        """
        job = RemoteJob(self, job_order, cast(OutputCallbackType, output_callbacks), runtimeContext)
        dispatcher = cast(DaskRuntimeContext, runtimeContext).dispatcher
        if dispatcher is None:
            yield job  # run() explains that only cwl-dask's executor can run it
            return
        dispatcher.submit(job)
        while not job.delivered:
            yield None

    def resource_request(
        self, job_order: CWLObjectType, runtime_context: RuntimeContext
    ) -> dict[str, float]:
        """Evaluate ``ResourceRequirement`` (and ``CUDARequirement``) with cwltool's own
        ``evalResources``; placement labels ride along (see :mod:`cwl_dask.clusters.placement`).

        Without expressions the answer is the same for every invocation and computed once;
        with expressions the inputs are bound on the driver (``_init_job``) with placeholder
        directories, as cwltool does for its cache keys, so nothing is created on disk.
        """
        requirement, _ = self.get_requirement("ResourceRequirement")
        dynamic = any(isinstance(v, str) and needs_parsing(v) for v in (requirement or {}).values())
        if not dynamic and self._static_request is not None:
            return self._static_request
        probe = runtime_context.copy()
        probe.outdir, probe.tmpdir, probe.stagedir = "/out", "/tmp", "/stage"
        probe.select_resources = None
        builder = self._init_job(job_order, probe) if dynamic else None
        resources = self.evalResources(builder, probe)  # type: ignore[arg-type]
        request = {"cores": float(resources["cores"]), "ram": float(resources["ram"])}
        if resources.get("cudaDeviceCount"):  # cwltool:CUDARequirement: the Dask resource gpu
            request["gpu"] = float(resources["cudaDeviceCount"])
        request.update(placement.as_request(placement.labels_of(self)))
        if not dynamic:
            self._static_request = request
        return request

    def bound_job_order(
        self, job_order: CWLObjectType, runtime_context: RuntimeContext
    ) -> CWLObjectType:
        """The job order as cwltool binds it (defaults, discovered ``secondaryFiles``).

        cwltool looks for a top-level tool's secondary files beside its inputs while binding
        them; in store mode (``--workdir s3://``) that must happen here, where the files are,
        so that they are uploaded with their primaries. Bound as for ``resource_request``.
        """
        probe = runtime_context.copy()
        probe.outdir, probe.tmpdir, probe.stagedir = "/out", "/tmp", "/stage"
        probe.select_resources = None
        bound = self._init_job(job_order, probe).job
        # Only the defaults and the secondary files are taken: the worker binds again, and
        # a listing loaded twice would go one level deeper than the tool asked for.
        merged = {k: _secondary_files_from(v, bound.get(k)) for k, v in job_order.items()}
        return cast(CWLObjectType, {**bound, **merged})

    def step_cluster(
        self, job_order: CWLObjectType, runtime_context: RuntimeContext, step: str
    ) -> Any:
        """The invocation's ``DaskGatewayRequirement`` as a StepCluster, or None.

        Only CommandLineTools run programs that can use a cluster. Expressions are evaluated
        with the invocation's inputs by cwltool's Builder, bound as for ``resource_request``.
        """
        from cwl_dask.clusters import stepclusters

        requirement = stepclusters.find_requirement(self)
        if requirement is None or not isinstance(self, CommandLineTool):
            return None
        builder = None
        if stepclusters.expressions_of(requirement):
            probe = runtime_context.copy()
            probe.outdir, probe.tmpdir, probe.stagedir = "/out", "/tmp", "/stage"
            probe.select_resources = None
            builder = self._init_job(job_order, probe)
        return stepclusters.evaluate(requirement, builder, f"step '{step}'")

    def shipped_document(self) -> CommentedMap:
        """The tool document with its effective requirements and hints, for the worker."""
        doc = CommentedMap(self.tool.items())
        doc["requirements"] = self.requirements
        doc["hints"] = self.hints
        return doc


def _secondary_files_from(given: Any, bound: Any) -> Any:
    """``given`` with the ``secondaryFiles`` that binding found for its Files (same shape)."""
    if isinstance(given, list) and isinstance(bound, list) and len(given) == len(bound):
        return [_secondary_files_from(g, b) for g, b in zip(given, bound, strict=True)]
    if not isinstance(given, dict) or not isinstance(bound, dict):
        return given
    merged = {k: _secondary_files_from(v, bound.get(k)) for k, v in given.items()}
    if given.get("class") == "File" and "secondaryFiles" in bound:
        merged["secondaryFiles"] = bound["secondaryFiles"]
    return merged


class DaskCommandLineTool(DaskProcessMixin, CommandLineTool):
    """A CommandLineTool whose invocations run as Dask tasks."""

    def job(
        self,
        job_order: CWLObjectType,
        output_callbacks: OutputCallbackType | None,
        runtimeContext: RuntimeContext,
    ) -> Generator[RemoteJob | None, None, None]:
        # Fail on the driver, before anything is submitted, when the container settings
        # cannot run this tool (e.g. --no-container with DockerRequirement): exit code 33.
        try:
            self.make_job_runner(runtimeContext)
        except UnsupportedRequirement as err:
            if not getattr(runtimeContext, "container_detected", False):
                raise
            step = runtimeContext.name or shortname(str(self.tool.get("id", "tool")))
            raise UnsupportedRequirement(
                f"step '{step}' has DockerRequirement under 'requirements', and no container "
                "engine answers (tried docker, podman): install one (e.g. apt-get install "
                "podman) or start its service, or pass --podman/--docker to name it"
            ) from err
        yield from super().job(job_order, output_callbacks, runtimeContext)


class DaskExpressionTool(DaskProcessMixin, ExpressionTool):
    """An ExpressionTool whose invocations run as Dask tasks."""


def make_tool(toolpath_object: CommentedMap, loading_context: LoadingContext) -> Process:
    """``LoadingContext.construct_tool_object``: Dask-backed tools, cwltool's workflows with
    paced steps (:mod:`cwl_dask.driver.workflow`)."""
    match toolpath_object.get("class"):
        case "CommandLineTool":
            from cwl_dask.clusters import stepclusters

            tool = DaskCommandLineTool(toolpath_object, loading_context)
            stepclusters.check_static(tool)
            return tool
        case "ExpressionTool":
            expression = DaskExpressionTool(toolpath_object, loading_context)
            # cwltool's CommandLineTool keeps the enclosing workflow's provenance profile;
            # its ExpressionTool takes the executor's, which cwl-dask's does not set.
            expression.prov_obj = loading_context.prov_obj
            return expression
        case "Workflow":
            from cwl_dask.driver.workflow import DaskWorkflow

            return DaskWorkflow(toolpath_object, loading_context)
        case _:
            return default_make_tool(toolpath_object, loading_context)
