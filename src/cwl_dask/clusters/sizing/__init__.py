"""How big a Dask cluster a workflow needs, before it runs: ``cwl-dask plan``.

A backend that creates its cluster (Dask Gateway, Kubernetes) must choose the size of a
worker and how many of them to allow before the first task exists. The answer is derived
from the same numbers the executor will later attach to each task, so the two cannot
disagree:

* every process reachable from the loaded ``Process`` is walked — ``$graph`` packages,
  inline ``run``, subworkflows, a lone CommandLineTool — and each CommandLineTool and
  ExpressionTool (each runs as one Dask task per invocation) gets one row per step path;
* its request is cwltool's own ``Process.evalResources``: inherited requirements and hints,
  the list and map forms, the CWL defaults (1 core; 256 MiB, or 1024 MiB for documents
  written as v1.0) and the rule "only Min given → Max = Min" are cwltool's, not re-derived;
* expressions are evaluated against the job order when every input of the invocation is
  known up front; otherwise the row says why not and a configurable fallback is used;
* scatter widths come from the lengths of the job order's arrays, per invocation, so a
  scatter inside a scattered subworkflow multiplies (and uneven inner arrays are counted
  exactly); an unknown length counts as a configurable default width.

The known sizing bugs of the ZOO-project runners (``zoo-runner-common``) do not exist here:
a package holding only a CommandLineTool is sized, ``coresMin``/``ramMin`` are honoured
rather than only the Max values, hints count, and v1.0 documents get cwltool's 1024 MiB
default RAM.

Everything here is a pure function of the loaded process, the job order and the options:
nothing runs and nothing is created on disk (placeholder directories bind the inputs, as
:meth:`cwl_dask.driver.tool.DaskProcessMixin.resource_request` does).

The stages, one module each: :mod:`~.model` (options, requests, the plan's values),
:mod:`~.joborder` (reading the job order), :mod:`~.resources` (one invocation's evaluated
``ResourceRequirement``), :mod:`~.scatter` (step inputs, scatter combinations, waves),
:mod:`~.walk` (the process tree, one row per tool and step path), :mod:`~.planning`
(:func:`plan`: the worker size and ``max_workers``), :mod:`~.load` (the widest wave's load in
workers of a size), :mod:`~.pools` (steps grouped into worker pools by shape, the ``pools`` of
the plan) and :mod:`~.render` (:func:`format_plan`). This package re-exports their public names.
"""

from cwl_dask.clusters.sizing.joborder import load_job_order
from cwl_dask.clusters.sizing.model import (
    SIZED_CLASSES,
    UNKNOWN,
    Binding,
    ClusterSpec,
    Plan,
    Pool,
    SizingOptions,
    StepRequest,
    ToolRequest,
)
from cwl_dask.clusters.sizing.planning import plan
from cwl_dask.clusters.sizing.render import format_plan
from cwl_dask.clusters.sizing.resources import resource_request

__all__ = [
    "SIZED_CLASSES",
    "UNKNOWN",
    "Binding",
    "ClusterSpec",
    "Plan",
    "Pool",
    "SizingOptions",
    "StepRequest",
    "ToolRequest",
    "format_plan",
    "load_job_order",
    "plan",
    "resource_request",
]
