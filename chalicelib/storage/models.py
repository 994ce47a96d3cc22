"""The tables, one per aggregate, as PynamoDB models: the single definition that the code, the tests, `make run`
and infra/ all create tables from.

Names are bound per stage by ``bind_tables`` (``{prefix}{table}``); every attribute is plain and named so an
operator reading an item in the console understands it. Money attributes are whole kopecks.
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, LocalSecondaryIndex
from pynamodb.models import Model

# The periods table holds the calendar of months under this partition; no period id can take it ('~' is refused).
CALENDAR_PARTITION = "~calendar"


class ByGuardian(GlobalSecondaryIndex["CertificateRecord"]):
    """Children (certificates) of a guardian: GET /children is one Query."""

    class Meta:
        index_name = "by_guardian"
        projection = AllProjection()

    guardian_sub = UnicodeAttribute(hash_key=True)
    certificate_id = UnicodeAttribute(range_key=True)


class CertificateRecord(Model):
    """A child's certificate and its balance in its current period (a cache of the ledger)."""

    class Meta:
        table_name = "certificates"
        billing_mode = "PAY_PER_REQUEST"

    certificate_id = UnicodeAttribute(hash_key=True)
    status = UnicodeAttribute()
    guardian_sub = UnicodeAttribute()
    municipality = UnicodeAttribute()
    full_name = UnicodeAttribute()
    birth_date = UnicodeAttribute()
    valid_until = UnicodeAttribute()
    issued_at = UnicodeAttribute()
    period_id = UnicodeAttribute(null=True)
    # The start of ``period_id`` (ISO date): a rollover only ever moves a certificate to a later period.
    period_starts_on = UnicodeAttribute(null=True)
    credited = NumberAttribute(default=0)
    available = NumberAttribute(default=0)
    held = NumberAttribute(default=0)
    spent = NumberAttribute(default=0)
    expired = NumberAttribute(default=0)
    # contract id -> kopecks still held for it in the current period; the rollover releases each.
    open_holds = MapAttribute[str, Any](default=dict)
    # Bumped by every change of money or status: the optimistic check of plans made from a read.
    version = NumberAttribute(default=0)

    by_guardian = ByGuardian()


class ByPosted(LocalSecondaryIndex["LedgerRecord"]):
    """A certificate's entries in posting order: the cabinet's history, newest first."""

    class Meta:
        index_name = "by_posted"
        projection = AllProjection()

    certificate_id = UnicodeAttribute(hash_key=True)
    posted = UnicodeAttribute(range_key=True)


class LedgerRecord(Model):
    """One immutable money movement; ``entry_key`` is its natural idempotency key (see domain.ledger)."""

    class Meta:
        table_name = "ledger"
        billing_mode = "PAY_PER_REQUEST"

    certificate_id = UnicodeAttribute(hash_key=True)
    entry_key = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute()
    period_id = UnicodeAttribute()
    amount = NumberAttribute()
    posted = UnicodeAttribute()
    contract_id = UnicodeAttribute(null=True)
    month = UnicodeAttribute(null=True)
    reason = UnicodeAttribute(null=True)
    actor = UnicodeAttribute(null=True)

    by_posted = ByPosted()


class AgeNominal(MapAttribute[str, Any]):
    age_min = NumberAttribute()
    age_max = NumberAttribute()
    nominal = NumberAttribute()


class ByRegion(GlobalSecondaryIndex["PeriodRecord"]):
    """The region's periods by start: the calendar is one Query. Sparse: only period items carry ``region``."""

    class Meta:
        index_name = "by_region"
        projection = AllProjection()

    region = UnicodeAttribute(hash_key=True)
    starts_on = UnicodeAttribute(range_key=True)


class _PeriodsTable(Model):
    """The periods table: a period's items share its ``period_id`` partition, told apart by ``record``."""

    class Meta:
        table_name = "periods"
        billing_mode = "PAY_PER_REQUEST"

    period_id = UnicodeAttribute(hash_key=True)
    record = UnicodeAttribute(range_key=True)


class PeriodRecord(_PeriodsTable):
    """record = "period": the period itself."""

    region = UnicodeAttribute()
    starts_on = UnicodeAttribute()
    ends_on = UnicodeAttribute()
    timezone = UnicodeAttribute()
    nominal = NumberAttribute()
    age_nominals = ListAttribute(of=AgeNominal, default=list)
    quotas = MapAttribute[str, Any](default=dict)
    topup_segments = NumberAttribute()
    opened_at = UnicodeAttribute()
    opened_by = UnicodeAttribute()

    by_region = ByRegion()


class QuotaRecord(_PeriodsTable):
    """record = "quota#{municipality}": how many certificates of the municipality may be funded in the period (I7)."""

    municipality = UnicodeAttribute()
    quota = NumberAttribute()
    remaining = NumberAttribute()
    funded = NumberAttribute(default=0)


class TopupSegmentRecord(_PeriodsTable):
    """record = "topup#{nn}" per scan segment, or "topup#touch" for certificates rolled over on first touch.

    Counters are added in the same transaction as the money they count, so progress is exact after any crash.
    """

    segment = NumberAttribute(null=True)
    cursor = UnicodeAttribute(null=True)
    done = BooleanAttribute(default=False)
    certificates = NumberAttribute(default=0)
    credited_kopecks = NumberAttribute(default=0)
    expired_kopecks = NumberAttribute(default=0)
    released_kopecks = NumberAttribute(default=0)
    over_quota = NumberAttribute(default=0)
    aged_out = NumberAttribute(default=0)
    pages = NumberAttribute(default=0)
    updated_at = UnicodeAttribute(null=True)


class CalendarRecord(_PeriodsTable):
    """period_id = "~calendar", record = "YYYY-MM": the month belongs to ``owner``; periods cannot overlap."""

    owner = UnicodeAttribute()


class IdempotencyRecord(Model):
    """A client's Idempotency-Key and the response it got; forgotten after ``expires_at`` (TTL)."""

    class Meta:
        table_name = "idempotency"
        billing_mode = "PAY_PER_REQUEST"

    key = UnicodeAttribute(hash_key=True)
    status = UnicodeAttribute()
    request_hash = UnicodeAttribute()
    locked_until = NumberAttribute()
    response_status = NumberAttribute(null=True)
    response_body = UnicodeAttribute(null=True)
    expires_at = TTLAttribute()


# Each table once: the model whose schema (keys and indexes) creates it, and its TTL attribute if any.
TABLES: dict[str, tuple[type[Model], str | None]] = {
    "certificates": (CertificateRecord, None),
    "ledger": (LedgerRecord, None),
    "periods": (PeriodRecord, None),
    "idempotency": (IdempotencyRecord, "expires_at"),
}

ALL_MODELS: tuple[type[Model], ...] = (
    CertificateRecord,
    LedgerRecord,
    _PeriodsTable,
    PeriodRecord,
    QuotaRecord,
    TopupSegmentRecord,
    CalendarRecord,
    IdempotencyRecord,
)


def bind_tables(prefix: str) -> None:
    """Points every model at ``{prefix}{table}`` (per stage, per test)."""
    for model in ALL_MODELS:
        model.Meta.table_name = prefix + _base_name(model)
        model._connection = None  # PynamoDB caches a connection per table name


def _base_name(model: type[Model]) -> str:
    base = getattr(model, "_base_table_name", None)
    if base is None:
        base = model.Meta.table_name
        model._base_table_name = base  # type: ignore[attr-defined]
    return str(base)


def table_name(base: str) -> str:
    """The bound name of table ``base``."""
    return str(TABLES[base][0].Meta.table_name)
