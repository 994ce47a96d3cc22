"""One ``TransactWriteItems`` at a time, with its failures turned into domain errors.

Every item carries the error it stands for when its condition fails. DynamoDB reports the cancellation reasons in
item order, and PynamoDB sends items grouped (condition checks, deletes, puts, updates), so the mapping follows that
order. Items may ask for ``ALL_OLD`` so the error can tell *which* part of a condition failed.

A ``TransactionConflict`` (another transaction held one of the items) or a throttled item (``ThrottlingError``,
``ProvisionedThroughputExceeded``) means nothing was written: the same items are sent again with capped, jittered
backoff; if every attempt meets a busy item, the error is a 503 ``unavailable`` (retry shortly), never a refusal that
an Idempotency-Key would remember. Each attempt has its own ClientRequestToken, which makes botocore's own network
retries of one attempt idempotent at DynamoDB.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from chalicelib.domain import errors
from chalicelib.storage.retry import Backoff, retry

# Given the item's old image (when asked for), the error the failed condition means.
OnFailure = Callable[[dict[str, Any] | None], Exception]

_ORDER = {"condition": 0, "delete": 1, "put": 2, "update": 3}
MAX_ITEMS = 100
CONFLICT_ATTEMPTS = 6
# A transaction cancelled for a busy item is sent again up to CONFLICT_ATTEMPTS times in all (then 503).
TRANSACTION_BACKOFF = Backoff(CONFLICT_ATTEMPTS, base=0.01, cap=0.5)

_shared: dict[str, Connection] = {}
_lock = threading.Lock()


def transaction_connection() -> Connection:
    """One PynamoDB connection (one botocore client) for all transactions of this process."""
    with _lock:
        if "connection" not in _shared:
            _shared["connection"] = Connection()
        return _shared["connection"]


def reset_connection() -> None:
    with _lock:
        _shared.clear()


class TransactionConflict(errors.ConcurrentUpdate):
    """The database is busy: another transaction kept holding an item; nothing was written. Retry shortly."""

    # A busy item, not a rule: answered as a 503 with Retry-After, so a client's retry with its key runs again.
    code = "unavailable"
    status = 503


class TransactionThrottled(TransactionConflict):
    """The database is busy: DynamoDB kept throttling an item of the transaction; nothing was written."""


# Cancellation reasons of an item that was busy rather than refused: the same items may simply be sent again.
_BUSY: dict[str, type[TransactionConflict]] = {
    "TransactionConflict": TransactionConflict,
    "ThrottlingError": TransactionThrottled,
    "ProvisionedThroughputExceeded": TransactionThrottled,
}


@dataclass
class _Op:
    kind: Literal["condition", "delete", "put", "update"]
    apply: Callable[[TransactWrite], None]
    on_failure: OnFailure
    # When several conditions fail, the lowest rank explains the refusal (e.g. "not your contract" before
    # "your provider is suspended").
    rank: int = 5


def fail_with(error: Exception) -> OnFailure:
    return lambda _image: error


@dataclass
class Transaction:
    """Collects items, then writes them all or none."""

    ops: list[_Op] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ops)

    def put(self, record: Model, condition: Condition | None, on_failure: OnFailure, *, rank: int = 5) -> None:
        self.ops.append(_Op("put", lambda tw: tw.save(record, condition=condition), on_failure, rank))

    def update(
        self,
        record: Model,
        actions: list[Action],
        condition: Condition | None,
        on_failure: OnFailure,
        *,
        want_old_image: bool = False,
        rank: int = 5,
    ) -> None:
        return_values = "ALL_OLD" if want_old_image else None
        self.ops.append(
            _Op(
                "update",
                lambda tw: tw.update(
                    record,
                    actions=actions,
                    condition=condition,
                    return_values=return_values,
                    add_version_condition=False,
                ),
                on_failure,
                rank,
            )
        )

    def delete(self, record: Model, condition: Condition | None, on_failure: OnFailure) -> None:
        self.ops.append(
            _Op("delete", lambda tw: tw.delete(record, condition=condition, add_version_condition=False), on_failure)
        )

    def check(
        self, model: type[Model], hash_key: str, range_key: str | None, condition: Condition, on_failure: OnFailure
    ) -> None:
        self.ops.append(
            _Op("condition", lambda tw: tw.condition_check(model, hash_key, range_key, condition=condition), on_failure)
        )

    def commit(self) -> None:
        """Writes every item or none; raises the domain error of the first failed condition."""
        if not self.ops:
            return
        if len(self.ops) > MAX_ITEMS:
            raise ValueError(f"a transaction takes at most {MAX_ITEMS} items, got {len(self.ops)}")
        ordered = sorted(self.ops, key=lambda op: _ORDER[op.kind])  # stable: the order PynamoDB sends them in
        retry(lambda _attempt: _send(ordered), TRANSACTION_BACKOFF, on=TransactionConflict)


def _send(ordered: list[_Op]) -> None:
    """One attempt, under its own ClientRequestToken; a refusal becomes its domain error."""
    try:
        with TransactWrite(connection=transaction_connection(), client_request_token=str(uuid.uuid4())) as tw:
            for op in ordered:
                op.apply(tw)
    except TransactWriteError as failure:
        error = _domain_error(failure, ordered)
        if error is failure:
            raise
        raise error from failure


def _domain_error(failure: TransactWriteError, ordered: list[_Op]) -> Exception:
    reasons = failure.cancellation_reasons or []
    failed = [
        (op.rank, position, op, reason)
        for position, (op, reason) in enumerate(zip(ordered, reasons, strict=False))
        if reason is not None and reason.code == "ConditionalCheckFailed"
    ]
    if failed:
        _, _, op, reason = min(failed, key=lambda found: (found[0], found[1]))
        return op.on_failure(reason.raw_item)
    busy = [_BUSY[reason.code] for reason in reasons if reason is not None and reason.code in _BUSY]
    if busy:
        return busy[0]()
    return failure


__all__ = [
    "Transaction",
    "TransactionConflict",
    "TransactionThrottled",
    "fail_with",
    "transaction_connection",
]
