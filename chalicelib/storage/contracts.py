"""Contracts: the mapper, the enrolment, accept, end (decline, expiry, cancellation) and charge transactions, reads.

Each transaction composes the contract's own items (the contract, the child's seat marker, the program's seat
count, a check that the provider is approved) with the money primitives of storage.movements (certificate + ledger),
so a seat, a contract, a hold and its ledger entry are written all together or not at all (I5, I6). A refusal is
explained from the old image of the item whose condition failed, read by that item's mapper.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist, TransactGetError
from pynamodb.expressions.condition import Condition
from pynamodb.models import Model
from pynamodb.transactions import TransactGet

from chalicelib.domain import errors
from chalicelib.domain.certificate import Certificate, CertificateStatus
from chalicelib.domain.contract import Contract, ContractFilters, ContractStatus, charge_refusal
from chalicelib.domain.ledger import Posting, utc_stamp
from chalicelib.domain.movements import Charge, Hold, Release
from chalicelib.domain.objection import ObjectionStatus
from chalicelib.domain.program import Program, ProgramStatus
from chalicelib.storage import movements
from chalicelib.storage.certificates import CERTIFICATES
from chalicelib.storage.idempotency import Answered
from chalicelib.storage.mapping import Mapper, enum_of, list_of, map_of
from chalicelib.storage.models import CertificateRecord, ContractRecord, ProgramRecord, SeatRecord
from chalicelib.storage.pages import Page
from chalicelib.storage.programs import PROGRAMS
from chalicelib.storage.providers import add_approved_check
from chalicelib.storage.retry import Backoff, retry
from chalicelib.storage.transactions import CONFLICT_ATTEMPTS, OnFailure, Transaction, fail_with, transaction_connection

CONTRACTS = Mapper(
    Contract,
    ContractRecord,
    convert={
        "status": enum_of(ContractStatus),
        "months": list_of(),
        "charges": map_of(),
        "objections": map_of(enum_of(ObjectionStatus)),
        "reversals": map_of(),
    },
)
# A consistent read cancelled by concurrent writes is made again, as often as a transaction is sent again.
READ_BACKOFF = Backoff(CONFLICT_ATTEMPTS)


def get(contract_id: str) -> Contract:
    try:
        return CONTRACTS.to_entity(ContractRecord.get(contract_id, consistent_read=True))
    except DoesNotExist:
        raise errors.ContractNotFound() from None


def find(contract_id: str) -> Contract | None:
    """One consistent GetItem (None if there is none)."""
    try:
        return get(contract_id)
    except errors.ContractNotFound:
        return None


def _page(result: Any) -> Page[Contract]:
    return Page([CONTRACTS.to_entity(record) for record in result], result.last_evaluated_key)


def _condition(filters: ContractFilters) -> Condition | None:
    parts: list[Condition] = []
    if filters.status is not None:
        parts.append(ContractRecord.status == filters.status)
    if filters.program_id is not None:
        parts.append(ContractRecord.program_id == filters.program_id)
    if filters.month is not None:
        parts.append(ContractRecord.months.contains(filters.month))
    condition = None
    for part in parts:
        condition = part if condition is None else condition & part
    return condition


def _newest_first(
    index: Any, key: str, limit: int, after: dict[str, Any] | None, filters: ContractFilters
) -> Page[Contract]:
    result = index.query(
        key,
        scan_index_forward=False,
        limit=limit,
        page_size=limit,
        last_evaluated_key=after,
        filter_condition=_condition(filters),
    )
    return _page(result)


def of_guardian(
    guardian_sub: str, limit: int, after: dict[str, Any] | None, filters: ContractFilters
) -> Page[Contract]:
    """A parent's contracts, newest first: one Query on by_guardian."""
    return _newest_first(ContractRecord.by_guardian, guardian_sub, limit, after, filters)


def of_provider(provider_id: str, limit: int, after: dict[str, Any] | None, filters: ContractFilters) -> Page[Contract]:
    """A provider's contracts, newest first: one Query on by_provider."""
    return _newest_first(ContractRecord.by_provider, provider_id, limit, after, filters)


def open_of_certificate(certificate_id: str) -> list[Contract]:
    """The certificate's requested or active contracts: one Query on the by_certificate index."""
    K = ContractRecord
    opened = K.status.is_in(ContractStatus.REQUESTED.value, ContractStatus.ACTIVE.value)
    return [CONTRACTS.to_entity(record) for record in K.by_certificate.query(certificate_id, filter_condition=opened)]


def requests_due(stamp: str) -> Iterator[Contract]:
    """Requests whose answer was due before ``stamp``: a job's Scan, never a request path."""
    K = ContractRecord
    for record in K.scan((K.status == ContractStatus.REQUESTED.value) & (K.respond_by < stamp), consistent_read=True):
        yield CONTRACTS.to_entity(record)


def batch(contract_ids: set[str]) -> dict[str, Contract]:
    """The contracts of ``contract_ids`` that exist: BatchGetItem (100 keys a round)."""
    return {c.contract_id: CONTRACTS.to_entity(c) for c in ContractRecord.batch_get(sorted(contract_ids))}


# --- the enrolment ---------------------------------------------------------------------------------------------------


class _ReadConflict(errors.ConcurrentUpdate):
    """The enrolment's consistent read met a concurrent write of one of its items."""


def read_enrolment(
    certificate_id: str, program_id: str, contract_id: str
) -> tuple[Certificate, Program, Contract | None]:
    """The certificate, the program and the contract this request would write (present if a first attempt wrote
    it), in one consistent round trip (TransactGetItems)."""

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
        found_certificate = CERTIFICATES.to_entity(certificate.get())
    except CertificateRecord.DoesNotExist:
        raise errors.CertificateNotFound() from None
    try:
        found_program = PROGRAMS.to_entity(program.get())
    except ProgramRecord.DoesNotExist:
        raise errors.ProgramNotFound() from None
    try:
        return found_certificate, found_program, CONTRACTS.to_entity(existing.get())
    except ContractRecord.DoesNotExist:
        return found_certificate, found_program, None


class ContractExists(errors.DomainError):
    """A contract with this id was already written (a retried enrolment)."""

    code = "contract_exists"


def _seat_refusal(paid: bool) -> OnFailure:
    def explain(image: dict[str, Any] | None) -> Exception:
        if image is None:
            return errors.ProgramNotFound()
        program = PROGRAMS.from_image(image)
        if program.status not in (
            (ProgramStatus.CERTIFIED,) if paid else (ProgramStatus.PUBLISHED, ProgramStatus.CERTIFIED)
        ):
            return errors.NotCertified()
        if program.seats_taken >= program.capacity:
            return errors.NoSeats()
        return errors.ConcurrentUpdate("the program changed; retry")

    return explain


def commit_enrolment(
    contract: Contract, *, certificate_status: CertificateStatus, paid: bool, now: datetime, actor: str
) -> None:
    """Seat, contract, hold and ledger entry in one transaction.

    A funded certificate pays from its balance; an accounting certificate may take a free program only (no money
    moves, but the seat and the contract are the same).
    """
    tx = Transaction()
    tx.put(CONTRACTS.record(contract), ContractRecord.contract_id.does_not_exist(), fail_with(ContractExists()))
    tx.put(
        SeatRecord(
            program_id=contract.program_id,
            record=f"seat#{contract.certificate_id}",
            contract_id=contract.contract_id,
            taken_at=utc_stamp(now),
        ),
        SeatRecord.program_id.does_not_exist(),
        fail_with(errors.AlreadyEnrolled()),
    )
    tx.update(
        ProgramRecord(program_id=contract.program_id, record="program"),
        [ProgramRecord.seats_taken.add(1), ProgramRecord.version.add(1)],
        # Only a certified program takes certificate money; a free one may also be merely published.
        (ProgramRecord.status == "certified" if paid else ProgramRecord.status.is_in("published", "certified"))
        & (ProgramRecord.seats_taken < ProgramRecord.capacity)
        & (ProgramRecord.period_id == contract.period_id)
        & (ProgramRecord.price_per_month == contract.price_per_month),
        _seat_refusal(paid),
        want_old_image=True,
    )
    add_approved_check(tx, contract.provider_id)
    if contract.hold_amount > 0:
        hold = Hold(
            certificate_id=contract.certificate_id,
            period_id=contract.period_id,
            contract_id=contract.contract_id,
            amount=contract.hold_amount,
        )
        movements.add_hold(tx, hold, Posting(now), actor)
    else:
        movements.check_usable(tx, contract.certificate_id, certificate_status)
    tx.commit()


# --- accept, and the ways a contract ends ----------------------------------------------------------------------------


def _state_refusal(expected: ContractStatus) -> OnFailure:
    def explain(image: dict[str, Any] | None) -> Exception:
        if image is None:
            return errors.ContractNotFound()
        status = CONTRACTS.from_image(image).status
        if status is not expected:
            return errors.InvalidTransition(f"the contract is {status.value}")
        return errors.ConcurrentUpdate("the contract changed; retry")

    return explain


def commit_accept(contract: Contract, *, now: datetime, actor: str) -> Contract:
    """requested -> active, only before the answer is due and while the provider is approved; returns the contract
    as written (a requested contract changes in nothing else, so no read is needed after the write)."""
    K = ContractRecord
    stamp = utc_stamp(now)
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
        if image is not None:
            read = CONTRACTS.from_image(image)
            if read.status is ContractStatus.REQUESTED and read.respond_by < stamp:
                return errors.NotActive("the request expired before it was accepted")
        return _state_refusal(ContractStatus.REQUESTED)(image)

    return explain


def commit_end(
    contract: Contract, status: ContractStatus, *, reason: str | None, now: datetime, actor: str
) -> Contract:
    """Ends an open contract: frees the child's seat and releases exactly what is still held (what was charged
    stays spent). Conditional on the contract being as read."""
    K = ContractRecord
    stamp = utc_stamp(now)
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
        ProgramRecord(program_id=contract.program_id, record="program"),
        [ProgramRecord.seats_taken.add(-1), ProgramRecord.version.add(1)],
        ProgramRecord.seats_taken >= 1,
        fail_with(errors.ConcurrentUpdate("the program's seats changed; retry")),
    )
    if contract.remaining_hold > 0:
        release = Release(
            certificate_id=contract.certificate_id,
            period_id=contract.period_id,
            contract_id=contract.contract_id,
            amount=contract.remaining_hold,
            reason=status.value,
        )
        movements.add_release(tx, release, Posting(now), actor)
    tx.commit()
    return replace(
        contract,
        status=status,
        remaining_hold=0,
        ended_at=stamp,
        end_reason=reason or status.value,
        ended_by=actor,
        version=contract.version + 1,
    )


# --- the monthly charge ----------------------------------------------------------------------------------------------


def commit_charge(charge: Charge, *, now: datetime, actor: str, answer: tuple[Model, Any] | None = None) -> None:
    """One round trip, no read before it: the contract's conditions carry every rule of I5 (active, this provider's,
    a month of the contract not yet charged, at most the price, at most what is still held). ``answer`` is the
    request's Idempotency-Key record with its condition, written by the same transaction; its refusal explains
    first (a replay)."""
    K = ContractRecord
    charges = K.charges[charge.month]
    tx = Transaction()
    tx.update(
        K(contract_id=charge.contract_id),
        [
            charges.set(charge.amount),
            K.remaining_hold.add(-charge.amount),
            K.charged_total.add(charge.amount),
            K.version.add(1),
        ],
        (K.status == ContractStatus.ACTIVE.value)
        & (K.provider_id == charge.provider_id)
        & (K.period_id == charge.period_id)
        & charges.does_not_exist()
        & K.months.contains(charge.month)
        & (K.price_per_month >= charge.amount)
        & (K.remaining_hold >= charge.amount),
        lambda image: charge_refusal(None if image is None else CONTRACTS.from_image(image), charge),
        want_old_image=True,
        rank=0,
    )
    add_approved_check(tx, charge.provider_id)
    movements.add_charge(tx, charge, Posting(now), actor, already=errors.MonthCharged())
    if answer is not None:
        record, free = answer
        tx.put(record, free, fail_with(Answered()), rank=-1)
    tx.commit()
