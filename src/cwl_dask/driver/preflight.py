"""Checks of a run's inputs that cwltool leaves to the moment a tool needs them.

cwltool notices a missing input file only when the step that reads it is staged — after
earlier steps ran, on a worker, as that step's failure. Checked on the driver before
anything is submitted, it is bad input (exit 2) naming the input and the path.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from schema_salad.exceptions import ValidationException
from schema_salad.ref_resolver import uri_file_path


def check_input_files(job_order: dict[str, Any]) -> None:
    """Every local File/Directory of the job order (secondaryFiles included) must exist."""
    missing = [
        f"input '{name}': {kind} {path} does not exist"
        for name, value in job_order.items()
        for kind, path in _local_paths(value)
        if not os.path.exists(path)
    ]
    if missing:
        raise ValidationException("\n".join(missing))


def _local_paths(value: Any) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        kind = value.get("class")
        if kind in ("File", "Directory"):
            location = value.get("location") or value.get("path") or ""
            if isinstance(location, str) and location.startswith("file://"):
                yield kind, uri_file_path(location)
            elif isinstance(location, str) and location.startswith("/"):
                yield kind, location
            for extra in value.get("secondaryFiles") or []:
                yield from _local_paths(extra)
            if kind == "Directory":
                for entry in value.get("listing") or []:
                    yield from _local_paths(entry)
            return
        for item in value.values():
            yield from _local_paths(item)
    elif isinstance(value, list):
        for item in value:
            yield from _local_paths(item)


def check_placement(process: Any, backend: Any) -> None:
    """Every GPU or placed step has a worker that can take it, before anything runs.

    Otherwise the refusal would come when the step is reached, after earlier steps ran.
    Only GPUs and labels are checked here (cores and RAM are checked at each submission,
    with the invocation's real inputs); the steps come from the plan without a job order.
    """
    from cwl_dask.clusters import RESOURCE_CORES, RESOURCE_GPU, RESOURCE_RAM
    from cwl_dask.clusters.placement import as_request
    from cwl_dask.clusters.sizing import plan

    try:
        steps = plan(process).steps
    except Exception:  # an invalid document is reported by the run itself
        return
    for step in steps:
        if step.gpus or step.labels:
            request = {RESOURCE_CORES: 0.0, RESOURCE_RAM: 0.0, RESOURCE_GPU: float(step.gpus)}
            backend.fit(step.step, {**request, **as_request(tuple(sorted(step.labels.items())))})
