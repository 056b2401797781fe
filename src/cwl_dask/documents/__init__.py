"""What a CWL document is, before anything runs: loading, the import and schema
caches, packed documents, summaries and OGC Best Practice rules. Imports only
:mod:`cwl_dask.errors` and cwltool.
"""
