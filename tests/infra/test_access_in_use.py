"""Each function, run against DynamoDB Local, sends only requests its IAM role allows (infra/access.py).

The roles are rendered from infra/access.py; here every DynamoDB request a function sends while it works is
recorded (tests/infra/access_log.py) and checked against that data. A call added to the code without its grant fails
here, not in AWS at the first invocation.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.domain.period import Period
from functions import runtime
from infra.access import FUNCTIONS
from tests.conftest import ROOT
from tests.factories import approved_provider, program
from tests.infra.access_log import AccessLog, Request, not_allowed
from tests.integration.test_http import CHILD, call, payload, token

EVENTS = ROOT / "infra" / "events"
PROVIDER = "7707083893"
PERIOD_2027 = {
    "period_id": "2027",
    "starts_on": "2027-01-01",
    "ends_on": "2027-12-31",
    "nominal": 1_200_000,
    "quotas": {"elizovo": 5},
}
PERIOD_2028 = {**PERIOD_2027, "period_id": "2028", "starts_on": "2028-01-01", "ends_on": "2028-12-31"}
APPLICATION = {
    "name": "МБУ ДО «Детская школа искусств»",
    "kind": "organization",
    "inn": PROVIDER,
    "ogrn": "1027700132195",
    "licence": "Л035-01234-41/00123456",
    "municipality": "elizovo",
    "contacts": {"phone": "+7 415 312-34-56", "email": "school@example.ru"},
}
CHESS = {
    "title": "Шахматы для начинающих",
    "description": "Дебют, миттельшпиль и эндшпиль.",
    "direction": "physical_sports",
    "age_min": 7,
    "age_max": 12,
    "municipality": "elizovo",
    "address": "Елизово, ул. Ленина, 1",
    "schedule": "вт, чт 16:00-17:30",
    "period_id": "2027",
    "price_per_month": 90_000,
    "capacity": 12,
}


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.body
    return payload(response)


class _Started:
    """The deployed stage's top-up starter, as a fake."""

    def __init__(self) -> None:
        self.periods: list[str] = []

    def start(self, period_id: str) -> bool:
        self.periods.append(period_id)
        return True


def only_allowed(function: str, seen: set[Request]) -> None:
    refused = not_allowed(seen, FUNCTIONS[function].tables)
    assert not refused, f"{function} sent requests its role does not allow: {', '.join(map(str, refused))}"


@pytest.fixture
def log(api: Client, table_prefix: str) -> AccessLog:
    call(api, "POST", "/dev/clock", {"now": "2027-03-10T10:00:00+12:00"})  # builds the app's context first
    return AccessLog(table_prefix)


def funded_child_with_a_contract(api: Client, accepted: bool = True) -> dict[str, Any]:
    """Periods 2027 and 2028 open; a funded child enrolled in a certified program (accepted or still requested)."""
    region = token(api, role="operator", sub="op-region", municipality="*")
    ok(call(api, "POST", "/periods", PERIOD_2027, region), 201)
    ok(call(api, "POST", "/periods", PERIOD_2028, region), 201)
    parent = token(api, role="parent", sub="parent-1")
    certificate = ok(call(api, "POST", "/children", CHILD, parent), 201)["certificate"]["id"]
    ok(call(api, "POST", f"/certificates/{certificate}/funding", None, parent))
    approved_provider(PROVIDER)
    period = Period("2027", date(2027, 1, 1), date(2027, 12, 31), 1, {"elizovo": 1}, "Asia/Kamchatka")
    program_id = program(period, PROVIDER, price=100_000, capacity=3)
    body = {"certificate_id": certificate, "program_id": program_id}
    contract = ok(call(api, "POST", "/contracts", body, {**parent, "Idempotency-Key": "enrol-1"}), 201)["id"]
    if accepted:
        provider = token(api, role="provider", sub="prov", provider_id=PROVIDER)
        ok(call(api, "POST", f"/contracts/{contract}/accept", None, provider))
    return {"region": region, "parent": parent, "certificate": certificate, "contract": contract}


REASON = {"reason": "занятий не было"}


def test_the_http_routes_send_only_what_the_api_handlers_role_allows(
    api: Client, log: AccessLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    with log.recording() as seen:
        region = token(api, role="operator", sub="op-region", municipality="*")
        elizovo = token(api, role="operator", sub="op-e", municipality="elizovo")
        parent = token(api, role="parent", sub="parent-1")
        provider = token(api, role="provider", sub="prov", provider_id=PROVIDER)
        ok(call(api, "POST", "/periods", PERIOD_2027, region), 201)
        ok(call(api, "POST", "/periods", PERIOD_2028, region), 201)
        ok(call(api, "GET", "/periods/2027", None, region))
        certificate = ok(call(api, "POST", "/children", CHILD, parent), 201)["certificate"]["id"]
        ok(call(api, "POST", f"/certificates/{certificate}/funding", None, parent))
        ok(call(api, "GET", "/children", None, parent))
        ok(call(api, "GET", f"/certificates/{certificate}/ledger", None, parent))
        ok(call(api, "POST", "/providers", APPLICATION, provider), 201)
        ok(call(api, "GET", "/providers?municipality=elizovo", None, elizovo))
        ok(call(api, "POST", f"/providers/{PROVIDER}/decision", {"decision": "approve"}, elizovo))
        program_id = ok(call(api, "POST", "/programs", CHESS, provider), 201)["program_id"]
        ok(call(api, "POST", f"/programs/{program_id}/certification", None, elizovo))
        for query in ("?municipality=elizovo", "?direction=physical_sports", "", "?municipality=elizovo&q=шахматы"):
            ok(call(api, "GET", f"/programs{query}"))
        ok(call(api, "GET", f"/providers/{PROVIDER}/programs", None, provider))
        enrol = {"certificate_id": certificate, "program_id": program_id}
        contract = ok(call(api, "POST", "/contracts", enrol, {**parent, "Idempotency-Key": "enrol-1"}), 201)["id"]
        ok(call(api, "POST", "/contracts", enrol, {**parent, "Idempotency-Key": "enrol-1"}), 201)  # a replay
        ok(call(api, "POST", f"/contracts/{contract}/accept", None, provider))
        charge = {"month": "2027-03", "amount": 90_000}
        ok(call(api, "POST", f"/contracts/{contract}/charges", charge, {**provider, "Idempotency-Key": "c-1"}), 201)
        ok(call(api, "GET", "/contracts", None, parent))
        ok(call(api, "GET", "/contracts", None, provider))
        objection = ok(call(api, "POST", f"/contracts/{contract}/charges/2027-03/objection", REASON, parent), 201)
        ok(call(api, "GET", "/objections", None, provider))
        ok(call(api, "GET", "/objections?municipality=elizovo", None, elizovo))
        ok(call(api, "GET", f"/objections/{objection['id']}", None, parent))
        decision = {"decision": "reject", "reason": "занятия были"}
        ok(call(api, "POST", f"/objections/{objection['id']}/decision", decision, elizovo))
        statement = call(api, "GET", f"/certificates/{certificate}/statement?period_id=2027", None, parent)
        assert statement.status_code == 200  # a CSV
        ok(call(api, "PUT", "/periods/2027/population", {"children_population": {"elizovo": 100}}, elizovo))
        ok(call(api, "GET", "/periods/2027/population", None, elizovo))
        for report in ("coverage", "spending?group_by=program", "quota", "expired"):
            separator = "&" if "?" in report else "?"
            ok(call(api, "GET", f"/reports/{report}{separator}period_id=2027", None, elizovo))
        rating = {"contract_id": contract, "score": 5, "comment": "Отлично"}
        call(api, "POST", f"/programs/{program_id}/ratings", rating, parent)  # the rules of rating are tested elsewhere
        ok(call(api, "GET", f"/programs/{program_id}/ratings"))
        ok(call(api, "POST", f"/contracts/{contract}/cancel", {"reason": "переезд"}, parent))
        ok(call(api, "POST", f"/certificates/{certificate}/freeze", {"reason": "проверка"}, elizovo))
        ok(call(api, "POST", f"/certificates/{certificate}/unfreeze", None, elizovo))
        call(api, "POST", "/dev/clock", {"now": "2028-01-01T00:05:00+12:00"})
        ok(call(api, "GET", f"/certificates/{certificate}", None, parent))  # rolled over on first touch
        # As deployed: the route starts the top-up function (its role's lambda:InvokeFunction) and scans nothing;
        # the local stage's "run it here" is the top-up's own code, checked against the top-up's role below.
        started = _Started()
        monkeypatch.setattr(runtime.context(), "topup", started)
        ok(call(api, "POST", "/periods/2028/topup", None, region), 202)
        assert started.periods == ["2028"]
    only_allowed("api_handler", seen)
    assert {r.table for r in seen} == set(FUNCTIONS["api_handler"].tables)  # the flow reached every table


@pytest.mark.parametrize("function", ["topup", "topup_sweep"])
def test_the_top_up_sends_only_what_its_role_allows(api: Client, log: AccessLog, function: str) -> None:
    world = funded_child_with_a_contract(api)
    call(api, "POST", "/dev/clock", {"now": "2028-01-01T00:00:05+12:00"})
    sweep = api.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event", detail={}, resources=[])
    with log.recording() as seen:
        result = api.lambda_.invoke(function, {"period_id": "2028"} if function == "topup" else sweep).payload
    assert result["period_id"] == "2028"
    only_allowed(function, seen)
    assert Request("certificates", "Scan") in seen and Request("contracts", "UpdateItem") in seen  # ended the contract
    contract = ok(call(api, "GET", f"/contracts/{world['contract']}", None, world["parent"]))
    assert contract["status"] == "ended"


def test_the_expiry_of_unanswered_requests_sends_only_what_its_role_allows(api: Client, log: AccessLog) -> None:
    world = funded_child_with_a_contract(api, accepted=False)
    call(api, "POST", "/dev/clock", {"now": "2027-04-10T10:00:00+12:00"})
    tick = api.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event", detail={}, resources=[])
    with log.recording() as seen:
        api.lambda_.invoke("contract_expiry", tick)
    only_allowed("contract_expiry", seen)
    assert Request("contracts", "Scan") in seen
    contract = ok(call(api, "GET", f"/contracts/{world['contract']}", None, world["parent"]))
    assert contract["status"] == "expired"


def console_events() -> list[Path]:
    return sorted(EVENTS.glob("*.json"))


def test_there_is_a_console_test_event_for_each_admin_action() -> None:
    actions = {json.loads(path.read_text())["action"]: path.stem for path in console_events()}
    assert actions == {name: name for name in actions}  # one file per action, named after it
    assert {"open_period", "run_topup", "topup_progress", "reconcile", "reconcile_all"} <= set(actions)
    assert {"freeze_certificate", "unfreeze_certificate", "suspend_provider", "reinstate_provider"} <= set(actions)
    assert "backfill_identities" in actions


def test_every_console_test_event_is_a_valid_admin_command_and_uses_only_the_admins_role(
    api: Client, log: AccessLog
) -> None:
    world = funded_child_with_a_contract(api)
    # The console samples name a certificate and a provider of their own; here they point at this test's.
    order = ["open_period", "topup_progress", "run_topup", "reconcile", "reconcile_all", "freeze_certificate"]
    order += ["unfreeze_certificate", "suspend_provider", "reinstate_provider", "backfill_identities"]
    replies = {}
    call(api, "POST", "/dev/clock", {"now": "2028-01-01T00:00:05+12:00"})
    with log.recording() as seen:
        for name in order:
            event = json.loads((EVENTS / f"{name}.json").read_text())
            if "certificate_id" in event:
                event["certificate_id"] = world["certificate"]
            if event.get("period_id") == "2027":
                event["period_id"] = "2028"
            replies[name] = api.lambda_.invoke("admin", event).payload
    only_allowed("admin", seen)
    assert replies["run_topup"]["ok"] and replies["reconcile"]["result"]["consistent"], replies
    invalid = {
        name: reply for name, reply in replies.items() if reply.get("error", {}).get("code") == "validation_error"
    }
    assert not invalid, f"the admin function does not accept these console events: {invalid}"


def test_the_expiry_notices_send_only_what_their_role_allows(api: Client, log: AccessLog) -> None:
    call(api, "POST", "/dev/clock", {"now": "2027-03-10T10:00:00+12:00"})
    world = funded_child_with_a_contract(api)
    ok(call(api, "POST", f"/contracts/{world['contract']}/cancel", {"reason": "переезд"}, world["parent"]))
    call(api, "POST", "/dev/clock", {"now": "2027-12-10T09:00:00+12:00"})  # 21 days before the money expires
    tick = api.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event", detail={}, resources=[])
    with log.recording() as seen:
        told = api.lambda_.invoke("expiry_notices", tick).payload
    only_allowed("expiry_notices", seen)
    assert (told["period_id"], told["told"], told["complete"]) == ("2027", 1, True), (told, world["certificate"])
