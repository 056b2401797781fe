"""cwltool's Workflow, whose steps start only when the dispatcher has room for them.

Why: cwltool's scatter functions build one job generator per element up front, and its
``parallel_steps`` walk starts every one of them in its first pass. Each started element
copies the RuntimeContext (≈ 5 KB) and, for a tool, becomes an invocation in flight: a
100,000-element scatter held 1 GB in the driver before its first invocation ran
(measured). The scatter functions are module functions called from inside
``WorkflowJob.try_make_job``, so they cannot be replaced without copying cwltool's code;
what a subclass can decide is when a step *starts*. :class:`PacedJobStep` waits, before
cwltool's ``WorkflowJobStep.job`` runs, until the dispatcher has room
(:mod:`cwl_dask.driver.pacing`): elements past the window stay unstarted generators
(≈ 1 KB), started in cwltool's order as earlier ones are delivered.

The workflow reaches this code through cwltool's own extension point:
``LoadingContext.construct_tool_object`` builds :class:`DaskWorkflow` for every Workflow
(:func:`cwl_dask.driver.tool.make_tool`), and its ``job`` hands its steps to cwltool's
``WorkflowJob`` as :class:`PacedJobStep` before that job walks them.
"""

from __future__ import annotations

from cwltool.context import RuntimeContext
from cwltool.utils import CWLObjectType, JobsGeneratorType, OutputCallbackType
from cwltool.workflow import Workflow
from cwltool.workflow_job import WorkflowJob, WorkflowJobStep


class PacedJobStep(WorkflowJobStep):
    """A workflow step that starts (each scatter element, each loop iteration) only when
    the run's dispatcher takes more invocations."""

    @classmethod
    def adopt(cls, step: WorkflowJobStep) -> PacedJobStep:
        """The same step as this class: cwltool's ``__init__`` would register its name
        again (``uniquename``) and rename it in the logs."""
        paced = cls.__new__(cls)
        paced.__dict__.update(vars(step))
        return paced

    def job(
        self,
        joborder: CWLObjectType,
        output_callback: OutputCallbackType,
        runtimeContext: RuntimeContext,
    ) -> JobsGeneratorType:
        dispatcher = getattr(runtimeContext, "dispatcher", None)
        while dispatcher is not None and not dispatcher.has_room():
            yield None  # cwltool's walk goes on to the next element, and back here later
        yield from super().job(joborder, output_callback, runtimeContext)


class DaskWorkflow(Workflow):
    """cwltool's Workflow whose jobs walk :class:`PacedJobStep` steps."""

    def job(
        self,
        job_order: CWLObjectType,
        output_callbacks: OutputCallbackType,
        runtimeContext: RuntimeContext,
    ) -> JobsGeneratorType:
        jobs = super().job(job_order, output_callbacks, runtimeContext)
        for item in jobs:
            # cwltool yields this workflow's WorkflowJob first, before it walks the steps.
            if isinstance(item, WorkflowJob) and item.workflow is self:
                item.steps = [PacedJobStep.adopt(step) for step in item.steps]
                yield item
                break
            yield item
        yield from jobs  # the rest, delegated: no frame of ours in each walk
