"""The ``zoo`` module of the ZOO-Project kernel, or a stand-in outside ZOO (tests, CLI)."""

from __future__ import annotations

import logging
from typing import Any

_logger = logging.getLogger("cwl_dask.zoo")


class ZooStub:
    """What services use of ZOO's ``zoo`` module: status constants, ``update_status``, ``_``.

    Unlike the stubs of the ZOO runner packages, ``_`` returns its message (as the real
    module does) and every status constant of the kernel is defined once.
    """

    SERVICE_ACCEPTED = 0
    SERVICE_STARTED = 1
    SERVICE_PAUSED = 2
    SERVICE_SUCCEEDED = 3
    SERVICE_FAILED = 4
    SERVICE_DISMISSED = 5
    SERVICE_DEPLOYED = 6
    SERVICE_UNDEPLOYED = 7
    VERSION = "stub"

    def update_status(self, conf: dict[str, Any], progress: int) -> None:
        message = conf.get("lenv", {}).get("message", "") if isinstance(conf, dict) else ""
        _logger.info("status %s%%: %s", progress, message)

    def _(self, message: str) -> str:
        return message

    def trace(self, message: str) -> None:
        _logger.debug(message)

    debug = trace

    def info(self, message: str) -> None:
        _logger.info(message)

    success = info

    def warning(self, message: str) -> None:
        _logger.warning(message)

    def error(self, message: str) -> None:
        _logger.error(message)

    critical = error


def zoo_module() -> Any:
    """ZOO's ``zoo`` module when running inside ZOO (looked up at each call), else a stub."""
    try:
        import zoo  # type: ignore[import-not-found]
    except ImportError:
        return ZooStub()
    return zoo
