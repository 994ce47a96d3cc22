"""Contracts: the enrolment, accept, end (decline, expiry, cancellation) and charge transactions, and reads.

Each transaction composes the contract's own items (the contract, the child's seat marker, the program's seat
count, a check that the provider is approved) with the money primitives of storage.money (certificate + ledger),
so a seat, a contract, a hold and its ledger entry are written all together or not at all (I5, I6).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist, TransactGetError
from pynamodb.expressions.condition import Condition
from pynamodb.models import Model
from pynamodb.transactions import TransactGet

from chalicelib.domain import errors
from chalicelib.domain.certificate import CertificateStatus
from chalicelib.domain.contract import ContractState, ContractStatus, charge_refusal
from chalicelib.storage import money
from chalicelib.storage.idempotency import Answered
from chalicelib.storage.models import ContractRecord, ProgramRecord, SeatRecord
from chalicelib.storage.providers import add_approved_check
from chalicelib.storage.retry import Backoff, retry
from chalicelib.storage.transactions import (
    CONFLICT_ATTEMPTS,
    OnFailure,
    Transaction,
    fail_with,
    image_number,
    image_string,
    transaction_connection,
)

K = ContractRecord
# A consistent read cancelled by concurrent writes is made again, as often as a transaction is sent again.
READ_BACKOFF = Backoff(CONFLICT_ATTEMPTS)
P = ProgramRecord


@dataclass(frozen=True)
class Contract:
    contract_id: str
    certificate_id: str
    guardian_sub: str
    provider_id: str
    program_id: str
    program_title: str
    period_id: str
    municipality: str
    status: ContractStatus
    price_per_month: int
    months: list[str]
    hold_amount: int
    remaining_hold: int
    charged_total: int
    charges: dict[str, int]
    funded: bool
    created_at: str
    respond_by: str
    accepted_at: str | None = None
    ended_at: str | None = None
    end_reason: str | None = None
    ended_by: str | None = None
    version: int = 0


def _contract(record: ContractRecord) -> Contract:
    return Contract(
        contract_id=record.contract_id,
        certificate_id=record.certificate_id,
        guardian_sub=record.guardian_sub,
        provider_id=record.provider_id,
        program_id=record.program_id,
        program_title=record.program_title,
        period_id=record.period_id,
        municipality=record.municipality,
        status=ContractStatus(record.status),
        price_per_month=int(record.price_per_month),
        months=list(record.months or []),
        hold_amount=int(record.hold_amount),
        remaining_hold=int(record.remaining_hold),
        charged_total=int(record.charged_total or 0),
        charges={month: int(amount) for month, amount in record.charges.as_dict().items()},
        funded=bool(record.funded),
        created_at=record.created_at,
        respond_by=record.respond_by,
        accepted_at=record.accepted_at,
        ended_at=record.ended_at,
        end_reason=record.end_reason,
        ended_by=record.ended_by,
        version=int(record.version or 0),
    )


def get(contract_id: str) -> Contract:
    try:
        return _contract(ContractRecord.get(contract_id, consistent_read=True))
    except DoesNotExist:
        raise errors.ContractNotFound() from None


@dataclass(frozen=True)
class Page:
    contracts: list[Contract]
    next_key: dict[str, Any] | None


def _page(result: Any) -> Page:
    return Page([_contract(record) for record in result], result.last_evaluated_key)


@dataclass(frozen=True)
class Filters:
    status: str | None = None
    program_id: str | None = None
    month: str | None = None

    def condition(self) -> Any:
        parts: list[Condition] = []
        if self.status is not None:
            parts.append(K.status == self.status)
        if self.program_id is not None:
            parts.append(K.program_id == self.program_id)
        if self.month is not None:
            parts.append(K.months.contains(self.month))
        condition = None
        for part in parts:
            condition = part if condition is None else condition & part
        return condition


def _newest_first(index: Any, key: str, limit: int, after: dict[str, Any] | None, filters: Filters) -> Page:
    result = index.query(
        key,
        scan_index_forward=False,
        limit=limit,
        page_size=limit,
        last_evaluated_key=after,
        filter_condition=filters.condition(),
    )
    return _page(result)


def of_guardian(guardian_sub: str, limit: int, after: dict[str, Any] | None, filters: Filters) -> Page:
    """A parent's contracts, newest first: one Query on by_guardian."""
    return _newest_first(ContractRecord.by_guardian, guardian_sub, limit, after, filters)


def of_provider(provider_id: str, limit: int, after: dict[str, Any] | None, filters: Filters) -> Page:
    """A provider's contracts, newest first: one Query on by_provider."""
    return _newest_first(ContractRecord.by_provider, provider_id, limit, after, filters)


def requests_due(stamp: str) -> Iterator[Contract]:
    """Requests whose answer was due before ``stamp``: a job's Scan, never a request path."""
    for record in ContractRecord.scan(
        (K.status == ContractStatus.REQUESTED.value) & (K.respond_by < stamp), consistent_read=True
    ):
        yield _contract(record)


# --- the enrolment ---------------------------------------------------------------------------------------------------


def read_enrolment(
    certificate_id: str, program_id: str, contract_id: str
) -> tuple[Any, ProgramRecord, Contract | None]:
    """The certificate, the program and the contract this request would write (present if a first attempt wrote
    it), in one consistent round trip (TransactGetItems)."""
    from chalicelib.storage.certificates import _from_record
    from chalicelib.storage.models import CertificateRecord

    def read(_attempt: int) -> tuple[Any, Any, Any]:
        try:
            with TransactGet(connection=transaction_connection()) as read:
                found = (
                    read.get(CertificateRecord, certificate_id),
                    read.get(ProgramRecord, program_id, "program"),
                    read.get(ContractRecord, contract_id),
                )
        except TransactGetError as failure:
            # AWS cancels a transactional read that meets a concurrent write of one of its items: read again.
            if not any(r is not None and r.code == "TransactionConflict" for r in failure.cancellation_reasons):
                raise
            raise _ReadConflict("the certificate or the program kept changing; retry") from failure
        return found

    certificate, program, existing = retry(read, READ_BACKOFF, on=_ReadConflict)
    try:
        found_certificate = _from_record(certificate.get())
    except CertificateRecord.DoesNotExist:
        raise errors.CertificateNotFound() from None
    try:
        found_program = program.get()
    except ProgramRecord.DoesNotExist:
        raise errors.ProgramNotFound() from None
    try:
        return found_certificate, found_program, _contract(existing.get())
    except ContractRecord.DoesNotExist:
        return found_certificate, found_program, None


class _ReadConflict(errors.ConcurrentUpdate):
    """The enrolment's consistent read met a concurrent write of one of its items."""


class ContractExists(errors.DomainError):
    """A contract with this id was already written (a retried enrolment)."""

    code = "contract_exists"


def _seat_refusal(paid: bool) -> OnFailure:
    def explain(image: dict[str, Any] | None) -> Exception:
        if image is None:
            return errors.ProgramNotFound()
        status = image_string(image, "status")
        if status not in (("certified",) if paid else ("published", "certified")):
            return errors.NotCertified()
        if (image_number(image, "seats_taken") or 0) >= (image_number(image, "capacity") or 0):
            return errors.NoSeats()
        return errors.ConcurrentUpdate("the program changed; retry")

    return explain


def commit_enrolment(
    contract: Contract, certificate_status: CertificateStatus, paid: bool, now: datetime, actor: str
) -> None:
    """Seat, contract, hold and ledger entry in one transaction.

    A funded certificate pays from its balance; an accounting certificate may take a free program only (no money
    moves, but the seat and the contract are the same).
    """
    tx = Transaction()
    tx.put(_record(contract), K.contract_id.does_not_exist(), fail_with(ContractExists()))
    tx.put(
        SeatRecord(
            program_id=contract.program_id,
            record=f"seat#{contract.certificate_id}",
            contract_id=contract.contract_id,
            taken_at=money.utc_stamp(now),
        ),
        SeatRecord.program_id.does_not_exist(),
        fail_with(errors.AlreadyEnrolled()),
    )
    tx.update(
        P(program_id=contract.program_id, record="program"),
        [P.seats_taken.add(1), P.version.add(1)],
        # Only a certified program takes certificate money; a free one may also be merely published.
        (P.status == "certified" if paid else P.status.is_in("published", "certified"))
        & (P.seats_taken < P.capacity)
        & (P.period_id == contract.period_id)
        & (P.price_per_month == contract.price_per_month),
        _seat_refusal(paid),
        want_old_image=True,
    )
    add_approved_check(tx, contract.provider_id)
    if contract.hold_amount > 0:
        money.add_hold(
            tx,
            contract.certificate_id,
            contract.period_id,
            contract.contract_id,
            contract.hold_amount,
            money.Posting(now),
            actor,
        )
    else:
        money.check_usable(tx, contract.certificate_id, certificate_status)
    tx.commit()


def _record(contract: Contract) -> ContractRecord:
    return ContractRecord(
        contract_id=contract.contract_id,
        certificate_id=contract.certificate_id,
        guardian_sub=contract.guardian_sub,
        provider_id=contract.provider_id,
        program_id=contract.program_id,
        program_title=contract.program_title,
        period_id=contract.period_id,
        municipality=contract.municipality,
        status=contract.status.value,
        price_per_month=contract.price_per_month,
        months=list(contract.months),
        hold_amount=contract.hold_amount,
        remaining_hold=contract.remaining_hold,
        charged_total=contract.charged_total,
        charges=dict(contract.charges),
        funded=contract.funded,
        created_at=contract.created_at,
        respond_by=contract.respond_by,
        version=contract.version,
    )


# --- accept, and the ways a contract ends ----------------------------------------------------------------------------


def _state_refusal(expected: ContractStatus) -> OnFailure:
    def explain(image: dict[str, Any] | None) -> Exception:
        if image is None:
            return errors.ContractNotFound()
        status = image_string(image, "status")
        if status != expected.value:
            return errors.InvalidTransition(f"the contract is {status}")
        return errors.ConcurrentUpdate("the contract changed; retry")

    return explain


def commit_accept(contract: Contract, now: datetime, actor: str) -> Contract:
    """requested -> active, only before the answer is due and while the provider is approved; returns the contract
    as written (a requested contract changes in nothing else, so no read is needed after the write)."""
    stamp = money.utc_stamp(now)
    tx = Transaction()
    tx.update(
        K(contract_id=contract.contract_id),
        [K.status.set(ContractStatus.ACTIVE.value), K.accepted_at.set(stamp), K.version.add(1)],
        (K.status == ContractStatus.REQUESTED.value) & (K.respond_by >= stamp),
        _accept_refusal(stamp),
        want_old_image=True,
    )
    add_approved_check(tx, contract.provider_id)
    tx.commit()
    return replace(contract, status=ContractStatus.ACTIVE, accepted_at=stamp, version=contract.version + 1)


def _accept_refusal(stamp: str) -> OnFailure:
    def explain(image: dict[str, Any] | None) -> Exception:
        if (
            image is not None
            and image_string(image, "status") == "requested"
            and (image_string(image, "respond_by") or "") < stamp
        ):
            return errors.NotActive("the request expired before it was accepted")
        return _state_refusal(ContractStatus.REQUESTED)(image)

    return explain


def commit_end(contract: Contract, status: ContractStatus, reason: str | None, now: datetime, actor: str) -> Contract:
    """Ends an open contract: frees the child's seat and releases exactly what is still held (what was charged
    stays spent). Conditional on the contract being as read."""
    stamp = money.utc_stamp(now)
    tx = Transaction()
    tx.update(
        K(contract_id=contract.contract_id),
        [
            K.status.set(status.value),
            K.remaining_hold.set(0),
            K.ended_at.set(stamp),
            K.end_reason.set(reason or status.value),
            K.ended_by.set(actor),
            K.version.add(1),
        ],
        (K.status == contract.status.value) & (K.version == contract.version),
        _state_refusal(contract.status),
        want_old_image=True,
    )
    tx.delete(
        SeatRecord(program_id=contract.program_id, record=f"seat#{contract.certificate_id}"),
        SeatRecord.contract_id == contract.contract_id,
        fail_with(errors.ConcurrentUpdate("the seat changed; retry")),
    )
    tx.update(
        P(program_id=contract.program_id, record="program"),
        [P.seats_taken.add(-1), P.version.add(1)],
        P.seats_taken >= 1,
        fail_with(errors.ConcurrentUpdate("the program's seats changed; retry")),
    )
    if contract.remaining_hold > 0:
        money.add_release(
            tx,
            contract.certificate_id,
            contract.period_id,
            contract.contract_id,
            contract.remaining_hold,
            money.Posting(now),
            actor,
            reason=status.value,
        )
    tx.commit()
    return replace(contract, status=status, remaining_hold=0, ended_at=stamp, end_reason=reason or status.value)


# --- the monthly charge ----------------------------------------------------------------------------------------------


def commit_charge(
    contract_id: str,
    certificate_id: str,
    provider_id: str,
    period_id: str,
    month: str,
    amount: int,
    now: datetime,
    actor: str,
    answer: tuple[Model, Any] | None = None,
) -> None:
    """One round trip, no read before it: the contract's conditions carry every rule of I5 (active, this provider's,
    a month of the contract not yet charged, at most the price, at most what is still held). ``answer`` is the
    request's Idempotency-Key record with its condition, written by the same transaction; its refusal explains
    first (a replay)."""
    charges = K.charges[month]
    tx = Transaction()
    tx.update(
        K(contract_id=contract_id),
        [
            charges.set(amount),
            K.remaining_hold.add(-amount),
            K.charged_total.add(amount),
            K.version.add(1),
        ],
        (K.status == ContractStatus.ACTIVE.value)
        & (K.provider_id == provider_id)
        & (K.period_id == period_id)
        & charges.does_not_exist()
        & K.months.contains(month)
        & (K.price_per_month >= amount)
        & (K.remaining_hold >= amount),
        lambda image: charge_refusal(_charge_state(image), provider_id, period_id, month, amount),
        want_old_image=True,
        rank=0,
    )
    add_approved_check(tx, provider_id)
    money.add_charge(
        tx,
        certificate_id,
        period_id,
        contract_id,
        month,
        amount,
        money.Posting(now),
        actor,
        already=errors.MonthCharged(),
    )
    if answer is not None:
        record, free = answer
        tx.put(record, free, fail_with(Answered()), rank=-1)
    tx.commit()


def _charge_state(image: dict[str, Any] | None) -> ContractState | None:
    if image is None:
        return None
    return ContractState(
        status=ContractStatus(image_string(image, "status")),
        provider_id=image_string(image, "provider_id") or "",
        period_id=image_string(image, "period_id") or "",
        months=[item["S"] for item in image.get("months", {}).get("L", [])],
        charged_months=set(image.get("charges", {}).get("M", {})),
        price_per_month=image_number(image, "price_per_month") or 0,
        remaining_hold=image_number(image, "remaining_hold") or 0,
    )
