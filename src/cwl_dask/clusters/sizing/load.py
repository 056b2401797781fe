"""How many workers of one size a set of steps keeps busy at once (their widest wave).

Shared by the whole-workflow spec (:mod:`~.planning`) and the per-pool sizes (:mod:`~.pools`):
both measure the same tree of waves, the pools counting only their own steps.
"""

from __future__ import annotations

import math
from collections.abc import Container
from fractions import Fraction

from cwl_dask.clusters.sizing.model import ToolRequest
from cwl_dask.clusters.sizing.walk import _Node, _ToolNode

_MANY = 1 << 30


def fits(request: ToolRequest, cores: float, ram: float, gpus: int = 0) -> int:
    """How many invocations with ``request`` one ``cores``/``ram``/``gpus`` worker runs at once."""
    counts = [
        math.floor(Fraction(cores) / Fraction(request.cores)) if request.cores > 0 else _MANY,
        math.floor(Fraction(ram) / Fraction(request.ram_mib)) if request.ram_mib > 0 else _MANY,
    ]
    if request.gpus > 0:
        counts.append(gpus // request.gpus)
    return max(1, min(counts))


def share(request: ToolRequest, cores: float, ram: float, gpus: int = 0) -> Fraction:
    """The share of a worker one invocation takes: 1/k if k fit."""
    return Fraction(1, fits(request, cores, ram, gpus))


def load(
    node: _Node, cores: float, ram: float, gpus: int = 0, only: Container[int] | None = None
) -> Fraction:
    """Workers of this size busy at the widest wave; ``only``: ids of the rows that count."""
    if isinstance(node, _ToolNode):
        if only is not None and id(node.row) not in only:
            return Fraction(0)
        return sum(
            (count * share(request, cores, ram, gpus) for request, count in node.row.instances),
            Fraction(0),
        )
    return max(
        (sum((load(n, cores, ram, gpus, only) for n in wave), Fraction(0)) for wave in node.waves),
        default=Fraction(0),
    )
