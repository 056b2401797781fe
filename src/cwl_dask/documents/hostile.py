"""Refuse the input files that would crash or stall a run, before anything walks them.

Documents and job files may come from strangers: a ZOO server deploys the packages users
send and runs the jobs they post. Three kinds were seen to hurt (issue 32): a binary file
(a ``UnicodeDecodeError`` traceback, exit 1), a YAML "alias bomb" (nine anchors, each list
naming the previous one nine times: ruamel loads it at once, as shared references, but
cwltool and cwl-dask then walk it as the tree it stands for, 9**9 strings — hung past
60 s), and a job file far larger than any job needs. Each is refused here with a message
naming the file (exit 2). cwltool is given nothing different: the checks only read.
"""

from __future__ import annotations

import os
from typing import Any

from cwl_dask.errors import InvalidInputError

#: The Dask config key bounding the size of a job file (``DASK_CWL_DASK__JOB_FILE_LIMIT``).
JOB_FILE_LIMIT_KEY = "cwl-dask.job-file-limit"
DEFAULT_JOB_FILE_LIMIT = "64 MiB"

#: Values that YAML aliases (``*name``) may add once expanded. An anchor reused a few
#: times adds a few; an alias bomb adds billions. Walking 100,000 takes milliseconds.
MAX_ALIASED_VALUES = 100_000


def job_file_limit() -> int:
    """The largest job file accepted, in bytes (Dask config ``cwl-dask.job-file-limit``)."""
    import dask
    from dask.utils import parse_bytes

    value = dask.config.get(JOB_FILE_LIMIT_KEY, None) or DEFAULT_JOB_FILE_LIMIT
    try:
        return int(parse_bytes(value))
    except (TypeError, ValueError) as err:
        raise InvalidInputError(
            f"the Dask config {JOB_FILE_LIMIT_KEY} must be a size such as 64MiB, not {value!r}"
        ) from err


def read_text(path: str, what: str, limit: int | None = None) -> str:
    """The text of ``path``, refused when larger than ``limit`` bytes or not UTF-8 text."""
    from dask.utils import format_bytes

    if limit is not None:
        size = os.path.getsize(path)
        if size > limit:
            raise InvalidInputError(
                f"{path} is larger than {format_bytes(limit)} ({format_bytes(size)}), the "
                f"bound of a {what}: raise it with the Dask config {JOB_FILE_LIMIT_KEY} "
                "(e.g. DASK_CWL_DASK__JOB_FILE_LIMIT=256MiB)"
            )
    with open(path, "rb") as handle:
        data = handle.read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise _not_text(path, what, err.start) from None
    if "\0" in text:
        raise _not_text(path, what, data.index(b"\0"))
    return text


def _not_text(path: str, what: str, offset: int) -> InvalidInputError:
    return InvalidInputError(
        f"{path} is not a text file (byte {offset} is not UTF-8 text): a {what} is YAML or JSON"
    )


def check_aliases(value: Any, path: str) -> None:
    """Refuse ``value`` (as ruamel loaded it) if its YAML aliases expand beyond the bound.

    An alias is loaded as another reference to its anchor's object, so the tree a value
    stands for is counted once per distinct object, in time linear in what was loaded.
    """
    sizes: dict[int, int] = {}  # the expanded size of each container met
    loaded = 1  # values as loaded: each container's children, shared ones once
    stack: list[tuple[Any, bool]] = [(value, False)]
    while stack:
        node, children_done = stack.pop()
        if not isinstance(node, (dict, list)) or (id(node) in sizes and not children_done):
            continue
        children = list(node.keys()) + list(node.values()) if isinstance(node, dict) else node
        if not children_done:
            sizes[id(node)] = -1  # under way: met again below itself, the alias is recursive
            loaded += len(children)
            stack.append((node, True))
            for child in children:
                if isinstance(child, (dict, list)) and sizes.get(id(child)) == -1:
                    raise _bomb(path, "include one inside its own anchor")
                stack.append((child, False))
            continue
        sizes[id(node)] = 1 + sum(sizes.get(id(c), 1) for c in children)
        if sizes[id(node)] - loaded > MAX_ALIASED_VALUES:  # at most what aliases added
            raise _bomb(path, f"expand to more than {MAX_ALIASED_VALUES:,} values")


def _bomb(path: str, what: str) -> InvalidInputError:
    return InvalidInputError(
        f"{path}: its YAML aliases (*name) {what}; refused, as a YAML alias bomb "
        '("billion laughs") would be'
    )


def load_checked(path: str, what: str, limit: int | None = None) -> Any:
    """The YAML of ``path`` loaded (ruamel, safe), after :func:`read_text`'s checks, and
    checked for alias bombs when it may hold aliases. A syntax error raises ``YAMLError``."""
    from ruamel.yaml import YAML

    text = read_text(path, what, limit)
    loaded = YAML(typ="safe", pure=True).load(text)
    if "*" in text:
        check_aliases(loaded, path)
    return loaded


def check_document(reference: str) -> None:
    """A local CWL document (``path`` or ``path#id``): text, and no alias bomb.

    Its YAML is loaded here only when it may hold aliases (a ``*``); syntax errors are left
    for cwltool to report, with their line.
    """
    from ruamel.yaml.error import YAMLError

    path = reference.partition("#")[0]
    if path.startswith("file://"):
        path = path[len("file://") :]
    elif "://" in path or not os.path.isfile(path):
        return
    try:
        load_checked(path, "CWL document")
    except YAMLError:
        return
