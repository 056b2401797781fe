"""cwl-dask behind a GA4GH WES endpoint: a backend for the reference server, ``wes-service``.

``wes-server --backend=cwl_dask.wes.backend`` serves the WES 1.0 API (the server, its OpenAPI
document and the upload handling are wes-service's) and runs each submitted workflow as one
``cwl-dask run`` process; the Dask backend comes from the Dask config, as for any run.

Why not wes-service's own ``wes_service.cwl_runner`` with ``--opt runner=cwl-dask``: its
cancel does nothing (the run and its tools go on), it never reports ``CANCELED``, it gives
``run_log.stderr`` as the log's text where WES (and zoo-wes-runner, which fetches it) expect a
URL, and it answers anyone. This package keeps each run in a process group of its own, stops
it on cancel (``cwl-dask run``'s SIGTERM handling stops its tools, then the group is
killed), serves the log at ``runs/{id}/stderr`` and requires HTTP Basic credentials.

It imports nothing of cwl-dask's driver: a run is a ``python -m cwl_dask run`` subprocess.
"""
