"""Input is checked whole and early: a path id that cannot be one is refused by the edge before any read (never a 500
from DynamoDB's key limits), and a value with a trailing new line is not a municipality."""

from __future__ import annotations

import re
from typing import Any

from chalice.test import Client

from devtools.roundtrips import counting
from functions.edge.routes import routes
from tests.integration.test_http import CHILD, call, payload, refused, token, world  # noqa: F401 - fixture

PARAMETER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
WITH_IDS = [route for route in routes(local=True) if PARAMETER.search(route.path)]
MALFORMED = ["9" * 3000, "1%0A", "..", "%F0%9F%98%80"]


def _path(template: str, value: str) -> str:
    return PARAMETER.sub(value, template)


def test_a_path_id_that_cannot_be_one_is_refused_before_any_read(api: Client, world: dict[str, Any]) -> None:  # noqa: F811
    """Every route with a path parameter, each malformed value (one world for all: this is the edge's rule)."""
    assert len(WITH_IDS) > 30
    for route in WITH_IDS:
        who = {} if route.public else world["region"]
        body = "{}" if route.method in ("POST", "PUT", "PATCH") else None
        for value in MALFORMED:
            with counting() as trips:
                response = call(api, route.method, _path(route.path, value), body, {**who, "Idempotency-Key": "k"})
            assert response.status_code == 404, (route.key, value, response.body)
            assert payload(response)["error"]["code"].endswith("not_found")
            assert trips.total == 0, (route.key, value, trips.calls)


def test_the_3000_digit_contract_id_of_the_review_is_not_found(api: Client, world: dict[str, Any]) -> None:  # noqa: F811
    response = call(api, "GET", "/contracts/" + "1" * 3000, None, world["parent"])
    assert response.status_code == 404 and payload(response)["error"]["code"] == "contract_not_found"


def test_a_municipality_with_a_trailing_new_line_is_refused_and_changes_nothing(
    api: Client,
    world: dict[str, Any],  # noqa: F811
) -> None:
    child = {**CHILD, "full_name": "Петров Пётр", "municipality": "elizovo\n"}
    refused(api, 422, "validation_error", "POST", "/children", child, world["parent"])
