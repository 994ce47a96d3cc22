"""Copying every table of one prefix to another: a region built once (slow: thousands of service calls) is restored
into each test's fresh tables with parallel batch writes, so every top-up test starts from the same state."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3

from chalicelib.storage.models import TABLES

Items = dict[str, list[dict[str, Any]]]
BATCH = 25


def _client() -> Any:
    return boto3.client("dynamodb")  # the engine's endpoint and dummy credentials come from the environment


def dump(prefix: str) -> Items:
    """Every item of every table under ``prefix``, by base table name (consistent scans)."""
    client = _client()
    items: Items = {}
    for base in TABLES:
        found: list[dict[str, Any]] = []
        for page in client.get_paginator("scan").paginate(TableName=prefix + base, ConsistentRead=True):
            found.extend(page["Items"])
        items[base] = found
    return items


def restore(prefix: str, items: Items) -> None:
    """Writes the dumped items into the (empty) tables under ``prefix``."""
    client = _client()
    batches = [(prefix + base, rows[i : i + BATCH]) for base, rows in items.items() for i in range(0, len(rows), BATCH)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda batch: _write(client, *batch), batches))


def _write(client: Any, table: str, rows: list[dict[str, Any]]) -> None:
    request: dict[str, Any] = {table: [{"PutRequest": {"Item": row}} for row in rows]}
    while request:
        request = client.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}
