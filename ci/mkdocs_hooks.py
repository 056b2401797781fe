"""MkDocs hooks: what GitHub and the site would otherwise render differently.

- The code's docstrings use Sphinx roles, which Markdown leaves as text: mkdocstrings renders
  ``:class:`~cwl_dask.errors.StepFailed``` as ``:class:`` followed by the code span. The role
  is dropped and, as Sphinx does for a ``~``, the last name kept. The docstrings stay as they
  are (one convention in the code).
- A ``|`` inside a table cell is written ``\\|`` (else it splits the cell); GitHub drops the
  backslash also inside a code span, Python-Markdown keeps it there: it is dropped here too.
"""

from __future__ import annotations

import re
from typing import Any

_ROLE = re.compile(r":(?:class|func|meth|mod|attr|exc|data|obj):(?=<code>)")
_TILDE = re.compile(r"<code>~(?:[\w]+\.)*([\w]+)</code>")
_CELL = re.compile(r"<td>.*?</td>", re.S)


def on_page_content(html: str, **_: Any) -> str:
    """Strip Sphinx roles (only the API page has any) and table cells' escaped pipes."""
    html = _TILDE.sub(r"<code>\1</code>", _ROLE.sub("", html))
    return _CELL.sub(lambda cell: cell.group(0).replace("\\|", "|"), html)
