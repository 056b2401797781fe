"""The Application Package as a dict: its entry process, its inputs and their CWL types."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

_SCALARS = {"string", "int", "long", "float", "double", "boolean", "File", "Directory", "Any"}


def load_package(path: str | Path) -> dict[str, Any]:
    """Read an Application Package file as a dict, with ``$include`` entries inlined.

    ZOO hands the runner the parsed document, not its path; a package that includes files
    relative to itself must be made self-contained first (ZOO's deploy does the same).
    """
    import yaml

    path = Path(path).resolve()
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    return _inline(document, path.parent)


def _inline(value: Any, base: Path) -> Any:
    if isinstance(value, dict):
        if set(value) == {"$include"}:
            return (base / value["$include"]).read_text(encoding="utf-8")
        return {k: _inline(v, base) for k, v in value.items()}
    if isinstance(value, list):
        return [_inline(v, base) for v in value]
    return value


def entry_process(cwl: dict[str, Any], workflow_id: str) -> dict[str, Any]:
    """The process ``#workflow_id`` of a ``$graph``, or the document itself."""
    graph = cwl.get("$graph")
    if graph is None:
        return cwl
    for process in graph:
        if str(process.get("id", "")).split("#")[-1] == workflow_id:
            return process
    ids = ", ".join(str(p.get("id", "?")).split("#")[-1] for p in graph)
    raise ValueError(f"the Application Package has no process {workflow_id!r} (it has: {ids})")


@dataclass(frozen=True)
class InputType:
    """A CWL input type reduced to what the ZOO conversion needs."""

    base: str  # File, Directory, string, int, ..., URI (the eoap URI record), other
    array: bool
    optional: bool
    has_default: bool

    @property
    def mandatory(self) -> bool:
        return not self.optional and not self.has_default


def _is_uri(name: str) -> bool:
    return name.endswith(("#URI", ":URI")) or name == "URI"


def _reduce(t: Any) -> tuple[str, bool, bool]:
    """(base, array, optional) of a CWL type expression."""
    if isinstance(t, list):
        rest = [x for x in t if x != "null"]
        optional = len(rest) < len(t)
        if len(rest) == 1:
            base, array, inner_opt = _reduce(rest[0])
            return base, array, optional or inner_opt
        return "other", False, optional
    if isinstance(t, dict):
        if t.get("type") == "array":
            base, _, _ = _reduce(t.get("items"))
            return base, True, False
        if t.get("type") == "enum":
            return "string", False, False
        if "$import" in t and _is_uri(str(t["$import"])):
            return "URI", False, False
        return "other", False, False
    name = str(t)
    optional = name.endswith("?")
    name = name.rstrip("?")
    array = name.endswith("[]")
    name = name.removesuffix("[]")
    if _is_uri(name):
        return "URI", array, optional
    return (name if name in _SCALARS else "other"), array, optional


def input_types(process: dict[str, Any]) -> dict[str, InputType]:
    """The process's inputs (list or map form), by short id."""
    inputs = process.get("inputs", {})
    if isinstance(inputs, dict):
        items = [
            {"id": k, **(v if isinstance(v, dict) and "type" in v else {"type": v})}
            for k, v in inputs.items()
        ]
    else:
        items = list(inputs)
    types = {}
    for item in items:
        name = str(item["id"]).split("#")[-1].split("/")[-1]
        base, array, optional = _reduce(item.get("type"))
        types[name] = InputType(base, array, optional, "default" in item)
    return types


def with_environment(cwl: dict[str, Any], workflow_id: str, env: dict[str, str]) -> dict[str, Any]:
    """A copy of the package whose entry process requires ``env`` (EnvVarRequirement).

    Steps inherit it; a tool's own EnvVarRequirement is more specific and wins (CWL's rule).
    Variables the entry process already defines are kept unless ``env`` redefines them.
    """
    import copy

    cwl = copy.deepcopy(cwl)
    process = entry_process(cwl, workflow_id)
    definitions = {
        str(k): str(v).replace("$(", "\\$(").replace("${", "\\${") for k, v in env.items()
    }
    requirements = process.get("requirements") or []
    if isinstance(requirements, dict):
        requirements = [{"class": k, **(v or {})} for k, v in requirements.items()]
    kept = []
    for requirement in requirements:
        if requirement.get("class") == "EnvVarRequirement":
            env_def = requirement.get("envDef", [])
            if isinstance(env_def, dict):
                env_def = [{"envName": k, "envValue": v} for k, v in env_def.items()]
            existing = {d["envName"]: d["envValue"] for d in env_def}
            definitions = {**existing, **definitions}
        else:
            kept.append(requirement)
    envdef = [{"envName": k, "envValue": v} for k, v in definitions.items()]
    process["requirements"] = [*kept, {"class": "EnvVarRequirement", "envDef": envdef}]
    return cwl
