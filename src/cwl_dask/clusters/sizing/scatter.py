"""How a workflow's invocations multiply: step inputs, scatter combinations, waves.

Pure functions over a workflow's step graph and the known input values of one invocation,
used by the walk (:mod:`cwl_dask.clusters.sizing.walk`) to count scatter widths exactly and
to group steps that can run at the same time; they mirror cwltool's own rules
(``object_from_state``, ``fill_in_defaults``, the scatter methods).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from typing import Any

from cwltool.process import Process, shortname
from cwltool.utils import aslist
from cwltool.workflow import WorkflowStep

from cwl_dask.clusters.sizing.model import UNKNOWN, Binding


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
