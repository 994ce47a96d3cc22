"""The public catalog against DynamoDB Local: each filter alone and combined, Russian text queries, cursor pages,
tamper-evident cursors, and the bound on round trips per page whatever the size of the catalog."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

import pytest
from chalice.test import Client

from chalicelib.domain import errors
from chalicelib.domain.actors import Principal, Role
from chalicelib.domain.period import Period
from chalicelib.domain.program import Direction, Program, ProgramDraft, ProgramStatus, RatingSummary
from chalicelib.services import catalog, periods, programs
from chalicelib.services.catalog import CatalogQuery
from chalicelib.services.context import Context
from chalicelib.storage import programs as store
from chalicelib.storage.models import ProgramRecord
from devtools.roundtrips import counting
from tests.integration.test_http import call, payload, refused, token
from tests.integration.test_programs import PERIOD_2027, provider_record, take_seats

RADUGA, ISKRA = "7707083893", "7728168971"
REGION = Principal("op-region", Role.OPERATOR, municipality="*")


@dataclass(frozen=True)
class Spec:
    title: str
    direction: Direction
    municipality: str
    ages: tuple[int, int]
    price: int
    capacity: int
    status: str
    seats: int = 0
    provider: str = RADUGA
    description: str = "Занятия в группах до 15 человек."


SPECS = {
    "chess": Spec("Шахматы для начинающих", Direction.PHYSICAL_SPORTS, "elizovo", (7, 12), 150_000, 12, "certified"),
    "chess_club": Spec(
        "Шахматный клуб «Ладья»", Direction.PHYSICAL_SPORTS, "milkovo", (10, 17), 0, 5, "published", seats=5
    ),
    "robots": Spec("Робототехника", Direction.TECHNICAL, "elizovo", (8, 14), 200_000, 10, "published", provider=ISKRA),
    "ecology": Spec("Юный эколог", Direction.NATURAL_SCIENCE, "elizovo", (5, 9), 0, 20, "certified"),
    "dance": Spec("Бальные танцы", Direction.ARTS, "milkovo", (6, 16), 120_000, 15, "certified", provider=ISKRA),
    "kamchatka": Spec(
        "Краеведение", Direction.TOURISM_LOCAL_HISTORY, "elizovo", (11, 17), 0, 10, "published", description="Камчатка"
    ),
    "english": Spec(
        "Английский язык", Direction.SOCIAL_HUMANITARIAN, "elizovo", (7, 10), 90_000, 8, "certified", seats=8
    ),
    "draft": Spec("Шахматы: черновик", Direction.PHYSICAL_SPORTS, "elizovo", (7, 12), 0, 10, "draft"),
    "closed": Spec("Шахматы, закрытая группа", Direction.PHYSICAL_SPORTS, "elizovo", (7, 12), 0, 10, "closed"),
}
LISTED = {name for name, spec in SPECS.items() if spec.status in ("published", "certified")}


def open_2027(ctx: Context) -> None:
    periods.open_period(
        ctx,
        REGION,
        Period("2027", date(2027, 1, 1), date(2027, 12, 31), 1_200_000, {"elizovo": 9}, "Asia/Kamchatka"),
    )


def create(ctx: Context, spec: Spec) -> str:
    owner = Principal(f"user-{spec.provider}", Role.PROVIDER, provider_id=spec.provider)
    draft = ProgramDraft(
        title=spec.title,
        description=spec.description,
        direction=spec.direction,
        age_min=spec.ages[0],
        age_max=spec.ages[1],
        municipality=spec.municipality,
        address=f"{spec.municipality}, ул. Ленина, 1",
        schedule="вт, чт 16:00",
        price_per_month=spec.price,
        capacity=spec.capacity,
    )
    program_id = programs.create(ctx, owner, draft, "2027", None, as_draft=spec.status == "draft").program_id
    if spec.status in ("certified", "closed"):
        programs.certify(ctx, REGION, program_id)
    if spec.status == "closed":
        programs.close(ctx, owner, program_id)
    if spec.seats:
        take_seats(program_id, spec.seats)
    return program_id


@pytest.fixture
def region(ctx: Context) -> dict[str, str]:
    """The programs of SPECS, by name -> program id."""
    open_2027(ctx)
    provider_record(RADUGA)
    provider_record(ISKRA)
    return {name: create(ctx, spec) for name, spec in SPECS.items()}


def everything(ctx: Context, query: CatalogQuery) -> tuple[list[str], list[int]]:
    """Every program id the query finds, following the cursor; and the size of each page."""
    found: list[str] = []
    sizes: list[int] = []
    after: str | None = None
    while True:
        result = catalog.search(ctx, query, after)
        found += [item.program_id for item in result.items]
        sizes.append(len(result.items))
        after = result.cursor
        if after is None:
            return found, sizes


def names(region: dict[str, str], found: list[str]) -> set[str]:
    by_id = {program_id: name for name, program_id in region.items()}
    assert len(found) == len(set(found)), "a program came twice"
    return {by_id[program_id] for program_id in found}


CASES = [
    ({}, LISTED),
    ({"municipality": "elizovo"}, {"chess", "robots", "ecology", "kamchatka", "english"}),
    ({"municipality": "milkovo"}, {"chess_club", "dance"}),
    ({"direction": "physical_sports"}, {"chess", "chess_club"}),
    ({"municipality": "elizovo", "direction": "physical_sports"}, {"chess"}),
    ({"municipality": "milkovo", "direction": "technical"}, set()),
    ({"age": 8}, {"chess", "robots", "ecology", "dance", "english"}),
    ({"age": 17}, {"chess_club", "kamchatka"}),
    ({"free_only": True}, LISTED - {"chess_club", "english"}),
    ({"certified_only": True}, {"chess", "ecology", "dance", "english"}),
    ({"q": "шахматы"}, {"chess", "chess_club"}),
    ({"q": "Шахматам"}, {"chess", "chess_club"}),
    ({"q": "шахматный клуб"}, {"chess_club"}),
    ({"q": "камчатка"}, {"kamchatka"}),
    ({"q": "ЭКОЛОГИЯ"}, {"ecology"}),
    ({"q": "группах"}, LISTED - {"kamchatka"}),  # the description is searched too
    ({"q": "шашки"}, set()),
    ({"municipality": "elizovo", "age": 8, "free_only": True, "certified_only": True}, {"chess", "ecology"}),
    ({"municipality": "elizovo", "age": 8, "free_only": True, "certified_only": True, "q": "эколог"}, {"ecology"}),
    ({"direction": "physical_sports", "age": 11, "q": "шахматы"}, {"chess", "chess_club"}),
    ({"direction": "physical_sports", "age": 11, "q": "шахматы", "free_only": True}, {"chess"}),
]


@pytest.mark.parametrize(("filters", "expected"), CASES)
def test_each_filter_alone_and_combined_finds_exactly_the_listed_programs_that_match(
    ctx: Context, region: dict[str, str], filters: dict[str, Any], expected: set[str]
) -> None:
    found, _sizes = everything(ctx, CatalogQuery(**filters))
    assert names(region, found) == expected


def test_an_item_shows_the_provider_the_price_the_free_seats_and_the_rating(
    ctx: Context, region: dict[str, str]
) -> None:
    ProgramRecord(program_id=region["chess"], record="program").update(
        actions=[ProgramRecord.rating_sum.add(9), ProgramRecord.rating_count.add(2)]
    )
    take_seats(region["chess"], 3)
    [item] = catalog.search(ctx, CatalogQuery(municipality="elizovo", direction="physical_sports")).items
    assert item.program_id == region["chess"]
    assert item.provider_id == RADUGA and item.provider_name == f"Центр творчества «Радуга-{RADUGA[-2:]}»"
    assert (item.price_per_month, item.free_seats, item.status) == (150_000, 9, ProgramStatus.CERTIFIED)
    assert (item.age_min, item.age_max, item.direction, item.municipality) == (
        7,
        12,
        Direction.PHYSICAL_SPORTS,
        "elizovo",
    )
    assert item.rating == RatingSummary(9, 2) and item.rating.average == 4.5


@pytest.mark.parametrize("filters", [{}, {"municipality": "elizovo"}, {"free_only": True}, {"q": "группах"}])
def test_pages_follow_the_cursor_through_every_program_once(
    ctx: Context, region: dict[str, str], filters: dict[str, Any]
) -> None:
    expected, _ = everything(ctx, CatalogQuery(**filters, limit=50))
    found, sizes = everything(ctx, CatalogQuery(**filters, limit=2))
    assert found == expected and len(found) >= 3
    assert max(sizes) == 2 and len(sizes) >= 2


def test_a_cursor_is_tamper_evident_and_bound_to_its_filters(ctx: Context, region: dict[str, str]) -> None:
    first = catalog.search(ctx, CatalogQuery(municipality="elizovo", limit=2))
    assert first.cursor is not None
    with pytest.raises(errors.InvalidRequest):
        catalog.search(ctx, CatalogQuery(municipality="milkovo", limit=2), first.cursor)
    body, signature = first.cursor.split(".")
    with pytest.raises(errors.InvalidRequest):
        catalog.search(ctx, CatalogQuery(municipality="elizovo", limit=2), body + "." + signature[::-1])
    with pytest.raises(errors.InvalidRequest):
        catalog.search(ctx, CatalogQuery(municipality="elizovo", limit=2), "e30." + signature)


def test_a_closed_program_leaves_the_catalog_and_a_published_draft_enters_it(
    ctx: Context, region: dict[str, str]
) -> None:
    owner = Principal("u", Role.PROVIDER, provider_id=RADUGA)
    programs.close(ctx, owner, region["chess"])
    programs.publish(ctx, owner, region["draft"])
    found, _ = everything(ctx, CatalogQuery(q="шахматы"))
    assert names(region, found) == {"chess_club", "draft"}


# --- the bound -------------------------------------------------------------------------------------------------------


def bulk(count: int, title: str, rng: random.Random, municipality: str = "elizovo") -> list[str]:
    """``count`` published programs written in batches (as bench/ does)."""
    ids = []
    with ProgramRecord.batch_write() as batch:
        for _ in range(count):
            program = Program(
                program_id=store.new_program_id(),
                provider_id=RADUGA,
                provider_name="Радуга",
                title=title,
                description="Занятия для детей",
                direction=rng.choice(list(Direction)),
                age_min=5,
                age_max=17,
                municipality=municipality,
                address="-",
                schedule="-",
                period_id="2027",
                months=["2027-03"],
                price_per_month=0,
                capacity=10,
                seats_taken=0,
                status=ProgramStatus.PUBLISHED,
                rating=RatingSummary(),
                created_at="2027-01-01T00:00:00Z",
                updated_at="2027-01-01T00:00:00Z",
                search_text=f" {title.lower()} занятия для детей ",
            )
            batch.save(store.to_record(program))
            ids.append(program.program_id)
    return ids


def with_max_queries(ctx: Context, max_queries: int) -> Context:
    return Context(ctx.settings.model_copy(update={"catalog_max_queries": max_queries}), ctx.clock, ctx.calendar)


def test_a_page_costs_at_most_catalog_max_queries_queries_however_rare_the_match(ctx: Context) -> None:
    """900 programs of which 3 match: every page stays within the bound (a page may be short, even empty, with a
    cursor), and following the cursor finds all 3."""
    rng = random.Random(7)
    rare = bulk(3, "Гончарное мастерство", rng)
    bulk(897, "Футбол", rng)
    bounded = with_max_queries(ctx, 2)
    query = CatalogQuery(q="гончарное", limit=20)
    found: list[str] = []
    pages: list[dict[str, int]] = []
    after: str | None = None
    while True:
        with counting() as trips:
            result = catalog.search(bounded, query, after)
        pages.append(dict(trips.calls))
        assert set(trips.calls) <= {"Query"} and trips.calls["Query"] <= 2
        assert result.queries == trips.calls["Query"] and result.evaluated <= 2 * store.FILTERED_EVALUATE_MAX
        found += [item.program_id for item in result.items]
        after = result.cursor
        if after is None:
            break
    assert sorted(found) == sorted(rare)
    assert len(pages) >= 2  # 900 items cannot be read in one bounded page: the client followed the cursor


def test_the_default_bound_holds_for_every_filter_combination(ctx: Context) -> None:
    bulk(400, "Футбол", random.Random(3))
    limit = ctx.settings.catalog_max_queries
    for filters in (
        {},
        {"municipality": "elizovo"},
        {"direction": "arts"},
        {"municipality": "elizovo", "direction": "arts", "age": 9, "free_only": True},
        {"q": "шахматы"},
        {"q": "футбол", "municipality": "elizovo", "certified_only": True},
    ):
        with counting() as trips:
            catalog.search(ctx, CatalogQuery(**filters, limit=50))
        assert set(trips.calls) <= {"Query"} and 1 <= trips.calls["Query"] <= limit, (filters, trips.calls)


# --- through HTTP ----------------------------------------------------------------------------------------------------


def test_the_catalog_is_public_and_takes_russian_queries(api: Client) -> None:
    call(api, "POST", "/dev/clock", {"now": "2027-03-01T10:00:00+12:00"})
    region_token = token(api, role="operator", sub="op-region", municipality="*")
    assert call(api, "POST", "/periods", PERIOD_2027, region_token).status_code == 201
    provider_record(RADUGA)
    owner = token(api, role="provider", sub="u", provider_id=RADUGA)
    body = {
        "title": "Шахматы для начинающих",
        "description": "Учимся играть",
        "direction": "physical_sports",
        "age_min": 7,
        "age_max": 12,
        "municipality": "elizovo",
        "address": "Елизово",
        "schedule": "вт 16:00",
        "period_id": "2027",
        "price_per_month": 150_000,
        "capacity": 12,
    }
    for _ in range(3):
        assert call(api, "POST", "/programs", body, owner).status_code == 201
    response = call(api, "GET", "/programs?" + urlencode({"q": "Шахматный", "age": 8, "free_only": "true", "limit": 2}))
    assert response.status_code == 200
    page = payload(response)
    assert len(page["items"]) == 2 and page["cursor"]
    item = page["items"][0]
    assert set(item) == {
        "program_id",
        "title",
        "direction",
        "municipality",
        "address",
        "schedule",
        "age_min",
        "age_max",
        "period_id",
        "price_per_month",
        "free_seats",
        "status",
        "provider_id",
        "provider_name",
        "rating",
    }
    assert (item["free_seats"], item["rating"]) == (12, {"average": None, "count": 0})
    rest = payload(
        call(
            api,
            "GET",
            "/programs?"
            + urlencode({"q": "Шахматный", "age": 8, "free_only": "true", "limit": 2})
            + "&cursor="
            + page["cursor"],
        )
    )
    assert len(rest["items"]) == 1 and rest["cursor"] is None
    tampered = page["cursor"][:-2] + ("AA" if not page["cursor"].endswith("AA") else "BB")
    refused(api, 422, "validation_error", "GET", f"/programs?q=x&cursor={tampered}", None, {})
    refused(api, 422, "validation_error", "GET", f"/programs?cursor={page['cursor']}", None, {})  # other filters
    for bad in (
        "direction=chess",
        "age=x",
        "age=30",
        "age=-1",
        "limit=0",
        "limit=51",
        "free_only=maybe",
        "municipality=%D0%95%D0%BB%D0%B8%D0%B7%D0%BE%D0%B2%D0%BE",
        "colour=red",
        "q=" + "a" * 201,
    ):
        refused(api, 422, "validation_error", "GET", f"/programs?{bad}", None, {})
