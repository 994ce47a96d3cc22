"""Contracts: enrol, accept, decline, charge a month, cancel; the parent's and the provider's cabinets."""

from typing import Annotated, Any

from aws_lambda_powertools.metrics import MetricUnit
from pydantic import Field

from chalicelib.domain import errors
from chalicelib.domain.contract import Contract, ContractFilters, ContractStatus
from chalicelib.platform import cursor, telemetry
from chalicelib.services import contracts
from chalicelib.services.context import Context
from functions.edge.apidoc import describe
from functions.edge.http import DIGITS_ONLY, Call, Query, Reply
from functions.schemas import Out, Seen, Strict

MAX_PAGE = 100
Reason = Annotated[str, Field(min_length=1, max_length=500)]


class EnrolIn(Strict):
    certificate_id: Annotated[str, Field(pattern=r"^\d{10}$")]
    program_id: Annotated[str, Field(min_length=1, max_length=64)]


class ChargeIn(Strict):
    month: Annotated[str, Field(pattern=r"^\d{4}-\d{2}$")]
    amount: Annotated[int, Field(gt=0, le=100_000_000)]


class ReasonIn(Strict):
    reason: Reason | None = None


class ContractOut(Out):
    id: str = Field(validation_alias="contract_id")
    certificate_id: str
    provider_id: str
    program_id: str
    program_title: str
    period_id: str
    municipality: str
    status: str
    price_per_month: int
    months: list[str]
    hold: int = Field(validation_alias="hold_amount")
    held: int = Field(validation_alias="remaining_hold")
    charged: int = Field(validation_alias="charged_total")
    charges: dict[str, int]
    months_to_charge: list[str]
    created_at: str
    respond_by: str
    accepted_at: str | None
    ended_at: str | None
    end_reason: str | None


def _out(ctx: Context, contract: Contract) -> ContractOut:
    """The contract with the months its provider may charge today."""
    return ContractOut.of(Seen(contract, months_to_charge=contract.months_to_charge(ctx.today())))


class ContractsQuery(Query):
    status: ContractStatus | None = None
    program_id: Annotated[str | None, Field(min_length=1, max_length=64)] = None
    month: Annotated[str | None, Field(pattern=r"^\d{4}-\d{2}$", description="Contracts running in this month.")] = None
    limit: Annotated[int, Field(ge=1, le=MAX_PAGE), DIGITS_ONLY] = 20
    cursor: Annotated[str | None, Field(description="The previous page's cursor (same filters).")] = None


class ContractsOut(Out):
    contracts: list[ContractOut]
    cursor: str | None


class ChargeOut(Out):
    contract_id: str
    month: str
    amount: int
    charged_at: str


@describe(
    summary="Enrol a child: the contract and the hold of its price for the months left",
    body=EnrolIn,
    returns=ContractOut,
    status=201,
    refusals=(
        errors.CertificateNotFound,
        errors.ProgramNotFound,
        errors.InsufficientFunds,
        errors.NoSeats,
        errors.AgeMismatch,
        errors.AlreadyEnrolled,
        errors.NotCertified,
        errors.NotFunded,
        errors.CertificateFrozen,
        errors.CertificateClosed,
        errors.ProgramNotCurrent,
        errors.StalePeriod,
        errors.ProviderNotApproved,
        errors.ProviderSuspended,
        errors.AlreadyApplied,
        errors.ConcurrentUpdate,
    ),
    roles=("parent (own child)",),
)
def enrol(call: Call) -> Reply:
    body = call.parse(EnrolIn)
    key = call.headers.get("idempotency-key", "")
    contract = contracts.enrol(call.ctx, call.actor, body.certificate_id, body.program_id, key)
    return Reply(_out(call.ctx, contract), 201)


@describe(
    summary="The caller's contracts: a parent's children's, or a provider's (pages may be short; follow cursor)",
    query=ContractsQuery,
    returns=ContractsOut,
    roles=("parent", "provider"),
)
def listing(call: Call) -> Reply:
    query = call.parse_query(ContractsQuery)
    status = query.status.value if query.status is not None else None
    filters = ContractFilters(status, query.program_id, query.month)
    secret = call.ctx.settings.cursor_key
    scope = f"contracts:{call.actor.sub}:{filters.scope}"
    page = contracts.listing(call.ctx, call.actor, query.limit, cursor.decode(secret, scope, query.cursor), filters)
    items = [_out(call.ctx, c) for c in page.items]
    return Reply(ContractsOut(contracts=items, cursor=cursor.encode(secret, scope, page.next_key)))


@describe(
    summary="A contract",
    returns=ContractOut,
    refusals=(errors.ContractNotFound,),
    roles=("its parent", "its provider", "operator of its municipality"),
)
def view(call: Call) -> Reply:
    return Reply(_out(call.ctx, contracts.view(call.ctx, call.actor, call.params["contract_id"])))


@describe(
    summary="Accept an enrolment request",
    returns=ContractOut,
    refusals=(
        errors.ContractNotFound,
        errors.InvalidTransition,
        errors.NotActive,
        errors.ProviderNotApproved,
        errors.ProviderSuspended,
        errors.ConcurrentUpdate,
    ),
    roles=("its provider",),
)
def accept(call: Call) -> Reply:
    return Reply(_out(call.ctx, contracts.accept(call.ctx, call.actor, call.params["contract_id"])))


@describe(
    summary="Decline an enrolment request (a reason is required): its hold and seat are released",
    body=ReasonIn,
    returns=ContractOut,
    refusals=(errors.ContractNotFound, errors.InvalidTransition, errors.HoldNotFound, errors.ConcurrentUpdate),
    roles=("its provider",),
)
def decline(call: Call) -> Reply:
    body = call.parse(ReasonIn)
    if not body.reason or not body.reason.strip():
        raise errors.InvalidRequest("a reason is required")
    contract = contracts.decline(call.ctx, call.actor, call.params["contract_id"], body.reason.strip())
    return Reply(_out(call.ctx, contract))


@describe(
    summary="Cancel a contract: what is still held is released (the body may be left out; a provider gives a reason)",
    body=ReasonIn,
    returns=ContractOut,
    refusals=(errors.ContractNotFound, errors.InvalidTransition, errors.HoldNotFound, errors.ConcurrentUpdate),
    roles=("its parent", "its provider"),
)
def cancel(call: Call) -> Reply:
    body = call.parse(ReasonIn) if call.raw_body.strip() else ReasonIn()
    reason = body.reason.strip() if body.reason and body.reason.strip() else None
    contract = contracts.cancel(call.ctx, call.actor, call.params["contract_id"], reason)
    return Reply(_out(call.ctx, contract))


@describe(
    summary="Charge one month of an active contract",
    body=ChargeIn,
    returns=ChargeOut,
    status=201,
    refusals=(
        errors.ContractNotFound,
        errors.NotActive,
        errors.MonthCharged,
        errors.MonthNotChargeable,
        errors.OverPrice,
        errors.OverHold,
        errors.HoldNotFound,
        errors.StalePeriod,
        errors.CertificateFrozen,
        errors.ProviderNotApproved,
        errors.ProviderSuspended,
        errors.ConcurrentUpdate,
    ),
    roles=("its provider",),
)
def charge(call: Call) -> Reply:
    body = call.parse(ChargeIn)
    claim = call.claim

    def answer(receipt: contracts.Receipt) -> Any:
        """The key's record, answered with this very reply, for the charge's own transaction."""
        return None if claim is None else claim.answered(201, ChargeOut.of(receipt).model_dump_json())

    receipt = contracts.charge(call.ctx, call.actor, call.params["contract_id"], body.month, body.amount, answer)
    telemetry.count("Charges")
    telemetry.count("ChargedKopecks", receipt.amount, unit=MetricUnit.NoUnit)
    return Reply(ChargeOut.of(receipt), 201)
