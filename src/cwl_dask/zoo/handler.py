"""The execution handler: a service's site policy, called by the runner at fixed points."""

from __future__ import annotations

import os
from typing import Any


class ExecutionHandler:
    """Hooks with the names, arguments and call order of zoo-calrissian-runner's handler.

    Every hook has a default that does nothing, so a subclass overrides what it needs.
    Constructed with keywords (``Handler(conf=conf, outputs=outputs)``, as the ZOO
    templates do) or positionally (``Handler(conf, outputs)``, as zoo-template-common's
    documentation does); keywords become attributes.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.job_id: str | None = None
        self.conf: dict[str, Any] = {}
        self.outputs: dict[str, Any] = {}
        self.results: Any = None
        for name, value in zip(("conf", "outputs"), args, strict=False):
            kwargs.setdefault(name, value)
        self.__dict__.update(kwargs)

    def set_job_id(self, job_id: str) -> None:
        self.job_id = job_id

    def get_namespace(self) -> str | None:
        return os.environ.get("USE_NAMESPACE") or None

    def get_service_account(self) -> str | None:
        return os.environ.get("USE_SERVICE_ACCOUNT") or None

    def pre_execution_hook(self) -> None:
        """Before anything else (e.g. fill ``conf["additional_parameters"]``)."""

    def get_secrets(self) -> dict[str, Any]:
        return {}

    def get_additional_parameters(self) -> dict[str, Any]:
        """Merged into the CWL job order over the ZOO inputs."""
        return {}

    def get_pod_env_vars(self) -> dict[str, str] | None:
        """Environment variables of every tool (an EnvVarRequirement on the workflow)."""
        return None

    def get_pod_node_selector(self) -> dict[str, str] | None:
        """Accepted for compatibility; Dask places tasks by resources, not node labels."""
        return None

    def handle_outputs(
        self,
        log: str | None,
        output: Any,
        usage_report: Any,
        tool_logs: Any,
        provenance_crate: str | None = None,
    ) -> None:
        """After the run, also when it failed (``output`` is then None). ``provenance_crate``:
        the run's RO-Crate (a .zip) when ``cwl-dask.zoo.provenance`` is on, else None."""

    def post_execution_hook(
        self, log: str | None, output: Any, usage_report: Any, tool_logs: Any
    ) -> None:
        """Last, after :meth:`handle_outputs`; also when the run failed."""
