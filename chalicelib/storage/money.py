"""Every transaction that moves money, in one place: funding, the rollover, hold, charge, release, the reversal of a
charge (an upheld objection) and the merge of a duplicate certificate.

Each writes the balance change and its immutable ledger entry in the same ``TransactWriteItems``; the entry's put is
conditioned on ``attribute_not_exists`` of its natural key (I4), and every balance change is a conditional update
that DynamoDB refuses if it would take ``available`` or a hold below zero (I1). Nothing here reads first: a plan made
from a read is protected by the certificate's ``version``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from itertools import count
from typing import Any

from pynamodb.expressions.update import Action

from chalicelib.domain import errors
from chalicelib.domain.certificate import CertificateStatus, refuse_money_movement
from chalicelib.domain.contract import OPEN as OPEN_CONTRACT
from chalicelib.domain.contract import ContractStatus
from chalicelib.domain.duplicates import MergePlan
from chalicelib.domain.ledger import (
    EntryKind,
    charge_key,
    credit_key,
    expire_key,
    hold_key,
    release_key,
    reversal_key,
    transfer_in_key,
    transfer_out_key,
)
from chalicelib.domain.objection import BalanceEffect, ReversalPlan
from chalicelib.domain.rollover import RolloverOutcome, RolloverPlan
from chalicelib.storage.models import CertificateRecord, ContractRecord, LedgerRecord, QuotaRecord, TopupSegmentRecord
from chalicelib.storage.transactions import OnFailure, Transaction, fail_with, image_string

C = CertificateRecord


class RolloverConflict(errors.ConcurrentUpdate):
    """A certificate changed after its rollover was planned; plan again from a fresh read."""

    def __init__(self, certificate_id: str) -> None:
        super().__init__(f"certificate {certificate_id} changed while its rollover was applied")
        self.certificate_id = certificate_id


def utc_stamp(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Posting:
    """Sortable ``posted`` values for the entries of one transaction: the instant, then their order in it."""

    def __init__(self, now: datetime) -> None:
        self.stamp = utc_stamp(now)
        self._seq: Iterator[int] = count()

    def next(self) -> str:
        return f"{self.stamp}#{next(self._seq):03d}"


@dataclass(frozen=True)
class Entry:
    """A ledger entry to write."""

    certificate_id: str
    kind: EntryKind
    key: str
    period_id: str
    amount: int
    contract_id: str | None = None
    month: str | None = None
    reason: str | None = None


def add_entry(tx: Transaction, entry: Entry, posting: Posting, actor: str, on_failure: OnFailure | None = None) -> None:
    """The immutable entry, written only if its natural key is new (I4)."""
    record = LedgerRecord(
        certificate_id=entry.certificate_id,
        entry_key=entry.key,
        kind=entry.kind.value,
        period_id=entry.period_id,
        amount=entry.amount,
        posted=posting.next(),
        contract_id=entry.contract_id,
        month=entry.month,
        reason=entry.reason,
        actor=actor,
    )
    tx.put(
        record,
        LedgerRecord.entry_key.does_not_exist(),
        on_failure or fail_with(errors.AlreadyApplied(f"{entry.key} is already on the ledger")),
    )


def _refusal(period_id: str, shortfall: Callable[[dict[str, Any]], Exception]) -> OnFailure:
    """Explains a failed certificate condition from the certificate's old image: status, then period, then money."""

    def explain(image: dict[str, Any] | None) -> Exception:
        if image is None:
            return errors.CertificateNotFound()
        status = CertificateStatus(image_string(image, "status"))
        if status is not CertificateStatus.FUNDED:
            try:
                refuse_money_movement(status)
            except errors.DomainError as refusal:
                return refusal
        if image_string(image, "period_id") != period_id:
            return errors.StalePeriod()
        return shortfall(image)

    return explain


def _open_hold(image: dict[str, Any], contract_id: str) -> int | None:
    held = image.get("open_holds", {}).get("M", {}).get(contract_id)
    return None if held is None else int(held["N"])


def _funded_in(period_id: str) -> Any:
    return (C.status == CertificateStatus.FUNDED.value) & (C.period_id == period_id)


# --- funding -------------------------------------------------------------------------------------------------------


def commit_funding(
    certificate_id: str,
    expected_version: int,
    municipality: str,
    period_id: str,
    period_starts_on: date,
    amount: int,
    now: datetime,
    actor: str,
) -> None:
    """An accounting certificate becomes funded in ``period_id`` with ``amount``, taking one slot of the quota (I7)."""
    tx = Transaction()
    tx.update(
        C(certificate_id=certificate_id),
        [
            C.status.set(CertificateStatus.FUNDED.value),
            C.period_id.set(period_id),
            C.period_starts_on.set(period_starts_on.isoformat()),
            C.credited.set(amount),
            C.available.set(amount),
            C.held.set(0),
            C.spent.set(0),
            C.expired.set(0),
            C.open_holds.set({}),
            C.version.add(1),
        ],
        (C.version == expected_version) & (C.status == CertificateStatus.ACCOUNTING.value),
        fail_with(errors.ConcurrentUpdate("the certificate changed; read it again")),
    )
    _take_quota(tx, period_id, municipality, 1)
    add_entry(
        tx,
        Entry(certificate_id, EntryKind.CREDIT, credit_key(period_id), period_id, amount, reason="funded"),
        Posting(now),
        actor,
        # Another request funded it first: read it again (and find it funded) rather than refuse.
        fail_with(errors.ConcurrentUpdate("the certificate changed; read it again")),
    )
    tx.commit()


def _take_quota(tx: Transaction, period_id: str, municipality: str, slots: int) -> None:
    tx.update(
        QuotaRecord(period_id=period_id, record=f"quota#{municipality}"),
        [QuotaRecord.remaining.add(-slots), QuotaRecord.funded.add(slots)],
        QuotaRecord.remaining >= slots,
        fail_with(errors.QuotaExhausted(f"the quota of {municipality} for period {period_id} is used up")),
    )


# --- the rollover ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProgressCounter:
    """The top-up progress item that counts a rollover, written in the same transaction as the money."""

    period_id: str
    record: str  # "topup#03" for a scan segment, "topup#touch" for rollovers on first touch


def rollover_items(plan: RolloverPlan) -> int:
    """Items one plan adds to a transaction: the certificate, its ledger entries, and each contract it ends."""
    return 1 + plan.ledger_items + len(plan.releases)


def commit_rollovers(plans: list[RolloverPlan], now: datetime, progress: ProgressCounter, actor: str) -> None:
    """Applies the plans in one transaction, with the quota slots they take and the progress they make.

    Raises ``RolloverConflict`` when any certificate changed since its plan was made, ``QuotaExhausted`` when a
    municipality has fewer slots left than the plans take; then nothing is written.
    """
    tx = Transaction()
    posting = Posting(now)
    slots = Counter(plan.municipality for plan in plans if plan.takes_quota)
    for municipality, taken in sorted(slots.items()):
        _take_quota(tx, plans[0].to_period, municipality, taken)
    for plan in plans:
        _add_rollover(tx, plan, posting, actor)
    _count_progress(tx, plans, now, progress)
    tx.commit()


def _add_rollover(tx: Transaction, plan: RolloverPlan, posting: Posting, actor: str) -> None:
    conflict = fail_with(RolloverConflict(plan.certificate_id))
    new_start = plan.to_period_starts_on.isoformat()
    # The version pins the plan to the state it was made from; the start date keeps periods moving forward only.
    condition = (
        (C.version == plan.expected_version)
        & (C.status == CertificateStatus.FUNDED.value)
        & (C.period_starts_on.does_not_exist() | (C.period_starts_on < new_start))
    )
    closing: list[Action] = [C.status.set(plan.new_status.value), C.open_holds.set({}), C.version.add(1)]
    if plan.outcome is RolloverOutcome.CREDITED:
        # The certificate's balance now describes the new period.
        actions = [
            *closing,
            C.period_id.set(plan.to_period),
            C.period_starts_on.set(new_start),
            C.credited.set(plan.credit_amount),
            C.available.set(plan.credit_amount),
            C.held.set(0),
            C.spent.set(0),
            C.expired.set(0),
        ]
    else:
        # No new money: the balance keeps describing the old period, now all spent or expired.
        actions = [*closing, C.available.set(0), C.held.set(0), C.expired.add(plan.expire_amount)]
    tx.update(C(certificate_id=plan.certificate_id), actions, condition, conflict)
    old = plan.from_period
    if old is not None:
        for contract_id, amount in plan.releases:
            _end_contract_at_period_end(tx, contract_id, amount, posting, conflict)
            entry = Entry(
                plan.certificate_id,
                EntryKind.RELEASE,
                release_key(contract_id),
                old,
                amount,
                contract_id,
                reason="period_end",
            )
            add_entry(tx, entry, posting, actor, conflict)
        if plan.expire_amount:
            entry = Entry(
                plan.certificate_id, EntryKind.EXPIRE, expire_key(old), old, plan.expire_amount, reason="period_end"
            )
            add_entry(tx, entry, posting, actor, conflict)
    if plan.credit_amount:
        entry = Entry(
            plan.certificate_id,
            EntryKind.CREDIT,
            credit_key(plan.to_period),
            plan.to_period,
            plan.credit_amount,
            reason="topup",
        )
        add_entry(tx, entry, posting, actor, conflict)


def _end_contract_at_period_end(
    tx: Transaction, contract_id: str, held: int, posting: Posting, conflict: OnFailure
) -> None:
    """Contracts end with their period; what they still held is released by the same transaction."""
    K = ContractRecord
    tx.update(
        K(contract_id=contract_id),
        [
            K.status.set(ContractStatus.ENDED.value),
            K.remaining_hold.set(0),
            K.ended_at.set(posting.stamp),
            K.end_reason.set("period_end"),
            K.version.add(1),
        ],
        K.status.is_in(*(s.value for s in OPEN_CONTRACT)) & (K.remaining_hold == held),
        conflict,
    )


def _count_progress(tx: Transaction, plans: Iterable[RolloverPlan], now: datetime, progress: ProgressCounter) -> None:
    plans = list(plans)
    outcomes = Counter(plan.outcome for plan in plans)
    T = TopupSegmentRecord
    tx.update(
        T(period_id=progress.period_id, record=progress.record),
        [
            T.certificates.add(outcomes[RolloverOutcome.CREDITED]),
            T.over_quota.add(outcomes[RolloverOutcome.OVER_QUOTA]),
            T.aged_out.add(outcomes[RolloverOutcome.AGED_OUT]),
            T.credited_kopecks.add(sum(plan.credit_amount for plan in plans)),
            T.expired_kopecks.add(sum(plan.expire_amount for plan in plans)),
            T.released_kopecks.add(sum(amount for plan in plans for _, amount in plan.releases)),
            T.updated_at.set(utc_stamp(now)),
        ],
        None,
        fail_with(errors.ConcurrentUpdate()),
    )


def check_usable(tx: Transaction, certificate_id: str, status: CertificateStatus) -> None:
    """The certificate is still in ``status`` (accounting or funded) when no money moves (a free program)."""

    def explain(image: dict[str, Any] | None) -> Exception:
        if image is None:
            return errors.CertificateNotFound()
        try:
            refuse_money_movement(CertificateStatus(image_string(image, "status")))
        except errors.DomainError as refusal:
            return refusal
        return errors.ConcurrentUpdate("the certificate changed; retry")

    tx.check(CertificateRecord, certificate_id, None, C.status == status.value, explain)


# --- contracts: hold, charge, release --------------------------------------------------------------------------------


def add_hold(
    tx: Transaction, certificate_id: str, period_id: str, contract_id: str, amount: int, posting: Posting, actor: str
) -> None:
    """Reserves ``amount`` of the available money for a contract."""
    holds = C.open_holds[contract_id]
    tx.update(
        C(certificate_id=certificate_id),
        [C.available.add(-amount), C.held.add(amount), holds.set(amount), C.version.add(1)],
        _funded_in(period_id) & (C.available >= amount) & holds.does_not_exist(),
        _refusal(
            period_id,
            lambda image: errors.AlreadyApplied(f"contract {contract_id} already holds money")
            if _open_hold(image, contract_id) is not None
            else errors.InsufficientFunds(),
        ),
        want_old_image=True,
    )
    add_entry(
        tx, Entry(certificate_id, EntryKind.HOLD, hold_key(contract_id), period_id, amount, contract_id), posting, actor
    )


def add_charge(
    tx: Transaction,
    certificate_id: str,
    period_id: str,
    contract_id: str,
    month: str,
    amount: int,
    posting: Posting,
    actor: str,
    already: errors.DomainError | None = None,
) -> None:
    """Moves ``amount`` of a contract's hold to spent, once per contract-month, never above the hold (I5)."""
    holds = C.open_holds[contract_id]
    tx.update(
        C(certificate_id=certificate_id),
        [C.held.add(-amount), C.spent.add(amount), holds.set(holds - amount), C.version.add(1)],
        _funded_in(period_id) & (holds >= amount),
        _refusal(
            period_id,
            lambda image: errors.HoldNotFound() if _open_hold(image, contract_id) is None else errors.OverHold(),
        ),
        want_old_image=True,
    )
    entry = Entry(
        certificate_id, EntryKind.CHARGE, charge_key(contract_id, month), period_id, amount, contract_id, month
    )
    add_entry(tx, entry, posting, actor, fail_with(already) if already else None)


def add_release(
    tx: Transaction,
    certificate_id: str,
    period_id: str,
    contract_id: str,
    amount: int,
    posting: Posting,
    actor: str,
    reason: str,
) -> None:
    """Returns what is still held for a contract (exactly ``amount``) to available and closes the hold."""
    holds = C.open_holds[contract_id]
    tx.update(
        C(certificate_id=certificate_id),
        [C.held.add(-amount), C.available.add(amount), holds.remove(), C.version.add(1)],
        _funded_in(period_id) & (holds == amount),
        _refusal(
            period_id,
            lambda image: errors.HoldNotFound()
            if _open_hold(image, contract_id) is None
            else errors.ConcurrentUpdate("the hold changed; read it again"),
        ),
        want_old_image=True,
    )
    entry = Entry(
        certificate_id, EntryKind.RELEASE, release_key(contract_id), period_id, amount, contract_id, reason=reason
    )
    add_entry(tx, entry, posting, actor)


# --- objections: the reversal of a charge ---------------------------------------------------------------------------


def add_reversal(
    tx: Transaction,
    certificate_id: str,
    charge_period_id: str,
    contract_id: str,
    month: str,
    amount: int,
    plan: ReversalPlan,
    posting: Posting,
    actor: str,
    reason: str,
) -> None:
    """Voids a contract-month's charge: ``amount`` leaves ``spent`` for ``available`` or ``expired`` (I2), under the
    natural key ``reversal#{contract}#{month}`` (I4). The certificate must be as the plan saw it."""
    changed = fail_with(errors.ConcurrentUpdate("the certificate changed; read it again"))
    as_seen = (C.status == plan.certificate_status.value) & (C.period_id == charge_period_id)
    if plan.effect is BalanceEffect.AVAILABLE:
        tx.update(
            C(certificate_id=certificate_id),
            [C.spent.add(-amount), C.available.add(amount), C.version.add(1)],
            as_seen & (C.spent >= amount),
            changed,
        )
    elif plan.effect is BalanceEffect.EXPIRED:
        tx.update(
            C(certificate_id=certificate_id),
            [C.spent.add(-amount), C.expired.add(amount), C.version.add(1)],
            as_seen & (C.spent >= amount),
            changed,
        )
    else:
        # The cached balance describes a later period: only the old period's ledger changes, and only while the
        # certificate is still past it.
        past = C.period_id == plan.certificate_period_id if plan.certificate_period_id else C.period_id.does_not_exist()
        tx.check(CertificateRecord, certificate_id, None, past, changed)
    key = reversal_key(contract_id, month)
    entry = Entry(certificate_id, plan.kind, key, charge_period_id, amount, contract_id, month, reason)
    add_entry(tx, entry, posting, actor)


# --- duplicates: the merge transfer ----------------------------------------------------------------------------------


def add_merge(tx: Transaction, plan: MergePlan, posting: Posting, actor: str) -> None:
    """Closes the duplicate and moves its available money to the survivor: ``transfer_out`` on one side and
    ``transfer_in`` on the other, each under its natural key (I4), ``credited`` and ``available`` moving together on
    both sides (I2). The duplicate's version pins the plan; the survivor must still be live (and funded in the same
    period when money moves)."""
    changed = fail_with(errors.ConcurrentUpdate("a certificate changed while it was merged; read them again"))
    tx.update(
        C(certificate_id=plan.duplicate_id),
        [
            C.status.set(CertificateStatus.CLOSED.value),
            C.merged_into.set(plan.survivor_id),
            C.closed_at.set(posting.stamp),
            C.available.add(-plan.amount),
            C.credited.add(-plan.amount),
            C.version.add(1),
        ],
        (C.version == plan.duplicate_version) & (C.status == plan.duplicate_status.value) & (C.held == 0),
        changed,
    )
    if plan.amount:
        tx.update(
            C(certificate_id=plan.survivor_id),
            [C.available.add(plan.amount), C.credited.add(plan.amount), C.version.add(1)],
            _funded_in(plan.period_id or ""),
            _refusal(plan.period_id or "", lambda _image: errors.ConcurrentUpdate("the surviving certificate changed")),
            want_old_image=True,
        )
        period = plan.period_id or ""
        out = Entry(
            plan.duplicate_id,
            EntryKind.TRANSFER_OUT,
            transfer_out_key(plan.survivor_id, period),
            period,
            plan.amount,
            reason=f"merged into {plan.survivor_id}",
        )
        into = Entry(
            plan.survivor_id,
            EntryKind.TRANSFER_IN,
            transfer_in_key(plan.duplicate_id, period),
            period,
            plan.amount,
            reason=f"merged from {plan.duplicate_id}",
        )
        add_entry(tx, out, posting, actor)
        add_entry(tx, into, posting, actor)
    else:
        live = C.status.is_in(CertificateStatus.ACCOUNTING.value, CertificateStatus.FUNDED.value)
        tx.check(CertificateRecord, plan.survivor_id, None, live, changed)
    if plan.returns_quota_slot and plan.period_id is not None:
        # The duplicate no longer counts as funded (I7): its slot of the quota is free again.
        Q = QuotaRecord
        tx.update(
            Q(period_id=plan.period_id, record=f"quota#{plan.duplicate_municipality}"),
            [Q.remaining.add(1), Q.funded.add(-1)],
            Q.funded >= 1,
            changed,
        )
