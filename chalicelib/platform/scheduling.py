"""The top-up's alarm clock: when a period is opened in AWS, a one-time EventBridge Scheduler schedule invokes the
top-up function at the period's first instant (local midnight in the region's time zone, written in UTC).

The 15-minute sweep (functions/jobs/topup.py) is the safety net: if a schedule is missing or fails, the sweep starts the
top-up within a quarter of an hour. Locally there is no scheduler; the sweep and POST /periods/{id}/topup serve.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Protocol

from chalicelib.domain.period import Period
from chalicelib.platform.config import Settings

log = logging.getLogger("pfdo.scheduling")


def at_expression(period: Period) -> str:
    """EventBridge Scheduler's one-time expression for the period's start, in UTC."""
    return f"at({period.start_instant():%Y-%m-%dT%H:%M:%S})"


class ScheduleFailed(Exception):
    """The scheduler refused or could not be reached: the period's top-up has no schedule."""


class TopupScheduler(Protocol):
    def schedule(self, period: Period) -> None:
        """Makes the period's top-up start at the period's first instant; raises ``ScheduleFailed``."""
        ...


class NoScheduler:
    """The local stage: nothing to schedule."""

    def schedule(self, period: Period) -> None:
        return None


class EventBridgeScheduler:
    def __init__(self, settings: Settings, client: Any | None = None) -> None:
        self._settings = settings
        self._client = client

    def _scheduler(self) -> Any:
        if self._client is None:
            import boto3  # lazily: no client at import time

            self._client = boto3.client("scheduler")
        return self._client

    def schedule(self, period: Period) -> None:
        """Creates (or, when opened again, updates) the period's schedule; the schedule deletes itself after it ran."""
        settings = self._settings
        request = {
            "Name": f"{settings.table_prefix}topup-{period.period_id}",
            "GroupName": settings.schedule_group,
            "ScheduleExpression": at_expression(period),
            "ScheduleExpressionTimezone": "UTC",
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "ActionAfterCompletion": "DELETE",
            "Target": {
                "Arn": settings.topup_function_arn,
                "RoleArn": settings.scheduler_role_arn,
                "Input": json.dumps({"period_id": period.period_id}),
                "RetryPolicy": {"MaximumRetryAttempts": 10, "MaximumEventAgeInSeconds": 3600},
            },
        }
        from botocore.exceptions import BotoCoreError, ClientError  # lazily: botocore loads with the client

        client = self._scheduler()
        try:
            try:
                client.create_schedule(**request)
            except client.exceptions.ConflictException:
                client.update_schedule(**request)
        except (BotoCoreError, ClientError) as failure:
            raise ScheduleFailed(f"the schedule of period {period.period_id}: {failure}") from failure


class TopupStarter(Protocol):
    def start(self, period_id: str) -> bool:
        """Starts the period's top-up elsewhere and returns True at once; False when the caller must run it itself
        (the local stage). Raises ``ScheduleFailed`` when it could not be started."""
        ...


class RunHere:
    """The local stage (``make run``, the tests): no top-up function to invoke; the request runs the top-up."""

    def start(self, period_id: str) -> bool:
        return False


class InvokeTopupFunction:
    """A deployed stage: the top-up function, invoked asynchronously (``InvocationType=Event``), so the HTTP function
    never scans certificates. Lambda retries a failed asynchronous invocation twice; the top-up is safe to run again."""

    def __init__(self, function_arn: str, client: Any | None = None) -> None:
        self._function_arn = function_arn
        self._client = client

    def start(self, period_id: str) -> bool:
        from botocore.exceptions import BotoCoreError, ClientError  # lazily: botocore loads with the client

        if self._client is None:
            import boto3  # lazily: no client at import time

            self._client = boto3.client("lambda")
        try:
            self._client.invoke(
                FunctionName=self._function_arn,
                InvocationType="Event",
                Payload=json.dumps({"period_id": period_id}).encode(),
            )
        except (BotoCoreError, ClientError) as failure:
            raise ScheduleFailed(f"the top-up of period {period_id}: {failure}") from failure
        return True


def topup_starter_for(settings: Settings) -> TopupStarter:
    if settings.is_local or not settings.topup_function_arn:
        return RunHere()
    return InvokeTopupFunction(settings.topup_function_arn)


def scheduler_for(settings: Settings) -> TopupScheduler:
    if settings.is_local or not (settings.topup_function_arn and settings.scheduler_role_arn):
        return NoScheduler()
    return EventBridgeScheduler(settings)
