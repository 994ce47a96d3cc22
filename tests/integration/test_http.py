"""The HTTP contract through the Chalice test client: errors as JSON with a code, nothing written on refusal,
Idempotency-Key replays, authentication."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
from chalice.test import Client

from tests.conftest import ROOT
from tests.helpers import table_contents, without_idempotency

JSON = {"Content-Type": "application/json"}
PERIOD_2027 = {
    "period_id": "2027",
    "starts_on": "2027-01-01",
    "ends_on": "2027-12-31",
    "nominal": 1_200_000,
    "quotas": {"elizovo": 2},
}
CHILD = {"full_name": "Смирнова Анна", "birth_date": "2016-05-20", "municipality": "elizovo"}


def call(api: Client, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
    raw = body if isinstance(body, str) else ("" if body is None else json.dumps(body))
    response = api.http.request(method, path, headers={**JSON, **(headers or {})}, body=raw.encode())
    return response


def payload(response: Any) -> Any:
    return json.loads(response.body)


def token(api: Client, **claims: str) -> dict[str, str]:
    response = call(api, "POST", "/dev/token", claims)
    assert response.status_code == 201, response.body
    return {"Authorization": f"Bearer {payload(response)['token']}"}


@pytest.fixture
def world(api: Client) -> dict[str, Any]:
    """A running period 2027, a parent with a child, the operators."""
    call(api, "POST", "/dev/clock", {"now": "2027-03-01T10:00:00+12:00"})
    region = token(api, role="operator", sub="op-region", municipality="*")
    assert call(api, "POST", "/periods", PERIOD_2027, region).status_code == 201
    parent = token(api, role="parent", sub="parent-1")
    created = call(api, "POST", "/children", CHILD, parent)
    assert created.status_code == 201
    return {
        "region": region,
        "elizovo": token(api, role="operator", sub="op-e", municipality="elizovo"),
        "milkovo": token(api, role="operator", sub="op-m", municipality="milkovo"),
        "parent": parent,
        "other": token(api, role="parent", sub="parent-2"),
        "provider": token(api, role="provider", sub="prov", provider_id="p-1"),
        "certificate": payload(created)["certificate"]["id"],
    }


def refused(api: Client, status: int, code: str, method: str, path: str, body: Any, headers: dict[str, str]) -> None:
    before = without_idempotency(table_contents())
    response = call(api, method, path, body, headers)
    assert response.status_code == status, response.body
    assert payload(response)["error"]["code"] == code
    assert without_idempotency(table_contents()) == before


BAD_PERIODS = [
    ("{not json", 400, "invalid_json"),
    ("", 400, "invalid_json"),
    ([1, 2], 422, "validation_error"),
    ({**PERIOD_2027, "nominal": 1.5}, 422, "validation_error"),
    ({**PERIOD_2027, "nominal": "100"}, 422, "validation_error"),
    ({**PERIOD_2027, "nominal": -1}, 422, "validation_error"),
    ({**PERIOD_2027, "nominal": 10**15}, 422, "validation_error"),
    ({**PERIOD_2027, "starts_on": "2027-13-01"}, 422, "validation_error"),
    ({**PERIOD_2027, "period_id": "2028", "starts_on": "2028-01-02", "ends_on": "2028-12-31"}, 422, "validation_error"),
    ({**PERIOD_2027, "period_id": "2028", "starts_on": "2028-01-01", "ends_on": "2027-12-31"}, 422, "validation_error"),
    ({**PERIOD_2027, "period_id": "bad id"}, 422, "validation_error"),
    ({**PERIOD_2027, "quotas": {}}, 422, "validation_error"),
    ({**PERIOD_2027, "quotas": {"Elizovo!": 3}}, 422, "validation_error"),
    ({**PERIOD_2027, "extra": 1}, 422, "validation_error"),
    (PERIOD_2027, 409, "period_exists"),
    ({**PERIOD_2027, "period_id": "2027b", "starts_on": "2027-06-01", "ends_on": "2028-05-31"}, 409, "period_overlaps"),
]


@pytest.mark.parametrize(("body", "status", "code"), BAD_PERIODS)
def test_a_bad_period_is_refused_with_a_code_and_nothing_written(
    api: Client, world: dict[str, Any], body: Any, status: int, code: str
) -> None:
    refused(api, status, code, "POST", "/periods", body, world["region"])


BAD_CHILDREN = [
    ("[", 400, "invalid_json"),
    ({**CHILD, "full_name": ""}, 422, "validation_error"),
    ({**CHILD, "full_name": "R2-D2"}, 422, "validation_error"),
    ({**CHILD, "birth_date": "20.05.2016"}, 422, "validation_error"),
    ({**CHILD, "birth_date": "2030-01-01"}, 422, "validation_error"),
    ({**CHILD, "birth_date": "2024-01-01"}, 409, "not_eligible"),
    ({**CHILD, "municipality": "Елизово"}, 422, "validation_error"),
    ({"full_name": "Смирнова Анна"}, 422, "validation_error"),
]


@pytest.mark.parametrize(("body", "status", "code"), BAD_CHILDREN)
def test_a_bad_child_is_refused_with_a_code_and_nothing_written(
    api: Client, world: dict[str, Any], body: Any, status: int, code: str
) -> None:
    refused(api, status, code, "POST", "/children", body, world["parent"])


def test_bad_certificate_requests_are_refused_with_a_code_and_nothing_written(
    api: Client, world: dict[str, Any]
) -> None:
    certificate = world["certificate"]
    ledger = f"/certificates/{certificate}/ledger"
    # A path value that cannot be a certificate id is refused as an unknown one is, before anything is read.
    refused(api, 404, "certificate_not_found", "GET", "/certificates/12345", None, world["parent"])
    refused(api, 404, "certificate_not_found", "POST", "/certificates/0000000000x/funding", None, world["parent"])
    refused(api, 404, "certificate_not_found", "GET", f"/certificates/{certificate}", None, world["other"])
    refused(api, 404, "certificate_not_found", "POST", f"/certificates/{certificate}/funding", None, world["other"])
    refused(api, 403, "forbidden", "POST", f"/certificates/{certificate}/funding", None, world["region"])
    refused(api, 403, "forbidden", "GET", f"/certificates/{certificate}", None, world["milkovo"])
    refused(api, 403, "forbidden", "GET", f"/certificates/{certificate}", None, world["provider"])
    refused(api, 422, "validation_error", "GET", f"{ledger}?limit=0", None, world["parent"])
    refused(api, 422, "validation_error", "GET", f"{ledger}?limit=x", None, world["parent"])
    refused(api, 422, "validation_error", "GET", f"{ledger}?cursor=forged", None, world["parent"])


def test_routes_refuse_the_wrong_caller(api: Client, world: dict[str, Any]) -> None:
    refused(api, 401, "unauthenticated", "GET", "/children", None, {})
    refused(api, 401, "unauthenticated", "GET", "/children", None, {"Authorization": "Bearer junk"})
    refused(api, 403, "forbidden", "GET", "/children", None, world["region"])
    refused(api, 403, "forbidden", "POST", "/children", CHILD, world["provider"])
    refused(api, 403, "forbidden", "POST", "/periods", {**PERIOD_2027, "period_id": "2028"}, world["elizovo"])
    refused(api, 403, "forbidden", "POST", "/periods", {**PERIOD_2027, "period_id": "2028"}, world["parent"])
    refused(api, 403, "forbidden", "GET", "/periods/2027", None, world["parent"])
    refused(api, 404, "period_not_found", "GET", "/periods/1999", None, world["region"])
    refused(api, 403, "forbidden", "POST", "/periods/2027/topup", None, world["elizovo"])
    refused(api, 404, "period_not_found", "POST", "/periods/1999/topup", None, world["region"])


def test_the_dev_routes_refuse_bad_input(api: Client) -> None:
    for body in ({"role": "admin", "sub": "x"}, {"role": "operator", "sub": "x"}, {"sub": "x"}, "nope"):
        response = call(api, "POST", "/dev/token", body)
        assert response.status_code in (400, 401, 422) and "code" in payload(response)["error"]
    for body in ({"now": "2027-01-01T00:00:00"}, {"now": "yesterday"}, {}):
        response = call(api, "POST", "/dev/clock", body)
        assert response.status_code == 422 and payload(response)["error"]["code"] == "validation_error"


def test_funding_through_http_shows_the_balance_and_the_ledger(api: Client, world: dict[str, Any]) -> None:
    certificate = world["certificate"]
    funded = call(api, "POST", f"/certificates/{certificate}/funding", None, world["parent"])
    assert funded.status_code == 200
    assert payload(funded)["balance"] == {
        "credited": 1_000_000,
        "available": 1_000_000,
        "held": 0,
        "spent": 0,
        "expired": 0,
    }  # March to December: 10 of 12 months
    view = payload(call(api, "GET", f"/certificates/{certificate}", None, world["elizovo"]))
    assert view["status"] == "funded" and view["period_id"] == "2027" and view["valid_until"] == "2034-05-20"
    ledger = payload(call(api, "GET", f"/certificates/{certificate}/ledger", None, world["parent"]))
    assert [(e["kind"], e["amount"]) for e in ledger["entries"]] == [("credit", 1_000_000)]
    children = payload(call(api, "GET", "/children", None, world["parent"]))["children"]
    assert [c["certificate"]["id"] for c in children] == [certificate]


def test_a_retried_post_with_the_same_idempotency_key_returns_the_first_response(
    api: Client, world: dict[str, Any]
) -> None:
    headers = {**world["parent"], "Idempotency-Key": "register-anna-2"}
    body = {**CHILD, "full_name": "Смирнова Ольга"}
    first = call(api, "POST", "/children", body, headers)
    before = table_contents()
    again = call(api, "POST", "/children", body, headers)
    assert again.status_code == first.status_code == 201
    assert payload(again) == payload(first)
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert table_contents() == before
    children = payload(call(api, "GET", "/children", None, world["parent"]))["children"]
    assert len(children) == 2


def test_an_idempotency_key_reused_for_another_request_is_refused(api: Client, world: dict[str, Any]) -> None:
    headers = {**world["parent"], "Idempotency-Key": "k-1"}
    assert call(api, "POST", "/children", {**CHILD, "full_name": "Смирнов Олег"}, headers).status_code == 201
    refused(api, 422, "idempotency_key_reused", "POST", "/children", {**CHILD, "full_name": "Смирнов Иван"}, headers)


def test_a_refusal_is_remembered_under_its_idempotency_key_too(api: Client, world: dict[str, Any]) -> None:
    headers = {**world["region"], "Idempotency-Key": "period-2027-again"}
    first = call(api, "POST", "/periods", PERIOD_2027, headers)
    again = call(api, "POST", "/periods", PERIOD_2027, headers)
    assert first.status_code == again.status_code == 409
    assert payload(again) == payload(first)


def test_the_dev_routes_exist_only_in_the_local_stage() -> None:
    probe = "import app, json; print(json.dumps(sorted(app.app.routes)))"
    for stage, expected in (("local", True), ("dev", False), ("prod", False)):
        out = subprocess.run(
            [sys.executable, "-c", probe],
            cwd=ROOT,
            env={"PFDO_STAGE": stage, "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        routes = json.loads(out)
        assert ("/dev/token" in routes) is expected and ("/dev/clock" in routes) is expected
        assert "/certificates/{certificate_id}" in routes
