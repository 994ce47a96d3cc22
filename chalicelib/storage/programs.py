"""Programs in DynamoDB: writing one (with the provider's approval checked in the same transaction), reading,
conditional changes and status moves, a provider's list, and the catalog's bounded queries over the sparse indexes.

Every change is one conditional ``UpdateItem``: the condition carries what the decision was made on (the owner, the
status read, ``seats_taken <= :capacity``), so a concurrent enrolment or status change makes it fail instead of being
overwritten. A failed condition is explained by a consistent read afterwards: diagnosis only, nothing is decided on
it. ``seats_taken`` is written only by contracts (storage.contracts); this module only ever compares against it.

The catalog keys (``catalog_*``) exist only while a program is published or certified, so the three catalog indexes
hold exactly the programs open to enrolment and a catalog Query never reads a draft or a closed program.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pynamodb.exceptions import DoesNotExist, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action as UpdateAction

from chalicelib.domain import errors
from chalicelib.domain.program import EDITABLE, LISTED, Direction, ProgramStatus, RatingSummary
from chalicelib.storage.models import ProgramRecord
from chalicelib.storage.providers import add_approved_check
from chalicelib.storage.transactions import Transaction, fail_with

P = ProgramRecord
PROGRAM = "program"
# The partition of the region-wide catalog index (catalog_of_region): one region per deployment.
REGION_CATALOG = "region"

# A catalog Query evaluates (reads) at most this many items. With no filter it reads exactly what the page still
# needs; with filters it reads more (fanout x what is missing, within these bounds) since some will not match.
FILTER_FANOUT = 10
FILTERED_EVALUATE_MIN = 100
FILTERED_EVALUATE_MAX = 400

# What a catalog item shows (the filters read search_text, age and seats on the server; description is not sent).
_CATALOG_ATTRIBUTES = (
    "program_id",
    "record",
    "provider_id",
    "provider_name",
    "title",
    "direction",
    "municipality",
    "address",
    "schedule",
    "age_min",
    "age_max",
    "period_id",
    "price_per_month",
    "capacity",
    "seats_taken",
    "status",
    "rating_sum",
    "rating_count",
    "catalog_municipality",
    "catalog_direction",
    "catalog_region",
    "catalog_key",
    "catalog_place",
)


def new_program_id() -> str:
    return f"prg-{uuid.uuid4().hex[:16]}"


@dataclass(frozen=True)
class Program:
    """A program as read."""

    program_id: str
    provider_id: str
    provider_name: str
    title: str
    description: str
    direction: Direction
    age_min: int
    age_max: int
    municipality: str
    address: str
    schedule: str
    period_id: str
    months: list[str]
    price_per_month: int
    capacity: int
    seats_taken: int
    status: ProgramStatus
    rating: RatingSummary
    created_at: str
    updated_at: str
    search_text: str = field(default=" ", repr=False)

    @property
    def free_seats(self) -> int:
        return max(self.capacity - self.seats_taken, 0)


def _from_record(record: ProgramRecord) -> Program:
    return Program(
        program_id=record.program_id,
        provider_id=record.provider_id,
        provider_name=record.provider_name,
        title=record.title,
        description=record.description,
        direction=Direction(record.direction),
        age_min=int(record.age_min),
        age_max=int(record.age_max),
        municipality=record.municipality,
        address=record.address,
        schedule=record.schedule,
        period_id=record.period_id,
        months=list(record.months or []),
        price_per_month=int(record.price_per_month),
        capacity=int(record.capacity),
        seats_taken=int(record.seats_taken or 0),
        status=ProgramStatus(record.status),
        rating=RatingSummary(int(record.rating_sum or 0), int(record.rating_count or 0)),
        created_at=record.created_at,
        updated_at=record.updated_at,
        search_text=record.search_text,
    )


def catalog_keys(program_id: str, direction: Direction, municipality: str) -> dict[str, str]:
    """The sparse keys that put a program in the three catalog indexes (catalog_of_region ranges over program_id)."""
    return {
        "catalog_municipality": municipality,
        "catalog_key": f"{direction.value}#{program_id}",
        "catalog_direction": direction.value,
        "catalog_place": f"{municipality}#{program_id}",
        "catalog_region": REGION_CATALOG,
    }


def to_record(program: Program) -> ProgramRecord:
    """The item for ``program`` (also what bench/ batch-writes, so its catalog is built as the service builds it)."""
    record = ProgramRecord(
        program_id=program.program_id,
        record=PROGRAM,
        provider_id=program.provider_id,
        provider_name=program.provider_name,
        title=program.title,
        description=program.description,
        direction=program.direction.value,
        age_min=program.age_min,
        age_max=program.age_max,
        municipality=program.municipality,
        address=program.address,
        schedule=program.schedule,
        period_id=program.period_id,
        months=list(program.months),
        price_per_month=program.price_per_month,
        capacity=program.capacity,
        seats_taken=program.seats_taken,
        status=program.status.value,
        search_text=program.search_text,
        rating_sum=program.rating.total,
        rating_count=program.rating.count,
        created_at=program.created_at,
        updated_at=program.updated_at,
        version=0,
    )
    if program.status in LISTED:
        for name, value in catalog_keys(program.program_id, program.direction, program.municipality).items():
            setattr(record, name, value)
    return record


def insert(program: Program) -> Program:
    """One transaction: the program, and the condition that its provider is (still) approved."""
    tx = Transaction()
    tx.put(to_record(program), P.program_id.does_not_exist(), fail_with(errors.ConcurrentUpdate("retry")))
    add_approved_check(tx, program.provider_id)
    tx.commit()
    return program


def get(program_id: str, *, consistent: bool = True) -> Program:
    """One GetItem."""
    try:
        return _from_record(P.get(program_id, PROGRAM, consistent_read=consistent))
    except DoesNotExist:
        raise errors.ProgramNotFound() from None


def find(program_id: str) -> Program | None:
    try:
        return get(program_id)
    except errors.ProgramNotFound:
        return None


# --- changes ---------------------------------------------------------------------------------------------------------

# Given the program as it is now (None: there is none), the error a failed condition means.
Explain = Callable[[Program | None], Exception]


def _update(program_id: str, actions: list[UpdateAction], condition: Condition, explain: Explain) -> Program:
    """One conditional UpdateItem returning the new item; on a failed condition, the explained domain error."""
    record = P(program_id=program_id, record=PROGRAM)
    try:
        record.update(actions=actions, condition=condition, add_version_condition=False)
    except UpdateError as failure:
        if failure.cause_response_code == "ConditionalCheckFailedException":
            raise explain(find(program_id)) from None
        raise
    return _from_record(record)


@dataclass(frozen=True)
class Edit:
    """New values of a program's details (None: unchanged), and the text the new ``search_text`` was made from."""

    title: str | None = None
    description: str | None = None
    address: str | None = None
    schedule: str | None = None
    price_per_month: int | None = None
    capacity: int | None = None
    months: list[str] | None = None
    search_text: str | None = None
    # When search_text was made with a title or description as read, they must still be those.
    read_title: str | None = None
    read_description: str | None = None


def _edit_refusal(provider_id: str, change: Edit) -> Explain:
    def explain(now: Program | None) -> Exception:
        if now is None:
            return errors.ProgramNotFound()
        if now.provider_id != provider_id:
            if now.status is ProgramStatus.DRAFT:  # another provider's draft does not exist for it
                return errors.ProgramNotFound()
            return errors.Forbidden("a provider changes only its own programs")
        if now.status not in EDITABLE:
            return errors.InvalidTransition(f"a {now.status.value} program cannot be changed")
        if change.capacity is not None and now.seats_taken > change.capacity:
            return errors.CapacityBelowSeats(
                f"{now.seats_taken} seats are taken; the capacity cannot be {change.capacity}"
            )
        return errors.ConcurrentUpdate("the program changed while it was edited; retry")

    return explain


def edit(program_id: str, provider_id: str, change: Edit, updated_at: str) -> Program:
    """Applies ``edit`` if the program is the provider's and still editable, and (for a capacity) if no more seats
    are taken than the new capacity: ``seats_taken <= :capacity`` is checked by DynamoDB in the same write as the
    enrolments' ``seats_taken < capacity``, so I6 holds under any interleaving."""
    actions: list[UpdateAction] = [P.updated_at.set(updated_at), P.version.add(1)]
    for name in ("title", "description", "address", "schedule", "price_per_month", "capacity", "search_text"):
        value = getattr(change, name)
        if value is not None:
            actions.append(getattr(P, name).set(value))
    if change.months is not None:
        actions.append(P.months.set(change.months))
    condition = P.program_id.exists() & (P.provider_id == provider_id) & P.status.is_in(*(s.value for s in EDITABLE))
    if change.capacity is not None:
        condition &= P.seats_taken <= change.capacity
    if change.read_title is not None:
        condition &= P.title == change.read_title
    if change.read_description is not None:
        condition &= P.description == change.read_description
    return _update(program_id, actions, condition, _edit_refusal(provider_id, change))


def _move_refusal(read: Program) -> Explain:
    def explain(now: Program | None) -> Exception:
        if now is None:
            return errors.ProgramNotFound()
        if now.status is not read.status:
            return errors.InvalidTransition(f"the program became {now.status.value} meanwhile")
        return errors.ConcurrentUpdate("the program changed; retry")

    return explain


def move(read: Program, target: ProgramStatus, changed_at: str, changed_by: str) -> Program:
    """Moves the program from the status it was read in to ``target``, only if it is still in that status; the
    catalog keys are set when it enters the catalog and removed when it leaves."""
    actions: list[UpdateAction] = [
        P.status.set(target.value),
        P.status_changed_at.set(changed_at),
        P.status_changed_by.set(changed_by),
        P.updated_at.set(changed_at),
        P.version.add(1),
    ]
    keys = catalog_keys(read.program_id, read.direction, read.municipality)
    for name, value in keys.items():
        attribute = getattr(P, name)
        actions.append(attribute.set(value) if target in LISTED else attribute.remove())
    condition = P.program_id.exists() & (P.status == read.status.value) & (P.provider_id == read.provider_id)
    return _update(read.program_id, actions, condition, _move_refusal(read))


# --- lists -----------------------------------------------------------------------------------------------------------


def of_provider(
    provider_id: str, limit: int, after: dict[str, Any] | None
) -> tuple[list[Program], dict[str, Any] | None]:
    """One Query on the by_provider index: the provider's programs in every status, by id."""
    page = P._get_connection().query(
        provider_id, index_name=P.by_provider.Meta.index_name, limit=limit, exclusive_start_key=after
    )
    programs = [_from_record(P.from_raw_data(item)) for item in page.get("Items", [])]
    return programs, page.get("LastEvaluatedKey")


# --- the catalog -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CatalogFilters:
    """What the catalog is asked for. ``terms`` are " stem" substrings of search_text (domain.search)."""

    municipality: str | None = None
    direction: Direction | None = None
    age: int | None = None
    free_only: bool = False
    certified_only: bool = False
    terms: tuple[str, ...] = ()

    def scope(self) -> str:
        """A stable name of this listing: a cursor is valid only for the same filters."""
        return "catalog:" + "|".join(
            [
                self.municipality or "",
                self.direction.value if self.direction else "",
                "" if self.age is None else str(self.age),
                "f" if self.free_only else "",
                "c" if self.certified_only else "",
                ",".join(self.terms),
            ]
        )


@dataclass(frozen=True)
class CatalogItem:
    program_id: str
    provider_id: str
    provider_name: str
    title: str
    direction: Direction
    municipality: str
    address: str
    schedule: str
    age_min: int
    age_max: int
    period_id: str
    price_per_month: int
    free_seats: int
    status: ProgramStatus
    rating: RatingSummary


@dataclass(frozen=True)
class CatalogPage:
    """``next_key`` is where the next page starts (None: the end). ``queries`` and ``evaluated`` say what the page
    cost: Query calls made and items DynamoDB read for them (matched or not)."""

    items: list[CatalogItem]
    next_key: dict[str, Any] | None
    queries: int
    evaluated: int


@dataclass(frozen=True)
class _Plan:
    index: str
    partition: str
    range_condition: Condition | None
    filter: Condition | None
    key_attributes: tuple[str, str]


def _index(filters: CatalogFilters) -> tuple[str, str, Condition | None, tuple[str, str]]:
    """The catalog index the filters choose: its name, the partition, a key condition and its key attributes.

    municipality (+ direction as a key prefix) -> catalog_by_municipality; direction only -> catalog_by_direction;
    neither -> catalog_of_region.
    """
    if filters.municipality is not None:
        prefix = P.catalog_key.startswith(f"{filters.direction.value}#") if filters.direction else None
        keys = ("catalog_municipality", "catalog_key")
        return P.catalog_by_municipality.Meta.index_name, filters.municipality, prefix, keys
    if filters.direction is not None:
        keys = ("catalog_direction", "catalog_place")
        return P.catalog_by_direction.Meta.index_name, filters.direction.value, None, keys
    return P.catalog_of_region.Meta.index_name, REGION_CATALOG, None, ("catalog_region", "program_id")


def _plan(filters: CatalogFilters) -> _Plan:
    """The index the filters choose, and what is left for the FilterExpression."""
    index, partition, range_condition, keys = _index(filters)
    parts: list[Condition] = []
    if filters.age is not None:
        parts += [P.age_min <= filters.age, P.age_max >= filters.age]
    if filters.free_only:
        parts.append(P.seats_taken < P.capacity)  # DynamoDB compares the two attributes of the item
    if filters.certified_only:
        parts.append(P.status == ProgramStatus.CERTIFIED.value)
    parts += [P.search_text.contains(term) for term in filters.terms]
    condition: Condition | None = None
    for part in parts:
        condition = part if condition is None else condition & part
    return _Plan(index, partition, range_condition, condition, keys)


def _evaluate(missing: int, filters: CatalogFilters, filtered: bool) -> int:
    """How many items one Query reads: what the page misses when nothing is filtered out; otherwise more, and the
    most for a text query (words are rare: a page must read widely to fill)."""
    if not filtered:
        return missing
    if filters.terms:
        return FILTERED_EVALUATE_MAX
    return max(FILTERED_EVALUATE_MIN, min(FILTERED_EVALUATE_MAX, missing * FILTER_FANOUT))


def _item(raw: dict[str, Any]) -> CatalogItem:
    def s(name: str) -> str:
        return str(raw[name]["S"])

    def n(name: str) -> int:
        return int(raw[name]["N"]) if name in raw else 0

    return CatalogItem(
        program_id=s("program_id"),
        provider_id=s("provider_id"),
        provider_name=s("provider_name"),
        title=s("title"),
        direction=Direction(s("direction")),
        municipality=s("municipality"),
        address=s("address"),
        schedule=s("schedule"),
        age_min=n("age_min"),
        age_max=n("age_max"),
        period_id=s("period_id"),
        price_per_month=n("price_per_month"),
        free_seats=max(n("capacity") - n("seats_taken"), 0),
        status=ProgramStatus(s("status")),
        rating=RatingSummary(n("rating_sum"), n("rating_count")),
    )


def _key_of(raw: dict[str, Any], plan: _Plan) -> dict[str, Any]:
    """The index key of an item: where a page that ends on it continues (ExclusiveStartKey)."""
    return {name: raw[name] for name in ("program_id", "record", *plan.key_attributes)}


def catalog_page(filters: CatalogFilters, limit: int, after: dict[str, Any] | None, max_queries: int) -> CatalogPage:
    """Up to ``limit`` listed programs matching ``filters``, after ``after``.

    The bound: at most ``max_queries`` Query calls, each with a ``Limit`` (at most FILTERED_EVALUATE_MAX items
    read), whatever the size of the catalog. When the filters are selective the page may come back short, or even
    empty, with a ``next_key``: the caller continues from there.
    """
    plan = _plan(filters)
    connection = P._get_connection()
    items: list[CatalogItem] = []
    start, queries, evaluated = after, 0, 0
    while queries < max_queries and len(items) < limit:
        missing = limit - len(items)
        page = connection.query(
            plan.partition,
            range_key_condition=plan.range_condition,
            filter_condition=plan.filter,
            attributes_to_get=list(_CATALOG_ATTRIBUTES),
            exclusive_start_key=start,
            index_name=plan.index,
            limit=_evaluate(missing, filters, plan.filter is not None),
        )
        queries += 1
        evaluated += int(page.get("ScannedCount", 0))
        found = page.get("Items", [])
        if len(found) > missing:  # the page fills up inside this batch: continue right after its last item
            taken = found[:missing]
            items += [_item(raw) for raw in taken]
            return CatalogPage(items, _key_of(taken[-1], plan), queries, evaluated)
        items += [_item(raw) for raw in found]
        start = page.get("LastEvaluatedKey")
        if not start:
            return CatalogPage(items, None, queries, evaluated)
    return CatalogPage(items, start, queries, evaluated)
