"""OGC Best Practice for EO Application Packages (OGC 20-089r1): the rules a package can break
and still run — reported as warnings by ``cwl-dask validate --app-package``.

Why: a package that runs with cwl-dask or cwltool may still be refused, or behave
differently, on an EO platform (ZOO-Project-DRU, ADES): the platform picks the entry
Workflow, stages ``Directory`` inputs in from STAC references, stages the output
``catalog.json`` out, reads the version from ``s:softwareVersion`` and sizes pods from
``ResourceRequirement``. Warnings at validation time, each with the rule's text, tell the
author what a platform will expect — cwl-dask never refuses to run because of them.

Each rule is one small function taking the :class:`Package` and yielding
:class:`Finding` s; :data:`RULES` lists them with their text. Rule texts follow OGC 20-089r1
(as quoted in ../shared/research/eoap-conventions.md); where the Best Practice states a
requirement as prose, the text says so. Checks look at the loaded document (cwltool's
resolved processes, requirements inherited from workflows included), never at data.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from cwltool.process import Process, shortname
from cwltool.workflow import Workflow

from cwl_dask.documents.imports import ImportCache
from cwl_dask.documents.loading import _graph_processes, load_process, resolve_entry

SOURCE = "OGC 20-089r1 Best Practice for Earth Observation Application Package"
SCHEMA_ORG = ("https://schema.org/", "http://schema.org/")

#: Input names that usually carry an EO product reference (a STAC item/catalog URL). Only
#: used to phrase a warning about ``string``/URI inputs; a wrong guess costs one warning.
_PRODUCT_NAMES = re.compile(
    r"(^|[_-])(stac|items?|products?|scenes?|catalogs?|references?|input_ref|inputs?_reference)s?($|[_-])",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Finding:
    """One place where the package departs from a rule."""

    where: str  # "#main", "#main/stac_items", "#ndvi"
    message: str


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    text: str  # the Best Practice's wording (or a faithful summary, said as such)
    check: Callable[[Package], Iterable[Finding]]


@dataclass(frozen=True)
class Violation:
    rule: Rule
    finding: Finding

    def to_json(self) -> dict[str, str]:
        return {
            "rule": self.rule.id,
            "title": self.rule.title,
            "where": self.finding.where,
            "message": self.finding.message,
            "text": self.rule.text,
            "source": SOURCE,
        }


@dataclass
class Package:
    """What the rules look at: the document's processes and the entry process, loaded."""

    graph: dict[str, str]  # {id: class} of every process of the document, in order
    entry: Process
    entry_id: str
    entry_reason: str  # how it was chosen: "#main", "first Workflow", "given", "document"
    processes: list[Process] = field(default_factory=list)  # reachable from the entry

    @property
    def tools(self) -> list[Process]:
        return [p for p in self.processes if p.tool.get("class") == "CommandLineTool"]


# --------------------------------------------------------------------------- helpers


def _name(process: Process) -> str:
    return "#" + shortname(str(process.tool.get("id", "")))


def _leaf_types(value: Any) -> Iterator[str]:
    """Every named type of a (normalised) CWL type: unions and arrays unpacked."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for member in value:
            yield from _leaf_types(member)
    elif isinstance(value, dict):
        kind = value.get("type")
        if kind == "array":
            yield from _leaf_types(value.get("items"))
        elif kind in ("record", "enum"):
            yield str(value.get("name", kind))
        elif kind is not None:
            yield from _leaf_types(kind)


def _types(parameter: dict[str, Any]) -> set[str]:
    return {t.rpartition("#")[2] if "#" in t else t for t in _leaf_types(parameter.get("type"))}


def _type_text(parameter: dict[str, Any]) -> str:
    value = parameter.get("type")
    if isinstance(value, dict) and value.get("type") == "array":
        return f"{'/'.join(sorted(_types({'type': value.get('items')})))}[]"
    names = sorted(_types(parameter) - {"null"})
    optional = "?" if "null" in _types(parameter) else ""
    return "/".join(names) + optional


def schema_org_annotation(process: Process, key: str) -> Any:
    """A schema.org annotation of the process, else of the document.

    In the process it is expanded (``https://schema.org/softwareVersion``); at the top of a
    ``$graph`` document cwltool keeps the prefixed key (``s:softwareVersion``).
    """
    namespaces = process.metadata.get("$namespaces") or {}
    prefixes = [f"{p}:" for p, uri in namespaces.items() if uri in SCHEMA_ORG]
    for holder in (process.tool, process.metadata):
        for name in [*SCHEMA_ORG, *prefixes]:
            if name + key in holder:
                return holder[name + key]
    return None


# --------------------------------------------------------------------------- rules


def check_workflow_and_tools(package: Package) -> Iterator[Finding]:
    classes = set(package.graph.values())
    if "Workflow" not in classes:
        yield Finding("document", "the document has no Workflow (a lone tool is not a package)")
    if "CommandLineTool" not in classes:
        yield Finding("document", "the document has no CommandLineTool")


def check_entry_point(package: Package) -> Iterator[Finding]:
    if package.entry.tool.get("class") != "Workflow":
        yield Finding(
            f"#{package.entry_id}",
            f"the entry process is a {package.entry.tool.get('class')}, not a Workflow",
        )
        return
    if package.entry_reason != "first Workflow":
        return
    workflows = [i for i, cls in package.graph.items() if cls == "Workflow"]
    nested = {
        shortname(str(p.tool.get("id", "")))
        for p in package.processes
        if p is not package.entry and isinstance(p, Workflow)
    }
    top = [w for w in workflows if w not in nested]
    if len(top) > 1:
        yield Finding(
            f"#{package.entry_id}",
            f"no #main and {len(top)} Workflows that are not sub-workflows ("
            + ", ".join(f"#{w}" for w in top)
            + f"): platforms take the first, #{package.entry_id}; name the entry 'main' "
            "or pass the process id to the platform",
        )


def check_directory_inputs(package: Package) -> Iterator[Finding]:
    for parameter in package.entry.tool.get("inputs", []):
        types = _types(parameter)
        name = shortname(parameter["id"])
        where = f"#{package.entry_id}/{name}"
        if "Directory" in types:
            continue
        if "File" in types:
            yield Finding(
                where,
                f"input '{name}' is {_type_text(parameter)}: if it carries EO products to stage "
                "in, the Best Practice asks for Directory (a folder with a STAC catalog.json)",
            )
        elif types & {"string", "URI"} and _PRODUCT_NAMES.search(name):
            yield Finding(
                where,
                f"input '{name}' is {_type_text(parameter)} and looks like a product reference: "
                "the app reads it remotely, without stage-in; staged EO products are Directory",
            )


def check_stac_outputs(package: Package) -> Iterator[Finding]:
    outputs = package.entry.tool.get("outputs", [])
    if not any("Directory" in _types(o) for o in outputs):
        listed = ", ".join(f"{shortname(o['id'])}: {_type_text(o)}" for o in outputs) or "none"
        yield Finding(
            f"#{package.entry_id}",
            f"no Directory output (outputs: {listed}): results cannot be staged out as a "
            "STAC catalog.json",
        )


def check_software_version(package: Package) -> Iterator[Finding]:
    if schema_org_annotation(package.entry, "softwareVersion") is None:
        yield Finding(
            f"#{package.entry_id}",
            "no s:softwareVersion (with $namespaces s: https://schema.org/); platforms "
            "publish the process version from it ('unknown' otherwise)",
        )


def check_workflow_metadata(package: Package) -> Iterator[Finding]:
    entry = package.entry
    missing = [key for key in ("label", "doc") if not entry.tool.get(key)]
    if missing:
        yield Finding(f"#{package.entry_id}", f"the entry has no {' and no '.join(missing)}")
    for parameter in entry.tool.get("inputs", []):
        lacks = [key for key in ("label", "doc") if not parameter.get(key)]
        if lacks:
            name = shortname(parameter["id"])
            yield Finding(
                f"#{package.entry_id}/{name}", f"input '{name}' has no {' and no '.join(lacks)}"
            )


def check_resource_requirement(package: Package) -> Iterator[Finding]:
    for tool in package.tools:
        requirement, _ = tool.get_requirement("ResourceRequirement")
        if not requirement:
            yield Finding(
                _name(tool),
                "no ResourceRequirement (own or inherited): the platform cannot size the "
                "tool's pod or worker and uses its defaults",
            )


def check_docker_requirement(package: Package) -> Iterator[Finding]:
    for tool in package.tools:
        requirement, _ = tool.get_requirement("DockerRequirement")
        if not requirement:
            yield Finding(_name(tool), "no DockerRequirement (requirements or hints)")


RULES: tuple[Rule, ...] = (
    Rule(
        "workflow-and-tools",
        "Workflow and CommandLineTools",
        "The Application Package SHALL be a valid CWL document with a 'Workflow' class and one "
        "or more 'CommandLineTool' classes.",
        check_workflow_and_tools,
    ),
    Rule(
        "entry-point",
        "Identifiable entry Workflow",
        "The platform deploys the Workflow named by the process identifier (the 'id' of the "
        "Workflow class); the wrapped orchestrator is '#main'. (Summary of the Best Practice's "
        "deployment section; ZOO-Project takes the first Workflow when none is named.)",
        check_entry_point,
    ),
    Rule(
        "directory-inputs",
        "Directory for staged inputs",
        "All input parameters of the CWL Workflow and CommandLineTool that require the staging "
        "of EO products SHALL be of type 'Directory'. An Application input argument that "
        "requires staged EO product files SHALL be defined as an argument that points to a "
        "folder where a STAC Catalog, named catalog.json, contains a list of one or more STAC "
        "Items and associated STAC Assets referencing the files.",
        check_directory_inputs,
    ),
    Rule(
        "stac-outputs",
        "STAC catalog.json outputs",
        "An Application that creates EO product files to be staged out SHALL generate a valid "
        "STAC Catalog, named catalog.json, and include the STAC Item(s) and corresponding STAC "
        "Assets pointing to the results; the CommandLineTool output to stage out SHALL "
        "retrieve all the files produced in the working directory (a 'Directory' output).",
        check_stac_outputs,
    ),
    Rule(
        "software-version",
        "s:softwareVersion",
        "The Application Package SHALL provide its version with the schema.org property "
        "'s:softwareVersion' (namespace s: https://schema.org/).",
        check_software_version,
    ),
    Rule(
        "workflow-metadata",
        "Workflow and input descriptions",
        "The Workflow class SHALL have an 'id', a 'label' and a 'doc'; each Workflow input "
        "parameter SHALL have an 'id', a 'label' and a 'doc'.",
        check_workflow_metadata,
    ),
    Rule(
        "resource-requirement",
        "ResourceRequirement on CommandLineTools",
        "The Application Package SHALL define the requirements for the runtime environment of "
        "each CommandLineTool: its computing resources with 'ResourceRequirement' "
        "(coresMin/coresMax, ramMin/ramMax). (Summary of the Best Practice's runtime "
        "requirements.)",
        check_resource_requirement,
    ),
    Rule(
        "docker-requirement",
        "DockerRequirement on CommandLineTools",
        "The Application Package SHALL explicitly provide, for each CommandLineTool, the "
        "container requirements defining the container image needed ('DockerRequirement').",
        check_docker_requirement,
    ),
)


def check(package: Package, rules: Iterable[Rule] = RULES) -> list[Violation]:
    """Every rule's findings, in rule order."""
    return [Violation(rule, finding) for rule in rules for finding in rule.check(package)]


# --------------------------------------------------------------------------- loading


def reachable(entry: Process) -> list[Process]:
    """The entry and every process its steps run, depth first, each once."""
    found: list[Process] = []
    seen: set[int] = set()

    def visit(process: Process) -> None:
        if id(process) in seen:
            return
        seen.add(id(process))
        found.append(process)
        if isinstance(process, Workflow):
            for step in process.steps:
                visit(step.embedded_tool)

    visit(entry)
    return found


def load_package(
    reference: str,
    *,
    entry: str | None = None,
    relax_path_checks: bool = False,
    imports: ImportCache | None = None,
) -> Package:
    """Load a package's entry process as ``cwl-dask run`` would choose it, for the rules."""
    path, _, fragment = reference.partition("#")
    graph = _graph_processes(path)
    resolved = resolve_entry(reference, entry)
    chosen = resolved.partition("#")[2]
    if fragment or entry:
        reason = "given"
    elif graph and "main" in graph:
        reason, chosen = "#main", "main"
    elif chosen:
        reason = "first Workflow"
    else:
        reason = "document"
    process = load_process(resolved, relax_path_checks=relax_path_checks, imports=imports)
    entry_id = chosen or shortname(str(process.tool.get("id", ""))) or "main"
    processes = reachable(process)
    if graph is None:  # not a $graph: the processes are the entry and what it runs
        graph = {}
        for each in processes:
            graph.setdefault(shortname(str(each.tool.get("id", ""))), str(each.tool["class"]))
    return Package(graph, process, entry_id, reason, processes)


def describe_warnings(warnings: list[Violation]) -> str:
    """The text ``cwl-dask validate --app-package`` prints."""
    if not warnings:
        return f"{SOURCE}: no warnings ({len(RULES)} rules checked)"
    lines = [f"{SOURCE}: {len(warnings)} warning{'s' if len(warnings) > 1 else ''}"]
    for warning in warnings:
        lines.append(f"  [{warning.rule.id}] {warning.finding.where}: {warning.finding.message}")
        lines.append(f"      rule: {warning.rule.text}")
    return "\n".join(lines)
