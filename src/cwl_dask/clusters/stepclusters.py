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
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from cwl_utils.expression import needs_parsing

from cwl_dask.errors import InvalidInputError, StepClusterError

_logger = logging.getLogger("cwl_dask")

REQUIREMENT = "DaskGatewayRequirement"
NAMESPACE = "https://calrissian-cwl.github.io/schema#"
URI = NAMESPACE + REQUIREMENT

#: The requirement's fields, in calrissian's schema order.
FIELDS = ("workerCores", "workerCoresLimit", "workerMemory", "clusterMaxCores", "clusterMaxMemory")
#: An older spelling (Terradue's calrissian, eoap/dask-app-package examples): accepted, warned.
OLD_SPELLINGS = {"clusterMaxCore": "clusterMaxCores"}
#: Keys zoo-calrissian-runner reads from the requirement; cwl-dask's backend decides instead.
RUNNER_KEYS = ("gateway_url", "configmap")

#: How long a step's local cluster may take to start its workers (seconds).
WORKERS_TIMEOUT = 120.0
#: How long a step's Dask Gateway cluster may take to start its scheduler (seconds).
START_TIMEOUT = 300.0

#: The Dask event topic of step clusters on a gateway (see :func:`stop_orphans`).
EVENT_TOPIC = "cwl-dask-step-clusters"

#: The runtime option that carries a step's cluster to the worker (see :func:`shipped`).
OPTION = "cwl_dask_step_cluster"

#: cwltool versions whose schema gets the extension (the documents' and the internal one).
_SCHEMA_VERSIONS = ("v1.0", "v1.1", "v1.2", "v1.3.0-dev1")

_SCHEMA = f"""\
$base: "{NAMESPACE}"
$namespaces:
  cwl: "https://w3id.org/cwl/cwl#"
$graph:
- $import: https://w3id.org/cwl/CommonWorkflowLanguage.yml
- name: {REQUIREMENT}
  type: record
  extends: cwl:ProcessRequirement
  inVocab: false
  doc: |
    A Dask cluster the tool uses while it runs, created before and shut down after each
    invocation (calrissian's extension). Every field is required; cwl-dask checks them
    itself, so that a wrong value is reported with the step's name.
  fields:
    class:
      type: string
      jsonldPredicate: {{_id: "@type", _type: "@vocab"}}
    workerCores: {{type: Any?, doc: "cores of a worker (int or expression)"}}
    workerCoresLimit: {{type: Any?, doc: "core limit of a worker (int or expression)"}}
    workerMemory: {{type: Any?, doc: "memory of a worker, e.g. 4G (string or expression)"}}
    clusterMaxCores: {{type: Any?, doc: "cores of all workers together (int or expression)"}}
    clusterMaxMemory: {{type: Any?, doc: "memory of all workers together, e.g. 16G"}}
    clusterMaxCore: {{type: Any?, doc: "old spelling of clusterMaxCores"}}
    gateway_url: {{type: Any?, doc: "read by zoo-calrissian-runner; ignored by cwl-dask"}}
    configmap: {{type: Any?, doc: "read by zoo-calrissian-runner; ignored by cwl-dask"}}
"""


def register_schema() -> None:
    """Make cwltool accept the requirement: its schema, and its name as supported.

    cwltool's hook for extension schemas is ``use_custom_schema`` (through ``cwltool.main``'s
    ``custom_schema_callback``); its list of supported requirements is the module-level
    ``supportedProcessRequirements``, which calrissian extends the same way. Idempotent.
    """
    from cwltool import process

    for version in _SCHEMA_VERSIONS:
        if process.custom_schemas.get(version) != (NAMESPACE.rstrip("#"), _SCHEMA):
            process.use_custom_schema(version, NAMESPACE.rstrip("#"), _SCHEMA)
    if URI not in process.supportedProcessRequirements:
        process.supportedProcessRequirements.append(URI)


# --------------------------------------------------------------------------- the requirement


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


# --------------------------------------------------------------------------- the driver


def shipped(cluster: StepCluster, backend: Any, image: str | None) -> dict[str, Any]:
    """What a worker needs to create ``cluster``: on the run's gateway, or a LocalCluster.

    A gateway run ships the gateway's address and the driver's authentication object (the
    tool has to authenticate as well: it connects to the cluster by name).
    """
    from cwl_dask.clusters.gateway import GatewayBackend

    target: dict[str, Any] = {"cluster": asdict(cluster), "image": image, "kind": "local"}
    gateway = getattr(backend, "gateway", None) if isinstance(backend, GatewayBackend) else None
    if gateway is not None:
        import dask

        target.update(
            kind="gateway",
            address=gateway.address,
            proxy_address=gateway.proxy_address,
            public_address=dask.config.get("gateway.public-address", None),
            auth=gateway.auth,
        )
    return target


def stop_orphans(client: Any, backend: Any) -> None:
    """Stop the step clusters on the run's gateway that their invocation did not stop.

    A worker stops its step's cluster when the tool ends; but a run that is interrupted or
    fails shuts its own cluster down, killing workers in the middle of a tool. Workers
    announce each step cluster they start and stop (Dask events, kept by the scheduler), so
    the driver stops the ones left, before the run's cluster goes.
    """
    from cwl_dask.clusters.gateway import GatewayBackend

    gateway = getattr(backend, "gateway", None) if isinstance(backend, GatewayBackend) else None
    if gateway is None:
        return
    try:
        running: set[str] = set()
        for _, event in client.get_events(EVENT_TOPIC):
            if event.get("state") == "started":
                running.add(event["cluster"])
            else:
                running.discard(event["cluster"])
        for name in sorted(running):
            _logger.warning("stopping the Dask Gateway cluster %s of an interrupted step", name)
            gateway.stop_cluster(name)
    except Exception as err:
        _logger.warning("could not stop the Dask Gateway clusters of interrupted steps: %s", err)


def _announce(name: str, state: str) -> None:
    """Tell the driver (through the scheduler's event log) that a step cluster started/stopped."""
    try:
        from distributed import get_worker

        worker = get_worker()
    except ValueError:  # not in a Dask task
        return
    worker.log_event(EVENT_TOPIC, {"cluster": name, "state": state})


def docker_image(process: Any) -> str | None:
    """The tool's container image (``DockerRequirement``), for the gateway's ``image``."""
    requirement, _ = process.get_requirement("DockerRequirement")
    if requirement:
        return requirement.get("dockerPull") or requirement.get("dockerImageId")
    return None


# --------------------------------------------------------------------------- the worker


@contextlib.contextmanager
def provided_cluster(
    target: Mapping[str, Any], step: str, report: Callable[[str], None] | None = None
) -> Iterator[dict[str, str]]:
    """Create the step's cluster, yield the tool's environment, always shut it down.

    ``report`` receives one line when the cluster is up and one when it is gone (the
    worker writes them to the invocation's log); by default they are logged.
    """
    cluster = StepCluster(**target["cluster"])
    say = report or _logger.info
    if target["kind"] == "gateway":
        with _gateway_cluster(cluster, target, step, say) as env:
            yield env
    else:
        with _local_cluster(cluster, step, say) as env:
            yield env


def _gateway_environment(
    cluster: StepCluster, target: Mapping[str, Any], name: str
) -> dict[str, str]:
    """calrissian's variables, plus the Dask config that makes ``Gateway()`` find the gateway."""
    env = {
        "DASK_GATEWAY_URL": target["address"],
        "DASK_CLUSTER": name,
        "DASK_GATEWAY_WORKER_CORES": str(cluster.worker_cores),
        "DASK_GATEWAY_WORKER_CORES_LIMIT": str(cluster.worker_cores_limit),
        "DASK_GATEWAY_WORKER_MEMORY": cluster.worker_memory,
        "DASK_GATEWAY_CLUSTER_MAX_CORES": str(cluster.cluster_max_cores),
        "DASK_GATEWAY_CLUSTER_MAX_RAM": cluster.cluster_max_memory,
        "DASK_GATEWAY__ADDRESS": target["address"],
        "DASK_GATEWAY__PROXY_ADDRESS": target["proxy_address"],
    }
    if target.get("image"):
        env["DASK_GATEWAY_IMAGE"] = target["image"]
    if target.get("public_address"):
        env["DASK_GATEWAY__PUBLIC_ADDRESS"] = target["public_address"]
    env.update(_auth_environment(target["auth"]))
    return env


def _auth_environment(auth: Any) -> dict[str, str]:
    """The Dask config variables that rebuild ``auth`` inside the tool (``Gateway()``)."""
    from dask_gateway.auth import BasicAuth, JupyterHubAuth, KerberosAuth

    if isinstance(auth, BasicAuth):
        env = {"DASK_GATEWAY__AUTH__TYPE": "basic"}
        if auth.username is not None:
            env["DASK_GATEWAY__AUTH__KWARGS__USERNAME"] = str(auth.username)
        if auth.password is not None:
            env["DASK_GATEWAY__AUTH__KWARGS__PASSWORD"] = str(auth.password)
        return env
    if isinstance(auth, JupyterHubAuth):
        return {"DASK_GATEWAY__AUTH__TYPE": "jupyterhub", "JUPYTERHUB_API_TOKEN": auth.api_token}
    if isinstance(auth, KerberosAuth):
        return {"DASK_GATEWAY__AUTH__TYPE": "kerberos"}
    kind = type(auth)
    return {"DASK_GATEWAY__AUTH__TYPE": f"{kind.__module__}.{kind.__qualname__}"}


def _set_gateway_options(options: Any, cluster: StepCluster, image: str | None) -> list[str]:
    """Fill the gateway's cluster options this step's requirement maps to.

    ``worker_cores``, ``worker_cores_limit``, ``worker_memory`` and ``image`` are calrissian's
    option names. Each value is offered in the forms a gateway may declare the option with,
    first the usual one: ``worker_memory`` in GiB (a Float, dask-gateway's convention), else
    the requirement's string (a String, as calrissian sends it). A form of the wrong type is
    refused with TypeError and the next is tried; a value out of the gateway's range
    (ValueError) is an error. Options the gateway does not offer are skipped and returned.
    """
    forms: dict[str, list[Any]] = {
        "worker_cores": [cluster.worker_cores, str(cluster.worker_cores)],
        "worker_cores_limit": [cluster.worker_cores_limit, str(cluster.worker_cores_limit)],
        "worker_memory": [cluster.worker_memory_bytes / 2**30, cluster.worker_memory],
    }
    if image:
        forms["image"] = [image]
    skipped = [name for name in forms if name not in options]
    if "worker_cores" in skipped or "worker_memory" in skipped:
        raise StepClusterError(
            "the Dask Gateway offers no worker_cores/worker_memory cluster options "
            f"(it offers: {', '.join(options) or 'none'})"
        )
    for name, values in forms.items():
        if name in skipped:
            continue
        for value in values:
            try:
                options[name] = value
                break
            except TypeError:
                continue
            except ValueError as err:
                raise StepClusterError(f"the Dask Gateway refuses {name}={value}: {err}") from None
        else:
            raise StepClusterError(
                f"the Dask Gateway's option {name} takes none of {', '.join(map(repr, values))}"
            )
    return skipped


@contextlib.contextmanager
def _gateway_cluster(
    cluster: StepCluster, target: Mapping[str, Any], step: str, say: Callable[[str], None]
) -> Iterator[dict[str, str]]:
    """Submit the cluster, scale it, yield the tool's environment; stop it by name at the end.

    The cluster is stopped by name, so one whose start failed half-way is stopped as well.
    """
    from dask_gateway import Gateway

    gateway = Gateway(
        target["address"],
        proxy_address=target["proxy_address"],
        public_address=target.get("public_address"),
        auth=target["auth"],
    )
    name: str | None = None
    try:
        error = None
        try:
            options = gateway.cluster_options()
            skipped = _set_gateway_options(options, cluster, target.get("image"))
            name = gateway.submit(options)
            _announce(name, "started")
            _wait_running(gateway, name)
            gateway.scale_cluster(name, cluster.workers)
        except StepClusterError as err:
            error = str(err)
        except Exception as err:
            error = (
                f"could not create the Dask Gateway cluster of step '{step}' at "
                f"{target['address']}: {type(err).__name__}: {err}"
            )
        if error is not None:
            # Outside the except clause the failed call's frames are garbage: collect them in
            # this thread, not on dask-gateway's IO loop (whose __del__ would block it).
            gc.collect()
            raise StepClusterError(error)
        missing = f" (the gateway has no option {', '.join(skipped)})" if skipped else ""
        say(f"step '{step}': Dask Gateway cluster {name}: {cluster.describe()}{missing}")
        yield _gateway_environment(cluster, target, str(name))
    finally:
        try:
            if name is not None:
                gateway.stop_cluster(name)
                _announce(name, "stopped")
                say(f"step '{step}': Dask Gateway cluster {name} shut down")
        except Exception as err:
            say(f"step '{step}': could not shut down the Dask Gateway cluster {name}: {err}")
        finally:
            gateway.close()
            # A closed Gateway closes again in __del__, which fails once its loop stopped.
            gateway.close = _closed  # type: ignore[method-assign]
            del gateway
            gc.collect()


def _wait_running(gateway: Any, name: str) -> None:
    from dask_gateway.client import ClusterStatus

    deadline = time.monotonic() + START_TIMEOUT
    while (status := gateway.get_cluster(name).status) is not ClusterStatus.RUNNING:
        if status is not ClusterStatus.PENDING:
            raise StepClusterError(f"the Dask Gateway cluster {name} is {status.name}, not running")
        if time.monotonic() > deadline:
            raise StepClusterError(
                f"the Dask Gateway cluster {name} did not start within {START_TIMEOUT:g} s"
            )
        time.sleep(0.25)


def _closed(*args: Any, **kwargs: Any) -> None:
    """Stands in for ``close`` on a dask-gateway object that is closed already."""


@contextlib.contextmanager
def _local_cluster(
    cluster: StepCluster, step: str, say: Callable[[str], None]
) -> Iterator[dict[str, str]]:
    """A local Dask cluster of the requirement's shape on this worker, for local/scheduler runs.

    As many worker processes as the requirement allows, but no more than this machine's
    cores can hold at the requested limit (a laptop runs the package, slower). Scheduler and
    workers are subprocesses (``SubprocessCluster``): a Dask worker's own process is
    daemonic, and multiprocessing refuses children to daemonic processes (LocalCluster).
    """
    from distributed.deploy.subprocess import SubprocessCluster

    machine = os.cpu_count() or 1
    workers = min(cluster.workers, max(1, machine // cluster.worker_cores_limit))
    if workers < cluster.workers:
        say(
            f"step '{step}': this machine has {machine} cores; {workers} of the "
            f"{cluster.workers} workers its DaskGatewayRequirement allows are started"
        )
    try:
        local = SubprocessCluster(
            host="127.0.0.1",
            n_workers=workers,
            threads_per_worker=cluster.worker_cores,
            # plain workers, no nannies: half the processes to start (under load, 10 s
            # instead of 18 s for two); the memory limit still makes them spill and pause
            worker_class="distributed.Worker",
            worker_kwargs={"memory_limit": cluster.worker_memory_bytes},
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
    except Exception as err:
        raise StepClusterError(
            f"could not start the local Dask cluster of step '{step}': {type(err).__name__}: {err}"
        ) from None
    try:
        try:
            local.wait_for_workers(workers, timeout=WORKERS_TIMEOUT)
        except Exception as err:
            raise StepClusterError(
                f"the local Dask cluster of step '{step}' has no {workers} workers after "
                f"{WORKERS_TIMEOUT:g} s: {err}"
            ) from None
        say(
            f"step '{step}': local Dask cluster {local.scheduler_address}: {workers} "
            f"worker{'' if workers == 1 else 's'} of {cluster.worker_cores} "
            f"core{'' if cluster.worker_cores == 1 else 's'} and {cluster.worker_memory}"
        )
        yield {"DASK_SCHEDULER_ADDRESS": local.scheduler_address}
    finally:
        local.close()
        say(f"step '{step}': local Dask cluster {local.scheduler_address} closed")
