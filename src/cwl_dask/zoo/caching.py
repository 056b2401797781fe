"""The ZOO runner's result cache: ``cwl-dask.cachedir`` in the Dask config, per user.

On an EO platform the same Application Package runs again and again on the same inputs;
with ``cwl-dask.cachedir: s3://bucket/cache`` (or a folder every worker mounts) each
service's runs reuse earlier results (see ``docs/cache.md``). Entries live below
``<cachedir>/users/<ZOO user>/`` (``conf["auth_env"]["user"]``, ``anonymous`` without one),
so one user's results are never handed to another, unless the platform chooses a cache
shared by everyone: ``cwl-dask.cache.shared: true`` puts them below ``<cachedir>/shared/``.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

#: Dask config keys: where the cache is, and whether all users share it.
CACHEDIR_KEY = "cwl-dask.cachedir"
SHARED_KEY = "cwl-dask.cache.shared"


def cachedir_for(conf: dict[str, Any]) -> str | None:
    """The ``--cachedir`` of a run for this ZOO ``conf``, None without ``cwl-dask.cachedir``."""
    import dask.config

    root = dask.config.get(CACHEDIR_KEY, None)
    if not root:
        return None
    root = str(root).rstrip("/")
    if _true(dask.config.get(SHARED_KEY, False)):
        return f"{root}/shared"
    user = str((conf.get("auth_env") or {}).get("user") or "anonymous")
    return f"{root}/users/{_safe(user)}"


def _safe(user: str) -> str:
    """The user as one path segment; a name that had to change gets a digest of the
    original, so two users never share a prefix."""
    safe = re.sub(r"[^A-Za-z0-9._@-]", "-", user).lstrip(".") or "user"
    if safe != user:
        safe += "-" + hashlib.sha256(user.encode()).hexdigest()[:8]
    return safe


def _true(value: Any) -> bool:
    return value is True or str(value).strip().lower() in ("true", "1", "yes")
