"""Files that hold a secret do not outlive the invocation that needed them.

cwltool writes ``InitialWorkDirRequirement`` entries with the secrets' real values and then
means to delete those "containing secrets" — but it tests the entry's *path* for a secret
placeholder, so the file stays in the output directory, which cwl-dask keeps on failure.
After every invocation the worker removes each generated file whose contents hold a
secret value.
"""

from __future__ import annotations

import logging
import os
from typing import Any

_logger = logging.getLogger("cwl_dask")


def remove_secret_files(job: Any, secret_store: Any) -> None:
    """Delete the files ``job`` created from InitialWorkDir entries that hold a secret."""
    values = [v for v in getattr(secret_store, "secrets", {}).values() if v]
    mapper = getattr(job, "generatemapper", None)
    if not values or mapper is None:
        return
    host_outdir, container_outdir = job.outdir, job.builder.outdir
    for _, entry in mapper.items():
        if entry.type not in ("CreateFile", "CreateWritableFile"):
            continue
        target = entry.target
        if target.startswith(container_outdir + "/"):
            target = os.path.join(host_outdir, target[len(container_outdir) + 1 :])
        try:
            with open(target, encoding="utf-8", errors="replace") as handle:
                contents = handle.read()
        except OSError:
            continue
        if any(value in contents for value in values):
            os.remove(target)
            _logger.debug("removed %s: it holds a secret", target)
