"""The fenced blocks of the documentation (``docs/*.md``, ``README.md``) and their commands.

The convention (docs/development.md, "Commands in the documentation"): a ```` ```bash ````,
``sh``, ``shell`` or ``console`` block is run by ``tests/test_docs.py``, from a directory
holding a copy of ``cwl-samples/``, unless the line right before its fence is
``<!-- not run: REASON -->``. Every ``cwl-dask …`` command of every such block, run or not,
is parsed by the real click command, so a renamed option or command fails a test.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHELL = frozenset({"bash", "sh", "shell", "console"})
_FENCE = re.compile(r"^(?P<indent> *)(?P<fence>```+|~~~+)\s*(?P<lang>[\w+-]*)")
_NOT_RUN = re.compile(r"^\s*<!--\s*not run:(?P<reason>.*?)-->\s*$")
_MARKER = re.compile(r"^\s*<!--\s*not run", re.I)
_CONTROL = {"&&", "||", ";", "|", "&", "(", ")", ";;"}
_REDIRECT = re.compile(r"^[<>]+&?$")
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


def pages() -> list[Path]:
    """Every page of the site, then the README."""
    return [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]


@dataclass(frozen=True)
class Block:
    """One fenced block: where it starts, its language, its text, and why it is not run."""

    page: Path
    line: int
    lang: str
    text: str
    not_run: str | None
    """The reason given in ``<!-- not run: … -->``; None: the block is run."""

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"

    @property
    def is_shell(self) -> bool:
        return self.lang in SHELL


@dataclass(frozen=True)
class Marker:
    """A ``not run`` comment, and whether a shell block follows it."""

    page: Path
    line: int
    reason: str | None
    """None: the comment does not have the ``<!-- not run: REASON -->`` form."""
    before_shell_block: bool


def blocks(page: Path) -> list[Block]:
    """The fenced blocks of a page, in order."""
    return [b for b in _scan(page) if isinstance(b, Block)]


def markers(page: Path) -> list[Marker]:
    """The ``not run`` comments of a page."""
    return [m for m in _scan(page) if isinstance(m, Marker)]


def _scan(page: Path) -> Iterator[Block | Marker]:
    lines = page.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if _MARKER.search(line):
            match = _NOT_RUN.match(line)
            reason = match.group("reason").strip() if match else None
            nxt = _FENCE.match(lines[i + 1]) if i + 1 < len(lines) else None
            shell = bool(nxt) and nxt.group("lang") in SHELL
            yield Marker(page, i + 1, reason or None, shell)
        start = _FENCE.match(line)
        if not start:
            i += 1
            continue
        fence, indent = start.group("fence"), len(start.group("indent"))
        body: list[str] = []
        j = i + 1
        while j < len(lines) and not lines[j].strip().startswith(fence):
            body.append(lines[j][indent:] if lines[j][:indent].isspace() else lines[j])
            j += 1
        previous = _NOT_RUN.match(lines[i - 1]) if i else None
        reason = previous.group("reason").strip() if previous else None
        yield Block(page, i + 1, start.group("lang"), "\n".join(body) + "\n", reason)
        i = j + 1


def commands(text: str) -> list[list[str]]:
    """The simple commands of a shell text, as argument lists (comments, redirections,
    variable assignments and line continuations removed; pipelines and lists split)."""
    found: list[list[str]] = []
    current: list[str] = []
    skip = False
    for token in _tokens(text):
        if skip:
            skip = False
            continue
        if token in _CONTROL or token == "\n":
            if current:
                found.append(current)
            current = []
        elif _REDIRECT.match(token):
            if current and current[-1].isdigit():
                current.pop()  # the fd of 2>
            skip = True  # the redirection's target
        elif not current and _ASSIGNMENT.match(token):
            continue  # VAR=value before a command
        else:
            current.append(token)
    if current:
        found.append(current)
    return found


def _tokens(text: str) -> Iterator[str]:
    """shlex drops newlines: each line of the (continuation-joined) text ends with one."""
    for line in text.replace("\\\n", " ").splitlines():
        inner = shlex.shlex(line, posix=True, punctuation_chars=";&|()<>")
        inner.whitespace_split = True
        inner.commenters = ""  # shlex would end `pkg.cwl#main` at its '#'; a shell does not
        for token in inner:
            if token.startswith("#"):
                break  # a comment: the rest of the line
            yield token
        yield "\n"


def cwl_dask_commands(block: Block) -> list[list[str]]:
    """The arguments of each ``cwl-dask`` command in a block (without ``cwl-dask``)."""
    return [c[1:] for c in commands(block.text) if c and c[0] == "cwl-dask"]
