"""ZOO's ``conf``/``inputs``/``outputs`` dicts and the CWL job order made from them."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from cwl_dask.zoo.package import InputType

_TRUE = {"true", "1", "yes", "on"}


class ZooConf:
    """``conf`` as given by ZOO (``.conf`` is the live dict)."""

    def __init__(self, conf: dict[str, Any]) -> None:
        self.conf = conf
        self.workflow_id: str = conf["lenv"]["Identifier"]


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _pad(values: list[Any], n: int) -> list[Any]:
    """``values`` cut or padded with its last item (or None) to ``n`` items."""
    fill = values[-1] if values else None
    return (values + [fill] * n)[:n]


def _location(value: str) -> str:
    if "://" in value or value.startswith("file:"):
        return value
    return Path(value).resolve().as_uri()


def _convert(value: Any, base: str, cache_file: Any = None) -> Any:
    """One ZOO string to a CWL value of type ``base``."""
    if value is None or value == "NULL":
        return None
    if base == "boolean":
        return value if isinstance(value, bool) else str(value).strip().lower() in _TRUE
    if base in ("int", "long"):
        return int(value)
    if base in ("float", "double"):
        return float(value)
    if base in ("File", "Directory"):
        if isinstance(value, dict):
            return value
        source = value or cache_file
        return {"class": base, "location": _location(str(source))}
    if base == "URI":
        return value if isinstance(value, dict) else {"value": str(value)}
    return value


def _untyped(entry: dict[str, Any]) -> Any:
    """zoo-runner-common's rules for an input the CWL does not declare (without its bugs)."""
    value = entry.get("value")
    data_type = entry.get("dataType")
    if "format" in entry and data_type not in ("integer", "float", "double", "boolean"):
        return {"format": entry["format"], "value": value}
    if data_type is not None:
        base = {"integer": "int", "float": "float", "double": "float", "boolean": "boolean"}
        kinds = _as_list(data_type)
        if isinstance(value, list):
            return [
                _convert(v, base.get(k, "string"))
                for v, k in zip(value, _pad(kinds, len(value)), strict=True)
            ]
        return _convert(value, base.get(str(data_type), "string"))
    if "lowerCorner" in entry and "upperCorner" in entry:
        crs = str(entry.get("crs", "")).replace("http://www.opengis.net/def/crs/OGC/1.3/", "")
        return {"format": "ogc-bbox", "bbox": json.loads(value), "crs": crs}
    if "cache_file" in entry:
        mime = entry.get("mimeType")
        if isinstance(value, list):
            mimes = _as_list(mime) or [None] * len(value)
            return [
                {"format": m or "text/plain", "value": v}
                for v, m in zip(value, _pad(mimes, len(value)), strict=True)
            ]
        return {"format": mime or "text/plain", "value": value}
    return value


class ZooInputs:
    """``inputs`` as given by ZOO, converted with the CWL input types when known.

    Per declared input: ``"false"`` is False; numbers are cast; ``File``/``Directory``
    values (a URL or a local path; ``cache_file`` when the value is empty) become
    ``{"class": ..., "location": ...}``; the eoap URI record is ``{"value": ...}``, for
    scalars and arrays alike; arrays (``isArray``) keep one item per value and a single
    value of an array input becomes a one-item list; ``"NULL"`` and inputs ZOO filled
    from a default (``inRequest == "false"``) of an input that has a CWL default are left
    out, so the CWL default applies.
    """

    def __init__(self, inputs: dict[str, Any], types: dict[str, InputType] | None = None):
        self.inputs = inputs
        self.types = types or {}

    def get_input_value(self, name: str) -> Any:
        return self.inputs[name]["value"]

    def provided(self, name: str) -> bool:
        entry = self.inputs.get(name)
        if not isinstance(entry, dict):
            return False
        value = entry.get("value")
        return value not in (None, "NULL") or bool(entry.get("cache_file"))

    def get_processing_parameters(self) -> dict[str, Any]:
        params: dict[str, Any] = {}
        for name, entry in self.inputs.items():
            if not isinstance(entry, dict):
                continue
            kind = self.types.get(name)
            if kind is None:
                params[name] = _untyped(entry)
                continue
            if str(entry.get("inRequest", "true")).lower() == "false" and kind.has_default:
                continue
            value = entry.get("value")
            if kind.array or isinstance(value, list) or entry.get("isArray") == "true":
                values = _as_list(value)
                caches = _as_list(entry.get("cache_file")) or [None] * len(values)
                converted = [
                    _convert(v, kind.base, c)
                    for v, c in zip(values, _pad(caches, len(values)), strict=True)
                ]
                params[name] = [v for v in converted if v is not None]
            else:
                converted = _convert(value, kind.base, entry.get("cache_file"))
                if converted is None:
                    continue
                params[name] = converted
        return params


class ZooOutputs:
    """``outputs`` as given by ZOO; the run's output object goes to the first output."""

    def __init__(self, outputs: dict[str, Any]) -> None:
        self.outputs = outputs
        if not outputs:
            outputs["stac"] = {}
        self.output_key: str = next(iter(outputs))

    def get_output_parameters(self) -> dict[str, Any]:
        return {key: value.get("value") for key, value in self.outputs.items()}

    def set_output(self, value: Any) -> None:
        self.outputs.setdefault(self.output_key, {})["value"] = value


def container_engine(conf: dict[str, Any]) -> str:
    """``none`` unless env ``CWL_DASK_CONTAINER``, ``conf["cwl-dask"]["container"]`` or the
    Dask config ``cwl-dask.container`` say docker, podman, singularity or auto (detect)."""
    import dask

    choice = (
        os.environ.get("CWL_DASK_CONTAINER")
        or conf.get("cwl-dask", {}).get("container")
        or dask.config.get("cwl-dask.container", None)
        or "none"
    )
    choice = str(choice).lower()
    if choice == "auto":
        from cwl_dask.driver.engines import detect_engine

        return detect_engine()
    if choice not in ("none", "docker", "podman", "singularity"):
        raise ValueError(f"container engine {choice!r}: expected none, docker, podman, auto")
    return choice
