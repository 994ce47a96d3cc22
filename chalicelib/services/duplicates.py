"""Duplicate children: an operator merges two certificates of one child; a migration gives older certificates their
identity item.

Registration itself refuses a duplicate (services.certificates.register_child: the identity item is claimed in the
certificate's own transaction). Duplicates can still exist: certificates issued before identities existed, or one
child registered under two spellings that normalise apart ("Мария" and "Марья"). An operator merges them:

- the operator works for both municipalities (or the whole region);
- the two children were born on the same day (two spellings may be one child; two birth dates are two children);
- both are accounting or funded (not frozen, not closed), and the duplicate has no open contract (end them first:
  the simplest rule that never strands a hold or a seat);
- the duplicate is closed; its available money of the running period moves to the survivor (a ``transfer_out`` and a
  ``transfer_in`` entry, one transaction), which must then be funded in that period; a funded duplicate gives its
  quota slot back;
- every identity of the two names the survivor afterwards, so neither spelling registers the child again.
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.domain import errors
from chalicelib.domain.actors import Principal, Role
from chalicelib.domain.certificate import Certificate, CertificateStatus, require_certificate_number
from chalicelib.domain.duplicates import check_merge_allowed, check_same_child, child_identity, plan_merge
from chalicelib.domain.ids import CertificateId
from chalicelib.domain.ledger import utc_stamp
from chalicelib.services.certificates import ensure_current
from chalicelib.services.context import Context
from chalicelib.storage import certificates as certificate_store
from chalicelib.storage import contracts as contract_store
from chalicelib.storage import duplicates as store
from chalicelib.storage.retry import Backoff, retry

MERGE_BACKOFF = Backoff(5)


@dataclass(frozen=True)
class Merge:
    """The closed duplicate and the surviving certificate, as written; ``moved`` kopecks went from one to the other."""

    duplicate: Certificate
    survivor: Certificate
    moved: int


def merge(ctx: Context, actor: Principal, duplicate_id: str, survivor_id: str) -> Merge:
    """Closes ``duplicate_id`` into ``survivor_id`` (see the module's rules). Merging again answers the same."""
    # Only operators merge: refused before any read, so that others learn nothing of which numbers are issued.
    actor.require(Role.OPERATOR)
    require_certificate_number(duplicate_id)
    require_certificate_number(survivor_id)

    def attempt(_n: int) -> Merge:
        duplicate = certificate_store.get(duplicate_id)
        survivor = certificate_store.get(survivor_id)
        check_merge_allowed(actor, duplicate.municipality, survivor.municipality)
        if duplicate.status is CertificateStatus.CLOSED and duplicate.merged_into == survivor_id:
            return Merge(duplicate, survivor, 0)  # a repeated request: already done
        check_same_child(duplicate.birth_date, survivor.birth_date)
        duplicate, survivor = ensure_current(ctx, duplicate), ensure_current(ctx, survivor)
        if contract_store.open_of_certificate(duplicate_id):
            raise errors.MergeRefused("the duplicate has open contracts: cancel them (or let them end) first")
        plan = plan_merge(duplicate, survivor)
        region = ctx.settings.region_code
        identities = [
            child_identity(region, duplicate.full_name, duplicate.birth_date),
            child_identity(region, survivor.full_name, survivor.birth_date),
        ]
        store.commit_merge(
            plan, identities=identities, survivor_municipality=survivor.municipality, now=ctx.now(), actor=actor.sub
        )
        return Merge(certificate_store.get(duplicate_id), certificate_store.get(survivor_id), plan.amount)

    return retry(attempt, MERGE_BACKOFF, on=errors.ConcurrentUpdate, gave_up="the certificates kept changing; retry")


@dataclass(frozen=True)
class Backfill:
    """What the migration did: identities claimed, and the certificates another one already holds the identity of
    (duplicates to merge), as (certificate, holder) pairs."""

    claimed: int
    duplicates: list[tuple[CertificateId, str]]


def backfill_identities(ctx: Context) -> Backfill:
    """Gives every living certificate issued before identities existed its identity item (safe to run again: a
    certificate that holds its identity already counts as claimed). A job, for the operators' console."""
    claimed, duplicates = 0, []
    stamp = utc_stamp(ctx.now())
    for certificate in certificate_store.living():
        identity = child_identity(ctx.settings.region_code, certificate.full_name, certificate.birth_date)
        holder = certificate_store.backfill_identity(identity, certificate, stamp)
        if holder is None:
            claimed += 1
        else:
            duplicates.append((certificate.certificate_id, holder))
    return Backfill(claimed, duplicates)
