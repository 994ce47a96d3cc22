"""Duplicate certificates: the merge transaction, the duplicate's open contracts, and the scan that gives
certificates issued before identities existed their identity item (the migration)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from chalicelib.domain import errors
from chalicelib.domain.certificate import CertificateStatus
from chalicelib.domain.contract import OPEN as OPEN_CONTRACT
from chalicelib.domain.duplicates import MergePlan
from chalicelib.storage import money
from chalicelib.storage.certificates import Certificate, IdentityHeld, _from_record, claim_identity
from chalicelib.storage.models import CertificateRecord, ContractRecord
from chalicelib.storage.transactions import Transaction


def open_contracts(certificate_id: str) -> list[str]:
    """The certificate's requested or active contracts: one Query on the contracts' by_certificate index."""
    K = ContractRecord
    return [
        record.contract_id
        for record in K.by_certificate.query(
            certificate_id, filter_condition=K.status.is_in(*(s.value for s in OPEN_CONTRACT))
        )
    ]


def commit_merge(plan: MergePlan, identities: list[str], survivor_municipality: str, now: datetime, actor: str) -> None:
    """One transaction: the duplicate closed, its money moved (storage.money.add_merge), its quota slot returned,
    and each identity of the two (their names may be spelt apart) naming the survivor from now on."""
    posting = money.Posting(now)
    tx = Transaction()
    money.add_merge(tx, plan, posting, actor)
    for identity in sorted(set(identities)):
        claim_identity(
            tx, identity, plan.survivor_id, survivor_municipality, posting.stamp, (plan.duplicate_id, plan.survivor_id)
        )
    try:
        tx.commit()
    except IdentityHeld as held:
        raise errors.MergeRefused(
            f"certificate {held.certificate_id} holds this child's identity as well: merge it first"
        ) from None


def living_certificates() -> Iterator[Certificate]:
    """Every certificate that is not closed (a Scan: the migration job's, never a request path)."""
    for record in CertificateRecord.scan(CertificateRecord.status != CertificateStatus.CLOSED.value):
        yield _from_record(record)
