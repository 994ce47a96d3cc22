"""Periods: opening one (with its quotas and its months in the calendar), the region's calendar, top-up progress; the
mappers of periods, quotas and top-up progress counters (items of the periods table)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pynamodb.exceptions import DoesNotExist

from chalicelib.domain import errors
from chalicelib.domain.ids import PeriodId
from chalicelib.domain.period import (
    TOUCH_RECORD,
    AgeNominal,
    Period,
    PeriodState,
    Quota,
    TopupSegment,
    segment_record,
)
from chalicelib.storage.mapping import ISO_DATE, JSON_TEXT, Conversion, Mapper, map_of
from chalicelib.storage.models import (
    CALENDAR_PARTITION,
    CalendarRecord,
    PeriodRecord,
    QuotaRecord,
    TopupSegmentRecord,
    _PeriodsTable,
)
from chalicelib.storage.models import AgeNominal as AgeNominalMap
from chalicelib.storage.transactions import Transaction, fail_with

__all__ = ["TOUCH_RECORD", "segment_record"]

PERIOD = "period"

PERIODS = Mapper(
    Period,
    PeriodRecord,
    convert={
        "starts_on": ISO_DATE,
        "ends_on": ISO_DATE,
        "quotas": map_of(),
        "age_nominals": Conversion(
            lambda bands: [AgeNominalMap(age_min=b.age_min, age_max=b.age_max, nominal=b.nominal) for b in bands],
            lambda stored: tuple(AgeNominal(int(b.age_min), int(b.age_max), int(b.nominal)) for b in stored),
        ),
    },
    derived={"record": lambda _period: PERIOD},
)
QUOTAS = Mapper(Quota, QuotaRecord, derived={"record": lambda quota: f"quota#{quota.municipality}"})
SEGMENTS = Mapper(
    TopupSegment, TopupSegmentRecord, convert={"cursor": JSON_TEXT}, derived={"segment": lambda s: s.segment}
)


def open_period(period: Period) -> None:
    """One transaction: the period, a quota item per municipality, and each of its months claimed in the calendar
    (so two periods can never overlap, however many operators open them at once)."""
    tx = Transaction()
    tx.put(PERIODS.record(period), PeriodRecord.period_id.does_not_exist(), fail_with(errors.PeriodExists()))
    for municipality, quota in sorted(period.quotas.items()):
        tx.put(
            QUOTAS.record(Quota(period.period_id, municipality, quota=quota, remaining=quota)),
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
    return [PERIODS.to_entity(record) for record in PeriodRecord.by_region.query(region)]


def period_state(period_id: str) -> PeriodState:
    """The period with its quotas and top-up progress: one Query over the period's partition."""
    period: Period | None = None
    quotas: list[Quota] = []
    segments: list[TopupSegment] = []
    for raw in _partition(period_id):
        record = _PeriodsTable.from_raw_data(raw).record
        if record == PERIOD:
            period = PERIODS.from_image(raw)
        elif record.startswith("quota#"):
            quotas.append(QUOTAS.from_image(raw))
        elif record.startswith("topup#"):
            segments.append(SEGMENTS.from_image(raw))
    if period is None:
        raise errors.PeriodNotFound()
    return PeriodState(period, tuple(sorted(quotas, key=lambda q: q.municipality)), tuple(segments))


def _partition(period_id: str) -> Iterator[dict[str, Any]]:
    """Raw items of a period's partition (mixed kinds, each read by its own mapper)."""
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
        return PERIODS.to_entity(PeriodRecord.get(period_id, PERIOD))
    except DoesNotExist:
        raise errors.PeriodNotFound() from None


def segment_state(period_id: str, segment: int) -> TopupSegment:
    try:
        return SEGMENTS.to_entity(TopupSegmentRecord.get(period_id, segment_record(segment), consistent_read=True))
    except DoesNotExist:
        return TopupSegment(PeriodId(period_id), segment_record(segment))


def quotas(period_id: str, municipality: str | None) -> list[Quota]:
    """The period's quota items (I7: the quota's own counters, written with each funding): one GetItem for a
    municipality, one Query over the period's quota items for the region."""
    if municipality is not None:
        try:
            records = [QuotaRecord.get(period_id, f"quota#{municipality}", consistent_read=True)]
        except QuotaRecord.DoesNotExist:
            records = []
    else:
        records = list(QuotaRecord.query(period_id, QuotaRecord.record.startswith("quota#"), consistent_read=True))
    return [QUOTAS.to_entity(record) for record in records]


def checkpoint_segment(period_id: str, segment: int, cursor: dict[str, Any] | None, updated_at: str) -> None:
    """Remembers where the segment's scan goes on; ``cursor=None`` marks it done."""
    T = TopupSegmentRecord
    T(period_id=period_id, record=segment_record(segment)).update(
        actions=[
            T.segment.set(segment),
            T.cursor.set(JSON_TEXT.stored(cursor)) if cursor else T.cursor.remove(),
            T.done.set(cursor is None),
            T.pages.add(1),
            T.updated_at.set(updated_at),
        ]
    )
