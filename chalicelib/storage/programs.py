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
from dataclasses import dataclass, fields
from typing import Any

from pynamodb.exceptions import DoesNotExist, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action as UpdateAction

from chalicelib.domain import errors
from chalicelib.domain.program import EDITABLE, LISTED, Direction, Program, ProgramChanges, ProgramStatus, RatingSummary
from chalicelib.storage.mapping import Mapper, Spread, enum_of, list_of
from chalicelib.storage.models import ProgramRecord
from chalicelib.storage.pages import Page
from chalicelib.storage.providers import add_approved_check
from chalicelib.storage.transactions import OnFailure, Transaction, fail_with

PROGRAM = "program"
# The partition of the region-wide catalog index (catalog_of_region): one region per deployment.
REGION_CATALOG = "region"

# A catalog Query evaluates (reads) at most this many items. With no filter it reads exactly what the page still
# needs; with filters it reads more (fanout x what is missing, within these bounds) since some will not match.
FILTER_FANOUT = 10
FILTERED_EVALUATE_MIN = 100
FILTERED_EVALUATE_MAX = 400


def new_program_id() -> str:
    return f"prg-{uuid.uuid4().hex[:16]}"


CATALOG_KEYS = ("catalog_municipality", "catalog_key", "catalog_direction", "catalog_place", "catalog_region")


def catalog_keys(program: Program) -> dict[str, str]:
    """The sparse keys that put a program in the three catalog indexes (catalog_of_region ranges over program_id)."""
    return {
        "catalog_municipality": program.municipality,
        "catalog_key": f"{program.direction.value}#{program.program_id}",
        "catalog_direction": program.direction.value,
        "catalog_place": f"{program.municipality}#{program.program_id}",
        "catalog_region": REGION_CATALOG,
    }


def _catalog_key(name: str) -> Callable[[Program], str | None]:
    """A sparse catalog key of the program: set while it is listed, absent otherwise."""
    return lambda program: catalog_keys(program)[name] if program.listed else None


PROGRAMS = Mapper(
    Program,
    ProgramRecord,
    convert={"direction": enum_of(Direction), "status": enum_of(ProgramStatus), "months": list_of()},
    spread={"rating": Spread(RatingSummary, {"total": "rating_sum", "count": "rating_count"})},
    derived={
        "record": lambda _program: PROGRAM,
        **{name: _catalog_key(name) for name in CATALOG_KEYS},
    },
)


def to_record(program: Program) -> ProgramRecord:
    """The item for ``program`` (also what bench/ batch-writes, so its catalog is built as the service builds it)."""
    return PROGRAMS.record(program)


def insert(program: Program) -> Program:
    """One transaction: the program, and the condition that its provider is (still) approved."""
    tx = Transaction()
    tx.put(
        PROGRAMS.record(program), ProgramRecord.program_id.does_not_exist(), fail_with(errors.ConcurrentUpdate("retry"))
    )
    add_approved_check(tx, program.provider_id)
    tx.commit()
    return program


def get(program_id: str, *, consistent: bool = True) -> Program:
    """One GetItem."""
    try:
        return PROGRAMS.to_entity(ProgramRecord.get(program_id, PROGRAM, consistent_read=consistent))
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
    record = ProgramRecord(program_id=program_id, record=PROGRAM)
    try:
        record.update(actions=actions, condition=condition, add_version_condition=False)
    except UpdateError as failure:
        if failure.cause_response_code == "ConditionalCheckFailedException":
            raise explain(find(program_id)) from None
        raise
    return PROGRAMS.to_entity(record)


@dataclass(frozen=True)
class Edit:
    """A provider's checked changes (None: unchanged; months inside the period), the new ``search_text`` and the
    title and description it was made from, as read (then they must still be those)."""

    changes: ProgramChanges
    search_text: str | None = None
    # When search_text was made with a title or description as read, they must still be those.
    read_title: str | None = None
    read_description: str | None = None


class _CertifiedTermsChanged(Exception):
    """The program is certified and the edit changes a certified term: ``edit`` withdraws the certification with it."""


def _edit_refusal(provider_id: str, change: Edit, *, withdrawing: bool) -> OnFailure:
    """Why the edit's condition failed, from the program's old image (ALL_OLD: nothing is read to explain it)."""

    def explain(image: dict[str, Any] | None) -> Exception:
        now = PROGRAMS.from_image(image) if image else None
        if now is None:
            return errors.ProgramNotFound()
        if now.provider_id != provider_id:
            if now.status is ProgramStatus.DRAFT:  # another provider's draft does not exist for it
                return errors.ProgramNotFound()
            return errors.Forbidden("a provider changes only its own programs")
        if now.status not in EDITABLE:
            return errors.InvalidTransition(f"a {now.status.value} program cannot be changed")
        capacity = change.changes.capacity
        if capacity is not None and now.seats_taken > capacity:
            return errors.CapacityBelowSeats(f"{now.seats_taken} seats are taken; the capacity cannot be {capacity}")
        if not withdrawing and now.status is ProgramStatus.CERTIFIED and change.changes.changes_terms_of(now):
            return _CertifiedTermsChanged()
        return errors.ConcurrentUpdate("the program changed while it was edited; retry")

    return explain


@dataclass(frozen=True)
class Edited:
    """The program after an edit, and whether the edit withdrew its certification (it changed a certified term)."""

    program: Program
    certification_withdrawn: bool


def edit(program_id: str, provider_id: str, change: Edit, updated_at: str, changed_by: str) -> Edited:
    """Applies ``change`` if the program is the provider's and still editable, if the provider is approved (a
    suspended provider changes nothing), and (for a capacity) if no more seats are taken than the new capacity:
    ``seats_taken <= :capacity`` is checked by DynamoDB in the same write as the enrolments' ``seats_taken <
    capacity``, so I6 holds under any interleaving.

    A certified program whose certified terms the change alters goes back to ``published`` in the same write: the
    first transaction keeps the status only if the program is not certified or the terms stay as they are; when that
    is what failed, the second one moves it from ``certified`` (a new status in between: ``ConcurrentUpdate``, the
    caller retries). Then one consistent GetItem reads the program as it now is."""
    try:
        _commit_edit(program_id, provider_id, change, updated_at, changed_by, withdraw=False)
        withdrawn = False
    except _CertifiedTermsChanged:
        _commit_edit(program_id, provider_id, change, updated_at, changed_by, withdraw=True)
        withdrawn = True
    return Edited(get(program_id), withdrawn)


def _commit_edit(
    program_id: str, provider_id: str, change: Edit, updated_at: str, changed_by: str, *, withdraw: bool
) -> None:
    P = ProgramRecord
    actions: list[UpdateAction] = [P.updated_at.set(updated_at), P.version.add(1)]
    values = {f.name: getattr(change.changes, f.name) for f in fields(ProgramChanges)}
    for name, value in {**values, "search_text": change.search_text}.items():
        if value is not None:
            actions.append(getattr(P, name).set(value))
    condition = P.program_id.exists() & (P.provider_id == provider_id)
    if withdraw:
        # Back to the catalog's "published" (its catalog keys stay): certified again only by an operator.
        actions += [
            P.status.set(ProgramStatus.PUBLISHED.value),
            P.status_changed_at.set(updated_at),
            P.status_changed_by.set(changed_by),
        ]
        condition &= P.status == ProgramStatus.CERTIFIED.value
    else:
        condition &= P.status.is_in(*(s.value for s in EDITABLE))
        terms = change.changes.terms
        if terms:
            unchanged: Condition = P.status != ProgramStatus.CERTIFIED.value
            same: Condition | None = None
            for name, value in terms.items():
                part = getattr(P, name) == value
                same = part if same is None else same & part
            condition &= unchanged | same
    if change.changes.capacity is not None:
        condition &= P.seats_taken <= change.changes.capacity
    if change.read_title is not None:
        condition &= P.title == change.read_title
    if change.read_description is not None:
        condition &= P.description == change.read_description
    tx = Transaction()
    tx.update(
        P(program_id=program_id, record=PROGRAM),
        actions,
        condition,
        _edit_refusal(provider_id, change, withdrawing=withdraw),
        want_old_image=True,
        rank=1,  # "not your program" explains a refusal before "your provider is suspended"
    )
    add_approved_check(tx, provider_id)
    tx.commit()


def _move_refusal(read: Program) -> Explain:
    def explain(now: Program | None) -> Exception:
        if now is None:
            return errors.ProgramNotFound()
        if now.status is not read.status:
            return errors.InvalidTransition(f"the program became {now.status.value} meanwhile")
        return errors.ConcurrentUpdate("the program changed; retry")

    return explain


def move(
    read: Program, target: ProgramStatus, changed_at: str, changed_by: str, *, approved_by: str | None = None
) -> Program:
    """Moves the program from the status it was read in to ``target``, only if it is still in that status; the
    catalog keys are set when it enters the catalog and removed when it leaves. With ``approved_by`` (publishing), the
    write is also conditioned on that provider being approved: one transaction, then one consistent GetItem."""
    actions: list[UpdateAction] = [
        ProgramRecord.status.set(target.value),
        ProgramRecord.status_changed_at.set(changed_at),
        ProgramRecord.status_changed_by.set(changed_by),
        ProgramRecord.updated_at.set(changed_at),
        ProgramRecord.version.add(1),
    ]
    for name, value in catalog_keys(read).items():
        attribute = getattr(ProgramRecord, name)
        actions.append(attribute.set(value) if target in LISTED else attribute.remove())
    condition = (
        ProgramRecord.program_id.exists()
        & (ProgramRecord.status == read.status.value)
        & (ProgramRecord.provider_id == read.provider_id)
    )
    if approved_by is None:
        return _update(read.program_id, actions, condition, _move_refusal(read))
    explain = _move_refusal(read)
    tx = Transaction()
    tx.update(
        ProgramRecord(program_id=read.program_id, record=PROGRAM),
        actions,
        condition,
        lambda image: explain(PROGRAMS.from_image(image) if image else None),
        want_old_image=True,
        rank=1,
    )
    add_approved_check(tx, approved_by)
    tx.commit()
    return get(read.program_id)


# --- lists -----------------------------------------------------------------------------------------------------------


def of_provider(provider_id: str, limit: int, after: dict[str, Any] | None) -> Page[Program]:
    """One Query on the by_provider index: the provider's programs in every status, by id."""
    page = ProgramRecord._get_connection().query(
        provider_id, index_name=ProgramRecord.by_provider.Meta.index_name, limit=limit, exclusive_start_key=after
    )
    return Page([PROGRAMS.from_image(item) for item in page.get("Items", [])], page.get("LastEvaluatedKey"))


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
class CatalogPage:
    """``next_key`` is where the next page starts (None: the end). ``queries`` and ``evaluated`` say what the page
    cost: Query calls made and items DynamoDB read for them (matched or not)."""

    items: list[Program]
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
        prefix = ProgramRecord.catalog_key.startswith(f"{filters.direction.value}#") if filters.direction else None
        keys = ("catalog_municipality", "catalog_key")
        return ProgramRecord.catalog_by_municipality.Meta.index_name, filters.municipality, prefix, keys
    if filters.direction is not None:
        keys = ("catalog_direction", "catalog_place")
        return ProgramRecord.catalog_by_direction.Meta.index_name, filters.direction.value, None, keys
    return ProgramRecord.catalog_of_region.Meta.index_name, REGION_CATALOG, None, ("catalog_region", "program_id")


def _plan(filters: CatalogFilters) -> _Plan:
    """The index the filters choose, and what is left for the FilterExpression."""
    index, partition, range_condition, keys = _index(filters)
    parts: list[Condition] = []
    if filters.age is not None:
        parts += [ProgramRecord.age_min <= filters.age, ProgramRecord.age_max >= filters.age]
    if filters.free_only:
        parts.append(
            ProgramRecord.seats_taken < ProgramRecord.capacity
        )  # DynamoDB compares the two attributes of the item
    if filters.certified_only:
        parts.append(ProgramRecord.status == ProgramStatus.CERTIFIED.value)
    parts += [ProgramRecord.search_text.contains(term) for term in filters.terms]
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
    connection = ProgramRecord._get_connection()
    items: list[Program] = []
    start, queries, evaluated = after, 0, 0
    while queries < max_queries and len(items) < limit:
        missing = limit - len(items)
        page = connection.query(
            plan.partition,
            range_key_condition=plan.range_condition,
            filter_condition=plan.filter,
            exclusive_start_key=start,
            index_name=plan.index,
            limit=_evaluate(missing, filters, plan.filter is not None),
        )
        queries += 1
        evaluated += int(page.get("ScannedCount", 0))
        found = page.get("Items", [])
        if len(found) > missing:  # the page fills up inside this batch: continue right after its last item
            taken = found[:missing]
            items += [PROGRAMS.from_image(raw) for raw in taken]
            return CatalogPage(items, _key_of(taken[-1], plan), queries, evaluated)
        items += [PROGRAMS.from_image(raw) for raw in found]
        start = page.get("LastEvaluatedKey")
        if not start:
            return CatalogPage(items, None, queries, evaluated)
    return CatalogPage(items, start, queries, evaluated)
