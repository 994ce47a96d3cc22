"""Every transaction that moves money, in one place: funding, the rollover, hold, charge, release, the reversal of a
charge (an upheld objection) and the merge of a duplicate certificate.

Each takes its plan (domain.movements, domain.rollover, domain.duplicates) and writes the balance change and its
immutable ledger entry in the same ``TransactWriteItems``; the entry's put is conditioned on ``attribute_not_exists``
of its natural key (I4), and every balance change is a conditional update that DynamoDB refuses if it would take
``available`` or a hold below zero (I1). Nothing here reads first: a plan made from a read is protected by the
certificate's ``version``. A refusal is explained from the certificate's old image, read by its mapper.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pynamodb.expressions.update import Action

from chalicelib.domain import errors
from chalicelib.domain.certificate import Certificate, CertificateStatus, refuse_money_movement
from chalicelib.domain.contract import OPEN as OPEN_CONTRACT
from chalicelib.domain.contract import ContractStatus
from chalicelib.domain.duplicates import MergePlan
from chalicelib.domain.ledger import (
    EntryKind,
    LedgerEntry,
    Posting,
    credit_key,
    expire_key,
    release_key,
    transfer_in_key,
    transfer_out_key,
    utc_stamp,
)
from chalicelib.domain.movements import Charge, Funding, Hold, Release, Reversal
from chalicelib.domain.objection import BalanceEffect
from chalicelib.domain.rollover import RolloverOutcome, RolloverPlan
from chalicelib.storage.certificates import CERTIFICATES
from chalicelib.storage.ledger import ENTRIES
from chalicelib.storage.models import CertificateRecord, ContractRecord, LedgerRecord, QuotaRecord, TopupSegmentRecord
from chalicelib.storage.transactions import OnFailure, Transaction, fail_with


class RolloverConflict(errors.ConcurrentUpdate):
    """A certificate changed after its rollover was planned; plan again from a fresh read."""

    def __init__(self, certificate_id: str) -> None:
        super().__init__(f"certificate {certificate_id} changed while its rollover was applied")
        self.certificate_id = certificate_id


def add_entry(tx: Transaction, entry: LedgerEntry, on_failure: OnFailure | None = None) -> None:
    """The immutable entry, written only if its natural key is new (I4)."""
    tx.put(
        ENTRIES.record(entry),
        LedgerRecord.entry_key.does_not_exist(),
        on_failure or fail_with(errors.AlreadyApplied(f"{entry.entry_key} is already on the ledger")),
    )


def _refusal(period_id: str, shortfall: Callable[[Certificate], Exception]) -> OnFailure:
    """Explains a failed certificate condition from the certificate's old image: status, then period, then money."""

    def explain(image: dict[str, Any] | None) -> Exception:
        if image is None:
            return errors.CertificateNotFound()
        certificate = CERTIFICATES.from_image(image)
        if certificate.status is not CertificateStatus.FUNDED:
            try:
                refuse_money_movement(certificate.status)
            except errors.DomainError as refusal:
                return refusal
        if certificate.period_id != period_id:
            return errors.StalePeriod()
        return shortfall(certificate)

    return explain


def _funded_in(period_id: str) -> Any:
    return (CertificateRecord.status == CertificateStatus.FUNDED.value) & (CertificateRecord.period_id == period_id)


# --- funding -------------------------------------------------------------------------------------------------------


def commit_funding(funding: Funding, *, now: datetime, actor: str) -> None:
    """An accounting certificate becomes funded, taking one slot of the quota (I7)."""
    C = CertificateRecord
    changed = fail_with(errors.ConcurrentUpdate("the certificate changed; read it again"))
    tx = Transaction()
    tx.update(
        C(certificate_id=funding.certificate_id),
        [
            C.status.set(CertificateStatus.FUNDED.value),
            C.period_id.set(funding.period_id),
            C.period_starts_on.set(funding.period_starts_on.isoformat()),
            C.credited.set(funding.amount),
            C.available.set(funding.amount),
            C.held.set(0),
            C.spent.set(0),
            C.expired.set(0),
            C.open_holds.set({}),
            C.version.add(1),
        ],
        (C.version == funding.expected_version) & (C.status == CertificateStatus.ACCOUNTING.value),
        changed,
    )
    _take_quota(tx, funding.period_id, funding.municipality, 1)
    # Another request funded it first: read it again (and find it funded) rather than refuse.
    add_entry(tx, funding.entry(Posting(now), actor), changed)
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
    record: str  # "topup#003" for a scan segment, "topup#touch" for rollovers on first touch


def rollover_items(plan: RolloverPlan) -> int:
    """Items one plan adds to a transaction: the certificate, its ledger entries, and each contract it ends."""
    return 1 + plan.ledger_items + len(plan.releases)


def commit_rollovers(plans: list[RolloverPlan], *, now: datetime, progress: ProgressCounter, actor: str) -> None:
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
    C = CertificateRecord
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
            release = LedgerEntry(
                certificate_id=plan.certificate_id,
                entry_key=release_key(contract_id),
                kind=EntryKind.RELEASE,
                period_id=old,
                amount=amount,
                posted=posting.next(),
                contract_id=contract_id,
                reason="period_end",
                actor=actor,
            )
            add_entry(tx, release, conflict)
        if plan.expire_amount:
            expiry = LedgerEntry(
                certificate_id=plan.certificate_id,
                entry_key=expire_key(old),
                kind=EntryKind.EXPIRE,
                period_id=old,
                amount=plan.expire_amount,
                posted=posting.next(),
                reason="period_end",
                actor=actor,
            )
            add_entry(tx, expiry, conflict)
    if plan.credit_amount:
        credit = LedgerEntry(
            certificate_id=plan.certificate_id,
            entry_key=credit_key(plan.to_period),
            kind=EntryKind.CREDIT,
            period_id=plan.to_period,
            amount=plan.credit_amount,
            posted=posting.next(),
            reason="topup",
            actor=actor,
        )
        add_entry(tx, credit, conflict)


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
            refuse_money_movement(CERTIFICATES.from_image(image).status)
        except errors.DomainError as refusal:
            return refusal
        return errors.ConcurrentUpdate("the certificate changed; retry")

    tx.check(CertificateRecord, certificate_id, None, CertificateRecord.status == status.value, explain)


# --- contracts: hold, charge, release --------------------------------------------------------------------------------


def add_hold(tx: Transaction, hold: Hold, posting: Posting, actor: str) -> None:
    """Reserves the hold's amount of the available money for its contract."""
    C = CertificateRecord
    holds = C.open_holds[hold.contract_id]
    tx.update(
        C(certificate_id=hold.certificate_id),
        [C.available.add(-hold.amount), C.held.add(hold.amount), holds.set(hold.amount), C.version.add(1)],
        _funded_in(hold.period_id) & (C.available >= hold.amount) & holds.does_not_exist(),
        _refusal(
            hold.period_id,
            lambda certificate: errors.AlreadyApplied(f"contract {hold.contract_id} already holds money")
            if hold.contract_id in certificate.open_holds
            else errors.InsufficientFunds(),
        ),
        want_old_image=True,
    )
    add_entry(tx, hold.entry(posting, actor))


def add_charge(
    tx: Transaction, charge: Charge, posting: Posting, actor: str, already: errors.DomainError | None = None
) -> None:
    """Moves the charge's amount of its contract's hold to spent, once per contract-month, never above the hold
    (I5)."""
    C = CertificateRecord
    holds = C.open_holds[charge.contract_id]
    tx.update(
        C(certificate_id=charge.certificate_id),
        [C.held.add(-charge.amount), C.spent.add(charge.amount), holds.set(holds - charge.amount), C.version.add(1)],
        _funded_in(charge.period_id) & (holds >= charge.amount),
        _refusal(
            charge.period_id,
            lambda certificate: errors.OverHold()
            if charge.contract_id in certificate.open_holds
            else errors.HoldNotFound(),
        ),
        want_old_image=True,
    )
    add_entry(tx, charge.entry(posting, actor), fail_with(already) if already else None)


def add_release(tx: Transaction, release: Release, posting: Posting, actor: str) -> None:
    """Returns what is still held for a contract (exactly the release's amount) to available and closes the hold."""
    C = CertificateRecord
    holds = C.open_holds[release.contract_id]
    tx.update(
        C(certificate_id=release.certificate_id),
        [C.held.add(-release.amount), C.available.add(release.amount), holds.remove(), C.version.add(1)],
        _funded_in(release.period_id) & (holds == release.amount),
        _refusal(
            release.period_id,
            lambda certificate: errors.ConcurrentUpdate("the hold changed; read it again")
            if release.contract_id in certificate.open_holds
            else errors.HoldNotFound(),
        ),
        want_old_image=True,
    )
    add_entry(tx, release.entry(posting, actor))


# --- objections: the reversal of a charge ---------------------------------------------------------------------------


def add_reversal(tx: Transaction, reversal: Reversal, posting: Posting, actor: str) -> None:
    """Voids a contract-month's charge: its amount leaves ``spent`` for ``available`` or ``expired`` (I2), under the
    natural key ``reversal#{contract}#{month}`` (I4). The certificate must be as the plan saw it."""
    C = CertificateRecord
    plan, amount = reversal.plan, reversal.amount
    changed = fail_with(errors.ConcurrentUpdate("the certificate changed; read it again"))
    as_seen = (C.status == plan.certificate_status.value) & (C.period_id == reversal.period_id)
    if plan.effect is BalanceEffect.AVAILABLE:
        tx.update(
            C(certificate_id=reversal.certificate_id),
            [C.spent.add(-amount), C.available.add(amount), C.version.add(1)],
            as_seen & (C.spent >= amount),
            changed,
        )
    elif plan.effect is BalanceEffect.EXPIRED:
        tx.update(
            C(certificate_id=reversal.certificate_id),
            [C.spent.add(-amount), C.expired.add(amount), C.version.add(1)],
            as_seen & (C.spent >= amount),
            changed,
        )
    else:
        # The cached balance describes a later period: only the old period's ledger changes, and only while the
        # certificate is still past it.
        past = C.period_id == plan.certificate_period_id if plan.certificate_period_id else C.period_id.does_not_exist()
        tx.check(CertificateRecord, reversal.certificate_id, None, past, changed)
    add_entry(tx, reversal.entry(posting, actor))


# --- duplicates: the merge transfer ----------------------------------------------------------------------------------


def add_merge(tx: Transaction, plan: MergePlan, posting: Posting, actor: str) -> None:
    """Closes the duplicate and moves its available money to the survivor: ``transfer_out`` on one side and
    ``transfer_in`` on the other, each under its natural key (I4), ``credited`` and ``available`` moving together on
    both sides (I2). The duplicate's version pins the plan; the survivor must still be live (and funded in the same
    period when money moves)."""
    C = CertificateRecord
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
    if plan.amount and plan.period_id is not None:
        period = plan.period_id
        tx.update(
            C(certificate_id=plan.survivor_id),
            [C.available.add(plan.amount), C.credited.add(plan.amount), C.version.add(1)],
            _funded_in(period),
            _refusal(period, lambda _survivor: errors.ConcurrentUpdate("the surviving certificate changed")),
            want_old_image=True,
        )
        out = LedgerEntry(
            certificate_id=plan.duplicate_id,
            entry_key=transfer_out_key(plan.survivor_id, period),
            kind=EntryKind.TRANSFER_OUT,
            period_id=period,
            amount=plan.amount,
            posted=posting.next(),
            reason=f"merged into {plan.survivor_id}",
            actor=actor,
        )
        into = LedgerEntry(
            certificate_id=plan.survivor_id,
            entry_key=transfer_in_key(plan.duplicate_id, period),
            kind=EntryKind.TRANSFER_IN,
            period_id=period,
            amount=plan.amount,
            posted=posting.next(),
            reason=f"merged from {plan.duplicate_id}",
            actor=actor,
        )
        add_entry(tx, out)
        add_entry(tx, into)
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
