"""The scheduled functions: the 15-minute sweep and the per-period top-up, invoked as Lambda would."""

from __future__ import annotations

from chalice.test import Client

from tests.integration.test_http import CHILD, PERIOD_2027, call, payload, token


def open_two_years_with_a_funded_child(api: Client) -> tuple[dict[str, str], dict[str, str], str]:
    call(api, "POST", "/dev/clock", {"now": "2027-01-10T10:00:00+12:00"})
    region = token(api, role="operator", sub="op-region", municipality="*")
    assert call(api, "POST", "/periods", PERIOD_2027, region).status_code == 201
    period_2028 = {**PERIOD_2027, "period_id": "2028", "starts_on": "2028-01-01", "ends_on": "2028-12-31"}
    assert call(api, "POST", "/periods", period_2028, region).status_code == 201
    parent = token(api, role="parent", sub="parent-1")
    certificate = payload(call(api, "POST", "/children", CHILD, parent))["certificate"]["id"]
    assert call(api, "POST", f"/certificates/{certificate}/funding", None, parent).status_code == 200
    return region, parent, certificate


def test_the_sweep_does_nothing_before_the_period_begins_and_tops_it_up_after(api: Client) -> None:
    region, parent, certificate = open_two_years_with_a_funded_child(api)
    call(api, "POST", "/dev/clock", {"now": "2027-12-31T23:59:00+12:00"})
    sweep_event = api.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]
    )
    assert api.lambda_.invoke("topup_sweep", sweep_event).payload == {"period_id": "2027"}
    assert payload(call(api, "GET", "/periods/2028", None, region))["topup"]["status"] == "not_started"
    # Local midnight in Kamchatka is 12:00 UTC the day before.
    call(api, "POST", "/dev/clock", {"now": "2027-12-31T12:00:01+00:00"})
    assert api.lambda_.invoke("topup_sweep", sweep_event).payload == {"period_id": "2028"}
    period = payload(call(api, "GET", "/periods/2028", None, region))
    assert period["topup"]["status"] == "done" and period["topup"]["certificates_credited"] == 1
    assert api.lambda_.invoke("topup_sweep", sweep_event).payload == {"period_id": None}  # nothing left to do
    balance = payload(call(api, "GET", f"/certificates/{certificate}", None, parent))["balance"]
    assert balance["credited"] == balance["available"] == PERIOD_2027["nominal"]


def test_the_top_up_function_runs_one_period_and_is_safe_to_run_again(api: Client) -> None:
    region, parent, certificate = open_two_years_with_a_funded_child(api)
    call(api, "POST", "/dev/clock", {"now": "2028-01-01T00:00:05+12:00"})
    assert api.lambda_.invoke("topup", {"period_id": "2028"}).payload == {"period_id": "2028", "complete": True}
    assert api.lambda_.invoke("topup", {"period_id": "2028"}).payload == {"period_id": "2028", "complete": True}
    ledger = payload(call(api, "GET", f"/certificates/{certificate}/ledger", None, parent))["entries"]
    assert [(e["kind"], e["period_id"]) for e in ledger] == [("credit", "2028"), ("expire", "2027"), ("credit", "2027")]
    over_http = call(api, "POST", "/periods/2028/topup", None, region)
    assert over_http.status_code == 200 and payload(over_http)["topup"]["certificates_credited"] == 1
