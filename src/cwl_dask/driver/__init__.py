"""The driver: one run end to end in the process that runs cwltool's main loop —
the JobExecutor that turns invocations into Dask tasks, the tool factory, batching,
outputs, stopping and faults. May import every other sub-package; nothing imports it
but the API, the CLI and the ZOO runner.
"""
