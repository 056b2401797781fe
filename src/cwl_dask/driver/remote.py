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
    if cachedir and not is_url(cachedir):
        raise InvalidInputError(
            f"--cachedir {cachedir} is a local folder, which workers that share no files "
            f"with --workdir {workdir} cannot see: use a URL such as --cachedir s3://bucket/cache"
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


class RemoteOutdir:
    """``--outdir s3://…``: the run writes into a local staging ``--outdir`` (so cwltool's
    relocation, the naming rules and the STAC rewriting are today's), which is then uploaded
    to the URL; the printed output object names the uploaded objects."""

    def __init__(self, request: Any) -> None:
        import dataclasses
        import tempfile

        self.url = str(request.outdir).rstrip("/")
        check_outdir(self.url)
        if not request.overwrite:
            self._refuse_entries()
        self.local = tempfile.mkdtemp(prefix="cwl-dask-outdir-")
        self.local_request = dataclasses.replace(request, outdir=self.local)

    def _refuse_entries(self) -> None:
        """``--no-overwrite``: an ``--outdir`` prefix that holds objects is refused up front."""
        from cwl_dask.data.store import filesystem_for, protocol_of
        from cwl_dask.driver.outputs import OutputError

        fs = filesystem_for(protocol_of(self.url), configured_options())
        try:
            entries = [e.rstrip("/").rsplit("/", 1)[-1] for e in fs.ls(self.url, detail=False)]
        except FileNotFoundError:
            return
        entries = sorted(e for e in entries if e != ".cwl-dask")
        if entries:
            raise OutputError(
                f"--no-overwrite: --outdir {self.url} already has {', '.join(entries[:5])}; "
                "nothing ran (choose an empty prefix, or drop --no-overwrite)"
            )

    @staticmethod
    def of(request: Any) -> RemoteOutdir | None:
        return RemoteOutdir(request) if is_url(str(request.outdir)) else None

    def publish(self, output: Any) -> Any:
        from cwl_dask.data.staging import publish
        from cwl_dask.data.transfer import TransferError
        from cwl_dask.driver.outputs import OutputError

        try:
            published = publish(output, self.local, self.url, configured_options())
        except TransferError as err:
            raise OutputError(f"cannot write the outputs to --outdir {self.url}: {err}") from None
        self.published = True
        return published

    def finish(self, success: bool) -> None:
        """Remove the local copy once published; after a failure upload the logs and keep it."""
        import os
        import shutil

        if success:
            shutil.rmtree(self.local, ignore_errors=True)
            return
        if os.listdir(self.local):
            try:
                self.publish(None)
                _logger.error("the invocations' logs are uploaded to %s/.cwl-dask/", self.url)
            except Exception as err:
                _logger.error("cannot upload the logs to %s: %s", self.url, err)
        else:
            shutil.rmtree(self.local, ignore_errors=True)
