"""Children and certificates: register a child, list them, fund a certificate, read its balance and ledger."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from chalicelib import cursor
from chalicelib.domain import errors
from chalicelib.services import certificates
from functions.http import Call, Reply
from functions.schemas import CertificateOut, ChildIn, ChildOut, ChildrenOut, LedgerEntryOut, LedgerOut, Strict

DEFAULT_PAGE = 20
MAX_PAGE = 100


def register_child(call: Call) -> Reply:
    body = call.parse(ChildIn)
    certificate = certificates.register_child(call.ctx, call.actor, body.full_name, body.birth_date, body.municipality)
    return Reply(ChildOut.of(certificate), 201)


def list_children(call: Call) -> Reply:
    return Reply(ChildrenOut(children=[ChildOut.of(c) for c in certificates.list_children(call.ctx, call.actor)]))


def fund(call: Call) -> Reply:
    return Reply(CertificateOut.of(certificates.fund(call.ctx, call.actor, call.params["certificate_id"])))


def view(call: Call) -> Reply:
    return Reply(CertificateOut.of(certificates.view(call.ctx, call.actor, call.params["certificate_id"])))


def ledger(call: Call) -> Reply:
    certificate_id = call.params["certificate_id"]
    limit = _limit(call.query.get("limit"))
    secret = call.ctx.settings.cursor_secret.get_secret_value()
    scope = f"ledger:{certificate_id}"
    after = cursor.decode(secret, scope, call.query.get("cursor"))
    page = certificates.ledger(call.ctx, call.actor, certificate_id, limit, after)
    return Reply(
        LedgerOut(
            entries=[LedgerEntryOut.of(e) for e in page.entries],
            cursor=cursor.encode(secret, scope, page.next_key),
        )
    )


class FreezeIn(Strict):
    reason: Annotated[str, Field(min_length=1, max_length=500)]


def freeze(call: Call) -> Reply:
    body = call.parse(FreezeIn)
    certificate = certificates.freeze(call.ctx, call.actor, call.params["certificate_id"], body.reason.strip())
    return Reply(CertificateOut.of(certificate))


def unfreeze(call: Call) -> Reply:
    return Reply(CertificateOut.of(certificates.unfreeze(call.ctx, call.actor, call.params["certificate_id"])))


def _limit(text: str | None) -> int:
    if text is None:
        return DEFAULT_PAGE
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_PAGE:
        raise errors.InvalidRequest(f"limit must be a whole number from 1 to {MAX_PAGE}")
    return int(text)
