"""Creating the tables from the models (local engine and tests; infra/ renders the same schema for AWS)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pynamodb.models import Model

from chalicelib.storage.models import TABLES, bind_tables


def create_tables(prefix: str) -> list[str]:
    """Creates every missing table under ``prefix`` (all at once) and returns the names; safe to call again."""
    bind_tables(prefix)

    def create(model: type[Model]) -> str | None:
        if model.exists():
            return None
        model.create_table(billing_mode="PAY_PER_REQUEST", wait=True)
        return str(model.Meta.table_name)

    with ThreadPoolExecutor(max_workers=len(TABLES)) as pool:
        return [name for name in pool.map(create, [model for model, _ttl in TABLES.values()]) if name]


def delete_tables(prefix: str) -> None:
    bind_tables(prefix)

    def delete(model: type[Model]) -> None:
        if model.exists():
            model.delete_table()

    with ThreadPoolExecutor(max_workers=len(TABLES)) as pool:
        list(pool.map(delete, [model for model, _ttl in TABLES.values()]))


def table_schemas() -> dict[str, dict[str, Any]]:
    """Keys, attribute definitions, indexes and TTL of each table, by its base name (for infra/)."""
    schemas = {}
    for base, (model, ttl) in TABLES.items():
        schema: dict[str, Any] = dict(model._get_schema())
        schema["ttl_attribute"] = ttl
        schema["stream_view_type"] = stream_view_type(model)
        schemas[base] = schema
    return schemas


def stream_view_type(model: type[Model]) -> str | None:
    """The table's stream (``NEW_IMAGE`` / ``NEW_AND_OLD_IMAGES``) when the reports' consumer reads it."""
    return getattr(model.Meta, "stream_view_type", None)


def enable_streams(prefix: str) -> list[str]:
    """Turns on the stream of each existing table that should have one and has none (data made before the reports'
    consumer existed); returns their names. ``create_tables`` already creates new tables with their streams."""
    bind_tables(prefix)
    enabled = []
    for model, _ttl in TABLES.values():
        view = stream_view_type(model)
        if view is None:
            continue
        connection = model._get_connection().connection
        found = connection.describe_table(model.Meta.table_name)
        if found.get("StreamSpecification", {}).get("StreamEnabled"):
            continue
        client: Any = connection.client  # PynamoDB types its botocore client without the operations
        client.update_table(
            TableName=model.Meta.table_name, StreamSpecification={"StreamEnabled": True, "StreamViewType": view}
        )
        enabled.append(str(model.Meta.table_name))
    return enabled
