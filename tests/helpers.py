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


def empty_tables(prefix: str) -> None:
    """Deletes every item of every table under ``prefix`` (a test's clean slate)."""
    client = boto3.client("dynamodb")
    for base in TABLES:
        name = f"{prefix}{base}"
        keys = [key["AttributeName"] for key in client.describe_table(TableName=name)["Table"]["KeySchema"]]
        projection = ", ".join(f"#k{i}" for i in range(len(keys)))
        names = {f"#k{i}": key for i, key in enumerate(keys)}
        pages = client.get_paginator("scan").paginate(
            TableName=name, ProjectionExpression=projection, ExpressionAttributeNames=names, ConsistentRead=True
        )
        found = [item for page in pages for item in page["Items"]]
        for start in range(0, len(found), 25):
            requests = [{"DeleteRequest": {"Key": item}} for item in found[start : start + 25]]
            while requests:
                unprocessed = client.batch_write_item(RequestItems={name: requests}).get("UnprocessedItems", {})
                requests = unprocessed.get(name, [])
