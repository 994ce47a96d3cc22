"""A period's top-up is scheduled at local midnight of its first day in the region's time zone, written in UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from chalicelib.domain.period import Period, local_today
from infra.schedules import period_start_instant, period_start_schedule


def test_in_kamchatka_the_year_begins_at_noon_utc_on_the_31st_of_december() -> None:
    assert period_start_schedule(date(2027, 1, 1), "Asia/Kamchatka") == {
        "ScheduleExpression": "cron(0 12 31 12 ? 2026)",
        "ScheduleExpressionTimezone": "UTC",
    }


def test_in_moscow_the_year_begins_at_21_utc_on_the_31st_of_december() -> None:
    assert period_start_schedule(date(2027, 1, 1), "Europe/Moscow")["ScheduleExpression"] == "cron(0 21 31 12 ? 2026)"


def test_in_new_york_the_year_begins_at_5_utc_on_the_1st_of_january_and_a_summer_period_at_4() -> None:
    assert period_start_schedule(date(2027, 1, 1), "America/New_York")["ScheduleExpression"] == "cron(0 5 1 1 ? 2027)"
    # Daylight saving time: EDT is UTC-4.
    assert period_start_schedule(date(2027, 7, 1), "America/New_York")["ScheduleExpression"] == "cron(0 4 1 7 ? 2027)"


def test_where_daylight_saving_skips_midnight_the_day_begins_at_the_change() -> None:
    # Chile moved its clocks from 00:00 to 01:00 on 8 September 2024: that day began at 04:00 UTC (01:00 local).
    assert period_start_instant(date(2024, 9, 8), "America/Santiago") == datetime(2024, 9, 8, 4, 0, tzinfo=UTC)
    assert period_start_schedule(date(2024, 9, 8), "America/Santiago")["ScheduleExpression"] == "cron(0 4 8 9 ? 2024)"


CASES = [
    (date(2027, 1, 1), "Asia/Kamchatka"),
    (date(2027, 9, 1), "Asia/Kamchatka"),
    (date(2027, 1, 1), "Europe/Moscow"),
    (date(2027, 1, 1), "America/New_York"),
    (date(2027, 3, 14), "America/New_York"),  # the day clocks spring forward (at 02:00)
    (date(2027, 11, 7), "America/New_York"),  # the day clocks fall back (at 02:00)
    (date(2024, 9, 8), "America/Santiago"),  # midnight skipped
    (date(2024, 11, 3), "America/Havana"),  # midnight happens twice
    (date(2027, 1, 1), "Pacific/Kiritimati"),  # UTC+14
]


@pytest.mark.parametrize(("starts_on", "tz"), CASES)
def test_the_schedule_fires_at_the_first_instant_the_app_sees_as_the_periods_first_day(
    starts_on: date, tz: str
) -> None:
    """The app decides that a period has begun by the local date (domain.period.local_today): the schedule fires at
    the first instant of that date, never a minute before (the top-up would refuse: period not started)."""
    at = period_start_instant(starts_on, tz)
    assert local_today(at, tz) == starts_on
    assert local_today(at - timedelta(seconds=1), tz) < starts_on
    cron = period_start_schedule(starts_on, tz)["ScheduleExpression"]
    assert cron == f"cron({at.minute} {at.hour} {at.day} {at.month} ? {at.year})"


@pytest.mark.parametrize(("starts_on", "tz"), CASES)
def test_the_instant_is_the_one_the_application_schedules_when_a_period_opens(starts_on: date, tz: str) -> None:
    """chalicelib/platform/scheduling.py writes ``at(...)`` from ``Period.start_instant``: the same instant."""
    period = Period("p", starts_on, starts_on + timedelta(days=30), 1, {}, tz)
    assert period_start_instant(starts_on, tz) == period.start_instant()
