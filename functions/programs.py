"""Programs, the public catalog and ratings.

POST  /programs                               provider (approved): a new program, published or a draft
GET   /programs                               anyone: the catalog (filters, cursor pages; a page may be short)
GET   /programs/{program_id}                  anyone (a draft: its provider only)
PATCH /programs/{program_id}                  its provider: details, price (new enrolments only), capacity
POST  /programs/{program_id}/publish          its provider: draft -> published
POST  /programs/{program_id}/certification    operator of its municipality: published -> certified
POST  /programs/{program_id}/close            its provider or an operator: published|certified -> closed
GET   /providers/{provider_id}/programs       the provider itself or an operator: every status
POST  /programs/{program_id}/ratings          parent with an accepted contract: 1-5 once per contract
GET   /programs/{program_id}/ratings          anyone: scores, comments, dates; never who rated
"""

import re
from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from chalicelib.domain import errors
from chalicelib.domain.actors import Principal
from chalicelib.domain.certificate import MAX_AGE, MIN_AGE
from chalicelib.domain.money import MAX_AMOUNT_KOPECKS
from chalicelib.domain.program import (
    ADDRESS_MAX,
    AGE_MAX,
    AGE_MIN,
    CAPACITY_MAX,
    COMMENT_MAX,
    DESCRIPTION_MAX,
    SCHEDULE_MAX,
    SCORE_MAX,
    SCORE_MIN,
    TITLE_MAX,
    Direction,
    ProgramChanges,
    ProgramDraft,
)
from chalicelib.domain.search import MAX_QUERY_CHARS
from chalicelib.platform import cursor
from chalicelib.platform.auth import authenticate
from chalicelib.services import catalog, programs, ratings
from functions.edge.apidoc import describe
from functions.edge.http import DIGITS_ONLY, Call, Query, Reply
from functions.schemas import Out, RatingOut, Seen, Strict

_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
PAGE, MAX_PAGE = 20, 100
Kopecks = Annotated[int, Field(ge=0, le=MAX_AMOUNT_KOPECKS)]
Age = Annotated[int, Field(ge=AGE_MIN, le=AGE_MAX)]
Capacity = Annotated[int, Field(ge=1, le=CAPACITY_MAX)]
MonthText = Annotated[str, Field(pattern=r"^\d{4}-\d{2}$")]


# --- bodies ----------------------------------------------------------------------------------------------------------


class ProgramIn(Strict):
    title: Annotated[str, Field(min_length=1, max_length=TITLE_MAX)]
    description: Annotated[str, Field(min_length=1, max_length=DESCRIPTION_MAX)]
    direction: Literal[
        "technical", "natural_science", "physical_sports", "arts", "tourism_local_history", "social_humanitarian"
    ]
    age_min: Age
    age_max: Age
    municipality: Annotated[str, Field(min_length=2, max_length=48)]
    address: Annotated[str, Field(min_length=1, max_length=ADDRESS_MAX)]
    schedule: Annotated[str, Field(min_length=1, max_length=SCHEDULE_MAX)]
    period_id: Annotated[str, Field(min_length=1, max_length=32)]
    months: Annotated[list[MonthText], Field(min_length=1, max_length=24)] | None = None
    price_per_month: Kopecks
    capacity: Capacity
    draft: bool = False


class ProgramPatch(Strict):
    title: Annotated[str, Field(min_length=1, max_length=TITLE_MAX)] | None = None
    description: Annotated[str, Field(min_length=1, max_length=DESCRIPTION_MAX)] | None = None
    address: Annotated[str, Field(min_length=1, max_length=ADDRESS_MAX)] | None = None
    schedule: Annotated[str, Field(min_length=1, max_length=SCHEDULE_MAX)] | None = None
    price_per_month: Kopecks | None = None
    capacity: Capacity | None = None
    months: Annotated[list[MonthText], Field(min_length=1, max_length=24)] | None = None


class RatingIn(Strict):
    contract_id: Annotated[str, Field(min_length=1, max_length=64)]
    score: Annotated[int, Field(ge=SCORE_MIN, le=SCORE_MAX)]
    comment: Annotated[str, Field(max_length=COMMENT_MAX)] | None = None


class CatalogQueryIn(Query):
    """The catalog's filters (all optional); any other parameter is refused."""

    model_config = ConfigDict(extra="forbid")

    municipality: str | None = None
    direction: Direction | None = None
    age: Annotated[int, Field(ge=MIN_AGE, le=MAX_AGE - 1), DIGITS_ONLY] | None = None
    free_only: bool = False
    certified_only: bool = False
    q: Annotated[str | None, Field(max_length=MAX_QUERY_CHARS, description="Words of the title or description.")] = None
    limit: Annotated[int, Field(ge=1, le=catalog.MAX_LIMIT), DIGITS_ONLY] = catalog.DEFAULT_LIMIT
    cursor: Annotated[str | None, Field(description="The previous page's cursor (same filters).")] = None


class PageQuery(Query):
    limit: Annotated[int, Field(ge=1, le=MAX_PAGE), DIGITS_ONLY] = PAGE
    cursor: Annotated[str | None, Field(description="The previous page's cursor.")] = None


class ProgramOut(Out):
    program_id: str
    provider_id: str
    provider_name: str
    title: str
    description: str
    direction: str
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
    free_seats: int
    status: str
    rating: RatingOut
    created_at: str
    updated_at: str


class ChangedProgramOut(ProgramOut):
    certification_withdrawn: Annotated[
        bool,
        Field(
            description="True when this edit changed a certified term (title, description, price_per_month, months) "
            "of a certified program: it is published again, and certificates pay for new enrolments only once an "
            "operator certifies it again. Contracts already made keep the terms they were made at."
        ),
    ]


class CatalogItemOut(Out):
    program_id: str
    title: str
    direction: str
    municipality: str
    address: str
    schedule: str
    age_min: int
    age_max: int
    period_id: str
    price_per_month: int
    free_seats: int
    status: str
    provider_id: str
    provider_name: str
    rating: RatingOut


class CatalogOut(Out):
    """A page may hold fewer than ``limit`` items (even none) while ``cursor`` is not null: the catalog answers each
    request with a bounded amount of work. Keep following ``cursor`` until it is null."""

    items: list[CatalogItemOut]
    cursor: str | None


class ProviderProgramsOut(Out):
    provider_id: str
    rating: RatingOut
    programs: list[ProgramOut]
    cursor: str | None


class RatingItemOut(Out):
    score: int
    comment: str | None
    rated_on: str


class RatingsOut(Out):
    program_id: str
    rating: RatingOut
    ratings: list[RatingItemOut]
    cursor: str | None


class RatedOut(Out):
    program_id: str
    score: int
    comment: str | None
    rated_on: str


# --- routes ----------------------------------------------------------------------------------------------------------


@describe(
    summary="Publish a new program (or keep it a draft)",
    body=ProgramIn,
    returns=ProgramOut,
    status=201,
    refusals=(errors.ProviderNotApproved, errors.ProviderSuspended, errors.PeriodNotFound, errors.ConcurrentUpdate),
    roles=("provider (approved)",),
)
def create_program(call: Call) -> Reply:
    body = call.parse(ProgramIn)
    described = body.model_dump(exclude={"period_id", "months", "draft"})
    draft = ProgramDraft(**{**described, "direction": Direction(body.direction)})
    program = programs.create(call.ctx, call.actor, draft, body.period_id, body.months, as_draft=body.draft)
    return Reply(ProgramOut.of(program), 201)


@describe(
    summary="The catalog: published and certified programs, filtered, in pages (follow cursor until it is null)",
    query=CatalogQueryIn,
    returns=CatalogOut,
    roles=("anyone",),
)
def catalog_page(call: Call) -> Reply:
    query = call.parse_query(CatalogQueryIn)
    result = catalog.search(call.ctx, _catalog_query(query), query.cursor)
    return Reply(CatalogOut.build(items=result.items, cursor=result.cursor))


@describe(
    summary="A program (a draft: its provider only)",
    returns=ProgramOut,
    refusals=(errors.ProgramNotFound, errors.Unauthenticated),
    roles=("anyone",),
)
def view_program(call: Call) -> Reply:
    return Reply(ProgramOut.of(programs.view(call.ctx, _caller(call), _program_id(call))))


@describe(
    summary="Change a program's details, price (new enrolments only), capacity or months",
    body=ProgramPatch,
    returns=ChangedProgramOut,
    refusals=(
        errors.ProgramNotFound,
        errors.InvalidTransition,
        errors.CapacityBelowSeats,
        errors.PeriodNotFound,
        errors.ConcurrentUpdate,
        errors.ProviderSuspended,
        errors.ProviderNotApproved,
    ),
    roles=("its provider (approved)",),
)
def change_program(call: Call) -> Reply:
    body = call.parse(ProgramPatch)
    changes = ProgramChanges(**body.model_dump(exclude_none=True))
    edited = programs.change(call.ctx, call.actor, _program_id(call), changes)
    seen = Seen(edited.program, certification_withdrawn=edited.certification_withdrawn)
    return Reply(ChangedProgramOut.of(seen))


@describe(
    summary="Publish a draft",
    returns=ProgramOut,
    refusals=(
        errors.ProgramNotFound,
        errors.InvalidTransition,
        errors.ConcurrentUpdate,
        errors.ProviderSuspended,
        errors.ProviderNotApproved,
    ),
    roles=("its provider",),
)
def publish_program(call: Call) -> Reply:
    return Reply(ProgramOut.of(programs.publish(call.ctx, call.actor, _program_id(call))))


@describe(
    summary="Certify a published program for payment by certificate",
    returns=ProgramOut,
    refusals=(errors.ProgramNotFound, errors.InvalidTransition, errors.ConcurrentUpdate),
    roles=("operator of its municipality",),
)
def certify_program(call: Call) -> Reply:
    return Reply(ProgramOut.of(programs.certify(call.ctx, call.actor, _program_id(call))))


@describe(
    summary="Close a program (its contracts run on)",
    returns=ProgramOut,
    refusals=(errors.ProgramNotFound, errors.InvalidTransition, errors.ConcurrentUpdate),
    roles=("its provider", "operator of its municipality"),
)
def close_program(call: Call) -> Reply:
    return Reply(ProgramOut.of(programs.close(call.ctx, call.actor, _program_id(call))))


@describe(
    summary="A provider's programs in every status",
    query=PageQuery,
    returns=ProviderProgramsOut,
    refusals=(errors.ProviderNotFound,),
    roles=("the provider itself", "operator"),
)
def provider_programs(call: Call) -> Reply:
    provider_id = call.params["provider_id"]
    if not _ID.fullmatch(provider_id):
        raise errors.InvalidRequest("provider_id is not valid")
    secret = call.ctx.settings.cursor_key
    scope = f"provider-programs:{provider_id}"
    query = call.parse_query(PageQuery)
    after = cursor.decode(secret, scope, query.cursor)
    page = programs.of_provider(call.ctx, call.actor, provider_id, query.limit, after)
    return Reply(
        ProviderProgramsOut.build(
            provider_id=provider_id,
            rating=ratings.provider_rating(provider_id),
            programs=page.items,
            cursor=cursor.encode(secret, scope, page.next_key),
        )
    )


@describe(
    summary="Rate a program 1-5, once per contract",
    body=RatingIn,
    returns=RatedOut,
    status=201,
    refusals=(errors.ProgramNotFound, errors.NotEligibleToRate, errors.AlreadyRated, errors.ProviderNotFound),
    roles=("parent with a contract the provider accepted",),
)
def rate_program(call: Call) -> Reply:
    body = call.parse(RatingIn)
    rated = ratings.rate(call.ctx, call.actor, _program_id(call), body.contract_id, body.score, body.comment)
    return Reply(RatedOut.of(rated), 201)


@describe(
    summary="A program's ratings: scores, comments and dates (never who rated)",
    query=PageQuery,
    returns=RatingsOut,
    refusals=(errors.ProgramNotFound, errors.Unauthenticated),
    roles=("anyone",),
)
def program_ratings(call: Call) -> Reply:
    query = call.parse_query(PageQuery)
    page = ratings.list_ratings(call.ctx, _caller(call), _program_id(call), query.limit, query.cursor)
    return Reply(RatingsOut.of(page))


# --- parsing ---------------------------------------------------------------------------------------------------------


def _catalog_query(query: CatalogQueryIn) -> catalog.CatalogQuery:
    return catalog.CatalogQuery(
        municipality=query.municipality,
        direction=query.direction.value if query.direction is not None else None,
        age=query.age,
        free_only=query.free_only,
        certified_only=query.certified_only,
        q=query.q,
        limit=query.limit,
    )


def _program_id(call: Call) -> str:
    program_id = call.params["program_id"]
    if not _ID.fullmatch(program_id):
        raise errors.ProgramNotFound()
    return program_id


def _caller(call: Call) -> Principal | None:
    """Public routes: anonymous without a token; with one, it must be valid (a draft is shown to its provider)."""
    header = call.headers.get("authorization")
    return authenticate(call.ctx.settings, header) if header else None
