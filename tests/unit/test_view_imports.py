"""The views (functions/*.py) import the services and the domain, never storage: a view parses, calls a use case and
shows the entity it gets back. Every import counts, at the top, inside a function or under ``TYPE_CHECKING``; and
the domain imports no framework at all."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT

VIEWS = sorted((ROOT / "functions").glob("*.py"))
DOMAIN = sorted((ROOT / "chalicelib" / "domain").glob("*.py"))


def imported(path: Path) -> set[str]:
    """Every module ``path`` imports, and every name it imports from a package (``from a import b``: ``a.b``)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_there_are_views_to_check() -> None:
    assert {path.stem for path in VIEWS} >= {"certificates", "contracts", "programs", "providers", "schemas"}


@pytest.mark.parametrize("view", VIEWS, ids=[path.name for path in VIEWS])
def test_a_view_never_imports_storage(view: Path) -> None:
    storage = sorted(
        name for name in imported(view) if name == "chalicelib.storage" or name.startswith("chalicelib.storage.")
    )
    assert storage == [], f"{view.name} imports {storage}: ask a service (chalicelib/services/) instead"


def test_the_check_sees_every_way_of_importing_storage(tmp_path: Path) -> None:
    for line in (
        "from chalicelib.storage import contracts",
        "from chalicelib import storage",
        "import chalicelib.storage.models",
        "def f():\n    from chalicelib.storage.pages import Page",
    ):
        module = tmp_path / "view.py"
        module.write_text(line + "\n")
        assert any(n == "chalicelib.storage" or n.startswith("chalicelib.storage.") for n in imported(module)), line


@pytest.mark.parametrize("module", DOMAIN, ids=[path.name for path in DOMAIN])
def test_the_domain_imports_no_framework(module: Path) -> None:
    frameworks = ("boto3", "botocore", "chalice", "pynamodb", "pydantic", "chalicelib.storage", "chalicelib.services")
    found = sorted(name for name in imported(module) if any(name == f or name.startswith(f + ".") for f in frameworks))
    assert found == [], f"{module.name} imports {found}"
