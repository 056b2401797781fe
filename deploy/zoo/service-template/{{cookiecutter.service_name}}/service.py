"""ZOO-Project service for an Application Package, run with cwl-dask (cookiecutter template).

ZOO-Project-DRU renders this file for each deployed package (``workflow_id`` names the
function the kernel calls) and writes the package beside it as ``app-package.cwl``.
Every tool invocation is a Dask task on the backend the Dask config chooses (a local
cluster by default, the gateway of ``DASK_GATEWAY_URL`` when set).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from cwl_dask.zoo import ExecutionHandler, ZooDaskRunner, load_package, zoo_module

zoo = zoo_module()  # the kernel's module inside ZOO, a stand-in elsewhere

HERE = Path(__file__).resolve().parent


def _stac_items(catalog_uri: str) -> list[dict[str, Any]]:
    """Every Item under a staged-out STAC catalog (``s3://``, ``file://`` or a path),
    with absolute asset hrefs: read with fsspec, so S3 settings come from the environment
    or ``conf["additional_parameters"]`` (exported by the handler)."""
    import fsspec
    import pystac
    from pystac.stac_io import DefaultStacIO

    class FsspecStacIO(DefaultStacIO):
        def read_text(self, source: Any, *args: Any, **kwargs: Any) -> str:
            with fsspec.open(str(source), "r", encoding="utf-8") as stream:
                return stream.read()

    catalog = pystac.read_file(catalog_uri, stac_io=FsspecStacIO())
    items = []
    for item in catalog.get_items(recursive=True):
        item.make_asset_hrefs_absolute()
        items.append(item.to_dict(include_self_link=False, transform_hrefs=False))
    return items


class Handler(ExecutionHandler):
    """Site policy: S3 settings from ``[additional_parameters]``, STAC results published as a
    FeatureCollection, the run's logs linked from the job."""

    def pre_execution_hook(self) -> None:
        extra = self.conf.get("additional_parameters", {})
        for key, variable in (
            ("aws_access_key_id", "AWS_ACCESS_KEY_ID"),
            ("aws_secret_access_key", "AWS_SECRET_ACCESS_KEY"),
            ("region_name", "AWS_DEFAULT_REGION"),
            ("endpoint_url", "AWS_ENDPOINT_URL"),
        ):
            if extra.get(key):
                os.environ.setdefault(variable, extra[key])

    def get_additional_parameters(self) -> dict[str, Any]:
        extra = dict(self.conf.get("additional_parameters", {}))
        extra.setdefault("sub_path", self.conf["lenv"]["usid"])
        return extra

    def handle_outputs(self, log: Any, output: Any, usage_report: Any, tool_logs: Any) -> None:
        run_dir = f"{self.conf['lenv']['Identifier']}-{self.conf['lenv']['usid']}"
        base = self.conf["main"]["tmpUrl"].rstrip("/") + "/" + run_dir
        links = [(f"{base}/cwl-dask.log", "Job log")]
        links += [(f"{base}/{Path(p).name}", f"Tool log {Path(p).stem}") for p in tool_logs or []]
        logs: dict[str, str] = {}
        for i, (url, title) in enumerate(links):
            suffix = f"_{i}" if i else ""
            logs.update({f"url{suffix}": url, f"title{suffix}": title, f"rel{suffix}": "related"})
        logs["length"] = str(len(links))
        self.conf["service_logs"] = logs
        for name, value in (output or {}).items():
            if name not in self.outputs:
                continue
            if not isinstance(value, dict) or "value" not in value:  # a literal result
                self.outputs[name]["value"] = value if isinstance(value, str) else json.dumps(value)
                continue
            uri = str(value["value"])
            if self.outputs[name].get("mimeType") == "application/json":  # a STAC catalog
                features = _stac_items(uri)
                for feature in features:
                    feature["collection"] = self.conf["lenv"]["usid"]
                collection = {"type": "FeatureCollection", "features": features}
                self.outputs[name]["value"] = json.dumps(collection)
            else:
                self.outputs[name]["value"] = uri


def {{cookiecutter.workflow_id |replace("-", "_")  }}(conf, inputs, outputs):  # noqa
    handler = Handler(conf=conf, outputs=outputs)
    runner = ZooDaskRunner(
        cwl=load_package(HERE / "app-package.cwl"),
        conf=conf,
        inputs=inputs,
        outputs=outputs,
        execution_handler=handler,
    )
    try:
        status = runner.execute()
    except Exception as err:  # the kernel would only say "No message provided"
        conf["lenv"]["message"] = zoo._(f"Execution failed: {err}")
        return zoo.SERVICE_FAILED
    # On failure the runner's message (it names the failed step) stays the job's message.
    return zoo.SERVICE_SUCCEEDED if status == zoo.SERVICE_SUCCEEDED else zoo.SERVICE_FAILED
