"""Client retries of a POST with the same Idempotency-Key get the first response and change nothing (I4).

Timeline of one key:
    begin   -> in_progress (locked for LOCK_SECONDS)   a second request now waits, then replays or gets 409
    finish  -> completed with the response             replays return it, until the TTL forgets the key
    abandon -> deleted (the request failed with a 5xx)  a retry runs again

A crash between the work and ``finish`` leaves a lock that lapses after LOCK_SECONDS; the retry then runs the use
case again, which finds its own writes through their natural keys and answers as the first time would.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone

from pynamodb.exceptions import DoesNotExist, PutError

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
    R = IdempotencyRecord
    # New key, or a lock whose holder died; a completed key is never taken again.
    free = R.key.does_not_exist() | ((R.status == IN_PROGRESS) & (R.locked_until < now))
    try:
        record.save(condition=free)
        return None
    except PutError as failure:
        if failure.cause_response_code != "ConditionalCheckFailedException":
            raise
    try:
        held = IdempotencyRecord.get(key, consistent_read=True)
    except DoesNotExist:  # abandoned between our put and get: take it on the next try
        return Remembered(IN_PROGRESS, request_hash, None, None)
    status = None if held.response_status is None else int(held.response_status)
    return Remembered(held.status, held.request_hash, status, held.response_body)


def finish(key: str, status: int, body: str) -> None:
    R = IdempotencyRecord
    R(key=key).update(
        actions=[R.status.set(COMPLETED), R.response_status.set(status), R.response_body.set(body)],
    )


def abandon(key: str) -> None:
    IdempotencyRecord(key=key).delete()
