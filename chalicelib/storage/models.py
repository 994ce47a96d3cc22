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
from pynamodb.constants import STREAM_NEW_AND_OLD_IMAGE, STREAM_NEW_IMAGE
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
        # Read by the reports' consumer (services/streams.py): issued and closed certificates per municipality.
        stream_view_type = STREAM_NEW_AND_OLD_IMAGE

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
    # While frozen: the status to return to, and why (operator hold).
    frozen_from = UnicodeAttribute(null=True)
    frozen_reason = UnicodeAttribute(null=True)
    # Closed as a duplicate: the certificate its money and its identity went to, and when.
    merged_into = UnicodeAttribute(null=True)
    closed_at = UnicodeAttribute(null=True)
    # The period whose coming expiry the guardian was told of (the daily notice job's exactly-once marker).
    expiry_notice_period = UnicodeAttribute(null=True)

    by_guardian = ByGuardian()


class IdentityRecord(Model):
    """One living certificate per child in the region: the key is a digest of the normalised full name and birth
    date (domain.duplicates.child_identity), put with ``attribute_not_exists`` in the certificate's own transaction.

    Holds no name: the digest, the certificate, and its municipality (all a duplicate registration is told).
    """

    class Meta:
        table_name = "identities"
        billing_mode = "PAY_PER_REQUEST"

    identity = UnicodeAttribute(hash_key=True)
    certificate_id = UnicodeAttribute()
    municipality = UnicodeAttribute()
    registered_at = UnicodeAttribute()


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
        # Read by the reports' consumer: entries are only ever inserted, so the new image is all there is.
        stream_view_type = STREAM_NEW_IMAGE

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


class ByQueue(GlobalSecondaryIndex["ProviderRecord"]):
    """An operator's queue: providers of a municipality in a status, oldest application first."""

    class Meta:
        index_name = "by_queue"
        projection = AllProjection()

    queue = UnicodeAttribute(hash_key=True)  # "{municipality}#{status}"
    queued_at = UnicodeAttribute(range_key=True)  # "{applied_at}#{provider_id}"


class ProviderRecord(Model):
    """A provider's entry in the registry, keyed by its ИНН."""

    class Meta:
        table_name = "providers"
        billing_mode = "PAY_PER_REQUEST"

    provider_id = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute()
    name = UnicodeAttribute()
    inn = UnicodeAttribute()
    ogrn = UnicodeAttribute()
    licence = UnicodeAttribute()
    municipality = UnicodeAttribute()
    contacts = MapAttribute[str, Any](default=dict)
    owner_sub = UnicodeAttribute()
    status = UnicodeAttribute()
    reason = UnicodeAttribute(null=True)
    applied_at = UnicodeAttribute()
    decided_at = UnicodeAttribute(null=True)
    decided_by = UnicodeAttribute(null=True)
    queue = UnicodeAttribute()
    queued_at = UnicodeAttribute()
    # document id -> {kind, key, sha256, size, content_type, uploaded_at}
    documents = MapAttribute[str, Any](default=dict)
    rating_sum = NumberAttribute(default=0)
    rating_count = NumberAttribute(default=0)
    version = NumberAttribute(default=0)

    by_queue = ByQueue()


class CatalogByMunicipality(GlobalSecondaryIndex["ProgramRecord"]):
    """The catalog of one municipality, by direction. Sparse: only programs open to enrolment carry the key."""

    class Meta:
        index_name = "catalog_by_municipality"
        projection = AllProjection()

    catalog_municipality = UnicodeAttribute(hash_key=True)
    catalog_key = UnicodeAttribute(range_key=True)  # "{direction}#{program_id}"


class CatalogByDirection(GlobalSecondaryIndex["ProgramRecord"]):
    """The region's catalog of one direction, by municipality. Sparse."""

    class Meta:
        index_name = "catalog_by_direction"
        projection = AllProjection()

    catalog_direction = UnicodeAttribute(hash_key=True)
    catalog_place = UnicodeAttribute(range_key=True)  # "{municipality}#{program_id}"


class CatalogOfRegion(GlobalSecondaryIndex["ProgramRecord"]):
    """The whole region's catalog (no municipality or direction given). Sparse.

    Ordered by program id (random), not by direction: directions and municipalities interleave, so the matches of a
    text query spread evenly over the pages instead of waiting behind whole directions that cannot match.
    """

    class Meta:
        index_name = "catalog_of_region"
        projection = AllProjection()

    catalog_region = UnicodeAttribute(hash_key=True)
    program_id = UnicodeAttribute(range_key=True)


class ProgramsOfProvider(GlobalSecondaryIndex["ProgramRecord"]):
    """A provider's own programs in every status (not sparse: every program item carries ``provider_id``)."""

    class Meta:
        index_name = "by_provider"
        projection = AllProjection()

    provider_id = UnicodeAttribute(hash_key=True)
    program_id = UnicodeAttribute(range_key=True)


class _ProgramsTable(Model):
    """The programs table: a program's items share its partition, told apart by ``record``."""

    class Meta:
        table_name = "programs"
        billing_mode = "PAY_PER_REQUEST"

    program_id = UnicodeAttribute(hash_key=True)
    record = UnicodeAttribute(range_key=True)


class ProgramRecord(_ProgramsTable):
    """record = "program": a provider's program (group) with its price, capacity and seats taken (I6)."""

    provider_id = UnicodeAttribute()
    provider_name = UnicodeAttribute()
    title = UnicodeAttribute()
    description = UnicodeAttribute()
    direction = UnicodeAttribute()
    age_min = NumberAttribute()
    age_max = NumberAttribute()
    municipality = UnicodeAttribute()
    address = UnicodeAttribute()
    schedule = UnicodeAttribute()
    period_id = UnicodeAttribute()
    months = ListAttribute[str](default=list)
    price_per_month = NumberAttribute()
    capacity = NumberAttribute()
    seats_taken = NumberAttribute(default=0)
    status = UnicodeAttribute()
    search_text = UnicodeAttribute()
    rating_sum = NumberAttribute(default=0)
    rating_count = NumberAttribute(default=0)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    version = NumberAttribute(default=0)
    # Who moved the program to its status, and when (audit; the operator's sub for a certification).
    status_changed_at = UnicodeAttribute(null=True)
    status_changed_by = UnicodeAttribute(null=True)
    # The sparse catalog keys: set only while the program is published or certified (see storage.programs).
    catalog_municipality = UnicodeAttribute(null=True)
    catalog_direction = UnicodeAttribute(null=True)
    catalog_region = UnicodeAttribute(null=True)
    catalog_key = UnicodeAttribute(null=True)
    catalog_place = UnicodeAttribute(null=True)

    catalog_by_municipality = CatalogByMunicipality()
    catalog_by_direction = CatalogByDirection()
    catalog_of_region = CatalogOfRegion()
    by_provider = ProgramsOfProvider()


class SeatRecord(_ProgramsTable):
    """record = "seat#{certificate_id}": a child holds a seat in the program; one per child (already_enrolled)."""

    contract_id = UnicodeAttribute()
    taken_at = UnicodeAttribute()


class ContractsOfCertificate(GlobalSecondaryIndex["ContractRecord"]):
    class Meta:
        index_name = "by_certificate"
        projection = AllProjection()

    certificate_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class ContractsOfProvider(GlobalSecondaryIndex["ContractRecord"]):
    class Meta:
        index_name = "by_provider"
        projection = AllProjection()

    provider_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class ContractsOfGuardian(GlobalSecondaryIndex["ContractRecord"]):
    class Meta:
        index_name = "by_guardian"
        projection = AllProjection()

    guardian_sub = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class ContractRecord(Model):
    """A contract (договор) between a child's certificate and a program, with its hold and monthly charges (I5)."""

    class Meta:
        table_name = "contracts"
        billing_mode = "PAY_PER_REQUEST"
        # Read by the reports' consumer: a contract entering or leaving ``active`` (old and new status).
        stream_view_type = STREAM_NEW_AND_OLD_IMAGE

    contract_id = UnicodeAttribute(hash_key=True)
    certificate_id = UnicodeAttribute()
    guardian_sub = UnicodeAttribute()
    provider_id = UnicodeAttribute()
    program_id = UnicodeAttribute()
    program_title = UnicodeAttribute()
    period_id = UnicodeAttribute()
    municipality = UnicodeAttribute()
    status = UnicodeAttribute()
    price_per_month = NumberAttribute()
    months = ListAttribute[str](default=list)
    hold_amount = NumberAttribute()
    remaining_hold = NumberAttribute()
    charged_total = NumberAttribute(default=0)
    # "YYYY-MM" -> kopecks charged for that month
    charges = MapAttribute[str, Any](default=dict)
    # "YYYY-MM" -> the objection to that month's charge: "open", "upheld" or "rejected" (a charge under an open
    # objection is disputed in the reports)
    objections = MapAttribute[str, Any](default=dict)
    # "YYYY-MM" -> kopecks of that month's charge reversed by an upheld objection (the month stays charged: it is
    # never charged again)
    reversals = MapAttribute[str, Any](default=dict)
    funded = BooleanAttribute()
    created_at = UnicodeAttribute()
    respond_by = UnicodeAttribute()
    accepted_at = UnicodeAttribute(null=True)
    ended_at = UnicodeAttribute(null=True)
    end_reason = UnicodeAttribute(null=True)
    ended_by = UnicodeAttribute(null=True)
    version = NumberAttribute(default=0)

    by_certificate = ContractsOfCertificate()
    by_provider = ContractsOfProvider()
    by_guardian = ContractsOfGuardian()


class _RatingsTable(Model):
    """A program's ratings and its per-contract markers share its partition, told apart by ``entry``:
    ``rating#<rated_at>#<nonce>`` (time-ordered: listed newest first, telling nothing of the contract or the family)
    and ``contract#<contract_id>`` (the one-rating-per-contract marker, never listed)."""

    class Meta:
        table_name = "program_ratings"
        billing_mode = "PAY_PER_REQUEST"

    program_id = UnicodeAttribute(hash_key=True)
    entry = UnicodeAttribute(range_key=True)


class RatingRecord(_RatingsTable):
    """A parent's rating of a program, once per contract. The guardian and the contract are kept for audit, never
    shown."""

    contract_id = UnicodeAttribute()
    provider_id = UnicodeAttribute()
    score = NumberAttribute()
    comment = UnicodeAttribute(null=True)
    rated_at = UnicodeAttribute()
    guardian_sub = UnicodeAttribute()
    rating_id = UnicodeAttribute()


class RatedContractRecord(_RatingsTable):
    """entry = ``contract#<contract_id>``: this contract has rated the program (its rating's key, for audit)."""

    rating_entry = UnicodeAttribute()


class ObjectionsOfGuardian(GlobalSecondaryIndex["ObjectionRecord"]):
    """A parent's objections, newest first."""

    class Meta:
        index_name = "by_guardian"
        projection = AllProjection()

    guardian_sub = UnicodeAttribute(hash_key=True)
    filed_at = UnicodeAttribute(range_key=True)


class ObjectionsOfProvider(GlobalSecondaryIndex["ObjectionRecord"]):
    """Objections to a provider's charges, newest first."""

    class Meta:
        index_name = "by_provider"
        projection = AllProjection()

    provider_id = UnicodeAttribute(hash_key=True)
    filed_at = UnicodeAttribute(range_key=True)


class ObjectionQueue(GlobalSecondaryIndex["ObjectionRecord"]):
    """An operator's queue: objections of a municipality in a status, oldest first."""

    class Meta:
        index_name = "by_queue"
        projection = AllProjection()

    queue = UnicodeAttribute(hash_key=True)  # "{municipality}#{status}"
    filed_at = UnicodeAttribute(range_key=True)


class ObjectionRecord(Model):
    """A parent's objection (претензия) to one month's charge of a contract; one per contract-month, ever."""

    class Meta:
        table_name = "objections"
        billing_mode = "PAY_PER_REQUEST"
        # Read by the reports' consumer: a charge is disputed while its objection is open.
        stream_view_type = STREAM_NEW_AND_OLD_IMAGE

    objection_id = UnicodeAttribute(hash_key=True)  # "{contract_id}-{YYYY-MM}"
    contract_id = UnicodeAttribute()
    certificate_id = UnicodeAttribute()
    month = UnicodeAttribute()
    amount = NumberAttribute()
    period_id = UnicodeAttribute()
    provider_id = UnicodeAttribute()
    program_id = UnicodeAttribute()
    program_title = UnicodeAttribute()
    # The contract's (the program's) municipality: its operators decide.
    municipality = UnicodeAttribute()
    guardian_sub = UnicodeAttribute()
    status = UnicodeAttribute()
    reason = UnicodeAttribute()
    filed_at = UnicodeAttribute()
    charged_at = UnicodeAttribute()
    queue = UnicodeAttribute()
    decided_at = UnicodeAttribute(null=True)
    decided_by = UnicodeAttribute(null=True)
    decision_reason = UnicodeAttribute(null=True)
    # Where an upheld objection returned the money: "available", or "expired" when its period had ended.
    returned_to = UnicodeAttribute(null=True)

    by_guardian = ObjectionsOfGuardian()
    by_provider = ObjectionsOfProvider()
    by_queue = ObjectionQueue()


class AggregateRecord(Model):
    """The operators' reports, kept by the stream consumer (services/streams.py); read on request, never rebuilt.

    ``scope`` is a period id for the period's figures (``m#{municipality}#totals``, ``m#{municipality}#population``,
    ``s#{group}#{municipality}#{value}``), ``~registry`` for certificates per municipality, ``~certificate#{id}`` for
    one certificate's active contracts, ``~applied#{record}`` for the markers that make each stream record count once
    (forgotten after ``expires_at``), ``~poller#{stream}`` for the local poller's checkpoints. Counters are whole
    numbers (kopecks or counts) added by ``ADD``; see storage/aggregates.py and domain/reports.py.
    """

    class Meta:
        table_name = "aggregates"
        billing_mode = "PAY_PER_REQUEST"

    scope = UnicodeAttribute(hash_key=True)
    key = UnicodeAttribute(range_key=True)
    expires_at = TTLAttribute(null=True)


# Each table once: the model whose schema (keys and indexes) creates it, and its TTL attribute if any.
TABLES: dict[str, tuple[type[Model], str | None]] = {
    "certificates": (CertificateRecord, None),
    "ledger": (LedgerRecord, None),
    "periods": (PeriodRecord, None),
    "idempotency": (IdempotencyRecord, "expires_at"),
    "providers": (ProviderRecord, None),
    "programs": (ProgramRecord, None),
    "contracts": (ContractRecord, None),
    "program_ratings": (RatingRecord, None),
    "identities": (IdentityRecord, None),
    "objections": (ObjectionRecord, None),
    "aggregates": (AggregateRecord, "expires_at"),
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
    ProviderRecord,
    _ProgramsTable,
    ProgramRecord,
    SeatRecord,
    ContractRecord,
    _RatingsTable,
    RatingRecord,
    RatedContractRecord,
    IdentityRecord,
    ObjectionRecord,
    AggregateRecord,
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
