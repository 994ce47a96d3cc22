"""Providers (поставщики образовательных услуг) and their entry in the registry (реестр поставщиков).

A provider is identified by its ИНН. Organisations have a 10-digit ИНН and a 13-digit ОГРН; individual
entrepreneurs a 12-digit ИНН and a 15-digit ОГРНИП. Both numbers carry check digits, verified here.
"""

from __future__ import annotations

import enum
import re

from chalicelib.domain import errors

_INN10 = (2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN11 = (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN12 = (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)


class ProviderKind(str, enum.Enum):
    ORGANIZATION = "organization"  # юридическое лицо (municipal or private)
    ENTREPRENEUR = "entrepreneur"  # индивидуальный предприниматель


class ProviderStatus(str, enum.Enum):
    APPLIED = "applied"
    APPROVED = "approved"
    REJECTED = "rejected"
    SUSPENDED = "suspended"


def _check(digits: str, weights: tuple[int, ...]) -> int:
    return sum(int(d) * w for d, w in zip(digits, weights, strict=False)) % 11 % 10


def is_valid_inn(inn: str, kind: ProviderKind) -> bool:
    """ИНН: 10 digits for an organisation (one check digit), 12 for an entrepreneur (two)."""
    if kind is ProviderKind.ORGANIZATION:
        return bool(re.fullmatch(r"\d{10}", inn)) and _check(inn[:9], _INN10) == int(inn[9])
    return (
        bool(re.fullmatch(r"\d{12}", inn))
        and _check(inn[:10], _INN11) == int(inn[10])
        and _check(inn[:11], _INN12) == int(inn[11])
    )


def is_valid_ogrn(ogrn: str, kind: ProviderKind) -> bool:
    """ОГРН: 13 digits, the last is (first 12 mod 11) mod 10; ОГРНИП: 15 digits, (first 14 mod 13) mod 10."""
    if kind is ProviderKind.ORGANIZATION:
        return bool(re.fullmatch(r"\d{13}", ogrn)) and int(ogrn[:12]) % 11 % 10 == int(ogrn[12])
    return bool(re.fullmatch(r"\d{15}", ogrn)) and int(ogrn[:14]) % 13 % 10 == int(ogrn[14])


def check_registration_numbers(inn: str, ogrn: str, kind: ProviderKind) -> None:
    if not is_valid_inn(inn, kind):
        raise errors.InvalidRequest(
            "inn must be 10 digits for an organisation or 12 for an entrepreneur, with valid check digits"
        )
    if not is_valid_ogrn(ogrn, kind):
        raise errors.InvalidRequest(
            "ogrn must be a 13-digit ОГРН (organisation) or 15-digit ОГРНИП (entrepreneur) with a valid check digit"
        )


# Who moves a provider from where to where: (from, to) pairs an operator may decide.
TRANSITIONS: dict[ProviderStatus, frozenset[ProviderStatus]] = {
    ProviderStatus.APPLIED: frozenset({ProviderStatus.APPROVED, ProviderStatus.REJECTED}),
    ProviderStatus.APPROVED: frozenset({ProviderStatus.SUSPENDED}),
    ProviderStatus.SUSPENDED: frozenset({ProviderStatus.APPROVED}),
    ProviderStatus.REJECTED: frozenset(),
}


def check_transition(current: ProviderStatus, target: ProviderStatus) -> None:
    if target not in TRANSITIONS[current]:
        raise errors.InvalidTransition(f"a provider that is {current.value} cannot become {target.value}")
