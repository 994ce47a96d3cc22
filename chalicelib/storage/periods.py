"""Periods: opening one (with its quotas and its months in the calendar), the region's calendar, top-up progress."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from pynamodb.exceptions import DoesNotExist

from chalicelib.domain import errors
from chalicelib.domain.period import AgeNominal, Period
from chalicelib.storage.models import (
    CALENDAR_PARTITION,
    CalendarRecord,
    PeriodRecord,
    QuotaRecord,
    TopupSegmentRecord,
    _PeriodsTable,
)
from chalicelib.storage.models import (
    AgeNominal as AgeNominalMap,
)
from chalicelib.storage.transactions import Transaction, fail_with

TOUCH_RECORD = "topup#touch"


def segment_record(segment: int) -> str:
    return f"topup#{segment:03d}"


def _period(record: PeriodRecord) -> Period:
    return Period(
        period_id=record.period_id,
        starts_on=date.fromisoformat(record.starts_on),
        ends_on=date.fromisoformat(record.ends_on),
        nominal=int(record.nominal),
        quotas={m: int(n) for m, n in record.quotas.as_dict().items()},
        timezone=record.timezone,
        age_nominals=tuple(
            AgeNominal(int(band.age_min), int(band.age_max), int(band.nominal)) for band in record.age_nominals or []
        ),
    )


def open_period(period: Period, region: str, segments: int, opened_at: str, opened_by: str) -> None:
    """One transaction: the period, a quota item per municipality, and each of its months claimed in the calendar
    (so two periods can never overlap, however many operators open them at once)."""
    tx = Transaction()
    tx.put(
        PeriodRecord(
            period_id=period.period_id,
            record="period",
            region=region,
            starts_on=period.starts_on.isoformat(),
            ends_on=period.ends_on.isoformat(),
            timezone=period.timezone,
            nominal=period.nominal,
            age_nominals=[
                AgeNominalMap(age_min=b.age_min, age_max=b.age_max, nominal=b.nominal) for b in period.age_nominals
            ],
            quotas=dict(period.quotas),
            topup_segments=segments,
            opened_at=opened_at,
            opened_by=opened_by,
        ),
        PeriodRecord.period_id.does_not_exist(),
        fail_with(errors.PeriodExists()),
    )
    for municipality, quota in sorted(period.quotas.items()):
        tx.put(
            QuotaRecord(
                period_id=period.period_id,
                record=f"quota#{municipality}",
                municipality=municipality,
                quota=quota,
                remaining=quota,
                funded=0,
            ),
            QuotaRecord.period_id.does_not_exist(),
            fail_with(errors.PeriodExists()),
        )
    for month in period.months:
        tx.put(
            CalendarRecord(period_id=CALENDAR_PARTITION, record=str(month), owner=period.period_id),
            CalendarRecord.period_id.does_not_exist(),
            fail_with(errors.PeriodOverlaps(f"month {month} already belongs to another period")),
        )
    tx.commit()


def region_periods(region: str) -> list[Period]:
    """All periods of the region: one Query on the by_region index (a region opens one or two a year)."""
    return [_period(record) for record in PeriodRecord.by_region.query(region)]


@dataclass(frozen=True)
class QuotaState:
    municipality: str
    quota: int
    funded: int
    remaining: int


@dataclass(frozen=True)
class SegmentState:
    record: str
    segment: int | None
    cursor: dict[str, Any] | None
    done: bool
    certificates: int
    over_quota: int
    aged_out: int
    credited_kopecks: int
    expired_kopecks: int
    released_kopecks: int
    pages: int


@dataclass(frozen=True)
class PeriodState:
    period: Period
    topup_segments: int
    opened_at: str
    quotas: list[QuotaState]
    segments: list[SegmentState]


def period_state(period_id: str) -> PeriodState:
    """The period with its quotas and top-up progress: one Query over the period's partition."""
    period: PeriodRecord | None = None
    quotas: list[QuotaState] = []
    segments: list[SegmentState] = []
    for raw in _partition(period_id):
        record = raw["record"]["S"]
        if record == "period":
            period = PeriodRecord.from_raw_data(raw)
        elif record.startswith("quota#"):
            q = QuotaRecord.from_raw_data(raw)
            quotas.append(QuotaState(q.municipality, int(q.quota), int(q.funded), int(q.remaining)))
        elif record.startswith("topup#"):
            segments.append(_segment(TopupSegmentRecord.from_raw_data(raw)))
    if period is None:
        raise errors.PeriodNotFound()
    return PeriodState(_period(period), int(period.topup_segments), period.opened_at, quotas, segments)


def _partition(period_id: str) -> Iterator[dict[str, Any]]:
    """Raw items of a period's partition (mixed kinds, so read below the models)."""
    connection = _PeriodsTable._get_connection()
    start: dict[str, Any] | None = None
    while True:
        page = connection.query(period_id, consistent_read=True, exclusive_start_key=start)
        yield from page.get("Items", [])
        start = page.get("LastEvaluatedKey")
        if not start:
            return


def get_period(period_id: str) -> Period:
    try:
        return _period(PeriodRecord.get(period_id, "period"))
    except DoesNotExist:
        raise errors.PeriodNotFound() from None


def _segment(record: TopupSegmentRecord) -> SegmentState:
    return SegmentState(
        record=record.record,
        segment=None if record.segment is None else int(record.segment),
        cursor=json.loads(record.cursor) if record.cursor else None,
        done=bool(record.done),
        certificates=int(record.certificates or 0),
        over_quota=int(record.over_quota or 0),
        aged_out=int(record.aged_out or 0),
        credited_kopecks=int(record.credited_kopecks or 0),
        expired_kopecks=int(record.expired_kopecks or 0),
        released_kopecks=int(record.released_kopecks or 0),
        pages=int(record.pages or 0),
    )


def segment_state(period_id: str, segment: int) -> SegmentState:
    try:
        return _segment(TopupSegmentRecord.get(period_id, segment_record(segment), consistent_read=True))
    except DoesNotExist:
        return SegmentState(segment_record(segment), segment, None, False, 0, 0, 0, 0, 0, 0, 0)


def checkpoint_segment(period_id: str, segment: int, cursor: dict[str, Any] | None, updated_at: str) -> None:
    """Remembers where the segment's scan goes on; ``cursor=None`` marks it done."""
    T = TopupSegmentRecord
    T(period_id=period_id, record=segment_record(segment)).update(
        actions=[
            T.segment.set(segment),
            T.cursor.set(json.dumps(cursor)) if cursor else T.cursor.remove(),
            T.done.set(cursor is None),
            T.pages.add(1),
            T.updated_at.set(updated_at),
        ]
    )
