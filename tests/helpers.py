"""Test helpers: reading whole tables to prove that a refused request wrote nothing."""

from __future__ import annotations

from typing import Any

import boto3

from chalicelib.storage.models import TABLES


def table_contents() -> dict[str, list[dict[str, Any]]]:
    """Every item of every table (tests only: a Scan), sorted, for before/after comparisons."""
    client = boto3.client("dynamodb")
    contents: dict[str, list[dict[str, Any]]] = {}
    for base, (model, _ttl) in TABLES.items():
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"TableName": model.Meta.table_name, "ConsistentRead": True}
        while True:
            page = client.scan(**kwargs)
            items.extend(page["Items"])
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        contents[base] = sorted(items, key=repr)
    return contents


def without_idempotency(contents: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    return {table: items for table, items in contents.items() if table != "idempotency"}
