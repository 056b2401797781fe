"""What the driver hands the worker about a step's cluster: where to create it, which image.

The runtime option :data:`OPTION` carries this plain dict in the invocation's options, so
the worker side (:mod:`~cwl_dask.clusters.stepclusters.lifecycle`) needs no backend object.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from cwl_dask.clusters.stepclusters.requirement import StepCluster

#: The runtime option that carries a step's cluster to the worker (see :func:`shipped`).
OPTION = "cwl_dask_step_cluster"


def shipped(cluster: StepCluster, backend: Any, image: str | None) -> dict[str, Any]:
    """What a worker needs to create ``cluster``: on the run's gateway, or a LocalCluster.

    A gateway run ships the gateway's address and the driver's authentication object (the
    tool has to authenticate as well: it connects to the cluster by name).
    """
    from cwl_dask.clusters.gateway import GatewayBackend

    target: dict[str, Any] = {"cluster": asdict(cluster), "image": image, "kind": "local"}
    backend = getattr(backend, "primary", backend)  # a PooledBackend: its first pool's
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


def docker_image(process: Any) -> str | None:
    """The tool's container image (``DockerRequirement``), for the gateway's ``image``."""
    requirement, _ = process.get_requirement("DockerRequirement")
    if requirement:
        return requirement.get("dockerPull") or requirement.get("dockerImageId")
    return None
