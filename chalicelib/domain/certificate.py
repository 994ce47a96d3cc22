"""The certificate (сертификат дополнительного образования): a registry record issued once per child.

Its number is 10 digits: 9 issued at random and a Luhn check digit, so a mistyped number is caught before any
lookup. It is valid until the child's 18th birthday.
"""

from __future__ import annotations

import enum
import re
import secrets
from dataclasses import dataclass
from datetime import date

from chalicelib.domain import errors

MIN_AGE = 5
MAX_AGE = 18  # exclusive: the certificate ends on the 18th birthday

_NUMBER = re.compile(r"^[0-9]{10}$")


class CertificateStatus(str, enum.Enum):
    """Where a certificate stands."""

    ACCOUNTING = "accounting"  # сертификат учёта: records participation, carries no money
    FUNDED = "funded"  # сертификат персонифицированного финансирования: carries a balance
    FROZEN = "frozen"  # operator hold: nothing moves
    CLOSED = "closed"  # turned 18, moved away, or merged as a duplicate


def luhn_check_digit(digits: str) -> int:
    """The Luhn digit that makes ``digits + check`` pass the Luhn test."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char)
        if position % 2 == 0:  # every second digit from the right, counting the check digit's place as 0
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return (10 - total % 10) % 10


def new_certificate_number() -> str:
    """A fresh random number; uniqueness is enforced by the store (attribute_not_exists)."""
    body = f"{secrets.randbelow(9 * 10**8) + 10**8}"  # never starts with 0: safe in spreadsheets
    return body + str(luhn_check_digit(body))


def is_valid_certificate_number(number: str) -> bool:
    return bool(_NUMBER.match(number)) and luhn_check_digit(number[:9]) == int(number[9])


def require_certificate_number(number: str) -> str:
    if not is_valid_certificate_number(number):
        raise errors.InvalidRequest("certificate number must be 10 digits with a valid check digit")
    return number


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
