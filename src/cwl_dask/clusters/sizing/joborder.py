"""Reading a job order for sizing (``cwl-dask plan --job``, the ZOO runner).

Separate from the sizing itself because it touches the file system: sizing proper is a pure
function of the loaded process and this mapping.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, cast

from ruamel.yaml.error import YAMLError
from schema_salad.ref_resolver import file_uri

from cwl_dask.clusters.sizing.model import Binding
from cwl_dask.documents.hostile import job_file_limit, load_checked
from cwl_dask.errors import InvalidInputError


def load_job_order(path: str | os.PathLike[str]) -> Binding:
    """Read a YAML/JSON job order, with File/Directory locations made absolute.

    Only values matter for sizing (array lengths, numbers), except for expressions such as
    ``$(inputs.f.size)``: cwltool's ``_init_job`` measures those files, and needs absolute
    ``location``s to find them, so relative ``location``/``path`` values are resolved
    against the job file's directory, as cwltool resolves them.
    """
    job_path = Path(path)
    if not job_path.is_file():
        raise InvalidInputError(f"no such job order file: {path}")
    try:
        data = load_checked(str(path), "job file", job_file_limit())
    except YAMLError as err:
        raise InvalidInputError(f"{path} is not a YAML/JSON job order:\n{err}") from err
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InvalidInputError(f"{path}: a job order must be a mapping of input names")
    return cast(Binding, _absolute_locations(data, job_path.resolve().parent))


def _absolute_locations(value: Any, base: Path) -> Any:
    if isinstance(value, list):
        return [_absolute_locations(v, base) for v in value]
    if not isinstance(value, dict):
        return value
    result = {k: _absolute_locations(v, base) for k, v in value.items()}
    if result.get("class") in ("File", "Directory"):
        location = result.get("location", result.pop("path", None))
        if isinstance(location, str) and "://" not in location and not location.startswith("_:"):
            location = file_uri(str(base / location))
        if location is not None:
            result["location"] = location
    return result
