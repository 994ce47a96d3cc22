"""The public catalog (Навигатор): published and certified programs, filtered, in pages with an opaque cursor.

Served from the sparse catalog indexes, never from a Scan. The cost of a page is bounded whatever the size of the
catalog: at most ``settings.catalog_max_queries`` Query calls, each reading at most a fixed number of items (see
storage.programs.catalog_page). The price of the bound: with selective filters a page may hold fewer than ``limit``
items (even none) and still carry a cursor; the client follows the cursor until it is null.
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.domain import errors
from chalicelib.domain.certificate import MAX_AGE, MIN_AGE
from chalicelib.domain.program import Direction, Program, check_municipality
from chalicelib.domain.search import query_terms
from chalicelib.platform import cursor
from chalicelib.services.context import Context
from chalicelib.storage import programs as store
from chalicelib.storage.programs import CatalogFilters

DEFAULT_LIMIT = 20
MAX_LIMIT = 50


@dataclass(frozen=True)
class CatalogQuery:
    """What a visitor asks the catalog for (all optional)."""

    municipality: str | None = None
    direction: str | None = None
    age: int | None = None
    free_only: bool = False
    certified_only: bool = False
    q: str | None = None
    limit: int = DEFAULT_LIMIT


@dataclass(frozen=True)
class CatalogResult:
    """``cursor`` is None on the last page. ``queries`` and ``evaluated`` are what the page cost DynamoDB."""

    items: list[Program]
    cursor: str | None
    queries: int
    evaluated: int


def filters_of(query: CatalogQuery) -> CatalogFilters:
    """The query checked and turned into index filters (the text into search stems)."""
    if query.municipality is not None:
        check_municipality(query.municipality)
    try:
        direction = Direction(query.direction) if query.direction is not None else None
    except ValueError:
        names = ", ".join(d.value for d in Direction)
        raise errors.InvalidRequest(f"direction must be one of {names}") from None
    if query.age is not None and not MIN_AGE <= query.age < MAX_AGE:
        raise errors.InvalidRequest(f"age must be {MIN_AGE}-{MAX_AGE - 1}")
    if not 1 <= query.limit <= MAX_LIMIT:
        raise errors.InvalidRequest(f"limit must be 1-{MAX_LIMIT}")
    return CatalogFilters(
        municipality=query.municipality,
        direction=direction,
        age=query.age,
        free_only=query.free_only,
        certified_only=query.certified_only,
        terms=tuple(query_terms(query.q)) if query.q else (),
    )


def search(ctx: Context, query: CatalogQuery, after: str | None = None) -> CatalogResult:
    """One page of the catalog; ``after`` is the cursor of the previous page (it is valid for the same filters)."""
    filters = filters_of(query)
    secret = ctx.settings.cursor_key
    scope = filters.scope()
    start = cursor.decode(secret, scope, after)
    page = store.catalog_page(filters, query.limit, start, ctx.settings.catalog_max_queries)
    return CatalogResult(page.items, cursor.encode(secret, scope, page.next_key), page.queries, page.evaluated)
