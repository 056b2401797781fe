"""The walk over the process tree: one row per tool and step path, one node per workflow.

Carries every invocation's known inputs down through workflows, subworkflows and scatters,
asks :mod:`~cwl_dask.clusters.sizing.resources` for each invocation's request (cached per
distinct input), evaluates a tool's own ``DaskGatewayRequirement``, and records the tree of
waves that :func:`cwl_dask.clusters.sizing.plan` measures parallelism on.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from cwl_utils.expression import needs_parsing
from cwltool.process import Process, shortname
from cwltool.utils import aslist
from cwltool.workflow import Workflow, WorkflowStep

from cwl_dask.clusters import stepclusters
from cwl_dask.clusters.sizing.model import (
    SIZED_CLASSES,
    UNKNOWN,
    Binding,
    SizingOptions,
    ToolRequest,
    _fmt,
)
from cwl_dask.clusters.sizing.resources import CUDA_REQUIREMENT, _evaluate, _probe_context
from cwl_dask.clusters.sizing.scatter import _combinations, _step_input, _waves, _with_defaults


@dataclass
class _Row:
    path: str
    tool: Process
    instances: list[tuple[ToolRequest, int]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    dask_cluster: dict[str, Any] | None = None

    @property
    def width(self) -> int:
        return sum(count for _, count in self.instances)


@dataclass
class _ToolNode:
    row: _Row


@dataclass
class _FlowNode:
    """A workflow, its steps grouped into waves (see :func:`_waves`)."""

    waves: list[list[_ToolNode | _FlowNode]]


_Node = _ToolNode | _FlowNode


class _Walker:
    """Walks the process tree once, carrying every invocation's known inputs along."""

    def __init__(self, options: SizingOptions, job_known: bool) -> None:
        self.options = options
        self.job_known = job_known
        self.rows: list[_Row] = []
        self.notes: list[str] = []
        self._cache: dict[tuple[int, str], ToolRequest] = {}

    def process(self, process: Process, path: str, instances: list[tuple[Binding, int]]) -> _Node:
        kind = process.tool.get("class")
        if isinstance(process, Workflow):
            return self.workflow(process, path, instances)
        row = _Row(path or _tool_name(process), process)
        self.rows.append(row)
        if kind not in SIZED_CLASSES:
            self.notes.append(f"{row.path}: a {kind} does not run as a task; not sized")
            return _ToolNode(row)
        if not instances:
            row.notes.append("not invoked with this job order (empty scatter)")
            request = self.request(process, None, "not invoked")
            row.notes.extend(request.notes)
            row.instances.append((request, 0))
            return _ToolNode(row)
        for binding, count in instances:
            request = self.request(process, binding, None)
            row.instances.append((request, count))
        if kind == "CommandLineTool":
            row.dask_cluster = self.step_cluster(process, row, [b for b, n in instances if n])
        for request, _ in row.instances:
            row.notes.extend(n for n in request.notes if n not in row.notes)
        cores = {r.cores for r, _ in row.instances}
        rams = {r.ram_mib for r, _ in row.instances}
        if len(cores) > 1 or len(rams) > 1:
            row.notes.append(
                f"varies by invocation: cores {_span(cores)}, ram {_span(rams)} MiB; "
                "the largest is shown"
            )
        return _ToolNode(row)

    def step_cluster(
        self, tool: Process, row: _Row, bindings: list[Binding]
    ) -> dict[str, Any] | None:
        """The tool's ``DaskGatewayRequirement``, evaluated as the run will (largest one).

        An invalid requirement is an error here as at run time; expressions whose inputs are
        not known up front leave the cluster unknown, with a note.
        """
        requirement = stepclusters.find_requirement(tool)
        if requirement is None:
            return None
        where = f"step '{row.path}'"
        if not stepclusters.expressions_of(requirement):
            return stepclusters.evaluate(requirement, None, where).to_json()
        clusters = []
        inputs = {shortname(i["id"]) for i in tool.tool["inputs"]}
        for binding in bindings if self.job_known else []:
            job = {k: v for k, v in binding.items() if k in inputs}
            if any(v is UNKNOWN for v in job.values()):
                continue
            builder = tool._init_job(job, _probe_context())
            clusters.append(stepclusters.evaluate(requirement, builder, where))
        if not clusters:
            stepclusters.fields_of(requirement, where)
            why = "inputs known only at run time" if self.job_known else "no job order"
            row.notes.append(f"DaskGatewayRequirement: its expressions need inputs ({why})")
            return None
        largest = max(clusters, key=lambda c: (c.workers * c.worker_cores, c.worker_memory_bytes))
        return largest.to_json()

    def request(self, tool: Process, binding: Binding | None, reason: str | None) -> ToolRequest:
        requirement, _ = tool.get_requirement("ResourceRequirement")
        cuda, _ = tool.get_requirement(CUDA_REQUIREMENT)
        values = [*(requirement or {}).values(), *(cuda or {}).values()]
        dynamic = any(needs_parsing(v) for v in values)
        if not dynamic:
            binding = None
        elif binding is not None and not self.job_known:
            reason, binding = "no job order", None
        key = (id(tool), _canonical(binding, tool) if binding is not None else "")
        if key not in self._cache:
            self._cache[key] = _evaluate(tool, binding, reason, self.options)
        return self._cache[key]

    def workflow(
        self, workflow: Workflow, path: str, instances: list[tuple[Binding, int]]
    ) -> _FlowNode:
        instances = [(_with_defaults(workflow, b), n) for b, n in instances]
        input_ids = {i["id"] for i in workflow.tool["inputs"]}
        waves: list[list[_Node]] = []
        for wave in _waves(workflow.steps):
            nodes: list[_Node] = []
            for step in wave:
                step_path = f"{path}/{shortname(step.id)}" if path else shortname(step.id)
                first_row = len(self.rows)
                step_instances, notes = self.step_instances(step, input_ids, instances)
                nodes.append(self.process(step.embedded_tool, step_path, step_instances))
                for row in self.rows[first_row:]:
                    row.notes[:0] = [n for n in notes if n not in row.notes]
            waves.append(nodes)
        return _FlowNode(waves)

    def step_instances(
        self, step: WorkflowStep, input_ids: set[str], instances: list[tuple[Binding, int]]
    ) -> tuple[list[tuple[Binding, int]], list[str]]:
        """The invocations of ``step``'s process, from the invocations of its workflow."""
        scatter = [shortname(s) for s in aslist(step.tool.get("scatter", []))]
        method = step.tool.get("scatterMethod", "dotproduct")
        # valueFrom is evaluated after scattering (as cwltool does): its result is unknown
        derived = [shortname(i["id"]) for i in step.tool["inputs"] if "valueFrom" in i]
        notes: list[str] = []
        if "when" in step.tool:
            notes.append("conditional: counted as if it runs")
        result: list[tuple[Binding, int]] = []
        for parent, count in instances:
            values = {
                shortname(i["id"]): _step_input(i, parent, input_ids) for i in step.tool["inputs"]
            }
            if not scatter:
                result.append(({**values, **dict.fromkeys(derived, UNKNOWN)}, count))
                continue
            arrays = [values.get(name) for name in scatter]
            if any(not isinstance(a, list) for a in arrays):
                if not self.job_known:
                    why = "no job order"
                elif any(a is UNKNOWN for a in arrays):
                    why = "the array is known only at run time"
                else:
                    why = "the job order gives no array"
                note = (
                    f"scatter over {', '.join(scatter)}: length unknown ({why}); "
                    f"assumed {self.options.default_width}"
                )
                if note not in notes:
                    notes.append(note)
                unknown = dict.fromkeys([*scatter, *derived], UNKNOWN)
                result.append(({**values, **unknown}, count * self.options.default_width))
                continue
            for combination in _combinations(arrays, method, scatter, notes):
                element = {**values, **dict(zip(scatter, combination, strict=True))}
                element.update(dict.fromkeys(derived, UNKNOWN))
                result.append((element, count))
        return result, notes


def _tool_name(process: Process) -> str:
    """The tool's id; cwltool names an inline ``run`` without an id with a UUID."""
    name = shortname(str(process.tool.get("id", ""))).removeprefix("_:")
    try:
        uuid.UUID(name)
    except ValueError:
        return name or "(tool)"
    return "(inline)"


def _span(values: set[float] | set[int]) -> str:
    return f"{_fmt(min(values))}-{_fmt(max(values))}"


def _canonical(binding: Binding, tool: Process) -> str:
    inputs = {shortname(i["id"]) for i in tool.tool["inputs"]}
    job = {k: v for k, v in binding.items() if k in inputs}
    return json.dumps(job, sort_keys=True, default=repr)
