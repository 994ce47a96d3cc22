"""Objections to charges: a parent files one, an operator upholds or rejects it, and everyone concerned lists them.

An upheld objection reverses the charge with a new ledger entry in one transaction with the decision (see
domain.objection for where the money goes and why the month is never charged again); the guardian is told of every
decision (``ObjectionDecided``), after the commit.
"""

from __future__ import annotations

from typing import Any

from chalicelib.domain import errors
from chalicelib.domain.actors import Principal, Role
from chalicelib.domain.ledger import utc_stamp
from chalicelib.domain.objection import (
    Objection,
    ObjectionDecision,
    ObjectionStatus,
    check_window,
    objection_id,
    parse_objection_id,
    plan_reversal,
    require_reason,
)
from chalicelib.domain.period import MUNICIPALITY, Month
from chalicelib.platform import notifications
from chalicelib.platform.notifications import Notice, Notifier
from chalicelib.services.certificates import ensure_current
from chalicelib.services.context import Context
from chalicelib.storage import certificates as certificate_store
from chalicelib.storage import contracts as contract_store
from chalicelib.storage import objections as store
from chalicelib.storage.pages import Page
from chalicelib.storage.retry import Backoff, retry

DECIDE_BACKOFF = Backoff(5)


def object_to_charge(ctx: Context, actor: Principal, contract_id: str, month_text: str, reason: str) -> Objection:
    """The parent of the contract's child disputes one month's charge, within the window after it was made."""
    actor.require(Role.PARENT)
    month = str(Month.parse(month_text))
    text = require_reason(reason, "an objection")
    contract = contract_store.get(contract_id)
    if contract.guardian_sub != actor.sub:
        raise errors.ContractNotFound()
    amount = contract.charges.get(month)
    charged_at = store.charged_at(contract.certificate_id, contract.contract_id, month)
    if amount is None or charged_at is None:
        raise errors.NotCharged()
    check_window(charged_at, ctx.now(), ctx.settings.objection_window_days)
    objection = Objection(
        objection_id=objection_id(contract.contract_id, month),
        contract_id=contract.contract_id,
        certificate_id=contract.certificate_id,
        month=month,
        amount=amount,
        period_id=contract.period_id,
        provider_id=contract.provider_id,
        program_id=contract.program_id,
        program_title=contract.program_title,
        municipality=contract.municipality,
        guardian_sub=contract.guardian_sub,
        status=ObjectionStatus.OPEN,
        reason=text,
        filed_at=utc_stamp(ctx.now()),
        charged_at=utc_stamp(charged_at),
    )
    store.commit_filing(objection)
    return objection


def decide(
    ctx: Context,
    actor: Principal,
    objection_id_text: str,
    decision: ObjectionDecision,
    reason: str,
    notifier: Notifier | None = None,
) -> Objection:
    """An operator of the contract's municipality (or a regional one) upholds or rejects an open objection.

    Upheld: the objection, the contract's month and the reversal (certificate + ledger entry) in one transaction;
    a certificate that changed meanwhile is read again and the decision retried.
    """
    actor.require(Role.OPERATOR)
    parse_objection_id(objection_id_text)
    text = require_reason(reason, "a decision")
    objection = store.get(objection_id_text)
    if not actor.operates_in(objection.municipality):
        raise errors.Forbidden("the objection belongs to another municipality")
    if objection.status is not ObjectionStatus.OPEN:
        raise errors.ObjectionDecided(f"the objection was already {objection.status.value}")
    if decision is ObjectionDecision.REJECT:
        decided = store.commit_rejection(objection, now=ctx.now(), by=actor.sub, reason=text)
    else:
        decided = _uphold(ctx, actor, objection, text)
    notifications.tell(notifier or notifications.for_settings(ctx.settings), [decided_notice(decided)])
    return decided


def _uphold(ctx: Context, actor: Principal, objection: Objection, reason: str) -> Objection:
    def attempt(_n: int) -> Objection:
        certificate = ensure_current(ctx, certificate_store.get(objection.certificate_id))
        plan = plan_reversal(certificate.status, certificate.period_id, objection.period_id)
        return store.commit_upholding(objection, plan, now=ctx.now(), by=actor.sub, reason=reason)

    return retry(attempt, DECIDE_BACKOFF, on=errors.ConcurrentUpdate, gave_up="the certificate kept changing; retry")


def decided_notice(objection: Objection) -> Notice:
    return Notice(
        notifications.OBJECTION_DECIDED,
        objection.certificate_id,
        objection.guardian_sub,
        {
            "objection_id": objection.objection_id,
            "contract_id": objection.contract_id,
            "month": objection.month,
            "amount": objection.amount,
            "outcome": objection.status.value,
            "returned_to": objection.returned_to,
            "reversed_amount": objection.amount if objection.status is ObjectionStatus.UPHELD else 0,
        },
    )


def view(ctx: Context, actor: Principal, objection_id_text: str) -> Objection:
    """Its parent, the provider charged, or an operator of its municipality; anyone else finds nothing."""
    parse_objection_id(objection_id_text)
    objection = store.get(objection_id_text)
    if actor.role is Role.PARENT and objection.guardian_sub == actor.sub:
        return objection
    if actor.role is Role.PROVIDER and objection.provider_id == actor.provider_id:
        return objection
    if actor.role is Role.OPERATOR:
        if actor.operates_in(objection.municipality):
            return objection
        raise errors.Forbidden("the objection belongs to another municipality")
    raise errors.ObjectionNotFound()


def listing(
    ctx: Context,
    actor: Principal,
    limit: int,
    after: dict[str, Any] | None,
    municipality: str | None = None,
    status: str | None = None,
) -> Page[Objection]:
    """A parent's objections, a provider's (to its charges), or an operator's queue of a municipality by status
    (``open`` by default; a regional operator names the municipality)."""
    if actor.role is Role.PARENT:
        return store.of_guardian(actor.sub, limit, after)
    if actor.role is Role.PROVIDER:
        if actor.provider_id is None:
            raise errors.Forbidden()
        return store.of_provider(actor.provider_id, limit, after)
    actor.require(Role.OPERATOR)
    place = municipality or actor.municipality
    if place is None or not MUNICIPALITY.fullmatch(place):
        raise errors.InvalidRequest("name the municipality whose objections to list")
    if not actor.operates_in(place):
        raise errors.Forbidden("the objections belong to another municipality")
    try:
        wanted = ObjectionStatus(status or ObjectionStatus.OPEN.value)
    except ValueError:
        raise errors.InvalidRequest("status must be open, upheld or rejected") from None
    return store.queue(place, wanted, limit, after)
