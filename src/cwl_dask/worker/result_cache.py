"""Worker side of ``--cachedir``: reuse an invocation's cached result, or run and publish it.

Around the one call that runs a tool (``invocation._run``), after store mode fetched the
inputs (the key reads their contents): the key is computed (``data.cache.key``); a
whole entry is restored into the invocation's own output directory, checked file by file,
and handed back as the tool's result without running it; a damaged one is recomputed, with
one warning for the driver to print. A result that ran successfully is published. The
cache is an optimisation: when it cannot be read or written the tool simply runs (a
warning says why), and a run never fails because of it.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from typing import Any

from cwl_dask.data.cache.entries import ResultCache
from cwl_dask.data.cache.key import cache_key, reuse_enabled
from cwl_dask.data.cache.location import CACHE_OPTION, CacheLocation
from cwl_dask.data.cache.manifest import DamagedEntry

_logger = logging.getLogger("cwl_dask")


def cache_from_options(options: dict[str, Any]) -> ResultCache | None:
    """The cache the driver shipped with the task, None without ``--cachedir``."""
    location = CacheLocation.from_shipped(options.get(CACHE_OPTION))
    return ResultCache(location) if location is not None else None


def step_of(name: str) -> str:
    """The step of a job name (``ndvi_3`` is the third invocation of ``ndvi``)."""
    return re.sub(r"_\d+$", "", name)


def run_with_cache(
    cache: ResultCache | None,
    tool: Any,
    job_order: dict[str, Any],
    runtime: Any,
    log_path: str,
    run: Callable[[], Any],
    outcome_class: Callable[..., Any],
) -> Any:
    """``run()``'s Outcome, or the cached one (``outcome.cached``) when the key has an entry
    (an ``outcome_class``: the invocation module's, which imports this one)."""
    if cache is None or not reuse_enabled(tool):
        return run()
    try:
        key = cache_key(tool, job_order, runtime)
    except Exception as err:  # cwltool refuses the job: running it reports why
        _logger.debug("no cache key for %s: %r", runtime.name, err)
        return run()
    where = f"{cache.location.display}/{key.digest}"
    warning = ""
    try:
        manifest = cache.lookup(key.digest)
        if manifest is not None:
            outcome = _restored(cache, manifest, runtime, log_path, outcome_class)
            outcome.image = key.image
            return outcome
    except DamagedEntry as err:
        warning = f"its cached result {where} is damaged ({err}): recomputed"
    except Exception as err:  # the store is unreachable: run without it
        warning = f"cannot read the cache {cache.location.display} ({type(err).__name__}: {err})"
    started = time.monotonic()
    outcome = run()
    outcome.cache_warning = warning
    if outcome.status == "success" and isinstance(outcome.output, dict):
        try:
            cache.publish(
                key.digest,
                outcome.output,
                outcome.workdir,
                step=step_of(runtime.name),
                image=key.image,
                seconds=round(time.monotonic() - started, 3),
            )
        except Exception as err:
            note = f"cannot write {where} ({type(err).__name__}: {err})"
            outcome.cache_warning = f"{warning}; {note}" if warning else note
    return outcome


def _restored(
    cache: ResultCache, manifest: Any, runtime: Any, log_path: str, outcome_class: Any
) -> Any:
    """The entry restored into a fresh output directory, as the Outcome of a run."""
    prefix = runtime.tmp_outdir_prefix
    os.makedirs(os.path.dirname(prefix), exist_ok=True)
    local = tempfile.mkdtemp(prefix=prefix)
    try:
        output = cache.restore(manifest, local)
    except BaseException:
        shutil.rmtree(local, ignore_errors=True)
        raise
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    with open(log_path, "a", encoding="utf-8") as log:
        log.write(
            f"INFO [job {runtime.name}] reused the cached result "
            f"{cache.location.display}/{manifest.key} (the tool took {manifest.seconds:g} s)\n"
        )
    return outcome_class(
        "success",
        output=output,
        exit_code=0,
        workdir=local,
        cached=True,
        saved_seconds=manifest.seconds,
        saved_bytes=manifest.size,
    )
