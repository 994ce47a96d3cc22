"""Programs through HTTP against DynamoDB Local: publishing, every status transition and its refusals, ownership,
edits (price forward, capacity never below the seats taken), a provider's own list. A refusal writes nothing."""

from __future__ import annotations

import contextlib
import threading
from datetime import date
from typing import Any
from urllib.parse import urlencode

import pytest
from chalice.test import Client
from pynamodb.exceptions import UpdateError

from chalicelib.domain import errors
from chalicelib.domain.actors import Principal, Role
from chalicelib.domain.period import Period
from chalicelib.domain.program import Direction, Program, ProgramChanges, ProgramDraft, ProgramStatus, RatingSummary
from chalicelib.services import periods, programs
from chalicelib.services.context import Context
from chalicelib.storage import programs as store
from chalicelib.storage.models import ProgramRecord, ProviderRecord
from devtools.roundtrips import counting
from tests.integration.test_http import call, payload, refused, token

PROVIDER = "7707083893"
OTHER_PROVIDER = "7728168971"
APPLIED_PROVIDER = "5024002119"
SUSPENDED_PROVIDER = "7701234568"
PERIOD_2027 = {
    "period_id": "2027",
    "starts_on": "2027-01-01",
    "ends_on": "2027-12-31",
    "nominal": 1_200_000,
    "quotas": {"elizovo": 100, "milkovo": 100},
}
CHESS = {
    "title": "Шахматы для начинающих",
    "description": "Дебют, миттельшпиль и эндшпиль: учимся играть в шахматы.",
    "direction": "physical_sports",
    "age_min": 7,
    "age_max": 12,
    "municipality": "elizovo",
    "address": "Елизово, ул. Ленина, 1",
    "schedule": "вт, чт 16:00-17:30",
    "period_id": "2027",
    "price_per_month": 150_000,
    "capacity": 12,
}


def provider_record(provider_id: str, status: str = "approved", municipality: str = "elizovo") -> str:
    """A provider's registry entry, written directly (the registry's own service has its own tests)."""
    ProviderRecord(
        provider_id=provider_id,
        kind="organization",
        name=f"Центр творчества «Радуга-{provider_id[-2:]}»",
        inn=provider_id,
        ogrn="1027700132195",
        licence="Л035-01234-41/00123456",
        municipality=municipality,
        contacts={"phone": "+7 4152 000000", "email": "centre@example.org"},
        owner_sub=f"user-{provider_id}",
        status=status,
        applied_at="2026-11-01T00:00:00Z",
        queue=f"{municipality}#{status}",
        queued_at=f"2026-11-01T00:00:00Z#{provider_id}",
    ).save()
    return provider_id


def take_seats(program_id: str, seats: int) -> None:
    """What enrolments do to a program (storage.contracts owns that write): seats are taken."""
    P = ProgramRecord
    P(program_id=program_id, record="program").update(actions=[P.seats_taken.add(seats), P.version.add(1)])


@pytest.fixture
def world(api: Client) -> dict[str, Any]:
    """A running period 2027, two approved providers, one applied, one suspended; operators and a parent."""
    call(api, "POST", "/dev/clock", {"now": "2027-03-01T10:00:00+12:00"})
    region = token(api, role="operator", sub="op-region", municipality="*")
    assert call(api, "POST", "/periods", PERIOD_2027, region).status_code == 201
    provider_record(PROVIDER)
    provider_record(OTHER_PROVIDER)
    provider_record(APPLIED_PROVIDER, status="applied")
    provider_record(SUSPENDED_PROVIDER, status="suspended")
    return {
        "region": region,
        "elizovo": token(api, role="operator", sub="op-e", municipality="elizovo"),
        "milkovo": token(api, role="operator", sub="op-m", municipality="milkovo"),
        "parent": token(api, role="parent", sub="parent-1"),
        "owner": token(api, role="provider", sub="prov-1", provider_id=PROVIDER),
        "other": token(api, role="provider", sub="prov-2", provider_id=OTHER_PROVIDER),
        "applied": token(api, role="provider", sub="prov-3", provider_id=APPLIED_PROVIDER),
        "suspended": token(api, role="provider", sub="prov-4", provider_id=SUSPENDED_PROVIDER),
        "unknown": token(api, role="provider", sub="prov-5", provider_id="7700000000"),
    }


def publish(api: Client, world: dict[str, Any], **changes: Any) -> dict[str, Any]:
    response = call(api, "POST", "/programs", {**CHESS, **changes}, world["owner"])
    assert response.status_code == 201, response.body
    body: dict[str, Any] = payload(response)
    return body


def in_catalog(api: Client, program_id: str) -> bool:
    items = payload(call(api, "GET", "/programs?municipality=elizovo&limit=50"))["items"]
    return program_id in {item["program_id"] for item in items}


def catalog_keys(program_id: str) -> dict[str, Any]:
    record = ProgramRecord.get(program_id, "program", consistent_read=True)
    names = ("catalog_municipality", "catalog_key", "catalog_direction", "catalog_place", "catalog_region")
    return {name: getattr(record, name) for name in names}


# --- publishing ------------------------------------------------------------------------------------------------------


def test_an_approved_provider_publishes_a_program_into_the_catalog(api: Client, world: dict[str, Any]) -> None:
    program = publish(api, world)
    assert program["status"] == "published"
    assert program["provider_id"] == PROVIDER
    assert program["provider_name"] == f"Центр творчества «Радуга-{PROVIDER[-2:]}»"
    assert program["months"] == [f"2027-{m:02d}" for m in range(1, 13)]
    assert (program["seats_taken"], program["free_seats"], program["rating"]) == (0, 12, {"average": None, "count": 0})
    assert payload(call(api, "GET", f"/programs/{program['program_id']}")) == program
    assert in_catalog(api, program["program_id"])
    assert catalog_keys(program["program_id"]) == {
        "catalog_municipality": "elizovo",
        "catalog_key": f"physical_sports#{program['program_id']}",
        "catalog_direction": "physical_sports",
        "catalog_place": f"elizovo#{program['program_id']}",
        "catalog_region": "region",
    }


def test_a_program_may_run_some_months_of_the_period_only(api: Client, world: dict[str, Any]) -> None:
    program = publish(api, world, months=["2027-10", "2027-09"])
    assert program["months"] == ["2027-09", "2027-10"]


def test_a_draft_is_seen_by_its_provider_only_and_stays_out_of_the_catalog(api: Client, world: dict[str, Any]) -> None:
    draft = publish(api, world, draft=True)
    path = f"/programs/{draft['program_id']}"
    assert draft["status"] == "draft"
    assert catalog_keys(draft["program_id"]) == dict.fromkeys(catalog_keys(draft["program_id"]))
    assert not in_catalog(api, draft["program_id"])
    assert call(api, "GET", path, None, world["owner"]).status_code == 200
    for headers in ({}, world["other"], world["elizovo"], world["parent"]):
        response = call(api, "GET", path, None, headers)
        assert response.status_code == 404 and payload(response)["error"]["code"] == "program_not_found"


BAD_PROGRAMS = [
    ("{", 400, "invalid_json"),
    ({**CHESS, "age_min": 4}, 422, "validation_error"),
    ({**CHESS, "age_max": 18}, 422, "validation_error"),
    ({**CHESS, "age_min": 12, "age_max": 7}, 422, "validation_error"),
    ({**CHESS, "price_per_month": 1500.5}, 422, "validation_error"),
    ({**CHESS, "price_per_month": "150000"}, 422, "validation_error"),
    ({**CHESS, "price_per_month": -1}, 422, "validation_error"),
    ({**CHESS, "capacity": 0}, 422, "validation_error"),
    ({**CHESS, "capacity": 10_001}, 422, "validation_error"),
    ({**CHESS, "direction": "chess"}, 422, "validation_error"),
    ({**CHESS, "municipality": "Елизово"}, 422, "validation_error"),
    ({**CHESS, "title": "   "}, 422, "validation_error"),
    ({**CHESS, "months": ["2028-01"]}, 422, "validation_error"),
    ({**CHESS, "months": []}, 422, "validation_error"),
    ({**CHESS, "provider_id": OTHER_PROVIDER}, 422, "validation_error"),
    ({k: v for k, v in CHESS.items() if k != "capacity"}, 422, "validation_error"),
    ({**CHESS, "period_id": "1999"}, 404, "period_not_found"),
]


@pytest.mark.parametrize(("body", "status", "code"), BAD_PROGRAMS)
def test_a_bad_program_is_refused_with_a_code_and_nothing_written(
    api: Client, world: dict[str, Any], body: Any, status: int, code: str
) -> None:
    refused(api, status, code, "POST", "/programs", body, world["owner"])


def test_only_an_approved_provider_publishes(api: Client, world: dict[str, Any]) -> None:
    refused(api, 401, "unauthenticated", "POST", "/programs", CHESS, {})
    refused(api, 403, "forbidden", "POST", "/programs", CHESS, world["parent"])
    refused(api, 403, "forbidden", "POST", "/programs", CHESS, world["elizovo"])
    refused(api, 403, "provider_not_approved", "POST", "/programs", CHESS, world["applied"])
    refused(api, 403, "provider_not_approved", "POST", "/programs", CHESS, world["unknown"])
    refused(api, 409, "provider_suspended", "POST", "/programs", CHESS, world["suspended"])


def test_a_provider_suspended_between_the_read_and_the_write_publishes_nothing(ctx: Context) -> None:
    """The approval is a condition of the write's transaction, not only of the read before it."""
    provider_record(PROVIDER, status="suspended")
    program = _program_value(PROVIDER)
    with pytest.raises(errors.ProviderSuspended):
        store.insert(program)
    assert store.find(program.program_id) is None


# --- the transitions -------------------------------------------------------------------------------------------------


def test_draft_published_certified_closed_each_step_by_its_actor(api: Client, world: dict[str, Any]) -> None:
    program_id = publish(api, world, draft=True)["program_id"]
    published = call(api, "POST", f"/programs/{program_id}/publish", None, world["owner"])
    assert published.status_code == 200 and payload(published)["status"] == "published"
    assert in_catalog(api, program_id)
    certified = call(api, "POST", f"/programs/{program_id}/certification", None, world["elizovo"])
    assert certified.status_code == 200 and payload(certified)["status"] == "certified"
    assert in_catalog(api, program_id)
    closed = call(api, "POST", f"/programs/{program_id}/close", None, world["owner"])
    assert closed.status_code == 200 and payload(closed)["status"] == "closed"
    assert not in_catalog(api, program_id)
    assert set(catalog_keys(program_id).values()) == {None}
    assert payload(call(api, "GET", f"/programs/{program_id}"))["status"] == "closed"  # families still look it up
    record = ProgramRecord.get(program_id, "program", consistent_read=True)
    assert (record.status_changed_by, record.status_changed_at[:10]) == ("prov-1", "2027-02-28")  # UTC


def test_a_regional_operator_certifies_and_an_operator_closes_a_published_program(
    api: Client, world: dict[str, Any]
) -> None:
    program_id = publish(api, world)["program_id"]
    assert payload(call(api, "POST", f"/programs/{program_id}/certification", None, world["region"]))["status"] == (
        "certified"
    )
    other_id = publish(api, world)["program_id"]
    assert payload(call(api, "POST", f"/programs/{other_id}/close", None, world["elizovo"]))["status"] == "closed"


@pytest.mark.parametrize(
    ("start", "action", "actor"),
    [
        ("draft", "certification", "elizovo"),
        ("draft", "close", "owner"),
        ("published", "publish", "owner"),
        ("certified", "publish", "owner"),
        ("certified", "certification", "elizovo"),
        ("closed", "publish", "owner"),
        ("closed", "certification", "elizovo"),
        ("closed", "close", "owner"),
        ("closed", "close", "elizovo"),
    ],
)
def test_an_illegal_transition_is_refused_and_changes_nothing(
    api: Client, world: dict[str, Any], start: str, action: str, actor: str
) -> None:
    program_id = _program_in(api, world, start)
    refused(api, 409, "invalid_transition", "POST", f"/programs/{program_id}/{action}", None, world[actor])


@pytest.mark.parametrize(
    ("action", "actor", "status", "code"),
    [
        ("publish", "other", 403, "forbidden"),
        ("publish", "elizovo", 403, "forbidden"),
        ("certification", "owner", 403, "forbidden"),
        ("certification", "milkovo", 403, "forbidden"),
        ("certification", "parent", 403, "forbidden"),
        ("close", "other", 403, "forbidden"),
        ("close", "milkovo", 403, "forbidden"),
        ("close", "parent", 403, "forbidden"),
    ],
)
def test_a_transition_by_the_wrong_actor_is_refused_and_changes_nothing(
    api: Client, world: dict[str, Any], action: str, actor: str, status: int, code: str
) -> None:
    program_id = _program_in(api, world, "draft" if action == "publish" else "published")
    if action == "publish":
        status, code = 404, "program_not_found"  # a draft does not exist for anyone but its provider
    refused(api, status, code, "POST", f"/programs/{program_id}/{action}", None, world[actor])


def test_transitions_of_an_unknown_program_are_not_found(api: Client, world: dict[str, Any]) -> None:
    for action, actor in (("publish", "owner"), ("certification", "elizovo"), ("close", "owner")):
        refused(api, 404, "program_not_found", "POST", f"/programs/prg-missing/{action}", None, world[actor])
    refused(api, 404, "program_not_found", "GET", "/programs/no%20such", None, {})
    refused(api, 401, "unauthenticated", "POST", "/programs/prg-missing/publish", None, {})


def test_a_status_change_is_conditional_on_the_status_it_was_decided_from(ctx: Context) -> None:
    """Two operators certify and close the same program at once: exactly one wins, the other is refused."""
    provider_record(PROVIDER)
    owner = Principal("prov-1", Role.PROVIDER, provider_id=PROVIDER)
    operator = Principal("op-e", Role.OPERATOR, municipality="elizovo")
    program_id = _service_program(ctx, owner)
    read = store.get(program_id)
    store.move(read, ProgramStatus.CLOSED, "2027-03-01T00:00:00Z", "op-e")  # the other operator was first
    with pytest.raises(errors.InvalidTransition):
        store.move(read, ProgramStatus.CERTIFIED, "2027-03-01T00:00:01Z", "op-e")
    assert store.get(program_id).status is ProgramStatus.CLOSED
    with pytest.raises(errors.InvalidTransition):
        programs.certify(ctx, operator, program_id)


# --- edits -----------------------------------------------------------------------------------------------------------


def test_the_owner_edits_details_and_the_catalog_searches_the_new_text(api: Client, world: dict[str, Any]) -> None:
    program_id = publish(api, world)["program_id"]
    response = call(
        api,
        "PATCH",
        f"/programs/{program_id}",
        {"title": "Робототехника", "schedule": "пн 15:00", "price_per_month": 0},
        world["owner"],
    )
    assert response.status_code == 200, response.body
    changed = payload(response)
    assert (changed["title"], changed["schedule"], changed["price_per_month"]) == ("Робототехника", "пн 15:00", 0)
    assert changed["description"] == CHESS["description"]
    found = payload(call(api, "GET", "/programs?" + urlencode({"q": "робототехники"})))
    assert [item["program_id"] for item in found["items"]] == [program_id]
    assert payload(call(api, "GET", "/programs?" + urlencode({"q": "начинающих"})))["items"] == []  # the old title
    assert len(payload(call(api, "GET", "/programs?" + urlencode({"q": "дебют"})))["items"]) == 1  # the description
    record = ProgramRecord.get(program_id, "program", consistent_read=True)
    assert record.search_text.startswith(" робототехника дебют ")  # the title's words, then the description's


def test_a_price_change_looks_forward_and_an_edit_is_one_write(ctx: Context) -> None:
    provider_record(PROVIDER)
    owner = Principal("prov-1", Role.PROVIDER, provider_id=PROVIDER)
    program_id = _service_program(ctx, owner)
    with counting() as trips:
        edited = programs.change(ctx, owner, program_id, ProgramChanges(price_per_month=200_000, capacity=20))
    # One write, no read before it: the provider's approval is a condition of the same transaction (issue 14: a
    # suspended provider edits nothing), then one consistent GetItem reads the program as written.
    assert dict(trips.calls) == {"TransactWriteItems": 1, "GetItem": 1}
    changed = edited.program
    assert (changed.price_per_month, changed.capacity) == (200_000, 20)
    with counting() as trips:
        programs.change(ctx, owner, program_id, ProgramChanges(description="Новое описание"))
    assert dict(trips.calls) == {"GetItem": 2, "TransactWriteItems": 1}  # the stored title goes into search_text


def test_capacity_never_goes_below_the_seats_taken(api: Client, world: dict[str, Any]) -> None:
    program_id = publish(api, world, capacity=10)["program_id"]
    take_seats(program_id, 6)
    path = f"/programs/{program_id}"
    refused(api, 409, "capacity_below_seats", "PATCH", path, {"capacity": 5}, world["owner"])
    refused(api, 409, "capacity_below_seats", "PATCH", path, {"capacity": 5, "title": "Новое"}, world["owner"])
    shrunk = payload(call(api, "PATCH", path, {"capacity": 6}, world["owner"]))
    assert (shrunk["capacity"], shrunk["seats_taken"], shrunk["free_seats"]) == (6, 6, 0)


def test_capacity_cuts_racing_enrolments_never_leave_more_seats_taken_than_capacity(ctx: Context) -> None:
    """I6 under a capacity cut: enrolments add a seat only while seats_taken < capacity (as storage.contracts
    does); the cut is conditional on seats_taken <= the new capacity. Whatever the interleaving, the invariant
    holds and every refused cut was refused for a real reason."""
    provider_record(PROVIDER)
    owner = Principal("prov-1", Role.PROVIDER, provider_id=PROVIDER)
    program_id = _service_program(ctx, owner, capacity=40)
    P = ProgramRecord
    outcomes: list[str] = []
    start = threading.Barrier(9)

    def enrol() -> None:
        start.wait()
        for _ in range(5):
            try:
                P(program_id=program_id, record="program").update(
                    actions=[P.seats_taken.add(1)], condition=P.seats_taken < P.capacity
                )
                outcomes.append("seat")
            except UpdateError:  # a full program refuses the seat
                outcomes.append("full")

    def cut(capacity: int) -> None:
        start.wait()
        try:
            programs.change(ctx, owner, program_id, ProgramChanges(capacity=capacity))
            outcomes.append(f"cut {capacity}")
        except errors.CapacityBelowSeats:
            outcomes.append("refused")

    threads = [threading.Thread(target=enrol) for _ in range(6)]
    threads += [threading.Thread(target=cut, args=(c,)) for c in (12, 9, 15)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    final = P.get(program_id, "program", consistent_read=True)
    assert int(final.seats_taken) <= int(final.capacity)
    assert int(final.seats_taken) == outcomes.count("seat")


def test_edits_are_refused_for_another_provider_a_closed_program_and_bad_values(
    api: Client, world: dict[str, Any]
) -> None:
    program_id = publish(api, world)["program_id"]
    draft_id = publish(api, world, draft=True)["program_id"]
    path = f"/programs/{program_id}"
    refused(api, 403, "forbidden", "PATCH", path, {"price_per_month": 1}, world["other"])
    refused(api, 403, "forbidden", "PATCH", path, {"title": "Чужое"}, world["other"])
    refused(api, 404, "program_not_found", "PATCH", f"/programs/{draft_id}", {"capacity": 3}, world["other"])
    refused(api, 403, "forbidden", "PATCH", path, {"price_per_month": 1}, world["elizovo"])
    refused(api, 401, "unauthenticated", "PATCH", path, {"price_per_month": 1}, {})
    refused(api, 404, "program_not_found", "PATCH", "/programs/prg-missing", {"capacity": 3}, world["owner"])
    for body in ({}, {"capacity": 0}, {"price_per_month": -1}, {"months": ["2026-12"]}, {"status": "certified"}):
        refused(api, 422, "validation_error", "PATCH", path, body, world["owner"])
    months = payload(call(api, "PATCH", path, {"months": ["2027-05", "2027-04"]}, world["owner"]))["months"]
    assert months == ["2027-04", "2027-05"]
    assert call(api, "POST", f"{path}/close", None, world["owner"]).status_code == 200
    refused(api, 409, "invalid_transition", "PATCH", path, {"price_per_month": 1}, world["owner"])
    refused(api, 409, "invalid_transition", "PATCH", path, {"title": "Снова"}, world["owner"])


# --- a provider's own list -------------------------------------------------------------------------------------------


def test_a_provider_lists_its_programs_in_every_status_page_by_page(api: Client, world: dict[str, Any]) -> None:
    mine = {_program_in(api, world, status) for status in ("draft", "published", "certified", "closed")}
    publish_other = call(api, "POST", "/programs", CHESS, world["other"])
    assert publish_other.status_code == 201
    path = f"/providers/{PROVIDER}/programs"
    seen: list[str] = []
    statuses: set[str] = set()
    cursor: str | None = None
    while True:
        query = f"?limit=3&cursor={cursor}" if cursor else "?limit=3"
        page = payload(call(api, "GET", path + query, None, world["owner"]))
        seen += [p["program_id"] for p in page["programs"]]
        statuses |= {p["status"] for p in page["programs"]}
        cursor = page["cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(mine)
    assert statuses == {"draft", "published", "certified", "closed"}
    operator_view = payload(call(api, "GET", path, None, world["milkovo"]))
    assert len(operator_view["programs"]) == 4 and operator_view["rating"] == {"average": None, "count": 0}
    refused(api, 403, "forbidden", "GET", path, None, world["other"])
    refused(api, 403, "forbidden", "GET", path, None, world["parent"])
    refused(api, 401, "unauthenticated", "GET", path, None, {})
    refused(api, 422, "validation_error", "GET", f"{path}?cursor=forged", None, world["owner"])
    refused(api, 422, "validation_error", "GET", f"{path}?limit=0", None, world["owner"])


# --- helpers ---------------------------------------------------------------------------------------------------------


def _program_in(api: Client, world: dict[str, Any], status: str) -> str:
    program_id: str = publish(api, world, draft=status == "draft")["program_id"]
    if status in ("certified", "closed"):
        assert call(api, "POST", f"/programs/{program_id}/certification", None, world["elizovo"]).status_code == 200
    if status == "closed":
        assert call(api, "POST", f"/programs/{program_id}/close", None, world["owner"]).status_code == 200
    return program_id


def _service_program(ctx: Context, owner: Principal, capacity: int = 12) -> str:
    region = Principal("op-region", Role.OPERATOR, municipality="*")
    with contextlib.suppress(errors.PeriodExists):
        periods.open_period(
            ctx,
            region,
            Period("2027", date(2027, 1, 1), date(2027, 12, 31), 1_200_000, {"elizovo": 9}, "Asia/Kamchatka"),
        )
    fields = {k: CHESS[k] for k in ProgramDraft.__dataclass_fields__ if k != "direction"}
    draft = ProgramDraft(**{**fields, "capacity": capacity}, direction=Direction.PHYSICAL_SPORTS)
    return programs.create(ctx, owner, draft, "2027", None).program_id


def _program_value(provider_id: str) -> Program:
    return Program(
        program_id=store.new_program_id(),
        provider_id=provider_id,
        provider_name="Радуга",
        title="Шахматы",
        description="Для начинающих",
        direction=Direction.PHYSICAL_SPORTS,
        age_min=7,
        age_max=12,
        municipality="elizovo",
        address="Елизово",
        schedule="вт 16:00",
        period_id="2027",
        months=["2027-03"],
        price_per_month=0,
        capacity=1,
        seats_taken=0,
        status=ProgramStatus.PUBLISHED,
        rating=RatingSummary(),
        created_at="2027-03-01T00:00:00Z",
        updated_at="2027-03-01T00:00:00Z",
        search_text=" шахматы для начинающих ",
    )
