"""A page of a list: the items, and where the next page starts (a DynamoDB key, sealed into a cursor by the use case;
None on the last page)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_key: dict[str, Any] | None
