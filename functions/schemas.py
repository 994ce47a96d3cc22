"""Request and response bodies at the HTTP edge (pydantic; strict JSON: money is an integer of kopecks).

A response body is built from the domain's entity it shows, read by attribute (``ProgramOut.of(program)``): a field
takes the entity's attribute of its name, or of its ``validation_alias`` where the API names it otherwise
(``CertificateOut.id`` is ``certificate_id``); what the API derives is a property of the entity (``free_seats``).
Where a view shows more than one entity holds (a contract's months to charge today), ``Seen`` adds it.
"""

from datetime import date
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from chalicelib.domain.money import MAX_AMOUNT_KOPECKS
from chalicelib.domain.period import PeriodState

Kopecks = Annotated[int, Field(ge=0, le=MAX_AMOUNT_KOPECKS)]


class Strict(BaseModel):
    """A request body: strict JSON, unknown fields refused."""

    # Validators are built on first use, not at import: a cold start pays only for the models its route uses.
    model_config = ConfigDict(strict=True, extra="forbid", defer_build=True)


class Out(BaseModel):
    """A response body, read from an entity's attributes."""

    model_config = ConfigDict(defer_build=True, from_attributes=True)

    @classmethod
    def of(cls, entity: Any) -> Self:
        return cls.model_validate(entity, from_attributes=True)

    @classmethod
    def build(cls, **values: Any) -> Self:
        """From values that may be entities themselves (a page of them, a summary): each read by attribute."""
        return cls.model_validate(values, from_attributes=True)


class Seen:
    """An entity's attributes and a few more (what a view shows besides it), for ``Out.of``."""

    __slots__ = ("_entity", "_more")

    def __init__(self, entity: object, **more: object) -> None:
        self._entity = entity
        self._more = more

    def __getattr__(self, name: str) -> Any:
        if name in self._more:
            return self._more[name]
        return getattr(self._entity, name)


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
    id: str = Field(validation_alias="certificate_id")
    status: str
    municipality: str
    period_id: str | None
    valid_until: date
    balance: BalanceOut


class ChildOut(Out):
    # A child as its certificate describes it, with the certificate itself.
    full_name: str
    birth_date: date
    municipality: str
    certificate: CertificateOut

    @model_validator(mode="before")
    @classmethod
    def _of_certificate(cls, data: Any) -> Any:
        return data if isinstance(data, dict | Seen) else Seen(data, certificate=data)


class ChildrenOut(Out):
    children: list[ChildOut]


class LedgerEntryOut(Out):
    key: str = Field(validation_alias="entry_key")
    kind: str
    period_id: str
    amount: int
    posted_at: str
    contract_id: str | None
    month: str | None
    reason: str | None


class LedgerOut(Out):
    entries: list[LedgerEntryOut]
    cursor: str | None


class PeriodQuotaOut(Out):
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


class PeriodOut(Out):
    # A period (its attributes) with its quotas and the progress of its top-up.
    period_id: str
    starts_on: date
    ends_on: date
    timezone: str
    starts_at_utc: str
    nominal: int
    age_nominals: list[AgeNominalIn]
    quotas: list[PeriodQuotaOut]
    topup: TopupOut

    @classmethod
    def of(cls, entity: Any) -> Self:
        state: PeriodState = entity
        return super().of(Seen(state.period, quotas=state.quotas, topup=state.topup))


class RatingOut(Out):
    average: float | None
    count: int
