"""Objections: filing one, deciding it (the reversal of an upheld charge), and the lists of parents, providers and
operators.

Each change is one transaction over the objection and its contract (whose ``objections`` map tells the reports which
charges are disputed); upholding adds the reversal of storage.money (certificate + ledger entry) to it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist
from pynamodb.expressions.update import Action

from chalicelib.domain import errors
from chalicelib.domain.ledger import charge_key
from chalicelib.domain.objection import ObjectionStatus, ReversalPlan
from chalicelib.storage import money
from chalicelib.storage.models import ContractRecord, LedgerRecord, ObjectionRecord
from chalicelib.storage.transactions import OnFailure, Transaction, fail_with, image_string

K = ContractRecord
O = ObjectionRecord  # noqa: E741 - the model's one-letter alias, as C and K elsewhere


@dataclass(frozen=True)
class Objection:
    objection_id: str
    contract_id: str
    certificate_id: str
    month: str
    amount: int
    period_id: str
    provider_id: str
    program_id: str
    program_title: str
    municipality: str
    guardian_sub: str
    status: ObjectionStatus
    reason: str
    filed_at: str
    charged_at: str
    decided_at: str | None = None
    decided_by: str | None = None
    decision_reason: str | None = None
    returned_to: str | None = None


def _objection(record: ObjectionRecord) -> Objection:
    return Objection(
        objection_id=record.objection_id,
        contract_id=record.contract_id,
        certificate_id=record.certificate_id,
        month=record.month,
        amount=int(record.amount),
        period_id=record.period_id,
        provider_id=record.provider_id,
        program_id=record.program_id,
        program_title=record.program_title,
        municipality=record.municipality,
        guardian_sub=record.guardian_sub,
        status=ObjectionStatus(record.status),
        reason=record.reason,
        filed_at=record.filed_at,
        charged_at=record.charged_at,
        decided_at=record.decided_at,
        decided_by=record.decided_by,
        decision_reason=record.decision_reason,
        returned_to=record.returned_to,
    )


def _queue(municipality: str, status: ObjectionStatus) -> str:
    return f"{municipality}#{status.value}"


def get(objection_id: str) -> Objection:
    try:
        return _objection(ObjectionRecord.get(objection_id, consistent_read=True))
    except DoesNotExist:
        raise errors.ObjectionNotFound() from None


def charged_at(certificate_id: str, contract_id: str, month: str) -> datetime | None:
    """When the month was charged: the ``posted`` instant of its ledger entry (None if it was not)."""
    try:
        entry = LedgerRecord.get(certificate_id, charge_key(contract_id, month), consistent_read=True)
    except DoesNotExist:
        return None
    return datetime.strptime(entry.posted.split("#", 1)[0], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


# --- filing ----------------------------------------------------------------------------------------------------------


def _filing_refusal(guardian_sub: str, month: str, amount: int) -> OnFailure:
    def explain(image: dict[str, Any] | None) -> Exception:
        if image is None or image_string(image, "guardian_sub") != guardian_sub:
            return errors.ContractNotFound()
        if month in image.get("objections", {}).get("M", {}):
            return errors.AlreadyObjected()
        charged = image.get("charges", {}).get("M", {}).get(month)
        if charged is None or int(charged["N"]) != amount:
            return errors.NotCharged()
        return errors.ConcurrentUpdate("the contract changed; retry")

    return explain


def commit_filing(objection: Objection) -> None:
    """The objection and the contract's mark of a disputed month, together; once per contract-month."""
    tx = Transaction()
    tx.put(
        ObjectionRecord(
            objection_id=objection.objection_id,
            contract_id=objection.contract_id,
            certificate_id=objection.certificate_id,
            month=objection.month,
            amount=objection.amount,
            period_id=objection.period_id,
            provider_id=objection.provider_id,
            program_id=objection.program_id,
            program_title=objection.program_title,
            municipality=objection.municipality,
            guardian_sub=objection.guardian_sub,
            status=objection.status.value,
            reason=objection.reason,
            filed_at=objection.filed_at,
            charged_at=objection.charged_at,
            queue=_queue(objection.municipality, objection.status),
        ),
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


def commit_rejection(objection: Objection, now: datetime, by: str, reason: str) -> Objection:
    """The charge stands; the month is no longer disputed."""
    at = money.utc_stamp(now)
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


def commit_upholding(objection: Objection, plan: ReversalPlan, now: datetime, by: str, reason: str) -> Objection:
    """One transaction: the objection decided, the contract's month marked reversed (it is never charged again), and
    the charge's reversal on the certificate and the ledger (storage.money.add_reversal)."""
    at = money.utc_stamp(now)
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
    money.add_reversal(
        tx,
        objection.certificate_id,
        objection.period_id,
        objection.contract_id,
        objection.month,
        objection.amount,
        plan,
        money.Posting(now),
        by,
        reason=f"objection {objection.objection_id}",
    )
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


@dataclass(frozen=True)
class Page:
    objections: list[Objection]
    next_key: dict[str, Any] | None


def _page(index: Any, key: str, limit: int, after: dict[str, Any] | None, newest_first: bool) -> Page:
    result = index.query(
        key, scan_index_forward=not newest_first, limit=limit, page_size=limit, last_evaluated_key=after
    )
    return Page([_objection(record) for record in result], result.last_evaluated_key)


def of_guardian(guardian_sub: str, limit: int, after: dict[str, Any] | None) -> Page:
    """A parent's objections, newest first: one Query."""
    return _page(ObjectionRecord.by_guardian, guardian_sub, limit, after, newest_first=True)


def of_provider(provider_id: str, limit: int, after: dict[str, Any] | None) -> Page:
    """Objections to a provider's charges, newest first: one Query."""
    return _page(ObjectionRecord.by_provider, provider_id, limit, after, newest_first=True)


def queue(municipality: str, status: ObjectionStatus, limit: int, after: dict[str, Any] | None) -> Page:
    """A municipality's objections in a status, oldest first (the operators' queue): one Query."""
    return _page(ObjectionRecord.by_queue, _queue(municipality, status), limit, after, newest_first=False)
