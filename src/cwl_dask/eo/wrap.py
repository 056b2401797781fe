"""Stage-in/stage-out wrapping of an Application Package, as EO platforms do it.

Why: platforms do not run an app package as written. They generate a ``#main`` Workflow
around its entry Workflow — stage-in steps turning each ``Directory`` input into a STAC
reference (``URI`` record), the app, stage-out steps publishing each ``Directory``
output and returning its URI — and run that (OGC 20-089r1; ZOO-Project's runners do it
with ``eoap-cwlwrap``). ``cwl-dask wrap`` / ``run --wrap`` do the same with the same
library, so a package behaves here as it will on the platform.

What is ours: loading (``cwl_loader``, as the ZOO runners), the default staging tools
(``cwl_dask/eo/staging``), the choice of their interpreter, and making the result runnable
without network: the eoap ``string_format.yaml#URI`` type that eoap-cwlwrap ``$import``s
from GitHub is written inline under its canonical name instead.

The staging tools and process loading live in :mod:`cwl_dask.eo.staging_tools`, the
wrapped document's ``#main``, URI inputs and job order in :mod:`cwl_dask.eo.wrapped_job`;
their public names are re-exported here, where callers import them from.
"""

from __future__ import annotations

import copy
import io
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from cwl_dask.eo.staging_tools import (
    DEFAULT_PYTHON,
    EOAP_STRING_FORMAT,
    STAGE_OUT_TARGET,
    STAGING_ENVIRONMENT,
    URI_TYPE,
    default_staging_tool,
    load_processes,
    load_staging_document,
    pick_process,
    short_id,
    staging_tool,
    string_format_types,
)
from cwl_dask.eo.wrapped_job import main_process, normalise_uri_value, uri_inputs, wrapped_job
from cwl_dask.errors import InvalidInputError

__all__ = [
    "DEFAULT_PYTHON",
    "EOAP_STRING_FORMAT",
    "STAGE_OUT_TARGET",
    "STAGING_ENVIRONMENT",
    "URI_TYPE",
    "default_staging_tool",
    "load_staging_document",
    "main_process",
    "normalise_uri_value",
    "string_format_types",
    "uri_inputs",
    "wrap_package",
    "wrapped_job",
    "write_wrapped",
]


def _quiet_loguru() -> None:
    """eoap-cwlwrap and cwl_loader log every step at DEBUG/INFO through loguru."""
    from loguru import logger

    for name in ("eoap_cwlwrap", "cwl_loader"):
        logger.disable(name)


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.width = 4096
    return yaml


def wrap_package(
    package: str,
    entry: str | None = None,
    stage_in: str | None = None,
    stage_out: str | None = None,
    python: str = DEFAULT_PYTHON,
    stage_in_file: str | None = None,
    stage_out_file: str | None = None,
) -> dict[str, Any]:
    """The packed ``$graph`` document: ``#main`` = stage-in → app entry → stage-out.

    ``package`` is a path or URL (``path#id`` or ``entry`` picks the entry, else the rule
    of :func:`cwl_dask.documents.loading.resolve_entry`). ``stage_in``/``stage_out`` stage
    ``Directory`` parameters, ``stage_in_file``/``stage_out_file`` ``File`` ones: CWL
    documents following eoap-cwlwrap's contract (``path#id`` for one process of a
    ``$graph``); by default cwl-dask's own tools, run with ``python``.
    """
    from eoap_cwlwrap import wrap
    from transpiler_mate.api import PluginFailureError

    from cwl_dask.documents.loading import resolve_entry

    _quiet_loguru()
    entry_id = resolve_entry(package, entry).partition("#")[2] or None
    app = load_processes(package)
    if entry_id is None and len(app) > 1:
        ids = {short_id(p): p for p in app}
        workflows = [i for i, p in ids.items() if p.class_ == "Workflow"]
        entry_id = "main" if "main" in ids else (workflows[0] if workflows else None)
    workflow = pick_process(app, entry_id, "the entry with --entry", package)
    _check_staged_types(workflow)
    _rename_main(app, short_id(workflow))
    staging = {
        "directory_stage_in": staging_tool(stage_in, "stage-in", python),
        "file_stage_in": staging_tool(stage_in_file, "stage-in-file", python),
        "directory_stage_out": staging_tool(stage_out, "stage-out", python),
        "file_stage_out": staging_tool(stage_out_file, "stage-out-file", python),
    }
    taken = [short_id(p) for p in app]
    for _tool, graph in staging.values():
        taken.extend(short_id(p) for p in graph)
    clashes = sorted({i for i in taken if taken.count(i) > 1} | ({"main"} & set(taken)))
    if clashes:
        raise InvalidInputError(
            f"cannot wrap {package}: process ids used twice or reserved for the wrapper: "
            + ", ".join(f"#{i}" for i in clashes)
        )
    try:
        main = wrap(workflow=workflow, **{kind: tool for kind, (tool, _) in staging.items()})
    except PluginFailureError as err:
        raise InvalidInputError(f"cannot wrap #{short_id(workflow)}: {str(err).strip()}") from err
    except (TypeError, ValueError, AttributeError) as err:
        # eoap-cwlwrap 0.32.0 fails this way on, e.g., an optional extra input of a staging
        # tool (is_type_assignable_to(["null", "string"], URI) raises TypeError).
        raise InvalidInputError(
            f"cannot wrap #{short_id(workflow)}: eoap-cwlwrap failed ({type(err).__name__}: "
            f"{err}); check the staging tools' extra inputs (optional types are not handled)"
        ) from err
    _connect_file_stage_outs(main, staging["file_stage_out"][0])
    # A staging tool no step runs (no Directory input, or output) is left out.
    used = {str(step.run).rpartition("#")[2] for step in main.steps}

    def kept(*kinds: str) -> list[Any]:
        return [p for k in kinds if short_id(staging[k][0]) in used for p in staging[k][1]]

    before, after = (
        kept("directory_stage_in", "file_stage_in"),
        kept("directory_stage_out", "file_stage_out"),
    )
    return _packed([main, *before, *app, *after])


def _connect_file_stage_outs(main: Any, tool: Any) -> None:
    """Feed each File stage-out step the app output it stages out.

    eoap-cwlwrap 0.32.0 connects a stage-out's data input by the Directory test for File
    outputs too: the File stage-out's File input is lifted to ``#main`` as an input of its
    own, and nothing feeds it the app's output. Each ``stage_out_N`` step running ``tool``
    gets ``app/<output>`` (the output ``#main`` exposes from that step), and the lifted
    input goes.
    """
    from eoap_cwlwrap.types import is_file_compatible_type

    data = {short_id(p) for p in tool.inputs if is_file_compatible_type(p.type_)}
    lifted: set[str] = set()
    for step in main.steps:
        if str(step.run).rpartition("#")[2] != short_id(tool):
            continue
        step_id = short_id(step)
        served = [
            short_id(o) for o in main.outputs if str(o.outputSource).startswith(f"{step_id}/")
        ]
        for port in step.in_:
            if short_id(port) in data and served:
                lifted.add(str(port.source).rpartition("/")[2].rpartition("#")[2])
                port.source = f"app/{served[0]}"
    main.inputs = [p for p in main.inputs if short_id(p) not in lifted]


def _rename_main(processes: list[Any], entry: str) -> None:
    """A process called ``main`` becomes ``<entry>_clt``: the wrapper is ``#main``.

    zoo-calrissian-runner's rule (a CommandLineTool ``main`` beside the entry Workflow, or
    the entry itself), with the steps that ``run`` it pointed at the new id.
    """
    renamed = f"{entry}_clt"
    for process in processes:
        if short_id(process) == "main":
            process.id = renamed
    for process in processes:
        for step in getattr(process, "steps", None) or []:
            if isinstance(step.run, str) and step.run.rpartition("#")[2] == "main":
                step.run = f"#{renamed}"


def _check_staged_types(workflow: Any) -> None:
    """Name the File parameters a stage-in or stage-out could not carry whole.

    Staging moves one file per ``File``; required ``secondaryFiles`` would be missing
    when the app runs (an input) or lost (an output).
    """
    from eoap_cwlwrap.types import is_file_compatible_type, type_to_string

    files = [
        f"{kind} {short_id(parameter)} ({type_to_string(parameter.type_)})"
        for kind, parameters in (("input", workflow.inputs), ("output", workflow.outputs))
        for parameter in parameters
        if is_file_compatible_type(parameter.type_) and getattr(parameter, "secondaryFiles", None)
    ]
    if files:
        raise InvalidInputError(
            f"cannot wrap #{short_id(workflow)}: staging moves one file per File, and these "
            f"have secondaryFiles: {', '.join(files)}; take a Directory (a staged STAC "
            "catalog) instead, as OGC 20-089 asks"
        )


def _packed(processes: list[Any]) -> dict[str, Any]:
    """The processes as one plain ``$graph`` document that needs no network."""
    from cwl_loader import dump_cwl

    stream = io.StringIO()
    dump_cwl(processes, stream)
    document = json.loads(json.dumps(YAML(typ="safe", pure=True).load(stream.getvalue())))
    if "$graph" not in document:
        document = {"cwlVersion": document.pop("cwlVersion", "v1.2"), "$graph": [document]}
    main = main_process(document)
    # The definitions live in #main once; every other process runs as one of its steps and
    # inherits them (defining them in each process makes cwltool warn about every copy).
    for process in document["$graph"]:
        for requirement in _schema_def_requirements(process):
            requirement["types"] = _inline_string_format(
                requirement.get("types") or [], define=process is main
            )
        if process is not main and "requirements" in process:
            process["requirements"] = [
                r
                for r in process["requirements"]
                if not (r.get("class") == "SchemaDefRequirement" and not r.get("types"))
            ]
    # eoap-cwlwrap 0.32.0 adds a stage-out's extra inputs once per staged-out output, and
    # copies their CommandLineTool inputBinding (not valid on a Workflow input).
    inputs: dict[str, Any] = {}
    for parameter in main["inputs"]:
        parameter.pop("inputBinding", None)
        inputs.setdefault(parameter["id"], parameter)
    main["inputs"] = list(inputs.values())
    for process in document["$graph"]:
        _short_secret_names(process)
    return _without_blank_names(document)


def _short_secret_names(process: dict[str, Any]) -> None:
    """cwltool's ``Secrets`` hint names the process's inputs by their short ids.

    cwl_loader writes them back as absolute URIs of the document the tool was loaded from
    (``file:///…/stage-in.cwl#stage-in/key``), which name nothing in the packed document.
    """
    for hint in [*(process.get("hints") or []), *(process.get("requirements") or [])]:
        if isinstance(hint, dict) and str(hint.get("class", "")).endswith("Secrets"):
            hint["secrets"] = [
                str(name).rpartition("#")[2].rpartition("/")[2] for name in hint["secrets"]
            ]


def _without_blank_names(node: Any) -> Any:
    """Drop the random ``_:uuid`` names of anonymous array types: same input, same output."""
    if isinstance(node, dict):
        return {
            k: _without_blank_names(v)
            for k, v in node.items()
            if not (k == "name" and isinstance(v, str) and v.startswith("_:"))
        }
    if isinstance(node, list):
        return [_without_blank_names(v) for v in node]
    return node


def _schema_def_requirements(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if node.get("class") == "SchemaDefRequirement":
            yield node
        for value in node.values():
            yield from _schema_def_requirements(value)
    elif isinstance(node, list):
        for value in node:
            yield from _schema_def_requirements(value)


def _inline_string_format(types: list[Any], define: bool) -> list[Any]:
    """``types`` without eoap's string_format.yaml; with its definitions if ``define``."""
    inline = string_format_types()
    names = {t["name"] for t in inline}
    kept = [
        t
        for t in types
        if not (isinstance(t, dict) and t.get("$import") == EOAP_STRING_FORMAT)
        and not (isinstance(t, dict) and t.get("name") in names)
    ]
    return [*copy.deepcopy(inline), *kept] if define else kept


def write_wrapped(document: Mapping[str, Any], path: str | os.PathLike[str]) -> None:
    """Write the wrapped document as YAML (``-o``) or to stdout with ``-``."""
    text = io.StringIO()
    _yaml().dump(json.loads(json.dumps(document)), text)
    if str(path) == "-":
        print(text.getvalue(), end="")
        return
    Path(path).write_text(text.getvalue(), encoding="utf-8")
