"""The bench's region: settings, actors, periods and the moves of the clock, built like the services expect them."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from chalicelib.domain.actors import WHOLE_REGION, Principal, Role
from chalicelib.domain.ids import PeriodId
from chalicelib.domain.period import AgeNominal, Month, Period
from chalicelib.platform.clock import SettableClock
from chalicelib.platform.config import Settings
from chalicelib.services import periods as period_service
from chalicelib.services.context import Context

TIMEZONE = "Asia/Kamchatka"
# A function keeps the calendar this long: "steady state" (the calendar read once per warm function).
CACHED = 10.0**9
OPERATOR = Principal(sub="bench:operator", role=Role.OPERATOR, municipality=WHOLE_REGION)
# Yearly nominal: 18 000 ₽, and 24 000 ₽ for the 14-17 year olds (an age group, as regions have them).
NOMINAL_KOPECKS = 1_800_000
AGE_NOMINALS = (AgeNominal(14, 17, 2_400_000),)
NAME_LETTERS = "абвгдежзиклмнопрстуфхцчшщэюя"


def settings(prefix: str, segments: int = 4, page_size: int = 500, cache_seconds: float = CACHED) -> Settings:
    return Settings(
        stage="local",
        table_prefix=prefix,
        region_timezone=TIMEZONE,
        topup_segments=segments,
        topup_page_size=page_size,
        period_cache_seconds=cache_seconds,
    )


def context(prefix: str, clock: SettableClock, segments: int = 4, page_size: int = 500) -> Context:
    return Context.create(settings(prefix, segments, page_size), clock)


def child_name(tag: str, number: int) -> str:
    """A distinct full name for the bench's child ``number``: the register keeps one certificate per child (name and
    birth date), and a name holds letters only, so the number is spelled in letters."""
    letters = ""
    while True:
        number, digit = divmod(number, len(NAME_LETTERS))
        letters = NAME_LETTERS[digit] + letters
        if number == 0:
            return f"Бенч {tag} {letters.capitalize()}"


def municipalities(count: int) -> list[str]:
    return [f"mo-{number:02d}" for number in range(1, count + 1)]


def period(period_id: str, first: Month, last: Month, quotas: dict[str, int]) -> Period:
    """A period from the first day of ``first`` to the last day of ``last``."""
    return Period(
        period_id=PeriodId(period_id),
        starts_on=first.first_day,
        ends_on=last.next().first_day - timedelta(days=1),
        nominal=NOMINAL_KOPECKS,
        quotas=dict(quotas),
        timezone=TIMEZONE,
        age_nominals=AGE_NOMINALS,
    )


def monthly(month: Month, quotas: dict[str, int]) -> Period:
    """A one-month period (``p2026-03``): any number of them fit before the children age, unlike yearly ones."""
    return period(f"p{month}", month, month, quotas)


def open_period(ctx: Context, new: Period) -> None:
    """Opened by the service, as an operator does: the period stores ``ctx.settings.topup_segments``."""
    period_service.open_period(ctx, OPERATOR, new)


def move_into(clock: SettableClock, new: Period, after: timedelta = timedelta(hours=1)) -> datetime:
    """Sets the clock to ``after`` the period's first instant (local midnight in the region)."""
    instant = new.start_instant() + after
    clock.set(instant)
    return instant


def day_instant(day: date) -> datetime:
    """Noon of ``day`` in the region."""
    return datetime(day.year, day.month, day.day, 12, tzinfo=ZoneInfo(TIMEZONE))
