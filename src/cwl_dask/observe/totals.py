"""How many invocations each step will have, learned from cwltool's workflow jobs as they run.

A progress bar needs its total before the invocations exist: a scatter over a sub-workflow
yields the second step of each element only when the element's first step is done. The
driver sees every ``WorkflowJob`` cwltool creates (one per workflow and per sub-workflow
element) before any of its invocations, and cwltool marks each of its steps ``submitted``
once the step's inputs are known — for a scatter, that is when its width is decided. From
then on the width is cwltool's own ``object_from_state`` of the step's inputs, the value the
scatter iterates over. Sub-workflow steps count nothing themselves: their elements'
``WorkflowJob``s arrive as the scatter creates them and count their own steps.

A step counts 1 (or its scatter width) until it completes, then what it really submitted:
skipped conditionals and scatter elements drop out of the total.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sized
from typing import Any

from cwltool.process import shortname
from cwltool.utils import aslist
from cwltool.workflow import Workflow
from cwltool.workflow_job import WorkflowJob, WorkflowJobStep, object_from_state


class StepTotals:
    """Expected invocations per step name (the name RemoteJobs and records carry)."""

    def __init__(self) -> None:
        self._open: list[tuple[WorkflowJobStep, WorkflowJob, str]] = []
        self._done: Counter[str] = Counter()
        self._widths: dict[int, int | None] = {}
        self._by_part: Counter[str] = Counter()  # submissions per WorkflowJobStep.name
        self._parts: set[str] = set()
        self._loose: Counter[str] = Counter()  # submissions of no known step (a lone tool)

    def workflow_job(self, job: WorkflowJob) -> None:
        """A workflow (or one element of a sub-workflow scatter) begins."""
        for step in job.steps:
            if not isinstance(step.step.embedded_tool, Workflow):
                self._open.append((step, job, shortname(step.id)))
                self._parts.add(step.name)

    def submitted(self, step: str, part_of: str | None) -> None:
        if part_of in self._parts:
            self._by_part[part_of] += 1
        else:
            self._loose[step] += 1

    def totals(self) -> dict[str, int]:
        """The current estimate; closes the steps cwltool reports completed."""
        totals: Counter[str] = Counter(self._done)
        totals.update(self._loose)
        still_open = []
        for step, job, name in self._open:
            actual = self._by_part[step.name]
            if step.completed:
                self._done[name] += actual
                totals[name] += actual
                continue
            still_open.append((step, job, name))
            totals[name] += max(self._expected(step, job) or 0, actual)
        self._open = still_open
        return {step: count for step, count in totals.items() if count}  # 0: not known yet

    def _expected(self, step: WorkflowJobStep, job: WorkflowJob) -> int | None:
        scatter = aslist(step.tool.get("scatter", []))
        if not scatter:
            return 1
        if not step.submitted:
            return None  # the width depends on inputs not known yet
        if id(step) not in self._widths:
            self._widths[id(step)] = _scatter_width(step, job, scatter)
        return self._widths[id(step)]


def _scatter_width(step: WorkflowJobStep, job: WorkflowJob, scatter: list[str]) -> int | None:
    """The number of scatter jobs, from the step's inputs as cwltool computed them."""
    multiple = bool(job.workflow.get_requirement("MultipleInputFeatureRequirement")[0])
    try:
        inputs: Any = object_from_state(job.state, step.tool["inputs"], False, multiple, "source")
    except Exception:
        return None
    if not inputs:
        return None
    lengths = [len(v) if isinstance(v, Sized) else 0 for v in (inputs.get(k) for k in scatter)]
    method = step.tool.get("scatterMethod", "dotproduct")
    if method == "dotproduct" or len(lengths) == 1:
        return lengths[0]
    return math.prod(lengths)
