"""The certificate (сертификат дополнительного образования): a registry record issued once per child.

Its number is 10 digits: 9 issued at random (never starting with 0: safe in spreadsheets) and a check digit, so a
mistyped number is caught before any lookup. It is valid until the child's 18th birthday.

The check digit is Damm's (``damm_check_digit``): its table is a quasigroup of order 10 with zeros on the diagonal
and weakly totally anti-symmetric, so it catches every single-digit error and every transposition of two adjacent
digits, in any position (tests/unit/test_certificate_number.py proves it over every state, position and pair of
digits). Numbers issued before it carry a Luhn check digit, which misses the transposition 09 <-> 90.

Numbers already issued stay valid; they are not migrated. Families hold them printed, and a certificate's number is
its key everywhere (the ledger's partitions, contract and objection ids embed it), so renumbering would break both.
Nothing in a number tells which scheme issued it (every leading digit was used by both), so no rule can tell the two
apart without a read. The read that follows every use of a number settles it instead: ``is_certificate_number``
accepts a Damm or a Luhn check digit, and a number that has only a Luhn digit and names a certificate was issued
under Luhn (every number issued now has a Damm digit). What this costs: a mistyped new number passes the check only
when the mistake happens to leave a valid Luhn digit (1 time in 10), and then finds a certificate only if that very
number was issued under Luhn; before, a 09 <-> 90 swap always passed. ``has_check_digit`` is the current scheme alone
(what issuing guarantees). The Luhn branch can go once the last Luhn certificate has closed (its child turned 18).
"""

from __future__ import annotations

import enum
import re
import secrets
from dataclasses import dataclass, field
from datetime import date

from chalicelib.domain import errors
from chalicelib.domain.ids import CertificateId, PeriodId

MIN_AGE = 5
MAX_AGE = 18  # exclusive: the certificate ends on the 18th birthday

_NUMBER = re.compile(r"[0-9]{10}")


class CertificateStatus(str, enum.Enum):
    """Where a certificate stands."""

    ACCOUNTING = "accounting"  # сертификат учёта: records participation, carries no money
    FUNDED = "funded"  # сертификат персонифицированного финансирования: carries a balance
    FROZEN = "frozen"  # operator hold: nothing moves
    CLOSED = "closed"  # turned 18, moved away, or merged as a duplicate


# Damm's table: a quasigroup of order 10, zeros on the diagonal, weakly totally anti-symmetric
# ((c*x)*y == (c*y)*x only if x == y). Row: the state so far; column: the next digit.
DAMM_TABLE: tuple[tuple[int, ...], ...] = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)


def damm_state(digits: str) -> int:
    """The state after reading ``digits`` through the table (0 for a number with a valid check digit)."""
    state = 0
    for char in digits:
        state = DAMM_TABLE[state][int(char)]
    return state


def damm_check_digit(body: str) -> int:
    """The digit that brings ``body``'s state back to 0 (the diagonal is all zeros: it is the state itself)."""
    return damm_state(body)


def luhn_check_digit(digits: str) -> int:
    """The Luhn digit that makes ``digits + check`` pass the Luhn test (the scheme of numbers issued before Damm's)."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char)
        if position % 2 == 0:  # every second digit from the right, counting the check digit's place as 0
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return (10 - total % 10) % 10


def new_certificate_number() -> CertificateId:
    """A fresh random number with a Damm check digit; uniqueness is enforced by the store (attribute_not_exists)."""
    body = f"{secrets.randbelow(9 * 10**8) + 10**8}"  # never starts with 0: safe in spreadsheets
    return CertificateId(body + str(damm_check_digit(body)))


def has_check_digit(number: str) -> bool:
    """10 digits ending in the Damm check digit: what every number issued now is."""
    return bool(_NUMBER.fullmatch(number)) and damm_state(number) == 0


def has_legacy_check_digit(number: str) -> bool:
    """10 digits ending in a Luhn check digit: the numbers issued before Damm's (see the module's docstring)."""
    return bool(_NUMBER.fullmatch(number)) and luhn_check_digit(number[:9]) == int(number[9])


def is_certificate_number(number: str) -> bool:
    """A number this registry may have issued, under either scheme; the read that follows tells whether it did."""
    return has_check_digit(number) or has_legacy_check_digit(number)


def require_certificate_number(number: str) -> CertificateId:
    if not is_certificate_number(number):
        raise errors.InvalidRequest("certificate number must be 10 digits with a valid check digit")
    return CertificateId(number)


def birthday_in_year(birth_date: date, year: int) -> date:
    """The birthday in ``year``; 29 February falls on 1 March in common years."""
    try:
        return birth_date.replace(year=year)
    except ValueError:
        return date(year, 3, 1)


def valid_until(birth_date: date) -> date:
    """The 18th birthday: the certificate's last day is the day before it."""
    return birthday_in_year(birth_date, birth_date.year + MAX_AGE)


def age_on(birth_date: date, day: date) -> int:
    """Full years of age on ``day``."""
    years = day.year - birth_date.year
    return years - 1 if day < birthday_in_year(birth_date, day.year) else years


def check_registrable(birth_date: date, today: date) -> None:
    """A certificate is issued to children of 5 up to (not including) 18 years."""
    if birth_date > today:
        raise errors.InvalidRequest("birth_date is in the future")
    age = age_on(birth_date, today)
    if not MIN_AGE <= age < MAX_AGE:
        raise errors.NotEligible(f"a certificate is issued to children aged {MIN_AGE} to 17; the child is {age}")


@dataclass(frozen=True)
class Balance:
    """A certificate's money in its current period, in kopecks.

    Conservation (I2): ``credited == available + held + spent + expired``.
    """

    credited: int = 0
    available: int = 0
    held: int = 0
    spent: int = 0
    expired: int = 0

    @property
    def conserved(self) -> bool:
        return self.credited == self.available + self.held + self.spent + self.expired

    @property
    def non_negative(self) -> bool:
        return min(self.credited, self.available, self.held, self.spent, self.expired) >= 0


def refuse_money_movement(status: CertificateStatus) -> None:
    """Raises the domain error for a status that carries no movable money."""
    if status is CertificateStatus.FROZEN:
        raise errors.CertificateFrozen()
    if status is CertificateStatus.CLOSED:
        raise errors.CertificateClosed()
    if status is CertificateStatus.ACCOUNTING:
        raise errors.NotFunded()


@dataclass(frozen=True)
class Certificate:
    """A child's certificate: the child it is issued to, its status, and its money in its current period.

    ``balance`` is a cache of the ledger (I3) for ``period_id``; ``open_holds`` is what each open contract still
    holds of it; ``version`` is bumped by every change of money or status (the optimistic check of plans made from a
    read). While frozen, ``frozen_from`` is the status to return to. Closed as a duplicate, ``merged_into`` names the
    certificate its money and identity went to. ``expiry_notice_period`` marks the period whose coming expiry the
    guardian was told of.
    """

    certificate_id: CertificateId
    status: CertificateStatus
    guardian_sub: str
    municipality: str
    full_name: str
    birth_date: date
    valid_until: date
    issued_at: str
    period_id: PeriodId | None = None
    period_starts_on: date | None = None
    balance: Balance = field(default_factory=Balance)
    open_holds: dict[str, int] = field(default_factory=dict)
    version: int = 0
    frozen_from: CertificateStatus | None = None
    frozen_reason: str | None = None
    merged_into: CertificateId | None = None
    closed_at: str | None = None
    expiry_notice_period: PeriodId | None = None


def issue_certificate(
    number: CertificateId, guardian_sub: str, municipality: str, full_name: str, birth_date: date, issued_at: str
) -> Certificate:
    """A new accounting certificate: it carries no money until funded, and ends on the 18th birthday."""
    return Certificate(
        certificate_id=number,
        status=CertificateStatus.ACCOUNTING,
        guardian_sub=guardian_sub,
        municipality=municipality,
        full_name=full_name,
        birth_date=birth_date,
        valid_until=valid_until(birth_date),
        issued_at=issued_at,
    )
