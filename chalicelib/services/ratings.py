"""Ratings: a parent rates a program 1-5 (with an optional comment) once per contract the provider accepted; the
program and its provider show the average and the count; everyone, the provider included, sees the scores and
comments but never who wrote them.

Ratings are stored under a time-ordered key and listed newest first; a contract id (which begins with the
certificate's number) would tell the provider whose rating it is, so the list shows none and the key is random past
the instant. The cursor of the list carries the key encrypted (AES-GCM), not merely signed.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from dataclasses import dataclass
from typing import Any

from chalicelib.domain import errors
from chalicelib.domain.actors import Principal, Role
from chalicelib.domain.ledger import utc_stamp
from chalicelib.domain.program import Rating, RatingSummary, check_rating, eligible_contract
from chalicelib.platform import cursor
from chalicelib.services import programs
from chalicelib.services.context import Context
from chalicelib.storage import contracts as contract_store
from chalicelib.storage import programs as program_store
from chalicelib.storage import ratings as store

_NONCE_BYTES = 12


def rate(ctx: Context, actor: Principal, program_id: str, contract_id: str, score: int, comment: str | None) -> Rating:
    """One GetItem (the contract) and one transaction (rating + both sums)."""
    actor.require(Role.PARENT)
    text = check_rating(score, comment)
    contract = eligible_contract(actor, program_id, contract_store.find(contract_id))
    rating = Rating(
        program_id=program_id,
        contract_id=contract.contract_id,
        provider_id=contract.provider_id,
        score=score,
        rated_at=utc_stamp(ctx.now()),
        guardian_sub=actor.sub,
        rating_id=secrets.token_hex(8),
        comment=text,
    )
    store.rate(rating)
    return rating


@dataclass(frozen=True)
class RatingsPage:
    program_id: str
    rating: RatingSummary
    ratings: list[Rating]
    cursor: str | None


def list_ratings(ctx: Context, actor: Principal | None, program_id: str, limit: int, after: str | None) -> RatingsPage:
    """The program's summary and a page of its ratings (a GetItem and one Query)."""
    program = programs.visible(actor, program_store.get(program_id, consistent=False))
    secret = ctx.settings.cursor_key
    scope = f"ratings:{program_id}"
    start = _open(secret, cursor.decode(secret, scope, after))
    ratings, next_entry = store.page(program_id, limit, start)
    return RatingsPage(program_id, program.rating, ratings, cursor.encode(secret, scope, _seal(secret, next_entry)))


def provider_rating(provider_id: str) -> RatingSummary:
    """The provider's average and count over all its programs."""
    return store.provider_summary(provider_id)


# --- the sealed cursor -----------------------------------------------------------------------------------------------


def _cipher(secret: str) -> Any:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # only this listing pays for the import

    return AESGCM(hashlib.sha256(f"ratings-cursor\n{secret}".encode()).digest())


def _seal(secret: str, entry: str | None) -> dict[str, Any] | None:
    if entry is None:
        return None
    nonce = os.urandom(_NONCE_BYTES)
    sealed = _cipher(secret).encrypt(nonce, entry.encode(), None)
    return {"after": base64.urlsafe_b64encode(nonce + sealed).decode()}


def _open(secret: str, data: dict[str, Any] | None) -> str | None:
    if data is None:
        return None
    from cryptography.exceptions import InvalidTag

    try:
        raw = base64.urlsafe_b64decode(str(data["after"]))
        entry = _cipher(secret).decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], None).decode()
    except (KeyError, ValueError, InvalidTag):
        raise errors.InvalidRequest("invalid cursor") from None
    return entry
