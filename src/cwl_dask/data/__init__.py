"""The run's data in object storage, for workers that share no filesystem (``--workdir s3://…``).

Neutral ground between the two sides of a run: the driver (``driver/``) uploads local
inputs and downloads final outputs, the worker (``worker/``) fetches inputs into its scratch
directory and uploads what a tool wrote; both need the same notion of a store (an fsspec
URL plus storage options) and the same walk over CWL ``File``/``Directory`` objects. So this
package imports neither side: ``store`` (URLs, storage options, the check before a run),
``objects`` (visiting and rewriting File/Directory objects), ``transfer`` (files and trees
up and down, atomically), ``fsaccess`` (cwltool's ``StdFsAccess`` over the store, for
expressions the driver evaluates), ``staging`` (the driver's uploads and downloads).
"""
