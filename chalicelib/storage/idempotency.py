"""Client retries of a POST with the same Idempotency-Key get the first response and change nothing (I4).

Timeline of one key:
    begin   -> in_progress (locked for LOCK_SECONDS)   a second request now waits, then replays or gets 409
    finish  -> completed with the response             replays return it, until the TTL forgets the key
    abandon -> deleted (the request failed with a 5xx)  a retry runs again

A crash between the work and ``finish`` leaves a lock that lapses after LOCK_SECONDS; the retry then runs the use
case again, which finds its own writes through their natural keys and answers as the first time would.

A use case that is one transaction can do better (``Claim``): its answer is known before it writes, so the key is
written completed, with that answer, inside the same transaction (no begin, no finish: one round trip). A retry's
transaction is refused on the key (``Answered``) and replays what ``recall`` reads; a refusal is remembered after
the refused transaction, as ``finish`` would.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError

from chalicelib.domain import errors
from chalicelib.storage.models import IdempotencyRecord

LOCK_SECONDS = 30
IN_PROGRESS = "in_progress"
COMPLETED = "completed"


@dataclass(frozen=True)
class Remembered:
    status: str
    request_hash: str
    response_status: int | None
    response_body: str | None


def _free(now: int) -> Any:
    """New key, or a lock whose holder died; a completed key is never taken again."""
    R = IdempotencyRecord
    return R.key.does_not_exist() | ((R.status == IN_PROGRESS) & (R.locked_until < now))


def begin(key: str, request_hash: str, ttl_seconds: int) -> Remembered | None:
    """Takes the key for this request; returns what is remembered instead if another request holds it."""
    now = int(time.time())
    record = IdempotencyRecord(
        key=key,
        status=IN_PROGRESS,
        request_hash=request_hash,
        locked_until=now + LOCK_SECONDS,
        expires_at=datetime.fromtimestamp(now + ttl_seconds, tz=timezone.utc),
    )
    try:
        record.save(condition=_free(now))
        return None
    except PutError as failure:
        if failure.cause_response_code != "ConditionalCheckFailedException":
            raise
    # Abandoned between our put and this read: take it on the next try.
    return recall(key) or Remembered(IN_PROGRESS, request_hash, None, None)


def recall(key: str) -> Remembered | None:
    try:
        held = IdempotencyRecord.get(key, consistent_read=True)
    except DoesNotExist:
        return None
    status = None if held.response_status is None else int(held.response_status)
    return Remembered(held.status, held.request_hash, status, held.response_body)


class Answered(errors.DomainError):
    """The Idempotency-Key was answered before: nothing was written; replay what ``recall`` finds."""

    code = "idempotency_answered"


@dataclass(frozen=True)
class Claim:
    """A key to write, already answered, inside the use case's own transaction."""

    key: str
    request_hash: str
    ttl_seconds: int

    def answered(self, status: int, body: str) -> tuple[IdempotencyRecord, Any]:
        """The completed record and the condition to put it under."""
        now = int(time.time())
        record = IdempotencyRecord(
            key=self.key,
            status=COMPLETED,
            request_hash=self.request_hash,
            locked_until=now,
            response_status=status,
            response_body=body,
            expires_at=datetime.fromtimestamp(now + self.ttl_seconds, tz=timezone.utc),
        )
        return record, _free(now)

    def remember_refusal(self, status: int, body: str) -> None:
        """A refused request's answer, kept as ``finish`` keeps it (unless another request took the key)."""
        record, free = self.answered(status, body)
        try:
            record.save(condition=free)
        except PutError as failure:
            if failure.cause_response_code != "ConditionalCheckFailedException":
                raise


def finish(key: str, status: int, body: str) -> None:
    R = IdempotencyRecord
    R(key=key).update(
        actions=[R.status.set(COMPLETED), R.response_status.set(status), R.response_body.set(body)],
    )


def abandon(key: str) -> None:
    IdempotencyRecord(key=key).delete()
