"""Request and response bodies at the HTTP edge (pydantic; strict JSON: money is an integer of kopecks)."""

from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.domain.ledger import LedgerEntry
from chalicelib.domain.money import MAX_AMOUNT_KOPECKS
from chalicelib.services.periods import TopupProgress, progress
from chalicelib.storage.certificates import Certificate
from chalicelib.storage.periods import PeriodState

Kopecks = Annotated[int, Field(ge=0, le=MAX_AMOUNT_KOPECKS)]


class Strict(BaseModel):
    """A request body: strict JSON, unknown fields refused."""

    # Validators are built on first use, not at import: a cold start pays only for the models its route uses.
    model_config = ConfigDict(strict=True, extra="forbid", defer_build=True)


class Out(BaseModel):
    """A response body."""

    model_config = ConfigDict(defer_build=True)


class AgeNominalIn(Strict):
    age_min: Annotated[int, Field(ge=0, le=17)]
    age_max: Annotated[int, Field(ge=0, le=17)]
    nominal: Annotated[int, Field(gt=0, le=MAX_AMOUNT_KOPECKS)]


class OpenPeriodIn(Strict):
    period_id: Annotated[str, Field(min_length=1, max_length=32)]
    starts_on: date
    ends_on: date
    nominal: Annotated[int, Field(gt=0, le=MAX_AMOUNT_KOPECKS)]
    quotas: Annotated[dict[str, Annotated[int, Field(ge=0, le=10_000_000)]], Field(min_length=1, max_length=70)]
    age_nominals: Annotated[list[AgeNominalIn], Field(max_length=18)] = []


class ChildIn(Strict):
    full_name: Annotated[str, Field(min_length=1, max_length=200)]
    birth_date: date
    municipality: Annotated[str, Field(min_length=2, max_length=48)]


class BalanceOut(Out):
    credited: int
    available: int
    held: int
    spent: int
    expired: int


class CertificateOut(Out):
    id: str
    status: str
    municipality: str
    period_id: str | None
    valid_until: date
    balance: BalanceOut

    @classmethod
    def of(cls, certificate: Certificate) -> "CertificateOut":
        b = certificate.balance
        return cls(
            id=certificate.certificate_id,
            status=certificate.status.value,
            municipality=certificate.municipality,
            period_id=certificate.period_id,
            valid_until=certificate.valid_until,
            balance=BalanceOut(
                credited=b.credited, available=b.available, held=b.held, spent=b.spent, expired=b.expired
            ),
        )


class ChildOut(Out):
    full_name: str
    birth_date: date
    municipality: str
    certificate: CertificateOut

    @classmethod
    def of(cls, certificate: Certificate) -> "ChildOut":
        return cls(
            full_name=certificate.full_name,
            birth_date=certificate.birth_date,
            municipality=certificate.municipality,
            certificate=CertificateOut.of(certificate),
        )


class ChildrenOut(Out):
    children: list[ChildOut]


class LedgerEntryOut(Out):
    key: str
    kind: str
    period_id: str
    amount: int
    posted_at: str
    contract_id: str | None
    month: str | None
    reason: str | None

    @classmethod
    def of(cls, entry: LedgerEntry) -> "LedgerEntryOut":
        return cls(
            key=entry.entry_key,
            kind=entry.kind.value,
            period_id=entry.period_id,
            amount=entry.amount,
            posted_at=entry.posted.split("#", 1)[0],
            contract_id=entry.contract_id,
            month=entry.month,
            reason=entry.reason,
        )


class LedgerOut(Out):
    entries: list[LedgerEntryOut]
    cursor: str | None


class QuotaOut(Out):
    municipality: str
    quota: int
    funded: int
    remaining: int


class TopupOut(Out):
    status: str
    segments: int
    segments_done: int
    certificates_credited: int
    certificates_over_quota: int
    certificates_aged_out: int
    rolled_on_touch: int
    credited_kopecks: int
    expired_kopecks: int
    released_kopecks: int

    @classmethod
    def of(cls, topup: TopupProgress) -> "TopupOut":
        return cls(**topup.__dict__)


class PeriodOut(Out):
    period_id: str
    starts_on: date
    ends_on: date
    timezone: str
    starts_at_utc: str
    nominal: int
    age_nominals: list[AgeNominalIn]
    quotas: list[QuotaOut]
    topup: TopupOut

    @classmethod
    def of(cls, state: PeriodState) -> "PeriodOut":
        p = state.period
        return cls(
            period_id=p.period_id,
            starts_on=p.starts_on,
            ends_on=p.ends_on,
            timezone=p.timezone,
            starts_at_utc=p.start_instant().strftime("%Y-%m-%dT%H:%M:%SZ"),
            nominal=p.nominal,
            age_nominals=[
                AgeNominalIn(age_min=b.age_min, age_max=b.age_max, nominal=b.nominal) for b in p.age_nominals
            ],
            quotas=[QuotaOut(**q.__dict__) for q in sorted(state.quotas, key=lambda q: q.municipality)],
            topup=TopupOut.of(progress(state)),
        )
