"""Placement labels: where a step's workers must run (``cwl-dask:Placement``).

A step may need workers on particular nodes (high-memory nodes, a GPU partition, a zone):
the hint ``cwl-dask:Placement`` with ``labels: {pool: highmem}`` makes its invocations a
pool of their own (:mod:`cwl_dask.clusters.sizing.pools`) whose labels a backend hands to
whatever creates workers — the Dask Gateway option ``worker_labels``, which the operator's
options handler maps to node selectors and tolerations (see docs/pools.md). The ZOO runner
turns ``get_pod_node_selector()`` into the same labels for every step.

Labels are strings on both sides; anything else is refused with the step's name. The hint
is read as a hint (cwltool keeps unknown hints and applies none of them); it has no schema of
its own, since cwltool takes one extension schema per CWL version and that slot holds
``DaskGatewayRequirement``'s.
"""

from __future__ import annotations

from typing import Any

from cwl_dask.errors import InvalidInputError

NAMESPACE = "https://github.com/cwl-dask/schema#"
HINT = "Placement"
URI = NAMESPACE + HINT

Labels = tuple[tuple[str, str], ...]
#: How a label travels in a task's request (``label:pool=highmem``: 1): only a pooled backend
#: reads it, to pick the pool; every backend drops it from the Dask resources.
LABEL_PREFIX = "label:"


def as_request(labels: Labels) -> dict[str, float]:
    return {f"{LABEL_PREFIX}{key}={value}": 1.0 for key, value in labels}


def from_request(request: dict[str, float]) -> Labels:
    pairs = [k[len(LABEL_PREFIX) :].partition("=") for k in request if k.startswith(LABEL_PREFIX)]
    return tuple(sorted((key, value) for key, _, value in pairs))


def labels_of(tool: Any) -> Labels:
    """The tool's placement labels (its own, or inherited from a workflow), sorted."""
    requirement, _ = tool.get_requirement(URI)
    if not requirement:
        requirement, _ = tool.get_requirement(HINT)  # a document without the namespace
    if not requirement:
        return ()
    return normalise(requirement.get("labels"), f"tool '{tool.tool.get('id', '?')}'")


def normalise(labels: Any, where: str) -> Labels:
    """``{key: value}`` → sorted string pairs; refuses anything but a mapping of strings."""
    if labels is None:
        return ()
    if not isinstance(labels, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in labels.items()
    ):
        raise InvalidInputError(
            f"{where}: Placement labels must be a mapping of strings to strings, got {labels!r}"
        )
    return tuple(sorted(labels.items()))
