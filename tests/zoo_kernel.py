"""A stand-in for the ZOO kernel: deploys a real service template and calls it as ZOO does.

Usage: ``python zoo_kernel.py REQUEST.json RESULT.json``, where REQUEST.json holds
``template`` (a ``service.py`` of ``../shared/zoo-templates``), ``package`` (the
Application Package, ``$include`` entries inlined as ZOO-Project-DRU deploys it),
``workflow_id``, ``service_dir`` and the ``conf``, ``inputs`` and ``outputs`` ZOO hands
the service. RESULT.json gets the return code, the statuses and the three dictionaries as
the service left them.

Deploying is what ZOO-Project-DRU does with cookiecutter: the template's one field, the
function name, is substituted, and the package is written beside it as ``app-package.cwl``.
The only other change is the swap a platform makes to use cwl-dask: one import line after
the template's ``zoo_calrissian_runner`` import, so the template's own handler classes and
code run unchanged. It runs in its own process because the ZOO kernel loads one service
per process, with the ``zoo`` module in ``sys.modules`` (the one mocked part: it exists
only inside the kernel).
"""

from __future__ import annotations

import importlib.util
import json
import sys
import traceback
import types
from pathlib import Path
from typing import Any

from cwl_dask.zoo.deploy import render_service


def zoo_module(statuses: list[list[Any]]) -> types.ModuleType:
    """The kernel's ``zoo`` module: status constants, ``update_status``, ``_``."""
    zoo = types.ModuleType("zoo")
    zoo.SERVICE_SUCCEEDED = 3  # type: ignore[attr-defined]
    zoo.SERVICE_FAILED = 4  # type: ignore[attr-defined]

    def update_status(conf: dict[str, Any], progress: int) -> None:
        statuses.append([int(progress), conf.get("lenv", {}).get("message", "")])

    zoo.update_status = update_status  # type: ignore[attr-defined]
    zoo._ = lambda message: message  # type: ignore[attr-defined]
    return zoo


def main() -> None:
    request = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    service_dir = Path(request["service_dir"])
    service_dir.mkdir(parents=True, exist_ok=True)
    template = Path(request["template"]).read_text(encoding="utf-8")
    (service_dir / "service.py").write_text(render_service(template, request["workflow_id"]))
    (service_dir / "app-package.cwl").write_text(json.dumps(request["package"], indent=2))

    statuses: list[list[Any]] = []
    sys.modules["zoo"] = zoo_module(statuses)
    spec = importlib.util.spec_from_file_location("service", service_dir / "service.py")
    assert spec is not None and spec.loader is not None
    service = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(service)
    function = getattr(service, request["workflow_id"].replace("-", "_"))
    conf, inputs, outputs = request["conf"], request["inputs"], request["outputs"]
    try:
        code = function(conf, inputs, outputs)
    except BaseException:  # the kernel reports it; the test asserts it never happens
        code, conf["kernel_traceback"] = None, traceback.format_exc()
    result = {"code": code, "statuses": statuses, "conf": conf, "outputs": outputs}
    Path(sys.argv[2]).write_text(json.dumps(result, indent=2, default=str), encoding="utf-8")


if __name__ == "__main__":
    main()
