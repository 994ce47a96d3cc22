"""Certificates: issuing (with the child's identity), reading, listing a guardian's children, freezing; the mappers
of certificates and identities. Money changes live in storage.movements."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from pynamodb.exceptions import DoesNotExist, UpdateError

from chalicelib.domain import errors
from chalicelib.domain.certificate import Balance, Certificate, CertificateStatus, new_certificate_number
from chalicelib.domain.duplicates import Identity
from chalicelib.domain.ids import CertificateId
from chalicelib.storage.mapping import ISO_DATE, Mapper, Spread, enum_of, map_of
from chalicelib.storage.models import CertificateRecord, IdentityRecord
from chalicelib.storage.retry import Backoff, retry
from chalicelib.storage.transactions import Transaction, fail_with

CERTIFICATES = Mapper(
    Certificate,
    CertificateRecord,
    convert={
        "status": enum_of(CertificateStatus),
        "frozen_from": enum_of(CertificateStatus),
        "birth_date": ISO_DATE,
        "valid_until": ISO_DATE,
        "period_starts_on": ISO_DATE,
        "open_holds": map_of(),
    },
    spread={"balance": Spread(Balance, {name: name for name in ("credited", "available", "held", "spent", "expired")})},
)
IDENTITIES = Mapper(Identity, IdentityRecord)

# A drawn number that is taken, or an identity found held by a closed certificate, is tried again at once.
ISSUE_BACKOFF = Backoff(5, base=0.0)


class _NumberTaken(errors.ConcurrentUpdate):
    """The random certificate number is taken: draw another."""


class _IdentityFreed(errors.ConcurrentUpdate):
    """The child's identity names a closed certificate: take it over."""


class IdentityHeld(errors.DomainError):
    """The child's identity item names another certificate."""

    def __init__(self, certificate_id: str, municipality: str) -> None:
        super().__init__("the child already holds a certificate")
        self.certificate_id = certificate_id
        self.municipality = municipality


def _identity_held(image: dict[str, Any] | None) -> Exception:
    if image is None:  # deleted between the condition and its explanation: the next attempt claims it
        return errors.ConcurrentUpdate("the child's registration changed; retry")
    held = IDENTITIES.from_image(image)
    return IdentityHeld(held.certificate_id, held.municipality)


def claim_identity(tx: Transaction, identity: Identity, taken_over: tuple[str, ...] = ()) -> None:
    """The child's identity names its certificate: written only if it is new or names one of ``taken_over`` (a
    closed certificate, or both sides of a merge); otherwise the transaction fails with who holds it."""
    ID = IdentityRecord
    free = ID.identity.does_not_exist()
    if taken_over:
        free = free | ID.certificate_id.is_in(*taken_over)
    tx.update(
        ID(identity=identity.identity),
        [
            ID.certificate_id.set(identity.certificate_id),
            ID.municipality.set(identity.municipality),
            ID.registered_at.set(identity.registered_at),
        ],
        free,
        _identity_held,
        want_old_image=True,
    )


def issue(certificate: Certificate, identity: str) -> Certificate:
    """Writes a new certificate under its number (drawing another on the rare collision), claiming the child's
    identity in the same transaction: two registrations of one child, however close, make one certificate.

    Raises ``DuplicateChild`` (naming only the municipality) while the identity names a living certificate; the
    identity of a closed one is taken over.
    """
    closed: tuple[str, ...] = ()

    def attempt(n: int) -> Certificate:
        nonlocal closed
        drawn = certificate if n == 0 else replace(certificate, certificate_id=new_certificate_number())
        tx = Transaction()
        tx.put(CERTIFICATES.record(drawn), CertificateRecord.certificate_id.does_not_exist(), fail_with(_NumberTaken()))
        claim_identity(tx, Identity(identity, drawn.certificate_id, drawn.municipality, drawn.issued_at), closed)
        try:
            tx.commit()
        except IdentityHeld as held:
            if held.certificate_id in closed or not _is_closed(held.certificate_id):
                raise errors.DuplicateChild(held.municipality) from None
            closed = (held.certificate_id,)  # a closed certificate frees the identity: take it over
            raise _IdentityFreed() from None
        return drawn

    return retry(
        attempt,
        ISSUE_BACKOFF,
        on=(_NumberTaken, _IdentityFreed),
        gave_up="could not allocate a certificate number; retry",
    )


def _is_closed(certificate_id: str) -> bool:
    try:
        return CertificateRecord.get(certificate_id, consistent_read=True).status == CertificateStatus.CLOSED.value
    except DoesNotExist:
        return True  # an identity naming no certificate is free as well


def identity_holder(identity: str) -> CertificateId | None:
    """The certificate an identity names (None when the identity is free)."""
    try:
        return IDENTITIES.to_entity(IdentityRecord.get(identity, consistent_read=True)).certificate_id
    except DoesNotExist:
        return None


def backfill_identity(identity: str, certificate: Certificate, at: str) -> str | None:
    """Claims the identity of a certificate issued before identities existed; returns the certificate that holds
    it when another one does (a duplicate for an operator to merge), None when it is this one's now."""
    tx = Transaction()
    own = certificate.certificate_id
    claim_identity(tx, Identity(identity, own, certificate.municipality, at), (own,))
    try:
        tx.commit()
    except IdentityHeld as held:
        return held.certificate_id
    return None


def get(certificate_id: str, *, consistent: bool = True) -> Certificate:
    """One GetItem."""
    try:
        return CERTIFICATES.to_entity(CertificateRecord.get(certificate_id, consistent_read=consistent))
    except DoesNotExist:
        raise errors.CertificateNotFound() from None


def of_guardian(guardian_sub: str, limit: int = 100) -> list[Certificate]:
    """The guardian's children, one Query on the by_guardian index."""
    return [CERTIFICATES.to_entity(r) for r in CertificateRecord.by_guardian.query(guardian_sub, limit=limit)]


def scan_funded_outside(
    period_id: str, segment: int, total_segments: int, start: dict[str, Any] | None, page_size: int
) -> tuple[list[Certificate], dict[str, Any] | None]:
    """One page of one parallel-scan segment: funded certificates not yet in ``period_id`` (the top-up's work).

    A job's Scan, never a request path. Strongly consistent, so plans start from fresh versions.
    """
    page = CertificateRecord._get_connection().scan(
        filter_condition=(CertificateRecord.status == CertificateStatus.FUNDED.value)
        & (CertificateRecord.period_id.does_not_exist() | (CertificateRecord.period_id != period_id)),
        segment=segment,
        total_segments=total_segments,
        limit=page_size,
        exclusive_start_key=start,  # type: ignore[arg-type]  # PynamoDB takes a raw key map too
        consistent_read=True,
    )
    found = [CERTIFICATES.from_image(item) for item in page.get("Items", [])]
    return found, page.get("LastEvaluatedKey")


def living() -> Iterator[Certificate]:
    """Every certificate that is not closed (a Scan: a migration job's, never a request path)."""
    for record in CertificateRecord.scan(CertificateRecord.status != CertificateStatus.CLOSED.value):
        yield CERTIFICATES.to_entity(record)


def freeze(certificate_id: str, reason: str) -> None:
    """An operator hold: nothing moves until it is lifted (every money condition requires ``funded``)."""
    C = CertificateRecord
    try:
        C(certificate_id=certificate_id).update(
            actions=[
                C.frozen_from.set(C.status),
                C.status.set(CertificateStatus.FROZEN.value),
                C.frozen_reason.set(reason),
                C.version.add(1),
            ],
            condition=C.status.is_in(CertificateStatus.ACCOUNTING.value, CertificateStatus.FUNDED.value),
        )
    except UpdateError as failure:
        if failure.cause_response_code == "ConditionalCheckFailedException":
            raise errors.InvalidTransition("only an accounting or funded certificate can be frozen") from None
        raise


def unfreeze(certificate_id: str) -> None:
    C = CertificateRecord
    try:
        C(certificate_id=certificate_id).update(
            actions=[C.status.set(C.frozen_from), C.frozen_from.remove(), C.frozen_reason.remove(), C.version.add(1)],
            condition=(C.status == CertificateStatus.FROZEN.value) & C.frozen_from.exists(),
        )
    except UpdateError as failure:
        if failure.cause_response_code == "ConditionalCheckFailedException":
            raise errors.InvalidTransition("the certificate is not frozen") from None
        raise


def all_ids() -> Iterator[str]:
    """Every certificate number (a Scan of keys only: an operator's job, never a request path)."""
    for record in CertificateRecord.scan(attributes_to_get=["certificate_id"]):
        yield record.certificate_id
