"""The period (период реализации): the span in which a nominal is spent; its money expires at the next one.

Periods run whole calendar months, start at local midnight in the region's time zone and never overlap.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.domain import errors
from chalicelib.domain.certificate import MAX_AGE, age_on, valid_until
from chalicelib.domain.ids import PeriodId
from chalicelib.domain.money import Kopecks, prorate
from chalicelib.domain.reports import share

PERIOD_ID = re.compile(r"[0-9A-Za-z][0-9A-Za-z_-]{0,31}")
MUNICIPALITY = re.compile(r"[a-z][a-z0-9_-]{1,47}")
MAX_MONTHS = 24


@dataclass(frozen=True)
class Month:
    """A calendar month, ordered; written "YYYY-MM"."""

    year: int
    month: int

    @classmethod
    def of(cls, day: date) -> Month:
        return cls(day.year, day.month)

    @classmethod
    def parse(cls, text: str) -> Month:
        match = re.fullmatch(r"(\d{4})-(\d{2})", text)
        if not match or not 1 <= int(match.group(2)) <= 12:
            raise errors.InvalidRequest(f"month must be YYYY-MM, got {text!r}")
        return cls(int(match.group(1)), int(match.group(2)))

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def __lt__(self, other: Month) -> bool:
        return (self.year, self.month) < (other.year, other.month)

    def __le__(self, other: Month) -> bool:
        return (self.year, self.month) <= (other.year, other.month)

    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)


def months_between(first: Month, last: Month) -> list[Month]:
    """Every month from ``first`` to ``last`` inclusive."""
    months, current = [], first
    while current <= last:
        months.append(current)
        current = current.next()
    return months


@dataclass(frozen=True)
class AgeNominal:
    """A nominal for an age group (age in full years at the period's start)."""

    age_min: int
    age_max: int
    nominal: int


@dataclass(frozen=True)
class Period:
    """A funding period with its yearly nominal and the quota of funded certificates per municipality.

    ``region``, ``topup_segments`` (how many parallel scan segments its top-up runs in), ``opened_at`` and
    ``opened_by`` are set when an operator opens it (services.periods.open_period).
    """

    period_id: PeriodId
    starts_on: date
    ends_on: date
    nominal: int
    quotas: dict[str, int]
    timezone: str
    age_nominals: tuple[AgeNominal, ...] = field(default=())
    region: str = ""
    topup_segments: int = 0
    opened_at: str | None = None
    opened_by: str | None = None

    def validate(self) -> None:
        if not PERIOD_ID.fullmatch(self.period_id):
            raise errors.InvalidRequest("period_id must be 1-32 letters, digits, '-' or '_'")
        self._validate_span()
        self._validate_money()

    def _validate_span(self) -> None:
        if self.starts_on.day != 1:
            raise errors.InvalidRequest("a period starts on the first day of a month")
        if (self.ends_on + timedelta(days=1)).day != 1:
            raise errors.InvalidRequest("a period ends on the last day of a month")
        if self.ends_on <= self.starts_on:
            raise errors.InvalidRequest("ends_on must be after starts_on")
        if len(self.months) > MAX_MONTHS:
            raise errors.InvalidRequest(f"a period is at most {MAX_MONTHS} months")

    def _validate_money(self) -> None:
        if self.nominal <= 0:
            raise errors.InvalidRequest("the nominal must be a positive number of kopecks")
        if not self.quotas:
            raise errors.InvalidRequest("quotas must name at least one municipality")
        for municipality, quota in self.quotas.items():
            if not MUNICIPALITY.fullmatch(municipality) or quota < 0:
                raise errors.InvalidRequest(f"bad quota for municipality {municipality!r}")
        for band in self.age_nominals:
            if not 0 <= band.age_min <= band.age_max < MAX_AGE or band.nominal <= 0:
                raise errors.InvalidRequest("an age group needs 0 <= age_min <= age_max < 18 and a positive nominal")

    @property
    def months(self) -> list[Month]:
        return months_between(Month.of(self.starts_on), Month.of(self.ends_on))

    def contains(self, day: date) -> bool:
        return self.starts_on <= day <= self.ends_on

    def start_instant(self) -> datetime:
        """The period's first instant, local midnight in the region's time zone, as an aware UTC datetime."""
        local = datetime.combine(self.starts_on, time.min, tzinfo=ZoneInfo(self.timezone))
        return local.astimezone(UTC)

    @property
    def starts_at_utc(self) -> str:
        """``start_instant`` as ISO text to the second, e.g. ``2026-12-31T12:00:00Z``."""
        return self.start_instant().strftime("%Y-%m-%dT%H:%M:%SZ")

    def nominal_for_age(self, age: int) -> int:
        for band in self.age_nominals:
            if band.age_min <= age <= band.age_max:
                return band.nominal
        return self.nominal

    def entitlement(self, birth_date: date, funded_from: date) -> Kopecks:
        """What a certificate is credited for this period if funded from ``funded_from`` (a day inside the period).

        The nominal is for the whole period; a child funded later gets it pro rata for the months left, counting the
        month of funding; months from the 18th birthday on are not paid for.
        """
        if not self.contains(funded_from):
            raise ValueError("funded_from must lie inside the period")
        months = self.months
        first = Month.of(funded_from)
        birthday_18 = valid_until(birth_date)
        paid = [m for m in months if first <= m and m.first_day < birthday_18]
        nominal = self.nominal_for_age(age_on(birth_date, self.starts_on))
        return prorate(nominal, len(paid), len(months))


def local_today(now: datetime, tz: str) -> date:
    """The calendar day in the region at instant ``now``."""
    return now.astimezone(ZoneInfo(tz)).date()


def current_period(periods: list[Period], today: date) -> Period | None:
    """The latest period that has started by ``today`` (it may have ended if no next one is open yet)."""
    started = [p for p in periods if p.starts_on <= today]
    return max(started, key=lambda p: p.starts_on) if started else None


# --- the quota and the top-up's progress -------------------------------------------------------------------------


@dataclass(frozen=True)
class Quota:
    """How many certificates of a municipality may be funded in a period (I7), and how many are.

    ``funded`` and ``remaining`` move together, in the very transaction that funds (or rolls over) a certificate.
    """

    period_id: PeriodId
    municipality: str
    quota: int
    remaining: int
    funded: int = 0

    @property
    def share_used(self) -> float | None:
        """``funded / quota`` to 4 places; None for a quota of 0."""
        return share(self.funded, self.quota)


# The top-up's progress counters of a period: one per parallel scan segment, one for the rollovers on first touch.
TOUCH_RECORD = "topup#touch"


def segment_record(segment: int) -> str:
    return f"topup#{segment:03d}"


@dataclass(frozen=True)
class TopupSegment:
    """The progress counter ``record`` of a period's top-up: one scan segment's (``topup#003``) or the certificates
    rolled over on their first touch (``topup#touch``). Counters are added in the same transaction as the money they
    count, so they are exact after any crash; ``cursor`` is where the segment's scan goes on (None: from the start,
    or, once ``done``, nowhere)."""

    period_id: PeriodId
    record: str
    cursor: dict[str, Any] | None = None
    done: bool = False
    certificates: int = 0
    over_quota: int = 0
    aged_out: int = 0
    credited_kopecks: int = 0
    expired_kopecks: int = 0
    released_kopecks: int = 0
    pages: int = 0
    updated_at: str | None = None

    @property
    def segment(self) -> int | None:
        """The scan segment it counts; None for the rollovers on first touch."""
        return None if self.record == TOUCH_RECORD else int(self.record.split("#", 1)[1])

    @property
    def rolled(self) -> int:
        return self.certificates + self.over_quota + self.aged_out


@dataclass(frozen=True)
class TopupProgress:
    """A period's top-up as operators follow it: its status and what it moved so far."""

    status: str  # "not_started" | "running" | "done"
    segments: int
    segments_done: int
    certificates_credited: int
    certificates_over_quota: int
    certificates_aged_out: int
    rolled_on_touch: int
    credited_kopecks: int
    expired_kopecks: int
    released_kopecks: int


@dataclass(frozen=True)
class PeriodState:
    """A period with its quotas (by municipality) and the progress of its top-up."""

    period: Period
    quotas: tuple[Quota, ...]
    segments: tuple[TopupSegment, ...]

    @property
    def topup(self) -> TopupProgress:
        scanned = [s for s in self.segments if s.segment is not None]
        done = sum(1 for s in scanned if s.done)
        touch = next((s for s in self.segments if s.segment is None), None)
        status = "done" if done == self.period.topup_segments else ("running" if scanned else "not_started")
        return TopupProgress(
            status=status,
            segments=self.period.topup_segments,
            segments_done=done,
            certificates_credited=sum(s.certificates for s in self.segments),
            certificates_over_quota=sum(s.over_quota for s in self.segments),
            certificates_aged_out=sum(s.aged_out for s in self.segments),
            rolled_on_touch=touch.rolled if touch else 0,
            credited_kopecks=sum(s.credited_kopecks for s in self.segments),
            expired_kopecks=sum(s.expired_kopecks for s in self.segments),
            released_kopecks=sum(s.released_kopecks for s in self.segments),
        )

    @property
    def topup_complete(self) -> bool:
        scanned = [s for s in self.segments if s.segment is not None]
        return len(scanned) == self.period.topup_segments and all(s.done for s in scanned)
