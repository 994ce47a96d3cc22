"""The contract (договор об обучении): a child's certificate enrolled in a program, with its hold.

The hold reserves the monthly price for every month the program runs from the contract's start to the end of the
period; the provider charges each month once, at most the monthly price; cancelling releases what is still held.
"""

from __future__ import annotations

import enum
import hashlib
import re
from dataclasses import dataclass, field
from datetime import date

from chalicelib.domain import errors
from chalicelib.domain.certificate import age_on, require_certificate_number
from chalicelib.domain.ids import CertificateId, ContractId, PeriodId, ProviderId
from chalicelib.domain.movements import Charge
from chalicelib.domain.objection import ObjectionStatus
from chalicelib.domain.period import Month, Period

_CONTRACT_ID = re.compile(r"(\d{10})-([0-9a-f]{12})")


class ContractStatus(str, enum.Enum):
    REQUESTED = "requested"  # the parent enrolled; the provider has not accepted yet (money is held)
    ACTIVE = "active"  # accepted: the provider may charge
    DECLINED = "declined"  # the provider refused: hold and seat released
    EXPIRED = "expired"  # not accepted in time: hold and seat released
    CANCELLED = "cancelled"  # ended early by the parent or the provider: what was still held is released
    ENDED = "ended"  # its period ended: what was still held was released at the rollover


OPEN = (ContractStatus.REQUESTED, ContractStatus.ACTIVE)


def new_contract_id(certificate_id: str, request_key: str) -> ContractId:
    """The contract's id: the certificate's number and a digest of the enrolment request's idempotency key.

    A retried request (same key) gets the same id, so a crash between the write and the answer cannot create a
    second contract; and a charge finds the certificate from the contract id alone (no read before the write).
    """
    digest = hashlib.sha256(request_key.encode()).hexdigest()[:12]
    return ContractId(f"{require_certificate_number(certificate_id)}-{digest}")


def require_contract_id(text: str) -> ContractId:
    """A well-formed contract id; a malformed one is simply not found."""
    if not _CONTRACT_ID.fullmatch(text):
        raise errors.ContractNotFound()
    return ContractId(text)


def certificate_of(contract_id: str) -> CertificateId:
    """The certificate a contract belongs to; refuses a malformed id."""
    match = _CONTRACT_ID.fullmatch(contract_id)
    if not match:
        raise errors.ContractNotFound()
    return CertificateId(match.group(1))


@dataclass(frozen=True)
class Contract:
    """A contract between a child's certificate and a program, with its hold and its monthly charges (I5).

    ``hold_amount`` was held at enrolment (the monthly price times ``months``), ``remaining_hold`` is what is still
    held; ``charges`` is the kopecks charged per month (``YYYY-MM``); ``objections`` the status of the objection to a
    month's charge, ``reversals`` the kopecks of a month's charge an upheld objection reversed (the month stays
    charged: it is never charged again). ``funded``: the certificate paid (an accounting certificate takes free
    programs only).
    """

    contract_id: ContractId
    certificate_id: CertificateId
    guardian_sub: str
    provider_id: ProviderId
    program_id: str
    program_title: str
    period_id: PeriodId
    municipality: str
    status: ContractStatus
    price_per_month: int
    months: list[str]
    hold_amount: int
    remaining_hold: int
    funded: bool
    created_at: str
    respond_by: str
    charged_total: int = 0
    charges: dict[str, int] = field(default_factory=dict)
    objections: dict[str, ObjectionStatus] = field(default_factory=dict)
    reversals: dict[str, int] = field(default_factory=dict)
    accepted_at: str | None = None
    ended_at: str | None = None
    end_reason: str | None = None
    ended_by: str | None = None
    version: int = 0

    def months_to_charge(self, today: date) -> list[str]:
        """Months that have begun and are not charged yet (the provider's to-do); none unless active."""
        if self.status is not ContractStatus.ACTIVE:
            return []
        return months_to_charge(self.months, set(self.charges), today)


@dataclass(frozen=True)
class ContractFilters:
    """What a cabinet's list of contracts is narrowed to (None: any)."""

    status: str | None = None
    program_id: str | None = None
    month: str | None = None

    def validated(self) -> ContractFilters:
        if self.status is not None and self.status not in {s.value for s in ContractStatus}:
            raise errors.InvalidRequest("unknown status")
        if self.month is not None:
            Month.parse(self.month)
        return self

    @property
    def scope(self) -> str:
        """Names the listing these filters make (a cursor is valid only for the same)."""
        return f"Filters(status={self.status!r}, program_id={self.program_id!r}, month={self.month!r})"


@dataclass(frozen=True)
class EnrolmentTerms:
    """What the contract holds: the months left of the program from the start, at the monthly price."""

    starts_on: date
    months: tuple[str, ...]
    price_per_month: int

    @property
    def hold(self) -> int:
        return self.price_per_month * len(self.months)


def enrolment_terms(
    today: date,
    period: Period,
    program_months: list[str],
    price_per_month: int,
    age_min: int,
    age_max: int,
    birth: date,
) -> EnrolmentTerms:
    """The terms of a contract starting today (or at the program's first month, if later): the age must fit on
    the start, and at least one month of the program must be left in the period."""
    months = sorted(Month.parse(m) for m in program_months if period.contains(Month.parse(m).first_day))
    current = Month.of(today)
    left = [m for m in months if current <= m]
    if not left or today > period.ends_on:
        raise errors.ProgramNotCurrent("no month of the program is left in this period")
    starts_on = max(today, left[0].first_day)
    age = age_on(birth, starts_on)
    if not age_min <= age <= age_max:
        raise errors.AgeMismatch(f"the program is for ages {age_min}-{age_max}; the child is {age} at the start")
    return EnrolmentTerms(starts_on, tuple(str(m) for m in left), price_per_month)


def check_charge_request(month: Month, today: date, period: Period | None, amount: int) -> Period:
    """What can be told before the write: a positive amount, for a month that has begun, in the running period."""
    if amount <= 0:
        raise errors.InvalidRequest("amount must be a positive number of kopecks")
    if month.first_day > today:
        raise errors.MonthNotChargeable(f"{month} has not begun")
    if period is None or not period.contains(month.first_day) or today > period.ends_on:
        raise errors.MonthNotChargeable(f"the period of {month} is not running")
    return period


def charge_refusal(contract: Contract | None, charge: Charge) -> Exception:
    """Why DynamoDB refused ``charge``, given the contract as its condition saw it (I5), in the order a provider
    would want to hear it."""
    if contract is None or contract.provider_id != charge.provider_id:
        return errors.ContractNotFound()
    if contract.status is not ContractStatus.ACTIVE or contract.period_id != charge.period_id:
        return errors.NotActive(f"the contract is {contract.status.value}")
    if charge.month in contract.charges:
        return errors.MonthCharged()
    if charge.month not in contract.months:
        return errors.MonthNotChargeable(f"{charge.month} is not a month of this contract")
    if charge.amount > contract.price_per_month:
        return errors.OverPrice(f"at most the monthly price, {contract.price_per_month} kopecks")
    if charge.amount > contract.remaining_hold:
        return errors.OverHold()
    return errors.ConcurrentUpdate("the contract changed; retry")


def months_to_charge(contract_months: list[str], charged: set[str], today: date) -> list[str]:
    """Months that have begun and are not charged yet (the provider's to-do)."""
    current = Month.of(today)
    return [m for m in contract_months if m not in charged and Month.parse(m) <= current]
