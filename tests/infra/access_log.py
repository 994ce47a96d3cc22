"""Records the DynamoDB requests made inside a block, as IAM sees them: (table, action, index).

The hook is botocore's own event on every client the storage layer sends with (as devtools/roundtrips.py counts
round trips), so it sees the threads of the top-up too. A transaction is split into its items the way IAM authorises
it: ``TransactWriteItems`` as PutItem / UpdateItem / DeleteItem / ConditionCheckItem per item, ``TransactGetItems``
as GetItem.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from devtools.roundtrips import _clients
from infra.access import QUERY, Access

WRITE_ITEMS = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem"}


@dataclass(frozen=True, order=True)
class Request:
    table: str
    action: str
    index: str = ""

    def __str__(self) -> str:
        return f"{self.action} {self.table}" + (f" index {self.index}" if self.index else "")


def requests_of(operation: str, params: dict[str, Any], prefix: str) -> list[Request]:
    def base(table: str) -> str:
        return table.removeprefix(prefix)

    if operation == "TransactWriteItems":
        return [
            Request(base(body["TableName"]), WRITE_ITEMS[kind])
            for item in params["TransactItems"]
            for kind, body in item.items()
        ]
    if operation == "TransactGetItems":
        return [Request(base(item["Get"]["TableName"]), "GetItem") for item in params["TransactItems"]]
    if operation == "BatchGetItem":
        return [Request(base(table), operation) for table in params["RequestItems"]]
    return [Request(base(params.get("TableName", "?")), operation, params.get("IndexName") or "")]


def not_allowed(requests: set[Request], tables: Access) -> list[Request]:
    """The requests the function's grants would refuse."""

    def allowed(request: Request) -> bool:
        grant = tables.get(request.table)
        if grant is None:
            return False
        if request.index:
            return request.action == QUERY and request.index in grant.indexes
        return request.action in grant.actions

    return sorted(r for r in requests if not allowed(r))


class AccessLog:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self._lock = threading.Lock()

    @contextmanager
    def recording(self) -> Iterator[set[Request]]:
        """The requests sent inside the block. Build the app's context first (one request): the connections it binds
        must be the ones recorded."""
        seen: set[Request] = set()

        def hook(params: dict[str, Any], model: Any, **_: Any) -> None:
            with self._lock:
                seen.update(requests_of(model.name, params, self.prefix))

        clients = _clients()
        uid = f"access-log-{id(seen)}"
        for client in clients:
            client.meta.events.register("before-parameter-build.dynamodb", hook, unique_id=uid)
        try:
            yield seen
        finally:
            for client in clients:
                client.meta.events.unregister("before-parameter-build.dynamodb", unique_id=uid)
        rebuilt = {id(c) for c in _clients()} - {id(c) for c in clients}
        assert not rebuilt, "the storage connections were rebuilt while recording: make one request before recording"
