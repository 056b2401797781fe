"""ZOO-Project service for the eo-ndvi Application Package, run with cwl-dask.

ZOO calls ``eo_ndvi(conf, inputs, outputs)`` (the function is named after the workflow id,
``-`` replaced by ``_``). The package is ``app-package.cwl`` next to this file when ZOO
deployed one here, else ``../eo-ndvi/app-package-staged.cwl`` (this repository's sample:
Directory inputs, so the runner wraps it with stage-in and stage-out).

This is the smallest service to try cwl-dask's runner locally; what ZOO-Project-DRU
deploys are the EOEPCA and GeoLabs service templates (see README, "ZOO-Project").
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cwl_dask.zoo import ExecutionHandler, ZooDaskRunner, load_package, zoo_module

zoo = zoo_module()  # ZOO's module inside ZOO, a stand-in elsewhere

HERE = Path(__file__).resolve().parent


def _package_path() -> Path:
    deployed = HERE / "app-package.cwl"
    return deployed if deployed.exists() else HERE.parent / "eo-ndvi" / "app-package-staged.cwl"


def feature_collection(catalog_uri: str, collection_id: str) -> dict[str, Any]:
    """Every STAC Item of the staged-out catalog, as the FeatureCollection ZOO returns.

    The stage-out returned the catalog's URI (a local ``file://`` one here, without S3
    settings); cwl-dask's STAC module checks that every link and asset resolves, so a
    broken catalog fails here with a clear message.
    """
    from urllib.parse import urlparse
    from urllib.request import url2pathname

    from cwl_dask.eo import stac

    summary = stac.inspect_catalog(Path(url2pathname(urlparse(catalog_uri).path)), "results")
    return stac.feature_collection([summary], collection_id)


class Handler(ExecutionHandler):
    """Turns the staged-out ``results`` catalog into a FeatureCollection."""

    feature_collection: dict[str, Any] | None = None

    def get_pod_env_vars(self) -> dict[str, str]:
        return dict(self.conf.get("pod_env_vars", {}))

    def get_additional_parameters(self) -> dict[str, Any]:
        return dict(self.conf.get("additional_parameters", {}))

    def handle_outputs(self, log, output, usage_report, tool_logs) -> None:
        if output and output.get("results"):
            uri = output["results"]["value"]
            self.feature_collection = feature_collection(uri, self.conf["lenv"]["usid"])
        services_logs = {}
        for i, path in enumerate(tool_logs or []):
            suffix = f"_{i}" if i else ""
            services_logs[f"url{suffix}"] = Path(path).as_uri()
            services_logs[f"title{suffix}"] = f"Tool log {Path(path).stem}"
            services_logs[f"rel{suffix}"] = "related"
        if services_logs:
            services_logs["length"] = str(len(tool_logs))
            self.conf["service_logs"] = services_logs


def eo_ndvi(conf: dict[str, Any], inputs: dict[str, Any], outputs: dict[str, Any]) -> int:
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
