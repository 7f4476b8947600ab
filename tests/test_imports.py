"""The import graph of Koe's own packages has no circle (issue 20): a feature tells the others
through ``app.signals`` and registries (``app.notifications.operations.reads``), and the app
tells the live pages through ``app.events.broadcast``, never by importing what imports it.

Every import counts, the ones inside functions too (a circle hidden in a function is still
one); only ``if TYPE_CHECKING:`` imports, which never run, are left out. A module's import of
its own package's ``__init__`` is not an edge (Python runs it first anyway).

``python tests/test_imports.py`` prints the circles and the imports inside functions.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("app", "realtime", "moderation", "analytics")


def _modules() -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join(parts)] = path
    return modules


def _type_checking_only(tree: ast.AST) -> set[int]:
    """The ids of the import nodes under ``if TYPE_CHECKING:``."""
    hidden = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for inner in node.body:
                hidden.update(id(n) for n in ast.walk(inner))
    return hidden


def graph() -> tuple[nx.DiGraph, list[tuple[str, int, str]]]:
    """The module graph, and the imports made inside functions: (module, line, target)."""
    modules = _modules()

    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    edges = nx.DiGraph()
    edges.add_nodes_from(modules)
    inside: list[tuple[str, int, str]] = []
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        hidden = _type_checking_only(tree)
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        in_function = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                in_function.update(id(n) for n in ast.walk(node) if n is not node)
        for node in ast.walk(tree):
            if id(node) in hidden:
                continue
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(up + ([base] if base else []))
                names = [base] + [f"{base}.{alias.name}" for alias in node.names]
            else:
                continue
            for name in names:
                target = resolve(name)
                if target is None or target == module or module.startswith(target + "."):
                    continue
                edges.add_edge(module, target)
                if id(node) in in_function:
                    inside.append((module, node.lineno, target))
    return edges, sorted(set(inside))


def circles(edges: nx.DiGraph) -> list[list[str]]:
    return [sorted(c) for c in nx.strongly_connected_components(edges) if len(c) > 1]


def test_no_module_imports_what_imports_it():
    edges, _inside = graph()
    assert circles(edges) == []


if __name__ == "__main__":
    found, inside = graph()
    print(f"{len(circles(found))} import circles among {found.number_of_nodes()} modules")
    for circle in circles(found):
        print("  " + " → ".join(circle))
    statements = len({(module, line) for module, line, _target in inside})
    print(f"{statements} import statements of Koe's modules inside functions:")
    for module, line, target in inside:
        print(f"  {module}:{line} → {target}")
