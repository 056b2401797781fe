"""The package as zoo-calrissian-runner runs it: wrapped, with the job order it builds.

ZOO-Project's runners never run an Application Package as deployed. They wrap its entry
Workflow with eoap-cwlwrap (stage-in steps for ``Directory``/``File`` inputs, stage-out
steps for outputs) into an orchestrator ``#main`` and run that; the service templates then
read the staged-out catalog's URI from the output object (research notes, zoo-runners.md
§4.4). The same here, with :func:`cwl_dask.eo.wrap.wrap_package` doing the wrapping for
``cwl-dask run --wrap`` and for this runner alike.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cwl_dask.eo.wrap import (
    STAGE_OUT_TARGET,
    main_process,
    normalise_uri_value,
    uri_inputs,
    wrap_package,
)
from cwl_dask.errors import InvalidInputError

STAGING_VARIABLES = {
    "stage_in": "WRAPPER_STAGE_IN",
    "stage_in_file": "WRAPPER_STAGE_IN_FILE",
    "stage_out": "WRAPPER_STAGE_OUT",
    "stage_out_file": "WRAPPER_STAGE_OUT_FILE",
}
"""zoo-calrissian-runner's environment variables naming the staging tools (each a CWL
document following eoap-cwlwrap's contract); unset, cwl-dask's own tools stage."""

STAC_CATALOG_URI = "StacCatalogUri"
"""The single output of the cwl-wrapper era's stage-out, which handlers written for it
(EOEPCA's service template) read from the output object."""


def staging_tools(environ: Mapping[str, str] | None = None) -> dict[str, str | None]:
    """The staging documents the environment names, None where cwl-dask's tool stages.

    A named document that does not exist is refused, naming the variable, except for
    ``WRAPPER_STAGE_OUT_FILE``: zoo-calrissian-runner treats that one as optional too.
    """
    environ = os.environ if environ is None else environ
    tools: dict[str, str | None] = {}
    for key, variable in STAGING_VARIABLES.items():
        value = (environ.get(variable) or "").strip() or None
        local = value and "://" not in value.partition("#")[0]
        if local and not Path(value.partition("#")[0]).is_file():  # type: ignore[union-attr]
            if variable == "WRAPPER_STAGE_OUT_FILE":
                value = None
            else:
                raise InvalidInputError(f"{variable}={value}: no such file")
        tools[key] = value
    return tools


def wrap_for_zoo(package: Path, workflow_id: str, python: str) -> dict[str, Any]:
    """The packed wrapped document of ``package#workflow_id`` (``#main`` the orchestrator).

    The Dask config ``cwl-dask.zoo.staging-tools: own`` ignores ``WRAPPER_STAGE_*``:
    ZOO-Project-DRU's chart always points them at its calrissian assets (tools for
    containers on Kubernetes), which a platform running cwl-dask may not want.
    """
    import dask

    choice = str(dask.config.get("cwl-dask.zoo.staging-tools", "environment")).lower()
    if choice not in ("environment", "own"):
        raise InvalidInputError(
            f"cwl-dask.zoo.staging-tools: {choice!r}: expected 'environment' or 'own'"
        )
    tools = staging_tools({} if choice == "own" else None)
    return wrap_package(str(package), workflow_id, python=python, **tools)


def main_inputs(document: Mapping[str, Any]) -> set[str]:
    """Short ids of the orchestrator's inputs."""
    inputs = main_process(document)["inputs"]
    return {str(p["id"]).rpartition("#")[2].rpartition("/")[2] for p in inputs}


def job_order(
    document: Mapping[str, Any],
    namespace: str,
    parameters: Mapping[str, Any],
    additional: Mapping[str, Any],
    base_dir: str,
    default_target: str,
) -> dict[str, Any]:
    """zoo-calrissian-runner's job order: ``process``, the inputs, the handler's parameters.

    ``{"process": namespace, **parameters, **additional}``; values of the orchestrator's
    ``URI`` inputs become ``{"value": …}`` records (arrays too, which calrissian forgets),
    a relative local path taken from ``base_dir``; an ``ADES_X`` key becomes ``X`` where
    the orchestrator has an input ``X`` (calrissian's rename for old platform settings).
    """
    order: dict[str, Any] = {"process": namespace, **parameters, **additional}
    inputs = main_inputs(document)
    for key in [k for k in order if k.startswith("ADES_")]:
        if key.removeprefix("ADES_") in inputs:
            order[key.removeprefix("ADES_")] = order.pop(key)
    for key in uri_inputs(document) & set(order):
        order[key] = normalise_uri_value(order[key], base_dir)
    named = any(order.get(k) for k in (STAGE_OUT_TARGET, "STAGEOUT_OUTPUT", "s3_bucket"))
    if STAGE_OUT_TARGET in inputs and not named:
        order[STAGE_OUT_TARGET] = default_target
    return order


def handed_output(output: dict[str, Any] | None) -> dict[str, Any] | None:
    """The output object as the hooks get it: eoap's URI records, and ``StacCatalogUri``.

    Handlers written for eoap-cwlwrap (zoo-template-common) read ``output[<id>]["value"]``;
    handlers written for the cwl-wrapper era (EOEPCA's template) read
    ``output["StacCatalogUri"]``, a plain string. Both are given: the URI of the first
    staged-out catalog (the first URI record whose value ends in ``.json``, else the first
    URI record) under ``StacCatalogUri``, unless an output has that id already.
    """
    if output is None or STAC_CATALOG_URI in output:
        return output
    uris = [v for value in output.values() for v in _uri_values(value)]
    catalogs = [u for u in uris if u.endswith(".json")] or uris
    return {**output, STAC_CATALOG_URI: catalogs[0]} if catalogs else output


def _uri_values(value: Any) -> list[str]:
    if isinstance(value, list):
        return [v for item in value for v in _uri_values(item)]
    if isinstance(value, dict) and isinstance(value.get("value"), str) and "class" not in value:
        return [value["value"]]
    return []


def secret_inputs(document: Mapping[str, Any]) -> set[str]:
    """Inputs of the orchestrator that a ``cwltool:Secrets`` hint of any process names
    (the staging tools' keys): their values are never written where ZOO serves files."""
    names: set[str] = set()
    for process in document.get("$graph", [document]):
        for hint in [*(process.get("hints") or []), *(process.get("requirements") or [])]:
            if isinstance(hint, dict) and str(hint.get("class", "")).endswith("Secrets"):
                names.update(str(s).rpartition("/")[2].rpartition("#")[2] for s in hint["secrets"])
    return names & main_inputs(document)
