"""MkDocs hook: the code's docstrings use Sphinx roles, which Markdown leaves as text.

mkdocstrings renders ``:class:`~cwl_dask.errors.StepFailed``` as ``:class:`` followed by
the code span; this drops the role and, as Sphinx does for a ``~``, keeps the last name.
The docstrings stay as they are (one convention in the code); only the site is changed.
"""

from __future__ import annotations

import re
from typing import Any

_ROLE = re.compile(r":(?:class|func|meth|mod|attr|exc|data|obj):(?=<code>)")
_TILDE = re.compile(r"<code>~(?:[\w]+\.)*([\w]+)</code>")


def on_page_content(html: str, **_: Any) -> str:
    """Strip Sphinx roles from the rendered page (only the API page has any)."""
    return _TILDE.sub(r"<code>\1</code>", _ROLE.sub("", html))
