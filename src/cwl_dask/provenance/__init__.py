"""Provenance of a run: cwltool's CWLProv research object, filled with what workers ran.

cwltool writes the research object (``--provenance DIR``: a BagIt folder with the packed
workflow, the job, the data by checksum and W3C PROV of every process run) when it runs
jobs itself. In cwl-dask the tools run on Dask workers, where no research object exists, so
the driver records each invocation from the outcome a worker ships back
(:mod:`cwl_dask.provenance.recorder`), through cwltool's own ``ProvenanceProfile``. The
Workflow Run RO-Crate is built from the finished folder (:mod:`cwl_dask.provenance.crate`).

Driver side only: the worker never imports this package (``python -m cwl_dask._layout``),
and this package imports neither the driver nor the worker — it is handed their objects.
"""
