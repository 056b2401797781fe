"""Worker pools: steps grouped by the shape of worker they need (``plan``'s ``pools``).

One worker size for a whole workflow is the largest step's: a 1-core scatter then holds
16-core workers, or, capped, the 16-core step cannot run. Instead each distinct step shape
(cores, RAM, GPUs, placement labels) starts as a pool of its own, and two pools are merged
while one worker size (the larger of each dimension) serves both with little waste:

* the *waste* of a step on a worker is the share of the worker's cores and RAM (and GPUs,
  when it has some) left idle when the worker is filled with that step's invocations —
  ``1 - mean(k·need/have)`` over the dimensions, ``k`` the invocations that fit;
* a pool's waste is its steps' waste weighted by their invocations (widths);
* the pair of pools (with equal GPU count and labels: GPUs and node placement are never
  given to steps that did not ask) whose merge wastes least is merged, while that waste is
  at most ``SizingOptions.pool_waste`` (default 25 %); ``pool_waste = 0`` keeps only exact
  duplicates together.

Each pool's ``max_workers`` is the widest parallelism of its own steps in workers of its
size (the same wave measure as the whole-workflow spec, :mod:`~.load`); ``min_workers``
is 0, so a pool holds nothing while its steps do not run, except for a single pool, which
keeps the spec's one worker. Worker sizes are capped by the backend's limits as the spec is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from cwl_dask.clusters.sizing.load import fits, load
from cwl_dask.clusters.sizing.model import Pool, SizingOptions, ToolRequest, _fmt
from cwl_dask.clusters.sizing.walk import _Node, _Row


@dataclass(frozen=True)
class _Shape:
    cores: float
    ram: int
    gpus: int
    labels: tuple[tuple[str, str], ...]


@dataclass
class _Group:
    """Rows that share one worker size (the largest of each dimension over them)."""

    rows: list[_Row]

    def shape(self, options: SizingOptions) -> _Shape:
        requests = [r for row in self.rows for r, n in row.instances if n > 0]
        cores = max(r.cores for r in requests)
        ram = max(r.ram_mib for r in requests)
        if options.max_worker_cores is not None:
            cores = min(cores, options.max_worker_cores)
        if options.max_worker_memory_mib is not None:
            ram = min(ram, math.ceil(options.max_worker_memory_mib))
        return _Shape(cores, ram, max(r.gpus for r in requests), requests[0].labels)

    def waste(self, options: SizingOptions) -> float:
        shape = self.shape(options)
        total, idle = Fraction(0), Fraction(0)
        for row in self.rows:
            for request, count in row.instances:
                if count > 0:
                    total += count
                    idle += count * _idle(request, shape)
        return float(idle / total) if total else 0.0


def _idle(request: ToolRequest, shape: _Shape) -> Fraction:
    """The share of a ``shape`` worker left idle when filled with ``request``'s invocations."""
    k = fits(request, shape.cores, shape.ram, shape.gpus)
    used = [
        min(Fraction(1), Fraction(k) * Fraction(request.cores) / Fraction(shape.cores)),
        min(Fraction(1), Fraction(k * request.ram_mib, max(1, shape.ram))),
    ]
    if shape.gpus:
        used.append(min(Fraction(1), Fraction(k * request.gpus, shape.gpus)))
    return 1 - sum(used, Fraction(0)) / len(used)


def _kind(row: _Row) -> tuple[int, tuple[tuple[str, str], ...]]:
    requests = [r for r, n in row.instances if n > 0]
    return max(r.gpus for r in requests), requests[0].labels


def _merged(groups: list[_Group], options: SizingOptions) -> list[_Group]:
    """Merge the least wasteful pair of groups while its waste is within the option.

    A pair's waste is computed once (a merge only adds pairs with the new group), so the
    merging costs O(groups²) waste computations.
    """
    made = list(groups)  # every group ever made: keeps ids unique for the cache
    cache: dict[tuple[int, int], float | None] = {}

    def cost(first: _Group, second: _Group) -> float | None:
        key = (id(first), id(second))
        if key not in cache:
            same_kind = _kind(first.rows[0]) == _kind(second.rows[0])
            cache[key] = _Group(first.rows + second.rows).waste(options) if same_kind else None
        return cache[key]

    while True:
        best: tuple[float, int, int] | None = None
        for i, first in enumerate(groups):
            for j in range(i + 1, len(groups)):
                waste = cost(first, groups[j])
                if waste is None or waste > options.pool_waste:
                    continue
                if best is None or waste < best[0]:
                    best = (waste, i, j)
        if best is None:
            return groups
        _, i, j = best
        groups[i] = _Group(groups[i].rows + groups[j].rows)
        made.append(groups[i])
        del groups[j]


def pools(tree: _Node, rows: list[_Row], options: SizingOptions) -> tuple[Pool, ...]:
    """The pools for the rows that run (see the module's docstring), largest worker first."""
    running = [row for row in rows if any(n > 0 for _, n in row.instances)]
    exact: dict[_Shape, _Group] = {}
    for row in running:
        single = _Group([row])
        exact.setdefault(single.shape(options), _Group([])).rows.append(row)
    groups = _merged(list(exact.values()), options)
    result = []
    order = {id(row): n for n, row in enumerate(rows)}
    for group in groups:
        group.rows.sort(key=lambda row: order[id(row)])
        shape = group.shape(options)
        peak = load(tree, shape.cores, shape.ram, shape.gpus, {id(row) for row in group.rows})
        result.append(
            Pool(
                name=_name(shape),
                cores=shape.cores,
                ram_mib=shape.ram,
                gpus=shape.gpus,
                labels=dict(shape.labels),
                min_workers=0 if len(groups) > 1 else 1,
                max_workers=max(1, math.ceil(peak)),
                steps=tuple(row.path for row in group.rows),
                waste=round(group.waste(options), 3),
            )
        )
    result.sort(key=lambda p: (-p.gpus, -p.cores, -p.ram_mib, p.name))
    if options.max_workers is not None:
        result = [
            Pool(**{**vars(p), "max_workers": min(p.max_workers, options.max_workers)})
            for p in result
        ]
    return tuple(result)


def _name(shape: _Shape) -> str:
    """``2cpu-3072mib``, ``-1gpu``, ``-highmem``: what the pool's workers are, readable."""
    parts = [f"{_fmt(shape.cores).replace('.', '_')}cpu", f"{shape.ram}mib"]
    if shape.gpus:
        parts.append(f"{shape.gpus}gpu")
    parts.extend(value for _, value in shape.labels)
    return "-".join(parts)
