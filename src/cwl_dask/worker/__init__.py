"""What runs inside a Dask worker: one tool invocation (cwltool's job, guarded
tool processes, secret files) and the local worker's preload. Never imports
:mod:`cwl_dask.driver`: workers run it without a driver in the process.
"""
