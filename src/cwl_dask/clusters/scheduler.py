"""An already running Dask scheduler, reached by address."""

from __future__ import annotations

from typing import Any

from cwl_dask.clusters.base import (
    Backend,
    WorkerShape,
    _declared_shape,
)
from cwl_dask.errors import BackendError


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
