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
        schemas[base] = schema
    return schemas
