"""Ratings through HTTP against DynamoDB Local: who may rate, once per contract, the averages on the program and the
provider, and a list that shows scores and comments but never who wrote them."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.domain import errors
from chalicelib.storage.models import ContractRecord, ProviderRecord
from devtools.roundtrips import counting
from tests.integration.test_http import call, payload, refused, token
from tests.integration.test_programs import CHESS, OTHER_PROVIDER, PERIOD_2027, PROVIDER, provider_record

NOT_ELIGIBLE = errors.NotEligibleToRate.status


def contract(
    contract_id: str, guardian_sub: str, program_id: str, status: str = "active", accepted: bool = True
) -> str:
    """A contract as storage.contracts writes it (enrolment and acceptance are the contracts' own tests)."""
    ContractRecord(
        contract_id=contract_id,
        certificate_id=contract_id.split("-")[0],
        guardian_sub=guardian_sub,
        provider_id=PROVIDER,
        program_id=program_id,
        program_title=CHESS["title"],
        period_id="2027",
        municipality="elizovo",
        status=status,
        price_per_month=150_000,
        months=["2027-03", "2027-04"],
        hold_amount=300_000,
        remaining_hold=300_000,
        funded=True,
        created_at="2027-02-28T22:00:00.000000Z",
        respond_by="2027-03-05T22:00:00.000000Z",
        accepted_at="2027-03-01T09:00:00.000000Z" if accepted else None,
    ).save()
    return contract_id


@pytest.fixture
def world(api: Client) -> dict[str, Any]:
    """Two programs of one provider; contracts of two parents in several states."""
    call(api, "POST", "/dev/clock", {"now": "2027-03-01T10:00:00+12:00"})
    region = token(api, role="operator", sub="op-region", municipality="*")
    assert call(api, "POST", "/periods", PERIOD_2027, region).status_code == 201
    provider_record(PROVIDER)
    provider_record(OTHER_PROVIDER)
    owner = token(api, role="provider", sub="prov-1", provider_id=PROVIDER)
    chess = payload(call(api, "POST", "/programs", CHESS, owner))["program_id"]
    robots = payload(call(api, "POST", "/programs", {**CHESS, "title": "Робототехника"}, owner))["program_id"]
    return {
        "chess": chess,
        "robots": robots,
        "owner": owner,
        "other_provider": token(api, role="provider", sub="prov-2", provider_id=OTHER_PROVIDER),
        "operator": token(api, role="operator", sub="op-e", municipality="elizovo"),
        "anna": token(api, role="parent", sub="parent-anna"),
        "boris": token(api, role="parent", sub="parent-boris"),
        "active": contract("1000000009-aaaaaaaaaaaa", "parent-anna", chess),
        "ended": contract("1000000017-bbbbbbbbbbbb", "parent-boris", chess, status="ended"),
        "cancelled": contract("1000000025-cccccccccccc", "parent-anna", robots, status="cancelled"),
        "requested": contract("1000000033-dddddddddddd", "parent-anna", chess, status="requested", accepted=False),
        "declined": contract("1000000041-eeeeeeeeeeee", "parent-boris", chess, status="declined", accepted=False),
    }


def rate(
    api: Client, world: dict[str, Any], program: str, contract_key: str, who: str, score: int, **extra: Any
) -> Any:
    body = {"contract_id": world[contract_key], "score": score, **extra}
    return call(api, "POST", f"/programs/{world[program]}/ratings", body, world[who])


def test_parents_rate_once_per_contract_and_the_program_and_provider_show_average_and_count(
    api: Client, world: dict[str, Any]
) -> None:
    with counting() as trips:
        first = rate(api, world, "chess", "active", "anna", 5, comment="  Ребёнок в восторге!  ")
    assert first.status_code == 201, first.body
    assert payload(first) == {
        "program_id": world["chess"],
        "score": 5,
        "comment": "Ребёнок в восторге!",
        "rated_on": "2027-02-28",
    }
    assert dict(trips.calls) == {"GetItem": 1, "TransactWriteItems": 1}  # the contract, then one transaction
    assert rate(api, world, "chess", "ended", "boris", 4).status_code == 201  # an ended contract still rates
    assert rate(api, world, "robots", "cancelled", "anna", 3).status_code == 201  # cancelled after acceptance
    chess = payload(call(api, "GET", f"/programs/{world['chess']}"))
    assert chess["rating"] == {"average": 4.5, "count": 2}
    robots = payload(call(api, "GET", f"/programs/{world['robots']}"))
    assert robots["rating"] == {"average": 3.0, "count": 1}
    listed = payload(call(api, "GET", "/programs?municipality=elizovo"))["items"]
    assert {item["program_id"]: item["rating"]["count"] for item in listed} == {world["chess"]: 2, world["robots"]: 1}
    provider = payload(call(api, "GET", f"/providers/{PROVIDER}/programs", None, world["owner"]))
    assert provider["rating"] == {"average": 4.0, "count": 3}
    record = ProviderRecord.get(PROVIDER, consistent_read=True)
    assert (record.rating_sum, record.rating_count) == (12, 3)


def test_a_second_rating_under_the_same_contract_is_refused_and_changes_nothing(
    api: Client, world: dict[str, Any]
) -> None:
    assert rate(api, world, "chess", "active", "anna", 5).status_code == 201
    body = {"contract_id": world["active"], "score": 1, "comment": "передумала"}
    refused(api, 409, "already_rated", "POST", f"/programs/{world['chess']}/ratings", body, world["anna"])
    assert payload(call(api, "GET", f"/programs/{world['chess']}"))["rating"] == {"average": 5.0, "count": 1}


@pytest.mark.parametrize(
    ("program", "contract_key", "who"),
    [
        ("chess", "active", "boris"),  # another parent's contract
        ("chess", "requested", "anna"),  # never accepted
        ("chess", "declined", "boris"),  # declined without acceptance
        ("robots", "active", "anna"),  # the contract is with another program
        ("chess", "cancelled", "anna"),  # ... and so is this one
    ],
)
def test_a_parent_without_an_accepted_contract_for_the_program_is_not_eligible_and_nothing_is_written(
    api: Client, world: dict[str, Any], program: str, contract_key: str, who: str
) -> None:
    body = {"contract_id": world[contract_key], "score": 5}
    path = f"/programs/{world[program]}/ratings"
    refused(api, NOT_ELIGIBLE, "not_eligible_to_rate", "POST", path, body, world[who])


def test_only_parents_rate_and_bad_ratings_are_refused(api: Client, world: dict[str, Any]) -> None:
    path = f"/programs/{world['chess']}/ratings"
    good = {"contract_id": world["active"], "score": 5}
    refused(api, NOT_ELIGIBLE, "not_eligible_to_rate", "POST", path, {**good, "contract_id": "nope"}, world["anna"])
    refused(api, 401, "unauthenticated", "POST", path, good, {})
    for who in ("owner", "other_provider", "operator"):
        refused(api, 403, "forbidden", "POST", path, good, world[who])
    for bad in (
        {**good, "score": 0},
        {**good, "score": 6},
        {**good, "score": 4.5},
        {**good, "score": "5"},
        {**good, "comment": "x" * 2001},
        {"score": 5},
        {**good, "guardian_sub": "someone"},
    ):
        refused(api, 422, "validation_error", "POST", path, bad, world["anna"])


def test_the_ratings_list_shows_scores_comments_and_dates_but_never_who_rated(
    api: Client, world: dict[str, Any]
) -> None:
    assert rate(api, world, "chess", "active", "anna", 5, comment="Отлично").status_code == 201
    assert rate(api, world, "chess", "ended", "boris", 4).status_code == 201
    path = f"/programs/{world['chess']}/ratings"
    secrets = ("parent-anna", "parent-boris", world["active"], world["ended"], "1000000009", "1000000017")
    seen: list[tuple[int, str | None, str]] = []
    cursor = None
    for headers in ({}, world["owner"]):  # the public and the provider see the same
        seen, cursor = [], None
        while True:
            response = call(api, "GET", path + "?limit=1" + (f"&cursor={cursor}" if cursor else ""), None, headers)
            assert response.status_code == 200
            raw = response.body.decode()
            assert not any(secret in raw for secret in secrets)
            page = payload(response)
            assert page["rating"] == {"average": 4.5, "count": 2}
            seen += [(r["score"], r["comment"], r["rated_on"]) for r in page["ratings"]]
            cursor = page["cursor"]
            if cursor is None:
                break
            opened = base64.urlsafe_b64decode(cursor.split(".")[0] + "==").decode()
            assert not any(secret in opened for secret in secrets)  # the cursor is sealed, not only signed
            assert json.loads(opened)["s"] == f"ratings:{world['chess']}"
        assert sorted(seen) == [(4, None, "2027-02-28"), (5, "Отлично", "2027-02-28")]
    first = payload(call(api, "GET", path + "?limit=1"))["cursor"]
    refused(api, 422, "validation_error", "GET", f"/programs/{world['robots']}/ratings?cursor={first}", None, {})
    refused(api, 422, "validation_error", "GET", f"{path}?cursor={first[:-3]}xyz", None, {})
    refused(api, 404, "program_not_found", "GET", "/programs/prg-missing/ratings", None, {})


def test_ratings_are_listed_newest_first_under_a_time_ordered_key_not_the_contract_id(
    api: Client, world: dict[str, Any]
) -> None:
    """A contract id begins with the certificate's number: ratings listed in its order would tell the provider whose
    rating it is. They are listed newest first (the older contract id rated first comes last), and the one rating per
    contract is a marker item that no page shows."""
    from chalicelib.storage.models import RatedContractRecord, RatingRecord

    assert rate(api, world, "chess", "active", "anna", 5, comment="Первая").status_code == 201
    call(api, "POST", "/dev/clock", {"now": "2027-03-03T10:00:00+12:00"})
    assert rate(api, world, "chess", "ended", "boris", 2, comment="Вторая").status_code == 201
    path = f"/programs/{world['chess']}/ratings"
    listed = payload(call(api, "GET", path))["ratings"]
    assert [(r["score"], r["comment"], r["rated_on"]) for r in listed] == [
        (2, "Вторая", "2027-03-02"),
        (5, "Первая", "2027-02-28"),
    ]
    paged = []
    cursor = None
    while True:
        page = payload(call(api, "GET", path + "?limit=1" + (f"&cursor={cursor}" if cursor else "")))
        paged += [r["score"] for r in page["ratings"]]
        cursor = page["cursor"]
        if cursor is None:
            break
    assert paged == [2, 5]
    entries = sorted(record.entry for record in RatingRecord.query(world["chess"]))
    assert [e.split("#")[0] for e in entries] == ["contract", "contract", "rating", "rating"]
    assert not any(world[c] in e for e in entries if e.startswith("rating#") for c in ("active", "ended"))
    marker = RatedContractRecord.get(world["chess"], f"contract#{world['active']}")
    assert marker.rating_entry.startswith("rating#2027-02-28T22:")  # the clock runs on from 22:00
    assert rate(api, world, "chess", "active", "anna", 1).status_code == errors.AlreadyRated.status


def test_the_migration_copies_old_ratings_under_time_ordered_keys_with_markers_and_runs_again_safely(
    table_prefix: str,
) -> None:
    import boto3

    from chalicelib.storage import ratings as store
    from devtools.migrate_ratings import migrate

    client = boto3.client("dynamodb")
    old = f"{table_prefix}legacy_ratings"
    client.create_table(
        TableName=old,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[
            {"AttributeName": "program_id", "KeyType": "HASH"},
            {"AttributeName": "contract_id", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "program_id", "AttributeType": "S"},
            {"AttributeName": "contract_id", "AttributeType": "S"},
        ],
    )
    for contract_id, score, rated_at in (
        ("1000000009-aaaaaaaaaaaa", 5, "2027-03-01T00:00:00.000000Z"),
        ("1000000017-bbbbbbbbbbbb", 3, "2027-03-05T00:00:00.000000Z"),
    ):
        item = {"program_id": "prg-old", "contract_id": contract_id, "provider_id": PROVIDER, "score": score}
        item |= {"rated_at": rated_at, "guardian_sub": "parent-x"}
        client.put_item(TableName=old, Item={k: {"N": str(v)} if k == "score" else {"S": v} for k, v in item.items()})
    assert migrate(table_prefix, old_table="legacy_ratings") == (2, 0)
    listed, _ = store.page("prg-old", 10, None)
    assert [(r.score, r.contract_id) for r in listed] == [
        (3, "1000000017-bbbbbbbbbbbb"),
        (5, "1000000009-aaaaaaaaaaaa"),
    ]
    assert migrate(table_prefix, old_table="legacy_ratings") == (0, 2)
    assert len(store.page("prg-old", 10, None)[0]) == 2
