"""The cache key of one invocation: a digest of everything that can change its result.

cwltool's own ``--cachedir`` key (``CommandLineTool.job``) hashes the command line, each
input's *host path* with its size and checksum (or mtime), and a few requirements. That
ties an entry to one machine's paths: an intermediate file lives in a per-run directory (or
a per-run store prefix), so nothing downstream of the first step is ever reused by another
run, and moving the workflow invalidates everything. This key keeps cwltool's notion of the
command line — computed by cwltool's own ``Builder`` with fixed placeholder directories —
and replaces host paths by contents:

- ``command``: the command line cwltool would run (``_init_job``, ``make_path_mapper``,
  ``generate_arg``), with ``/out``, ``/tmp``, ``/stage`` for the run's directories, so it
  names staged paths (``/stage/<basename>``), never host paths, and carries what the
  runtime adds (``$(runtime.cores)`` and the like);
- ``inputs``: the job order with every File and Directory replaced by its contents' SHA-1
  (and sizes, basenames, secondaryFiles, formats), secrets by their values;
- ``tool``: the whole processed tool document (effective requirements and hints, outputs,
  globs, expressions; ids shortened, files in it by contents) without the requirements
  that change only where or how fast it runs (:data:`NEUTRAL`) — cwltool's key leaves the
  outputs out, so an edited glob would be handed a stale result;
- ``container``: the image and whether containers are used at all; ``environment``: the
  variables ``--preserve-environment`` passes through.

The digest is SHA-256 over canonical JSON; the key document itself is never stored (it may
hold secrets).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import dataclass
from functools import partial
from typing import Any

from cwl_dask.data.objects import local_path

#: Bump when the key or the entry layout changes: old entries are then simply not found.
FORMAT = 1
#: Requirements and hints that change where or how fast a tool runs, never what it writes.
NEUTRAL = frozenset({"ResourceRequirement", "WorkReuse", "ToolTimeLimit"})
_PLACEHOLDERS = {"outdir": "/out", "tmpdir": "/tmp", "stagedir": "/stage"}  # nosec

#: SHA-1 of local files by (path, size, mtime): a file several invocations read is read once.
_sums: dict[tuple[str, int, int], str] = {}
MEMO_SIZE = 100_000
_sums_lock = threading.Lock()


@dataclass(frozen=True)
class CacheKey:
    digest: str
    image: str  # the container image, "" without one (shown by ``cache ls``)


def reuse_enabled(tool: Any) -> bool:
    """cwltool's rule: only CommandLineTools, unless ``WorkReuse: {enableReuse: false}``;
    and never a tool that updates its inputs in place (its result *is* the changed input,
    which a copy from the cache is not)."""
    if tool.tool.get("class") != "CommandLineTool":
        return False
    inplace, _ = tool.get_requirement("InplaceUpdateRequirement")
    if inplace and inplace.get("inplaceUpdate"):
        return False
    work_reuse, _ = tool.get_requirement("WorkReuse")
    return bool(work_reuse.get("enableReuse", True)) if work_reuse else True


def sha1_of(path: str) -> str:
    """``sha1$<hex>`` of a local file, as cwltool writes checksums; memoised by size+mtime."""
    status = os.stat(path)
    memo = (path, status.st_size, status.st_mtime_ns)
    with _sums_lock:
        known = _sums.get(memo)
    if known is not None:
        return known
    digest = hashlib.sha1()  # nosec - cwltool's checksum algorithm, for content identity
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    value = f"sha1${digest.hexdigest()}"
    with _sums_lock:
        if len(_sums) >= MEMO_SIZE:  # a long-lived worker: forget, rather than grow
            _sums.clear()
        _sums[memo] = value
    return value


def cache_key(tool: Any, job_order: dict[str, Any], runtime: Any) -> CacheKey:
    """The key of running ``tool`` on ``job_order`` (local file locations) with ``runtime``.

    Raises what cwltool raises for a job order it refuses; the caller then runs the tool,
    which reports the error as usual.
    """
    secrets = getattr(runtime, "secret_store", None)
    reveal = secrets.retrieve if secrets is not None else (lambda value: value)
    image = container_image(tool, runtime)
    document = {
        "format": FORMAT,
        "command": reveal(command_line(tool, job_order, runtime)),
        "inputs": contents(job_order, reveal),
        "tool": contents(_normalised(tool.tool), reveal, shorten_ids=True),
        "container": [bool(runtime.use_container), image],
        "environment": _preserved_environment(runtime),
    }
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), default=str)
    return CacheKey(hashlib.sha256(text.encode()).hexdigest(), image or "")


def command_line(tool: Any, job_order: dict[str, Any], runtime: Any) -> list[str]:
    """cwltool's command line for the job, with placeholder directories (see module doc)."""
    from cwltool.command_line_tool import check_adjust
    from cwltool.flatten import flatten
    from cwltool.utils import visit_files_directories

    context = runtime.copy()
    for name, value in _PLACEHOLDERS.items():
        setattr(context, name, value)
        setattr(context, f"docker_{name}", value)
    builder = tool._init_job(job_order, context)
    builder.pathmapper = tool.make_path_mapper(builder.files, builder.stagedir, context, False)
    adjust = partial(check_adjust, tool.path_check_mode.value, builder)
    visit_files_directories([builder.files, builder.bindings], adjust)
    return [str(arg) for arg in flatten([builder.generate_arg(b) for b in builder.bindings])]


def container_image(tool: Any, runtime: Any) -> str | None:
    """The image the tool runs in (its DockerRequirement, or ``--default-container``)."""
    if not runtime.use_container:
        return None
    docker, _ = tool.get_requirement("DockerRequirement")
    if docker:
        return str(docker.get("dockerImageId") or docker.get("dockerPull") or "dockerFile")
    return runtime.default_container or None


def contents(value: Any, reveal: Any, shorten_ids: bool = False) -> Any:
    """``value`` with Files and Directories by contents and secrets revealed (see module doc)."""
    if isinstance(value, list):
        return [contents(v, reveal, shorten_ids) for v in value]
    if isinstance(value, str):
        return reveal(value)
    if not isinstance(value, dict):
        return value
    if value.get("class") == "File" and ("location" in value or "path" in value):
        return _file(value, reveal)
    if value.get("class") == "Directory" and ("location" in value or "path" in value):
        return _directory(value, reveal)
    result = {}
    for key, item in value.items():
        if shorten_ids and key == "id" and isinstance(item, str):
            if not item.startswith("_:"):  # an anonymous process's id is random per load
                result[key] = item.rsplit("#", 1)[-1].rsplit("/", 1)[-1]
        else:
            result[str(key)] = contents(item, reveal, shorten_ids)
    return result


def _file(obj: dict[str, Any], reveal: Any) -> dict[str, Any]:
    described: dict[str, Any] = {"class": "File", "basename": obj.get("basename")}
    path = local_path(obj)
    if path is not None and os.path.isfile(path):
        described["sha1"] = sha1_of(path)
        described["size"] = os.path.getsize(path)
    elif "contents" in obj:
        described["contents"] = reveal(obj["contents"])
    else:  # a remote URL cwl-dask does not fetch (http://…): keyed by the URL itself
        described["location"] = obj.get("location")
    for extra in ("format", "secondaryFiles"):
        if extra in obj:
            described[extra] = contents(obj[extra], reveal)
    return described


def _directory(obj: dict[str, Any], reveal: Any) -> dict[str, Any]:
    described: dict[str, Any] = {"class": "Directory", "basename": obj.get("basename")}
    path = local_path(obj)
    if path is not None and os.path.isdir(path):
        described["tree"] = tree_digest(path)
    elif "listing" in obj:
        described["listing"] = contents(obj["listing"], reveal)
    else:
        described["location"] = obj.get("location")
    return described


def tree_digest(root: str) -> list[tuple[str, str]]:
    """Every entry below ``root``: (relative path, ``sha1$…`` or ``dir``), sorted."""
    entries: list[tuple[str, str]] = []
    for folder, dirs, files in os.walk(root, followlinks=True):
        for name in dirs:
            entries.append((os.path.relpath(os.path.join(folder, name), root), "dir"))
        for name in files:
            full = os.path.join(folder, name)
            entries.append((os.path.relpath(full, root), sha1_of(full)))
    return sorted(entries)


def _normalised(doc: Any) -> dict[str, Any]:
    """The tool document without :data:`NEUTRAL` requirements and hints, and as loaded:
    cwltool writes ``dockerImageId`` (= ``dockerPull``) into a DockerRequirement the first
    time it runs the tool, and the worker keeps the tool object for later invocations."""
    kept = dict(doc)
    for section in ("requirements", "hints"):
        entries = kept.get(section)
        if isinstance(entries, list):
            kept[section] = [_as_loaded(e) for e in entries if not _neutral(e)]
    return kept


def _neutral(entry: Any) -> bool:
    return isinstance(entry, dict) and entry.get("class") in NEUTRAL


def _as_loaded(entry: Any) -> Any:
    docker = isinstance(entry, dict) and entry.get("class") == "DockerRequirement"
    if docker and entry.get("dockerImageId") == entry.get("dockerPull"):
        return {k: v for k, v in entry.items() if k != "dockerImageId"}
    return entry


def _preserved_environment(runtime: Any) -> dict[str, str | None]:
    """The variables cwltool passes through to the tool (``--preserve-environment``)."""
    if getattr(runtime, "preserve_entire_environment", False):
        return dict(os.environ)
    names = getattr(runtime, "preserve_environment", None) or []
    return {name: os.environ.get(name) for name in names}
