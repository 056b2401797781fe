"""The ``cwl-dask`` command: one module per command, a client of :mod:`cwl_dask.api`."""
