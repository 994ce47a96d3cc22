"""Children and certificates: register a child, list them, fund a certificate, read its balance and ledger."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from chalicelib.domain import errors
from chalicelib.platform import cursor
from chalicelib.services import certificates
from functions.edge.apidoc import describe
from functions.edge.http import DIGITS_ONLY, Call, Query, Reply
from functions.schemas import CertificateOut, ChildIn, ChildOut, ChildrenOut, LedgerOut, Strict

DEFAULT_PAGE = 20
MAX_PAGE = 100


@describe(
    summary="Register a child: its certificate is issued (accounting)",
    body=ChildIn,
    returns=ChildOut,
    status=201,
    refusals=(errors.NotEligible, errors.DuplicateChild, errors.ConcurrentUpdate),
    roles=("parent",),
)
def register_child(call: Call) -> Reply:
    body = call.parse(ChildIn)
    certificate = certificates.register_child(call.ctx, call.actor, body.full_name, body.birth_date, body.municipality)
    return Reply(ChildOut.of(certificate), 201)


@describe(
    summary="The caller's children with their certificates",
    returns=ChildrenOut,
    refusals=(errors.ConcurrentUpdate,),
    roles=("parent",),
)
def list_children(call: Call) -> Reply:
    return Reply(ChildrenOut.build(children=certificates.list_children(call.ctx, call.actor)))


@describe(
    summary="Fund the certificate in the running period if the municipality's quota allows",
    returns=CertificateOut,
    refusals=(
        errors.CertificateNotFound,
        errors.QuotaExhausted,
        errors.NoOpenPeriod,
        errors.NotEligible,
        errors.CertificateFrozen,
        errors.CertificateClosed,
        errors.ConcurrentUpdate,
    ),
    roles=("parent (own child)",),
)
def fund(call: Call) -> Reply:
    return Reply(CertificateOut.of(certificates.fund(call.ctx, call.actor, call.params["certificate_id"])))


@describe(
    summary="The certificate and its balance in its current period",
    returns=CertificateOut,
    refusals=(errors.CertificateNotFound, errors.ConcurrentUpdate),
    roles=("parent (own child)", "operator of its municipality"),
)
def view(call: Call) -> Reply:
    return Reply(CertificateOut.of(certificates.view(call.ctx, call.actor, call.params["certificate_id"])))


class LedgerQuery(Query):
    limit: Annotated[int, Field(ge=1, le=MAX_PAGE), DIGITS_ONLY] = DEFAULT_PAGE
    cursor: Annotated[str | None, Field(description="The previous page's cursor.")] = None


@describe(
    summary="The certificate's ledger, newest first",
    query=LedgerQuery,
    returns=LedgerOut,
    refusals=(errors.CertificateNotFound, errors.ConcurrentUpdate),
    roles=("parent (own child)", "operator of its municipality"),
)
def ledger(call: Call) -> Reply:
    certificate_id = call.params["certificate_id"]
    query = call.parse_query(LedgerQuery)
    secret = call.ctx.settings.cursor_key
    scope = f"ledger:{certificate_id}"
    after = cursor.decode(secret, scope, query.cursor)
    page = certificates.ledger(call.ctx, call.actor, certificate_id, query.limit, after)
    return Reply(LedgerOut.build(entries=page.items, cursor=cursor.encode(secret, scope, page.next_key)))


class FreezeIn(Strict):
    reason: Annotated[str, Field(min_length=1, max_length=500)]


@describe(
    summary="Freeze the certificate: no money moves until the freeze is lifted",
    body=FreezeIn,
    returns=CertificateOut,
    refusals=(errors.CertificateNotFound, errors.InvalidTransition, errors.ConcurrentUpdate),
    roles=("operator of its municipality",),
)
def freeze(call: Call) -> Reply:
    body = call.parse(FreezeIn)
    certificate = certificates.freeze(call.ctx, call.actor, call.params["certificate_id"], body.reason.strip())
    return Reply(CertificateOut.of(certificate))


@describe(
    summary="Lift the freeze (a funded certificate that missed a rollover is rolled over now)",
    returns=CertificateOut,
    refusals=(errors.CertificateNotFound, errors.InvalidTransition, errors.ConcurrentUpdate),
    roles=("operator of its municipality",),
)
def unfreeze(call: Call) -> Reply:
    return Reply(CertificateOut.of(certificates.unfreeze(call.ctx, call.actor, call.params["certificate_id"])))
