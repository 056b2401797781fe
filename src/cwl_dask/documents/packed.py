"""Documents packed by tools that keep cwltool's ``original_cwlVersion`` annotation.

Why: when cwltool upgrades a document (say v1.0 → v1.2) it notes the version it came from
under ``http://commonwl.org/cwltool#original_cwlVersion``. Tools that load a package with
cwltool or cwl-utils and save it again (packers, wrappers such as eoap-cwlwrap) can write
that key into their output, whose ``cwlVersion`` is already the new one. cwltool then
refuses the document before reading it: "original_cwlVersion is set (v1.0) but cwlVersion
is 'v1.2', expected 'v1.3.0-dev1'" — the key is only legal on its internal version. The
document itself is valid CWL of the version it declares, so cwl-dask drops the stale
annotation from the top of the document and loads it as what it says it is.

The check happens in ``cwltool.update.checkversion`` on the raw document, before any hook;
the only extension point that sees the document earlier is the loader's fetcher, which calls
:func:`without_stale_original_version` on every document text it returns.
"""

from __future__ import annotations

import io
import logging

from cwltool.update import INTERNAL_VERSION, ORIGINAL_CWLVERSION
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

_logger = logging.getLogger("cwl_dask")


def without_stale_original_version(text: str, url: str) -> str:
    """``text`` without a top-level ``original_cwlVersion`` cwltool would refuse.

    Untouched (the same string) unless the key is there and ``cwlVersion`` is not cwltool's
    internal version — so line numbers in error messages stay those of the file in every
    other case.
    """
    if ORIGINAL_CWLVERSION not in text:
        return text
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096
    try:
        document = yaml.load(text)
    except YAMLError:
        return text  # cwltool reports it
    if not isinstance(document, dict) or ORIGINAL_CWLVERSION not in document:
        return text
    if document.get("cwlVersion") == INTERNAL_VERSION:
        return text
    original = document.pop(ORIGINAL_CWLVERSION)
    _logger.info(
        "%s: ignoring %s: %s (the document says cwlVersion %s)",
        url,
        ORIGINAL_CWLVERSION,
        original,
        document.get("cwlVersion"),
    )
    out = io.StringIO()
    yaml.dump(document, out)
    return out.getvalue()
