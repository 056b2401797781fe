"""The values sizing works with and hands out: options, per-invocation requests, the plan.

Kept apart from the code that computes them so that every stage (reading requests, walking
the workflow, computing the spec, rendering it) shares one vocabulary without importing
another stage; also the two number formats every stage prints with.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

#: The classes that run as Dask tasks and therefore need a worker that fits them.
SIZED_CLASSES = ("CommandLineTool", "ExpressionTool")


class _Unknown:
    """The value of an input that exists only at run time (another step's output)."""

    def __repr__(self) -> str:
        return "<unknown>"


UNKNOWN: Any = _Unknown()

Binding = dict[str, Any]


@dataclass(frozen=True)
class SizingOptions:
    """The guesses and limits sizing uses where the documents do not decide.

    ``default_width``: invocations assumed for a scatter whose length is not known up front
    (no job order, or an array produced by another step). ``fallback_cores`` and
    ``fallback_ram_mib``: the request assumed for a ``ResourceRequirement`` expression that
    cannot be evaluated up front; they are deliberately larger than CWL's defaults (the
    same 2 cores / 4096 MiB the ZOO runners use as their defaults), since a tool computes
    its request precisely because it may need more than the default. ``max_worker_cores``,
    ``max_worker_memory_mib``, ``max_workers``: what the backend can offer; the spec never
    exceeds them, and a note names each step that asks for more.
    """

    default_width: int = 8
    fallback_cores: float = 2
    fallback_ram_mib: float = 4096
    max_worker_cores: float | None = None
    max_worker_memory_mib: float | None = None
    max_workers: int | None = None
    #: Largest share of a pool's worker resources that may sit idle for two step shapes to
    #: share one pool (see :mod:`~cwl_dask.clusters.sizing.pools`); 0 keeps every shape apart.
    pool_waste: float = 0.25


@dataclass(frozen=True)
class ToolRequest:
    """One invocation's ``ResourceRequirement`` as cwltool evaluates it (RAM in MiB).

    ``cores``/``ram_mib`` are what the executor asks Dask for (cwltool's ``coresMin`` and
    ``ceil(ramMin)``); the Max values are reported, not used for placement.
    """

    cores_min: float
    cores_max: float
    ram_min_mib: float
    ram_max_mib: float
    notes: tuple[str, ...] = ()
    #: GPUs (``cwltool:CUDARequirement``'s ``cudaDeviceCountMin``); 0 without the requirement.
    gpus: int = 0
    #: Placement labels (``cwl-dask:Placement``), as sorted ``(key, value)`` pairs.
    labels: tuple[tuple[str, str], ...] = ()

    @property
    def cores(self) -> float:
        return self.cores_min

    @property
    def ram_mib(self) -> int:
        return math.ceil(self.ram_min_mib)


@dataclass(frozen=True)
class StepRequest:
    """One row of the plan: a tool at a step path, its largest request, its width.

    ``step`` is the path of workflow steps (``process/ndvi``) or, for a lone tool, its id.
    ``width`` is how many invocations of it the job order makes (scatter lengths multiplied
    along the path); when invocations ask for different amounts, the largest is shown.
    """

    step: str
    tool: str
    cores: float
    ram_mib: int
    cores_max: float
    ram_max_mib: int
    width: int
    notes: tuple[str, ...] = ()
    #: The tool's own Dask cluster (``DaskGatewayRequirement``), largest invocation's; or None.
    dask_cluster: dict[str, Any] | None = None
    gpus: int = 0
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Pool:
    """Workers of one shape for the steps whose invocations they fit with little waste.

    ``cores``/``ram_mib``/``gpus`` is one worker; ``labels`` the placement labels its
    workers must carry; ``max_workers`` the widest parallelism of the pool's own steps;
    ``waste`` the share of the pool's worker resources its steps' invocations leave idle
    (width-weighted, 0 for a pool of one exact shape); ``steps`` the step paths.
    """

    name: str
    cores: float
    ram_mib: int
    gpus: int
    labels: dict[str, str]
    min_workers: int
    max_workers: int
    steps: tuple[str, ...]
    waste: float = 0.0


@dataclass(frozen=True)
class ClusterSpec:
    """The cluster a backend should create for the workflow.

    A worker is big enough for the largest single invocation, so every task can be placed;
    ``min_workers`` is 1 (one such worker runs the whole workflow, one task after another);
    ``max_workers`` is the widest parallelism, in workers (see :func:`plan`).
    """

    worker_cores: float
    worker_memory_mib: int
    min_workers: int
    max_workers: int
    worker_gpus: int = 0


@dataclass(frozen=True)
class Plan:
    """The cluster spec, the per-step rows it was derived from, and what was assumed."""

    spec: ClusterSpec
    steps: tuple[StepRequest, ...]
    notes: tuple[str, ...] = ()
    pools: tuple[Pool, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """``{"spec": {...}, "pools": [...], "steps": [...], "notes": [...]}``, JSON-ready."""
        return {
            "spec": asdict(self.spec),
            "pools": [asdict(pool) for pool in self.pools],
            "steps": [asdict(step) for step in self.steps],
            "notes": list(self.notes),
        }


def _number(value: float) -> float:
    """``2.0`` → ``2``: cwltool refuses float results before v1.2, and tables read better."""
    return int(value) if float(value).is_integer() else float(value)


def _fmt(value: float) -> str:
    return f"{value:g}"
