"""What a run's STAC Items are told about it (``--stac-processing``): package, version, run.

The package is the process run (its document's file name and ``#id``)
with its ``s:softwareVersion`` (on the process, else at the top of the document, as the
OGC Best Practice checks read it); the run id is the research object's UUID when there is
one, so that the Item, the research object and the crate name the same run.
"""

from __future__ import annotations

import uuid
from importlib.metadata import version
from typing import Any

from cwl_dask.documents.bestpractice import schema_org_annotation
from cwl_dask.eo.stac.processing import Processing


def processing_of(process: Any, research_obj: Any, crate: str | None) -> Processing:
    name = str(process.tool.get("id", "package")).rsplit("/", 1)[-1]  # app-package.cwl#main
    package_version = schema_org_annotation(process, "softwareVersion")
    software = {name: str(package_version) if package_version is not None else "unversioned"}
    software["cwl-dask"] = version("cwl-dask")
    run = uuid.UUID(str(research_obj.ro_uuid)) if research_obj is not None else uuid.uuid4()
    return Processing(run.urn, software, crate if research_obj is not None else None)
