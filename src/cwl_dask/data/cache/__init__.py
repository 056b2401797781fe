"""A content-addressed cache of tool results, in a local folder or object storage.

``--cachedir DIR`` or ``--cachedir s3://bucket/prefix``: each CommandLineTool invocation's
result is kept under a key computed from what can change it (:mod:`.key`), as an entry of
files and a manifest written last (:mod:`.manifest`, :mod:`.entries`). Workers look entries
up, restore and publish them themselves (``worker/result_cache.py``); the driver only
ships where the cache is (:data:`CACHE_OPTION`). :mod:`.housekeeping` lists and prunes.
Neutral ground like the rest of ``data``: it imports neither the driver nor the worker.
"""

from __future__ import annotations

from cwl_dask.data.cache.location import CACHE_OPTION, CacheLocation, open_cache

__all__ = ["CACHE_OPTION", "CacheLocation", "open_cache"]
