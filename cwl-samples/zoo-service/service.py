"""ZOO-Project service for the eo-ndvi Application Package, run with cwl-dask.

ZOO calls ``main(conf, inputs, outputs)`` (the function is named after the workflow id,
``-`` replaced by ``_``). The package is ``app-package.cwl`` next to this file when ZOO
deployed one here, else ``../eo-ndvi/app-package.cwl`` (this repository's sample).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from cwl_dask.zoo import ExecutionHandler, ZooDaskRunner, load_package, zoo_module

zoo = zoo_module()  # ZOO's module inside ZOO, a stand-in elsewhere

HERE = Path(__file__).resolve().parent


def _package_path() -> Path:
    deployed = HERE / "app-package.cwl"
    return deployed if deployed.exists() else HERE.parent / "eo-ndvi" / "app-package.cwl"


def _local_path(location: str) -> str:
    parsed = urlparse(location)
    return unquote(parsed.path) if parsed.scheme in ("", "file") else location


def feature_collection(catalog_dir: str) -> dict[str, Any]:
    """Every Item of the STAC catalog in ``catalog_dir``, asset hrefs made absolute."""
    import pystac

    catalog = pystac.Catalog.from_file(os.path.join(_local_path(catalog_dir), "catalog.json"))
    features = []
    for item in catalog.get_items(recursive=True):
        item.make_asset_hrefs_absolute()
        features.append(item.to_dict(include_self_link=False))
    return {"type": "FeatureCollection", "features": features}


class Handler(ExecutionHandler):
    """Turns the ``results`` Directory (a STAC catalog) into a FeatureCollection."""

    feature_collection: dict[str, Any] | None = None

    def get_pod_env_vars(self) -> dict[str, str]:
        return dict(self.conf.get("pod_env_vars", {}))

    def get_additional_parameters(self) -> dict[str, Any]:
        return dict(self.conf.get("additional_parameters", {}))

    def handle_outputs(self, log, output, usage_report, tool_logs) -> None:
        if output and output.get("results"):
            self.feature_collection = feature_collection(output["results"]["location"])
        services_logs = {}
        for i, path in enumerate(tool_logs or []):
            suffix = f"_{i}" if i else ""
            services_logs[f"url{suffix}"] = Path(path).as_uri()
            services_logs[f"title{suffix}"] = f"Tool log {Path(path).stem}"
            services_logs[f"rel{suffix}"] = "related"
        if services_logs:
            services_logs["length"] = str(len(tool_logs))
            self.conf["service_logs"] = services_logs


def main(conf: dict[str, Any], inputs: dict[str, Any], outputs: dict[str, Any]) -> int:
    cwl = load_package(_package_path())
    handler = Handler(conf=conf, outputs=outputs)
    runner = ZooDaskRunner(
        cwl=cwl, conf=conf, inputs=inputs, outputs=outputs, execution_handler=handler
    )
    try:
        status = runner.execute()
    except Exception as err:
        conf["lenv"]["message"] = zoo._(f"Execution failed: {err}")
        return zoo.SERVICE_FAILED
    if status != zoo.SERVICE_SUCCEEDED:
        return zoo.SERVICE_FAILED  # the runner's message names the failed step
    if handler.feature_collection is not None:
        outputs[runner.outputs.output_key]["value"] = json.dumps(handler.feature_collection)
    return zoo.SERVICE_SUCCEEDED
