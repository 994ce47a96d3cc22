"""Contracts: enrol a child (with the hold), accept or decline, charge a month, cancel, expire; the cabinets."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from chalicelib.domain import errors
from chalicelib.domain.actors import Principal, Role
from chalicelib.domain.certificate import Certificate, CertificateStatus, refuse_money_movement
from chalicelib.domain.contract import (
    OPEN,
    Contract,
    ContractFilters,
    ContractStatus,
    certificate_of,
    check_charge_request,
    enrolment_terms,
    new_contract_id,
    require_contract_id,
)
from chalicelib.domain.ids import ProviderId
from chalicelib.domain.ledger import utc_stamp
from chalicelib.domain.movements import Charge
from chalicelib.domain.period import Month, Period
from chalicelib.platform import notifications
from chalicelib.platform.notifications import Notice, Notifier
from chalicelib.services.certificates import ensure_current
from chalicelib.services.context import Context
from chalicelib.storage import contracts as store
from chalicelib.storage.pages import Page
from chalicelib.storage.retry import Backoff, retry

END_BACKOFF = Backoff(5)


def enrol(ctx: Context, actor: Principal, certificate_id: str, program_id: str, request_key: str) -> Contract:
    """Creates the contract and holds its price for the months left (I1, I5, I6): one read, one transaction.

    The contract's id comes from the caller and their Idempotency-Key, so a retry after a crash finds the first
    contract instead of making a second.
    """
    actor.require(Role.PARENT)
    contract_id = new_contract_id(certificate_id, f"{actor.sub}\n{request_key}")
    certificate, program, existing = store.read_enrolment(certificate_id, program_id, contract_id)
    if certificate.guardian_sub != actor.sub:
        raise errors.CertificateNotFound()
    if existing is not None:
        return existing  # a retry of a request whose first attempt was written
    certificate = ensure_current(ctx, certificate)
    if certificate.status not in (CertificateStatus.FUNDED, CertificateStatus.ACCOUNTING):
        refuse_money_movement(certificate.status)
    price = program.price_per_month
    if certificate.status is CertificateStatus.ACCOUNTING and price > 0:
        raise errors.NotFunded("an accounting certificate may enrol only in free programs")
    period = _program_period(ctx, program.period_id, certificate)
    terms = enrolment_terms(
        ctx.today(), period, program.months, price, program.age_min, program.age_max, certificate.birth_date
    )
    if program.seats_taken >= program.capacity:
        # The transaction would refuse it too: spare the doomed write (in a rush, every loser sends one to the
        # very item the winners need). The transaction still guards the last seat (I6).
        raise errors.NoSeats()
    hold = terms.hold if certificate.status is CertificateStatus.FUNDED else 0
    now = ctx.now()
    contract = Contract(
        contract_id=contract_id,
        certificate_id=certificate.certificate_id,
        guardian_sub=actor.sub,
        provider_id=program.provider_id,
        program_id=program.program_id,
        program_title=program.title,
        period_id=period.period_id,
        municipality=program.municipality,
        status=ContractStatus.REQUESTED,
        price_per_month=price,
        months=list(terms.months),
        hold_amount=hold,
        remaining_hold=hold,
        funded=certificate.status is CertificateStatus.FUNDED,
        created_at=utc_stamp(now),
        respond_by=utc_stamp(now + timedelta(days=ctx.settings.contract_response_days)),
    )
    try:
        store.commit_enrolment(
            contract, certificate_status=certificate.status, paid=price > 0, now=now, actor=actor.sub
        )
    except store.ContractExists:
        return store.get(contract_id)
    return contract


def _program_period(ctx: Context, period_id: str, certificate: Certificate) -> Period:
    period = ctx.current_period()
    if period is None or period.period_id != period_id or not period.contains(ctx.today()):
        raise errors.ProgramNotCurrent("the program does not run in the current period")
    if certificate.status is CertificateStatus.FUNDED and certificate.period_id != period_id:
        raise errors.StalePeriod()
    return period


def _own_contract_as_provider(actor: Principal, contract_id: str) -> Contract:
    actor.require(Role.PROVIDER)
    contract = store.get(contract_id)
    if contract.provider_id != actor.provider_id:
        raise errors.ContractNotFound()
    return contract


def accept(ctx: Context, actor: Principal, contract_id: str) -> Contract:
    contract = _own_contract_as_provider(actor, contract_id)
    if contract.status is ContractStatus.ACTIVE:
        return contract
    return store.commit_accept(contract, now=ctx.now(), actor=actor.sub)


def decline(
    ctx: Context, actor: Principal, contract_id: str, reason: str, notifier: Notifier | None = None
) -> Contract:
    """The provider refuses a request: its hold and its seat are released (the guardian is told)."""
    contract = _own_contract_as_provider(actor, contract_id)
    if contract.status is not ContractStatus.REQUESTED:
        raise errors.InvalidTransition(f"the contract is {contract.status.value}")
    return _end(
        ctx, contract, ContractStatus.DECLINED, reason, actor.sub, expect=(ContractStatus.REQUESTED,), notifier=notifier
    )


def cancel(
    ctx: Context, actor: Principal, contract_id: str, reason: str | None, notifier: Notifier | None = None
) -> Contract:
    """The parent or the provider ends the contract: what is still held is released, what was charged stays."""
    contract = store.get(contract_id)
    if actor.role is Role.PARENT and contract.guardian_sub == actor.sub:
        pass
    elif actor.role is Role.PROVIDER and contract.provider_id == actor.provider_id:
        if not reason:
            raise errors.InvalidRequest("a provider gives a reason to cancel")
    else:
        actor.require(Role.PARENT, Role.PROVIDER)
        raise errors.ContractNotFound()
    return _end(ctx, contract, ContractStatus.CANCELLED, reason, actor.sub, expect=OPEN, notifier=notifier)


def _end(
    ctx: Context,
    contract: Contract,
    status: ContractStatus,
    reason: str | None,
    actor: str,
    expect: tuple[ContractStatus, ...],
    notifier: Notifier | None = None,
) -> Contract:
    def attempt(n: int) -> tuple[Contract, Contract]:
        """(the contract as read, as ended), from a fresh read after a write that met a change."""
        current = contract if n == 0 else store.get(contract.contract_id)
        if current.status not in expect:
            raise errors.InvalidTransition(f"the contract is {current.status.value}")
        return current, store.commit_end(current, status, reason=reason, now=ctx.now(), actor=actor)

    read, ended = retry(attempt, END_BACKOFF, on=errors.ConcurrentUpdate, gave_up="the contract kept changing; retry")
    if read.remaining_hold > 0:
        # After the commit: a failure to tell is logged and counted, never an error of the ending.
        told = notifier or notifications.for_settings(ctx.settings)
        notifications.tell(told, [released_notice(read, status)])
    return ended


def released_notice(contract: Contract, status: ContractStatus) -> Notice:
    return Notice(
        notifications.HOLD_RELEASED,
        contract.certificate_id,
        contract.guardian_sub,
        {
            "contract_id": contract.contract_id,
            "program_id": contract.program_id,
            "amount": contract.remaining_hold,
            "reason": status.value,
        },
    )


def expire_requests(ctx: Context, notifier: Notifier | None = None) -> int:
    """Releases the hold and the seat of every request not accepted in time (the scheduled sweep)."""
    expired = 0
    stamp = utc_stamp(ctx.now())
    for contract in store.requests_due(stamp):
        try:
            _end(
                ctx,
                contract,
                ContractStatus.EXPIRED,
                "not accepted in time",
                "system:expiry",
                expect=(ContractStatus.REQUESTED,),
                notifier=notifier,
            )
            expired += 1
        except errors.InvalidTransition:
            continue  # accepted or cancelled meanwhile
    return expired


@dataclass(frozen=True)
class Receipt:
    """What a provider is told of its charge (and what the Idempotency-Key remembers)."""

    contract_id: str
    month: str
    amount: int
    charged_at: str


def charge(
    ctx: Context,
    actor: Principal,
    contract_id: str,
    month_text: str,
    amount: int,
    answer: Callable[[Receipt], Any] | None = None,
    notifier: Notifier | None = None,
) -> Receipt:
    """The provider charges one month of an active contract: one TransactWriteItems, no read before it.

    ``answer`` turns the receipt into the request's Idempotency-Key record, written by the same transaction.
    """
    actor.require(Role.PROVIDER)
    if actor.provider_id is None:
        raise errors.Forbidden()
    certificate_id = certificate_of(contract_id)
    month = Month.parse(month_text)
    period = check_charge_request(month, ctx.today(), _period_of(ctx, month), amount)
    now = ctx.now()
    receipt = Receipt(contract_id, str(month), amount, utc_stamp(now))
    planned = Charge(
        certificate_id=certificate_id,
        provider_id=ProviderId(actor.provider_id),
        period_id=period.period_id,
        contract_id=require_contract_id(contract_id),
        month=str(month),
        amount=amount,
    )
    store.commit_charge(planned, now=now, actor=actor.sub, answer=None if answer is None else answer(receipt))
    # After the commit, from what is in hand (a charge reads nothing: still one round trip). A failure to tell is
    # logged and counted; the charge stands and its answer is a success.
    notifications.tell(notifier or notifications.for_settings(ctx.settings), [charged_notice(receipt, certificate_id)])
    return receipt


def charged_notice(receipt: Receipt, certificate_id: str) -> Notice:
    """Addressed by certificate: the charge never reads the contract, so its guardian is looked up downstream."""
    return Notice(
        notifications.CHARGE_MADE,
        certificate_id,
        None,
        {"contract_id": receipt.contract_id, "month": receipt.month, "amount": receipt.amount},
    )


def _period_of(ctx: Context, month: Month) -> Period | None:
    return next((p for p in ctx.calendar.periods() if p.contains(month.first_day)), None)


def view(ctx: Context, actor: Principal, contract_id: str) -> Contract:
    contract = store.get(contract_id)
    if actor.role is Role.PARENT and contract.guardian_sub == actor.sub:
        return contract
    if actor.role is Role.PROVIDER and contract.provider_id == actor.provider_id:
        return contract
    if actor.role is Role.OPERATOR:
        if actor.operates_in(contract.municipality):
            return contract
        raise errors.Forbidden("the contract belongs to another municipality")
    raise errors.ContractNotFound()


def listing(
    ctx: Context, actor: Principal, limit: int, after: dict[str, Any] | None, filters: ContractFilters
) -> Page[Contract]:
    """A parent's contracts (all their children), or a provider's contracts of its programs (a page may come back
    short when filters apply; follow the cursor)."""
    filters.validated()
    if actor.role is Role.PARENT:
        return store.of_guardian(actor.sub, limit, after, filters)
    actor.require(Role.PROVIDER)
    if actor.provider_id is None:
        raise errors.Forbidden()
    return store.of_provider(actor.provider_id, limit, after, filters)
