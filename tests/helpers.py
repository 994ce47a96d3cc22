"""Test helpers: reading whole tables to prove that a refused request wrote nothing."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import boto3
from moto.server import ThreadedMotoServer

from chalicelib.storage import documents
from chalicelib.storage.models import TABLES
from devtools.ddb_local import free_port
from functions import runtime


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


@contextmanager
def local_s3() -> Iterator[str]:
    """moto's S3 server on a free loopback port (DynamoDB stays on DynamoDB Local); its endpoint, stopped on leaving."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """``os.environ`` with ``values`` set, as it was again on leaving."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextmanager
def documents_bucket(s3_endpoint: str, **settings: str) -> Iterator[str]:
    """A fresh documents bucket on ``s3_endpoint``, the service and the app pointed at it (and at ``settings``,
    environment variables) while inside."""
    name = f"docs-{uuid.uuid4().hex[:12]}"
    with environment({"AWS_ENDPOINT_URL_S3": s3_endpoint, "PFDO_DOCUMENTS_BUCKET": name, **settings}):
        documents.reset_client()
        runtime.reset()
        assert documents.DocumentStore(name).ensure_bucket()
        try:
            yield name
        finally:
            documents.reset_client()
            runtime.reset()
