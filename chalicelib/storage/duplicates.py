"""Duplicate certificates: the merge transaction (the duplicate closed, its money moved, the child's identities
naming the survivor)."""

from __future__ import annotations

from datetime import datetime

from chalicelib.domain import errors
from chalicelib.domain.duplicates import Identity, MergePlan
from chalicelib.domain.ledger import Posting
from chalicelib.storage import movements
from chalicelib.storage.certificates import IdentityHeld, claim_identity
from chalicelib.storage.transactions import Transaction


def commit_merge(
    plan: MergePlan, *, identities: list[str], survivor_municipality: str, now: datetime, actor: str
) -> None:
    """One transaction: the duplicate closed, its money moved (storage.movements.add_merge), its quota slot
    returned, and each identity of the two (their names may be spelt apart) naming the survivor from now on."""
    posting = Posting(now)
    tx = Transaction()
    movements.add_merge(tx, plan, posting, actor)
    for identity in sorted(set(identities)):
        claimed = Identity(identity, plan.survivor_id, survivor_municipality, posting.stamp)
        claim_identity(tx, claimed, (plan.duplicate_id, plan.survivor_id))
    try:
        tx.commit()
    except IdentityHeld as held:
        raise errors.MergeRefused(
            f"certificate {held.certificate_id} holds this child's identity as well: merge it first"
        ) from None
