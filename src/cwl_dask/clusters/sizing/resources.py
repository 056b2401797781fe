"""One tool's ``ResourceRequirement`` for one invocation, as cwltool evaluates it.

The only place sizing evaluates CWL expressions: cwltool's ``Process.evalResources`` does
the work (defaults, list/map forms, Min/Max rules), with a stand-in builder that replaces an
expression it cannot evaluate up front by the configured fallback and says why.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, cast

from cwl_utils.expression import needs_parsing
from cwltool.context import RuntimeContext
from cwltool.process import Process, shortname
from cwltool.update import INTERNAL_VERSION

from cwl_dask.clusters.placement import labels_of
from cwl_dask.clusters.sizing.model import (
    UNKNOWN,
    Binding,
    SizingOptions,
    ToolRequest,
    _number,
)

_CORE_FIELDS = ("coresMin", "coresMax")
_RAM_FIELDS = ("ramMin", "ramMax")
_GPU_FIELDS = ("cudaDeviceCountMin", "cudaDeviceCountMax")
#: cwltool's extension for GPU steps; ``evalResources`` evaluates its device counts.
CUDA_REQUIREMENT = "http://commonwl.org/cwltool#CUDARequirement"


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
        elif name in _GPU_FIELDS:
            value, unit = 1, "GPUs"
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
    cuda, _ = tool.get_requirement(CUDA_REQUIREMENT)
    fields: dict[str, str] = {}
    for name, value in [*(requirement or {}).items(), *(cuda or {}).items()]:
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
    gpus = math.ceil(float(request.get("cudaDeviceCountMin", 0)))
    return ToolRequest(cores_min, cores_max, ram_min, ram_max, tuple(notes), gpus, labels_of(tool))


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
