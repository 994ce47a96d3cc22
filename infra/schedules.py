"""When a period starts, in UTC: local midnight of ``starts_on`` in the region's time zone, as a one-time schedule.

A period starts at the first instant whose local date is ``starts_on`` (domain.period.local_today decides "has it
begun" the same way). In Asia/Kamchatka (UTC+12, no daylight saving) 1 January 00:00 is 31 December 12:00 UTC.
Where a daylight-saving change skips local midnight (America/Santiago in September: 00:00 becomes 01:00) the day
begins at the change itself, which is what ``fold=0`` gives; where midnight happens twice, the earlier one counts.

Standard library only, so the application can use it too when it creates a period's schedule at runtime.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def period_start_instant(starts_on: date, tz: str) -> datetime:
    """The UTC instant the period begins, rounded up to a whole minute (a schedule never fires before the start)."""
    local_midnight = datetime.combine(starts_on, time(0), tzinfo=ZoneInfo(tz))  # fold=0: the earlier, or the gap
    instant = local_midnight.astimezone(UTC)
    if instant.second or instant.microsecond:  # historical offsets with seconds (LMT): never fire early
        instant = instant.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return instant


def period_start_schedule(starts_on: date, tz: str) -> dict[str, str]:
    """An EventBridge Scheduler expression that fires once, at the period's start, written in UTC."""
    at = period_start_instant(starts_on, tz)
    return {
        "ScheduleExpression": f"cron({at.minute} {at.hour} {at.day} {at.month} ? {at.year})",
        "ScheduleExpressionTimezone": "UTC",
    }
