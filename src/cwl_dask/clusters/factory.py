"""Any Dask cluster class (dask-jobqueue, dask-kubernetes…) through a factory."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import sys
from collections.abc import Callable
from typing import Any

from cwl_dask.clusters.base import (
    Backend,
    WorkerShape,
    _declared_shape,
    _logger,
)
from cwl_dask.errors import BackendError, InvalidInputError


def load_factory(spec: str) -> Callable[..., Any]:
    """``module:attr`` (or ``path/to/file.py:attr``) → the callable it names."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise InvalidInputError(
            f"--cluster expects module:factory (e.g. mypkg.clusters:make_cluster), got {spec!r}"
        )
    try:
        if module_name.endswith(".py") or os.sep in module_name:
            path = os.path.abspath(module_name)
            loader = importlib.util.spec_from_file_location(
                os.path.splitext(os.path.basename(path))[0], path
            )
            if loader is None or loader.loader is None:
                raise ImportError(f"no Python module at {path}")
            module = importlib.util.module_from_spec(loader)
            loader.loader.exec_module(module)
        else:
            if "" not in sys.path and os.getcwd() not in sys.path:
                sys.path.append(os.getcwd())  # as `python -m` would
            module = importlib.import_module(module_name)
        target: Any = module
        for part in attr.split("."):
            target = getattr(target, part)
    except Exception as err:
        raise InvalidInputError(
            f"--cluster {spec}: cannot import it ({type(err).__name__}: {err})"
        ) from None
    if not callable(target):
        raise InvalidInputError(f"--cluster {spec}: {attr} is not callable")
    return target


class ClusterClassBackend(Backend):
    """Any Dask cluster class (dask-jobqueue, dask-kubernetes, ...) through a factory.

    ``factory`` is a ``module:attr`` string or a callable returning a cluster object (with a
    ``scheduler_address``; ``Client(cluster)`` must work). It is called with those of the
    keyword arguments ``worker_cores``, ``worker_memory_mib`` (MiB), ``minimum``,
    ``maximum``, ``worker_gpus`` and ``labels`` (a pool's; see docs/pools.md) that its
    signature names explicitly (``**kwargs`` gets none of them, so a
    cluster class can be named directly). Contract: a factory that takes ``worker_cores`` and
    ``worker_memory_mib`` makes workers of that size that declare the Dask resources
    ``cores=worker_cores,ram=worker_memory_mib``; that is then the worker shape. Otherwise the
    shape is what the connected workers declare. Unless the factory takes both ``minimum`` and
    ``maximum`` (then it scales the cluster itself), ``cluster.adapt(minimum=, maximum=)`` is
    called when the cluster has ``adapt``. :meth:`close` closes the cluster.
    """

    def __init__(
        self,
        factory: str | Callable[..., Any],
        *,
        worker_cores: float = 2,
        worker_memory_mib: float = 4096,
        minimum: int = 0,
        maximum: int = 4,
        worker_gpus: int = 0,
        labels: dict[str, str] | None = None,
    ) -> None:
        super().__init__()
        self.spec = factory if isinstance(factory, str) else getattr(factory, "__name__", "?")
        self.factory = load_factory(factory) if isinstance(factory, str) else factory
        offered = {
            "worker_cores": worker_cores,
            "worker_memory_mib": worker_memory_mib,
            "minimum": minimum,
            "maximum": maximum,
            "worker_gpus": worker_gpus,
            "labels": dict(labels or {}),
        }
        named = _named_parameters(self.factory)
        self.kwargs = {k: v for k, v in offered.items() if k in named}
        for given, what in ((worker_gpus, "worker_gpus"), (labels, "labels")):
            if given and what not in named:
                raise InvalidInputError(
                    f"--cluster {self.spec}: the workflow needs workers with {what}, and the "
                    f"factory takes no '{what}' argument"
                )
        self.minimum = minimum
        self.maximum = maximum
        self.cluster: Any = None
        self._shape: WorkerShape | None = None
        self._shape_known = False
        if "worker_cores" in self.kwargs and "worker_memory_mib" in self.kwargs:
            self._shape = WorkerShape(float(worker_cores), float(worker_memory_mib), worker_gpus)
            self._shape_known = True

    @property
    def description(self) -> str:
        return f"the cluster of {self.spec}"

    def connect(self) -> Any:
        from distributed import Client

        try:
            self.cluster = self.factory(**self.kwargs)
        except Exception as err:
            raise BackendError(
                f"the cluster factory {self.spec} failed: {type(err).__name__}: {err}"
            ) from None
        if not {"minimum", "maximum"} <= self.kwargs.keys() and hasattr(self.cluster, "adapt"):
            self.cluster.adapt(minimum=self.minimum, maximum=self.maximum)
        try:
            return Client(self.cluster)
        except (OSError, TimeoutError) as err:
            raise BackendError(
                f"cannot connect to the scheduler of the cluster from {self.spec}: {err}"
            ) from None

    def worker_shape(self) -> WorkerShape | None:
        if not self._shape_known:
            self._shape = _declared_shape(self.client(), self.description)
            self._shape_known = True
        return self._shape

    def planned_workers(self) -> list[dict[str, Any]]:
        """Up to ``maximum`` workers of the shape the factory was given (adaptive or scaled by
        the factory itself, to that maximum); none when the factory decides the shape."""
        if "worker_cores" not in self.kwargs or self._shape is None:
            return []
        return [self._shape.planned()] * self.maximum

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self.cluster is not None and hasattr(self.cluster, "close"):
                try:
                    self.cluster.close()
                except Exception as err:
                    _logger.warning("could not close the cluster of %s: %s", self.spec, err)
            self.cluster = None


def _named_parameters(factory: Callable[..., Any]) -> set[str]:
    try:
        parameters = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return set()
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return {p.name for p in parameters if p.kind in kinds}
