"""Where a run's time goes: client-side time spent in each DynamoDB operation (all threads summed), and how many
transactions DynamoDB cancelled for a conflict with another one, from botocore's before-call / after-call events.

Complements ``devtools.roundtrips.counting()``, which counts the requests.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pynamodb.models import Model

from chalicelib.storage.models import ALL_MODELS
from chalicelib.storage.transactions import transaction_connection

_STARTED = "bench_latency_started"


def _clients() -> list[Any]:
    clients = [transaction_connection().client]
    for model in ALL_MODELS:
        model_cls: type[Model] = model
        clients.append(model_cls._get_connection().connection.client)
    return list({id(client): client for client in clients}.values())


class Latency:
    """``seconds`` per operation name (summed over threads: can exceed the wall time); ``conflicts`` counts
    TransactWriteItems cancelled because another transaction held one of its items."""

    def __init__(self) -> None:
        self.seconds: Counter[str] = Counter()
        self.conflicts = 0
        self._lock = threading.Lock()

    def _before(self, context: dict[str, Any], **_: Any) -> None:
        context[_STARTED] = time.perf_counter()

    def _after(self, context: dict[str, Any], model: Any, parsed: dict[str, Any], **_: Any) -> None:
        started = context.get(_STARTED)
        if started is None:
            return
        reasons = parsed.get("CancellationReasons") or []
        conflict = any(reason.get("Code") == "TransactionConflict" for reason in reasons)
        with self._lock:
            self.seconds[model.name] += time.perf_counter() - started
            self.conflicts += conflict


@contextmanager
def timing() -> Iterator[Latency]:
    latency = Latency()
    clients = _clients()
    for client in clients:
        client.meta.events.register("before-call.dynamodb", latency._before, unique_id=f"latency-b-{id(latency)}")
        client.meta.events.register("after-call.dynamodb", latency._after, unique_id=f"latency-a-{id(latency)}")
    try:
        yield latency
    finally:
        for client in clients:
            client.meta.events.unregister("before-call.dynamodb", unique_id=f"latency-b-{id(latency)}")
            client.meta.events.unregister("after-call.dynamodb", unique_id=f"latency-a-{id(latency)}")
