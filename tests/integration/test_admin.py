"""The console's admin function: each action works, is idempotent, and refuses bad events without a crash."""

from __future__ import annotations

import json
from typing import Any

from chalice.test import Client

from tests.integration.test_http import CHILD, call, payload, token

OPEN_2027 = {
    "action": "open_period",
    "period": {
        "period_id": "2027",
        "starts_on": "2027-01-01",
        "ends_on": "2027-12-31",
        "nominal": 2_400_000,
        "quotas": {"elizovo": 10},
    },
}


def admin(api: Client, event: dict[str, Any]) -> Any:
    return api.lambda_.invoke("admin", event).payload


def test_an_operator_opens_a_period_runs_its_top_up_and_reads_the_progress_twice_over(api: Client) -> None:
    call(api, "POST", "/dev/clock", {"now": "2027-01-01T09:00:00+12:00"})
    first = admin(api, OPEN_2027)
    again = admin(api, OPEN_2027)
    assert first["ok"] and again["ok"] and again["result"]["period_id"] == "2027"
    run = admin(api, {"action": "run_topup", "period_id": "2027"})
    assert run["ok"] and run["result"]["complete"] is True
    progress = admin(api, {"action": "topup_progress", "period_id": "2027"})
    assert progress["result"]["topup"]["status"] == "done"


def test_an_operator_freezes_reconciles_and_unfreezes_a_certificate(api: Client) -> None:
    call(api, "POST", "/dev/clock", {"now": "2027-02-01T09:00:00+12:00"})
    admin(api, OPEN_2027)
    parent = token(api, role="parent", sub="parent-1")
    certificate = payload(call(api, "POST", "/children", CHILD, parent))["certificate"]["id"]
    call(api, "POST", f"/certificates/{certificate}/funding", None, parent)
    for _ in range(2):
        frozen = admin(api, {"action": "freeze_certificate", "certificate_id": certificate, "reason": "проверка"})
        assert frozen["result"]["status"] == "frozen"
    assert call(api, "POST", f"/certificates/{certificate}/funding", None, parent).status_code == 409
    reconciled = admin(api, {"action": "reconcile", "certificate_id": certificate})
    assert reconciled["result"]["consistent"] is True and reconciled["result"]["drift"] == {}
    for _ in range(2):
        lifted = admin(api, {"action": "unfreeze_certificate", "certificate_id": certificate})
        assert lifted["result"]["status"] == "funded"
    everything = admin(api, {"action": "reconcile_all"})
    assert everything["result"] == {"checked": 1, "drifted": [], "finished": True}


def test_bad_events_are_answered_not_raised(api: Client) -> None:
    for event in ({}, {"action": "drop_tables"}, {"action": "reconcile", "certificate_id": "12"}):
        reply = admin(api, event)
        assert reply["ok"] is False and reply["error"]["code"] == "validation_error"
    missing = admin(api, {"action": "topup_progress", "period_id": "1999"})
    assert missing == {"ok": False, "action": "topup_progress", "error": missing["error"]}
    assert missing["error"]["code"] == "period_not_found"


def test_the_actor_is_the_invoking_identity_never_a_name_the_event_gives(api: Client) -> None:
    """A console event naming an ``operator`` is refused; through the console's URL the signed caller is the actor;
    a URL request without an IAM identity does nothing."""
    from chalicelib.storage import providers as provider_store
    from tests.factories import approved_provider

    named = admin(api, {"action": "topup_progress", "period_id": "2027", "operator": "ivanova"})
    assert named["ok"] is False and named["error"]["code"] == "validation_error"
    provider = approved_provider()
    caller = "arn:aws:sts::111122223333:assumed-role/pfdo-prod-admin-console/ivanova"
    body = {"action": "suspend_provider", "provider_id": provider, "reason": "проверка"}
    signed = {
        "version": "2.0",
        "requestContext": {"authorizer": {"iam": {"userArn": caller, "userId": "AROAEXAMPLE:ivanova"}}},
        "body": json.dumps({**body}),
        "isBase64Encoded": False,
    }
    assert admin(api, signed)["ok"] is True
    moved = provider_store.get(provider)
    assert moved.status.value == "suspended" and moved.decided_by == f"console:iam:{caller}"
    unsigned = {**signed, "requestContext": {"authorizer": None}}
    refused = admin(api, {**unsigned, "body": json.dumps({**body, "action": "reinstate_provider"})})
    assert refused["ok"] is False and refused["error"]["code"] == "invalid_request"
    assert provider_store.get(provider).status.value == "suspended"
    direct = admin(api, {**body, "action": "reinstate_provider"})
    assert direct["ok"] is True
    assert (provider_store.get(provider).decided_by or "").startswith("console:invoke:")
