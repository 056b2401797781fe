"""Deploy an Application Package into a ZOO kernel's services folder, as ZOO-Project-DRU does.

ZOO-Project-DRU's ``DeployProcess`` writes, into the kernel's services folder (cgi-bin):

- ``{id}.zcfg``: the process description the kernel reads (``serviceProvider = {id}.service``:
  the kernel imports the module ``{id}.service`` with cgi-bin first on ``sys.path``, so
  ``{id}/`` is a package folder and ``service.py`` its module);
- ``{id}/service.py``: the cookiecutter service template rendered for the package (its one
  field is the function name, the workflow id with ``-`` → ``_``);
- ``{id}/app-package.cwl``: the package, which the templates read back from there.

The zcfg is written here, not with PyPI ``cwl2ogc`` as DRU's ``deploy_util`` does: cwl2ogc
(0.22) produces OGC JSON Schemas, not a zcfg; DRU's own ``write_zcfg`` around it writes
complex inputs with no data element at all, gives literal outputs the last *input*'s type,
``print()``s metadata lines to stdout (a sync deploy's HTTP reply breaks) and, with the
cwl2ogc of today, wrote no inputs or outputs at all (../shared/zoo-project/README.md). What
the kernel needs is small: literal inputs (a File/Directory input is the URL of a STAC
Item or catalog, a string, as the templates' runners expect), ``maxOccurs`` for arrays,
defaults, and a ComplexData ``application/json`` output per STAC result (the templates'
handlers publish a FeatureCollection only for outputs that have a ``mimeType``), a
``text/plain`` one (the URI) per File result.

Usage (the project's script and tests): ``python -m cwl_dask.zoo.deploy CGI_DIR PACKAGE
TEMPLATE [--id ID] [--immutable] [--path DIR]...``.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from cwl_dask.zoo.package import _reduce, entry_process, load_package

#: The templates' one cookiecutter field (the service function's name).
FIELD = re.compile(r"\{\{\s*cookiecutter\.workflow_id\s*\|\s*replace\(\"-\",\s*\"_\"\)\s*\}\}")
#: The one line a platform adds to a template to run it with cwl-dask.
SWAP = "from cwl_dask.zoo import ZooDaskRunner as ZooCalrissianRunner  # the one-line swap\n"

#: CWL scalar → the zcfg ``DataType`` of a literal (File/Directory/URI: the URL as a string).
_DATA_TYPES = {
    "string": "string",
    "int": "integer",
    "long": "integer",
    "float": "double",
    "double": "double",
    "boolean": "boolean",
}
#: The kernel's ``maxOccurs`` for "unbounded" (what DRU writes for arrays).
UNBOUNDED = 999


def render_service(template: str, workflow_id: str) -> str:
    """``service.py`` as cookiecutter renders ``template`` for ``workflow_id``.

    A template that imports ``zoo_calrissian_runner`` (EOEPCA's, GeoLabs') gets the swap
    line right after that import and nothing else changed; one that already imports
    cwl-dask's runner (the project's own template) is only rendered.
    """
    fields = FIELD.findall(template)
    if len(fields) != 1:
        raise ValueError(f"the template has {len(fields)} function-name fields, not 1")
    text = FIELD.sub(workflow_id.replace("-", "_"), template)
    if "ZooDaskRunner" in text:
        return text
    lines = text.splitlines(keepends=True)
    imports = [i for i, line in enumerate(lines) if line.startswith("from zoo_calrissian_runner")]
    if len(imports) != 1:
        raise ValueError("the template does not import zoo_calrissian_runner on one line")
    lines.insert(imports[0] + 1, SWAP)
    return "".join(lines)


def _items(section: Any) -> list[tuple[str, dict[str, Any]]]:
    """A process's inputs or outputs (list or map form) as (short id, definition)."""
    if isinstance(section, dict):
        return [
            (k, v if isinstance(v, dict) and "type" in v else {"type": v})
            for k, v in section.items()
        ]
    return [(str(d["id"]).split("#")[-1].split("/")[-1], d) for d in section or []]


def _text(value: Any, fallback: str) -> str:
    """A zcfg value on one line (the format has no continuation lines)."""
    return " ".join(str(value or fallback).split())


def _literal(data_type: str, default: Any, indent: str) -> list[str]:
    lines = [f"{indent}<LiteralData>", f"{indent} DataType = {data_type}"]
    if default is None or isinstance(default, (dict, list)):
        lines.append(f"{indent} <Default />")
    else:
        value = str(default).lower() if isinstance(default, bool) else str(default)
        lines += [f"{indent} <Default>", f"{indent}  value = {value}", f"{indent} </Default>"]
    return [*lines, f"{indent}</LiteralData>"]


def _complex(mime_type: str, indent: str) -> list[str]:
    return [
        f"{indent}<ComplexData>",
        f"{indent} <Default>",
        f"{indent}  mimeType = {mime_type}",
        f"{indent}  encoding = utf-8",
        f"{indent} </Default>",
        f"{indent}</ComplexData>",
    ]


def zcfg(package: dict[str, Any], workflow_id: str, mutable: bool = True) -> str:
    """The kernel's description of ``package``'s process ``workflow_id``.

    ``mutable``: DRU deploys every package as mutable (it can be replaced or undeployed);
    the kernel then refuses synchronous execution, so a sync-capable service is written
    with ``mutable = false``.
    """
    process = entry_process(package, workflow_id)
    version = process.get("s:softwareVersion") or package.get("s:softwareVersion") or "1.0.0"
    lines = [
        f"[{workflow_id}]",
        f" Title = {_text(process.get('label'), workflow_id)}",
        f" Abstract = {_text(process.get('doc'), process.get('label') or workflow_id)}",
        f" processVersion = {version}",
        " storeSupported = true",
        " statusSupported = true",
        f" mutable = {'true' if mutable else 'false'}",
        f" serviceProvider = {workflow_id}.service",
        " serviceType = Python",
        " <DataInputs>",
    ]
    for name, definition in _items(process.get("inputs")):
        base, array, optional = _reduce(definition.get("type"))
        default = definition.get("default")
        lines += [
            f"  [{name}]",
            f"   Title = {_text(definition.get('label'), name)}",
            f"   Abstract = {_text(definition.get('doc'), definition.get('label') or name)}",
            f"   minOccurs = {0 if optional or default is not None else 1}",
            f"   maxOccurs = {UNBOUNDED if array else 1}",
            *_literal(_DATA_TYPES.get(base, "string"), default, "   "),
        ]
    lines += [" </DataInputs>", " <DataOutputs>"]
    for name, definition in _items(process.get("outputs")):
        base, _array, _optional = _reduce(definition.get("type"))
        lines += [
            f"  [{name}]",
            f"   Title = {_text(definition.get('label'), name)}",
            f"   Abstract = {_text(definition.get('doc'), definition.get('label') or name)}",
        ]
        if base in _DATA_TYPES:
            lines += _literal(_DATA_TYPES[base], None, "   ")
        elif base == "File":  # its staged-out URI, as DRU writes a File without a format
            lines += _complex("text/plain", "   ")
        else:  # a Directory: the staged-out STAC catalog, published as JSON
            lines += _complex("application/json", "   ")
    lines.append(" </DataOutputs>")
    return "\n".join(lines) + "\n"


def deploy(
    services: str | Path,
    package: str | Path | dict[str, Any],
    template: str | Path,
    workflow_id: str | None = None,
    *,
    mutable: bool = True,
    python_path: Iterable[str | Path] = (),
) -> Path:
    """Write ``{id}.zcfg``, ``{id}/service.py`` and ``{id}/app-package.cwl`` into ``services``.

    ``package``: a path (``$include`` entries are inlined, as DRU's deploy makes a package
    self-contained) or the parsed document. ``workflow_id``: the process to expose
    (default: the first Workflow of a ``$graph``, as DRU picks it). ``python_path``:
    folders put first on ``sys.path`` by ``{id}/__init__.py``, which the kernel runs
    before ``service.py`` (for a template that needs other versions of its imports than
    its neighbours; the rendered ``service.py`` stays the template plus the swap).
    Returns the service's folder.
    """
    document = package if isinstance(package, dict) else load_package(package)
    workflow_id = workflow_id or _first_workflow(document)
    services = Path(services)
    folder = services / workflow_id
    folder.mkdir(parents=True, exist_ok=True)
    text = render_service(Path(template).read_text(encoding="utf-8"), workflow_id)
    (folder / "service.py").write_text(text, encoding="utf-8")
    (folder / "app-package.cwl").write_text(json.dumps(document, indent=2), encoding="utf-8")
    init = folder / "__init__.py"
    paths = [str(p) for p in python_path]
    if paths:
        init.write_text(
            '"""Written by cwl_dask.zoo.deploy: this service\'s imports come first."""\n'
            f"import sys\n\nsys.path[:0] = {paths!r}\n",
            encoding="utf-8",
        )
    elif init.exists():
        init.unlink()
    # Last, so that the kernel never lists a service whose files are not there yet.
    (services / f"{workflow_id}.zcfg").write_text(
        zcfg(document, workflow_id, mutable), encoding="utf-8"
    )
    return folder


def undeploy(services: str | Path, workflow_id: str) -> None:
    """Remove what :func:`deploy` wrote (the zcfg first: the kernel stops listing it)."""
    import shutil

    services = Path(services)
    (services / f"{workflow_id}.zcfg").unlink(missing_ok=True)
    shutil.rmtree(services / workflow_id, ignore_errors=True)


def _first_workflow(document: dict[str, Any]) -> str:
    graph = document.get("$graph", [document])
    for process in graph:
        if process.get("class") == "Workflow":
            return str(process["id"]).split("#")[-1]
    return str(graph[0].get("id", "main")).split("#")[-1]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m cwl_dask.zoo.deploy", description=__doc__)
    parser.add_argument("services", help="the kernel's services folder (cgi-bin)")
    parser.add_argument("package", help="the Application Package (.cwl)")
    parser.add_argument("template", help="the service template's service.py")
    parser.add_argument("--id", help="the process to expose (default: the first Workflow)")
    parser.add_argument(
        "--immutable", action="store_true", help="mutable = false (allows sync execution)"
    )
    parser.add_argument("--path", action="append", default=[], help="a folder first on sys.path")
    args = parser.parse_args(argv)
    folder = deploy(
        args.services,
        args.package,
        args.template,
        args.id,
        mutable=not args.immutable,
        python_path=args.path,
    )
    print(folder)


if __name__ == "__main__":
    main()
