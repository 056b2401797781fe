"""How big a Dask cluster a workflow needs, before it runs: ``cwl-dask plan``.

A backend that creates its cluster (Dask Gateway, Kubernetes) must choose the size of a
worker and how many of them to allow before the first task exists. The answer is derived
from the same numbers the executor will later attach to each task, so the two cannot
disagree:

* every process reachable from the loaded ``Process`` is walked — ``$graph`` packages,
  inline ``run``, subworkflows, a lone CommandLineTool — and each CommandLineTool and
  ExpressionTool (each runs as one Dask task per invocation) gets one row per step path;
* its request is cwltool's own ``Process.evalResources``: inherited requirements and hints,
  the list and map forms, the CWL defaults (1 core; 256 MiB, or 1024 MiB for documents
  written as v1.0) and the rule "only Min given → Max = Min" are cwltool's, not re-derived;
* expressions are evaluated against the job order when every input of the invocation is
  known up front; otherwise the row says why not and a configurable fallback is used;
* scatter widths come from the lengths of the job order's arrays, per invocation, so a
  scatter inside a scattered subworkflow multiplies (and uneven inner arrays are counted
  exactly); an unknown length counts as a configurable default width.

The known sizing bugs of the ZOO-project runners (``zoo-runner-common``) do not exist here:
a package holding only a CommandLineTool is sized, ``coresMin``/``ramMin`` are honoured
rather than only the Max values, hints count, and v1.0 documents get cwltool's 1024 MiB
default RAM.

Everything here is a pure function of the loaded process, the job order and the options:
nothing runs and nothing is created on disk (placeholder directories bind the inputs, as
:meth:`cwl_dask.driver.tool.DaskProcessMixin.resource_request` does).
"""

from __future__ import annotations

import itertools
import json
import math
import os
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, cast

from cwl_utils.expression import needs_parsing
from cwltool.context import RuntimeContext
from cwltool.process import Process, shortname
from cwltool.update import INTERNAL_VERSION
from cwltool.utils import aslist
from cwltool.workflow import Workflow, WorkflowStep
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError
from schema_salad.ref_resolver import file_uri

from cwl_dask.clusters import stepclusters
from cwl_dask.errors import InvalidInputError

#: The classes that run as Dask tasks and therefore need a worker that fits them.
SIZED_CLASSES = ("CommandLineTool", "ExpressionTool")

_CORE_FIELDS = ("coresMin", "coresMax")
_RAM_FIELDS = ("ramMin", "ramMax")


class _Unknown:
    """The value of an input that exists only at run time (another step's output)."""

    def __repr__(self) -> str:
        return "<unknown>"


UNKNOWN: Any = _Unknown()

Binding = dict[str, Any]


@dataclass(frozen=True)
class SizingOptions:
    """The guesses and limits sizing uses where the documents do not decide.

    ``default_width``: invocations assumed for a scatter whose length is not known up front
    (no job order, or an array produced by another step). ``fallback_cores`` and
    ``fallback_ram_mib``: the request assumed for a ``ResourceRequirement`` expression that
    cannot be evaluated up front; they are deliberately larger than CWL's defaults (the
    same 2 cores / 4096 MiB the ZOO runners use as their defaults), since a tool computes
    its request precisely because it may need more than the default. ``max_worker_cores``,
    ``max_worker_memory_mib``, ``max_workers``: what the backend can offer; the spec never
    exceeds them, and a note names each step that asks for more.
    """

    default_width: int = 8
    fallback_cores: float = 2
    fallback_ram_mib: float = 4096
    max_worker_cores: float | None = None
    max_worker_memory_mib: float | None = None
    max_workers: int | None = None


@dataclass(frozen=True)
class ToolRequest:
    """One invocation's ``ResourceRequirement`` as cwltool evaluates it (RAM in MiB).

    ``cores``/``ram_mib`` are what the executor asks Dask for (cwltool's ``coresMin`` and
    ``ceil(ramMin)``); the Max values are reported, not used for placement.
    """

    cores_min: float
    cores_max: float
    ram_min_mib: float
    ram_max_mib: float
    notes: tuple[str, ...] = ()

    @property
    def cores(self) -> float:
        return self.cores_min

    @property
    def ram_mib(self) -> int:
        return math.ceil(self.ram_min_mib)


@dataclass(frozen=True)
class StepRequest:
    """One row of the plan: a tool at a step path, its largest request, its width.

    ``step`` is the path of workflow steps (``process/ndvi``) or, for a lone tool, its id.
    ``width`` is how many invocations of it the job order makes (scatter lengths multiplied
    along the path); when invocations ask for different amounts, the largest is shown.
    """

    step: str
    tool: str
    cores: float
    ram_mib: int
    cores_max: float
    ram_max_mib: int
    width: int
    notes: tuple[str, ...] = ()
    #: The tool's own Dask cluster (``DaskGatewayRequirement``), largest invocation's; or None.
    dask_cluster: dict[str, Any] | None = None


@dataclass(frozen=True)
class ClusterSpec:
    """The cluster a backend should create for the workflow.

    A worker is big enough for the largest single invocation, so every task can be placed;
    ``min_workers`` is 1 (one such worker runs the whole workflow, one task after another);
    ``max_workers`` is the widest parallelism, in workers (see :func:`plan`).
    """

    worker_cores: float
    worker_memory_mib: int
    min_workers: int
    max_workers: int


@dataclass(frozen=True)
class Plan:
    """The cluster spec, the per-step rows it was derived from, and what was assumed."""

    spec: ClusterSpec
    steps: tuple[StepRequest, ...]
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict: ``{"spec": {...}, "steps": [...], "notes": [...]}``."""
        return {
            "spec": asdict(self.spec),
            "steps": [asdict(step) for step in self.steps],
            "notes": list(self.notes),
        }


# --------------------------------------------------------------------------- job orders


def load_job_order(path: str | os.PathLike[str]) -> Binding:
    """Read a YAML/JSON job order, with File/Directory locations made absolute.

    Only values matter for sizing (array lengths, numbers), except for expressions such as
    ``$(inputs.f.size)``: cwltool's ``_init_job`` measures those files, and needs absolute
    ``location``s to find them, so relative ``location``/``path`` values are resolved
    against the job file's directory, as cwltool resolves them.
    """
    job_path = Path(path)
    if not job_path.is_file():
        raise InvalidInputError(f"no such job order file: {path}")
    try:
        data = YAML(typ="safe", pure=True).load(job_path.read_text(encoding="utf-8"))
    except (YAMLError, UnicodeDecodeError) as err:
        raise InvalidInputError(f"{path} is not a YAML/JSON job order:\n{err}") from err
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InvalidInputError(f"{path}: a job order must be a mapping of input names")
    return cast(Binding, _absolute_locations(data, job_path.resolve().parent))


def _absolute_locations(value: Any, base: Path) -> Any:
    if isinstance(value, list):
        return [_absolute_locations(v, base) for v in value]
    if not isinstance(value, dict):
        return value
    result = {k: _absolute_locations(v, base) for k, v in value.items()}
    if result.get("class") in ("File", "Directory"):
        location = result.get("location", result.pop("path", None))
        if isinstance(location, str) and "://" not in location and not location.startswith("_:"):
            location = file_uri(str(base / location))
        if location is not None:
            result["location"] = location
    return result


# ------------------------------------------------------------------- one tool's request


class _Evaluator:
    """What ``evalResources`` calls ``builder``: the real Builder, or the fallback.

    ``evalResources`` only calls ``builder.do_eval`` on fields that are expressions, so
    handing it this stand-in lets cwltool apply its own defaults and Min/Max rules to the
    static fields while each expression is evaluated if it can be, and replaced by the
    configured fallback (with a note saying why) if not.
    """

    def __init__(
        self,
        builder: Any,
        reason: str | None,
        fields: Mapping[str, str],
        options: SizingOptions,
    ) -> None:
        self.builder = builder
        self.reason = reason
        self.fields = fields  # expression text -> the first field that holds it
        self.options = options
        self.notes: list[str] = []
        self.cwlVersion = getattr(builder, "cwlVersion", INTERNAL_VERSION)

    def fallback(self, expression: str, reason: str) -> float:
        name = self.fields.get(expression, "")
        if name in _CORE_FIELDS:
            value, unit = self.options.fallback_cores, "cores"
        elif name in _RAM_FIELDS:
            value, unit = self.options.fallback_ram_mib, "MiB"
        else:  # tmpdir/outdir: not used for sizing workers
            value, unit = 1024, "MiB"
        self.notes.append(
            f"{name or 'a resource'} {expression!r} cannot be evaluated up front ({reason}); "
            f"assumed {_number(value)} {unit}"
        )
        return _number(value)

    def do_eval(self, expression: str, *args: Any, **kwargs: Any) -> Any:
        if self.builder is None:
            return self.fallback(expression, self.reason or "no inputs")
        try:
            value = self.builder.do_eval(expression, *args, **kwargs)
        except Exception as err:
            return self.fallback(expression, _summary(err))
        if value is None or (isinstance(value, (int, float)) and not isinstance(value, bool)):
            return value
        try:
            return _number(float(value))
        except (TypeError, ValueError):
            return self.fallback(expression, f"it evaluates to {value!r}, not a number")


def _number(value: float) -> float:
    """``2.0`` → ``2``: cwltool refuses float results before v1.2, and tables read better."""
    return int(value) if float(value).is_integer() else float(value)


def _summary(err: BaseException) -> str:
    """The last line of an error: cwltool puts the source position first, the cause last."""
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[-1].strip()}" if text else type(err).__name__


def _probe_context() -> RuntimeContext:
    """A RuntimeContext that binds inputs without creating directories.

    ``select_resources`` is cwltool's hook for choosing the final numbers; returning the
    request unchanged makes ``evalResources`` report Min *and* Max.
    """
    context = RuntimeContext()
    context.outdir, context.tmpdir, context.stagedir = "/out", "/tmp", "/stage"
    context.select_resources = lambda request, _context: dict(request)
    return context


def _evaluate(
    tool: Process, binding: Binding | None, reason: str | None, options: SizingOptions
) -> ToolRequest:
    """The request of one invocation of ``tool`` with inputs ``binding``.

    ``binding`` None means the request does not depend on inputs (or they are not known);
    ``reason`` then says why expressions fall back. UNKNOWN values in ``binding`` make
    expressions fall back as well: the inputs cannot be bound without them.
    """
    requirement, _ = tool.get_requirement("ResourceRequirement")
    fields: dict[str, str] = {}
    for name, value in (requirement or {}).items():
        if needs_parsing(value):
            fields.setdefault(value, name)
    context = _probe_context()
    builder = None
    if fields and binding is not None:
        inputs = {shortname(i["id"]) for i in tool.tool["inputs"]}
        job = {k: v for k, v in binding.items() if k in inputs}
        unknown = sorted(k for k, v in job.items() if v is UNKNOWN)
        if unknown:
            reason = f"inputs known only at run time: {', '.join(unknown)}"
        else:
            try:
                builder = tool._init_job(job, context)
            except Exception as err:
                # _init_job validates the inputs and evaluates the resources itself
                reason = _summary(err)
    evaluator = _Evaluator(builder, reason, fields, options)
    try:
        request = tool.evalResources(cast(Any, evaluator), context)
    except Exception as err:  # e.g. a float from an expression in a v1.0 document
        evaluator = _Evaluator(None, _summary(err), fields, options)
        request = tool.evalResources(cast(Any, evaluator), context)
    notes = list(evaluator.notes)
    cores_min, cores_max = float(request["coresMin"]), float(request["coresMax"])
    ram_min, ram_max = float(request["ramMin"]), float(request["ramMax"])
    if cores_min > cores_max or ram_min > ram_max:
        notes.append("a Min exceeds its Max (invalid CWL); cwltool and cwl-dask request the Min")
    return ToolRequest(cores_min, cores_max, ram_min, ram_max, tuple(notes))


def resource_request(
    tool: Process, job_order: Mapping[str, Any] | None = None, options: SizingOptions | None = None
) -> ToolRequest:
    """The request of ``tool`` for one invocation with ``job_order`` (None: not known).

    Static requirements need no job order; expressions are evaluated when it is given,
    and otherwise replaced by ``options``' fallbacks, with a note in the result.
    """
    options = options or SizingOptions()
    binding = None if job_order is None else dict(job_order)
    return _evaluate(tool, binding, "no job order" if binding is None else None, options)


# ------------------------------------------------------------------------ the walk


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
        dynamic = any(needs_parsing(v) for v in (requirement or {}).values())
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


def _with_defaults(process: Process, binding: Binding) -> Binding:
    """Missing or null inputs take their ``default``, as cwltool's ``fill_in_defaults``."""
    result = dict(binding)
    for inp in process.tool["inputs"]:
        name = shortname(inp["id"])
        if result.get(name) is None and "default" in inp:
            result[name] = inp["default"]
    return result


def _step_input(inp: Mapping[str, Any], parent: Binding, input_ids: set[str]) -> Any:
    """A step input's value before ``valueFrom``, as cwltool's ``object_from_state``.

    Workflow inputs are known (from the parent invocation); other steps' outputs are not.
    """
    sources = aslist(inp.get("source", []))
    value: Any = None
    if sources:
        values = [parent.get(shortname(s)) if s in input_ids else UNKNOWN for s in sources]
        link_merge = inp.get("linkMerge", "merge_nested" if len(sources) > 1 else None)
        if any(v is UNKNOWN for v in values):
            return UNKNOWN
        if link_merge is None:
            value = values[0]
        elif link_merge == "merge_flattened":
            value = [x for v in values for x in (v if isinstance(v, list) else [v])]
        else:
            value = values
        if isinstance(value, list) and "pickValue" in inp:
            present = [v for v in value if v is not None]
            value = present if inp["pickValue"] == "all_non_null" else next(iter(present), None)
    if value is None and "default" in inp:
        value = inp["default"]
    return value


def _combinations(
    arrays: list[list[Any]], method: str, names: list[str], notes: list[str]
) -> Iterable[tuple[Any, ...]]:
    """The scatter's invocations: zipped for dotproduct, the product for crossproducts."""
    if method in ("flat_crossproduct", "nested_crossproduct"):
        return itertools.product(*arrays)
    lengths = {len(a) for a in arrays}
    if len(lengths) > 1:
        notes.append(
            f"dotproduct over {', '.join(names)} with unequal lengths {sorted(lengths)} "
            "(cwltool will refuse it); the longest is counted"
        )
        return itertools.zip_longest(*arrays)
    return zip(*arrays, strict=True)


def _waves(steps: list[WorkflowStep]) -> list[list[WorkflowStep]]:
    """Steps grouped by their depth in the step graph (longest chain of inputs before them).

    Steps of one wave do not depend on each other and can run at the same time.
    """
    ids = {step.id for step in steps}
    depends = {
        step.id: {
            src.rsplit("/", 1)[0]
            for inp in step.tool["inputs"]
            for src in aslist(inp.get("source", []))
            if src.rsplit("/", 1)[0] in ids
        }
        for step in steps
    }
    depth: dict[str, int] = {}

    def level(step_id: str, seen: frozenset[str] = frozenset()) -> int:
        if step_id not in depth:
            parents = depends[step_id] - seen - {step_id}
            depth[step_id] = 1 + max((level(p, seen | {step_id}) for p in parents), default=-1)
        return depth[step_id]

    for step in steps:
        level(step.id)
    waves: list[list[WorkflowStep]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    for step in steps:
        waves[depth[step.id]].append(step)
    return waves


# ---------------------------------------------------------------------- the plan


def plan(
    process: Process,
    job_order: Mapping[str, Any] | None = None,
    options: SizingOptions | None = None,
) -> Plan:
    """Size a cluster for ``process`` run with ``job_order`` (None: not known yet).

    Worker size: the largest ``coresMin`` and the largest ``ceil(ramMin)`` over every
    invocation (what the executor will ask Dask for), capped by the backend limits in
    ``options``. Invocations of steps that a job order makes empty are not counted.

    ``max_workers`` is the widest parallelism, measured in workers: the steps of a workflow
    are grouped into waves by dependency depth (steps of one wave are independent and run
    at the same time); a wave's load is the sum of its steps' loads; a tool step's load is
    its width times the share of a worker each invocation takes (1/k when k such
    invocations fit one worker, so small tasks pack onto a worker sized for a big one); a
    subworkflow step's load is the load of its widest wave, over all its invocations. The
    result is the widest top-level wave, rounded up. It is an estimate, not a bound:
    cwltool starts a step as soon as its own inputs are ready, so steps of neighbouring
    waves can overlap in an unbalanced graph; widths unknown up front count as
    ``options.default_width``.
    """
    options = options or SizingOptions()
    job_known = job_order is not None
    root: Binding
    if job_order is None:
        root = {shortname(i["id"]): UNKNOWN for i in process.tool["inputs"]}
    else:
        root = dict(job_order)
    walker = _Walker(options, job_known)
    tree = walker.process(process, "", [(root, 1)])
    notes = list(walker.notes)
    if not job_known and any("no job order" in n for row in walker.rows for n in row.notes):
        notes.append(
            "no job order: scatter widths and resource expressions are assumed "
            f"(width {options.default_width}, {_fmt(options.fallback_cores)} cores, "
            f"{_fmt(options.fallback_ram_mib)} MiB)"
        )
    running = [
        (row, request)
        for row in walker.rows
        if row.tool.tool.get("class") in SIZED_CLASSES
        for request, count in row.instances
        if count > 0
    ]
    cores = max((r.cores for _, r in running), default=1.0)
    ram = max((r.ram_mib for _, r in running), default=256)
    cores, ram = _capped(cores, ram, running, options, notes)
    peak = _load(tree, cores, ram)
    max_workers = max(1, math.ceil(peak))
    if options.max_workers is not None and max_workers > options.max_workers:
        notes.append(
            f"the workflow could use {max_workers} workers; the backend allows "
            f"{options.max_workers}"
        )
        max_workers = max(1, options.max_workers)
    spec = ClusterSpec(_number(cores), math.ceil(ram), 1, max_workers)
    return Plan(spec, tuple(_step_request(row) for row in walker.rows), tuple(notes))


def _capped(
    cores: float,
    ram: float,
    running: list[tuple[_Row, ToolRequest]],
    options: SizingOptions,
    notes: list[str],
) -> tuple[float, float]:
    """The worker size within the backend's limits, noting each step that asks for more."""
    limits = (
        ("cores", options.max_worker_cores, lambda r: r.cores, "cores"),
        ("ram", options.max_worker_memory_mib, lambda r: r.ram_mib, "MiB"),
    )
    for name, limit, amount, unit in limits:
        if limit is None:
            continue
        over = sorted({row.path for row, r in running if amount(r) > limit})
        if over:
            notes.append(
                f"{', '.join(over)} ask(s) for more {name} than a worker can have "
                f"({_fmt(limit)} {unit}); the worker is capped"
            )
    if options.max_worker_cores is not None:
        cores = min(cores, options.max_worker_cores)
    if options.max_worker_memory_mib is not None:
        ram = min(ram, options.max_worker_memory_mib)
    return cores, ram


def _share(request: ToolRequest, cores: float, ram: float) -> Fraction:
    """The share of a ``cores``/``ram`` worker one invocation takes: 1/k if k fit."""
    fits = min(
        math.floor(Fraction(cores) / Fraction(request.cores)) if request.cores > 0 else 1 << 30,
        math.floor(Fraction(ram) / Fraction(request.ram_mib)) if request.ram_mib > 0 else 1 << 30,
    )
    return Fraction(1, max(1, fits))


def _load(node: _Node, cores: float, ram: float) -> Fraction:
    if isinstance(node, _ToolNode):
        return sum(
            (count * _share(request, cores, ram) for request, count in node.row.instances),
            Fraction(0),
        )
    return max(
        (sum((_load(n, cores, ram) for n in wave), Fraction(0)) for wave in node.waves),
        default=Fraction(0),
    )


def _step_request(row: _Row) -> StepRequest:
    requests = [r for r, _ in row.instances] or [ToolRequest(0, 0, 0, 0)]
    return StepRequest(
        step=row.path,
        tool=_tool_name(row.tool),
        cores=_number(max(r.cores for r in requests)),
        ram_mib=max(r.ram_mib for r in requests),
        cores_max=_number(max(r.cores_max for r in requests)),
        ram_max_mib=max(math.ceil(r.ram_max_mib) for r in requests),
        width=row.width,
        notes=tuple(row.notes),
        dask_cluster=row.dask_cluster,
    )


# ---------------------------------------------------------------------- the table


def _fmt(value: float) -> str:
    return f"{value:g}"


def format_plan(result: Plan) -> str:
    """The plan as a table of steps followed by the cluster spec and the notes."""
    header = ("step", "tool", "cores", "ram MiB", "width")
    rows = [
        (
            s.step,
            s.tool,
            _fmt(s.cores) if s.cores_max == s.cores else f"{_fmt(s.cores)}-{_fmt(s.cores_max)}",
            str(s.ram_mib) if s.ram_max_mib == s.ram_mib else f"{s.ram_mib}-{s.ram_max_mib}",
            str(s.width),
        )
        for s in result.steps
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(r, widths, strict=True)).rstrip()
        for r in [header, *rows]
    ]
    for step in result.steps:
        lines.extend(f"  {step.step}: {note}" for note in step.notes)
        if step.dask_cluster is not None:
            cluster = stepclusters.StepCluster(
                **{k: v for k, v in step.dask_cluster.items() if k != "workers"}
            )
            lines.append(
                f"  {step.step}: own Dask cluster (DaskGatewayRequirement): {cluster.describe()}"
            )
    spec = result.spec
    lines += [
        "",
        f"worker: {_fmt(spec.worker_cores)} core{'' if spec.worker_cores == 1 else 's'}, "
        f"{spec.worker_memory_mib} MiB",
        f"workers: min {spec.min_workers}, max {spec.max_workers}",
    ]
    lines.extend(f"note: {note}" for note in result.notes)
    return "\n".join(lines)
