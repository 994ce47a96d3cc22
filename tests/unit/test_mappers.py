"""Each aggregate's mapper: an entity with every field set (none left at its default) is written to its model,
serialised as DynamoDB would store it, read back (as an item, and as the old image of a refused transaction) and is
the same entity. A mapper that would drop a field, or leave an attribute unmapped, is refused when it is made."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

import pytest
from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.models import Model

from chalicelib.domain.certificate import Balance, Certificate, CertificateStatus
from chalicelib.domain.contract import Contract, ContractStatus
from chalicelib.domain.duplicates import Identity
from chalicelib.domain.ids import CertificateId, ContractId, PeriodId, ProviderId
from chalicelib.domain.ledger import EntryKind, LedgerEntry
from chalicelib.domain.objection import Objection, ObjectionStatus
from chalicelib.domain.period import AgeNominal, Period, Quota, TopupSegment
from chalicelib.domain.program import Direction, Program, ProgramStatus, Rating, RatingSummary
from chalicelib.domain.provider import Contacts, Document, DocumentKind, Provider, ProviderKind, ProviderStatus
from chalicelib.storage.certificates import CERTIFICATES, IDENTITIES
from chalicelib.storage.contracts import CONTRACTS
from chalicelib.storage.ledger import ENTRIES
from chalicelib.storage.mapping import Mapper, MappingError
from chalicelib.storage.objections import OBJECTIONS
from chalicelib.storage.periods import PERIODS, QUOTAS, SEGMENTS
from chalicelib.storage.programs import PROGRAMS
from chalicelib.storage.providers import PROVIDERS
from chalicelib.storage.ratings import RATINGS

CERTIFICATE = CertificateId("1234567894")
CONTRACT = ContractId(f"{CERTIFICATE}-0123456789ab")
PERIOD = PeriodId("2027")
PROVIDER = ProviderId("7707083893")

CERTIFICATE_ENTITY = Certificate(
    certificate_id=CERTIFICATE,
    status=CertificateStatus.FROZEN,
    guardian_sub="parent-1",
    municipality="elizovo",
    full_name="Иванова Мария",
    birth_date=date(2015, 4, 12),
    valid_until=date(2033, 4, 12),
    issued_at="2027-01-10T01:02:03.000004Z",
    period_id=PERIOD,
    period_starts_on=date(2027, 1, 1),
    balance=Balance(credited=1000, available=500, held=300, spent=150, expired=50),
    open_holds={CONTRACT: 300},
    version=7,
    frozen_from=CertificateStatus.FUNDED,
    frozen_reason="проверка документов",
    merged_into=CertificateId("9876543217"),
    closed_at="2027-02-01T00:00:00.000000Z",
    expiry_notice_period=PERIOD,
)
CONTRACT_ENTITY = Contract(
    contract_id=CONTRACT,
    certificate_id=CERTIFICATE,
    guardian_sub="parent-1",
    provider_id=PROVIDER,
    program_id="prg-1",
    program_title="Робототехника",
    period_id=PERIOD,
    municipality="elizovo",
    status=ContractStatus.CANCELLED,
    price_per_month=100_000,
    months=["2027-03", "2027-04"],
    hold_amount=200_000,
    remaining_hold=0,
    funded=True,
    created_at="2027-03-01T00:00:00.000000Z",
    respond_by="2027-03-08T00:00:00.000000Z",
    charged_total=50_000,
    charges={"2027-03": 100_000},
    objections={"2027-03": ObjectionStatus.UPHELD},
    reversals={"2027-03": 50_000},
    accepted_at="2027-03-02T00:00:00.000000Z",
    ended_at="2027-04-02T00:00:00.000000Z",
    end_reason="moved away",
    ended_by="parent-1",
    version=5,
)
PROGRAM_ENTITY = Program(
    program_id="prg-1",
    provider_id=PROVIDER,
    provider_name="Центр «Вулкан»",
    title="Робототехника",
    description="Конструирование роботов",
    direction=Direction.TECHNICAL,
    age_min=7,
    age_max=12,
    municipality="elizovo",
    address="Елизово, ул. Ленина, 1",
    schedule="вт, чт 16:00",
    period_id=PERIOD,
    months=["2027-03", "2027-04"],
    price_per_month=150_000,
    capacity=12,
    status=ProgramStatus.CERTIFIED,
    created_at="2027-01-01T00:00:00.000000Z",
    updated_at="2027-01-02T00:00:00.000000Z",
    search_text=" робототехника конструирование роботов ",
    seats_taken=3,
    rating=RatingSummary(total=14, count=3),
    version=4,
    status_changed_at="2027-01-02T00:00:00.000000Z",
    status_changed_by="operator-1",
)
PROVIDER_ENTITY = Provider(
    provider_id=PROVIDER,
    kind=ProviderKind.ORGANIZATION,
    name="Центр «Вулкан»",
    inn=PROVIDER,
    ogrn="1027700132195",
    licence="Л035-01234-41/00123456",
    municipality="elizovo",
    contacts=Contacts("+7 415 312-34-56", "info@vulkan.example.ru", "Елизово, ул. Ленина, 1"),
    owner_sub="provider-1",
    status=ProviderStatus.SUSPENDED,
    applied_at="2026-11-01T00:00:00.000000Z",
    reason="лицензия приостановлена",
    decided_at="2027-01-01T00:00:00.000000Z",
    decided_by="operator-1",
    documents={
        "licence-" + "a" * 32: Document(
            document_id="licence-" + "a" * 32,
            kind=DocumentKind.LICENCE,
            key=f"providers/{PROVIDER}/licence-{'a' * 32}",
            sha256="b" * 64,
            size=2048,
            content_type="application/pdf",
            uploaded_at="2026-11-02T00:00:00.000000Z",
        )
    },
    rating=RatingSummary(total=9, count=2),
    version=3,
)
PERIOD_ENTITY = Period(
    period_id=PERIOD,
    starts_on=date(2027, 1, 1),
    ends_on=date(2027, 12, 31),
    nominal=2_400_000,
    quotas={"elizovo": 10, "milkovo": 2},
    timezone="Asia/Kamchatka",
    age_nominals=(AgeNominal(14, 17, 3_000_000),),
    region="kamchatka",
    topup_segments=4,
    opened_at="2026-12-01T00:00:00.000000Z",
    opened_by="operator-1",
)
ENTITIES: list[tuple[Mapper[Any, Any], Any]] = [
    (CERTIFICATES, CERTIFICATE_ENTITY),
    (IDENTITIES, Identity("a" * 64, CERTIFICATE, "elizovo", "2027-01-10T01:02:03.000004Z")),
    (CONTRACTS, CONTRACT_ENTITY),
    (PROGRAMS, PROGRAM_ENTITY),
    (PROVIDERS, PROVIDER_ENTITY),
    (PERIODS, PERIOD_ENTITY),
    (QUOTAS, Quota(PERIOD, "elizovo", quota=10, remaining=7, funded=3)),
    (
        SEGMENTS,
        TopupSegment(
            period_id=PERIOD,
            record="topup#003",
            cursor={"certificate_id": {"S": CERTIFICATE}},
            done=True,
            certificates=5,
            over_quota=1,
            aged_out=2,
            credited_kopecks=12_000_000,
            expired_kopecks=35_000,
            released_kopecks=20_000,
            pages=3,
            updated_at="2027-01-01T00:10:00.000000Z",
        ),
    ),
    (
        ENTRIES,
        LedgerEntry(
            certificate_id=CERTIFICATE,
            entry_key=f"charge#{CONTRACT}#2027-03",
            kind=EntryKind.CHARGE,
            period_id=PERIOD,
            amount=100_000,
            posted="2027-03-31T00:00:00.000000Z#001",
            contract_id=CONTRACT,
            month="2027-03",
            reason="за март",
            actor="provider-1",
        ),
    ),
    (
        OBJECTIONS,
        Objection(
            objection_id=f"{CONTRACT}-2027-03",
            contract_id=CONTRACT,
            certificate_id=CERTIFICATE,
            month="2027-03",
            amount=100_000,
            period_id=PERIOD,
            provider_id=PROVIDER,
            program_id="prg-1",
            program_title="Робототехника",
            municipality="elizovo",
            guardian_sub="parent-1",
            status=ObjectionStatus.UPHELD,
            reason="занятий не было",
            filed_at="2027-04-01T00:00:00.000000Z",
            charged_at="2027-03-31T00:00:00.000000Z",
            decided_at="2027-04-02T00:00:00.000000Z",
            decided_by="operator-1",
            decision_reason="подтверждено",
            returned_to="available",
        ),
    ),
    (
        RATINGS,
        Rating(
            program_id="prg-1",
            contract_id=CONTRACT,
            provider_id=PROVIDER,
            score=4,
            rated_at="2027-05-01T00:00:00.000000Z",
            guardian_sub="parent-1",
            rating_id="9f86d081884c7d65",
            comment="Хорошо",
        ),
    ),
]


def test_every_aggregate_has_a_mapped_entity() -> None:
    from chalicelib.storage.models import TABLES

    mapped = {mapper.model for mapper, _entity in ENTITIES}
    left = {base for base, (model, _ttl) in TABLES.items() if model not in mapped}
    # The idempotency keys (an HTTP concern) and the aggregates (counters: storage.counters) are not entities.
    assert left == {"idempotency", "aggregates"}


@pytest.mark.parametrize(("mapper", "entity"), ENTITIES, ids=[type(e).__name__ for _m, e in ENTITIES])
def test_an_entity_with_every_field_set_comes_back_the_same_through_its_item(
    mapper: Mapper[Any, Any], entity: Any
) -> None:
    defaults = [
        f.name
        for f in dataclasses.fields(entity)
        if getattr(entity, f.name) == (f.default if f.default is not dataclasses.MISSING else object())
        or (f.default_factory is not dataclasses.MISSING and getattr(entity, f.name) == f.default_factory())
    ]
    assert defaults == [], f"set every field of {type(entity).__name__}: {defaults} are at their defaults"
    record = mapper.record(entity)
    stored = record.serialize()  # what PutItem sends: DynamoDB JSON of every attribute
    assert mapper.to_entity(type(record).from_raw_data(stored)) == entity
    assert mapper.from_image(stored) == entity  # an old image of a refused transaction, or a stream image


def test_an_item_missing_optional_attributes_reads_as_the_entitys_defaults() -> None:
    stored = CERTIFICATES.record(CERTIFICATE_ENTITY).serialize()
    for name in ("period_id", "period_starts_on", "open_holds", "frozen_from", "merged_into", "version", "credited"):
        stored.pop(name)
    read = CERTIFICATES.from_image(stored)
    assert (read.period_id, read.period_starts_on, read.open_holds, read.frozen_from, read.version) == (
        None,
        None,
        {},
        None,
        0,
    )
    assert read.balance.credited == 0 and read.balance.available == 500


class _Item(Model):
    class Meta:
        table_name = "mapping-test"

    key = UnicodeAttribute(hash_key=True)
    amount = NumberAttribute()


@dataclasses.dataclass(frozen=True)
class _Entity:
    key: str
    amount: int


def test_a_field_or_an_attribute_left_unmapped_is_refused_when_the_mapper_is_made() -> None:
    @dataclasses.dataclass(frozen=True)
    class Grown:
        key: str
        amount: int
        seats: int  # added to the entity, forgotten in the model

    with pytest.raises(MappingError, match="field 'seats' has no attribute"):
        Mapper(Grown, _Item)

    @dataclasses.dataclass(frozen=True)
    class Shrunk:
        key: str

    with pytest.raises(MappingError, match="attribute 'amount' is not mapped"):
        Mapper(Shrunk, _Item)
    assert Mapper(_Entity, _Item).to_entity(_Item(key="k", amount=5)) == _Entity("k", 5)


def test_derived_attributes_are_written_from_the_entity_and_never_read_back() -> None:
    listed = PROGRAMS.record(PROGRAM_ENTITY)
    assert (listed.record, listed.catalog_municipality, listed.catalog_key) == ("program", "elizovo", "technical#prg-1")
    draft = PROGRAMS.record(dataclasses.replace(PROGRAM_ENTITY, status=ProgramStatus.DRAFT))
    assert draft.catalog_municipality is None and draft.catalog_region is None  # out of the catalog's indexes
    queued = PROVIDERS.record(PROVIDER_ENTITY)
    assert (queued.queue, queued.queued_at) == ("elizovo#suspended", f"2026-11-01T00:00:00.000000Z#{PROVIDER}")
