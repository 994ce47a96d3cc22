"""Creating the tables from the models (local engine and tests; infra/ renders the same schema for AWS)."""

from __future__ import annotations

from typing import Any

from chalicelib.storage.models import TABLES, bind_tables


def create_tables(prefix: str) -> list[str]:
    """Creates every missing table under ``prefix`` and returns the names; safe to call again."""
    bind_tables(prefix)
    created = []
    for model, _ttl in TABLES.values():
        if not model.exists():
            model.create_table(billing_mode="PAY_PER_REQUEST", wait=True)
            created.append(model.Meta.table_name)
    return created


def delete_tables(prefix: str) -> None:
    bind_tables(prefix)
    for model, _ttl in TABLES.values():
        if model.exists():
            model.delete_table()


def table_schemas() -> dict[str, dict[str, Any]]:
    """Keys, attribute definitions, indexes and TTL of each table, by its base name (for infra/)."""
    schemas = {}
    for base, (model, ttl) in TABLES.items():
        schema: dict[str, Any] = dict(model._get_schema())
        schema["ttl_attribute"] = ttl
        schemas[base] = schema
    return schemas
