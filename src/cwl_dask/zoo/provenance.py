"""The run's Workflow Run RO-Crate, handed to the ZOO handler so a platform can publish it.

Off by default: with the Dask config key ``cwl-dask.zoo.provenance`` true
(``DASK_CWL_DASK__ZOO__PROVENANCE=true``) the runner keeps the research object in
``{tmpPath}/{Identifier}-{usid}/provenance/`` and the crate next to it, and calls
``handle_outputs(..., provenance_crate=PATH)`` — only on handlers whose ``handle_outputs``
takes that keyword (or ``**kwargs``): the service templates' handlers take calrissian's four
arguments and would fail on a fifth.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

CONFIG_KEY = "cwl-dask.zoo.provenance"
KEYWORD = "provenance_crate"
RESEARCH_OBJECT = "provenance"
CRATE = "provenance-crate.zip"


def provenance_enabled() -> bool:
    import dask.config

    value = dask.config.get(CONFIG_KEY, False)
    return value is True or str(value).strip().lower() in ("true", "1", "yes", "on")


def provenance_targets(work: Path) -> tuple[str, str]:
    """Where the research object and the crate of the run in ``work`` go."""
    return str(work / RESEARCH_OBJECT), str(work / CRATE)


def accepts_crate(handler: Any) -> bool:
    """Whether the handler's ``handle_outputs`` takes ``provenance_crate``."""
    method = getattr(handler, "handle_outputs", None)
    if not callable(method):
        return False
    try:
        parameters = inspect.signature(method).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == KEYWORD or p.kind is p.VAR_KEYWORD for p in parameters)
