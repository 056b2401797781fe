"""A tool's ``DaskGatewayRequirement``: finding it, evaluating it, checking every field.

Used at load time (:func:`check_static`), by ``cwl-dask plan`` and by the driver before an
invocation is submitted; it creates nothing. Errors are :class:`InvalidInputError` naming
the step and the field.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from cwl_utils.expression import needs_parsing

from cwl_dask.clusters.stepclusters.schema import REQUIREMENT
from cwl_dask.errors import InvalidInputError

_logger = logging.getLogger("cwl_dask")


#: The requirement's fields, in calrissian's schema order.
FIELDS = ("workerCores", "workerCoresLimit", "workerMemory", "clusterMaxCores", "clusterMaxMemory")
#: An older spelling (Terradue's calrissian, eoap/dask-app-package examples): accepted, warned.
OLD_SPELLINGS = {"clusterMaxCore": "clusterMaxCores"}
#: Keys zoo-calrissian-runner reads from the requirement; cwl-dask's backend decides instead.
RUNNER_KEYS = ("gateway_url", "configmap")


def is_requirement(entry: Any) -> bool:
    """Whether a requirement/hint entry is a DaskGatewayRequirement, in any namespace.

    ``calrissian:DaskGatewayRequirement``, the full URI, and any other namespace whose last
    ``#``, ``/`` or ``:`` segment is the name (as zoo-calrissian-runner matches it).
    """
    if not isinstance(entry, Mapping):
        return False
    cls = entry.get("class")
    return isinstance(cls, str) and re.split(r"[#/:]", cls)[-1] == REQUIREMENT


def find_requirement(process: Any) -> Mapping[str, Any] | None:
    """The DaskGatewayRequirement in force for a tool: requirements first, then hints.

    ``process.requirements``/``hints`` are cwltool's *effective* lists (inherited from the
    workflow and the step included); as in cwltool's ``get_requirement``, the last matching
    entry of ``requirements`` wins, then the last of ``hints``.
    """
    for entries in (process.requirements, process.hints):
        for entry in reversed(entries or []):
            if is_requirement(entry):
                return entry
    return None


@dataclass(frozen=True)
class StepCluster:
    """One invocation's evaluated DaskGatewayRequirement (memory as given, and in bytes)."""

    worker_cores: int
    worker_cores_limit: int
    worker_memory: str
    cluster_max_cores: int
    cluster_max_memory: str

    @property
    def worker_memory_bytes(self) -> int:
        return parse_memory(self.worker_memory)

    @property
    def cluster_max_memory_bytes(self) -> int:
        return parse_memory(self.cluster_max_memory)

    @property
    def workers(self) -> int:
        """calrissian's count: as many workers as both cluster limits allow."""
        return min(
            self.cluster_max_cores // self.worker_cores_limit,
            self.cluster_max_memory_bytes // self.worker_memory_bytes,
        )

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "workers": self.workers}

    def describe(self) -> str:
        return (
            f"{self.workers} worker{'' if self.workers == 1 else 's'} of {self.worker_cores} "
            f"core{'' if self.worker_cores == 1 else 's'} (limit {self.worker_cores_limit}) and "
            f"{self.worker_memory}; cluster at most {self.cluster_max_cores} cores and "
            f"{self.cluster_max_memory}"
        )


#: Memory units: calrissian's (K, M, G… binary; KB, MB, GB… decimal) and Kubernetes' (Ki…).
_UNITS = {"": 1, "b": 1}
for _power, _letter in enumerate("kmgtp", start=1):
    _UNITS[_letter] = _UNITS[f"{_letter}i"] = _UNITS[f"{_letter}ib"] = 1024**_power
    _UNITS[f"{_letter}b"] = 1000**_power
_MEMORY = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*")


def parse_memory(value: str) -> int:
    """Bytes in ``"4G"`` (calrissian: G = GiB, GB = 10⁹), ``"4Gi"``, ``"512MiB"``…"""
    match = _MEMORY.fullmatch(value)
    unit = match.group(2).lower() if match else ""
    if not match or unit not in _UNITS or unit in ("", "b"):
        raise ValueError(f"{value!r} is not a memory size with a unit such as '4G' or '512Mi'")
    return int(float(match.group(1)) * _UNITS[unit])


def _integer(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a positive integer, not {value!r}")
    if float(value) != int(value) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, not {value!r}")
    return int(value)


def _memory(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a memory size such as '4G', not {value!r}")
    try:
        size = parse_memory(value)
    except ValueError as err:
        raise ValueError(f"{name}: {err}") from None
    if size <= 0:
        raise ValueError(f"{name} must be positive, not {value!r}")
    return value.strip()


_warned: set[tuple[int, str]] = set()


def fields_of(requirement: Mapping[str, Any], where: str) -> dict[str, Any]:
    """The requirement's five fields, old spellings renamed; missing ones are an error."""
    values: dict[str, Any] = {}
    for key, value in requirement.items():
        key = str(key).split("#")[-1].split("/")[-1]
        if key == "class":
            continue
        if key in OLD_SPELLINGS:
            new = OLD_SPELLINGS[key]
            if new in requirement:
                raise InvalidInputError(
                    f"{where}: DaskGatewayRequirement has both '{key}' and '{new}'"
                )
            if (id(requirement), key) not in _warned:  # once per document, not per invocation
                _warned.add((id(requirement), key))
                _logger.warning(
                    "%s: DaskGatewayRequirement field '%s' is an old spelling of '%s'; "
                    "accepted, but calrissian ignores the whole requirement with it",
                    where,
                    key,
                    new,
                )
            key = new
        elif key in RUNNER_KEYS:
            _logger.debug(
                "%s: DaskGatewayRequirement field '%s' is zoo-calrissian-runner's; cwl-dask "
                "creates the cluster on its own backend and ignores it",
                where,
                key,
            )
            continue
        elif key not in FIELDS:
            raise InvalidInputError(
                f"{where}: DaskGatewayRequirement has an unknown field '{key}' "
                f"(its fields: {', '.join(FIELDS)})"
            )
        values[key] = value
    missing = [name for name in FIELDS if name not in values]
    if missing:
        raise InvalidInputError(
            f"{where}: DaskGatewayRequirement lacks {', '.join(missing)} "
            f"(it needs {', '.join(FIELDS)})"
        )
    return values


def expressions_of(requirement: Mapping[str, Any]) -> bool:
    """Whether any field of the requirement is a CWL expression."""
    return any(isinstance(v, str) and needs_parsing(v) for v in requirement.values())


def evaluate(requirement: Mapping[str, Any], builder: Any, where: str) -> StepCluster:
    """The requirement with its expressions evaluated by ``builder`` and its fields checked.

    ``builder`` is cwltool's Builder for the invocation (``Process._init_job``), or None when
    no field is an expression. Any invalid value raises :class:`InvalidInputError` naming
    ``where`` (the step) and the field.
    """
    values = fields_of(requirement, where)
    for name, value in values.items():
        if isinstance(value, str) and needs_parsing(value):
            if builder is None:
                raise InvalidInputError(f"{where}: DaskGatewayRequirement {name} needs inputs")
            try:
                values[name] = builder.do_eval(value)
            except Exception as err:
                raise InvalidInputError(
                    f"{where}: DaskGatewayRequirement {name} {value!r} failed: {err}"
                ) from None
    try:
        cluster = StepCluster(
            worker_cores=_integer("workerCores", values["workerCores"]),
            worker_cores_limit=_integer("workerCoresLimit", values["workerCoresLimit"]),
            worker_memory=_memory("workerMemory", values["workerMemory"]),
            cluster_max_cores=_integer("clusterMaxCores", values["clusterMaxCores"]),
            cluster_max_memory=_memory("clusterMaxMemory", values["clusterMaxMemory"]),
        )
    except ValueError as err:
        raise InvalidInputError(f"{where}: DaskGatewayRequirement {err}") from None
    if cluster.worker_cores_limit < cluster.worker_cores:
        raise InvalidInputError(
            f"{where}: DaskGatewayRequirement workerCoresLimit ({cluster.worker_cores_limit}) "
            f"is less than workerCores ({cluster.worker_cores})"
        )
    if cluster.workers < 1:
        raise InvalidInputError(
            f"{where}: DaskGatewayRequirement allows no worker: clusterMaxCores "
            f"{cluster.cluster_max_cores} // workerCoresLimit {cluster.worker_cores_limit} and "
            f"clusterMaxMemory {cluster.cluster_max_memory} // workerMemory "
            f"{cluster.worker_memory} must both be at least 1"
        )
    return cluster


def check_static(process: Any) -> None:
    """Check a CommandLineTool's requirement as far as it can be without inputs (at load).

    Errors name the tool; the evaluated values are checked again per invocation.
    """
    requirement = find_requirement(process)
    if requirement is None or process.tool.get("class") != "CommandLineTool":
        return
    from cwltool.process import shortname

    where = f"tool '{shortname(str(process.tool.get('id', '')))}'"
    if expressions_of(requirement):
        fields_of(requirement, where)  # missing/unknown fields are known already
    else:
        evaluate(requirement, None, where)
