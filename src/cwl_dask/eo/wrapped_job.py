"""The interface of a wrapped document: its ``#main``, its URI inputs, its job order.

Why: the CLI (``run --wrap``) and the ZOO runner both run a wrapped document with a job
order written for the package; they need the wrapper's ``#main``, which of its inputs are
``URI`` records (values normalised to the current ``{"value": …}`` form), and the
stage-out target a run without one gets. Reading the wrapped document only: no
eoap-cwlwrap, no cwl_loader.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from cwl_dask.eo.staging_tools import STAGE_OUT_TARGET, URI_TYPE
from cwl_dask.errors import InvalidInputError


def main_process(document: Mapping[str, Any]) -> Any:
    """The wrapper's ``#main`` of a wrapped document."""
    return next(p for p in document["$graph"] if str(p.get("id", "")).rpartition("#")[2] == "main")


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
    out under ``OUTDIR/staged-out``, the directory the user asked outputs to go to (or
    ``<outdir>/staged-out`` in the store when ``outdir`` is an ``s3://…`` URL).
    """
    result = dict(job)
    for key in uri_inputs(document) & set(result):
        result[key] = normalise_uri_value(result[key], base_dir)
    main_inputs = {
        str(p["id"]).rpartition("/")[2].rpartition("#")[2] for p in main_process(document)["inputs"]
    }
    if STAGE_OUT_TARGET in main_inputs and STAGE_OUT_TARGET not in result:
        if "://" in outdir and not outdir.startswith("file://"):  # a store: s3://…
            result[STAGE_OUT_TARGET] = f"{outdir.rstrip('/')}/staged-out"
        else:
            result[STAGE_OUT_TARGET] = os.path.join(os.path.abspath(outdir), "staged-out")
    return result
