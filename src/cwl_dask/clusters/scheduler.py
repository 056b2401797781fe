"""An already running Dask scheduler, reached by address."""

from __future__ import annotations

from typing import Any

from cwl_dask.clusters.base import (
    Backend,
    WorkerShape,
    _declared_shape,
)
from cwl_dask.errors import BackendError

#: The Dask config keys a client of a ``tls://`` scheduler reads its credentials from (YAML,
#: or ``DASK_DISTRIBUTED__COMM__TLS__CA_FILE``, ``…__CLIENT__CERT``, ``…__CLIENT__KEY``).
TLS_CONFIG_KEYS = (
    "distributed.comm.tls.ca-file",
    "distributed.comm.tls.client.cert",
    "distributed.comm.tls.client.key",
)


def check_tls_credentials(address: str) -> None:
    """A ``tls://`` address needs Dask's TLS config; without it, say which keys to set.

    Dask would otherwise fail inside the connection with "TLS expects a ssl_context
    argument … Instead got None", which names neither the option nor the config.
    """
    import dask

    if not address.startswith("tls://"):
        return
    missing = [key for key in TLS_CONFIG_KEYS[:2] if not dask.config.get(key, None)]
    if missing:
        raise BackendError(
            f"--scheduler {address} speaks TLS, and Dask's TLS config has no "
            f"{' and no '.join(missing)}: set {', '.join(TLS_CONFIG_KEYS)} (the CA that "
            "signed the scheduler's certificate, and this client's certificate and key) in "
            "the Dask config, e.g. DASK_DISTRIBUTED__COMM__TLS__CA_FILE=ca.pem "
            "DASK_DISTRIBUTED__COMM__TLS__CLIENT__CERT=cert.pem "
            "DASK_DISTRIBUTED__COMM__TLS__CLIENT__KEY=key.pem"
        )


class SchedulerBackend(Backend):
    """An already running Dask scheduler, reached by address; its workers are not ours."""

    def __init__(self, address: str, timeout: float = 10.0) -> None:
        super().__init__()
        self.address = address
        self.timeout = timeout
        self._shape: WorkerShape | None = None
        self._shape_known = False

    @property
    def description(self) -> str:
        return f"the cluster at {self.address}"

    def connect(self) -> Any:
        from distributed import Client

        check_tls_credentials(self.address)
        try:
            client = Client(self.address, timeout=self.timeout)
        except (OSError, TimeoutError) as err:
            raise BackendError(
                f"cannot reach the Dask scheduler at {self.address} ({err}); check the address "
                "and that the scheduler runs, or leave out --scheduler to use a local cluster"
            ) from err
        try:
            client.wait_for_workers(1, timeout=self.timeout)
        except TimeoutError as err:
            client.close()
            raise BackendError(
                f"the Dask scheduler at {self.address} has no workers after {self.timeout:g} s"
            ) from err
        return client

    def worker_shape(self) -> WorkerShape | None:
        if not self._shape_known:
            self._shape = _declared_shape(self.client(), self.address)
            self._shape_known = True
        return self._shape
