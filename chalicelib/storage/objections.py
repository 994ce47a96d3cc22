"""Objections: filing one, deciding it (the reversal of an upheld charge), and the lists of parents, providers and
operators.

Each change is one transaction over the objection and its contract (whose ``objections`` map tells the reports which
charges are disputed); upholding adds the reversal of storage.movements (certificate + ledger entry) to it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist
from pynamodb.expressions.update import Action

from chalicelib.domain import errors
from chalicelib.domain.ledger import Posting, charge_key, parse_stamp, utc_stamp
from chalicelib.domain.movements import Reversal
from chalicelib.domain.objection import Objection, ObjectionStatus, ReversalPlan
from chalicelib.storage import movements
from chalicelib.storage.contracts import CONTRACTS
from chalicelib.storage.mapping import Mapper, enum_of
from chalicelib.storage.models import ContractRecord, LedgerRecord, ObjectionRecord
from chalicelib.storage.pages import Page
from chalicelib.storage.transactions import OnFailure, Transaction, fail_with

K = ContractRecord
O = ObjectionRecord  # noqa: E741 - the model's one-letter alias, as C and K elsewhere

OBJECTIONS = Mapper(
    Objection,
    ObjectionRecord,
    convert={"status": enum_of(ObjectionStatus)},
    derived={"queue": lambda objection: _queue(objection.municipality, objection.status)},
)


def _queue(municipality: str, status: ObjectionStatus) -> str:
    return f"{municipality}#{status.value}"


def get(objection_id: str) -> Objection:
    try:
        return OBJECTIONS.to_entity(ObjectionRecord.get(objection_id, consistent_read=True))
    except DoesNotExist:
        raise errors.ObjectionNotFound() from None


def charged_at(certificate_id: str, contract_id: str, month: str) -> datetime | None:
    """When the month was charged: the ``posted`` instant of its ledger entry (None if it was not)."""
    try:
        entry = LedgerRecord.get(certificate_id, charge_key(contract_id, month), consistent_read=True)
    except DoesNotExist:
        return None
    return parse_stamp(entry.posted)


# --- filing ----------------------------------------------------------------------------------------------------------


def _filing_refusal(guardian_sub: str, month: str, amount: int) -> OnFailure:
    def explain(image: dict[str, Any] | None) -> Exception:
        contract = None if image is None else CONTRACTS.from_image(image)
        if contract is None or contract.guardian_sub != guardian_sub:
            return errors.ContractNotFound()
        if month in contract.objections:
            return errors.AlreadyObjected()
        if contract.charges.get(month) != amount:
            return errors.NotCharged()
        return errors.ConcurrentUpdate("the contract changed; retry")

    return explain


def commit_filing(objection: Objection) -> None:
    """The objection and the contract's mark of a disputed month, together; once per contract-month."""
    tx = Transaction()
    tx.put(
        OBJECTIONS.record(objection),
        O.objection_id.does_not_exist(),
        fail_with(errors.AlreadyObjected()),
    )
    marks = K.objections[objection.month]
    tx.update(
        K(contract_id=objection.contract_id),
        [marks.set(ObjectionStatus.OPEN.value), K.version.add(1)],
        (K.guardian_sub == objection.guardian_sub)
        & (K.charges[objection.month] == objection.amount)
        & marks.does_not_exist(),
        _filing_refusal(objection.guardian_sub, objection.month, objection.amount),
        want_old_image=True,
        rank=0,
    )
    tx.commit()


# --- deciding --------------------------------------------------------------------------------------------------------


def _decide(
    tx: Transaction,
    objection: Objection,
    outcome: ObjectionStatus,
    at: str,
    by: str,
    reason: str,
    more: list[Action] | None = None,
) -> None:
    decided = fail_with(errors.ObjectionDecided())
    actions = [
        O.status.set(outcome.value),
        O.queue.set(_queue(objection.municipality, outcome)),
        O.decided_at.set(at),
        O.decided_by.set(by),
        O.decision_reason.set(reason),
        *(more or []),
    ]
    tx.update(O(objection_id=objection.objection_id), actions, O.status == ObjectionStatus.OPEN.value, decided, rank=0)


def commit_rejection(objection: Objection, *, now: datetime, by: str, reason: str) -> Objection:
    """The charge stands; the month is no longer disputed."""
    at = utc_stamp(now)
    tx = Transaction()
    _decide(tx, objection, ObjectionStatus.REJECTED, at, by, reason)
    marks = K.objections[objection.month]
    tx.update(
        K(contract_id=objection.contract_id),
        [marks.set(ObjectionStatus.REJECTED.value), K.version.add(1)],
        marks == ObjectionStatus.OPEN.value,
        fail_with(errors.ObjectionDecided()),
    )
    tx.commit()
    return replace(objection, status=ObjectionStatus.REJECTED, decided_at=at, decided_by=by, decision_reason=reason)


def commit_upholding(objection: Objection, plan: ReversalPlan, *, now: datetime, by: str, reason: str) -> Objection:
    """One transaction: the objection decided, the contract's month marked reversed (it is never charged again), and
    the charge's reversal on the certificate and the ledger (storage.movements.add_reversal)."""
    at = utc_stamp(now)
    tx = Transaction()
    _decide(tx, objection, ObjectionStatus.UPHELD, at, by, reason, [O.returned_to.set(plan.returned_to)])
    marks = K.objections[objection.month]
    tx.update(
        K(contract_id=objection.contract_id),
        [
            marks.set(ObjectionStatus.UPHELD.value),
            K.reversals[objection.month].set(objection.amount),
            K.charged_total.add(-objection.amount),
            K.version.add(1),
        ],
        (marks == ObjectionStatus.OPEN.value) & (K.charges[objection.month] == objection.amount),
        fail_with(errors.ObjectionDecided()),
    )
    reversal = Reversal(
        certificate_id=objection.certificate_id,
        period_id=objection.period_id,
        contract_id=objection.contract_id,
        month=objection.month,
        amount=objection.amount,
        plan=plan,
        reason=f"objection {objection.objection_id}",
    )
    movements.add_reversal(tx, reversal, Posting(now), by)
    tx.commit()
    return replace(
        objection,
        status=ObjectionStatus.UPHELD,
        decided_at=at,
        decided_by=by,
        decision_reason=reason,
        returned_to=plan.returned_to,
    )


# --- lists -----------------------------------------------------------------------------------------------------------


def _page(index: Any, key: str, limit: int, after: dict[str, Any] | None, newest_first: bool) -> Page[Objection]:
    result = index.query(
        key, scan_index_forward=not newest_first, limit=limit, page_size=limit, last_evaluated_key=after
    )
    return Page([OBJECTIONS.to_entity(record) for record in result], result.last_evaluated_key)


def of_guardian(guardian_sub: str, limit: int, after: dict[str, Any] | None) -> Page[Objection]:
    """A parent's objections, newest first: one Query."""
    return _page(ObjectionRecord.by_guardian, guardian_sub, limit, after, newest_first=True)


def of_provider(provider_id: str, limit: int, after: dict[str, Any] | None) -> Page[Objection]:
    """Objections to a provider's charges, newest first: one Query."""
    return _page(ObjectionRecord.by_provider, provider_id, limit, after, newest_first=True)


def queue(municipality: str, status: ObjectionStatus, limit: int, after: dict[str, Any] | None) -> Page[Objection]:
    """A municipality's objections in a status, oldest first (the operators' queue): one Query."""
    return _page(ObjectionRecord.by_queue, _queue(municipality, status), limit, after, newest_first=False)
