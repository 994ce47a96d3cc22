"""The scheduled functions: the 15-minute sweep and the per-period top-up, invoked as Lambda would."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

import boto3
import pytest
from botocore.stub import Stubber
from chalice.test import Client

from chalicelib.domain import errors
from chalicelib.platform.scheduling import InvokeTopupFunction, ScheduleFailed
from chalicelib.services import rollover
from chalicelib.services.context import Context
from devtools.roundtrips import counting
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


class _Started:
    """The deployed stage's starter, as a fake: records what it was asked to start."""

    def __init__(self) -> None:
        self.periods: list[str] = []

    def start(self, period_id: str) -> bool:
        self.periods.append(period_id)
        return True


def test_the_http_top_up_starts_the_top_up_function_and_scans_no_certificate(api: Client, ctx: Context) -> None:
    """POST /periods/{id}/topup in a deployed stage: the top-up function is invoked asynchronously; the request itself
    reads the period and scans nothing (the local stage runs it in the request: the test above)."""
    region, _parent, _certificate = open_two_years_with_a_funded_child(api)
    ctx.clock.set(datetime(2028, 1, 1, 0, 5, tzinfo=ZoneInfo("Asia/Kamchatka")))  # type: ignore[attr-defined]
    started = _Started()
    deployed = replace(ctx, topup=started)
    with counting() as trips:
        assert rollover.start_topup(deployed, "2028", 20.0) is None
    assert started.periods == ["2028"]
    assert "Scan" not in trips.calls and "TransactWriteItems" not in trips.calls
    assert payload(call(api, "GET", "/periods/2028", None, region))["topup"]["status"] == "not_started"
    ctx.clock.set(datetime(2027, 12, 31, 23, 0, tzinfo=ZoneInfo("Asia/Kamchatka")))  # type: ignore[attr-defined]
    with pytest.raises(errors.PeriodNotStarted):  # refused before anything starts
        rollover.start_topup(deployed, "2028", 20.0)
    assert started.periods == ["2028"]


def test_the_deployed_starter_invokes_the_top_up_function_asynchronously_with_the_period() -> None:
    client = boto3.client("lambda", region_name="eu-central-1")
    arn = "arn:aws:lambda:eu-central-1:111122223333:function:pfdo-prod-topup"
    with Stubber(client) as stub:
        expected = {"FunctionName": arn, "InvocationType": "Event", "Payload": b'{"period_id": "2028"}'}
        stub.add_response("invoke", {"StatusCode": 202}, expected)
        assert InvokeTopupFunction(arn, client).start("2028") is True
        stub.add_client_error("invoke", "TooManyRequestsException", http_status_code=429)
        with pytest.raises(ScheduleFailed):
            InvokeTopupFunction(arn, client).start("2028")
