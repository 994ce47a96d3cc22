"""Duplicate children: one living certificate per child in the region, and the rules of merging two.

A child is identified by the full name and the birth date. Names are compared after normalisation — Unicode NFKC,
case folded, «ё» read as «е», every run of whitespace (and the hyphen's look-alikes) made one, ends stripped — so
"ИВАНОВА  Алёна" and "иванова алена" are the same child. The identity is a digest of region, birth date and that
name: the identity item never holds the name itself.
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass
from datetime import date

from chalicelib.domain import errors
from chalicelib.domain.actors import Principal, Role
from chalicelib.domain.certificate import Certificate, CertificateStatus
from chalicelib.domain.ids import CertificateId, PeriodId

# Dashes and hyphens that keyboards and phones produce for the one in a double-barrelled name.
_DASHES = dict.fromkeys(map(ord, "‐‑‒–—―−"), "-")


def normalise_for_identity(full_name: str) -> str:
    """The form two spellings of one name share (see the module's docstring)."""
    name = unicodedata.normalize("NFKC", full_name).casefold().replace("ё", "е").translate(_DASHES)
    return " ".join(name.split())


def child_identity(region: str, full_name: str, birth_date: date) -> str:
    """The identity key: a SHA-256 of region, birth date and normalised name (no name in the table or its keys)."""
    material = f"{region}\n{birth_date.isoformat()}\n{normalise_for_identity(full_name)}"
    return hashlib.sha256(material.encode()).hexdigest()


@dataclass(frozen=True)
class Identity:
    """One living certificate per child in the region: the child's ``identity`` (``child_identity``) names it. Holds
    no name: the digest, the certificate, its municipality (all a duplicate registration is told), and when."""

    identity: str
    certificate_id: CertificateId
    municipality: str
    registered_at: str


MERGEABLE = (CertificateStatus.ACCOUNTING, CertificateStatus.FUNDED)


def check_merge_allowed(actor: Principal, duplicate_municipality: str, survivor_municipality: str) -> None:
    """An operator of both certificates' municipalities (a regional operator covers every one)."""
    actor.require(Role.OPERATOR)
    if not (actor.operates_in(duplicate_municipality) and actor.operates_in(survivor_municipality)):
        raise errors.Forbidden("merging needs an operator of both certificates' municipalities")


def check_same_child(duplicate_birth: date, survivor_birth: date) -> None:
    """Two certificates of one child share a birth date: an operator may judge two spellings of a name to be one
    child, never two children born on different days (a merge closes a certificate and moves its money)."""
    if duplicate_birth != survivor_birth:
        raise errors.MergeRefused("the certificates are of children born on different days: not duplicates")


def check_mergeable(duplicate: Certificate, survivor: Certificate) -> None:
    """Both certificates live and neither frozen; money moves only into a funded certificate."""
    if duplicate.certificate_id == survivor.certificate_id:
        raise errors.MergeRefused("a certificate cannot be merged into itself")
    for name, status in (("duplicate", duplicate.status), ("surviving certificate", survivor.status)):
        if status not in MERGEABLE:
            raise errors.MergeRefused(f"the {name} is {status.value}: only accounting or funded certificates merge")
    if duplicate.balance.available > 0 and survivor.status is not CertificateStatus.FUNDED:
        raise errors.MergeRefused(
            "the duplicate carries money and the surviving certificate is not funded: merge the other way round"
        )


@dataclass(frozen=True)
class MergePlan:
    """Closing ``duplicate`` into ``survivor``, from a read of both (the duplicate's version pins the read).

    ``amount`` is the duplicate's available money in ``period_id`` (the running period of both), moved with a
    transfer pair; ``returns_quota_slot`` when the duplicate was funded: it no longer counts against the quota (I7).
    """

    duplicate_id: CertificateId
    duplicate_version: int
    duplicate_status: CertificateStatus
    duplicate_municipality: str
    survivor_id: CertificateId
    survivor_status: CertificateStatus
    period_id: PeriodId | None
    amount: int

    @property
    def returns_quota_slot(self) -> bool:
        return self.duplicate_status is CertificateStatus.FUNDED and self.period_id is not None


def plan_merge(duplicate: Certificate, survivor: Certificate) -> MergePlan:
    """What merging ``duplicate`` into ``survivor`` (both as read, in their current period) moves; refuses what it
    must not (held money, periods apart, a frozen or closed side)."""
    check_mergeable(duplicate, survivor)
    if duplicate.balance.held:
        raise errors.MergeRefused("the duplicate still holds money for a contract: end its contracts first")
    funded = duplicate.status is CertificateStatus.FUNDED
    if funded and duplicate.balance.available and survivor.period_id != duplicate.period_id:
        raise errors.MergeRefused("the two certificates are in different periods; read them again")
    return MergePlan(
        duplicate_id=duplicate.certificate_id,
        duplicate_version=duplicate.version,
        duplicate_status=duplicate.status,
        duplicate_municipality=duplicate.municipality,
        survivor_id=survivor.certificate_id,
        survivor_status=survivor.status,
        period_id=duplicate.period_id if funded else None,
        amount=duplicate.balance.available if funded else 0,
    )
