"""Objections to charges: a parent files one, the provider and the operators read them, an operator decides."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from chalicelib.domain import errors
from chalicelib.domain.objection import ObjectionDecision, ObjectionStatus
from chalicelib.platform import cursor
from chalicelib.services import objections
from functions.edge.apidoc import describe
from functions.edge.http import DIGITS_ONLY, Call, Query, Reply
from functions.schemas import Out, Strict

MAX_PAGE = 100
Reason = Annotated[str, Field(min_length=1, max_length=2000)]


class ObjectionIn(Strict):
    reason: Reason


class ObjectionDecisionIn(Strict):
    decision: ObjectionDecision
    reason: Reason


class ObjectionOut(Out):
    id: str = Field(validation_alias="objection_id")
    contract_id: str
    certificate_id: str
    month: str
    amount: int
    period_id: str
    provider_id: str
    program_id: str
    program_title: str
    municipality: str
    status: ObjectionStatus
    reason: str
    filed_at: str
    charged_at: str
    decided_at: str | None
    decision_reason: str | None
    returned_to: Annotated[
        str | None, Field(description="Where an upheld charge's money went: available, or expired after its period.")
    ]


class ObjectionsQuery(Query):
    municipality: Annotated[
        str | None, Field(min_length=1, max_length=48, description="An operator's queue: whose (default: theirs).")
    ] = None
    status: Annotated[ObjectionStatus | None, Field(description="An operator's queue: which (default: open).")] = None
    limit: Annotated[int, Field(ge=1, le=MAX_PAGE), DIGITS_ONLY] = 20
    cursor: Annotated[str | None, Field(description="The previous page's cursor (same filters).")] = None


class ObjectionsOut(Out):
    objections: list[ObjectionOut]
    cursor: str | None


@describe(
    summary="Object to a month's charge (within the objection window after it was made); it counts as disputed",
    body=ObjectionIn,
    returns=ObjectionOut,
    status=201,
    refusals=(
        errors.ContractNotFound,
        errors.NotCharged,
        errors.ObjectionWindowClosed,
        errors.AlreadyObjected,
        errors.InvalidRequest,
    ),
    roles=("the parent of the contract's child",),
)
def file_objection(call: Call) -> Reply:
    body = call.parse(ObjectionIn)
    objection = objections.object_to_charge(
        call.ctx, call.actor, call.params["contract_id"], call.params["month"], body.reason
    )
    return Reply(ObjectionOut.of(objection), 201)


@describe(
    summary="Decide an objection: upheld reverses the charge with a new ledger entry (the charge stays on the ledger)",
    body=ObjectionDecisionIn,
    returns=ObjectionOut,
    refusals=(
        errors.ObjectionNotFound,
        errors.ObjectionDecided,
        errors.CertificateFrozen,
        errors.ConcurrentUpdate,
        errors.InvalidRequest,
    ),
    roles=("operator of the contract's municipality", "regional operator"),
)
def decide(call: Call) -> Reply:
    body = call.parse(ObjectionDecisionIn)
    objection = objections.decide(call.ctx, call.actor, call.params["objection_id"], body.decision, body.reason)
    return Reply(ObjectionOut.of(objection))


@describe(
    summary="An objection",
    returns=ObjectionOut,
    refusals=(errors.ObjectionNotFound,),
    roles=("its parent", "the provider charged", "operator of its municipality"),
)
def view(call: Call) -> Reply:
    return Reply(ObjectionOut.of(objections.view(call.ctx, call.actor, call.params["objection_id"])))


@describe(
    summary="Objections: a parent's, a provider's (to its charges, newest first), or an operator's queue by status",
    query=ObjectionsQuery,
    returns=ObjectionsOut,
    refusals=(errors.InvalidRequest,),
    roles=("parent", "provider", "operator"),
)
def listing(call: Call) -> Reply:
    query = call.parse_query(ObjectionsQuery)
    status = query.status.value if query.status is not None else None
    secret = call.ctx.settings.cursor_key
    scope = f"objections:{call.actor.sub}:{query.municipality}:{status}"
    after = cursor.decode(secret, scope, query.cursor)
    page = objections.listing(call.ctx, call.actor, query.limit, after, query.municipality, status)
    return Reply(ObjectionsOut.build(objections=page.items, cursor=cursor.encode(secret, scope, page.next_key)))
