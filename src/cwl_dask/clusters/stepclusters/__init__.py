"""Steps that use Dask themselves: calrissian's ``DaskGatewayRequirement``.

Many EO tools are Dask programs. The EOEPCA ecosystem describes their cluster with
calrissian's CWL extension ``DaskGatewayRequirement`` (namespace
``https://calrissian-cwl.github.io/schema#``): before such a tool runs, the runner creates a
cluster of the requested shape, tells the tool its name in ``DASK_CLUSTER``, and shuts it
down afterwards. This module does that natively, per invocation, on the Dask worker that
runs the tool:

* :func:`register_schema` teaches cwltool the extension (its schema and its name in the
  supported requirements), so it may stand under ``requirements`` as well as ``hints``;
* :func:`find_requirement` and :func:`evaluate` turn a tool's requirement into a
  :class:`StepCluster`, expressions evaluated with the invocation's inputs by cwltool's
  Builder (as for ``ResourceRequirement``), every field checked, errors naming the step;
* :func:`provided_cluster` creates the cluster around the tool's run — on the run's Dask
  Gateway when the run uses one, otherwise a dedicated ``LocalCluster`` on the worker — and
  yields the variables to add to the job's environment (cwltool's ``JobBase.environment``);
  the cluster is shut down whatever happens to the tool.

The parts, one module each: :mod:`~.schema` (the extension's names and cwltool schema),
:mod:`~.requirement` (finding, evaluating and checking the requirement: :class:`StepCluster`),
:mod:`~.target` (what the driver ships to the worker: :func:`shipped`), :mod:`~.lifecycle`
(creating, scaling and shutting down the cluster: :func:`provided_cluster`,
:func:`stop_orphans`) and :mod:`~.environment` (the variables the tool gets). This package
re-exports the names its callers use; code inside it imports from the modules themselves.
"""

from cwl_dask.clusters.stepclusters.environment import _auth_environment, _gateway_environment
from cwl_dask.clusters.stepclusters.lifecycle import (
    EVENT_TOPIC,
    START_TIMEOUT,
    WORKERS_TIMEOUT,
    _announce,
    _gateway_cluster,
    _local_cluster,
    _set_gateway_options,
    _wait_running,
    provided_cluster,
    stop_orphans,
)
from cwl_dask.clusters.stepclusters.requirement import (
    FIELDS,
    OLD_SPELLINGS,
    RUNNER_KEYS,
    StepCluster,
    check_static,
    evaluate,
    expressions_of,
    fields_of,
    find_requirement,
    is_requirement,
    parse_memory,
)
from cwl_dask.clusters.stepclusters.schema import NAMESPACE, REQUIREMENT, URI, register_schema
from cwl_dask.clusters.stepclusters.target import OPTION, docker_image, shipped

__all__ = [
    "EVENT_TOPIC",
    "FIELDS",
    "NAMESPACE",
    "OLD_SPELLINGS",
    "OPTION",
    "REQUIREMENT",
    "RUNNER_KEYS",
    "START_TIMEOUT",
    "URI",
    "WORKERS_TIMEOUT",
    "StepCluster",
    "_announce",
    "_auth_environment",
    "_gateway_cluster",
    "_gateway_environment",
    "_local_cluster",
    "_set_gateway_options",
    "_wait_running",
    "check_static",
    "docker_image",
    "evaluate",
    "expressions_of",
    "fields_of",
    "find_requirement",
    "is_requirement",
    "parse_memory",
    "provided_cluster",
    "register_schema",
    "shipped",
    "stop_orphans",
]
