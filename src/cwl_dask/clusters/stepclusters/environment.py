"""The environment the tool gets for a gateway step cluster.

calrissian's variables (``DASK_CLUSTER`` and the shape), plus the Dask config variables that
let the tool's own ``Gateway()`` find and authenticate to the run's gateway. Kept apart from
the lifecycle because it is the contract with the tool, not with the gateway.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cwl_dask.clusters.stepclusters.requirement import StepCluster


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
