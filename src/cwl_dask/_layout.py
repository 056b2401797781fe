"""The package's architecture, checked: ``python -m cwl_dask._layout``.

Reads every module of ``cwl_dask`` (without importing it) and builds the graph of its
imports of ``cwl_dask`` modules — at module level and inside functions alike, since a
lazy import is a dependency too. It prints each sub-package with the sub-packages it
imports and the size of its largest module, and exits non-zero when the rules the folders
stand for are broken: an import cycle between modules, the worker side importing the driver
side, or a sub-package importing one it must not (:data:`FORBIDDEN`).
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent
PACKAGE = "cwl_dask"

#: Sub-package -> the sub-packages it must never import (why: see each package docstring).
FORBIDDEN: dict[str, set[str]] = {
    "worker": {"driver", "provenance", "cli", "zoo", "api"},
    "provenance": {"driver", "worker", "cli", "zoo", "api"},
    "documents": {"driver", "worker", "cli", "zoo", "api", "observe", "eo"},
    "observe": {"driver", "worker", "cli", "zoo", "api"},
    "clusters": {"driver", "cli", "zoo", "api"},
    "eo": {"driver", "worker", "cli", "zoo", "api"},
    "driver": {"cli", "zoo", "api"},
    "data": {"driver", "worker", "cli", "zoo", "api", "observe", "eo", "clusters"},
    "wes": {"driver", "worker", "cli", "zoo", "api", "observe", "eo", "clusters", "data"},
    "errors": {"driver", "worker", "cli", "zoo", "api", "observe", "eo", "clusters"},
}

#: A module longer than this is a smell worth a look (the project's "~400 lines" rule).
MAX_LINES = 400


@dataclass
class Layout:
    """Modules, their line counts and the ``cwl_dask`` modules each one imports."""

    lines: dict[str, int] = field(default_factory=dict)
    imports: dict[str, set[str]] = field(default_factory=dict)

    @staticmethod
    def read(root: Path = ROOT) -> Layout:
        layout = Layout()
        for path in sorted(root.rglob("*.py")):
            name = _module_name(path, root)
            text = path.read_text(encoding="utf-8")
            layout.lines[name] = text.count("\n")
            layout.imports[name] = set(_imported(ast.parse(text), name, path.name))
        for name, targets in layout.imports.items():
            layout.imports[name] = {_known(t, layout.lines) for t in targets} - {name, None}
        return layout

    def cycles(self) -> list[list[str]]:
        """Strongly connected groups of more than one module (Tarjan's algorithm)."""
        index: dict[str, int] = {}
        low: dict[str, int] = {}
        stack: list[str] = []
        on_stack: set[str] = set()
        found: list[list[str]] = []

        def visit(node: str) -> None:
            index[node] = low[node] = len(index)
            stack.append(node)
            on_stack.add(node)
            for target in sorted(self.imports.get(node, ())):
                if target not in index:
                    visit(target)
                    low[node] = min(low[node], low[target])
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
            if low[node] == index[node]:
                group = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    group.append(top)
                    if top == node:
                        break
                if len(group) > 1:
                    found.append(sorted(group))

        sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * len(self.lines)))
        for node in sorted(self.lines):
            if node not in index:
                visit(node)
        return found

    def forbidden(self) -> list[str]:
        """``module -> module`` for every import a rule of :data:`FORBIDDEN` refuses."""
        broken = []
        for source, targets in sorted(self.imports.items()):
            banned = FORBIDDEN.get(_part(source), set())
            for target in sorted(targets):
                if _part(target) in banned:
                    broken.append(f"{source} -> {target}")
        return broken

    def package_graph(self) -> dict[str, set[str]]:
        graph: dict[str, set[str]] = {}
        for source, targets in self.imports.items():
            graph.setdefault(_part(source), set()).update(
                _part(t) for t in targets if _part(t) != _part(source)
            )
        return graph

    def too_long(self) -> dict[str, int]:
        return {name: n for name, n in sorted(self.lines.items()) if n > MAX_LINES}


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([PACKAGE, *parts])


def _imported(tree: ast.AST, module: str, filename: str) -> Iterable[str]:
    package = module if filename == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name.startswith(PACKAGE))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            if base == PACKAGE or base.startswith(PACKAGE + "."):
                yield base
                yield from (f"{base}.{a.name}" for a in node.names)


def _known(name: str, modules: dict[str, int]) -> str | None:
    """The module ``name`` is, or the longest module prefix (``pkg.mod.attr`` -> ``pkg.mod``)."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def _part(module: str) -> str:
    """The sub-package (or top-level module) a module belongs to: ``driver``, ``errors``…"""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "(package)"


def main() -> int:
    layout = Layout.read()
    graph = layout.package_graph()
    for part in sorted(graph):
        modules = [m for m in layout.lines if _part(m) == part]
        largest = max(modules, key=lambda m: layout.lines[m])
        uses = ", ".join(sorted(graph[part])) or "-"
        print(f"{part:<12} {len(modules):>3} modules, largest {layout.lines[largest]:>4} lines"
              f"  -> {uses}")  # fmt: skip
    problems = [f"import cycle: {' -> '.join(group)}" for group in layout.cycles()]
    problems += [f"forbidden import: {edge}" for edge in layout.forbidden()]
    for name, n in layout.too_long().items():
        print(f"note: {name} has {n} lines (more than {MAX_LINES})")
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
