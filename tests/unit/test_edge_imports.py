"""The HTTP edge (functions/edge/): each module imports alone, and no two of them import each other in a circle.

The graph counts every import statement in a module, at its top, inside a function (a lazy import) or under
``TYPE_CHECKING``: a circle that only a lazy import hides still ties the modules together.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

EDGE = ROOT / "functions" / "edge"
PACKAGE = "functions.edge"
MODULES = sorted(f"{PACKAGE}.{path.stem}" for path in EDGE.glob("*.py") if path.stem != "__init__")


def _imports(path: Path) -> set[str]:
    """The edge modules ``path`` imports, anywhere in it."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name in MODULES}


def _graph() -> dict[str, set[str]]:
    return {module: _imports(EDGE / f"{module.rsplit('.', 1)[1]}.py") - {module} for module in MODULES}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A circle of imports in ``graph`` (depth-first search), or None."""
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> list[str] | None:
        if module in path:
            return [*path[path.index(module) :], module]
        if module in done:
            return None
        for imported in sorted(graph[module]):
            circle = visit(imported, [*path, module])
            if circle is not None:
                return circle
        done.add(module)
        return None

    for module in sorted(graph):
        circle = visit(module, [])
        if circle is not None:
            return circle
    return None


def test_the_edge_has_the_expected_modules() -> None:
    assert {"route", "routes", "http", "url_adapter", "openapi", "apidoc"} <= {m.rsplit(".", 1)[1] for m in MODULES}


def test_no_edge_module_imports_another_in_a_circle() -> None:
    graph = _graph()
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])
    # The one direction the docstring of functions/edge/__init__.py draws.
    assert graph[f"{PACKAGE}.route"] == set()
    assert f"{PACKAGE}.routes" not in graph[f"{PACKAGE}.http"]


def test_the_cycle_finder_finds_a_circle() -> None:
    """The check above would see a circle (as routes.py and http.py once made one)."""
    circle = {"a": {"b"}, "b": {"a"}}
    assert _cycle(circle) == ["a", "b", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


@pytest.mark.parametrize("module", MODULES)
def test_each_edge_module_imports_alone_in_a_fresh_interpreter(module: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", f"import {module}"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
