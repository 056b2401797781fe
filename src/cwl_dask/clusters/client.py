"""A ``distributed.Client`` the caller already has (a notebook's): used, never closed."""

from __future__ import annotations

from typing import Any

from cwl_dask.clusters.base import Backend, WorkerShape, _declared_shape


class ClientBackend(Backend):
    """The caller's connected Client and whatever cluster is behind it.

    The run submits its tasks through it and leaves it open (the caller may run more
    packages, or other Dask work, on it); several runs may share one at the same time.
    Workers that declare ``cores``/``ram`` resources get tasks sized by them, as with
    :class:`~cwl_dask.clusters.SchedulerBackend`.
    """

    def __init__(self, client: Any) -> None:
        super().__init__()
        self._given = client
        self._shape: WorkerShape | None = None
        self._shape_known = False

    @property
    def description(self) -> str:
        return f"the cluster of {self._given}"

    def connect(self) -> Any:
        return self._given

    def worker_shape(self) -> WorkerShape | None:
        if not self._shape_known:
            self._shape = _declared_shape(self.client(), str(self._given.scheduler.address))
            self._shape_known = True
        return self._shape

    def close(self) -> None:
        """Forget the client without closing it: it is the caller's."""
        if self._thread is not None:
            self._thread.join()
        self._client = None
