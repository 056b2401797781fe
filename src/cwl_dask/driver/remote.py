"""The driver's side of store mode that needs the cluster or the run's lifetime.

``--workdir s3://…`` (see :mod:`cwl_dask.data`): the run's prefix is created and checked
before anything runs, the workers' scratch directories are removed when the jobs are done,
and the prefix is removed on success (kept and named on failure, as a local work directory
is). ``--outdir s3://…`` runs with a local staging ``--outdir`` whose result is uploaded.
"""

from __future__ import annotations

import logging
from typing import Any

from cwl_dask.data.store import Store, configured_options, is_url, open_run
from cwl_dask.data.transfer import remove_tree
from cwl_dask.errors import InvalidInputError

_logger = logging.getLogger("cwl_dask")


def open_store(workdir: str | None, cachedir: str | None) -> Store | None:
    """The run's store when ``--workdir`` is a URL, checked; None for a local work dir."""
    if not is_url(workdir):
        return None
    assert workdir is not None
    if cachedir:
        raise InvalidInputError(
            f"--cachedir needs a directory every worker shares; it cannot be used with "
            f"--workdir {workdir}"
        )
    return open_run(workdir)


def forget_scratch(client: Any, store: Store) -> None:
    """Remove the run's scratch directories and fetch caches on every worker."""
    from cwl_dask.worker.remote_data import remove_scratch

    try:
        client.run(remove_scratch, store.run_id, on_error="ignore")
    except Exception as err:  # a lost scheduler: the workers' temp dirs are theirs to clean
        _logger.debug("cannot remove the workers' scratch directories: %r", err)


def close_store(store: Store, success: bool) -> None:
    """Remove the run's prefix after success; name it after a failure."""
    if success:
        try:
            remove_tree(store.filesystem(), store.url)
        except Exception as err:
            _logger.warning("cannot remove the run's objects under %s: %s", store.url, err)
    else:
        _logger.error("intermediate objects are kept in %s", store.url)


def check_outdir(outdir: str) -> None:
    """``--outdir s3://…`` must be writable before anything runs."""
    from cwl_dask.data.store import check_writable

    check_writable(outdir, configured_options(), "--outdir")
