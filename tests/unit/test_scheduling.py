"""The one-time schedule that starts a period's top-up at local midnight (moto's EventBridge Scheduler)."""

from __future__ import annotations

import json
from datetime import date

import boto3
import pytest
from moto import mock_aws

from chalicelib.domain.period import Period
from chalicelib.platform.config import Settings
from chalicelib.platform.scheduling import EventBridgeScheduler, NoScheduler, at_expression, scheduler_for


def year(tz: str) -> Period:
    return Period("2027", date(2027, 1, 1), date(2027, 12, 31), 100, {"elizovo": 1}, tz)


@pytest.mark.parametrize(
    ("tz", "expression"),
    [
        ("Asia/Kamchatka", "at(2026-12-31T12:00:00)"),
        ("Europe/Moscow", "at(2026-12-31T21:00:00)"),
        ("America/New_York", "at(2027-01-01T05:00:00)"),
    ],
)
def test_the_schedule_fires_at_local_midnight_written_in_utc(tz: str, expression: str) -> None:
    assert at_expression(year(tz)) == expression


def test_a_summer_start_follows_daylight_saving_time() -> None:
    july = Period("s", date(2027, 7, 1), date(2027, 12, 31), 100, {"elizovo": 1}, "America/New_York")
    assert at_expression(july) == "at(2027-07-01T04:00:00)"


AWS = Settings(
    stage="prod",
    table_prefix="pfdo-prod-",
    topup_function_arn="arn:aws:lambda:eu-central-1:123456789012:function:pfdo-prod-topup",
    scheduler_role_arn="arn:aws:iam::123456789012:role/pfdo-prod-scheduler",
)


def test_local_and_unconfigured_stages_schedule_nothing() -> None:
    assert isinstance(scheduler_for(Settings(stage="local")), NoScheduler)
    assert isinstance(scheduler_for(Settings(stage="prod")), NoScheduler)
    assert isinstance(scheduler_for(AWS), EventBridgeScheduler)


@mock_aws
def test_opening_a_period_twice_leaves_one_schedule_that_invokes_the_top_up() -> None:
    client = boto3.client("scheduler", region_name="eu-central-1")
    scheduler = EventBridgeScheduler(AWS, client)
    scheduler.schedule(year("Asia/Kamchatka"))
    scheduler.schedule(year("Asia/Kamchatka"))
    schedules = client.list_schedules()["Schedules"]
    assert [s["Name"] for s in schedules] == ["pfdo-prod-topup-2027"]
    found = client.get_schedule(Name="pfdo-prod-topup-2027")
    assert found["ScheduleExpression"] == "at(2026-12-31T12:00:00)"
    assert found["Target"]["Arn"] == AWS.topup_function_arn
    assert json.loads(found["Target"]["Input"]) == {"period_id": "2027"}
