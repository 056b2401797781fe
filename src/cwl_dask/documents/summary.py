"""A one-screen description of a loaded CWL process, for ``cwl-dask validate``."""

from __future__ import annotations

from typing import Any

from cwltool.process import Process, shortname
from cwltool.update import ORIGINAL_CWLVERSION
from cwltool.utils import aslist
from cwltool.workflow import Workflow


def _classes(entries: list[Any]) -> str:
    names = sorted({shortname(str(e["class"])) for e in entries if "class" in e})
    return ", ".join(names) or "-"


def _resources(process: Process) -> str:
    req, _ = process.get_requirement("ResourceRequirement")
    if not req:
        return ""
    fields = ("coresMin", "coresMax", "ramMin", "ramMax")
    return " ".join(f"{f}={req[f]}" for f in fields if f in req)


def _lines(process: Process, indent: str, seen: set[int]) -> list[str]:
    kind = process.tool["class"]
    ident = shortname(str(process.tool.get("id", "")))
    lines = [f"{indent}{kind} {ident}".rstrip()]
    own = process.tool.get("requirements", [])
    hints = process.tool.get("hints", [])
    if own:
        lines.append(f"{indent}  requirements: {_classes(own)}")
    if hints:
        lines.append(f"{indent}  hints: {_classes(hints)}")
    resources = _resources(process)
    if resources and kind != "Workflow":
        lines.append(f"{indent}  resources: {resources}")
    if isinstance(process, Workflow) and id(process) not in seen:
        seen.add(id(process))
        lines.append(f"{indent}  steps:")
        for step in sorted(process.steps, key=_document_order):
            scatter = [shortname(s) for s in aslist(step.tool.get("scatter", []))]
            details = []
            if scatter:
                method = step.tool.get("scatterMethod", "dotproduct")
                details.append(f"scatter over {', '.join(scatter)} ({method})")
            if "when" in step.tool:
                details.append("conditional")
            suffix = f"  [{'; '.join(details)}]" if details else ""
            lines.append(f"{indent}  - {shortname(step.id)}{suffix}")
            lines.extend(_lines(step.embedded_tool, indent + "      ", seen))
    return lines


def _document_order(step: Any) -> tuple[int, str]:
    """Steps as the document lists them: cwltool's order of ``Workflow.steps`` varies
    between runs (the loader's maps), the line of each step does not."""
    lc = getattr(step.tool, "lc", None)
    line = lc.line if lc is not None and lc.line is not None else 1 << 30
    return line, str(step.id)


def describe(process: Process) -> str:
    """Processes, steps, scatter and requirements, indented by nesting."""
    inputs = ", ".join(shortname(i["id"]) for i in process.tool.get("inputs", []))
    outputs = ", ".join(shortname(o["id"]) for o in process.tool.get("outputs", []))
    version = process.metadata.get(ORIGINAL_CWLVERSION, "?")
    header = [
        f"valid CWL ({version}): {process.tool.get('id', '')}",
        f"inputs: {inputs or '-'}",
        f"outputs: {outputs or '-'}",
    ]
    return "\n".join(header + _lines(process, "", set()))
