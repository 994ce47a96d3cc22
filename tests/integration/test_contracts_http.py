"""Contracts over HTTP: the cabinet's flow, and every refusal with its code and nothing written."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.domain.period import Period
from tests.factories import approved_provider, program
from tests.helpers import table_contents, without_idempotency
from tests.integration.test_http import CHILD, PERIOD_2027, call, payload, token

PRICE = 100_000


@pytest.fixture
def enrolled(api: Client) -> dict[str, Any]:
    call(api, "POST", "/dev/clock", {"now": "2027-03-10T10:00:00+12:00"})
    region = token(api, role="operator", sub="op-region", municipality="*")
    assert call(api, "POST", "/periods", PERIOD_2027, region).status_code == 201
    parent = token(api, role="parent", sub="parent-1")
    certificate = payload(call(api, "POST", "/children", CHILD, parent))["certificate"]["id"]
    assert call(api, "POST", f"/certificates/{certificate}/funding", None, parent).status_code == 200
    approved_provider()
    period = Period("2027", date(2027, 1, 1), date(2027, 12, 31), 1, {"elizovo": 1}, "Asia/Kamchatka")
    program_id = program(period, price=PRICE, capacity=3)
    return {
        "region": region,
        "parent": parent,
        "other_parent": token(api, role="parent", sub="parent-2"),
        "provider": token(api, role="provider", sub="prov", provider_id="7707083893"),
        "other_provider": token(api, role="provider", sub="prov-2", provider_id="7736050003"),
        "milkovo": token(api, role="operator", sub="op-m", municipality="milkovo"),
        "certificate": certificate,
        "program": program_id,
    }


def enrol(api: Client, world: dict[str, Any], key: str = "enrol-1") -> Any:
    body = {"certificate_id": world["certificate"], "program_id": world["program"]}
    return call(api, "POST", "/contracts", body, {**world["parent"], "Idempotency-Key": key})


def refused(api: Client, status: int, code: str, method: str, path: str, body: Any, headers: dict[str, str]) -> None:
    before = without_idempotency(table_contents())
    response = call(api, method, path, body, headers)
    assert response.status_code == status, response.body
    assert payload(response)["error"]["code"] == code
    assert without_idempotency(table_contents()) == before


def test_a_parent_enrols_the_provider_accepts_and_charges_a_month(api: Client, enrolled: dict[str, Any]) -> None:
    created = enrol(api, enrolled)
    assert created.status_code == 201
    contract = payload(created)
    assert (contract["status"], contract["hold"], contract["held"]) == ("requested", 10 * PRICE, 10 * PRICE)
    again = enrol(api, enrolled)
    assert again.status_code == 201 and payload(again)["id"] == contract["id"]
    assert again.headers.get("Idempotent-Replayed") == "true"
    path = f"/contracts/{contract['id']}"
    accepted = call(api, "POST", f"{path}/accept", None, enrolled["provider"])
    assert payload(accepted)["status"] == "active" and payload(accepted)["months_to_charge"] == ["2027-03"]
    charge = {"month": "2027-03", "amount": PRICE}
    charged = call(api, "POST", f"{path}/charges", charge, {**enrolled["provider"], "Idempotency-Key": "march"})
    assert charged.status_code == 201 and payload(charged)["amount"] == PRICE
    replay = call(api, "POST", f"{path}/charges", charge, {**enrolled["provider"], "Idempotency-Key": "march"})
    assert replay.status_code == 201 and payload(replay) == payload(charged)
    view = payload(call(api, "GET", path, None, enrolled["parent"]))
    assert view["charges"] == {"2027-03": PRICE} and view["held"] == 9 * PRICE and view["months_to_charge"] == []
    listed = payload(call(api, "GET", "/contracts?status=active", None, enrolled["provider"]))["contracts"]
    assert [c["id"] for c in listed] == [contract["id"]]
    balance = payload(call(api, "GET", f"/certificates/{enrolled['certificate']}", None, enrolled["parent"]))["balance"]
    assert (balance["held"], balance["spent"]) == (9 * PRICE, PRICE)
    cancelled = call(api, "POST", f"{path}/cancel", {}, enrolled["parent"])
    assert payload(cancelled)["status"] == "cancelled"


def fresh_key(headers: dict[str, str]) -> dict[str, str]:
    """A new Idempotency-Key each time: a key reused with another body is refused on its own (422)."""
    return {**headers, "Idempotency-Key": uuid.uuid4().hex}


def test_bad_enrolments_are_refused_with_a_code_and_nothing_written(api: Client, enrolled: dict[str, Any]) -> None:
    body = {"certificate_id": enrolled["certificate"], "program_id": enrolled["program"]}
    parent = enrolled["parent"]
    refused(api, 400, "idempotency_key_required", "POST", "/contracts", body, enrolled["parent"])
    refused(api, 400, "invalid_json", "POST", "/contracts", "{", fresh_key(parent))
    refused(api, 422, "validation_error", "POST", "/contracts", {**body, "certificate_id": "12"}, fresh_key(parent))
    refused(api, 422, "validation_error", "POST", "/contracts", {"program_id": enrolled["program"]}, fresh_key(parent))
    refused(api, 404, "program_not_found", "POST", "/contracts", {**body, "program_id": "nope"}, fresh_key(parent))
    refused(
        api,
        404,
        "certificate_not_found",
        "POST",
        "/contracts",
        body,
        {**enrolled["other_parent"], "Idempotency-Key": "k"},
    )
    refused(api, 403, "forbidden", "POST", "/contracts", body, {**enrolled["provider"], "Idempotency-Key": "k"})
    refused(api, 401, "unauthenticated", "POST", "/contracts", body, {"Idempotency-Key": "k"})


def test_bad_charges_and_transitions_are_refused_with_a_code_and_nothing_written(
    api: Client, enrolled: dict[str, Any]
) -> None:
    contract = payload(enrol(api, enrolled))["id"]
    path = f"/contracts/{contract}"
    provider = fresh_key(enrolled["provider"])
    march = {"month": "2027-03", "amount": PRICE}
    refused(api, 409, "not_active", "POST", f"{path}/charges", march, provider)
    refused(api, 404, "contract_not_found", "POST", f"{path}/accept", None, enrolled["other_provider"])
    refused(api, 403, "forbidden", "POST", f"{path}/accept", None, enrolled["parent"])
    refused(api, 422, "validation_error", "POST", f"{path}/decline", {}, enrolled["provider"])
    call(api, "POST", f"{path}/accept", None, enrolled["provider"])
    refused(api, 409, "invalid_transition", "POST", f"{path}/decline", {"reason": "нет"}, enrolled["provider"])
    refused(api, 400, "idempotency_key_required", "POST", f"{path}/charges", march, enrolled["provider"])
    charges = f"{path}/charges"
    own = enrolled["provider"]
    refused(api, 422, "validation_error", "POST", charges, {"month": "2027-3", "amount": PRICE}, fresh_key(own))
    refused(api, 422, "validation_error", "POST", charges, {"month": "2027-03", "amount": 1.5}, fresh_key(own))
    refused(api, 422, "validation_error", "POST", charges, {"month": "2027-03", "amount": -5}, fresh_key(own))
    refused(api, 422, "over_price", "POST", charges, {"month": "2027-03", "amount": PRICE + 1}, fresh_key(own))
    refused(api, 409, "month_not_chargeable", "POST", charges, {"month": "2027-05", "amount": 1}, fresh_key(own))
    other = {**enrolled["other_provider"], "Idempotency-Key": "c-2"}
    refused(api, 404, "contract_not_found", "POST", f"{path}/charges", march, other)
    refused(api, 404, "contract_not_found", "POST", "/contracts/garbage/charges", march, fresh_key(own))
    refused(api, 404, "contract_not_found", "GET", path, None, enrolled["other_parent"])
    refused(api, 403, "forbidden", "GET", path, None, enrolled["milkovo"])
    refused(api, 422, "validation_error", "GET", "/contracts?limit=0", None, enrolled["parent"])
    refused(api, 422, "validation_error", "GET", "/contracts?status=weird", None, enrolled["parent"])
    refused(api, 422, "validation_error", "GET", "/contracts?cursor=forged", None, enrolled["parent"])
    # A refusal is remembered under its key (a replay gets it again), so a new attempt takes a new key.
    assert call(api, "POST", f"{path}/charges", march, provider).status_code == 409
    assert call(api, "POST", f"{path}/charges", march, fresh_key(own)).status_code == 201
    again = {**enrolled["provider"], "Idempotency-Key": "c-3"}
    refused(api, 409, "month_charged", "POST", f"{path}/charges", march, again)
