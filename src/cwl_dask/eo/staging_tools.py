"""The staging tools a wrapped package runs, and loading CWL processes for eoap-cwlwrap.

Why a module of its own: cwl-dask's default stage-in/stage-out tools (the files under
``cwl_dask/eo/staging``, located with ``importlib.resources``), a user's ``--stage-in`` /
``--stage-out`` documents and the package itself are all loaded the same way, without the
network: the eoap ``string_format.yaml#URI`` type that staging tools ``$import`` from
GitHub is replaced by the bundled copy and given its canonical name (:data:`URI_TYPE`),
the one eoap-cwlwrap recognises. Also what the tools need from their host
(:data:`STAGING_ENVIRONMENT`) and the default stage-out's target input.
"""

from __future__ import annotations

import copy
import os
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


def _staging_file(name: str) -> str:
    return (resources.files("cwl_dask.eo") / "staging" / name).read_text(encoding="utf-8")


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
        return load_processes(location)
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
        _give_python_path(raw)
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


def _give_python_path(raw: dict[str, Any]) -> None:
    """The script's interpreter finds the packages this process finds (pystac, s3fs).

    Inside the ZOO kernel, ``sys.executable`` is the system ``python3`` and cwl-dask's
    packages come from the ``PYTHONPATH`` the kernel exports, which cwltool does not hand
    to tools: stage-in then failed with ``No module named 'pystac'``.
    """
    path = os.environ.get("PYTHONPATH")
    if not path:
        return
    requirements = raw.setdefault("requirements", {})
    if isinstance(requirements, list):
        found = [r for r in requirements if r.get("class") == "EnvVarRequirement"]
        if not found:
            found = [{"class": "EnvVarRequirement", "envDef": {}}]
            requirements.append(found[0])
        env = found[0].setdefault("envDef", {})
    else:
        env = requirements.setdefault("EnvVarRequirement", {}).setdefault("envDef", {})
    if isinstance(env, list):
        env.append({"envName": "PYTHONPATH", "envValue": path})
    else:
        env["PYTHONPATH"] = path


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


def load_processes(reference: str) -> list[Any]:
    from cwl_loader import load_cwl_from_location

    location = reference.partition("#")[0]
    try:
        loaded = load_cwl_from_location(location, sort=False)
    except Exception as err:  # cwl_loader raises ValueError, ValidationException, HTTP errors
        raise InvalidInputError(f"cannot load {location} for wrapping: {err}") from err
    # Unsorted: cwl_loader's dependency sort follows set order, so the hash seed; the
    # document's own order makes the wrapped document the same from run to run.
    return loaded if isinstance(loaded, list) else [loaded]


def short_id(process: Any) -> str:
    return str(process.id).rpartition("#")[2].rpartition("/")[2]


def pick_process(processes: list[Any], wanted: str | None, what: str, reference: str) -> Any:
    if wanted is None:
        if len(processes) != 1:
            ids = ", ".join(f"#{short_id(p)}" for p in processes)
            raise InvalidInputError(f"{reference} holds several processes ({ids}): name {what}")
        return processes[0]
    for process in processes:
        if short_id(process) == wanted:
            return process
    raise InvalidInputError(f"no process #{wanted} in {reference}")


def _user_staging_tool(reference: str) -> tuple[Any, list[Any]]:
    """A ``--stage-in``/``--stage-out`` document: the tool and every process it brings."""
    processes = load_staging_document(reference)
    fragment = reference.partition("#")[2] or None
    return pick_process(processes, fragment, "one with path#id", reference), processes


def staging_tool(reference: str | None, default: str, python: str) -> tuple[Any, list[Any]]:
    """A staging tool and every process its document brings (cwl-dask's ``default``)."""
    if reference:
        return _user_staging_tool(reference)
    tool = default_staging_tool(default, python)
    return tool, [tool]
