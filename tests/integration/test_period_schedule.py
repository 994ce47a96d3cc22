"""Opening a period in a deployed stage schedules its top-up at the period's first instant (local midnight), with
EventBridge Scheduler (moto's server; the periods on DynamoDB Local)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import boto3
import pytest

from chalicelib.domain.actors import WHOLE_REGION, Principal, Role
from chalicelib.domain.period import Period
from chalicelib.platform.clock import SettableClock
from chalicelib.platform.config import Settings
from chalicelib.platform.scheduling import EventBridgeScheduler, scheduler_for
from chalicelib.services import periods
from chalicelib.services.context import Context
from chalicelib.storage import periods as period_store
from tests.conftest import LOCAL_SECRET
from tests.helpers import local_s3

GROUP = "pfdo-prod-periods"
OPERATOR = Principal(sub="operator-1", role=Role.OPERATOR, municipality=WHOLE_REGION)
TOPUP_ARN = "arn:aws:lambda:eu-central-1:123456789012:function:pfdo-functions-prod-topup"


def year_2027() -> Period:
    return Period("2027", date(2027, 1, 1), date(2027, 12, 31), 2_400_000, {"elizovo": 10}, "Asia/Kamchatka")


@pytest.fixture(scope="module")
def scheduler_client() -> Iterator[Any]:
    """A client of moto's EventBridge Scheduler server (the same moto server helper the S3 tests use)."""
    with local_s3() as endpoint:
        yield boto3.client(
            "scheduler",
            endpoint_url=endpoint,
            region_name="eu-central-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )


@pytest.fixture
def deployed(table_prefix: str, clock: SettableClock, scheduler_client: Any) -> Iterator[Context]:
    """A prod-like context: the scheduler is configured as infra/template.py configures the HTTP and admin functions."""
    settings = Settings(
        stage="prod",
        table_prefix=table_prefix,
        period_cache_seconds=0,
        jwt_secret=LOCAL_SECRET,
        topup_function_arn=TOPUP_ARN,
        scheduler_role_arn="arn:aws:iam::123456789012:role/pfdo-prod-scheduler",
        schedule_group=GROUP,
    )
    assert isinstance(scheduler_for(settings), EventBridgeScheduler)
    scheduler_client.create_schedule_group(Name=GROUP)
    yield Context.create(settings, clock, EventBridgeScheduler(settings, scheduler_client))
    for schedule in scheduler_client.list_schedules(GroupName=GROUP)["Schedules"]:
        scheduler_client.delete_schedule(Name=schedule["Name"], GroupName=GROUP)
    scheduler_client.delete_schedule_group(Name=GROUP)


def schedules(client: Any) -> list[dict[str, Any]]:
    found = client.list_schedules(GroupName=GROUP)["Schedules"]
    return [client.get_schedule(Name=s["Name"], GroupName=GROUP) for s in found]


def test_the_deployed_context_schedules_with_eventbridge_and_the_local_one_does_not(ctx: Context) -> None:
    aws = Settings(stage="prod", topup_function_arn=TOPUP_ARN, scheduler_role_arn="arn:aws:iam::1:role/r")
    assert isinstance(Context.create(aws, ctx.clock).scheduler, EventBridgeScheduler)
    assert not isinstance(ctx.scheduler, EventBridgeScheduler)  # the local stage: the sweep and the HTTP route serve


def test_opening_a_period_schedules_its_top_up_once_at_local_midnight_in_utc(
    deployed: Context, clock: SettableClock, scheduler_client: Any
) -> None:
    clock.set(datetime(2026, 11, 20, 9, 0, tzinfo=UTC))
    periods.open_period(deployed, OPERATOR, year_2027())
    [schedule] = schedules(scheduler_client)
    assert schedule["Name"] == f"{deployed.settings.table_prefix}topup-2027"
    # Midnight of 1 January 2027 in Kamchatka (UTC+12) is noon of 31 December 2026 in UTC.
    assert schedule["ScheduleExpression"] == "at(2026-12-31T12:00:00)"
    assert schedule["ScheduleExpressionTimezone"] == "UTC"
    assert schedule["ActionAfterCompletion"] == "DELETE"
    assert schedule["Target"]["Arn"] == TOPUP_ARN
    assert json.loads(schedule["Target"]["Input"]) == {"period_id": "2027"}
    # Scheduling again (the console's open_period on an opened period) leaves the one schedule.
    assert periods.schedule_again(deployed, OPERATOR, "2027") is True
    assert [s["Name"] for s in schedules(scheduler_client)] == [schedule["Name"]]


def test_a_period_that_has_begun_gets_no_schedule(
    deployed: Context, clock: SettableClock, scheduler_client: Any
) -> None:
    clock.set(datetime(2027, 1, 10, 9, 0, tzinfo=UTC))
    periods.open_period(deployed, OPERATOR, year_2027())
    assert schedules(scheduler_client) == []
    assert period_store.period_state("2027").period.period_id == "2027"


def test_a_refused_schedule_leaves_the_period_open_and_counts_the_failure(
    deployed: Context, clock: SettableClock, scheduler_client: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    clock.set(datetime(2026, 11, 20, 9, 0, tzinfo=UTC))
    broken = Settings(**{**deployed.settings.model_dump(), "schedule_group": "no-such-group"})
    refused = Context.create(broken, clock, EventBridgeScheduler(broken, scheduler_client))
    periods.open_period(refused, OPERATOR, year_2027())
    assert period_store.period_state("2027").period.period_id == "2027"  # the opening stands
    assert schedules(scheduler_client) == []
    metrics = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert any("TopupScheduleFailures" in line for line in metrics)
    # The way back: the console opens it again, which schedules it.
    assert periods.schedule_again(deployed, OPERATOR, "2027") is True
    assert [s["ScheduleExpression"] for s in schedules(scheduler_client)] == ["at(2026-12-31T12:00:00)"]
