"""The route table: every view exists, the app serves exactly the table, and a cold start loads no view."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from functions.edge.openapi import document
from functions.edge.route import PATH_PATTERNS, malformed_parameter
from functions.edge.routes import ROUTES, Route, routes, view_of


@pytest.mark.parametrize("route", ROUTES, ids=lambda route: route.key)
def test_every_route_names_a_view_that_exists(route: Route) -> None:
    assert callable(view_of(route))


def test_no_two_routes_share_a_method_and_path_or_a_name() -> None:
    assert len({route.key for route in ROUTES}) == len(ROUTES)
    assert len({route.name for route in ROUTES}) == len(ROUTES)


def test_every_path_parameter_has_a_pattern_that_the_api_document_shows() -> None:
    used = {name for route in ROUTES for name in route.parameters}
    assert used == set(PATH_PATTERNS)
    for path, operations in document(local=True)["paths"].items():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path":
                    assert parameter["schema"]["pattern"] == f"^(?:{PATH_PATTERNS[parameter['name']]})$", path


@pytest.mark.parametrize(
    ("params", "malformed"),
    [
        ({"contract_id": "1234567890-0123456789ab"}, None),
        ({"contract_id": "1234567890-0123456789ab\n"}, "contract_id"),
        ({"certificate_id": "1" * 3000}, "certificate_id"),
        ({"provider_id": "123456789012", "document_id": "licence-" + "0" * 32}, None),
        ({"provider_id": "123456789012", "document_id": "licence-0"}, "document_id"),
        ({"month": "2027-13"}, "month"),
        ({"unknown": "x"}, "unknown"),
    ],
)
def test_a_path_value_is_checked_whole_against_its_parameters_pattern(
    params: dict[str, str], malformed: str | None
) -> None:
    assert malformed_parameter(params) == malformed


def test_the_dev_routes_and_the_api_page_are_served_in_the_local_stage_only() -> None:
    assert {route.path for route in routes(local=True)} - {route.path for route in routes(local=False)} == {
        "/dev/token",
        "/dev/clock",
        "/docs",
        "/docs/assets/{name}",
    }
    assert all(not route.path.startswith(("/dev/", "/docs")) for route in routes(local=False))


# In a fresh interpreter: which of our modules `import app` loaded, and the routes the app serves.
PROBE = """
import json, sys
import app
print(json.dumps({
    "modules": sorted(name for name in sys.modules if name.startswith("functions.")),
    "routes": sorted(f"{method} {path}" for path, entry in app.app.routes.items() for method in entry),
}))
"""


def test_a_cold_start_loads_the_route_table_but_no_view() -> None:
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    views = {f"functions.{route.view.split(':')[0]}" for route in ROUTES}
    assert not views & set(loaded["modules"]), "a view module was imported at cold start"
    assert "functions.edge.http" not in loaded["modules"]
    assert loaded["routes"] == sorted(route.key for route in routes(local=True))
