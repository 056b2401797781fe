"""cwl-dask: run CWL workflows and EO Application Packages, each tool invocation a Dask task.

The Python API (see docs/api.md)::

    import cwl_dask

    result = cwl_dask.run("app-package.cwl", {"stac_items": [...]}, client=client)
    result.outputs      # the CWL output object, as cwltool prints it
    result.stac         # the pystac objects of the STAC outputs
    future = cwl_dask.submit("other.cwl", "params.yml", client=client)  # in the background

``run``, ``submit``, ``RunResult`` and ``RunRequest`` come from :mod:`cwl_dask.api`; errors
are the classes of :mod:`cwl_dask.errors`. They are imported on first use, so that
``import cwl_dask`` (and the CLI's start-up) does not load cwltool and Dask.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cwl_dask._version import __version__

if TYPE_CHECKING:
    from cwl_dask.api import RunRequest, RunResult, run, submit

__all__ = ["RunRequest", "RunResult", "__version__", "run", "submit"]

_API = {"RunRequest", "RunResult", "run", "submit"}


def __getattr__(name: str) -> Any:
    if name in _API:
        from cwl_dask import api

        return getattr(api, name)
    raise AttributeError(f"module 'cwl_dask' has no attribute {name!r}")
