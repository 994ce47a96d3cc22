"""Counts DynamoDB round trips (HTTP requests actually sent, retries included) with botocore's event hooks.

The count does not depend on the machine, so tests assert it and bench/ prints it.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pynamodb.models import Model

from chalicelib.storage.models import ALL_MODELS
from chalicelib.storage.transactions import transaction_connection


def _clients() -> list[Any]:
    """Every botocore client the storage layer sends DynamoDB requests with (created now if not yet)."""
    clients = [transaction_connection().client]
    for model in ALL_MODELS:
        model_cls: type[Model] = model
        clients.append(model_cls._get_connection().connection.client)
    unique: dict[int, Any] = {id(c): c for c in clients}
    return list(unique.values())


class RoundTrips:
    """``calls`` counts requests by operation name (GetItem, TransactWriteItems, ...)."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()

    def _on_send(self, request: Any, **_: Any) -> None:
        target = request.headers.get("X-Amz-Target", b"")
        operation = (target.decode() if isinstance(target, bytes) else str(target)).rsplit(".", 1)[-1]
        with self._lock:
            self.calls[operation] += 1

    @property
    def total(self) -> int:
        return sum(self.calls.values())

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()


@contextmanager
def counting() -> Iterator[RoundTrips]:
    """Counts the round trips made inside the block (by any thread of this process)."""
    trips = RoundTrips()
    clients = _clients()
    for client in clients:
        client.meta.events.register("before-send.dynamodb", trips._on_send, unique_id=f"roundtrips-{id(trips)}")
    try:
        yield trips
    finally:
        for client in clients:
            client.meta.events.unregister("before-send.dynamodb", unique_id=f"roundtrips-{id(trips)}")
