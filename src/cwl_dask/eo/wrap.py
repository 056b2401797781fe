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
"""

from __future__ import annotations

import copy
import io
import json
import os
from collections.abc import Iterator, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from cwl_dask.errors import InvalidInputError

EOAP_STRING_FORMAT = "https://raw.githubusercontent.com/eoap/schemas/main/string_format.yaml"
"""The schema eoap-cwlwrap imports for the ``URI`` type (``<url>#URI``)."""

URI_TYPE = f"{EOAP_STRING_FORMAT}#URI"

STAGE_OUT_TARGET = "stage_out_target"
"""Input of the default stage-out (and so of the wrapped ``#main``): where results go."""

DEFAULT_PYTHON = "python3"

STAGING_ENVIRONMENT = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_PROFILE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
)
"""Host variables ``run --wrap`` passes to tools (cwltool gives tools a bare environment),
so that the staging tools reach S3 with the user's credentials and endpoint."""


def _quiet_loguru() -> None:
    """eoap-cwlwrap and cwl_loader log every step at DEBUG/INFO through loguru."""
    from loguru import logger

    for name in ("eoap_cwlwrap", "cwl_loader"):
        logger.disable(name)


def _staging_file(name: str) -> str:
    return (resources.files("cwl_dask.eo") / "staging" / name).read_text(encoding="utf-8")


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.width = 4096
    return yaml


def string_format_types() -> list[dict[str, Any]]:
    """The bundled eoap ``string_format`` records, with their canonical absolute names."""
    types = YAML(typ="safe", pure=True).load(_staging_file("string_format.yaml"))
    for record in types:
        record["name"] = f"{EOAP_STRING_FORMAT}#{record['name']}"
    return types


def default_staging_tool(name: str, python: str = DEFAULT_PYTHON) -> Any:
    """cwl-dask's ``stage-in`` or ``stage-out``, its scripts run by ``python``."""
    path = Path(str(resources.files("cwl_dask.eo") / "staging" / f"{name}.cwl"))
    (tool,) = load_staging_document(str(path), python=python)
    return tool


def load_staging_document(location: str, python: str | None = None) -> list[Any]:
    """The processes of a staging document, loaded for eoap-cwlwrap without the network.

    Staging tools ``$import`` eoap's string_format.yaml from GitHub for their ``URI``
    type. For a local document the import is replaced by the bundled definitions before
    loading (relative ``$include``s still resolve against the document) and the type is
    then given its canonical name, the one eoap-cwlwrap recognises. A remote document is
    loaded as it is. ``python`` replaces a ``python3`` ``baseCommand`` (cwl-dask's tools).
    """
    from cwl_loader import load_cwl_from_yaml

    path = location.partition("#")[0]
    if "://" in path and not path.startswith("file://"):
        return _load_processes(location)
    local = Path(path.removeprefix("file://")).resolve()
    try:
        raw = YAML(typ="safe", pure=True).load(local.read_text(encoding="utf-8"))
    except OSError as err:
        raise InvalidInputError(f"cannot read {path}: {err.strerror}") from err
    except Exception as err:
        raise InvalidInputError(f"{path} is not YAML: {err}") from err
    records = YAML(typ="safe", pure=True).load(_staging_file("string_format.yaml"))
    raw = _offline_string_format(raw, records)
    command = raw.get("baseCommand")
    if python is not None and isinstance(command, list) and command[:1] == [DEFAULT_PYTHON]:
        command[0] = python
    uri = local.as_uri()
    try:
        loaded = load_cwl_from_yaml(raw, uri=uri, sort=False)
    except Exception as err:  # cwl_loader raises ValueError, ValidationException, ...
        raise InvalidInputError(f"cannot load {path}: {err}") from err
    processes = loaded if isinstance(loaded, list) else [loaded]
    names = {record["name"] for record in records}
    for process in processes:
        for parameter in [*process.inputs, *process.outputs]:
            parameter.type_ = _canonical_type(parameter.type_, uri, names)
        for requirement in process.requirements or []:
            if requirement.class_ == "SchemaDefRequirement":
                for record in requirement.types:
                    if isinstance(getattr(record, "name", None), str):
                        record.name = _canonical_type(record.name, uri, names)
    return processes


def _offline_string_format(node: Any, records: list[dict[str, Any]]) -> Any:
    """``{$import: <string_format.yaml>}`` → its records; ``<…yaml>#URI`` → ``URI``."""
    if isinstance(node, dict):
        return {k: _offline_string_format(v, records) for k, v in node.items()}
    if isinstance(node, list):
        expanded: list[Any] = []
        for value in node:
            if isinstance(value, dict) and value.get("$import") == EOAP_STRING_FORMAT:
                expanded.extend(copy.deepcopy(records))
            else:
                expanded.append(_offline_string_format(value, records))
        return expanded
    if isinstance(node, str) and node.startswith(f"{EOAP_STRING_FORMAT}#"):
        return node.partition("#")[2]
    return node


def _canonical_type(value: Any, uri: str, names: set[str]) -> Any:
    """A loaded type with ``<document>#…/URI`` renamed ``<string_format.yaml>#URI``."""
    if isinstance(value, str):
        name = value.rpartition("#")[2].rpartition("/")[2]
        if value.startswith(f"{uri}#") and name in names:
            return f"{EOAP_STRING_FORMAT}#{name}"
        return value
    if isinstance(value, list):
        return [_canonical_type(v, uri, names) for v in value]
    if hasattr(value, "items") and not isinstance(value, dict):
        value.items = _canonical_type(value.items, uri, names)
    return value


def _load_processes(reference: str) -> list[Any]:
    from cwl_loader import load_cwl_from_location

    location = reference.partition("#")[0]
    try:
        loaded = load_cwl_from_location(location, sort=False)
    except Exception as err:  # cwl_loader raises ValueError, ValidationException, HTTP errors
        raise InvalidInputError(f"cannot load {location} for wrapping: {err}") from err
    # Unsorted: cwl_loader's dependency sort follows set order, so the hash seed; the
    # document's own order makes the wrapped document the same from run to run.
    return loaded if isinstance(loaded, list) else [loaded]


def _short_id(process: Any) -> str:
    return str(process.id).rpartition("#")[2].rpartition("/")[2]


def _pick(processes: list[Any], wanted: str | None, what: str, reference: str) -> Any:
    if wanted is None:
        if len(processes) != 1:
            ids = ", ".join(f"#{_short_id(p)}" for p in processes)
            raise InvalidInputError(f"{reference} holds several processes ({ids}): name {what}")
        return processes[0]
    for process in processes:
        if _short_id(process) == wanted:
            return process
    raise InvalidInputError(f"no process #{wanted} in {reference}")


def _user_staging_tool(reference: str) -> tuple[Any, list[Any]]:
    """A ``--stage-in``/``--stage-out`` document: the tool and every process it brings."""
    processes = load_staging_document(reference)
    fragment = reference.partition("#")[2] or None
    return _pick(processes, fragment, "one with path#id", reference), processes


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
    app = _load_processes(package)
    if entry_id is None and len(app) > 1:
        ids = {_short_id(p): p for p in app}
        workflows = [i for i, p in ids.items() if p.class_ == "Workflow"]
        entry_id = "main" if "main" in ids else (workflows[0] if workflows else None)
    workflow = _pick(app, entry_id, "the entry with --entry", package)
    _check_staged_types(workflow)
    _rename_main(app, _short_id(workflow))
    staging = {
        "directory_stage_in": _staging_tool(stage_in, "stage-in", python),
        "file_stage_in": _staging_tool(stage_in_file, "stage-in-file", python),
        "directory_stage_out": _staging_tool(stage_out, "stage-out", python),
        "file_stage_out": _staging_tool(stage_out_file, "stage-out-file", python),
    }
    taken = [_short_id(p) for p in app]
    for _tool, graph in staging.values():
        taken.extend(_short_id(p) for p in graph)
    clashes = sorted({i for i in taken if taken.count(i) > 1} | ({"main"} & set(taken)))
    if clashes:
        raise InvalidInputError(
            f"cannot wrap {package}: process ids used twice or reserved for the wrapper: "
            + ", ".join(f"#{i}" for i in clashes)
        )
    try:
        main = wrap(workflow=workflow, **{kind: tool for kind, (tool, _) in staging.items()})
    except PluginFailureError as err:
        raise InvalidInputError(f"cannot wrap #{_short_id(workflow)}: {str(err).strip()}") from err
    except (TypeError, ValueError, AttributeError) as err:
        # eoap-cwlwrap 0.32.0 fails this way on, e.g., an optional extra input of a staging
        # tool (is_type_assignable_to(["null", "string"], URI) raises TypeError).
        raise InvalidInputError(
            f"cannot wrap #{_short_id(workflow)}: eoap-cwlwrap failed ({type(err).__name__}: "
            f"{err}); check the staging tools' extra inputs (optional types are not handled)"
        ) from err
    _connect_file_stage_outs(main, staging["file_stage_out"][0])
    # A staging tool no step runs (no Directory input, or output) is left out.
    used = {str(step.run).rpartition("#")[2] for step in main.steps}

    def kept(*kinds: str) -> list[Any]:
        return [p for k in kinds if _short_id(staging[k][0]) in used for p in staging[k][1]]

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

    data = {_short_id(p) for p in tool.inputs if is_file_compatible_type(p.type_)}
    lifted: set[str] = set()
    for step in main.steps:
        if str(step.run).rpartition("#")[2] != _short_id(tool):
            continue
        step_id = _short_id(step)
        served = [
            _short_id(o) for o in main.outputs if str(o.outputSource).startswith(f"{step_id}/")
        ]
        for port in step.in_:
            if _short_id(port) in data and served:
                lifted.add(str(port.source).rpartition("/")[2].rpartition("#")[2])
                port.source = f"app/{served[0]}"
    main.inputs = [p for p in main.inputs if _short_id(p) not in lifted]


def _staging_tool(reference: str | None, default: str, python: str) -> tuple[Any, list[Any]]:
    """A staging tool and every process its document brings (cwl-dask's ``default``)."""
    if reference:
        return _user_staging_tool(reference)
    tool = default_staging_tool(default, python)
    return tool, [tool]


def _rename_main(processes: list[Any], entry: str) -> None:
    """A process called ``main`` becomes ``<entry>_clt``: the wrapper is ``#main``.

    zoo-calrissian-runner's rule (a CommandLineTool ``main`` beside the entry Workflow, or
    the entry itself), with the steps that ``run`` it pointed at the new id.
    """
    renamed = f"{entry}_clt"
    for process in processes:
        if _short_id(process) == "main":
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
        f"{kind} {_short_id(parameter)} ({type_to_string(parameter.type_)})"
        for kind, parameters in (("input", workflow.inputs), ("output", workflow.outputs))
        for parameter in parameters
        if is_file_compatible_type(parameter.type_) and getattr(parameter, "secondaryFiles", None)
    ]
    if files:
        raise InvalidInputError(
            f"cannot wrap #{_short_id(workflow)}: staging moves one file per File, and these "
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


def main_process(document: Mapping[str, Any]) -> Any:
    """The wrapper's ``#main`` of a wrapped document."""
    return next(p for p in document["$graph"] if str(p.get("id", "")).rpartition("#")[2] == "main")


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


# --------------------------------------------------------------------------- job orders


def uri_inputs(document: Mapping[str, Any]) -> set[str]:
    """Ids of the wrapped ``#main`` inputs whose type involves the ``URI`` record."""
    found = set()
    for parameter in main_process(document).get("inputs", []):
        if URI_TYPE in json.dumps(parameter.get("type")):
            found.add(str(parameter["id"]).rpartition("#")[2].rpartition("/")[2])
    return found


def normalise_uri_value(value: Any, base_dir: str) -> Any:
    """A job-order value for a URI input, in the current ``{"value": …}`` form.

    Accepts the record with ``value``, the older ``href`` form, or a bare string; a
    relative local path is taken relative to the job file (as CWL does for File
    locations), since the stage-in tool runs in a directory of its own.
    """
    if value is None:
        return None
    if isinstance(value, list):
        return [normalise_uri_value(v, base_dir) for v in value]
    if isinstance(value, Mapping):
        text = value.get("value", value.get("href"))
        extra = {k: v for k, v in value.items() if k not in ("value", "href")}
    else:
        text, extra = value, {}
    if not isinstance(text, str) or not text:
        raise InvalidInputError(f"not a URI (a string, or a record with 'value'): {value!r}")
    if "://" not in text and not os.path.isabs(text):
        text = os.path.normpath(os.path.join(base_dir, text))
    return {**extra, "value": text}


def wrapped_job(
    document: Mapping[str, Any], job: Mapping[str, Any], base_dir: str, outdir: str
) -> dict[str, Any]:
    """The job order for a wrapped run: URI inputs normalised, a stage-out target set.

    Without ``stage_out_target`` (when the stage-out is cwl-dask's), results are staged
    out under ``OUTDIR/staged-out``, the directory the user asked outputs to go to.
    """
    result = dict(job)
    for key in uri_inputs(document) & set(result):
        result[key] = normalise_uri_value(result[key], base_dir)
    main_inputs = {
        str(p["id"]).rpartition("/")[2].rpartition("#")[2] for p in main_process(document)["inputs"]
    }
    if STAGE_OUT_TARGET in main_inputs and STAGE_OUT_TARGET not in result:
        result[STAGE_OUT_TARGET] = os.path.join(os.path.abspath(outdir), "staged-out")
    return result
