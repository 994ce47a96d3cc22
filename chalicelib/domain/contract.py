"""The contract (договор об обучении): a child's certificate enrolled in a program, with its hold.

The hold reserves the monthly price for every month the program runs from the contract's start to the end of the
period; the provider charges each month once, at most the monthly price; cancelling releases what is still held.
"""

from __future__ import annotations

import enum
import hashlib
import re
from dataclasses import dataclass
from datetime import date

from chalicelib.domain import errors
from chalicelib.domain.certificate import age_on, require_certificate_number
from chalicelib.domain.period import Month, Period

_CONTRACT_ID = re.compile(r"^(\d{10})-([0-9a-f]{12})$")


class ContractStatus(str, enum.Enum):
    REQUESTED = "requested"  # the parent enrolled; the provider has not accepted yet (money is held)
    ACTIVE = "active"  # accepted: the provider may charge
    DECLINED = "declined"  # the provider refused: hold and seat released
    EXPIRED = "expired"  # not accepted in time: hold and seat released
    CANCELLED = "cancelled"  # ended early by the parent or the provider: what was still held is released
    ENDED = "ended"  # its period ended: what was still held was released at the rollover


OPEN = (ContractStatus.REQUESTED, ContractStatus.ACTIVE)


def new_contract_id(certificate_id: str, request_key: str) -> str:
    """The contract's id: the certificate's number and a digest of the enrolment request's idempotency key.

    A retried request (same key) gets the same id, so a crash between the write and the answer cannot create a
    second contract; and a charge finds the certificate from the contract id alone (no read before the write).
    """
    digest = hashlib.sha256(request_key.encode()).hexdigest()[:12]
    return f"{require_certificate_number(certificate_id)}-{digest}"


def certificate_of(contract_id: str) -> str:
    """The certificate a contract belongs to; refuses a malformed id."""
    match = _CONTRACT_ID.match(contract_id)
    if not match:
        raise errors.ContractNotFound()
    return match.group(1)


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


@dataclass(frozen=True)
class ContractState:
    """A contract as its charge condition saw it (from the transaction's old image)."""

    status: ContractStatus
    provider_id: str
    period_id: str
    months: list[str]
    charged_months: set[str]
    price_per_month: int
    remaining_hold: int


def charge_refusal(
    contract: ContractState | None, provider_id: str, period_id: str, month: str, amount: int
) -> Exception:
    """Why DynamoDB refused a charge, in the order a provider would want to hear it (I5)."""
    if contract is None or contract.provider_id != provider_id:
        return errors.ContractNotFound()
    if contract.status is not ContractStatus.ACTIVE or contract.period_id != period_id:
        return errors.NotActive(f"the contract is {contract.status.value}")
    if month in contract.charged_months:
        return errors.MonthCharged()
    if month not in contract.months:
        return errors.MonthNotChargeable(f"{month} is not a month of this contract")
    if amount > contract.price_per_month:
        return errors.OverPrice(f"at most the monthly price, {contract.price_per_month} kopecks")
    if amount > contract.remaining_hold:
        return errors.OverHold()
    return errors.ConcurrentUpdate("the contract changed; retry")


def months_to_charge(contract_months: list[str], charged: set[str], today: date) -> list[str]:
    """Months that have begun and are not charged yet (the provider's to-do)."""
    current = Month.of(today)
    return [m for m in contract_months if m not in charged and Month.parse(m) <= current]
