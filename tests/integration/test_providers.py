"""The provider registry against DynamoDB Local: applying once per ИНН, decisions and their races, the operators'
queue, the approved-provider check other transactions use, and every route through HTTP with its refusals."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.domain import errors
from chalicelib.domain.actors import Principal, Role
from chalicelib.domain.provider import Application, Contacts, ProviderDecision, ProviderKind, ProviderStatus
from chalicelib.services import providers
from chalicelib.services.context import Context
from chalicelib.storage import providers as store
from chalicelib.storage.models import ProviderRecord
from chalicelib.storage.transactions import Transaction
from tests.helpers import table_contents
from tests.integration.test_http import call, payload, refused, token

ELIZOVO = Principal("op-e", Role.OPERATOR, municipality="elizovo")
MILKOVO = Principal("op-m", Role.OPERATOR, municipality="milkovo")
REGION = Principal("op-region", Role.OPERATOR, municipality="*")
PARENT = Principal("parent-1", Role.PARENT)


def organisation(n: int) -> tuple[str, str]:
    """A made-up organisation's ИНН and ОГРН with right check digits."""
    body = f"41{n:07d}"
    weights = (2, 4, 10, 3, 5, 9, 4, 6, 8)
    inn = body + str(sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11 % 10)
    first12 = f"1024100{n:05d}"
    return inn, first12 + str(int(first12) % 11 % 10)


INN_A, OGRN_A = "7707083893", "1027700132195"
INN_B, OGRN_B = organisation(2)
INN_IP, OGRNIP = "500100732259", "304500116000157"


def owner(inn: str, sub: str | None = None) -> Principal:
    return Principal(sub or f"user-{inn}", Role.PROVIDER, provider_id=inn)


def application(inn: str = INN_A, ogrn: str = OGRN_A, municipality: str = "elizovo", **changes: Any) -> Application:
    fields: dict[str, Any] = {
        "name": f"Школа {inn}",
        "kind": ProviderKind.ORGANIZATION,
        "inn": inn,
        "ogrn": ogrn,
        "licence": "Л035-01234-41/00123456",
        "municipality": municipality,
        "contacts": Contacts("+7 415 312-34-56", "school@example.ru"),
    }
    fields.update(changes)
    return Application(**fields)


def applied(ctx: Context, inn: str = INN_A, ogrn: str = OGRN_A, municipality: str = "elizovo") -> store.Provider:
    return providers.apply(ctx, owner(inn), application(inn, ogrn, municipality))


def approved(ctx: Context, inn: str = INN_A, ogrn: str = OGRN_A) -> store.Provider:
    applied(ctx, inn, ogrn)
    return providers.decide_on(ctx, ELIZOVO, inn, ProviderDecision.APPROVE, None)


# --- the service against DynamoDB Local ------------------------------------------------------------------------------


def test_an_application_is_registered_under_its_inn_as_applied(ctx: Context) -> None:
    provider = applied(ctx)
    assert (provider.provider_id, provider.status, provider.owner_sub) == (
        INN_A,
        ProviderStatus.APPLIED,
        "user-" + INN_A,
    )
    item = ProviderRecord.get(INN_A, consistent_read=True)
    assert (item.queue, item.queued_at) == ("elizovo#applied", f"{item.applied_at}#{INN_A}")
    assert providers.view(ctx, ELIZOVO, INN_A) == provider


def test_an_entrepreneur_applies_with_a_12_digit_inn_and_an_ogrnip(ctx: Context) -> None:
    provider = providers.apply(
        ctx, owner(INN_IP), application(INN_IP, OGRNIP, kind=ProviderKind.ENTREPRENEUR, name="ИП Иванов И. И.")
    )
    assert provider.kind is ProviderKind.ENTREPRENEUR and provider.ogrn == OGRNIP


def test_a_second_application_for_the_same_inn_is_refused_and_changes_nothing(ctx: Context) -> None:
    applied(ctx)
    before = table_contents()
    with pytest.raises(errors.ProviderExists):
        providers.apply(ctx, owner(INN_A, "another-user"), application(name="Другая школа", municipality="milkovo"))
    assert table_contents() == before


def test_concurrent_applications_for_one_inn_register_exactly_one(ctx: Context) -> None:
    barrier = threading.Barrier(8)
    outcomes: list[str] = []

    def apply_as(n: int) -> None:
        barrier.wait()
        try:
            providers.apply(ctx, owner(INN_A, f"user-{n}"), application(name=f"Школа {n}"))
            outcomes.append("registered")
        except errors.ProviderExists:
            outcomes.append("exists")

    threads = [threading.Thread(target=apply_as, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["exists"] * 7 + ["registered"]
    assert len(table_contents()["providers"]) == 1


def test_a_provider_applies_only_under_the_inn_of_its_token(ctx: Context) -> None:
    with pytest.raises(errors.Forbidden):
        providers.apply(ctx, owner(INN_B), application())
    with pytest.raises(errors.Forbidden):
        providers.apply(ctx, ELIZOVO, application())
    assert table_contents()["providers"] == []


def test_each_decision_moves_the_provider_and_its_queue(ctx: Context) -> None:
    applied(ctx)
    steps = [
        (ProviderDecision.APPROVE, None, ProviderStatus.APPROVED),
        (ProviderDecision.SUSPEND, "лицензия приостановлена", ProviderStatus.SUSPENDED),
        (ProviderDecision.REINSTATE, "лицензия возобновлена", ProviderStatus.APPROVED),
    ]
    for version, (decision, reason, status) in enumerate(steps, start=1):
        provider = providers.decide_on(ctx, ELIZOVO, INN_A, decision, reason)
        assert (provider.status, provider.reason, provider.decided_by, provider.version) == (
            status,
            reason,
            "op-e",
            version,
        )
        assert ProviderRecord.get(INN_A, consistent_read=True).queue == f"elizovo#{status.value}"


def test_a_rejection_keeps_its_reason_and_is_final(ctx: Context) -> None:
    applied(ctx)
    provider = providers.decide_on(ctx, REGION, INN_A, ProviderDecision.REJECT, "  нет лицензии ")
    assert (provider.status, provider.reason) == (ProviderStatus.REJECTED, "нет лицензии")
    before = table_contents()
    for decision in ProviderDecision:
        with pytest.raises(errors.InvalidTransition):
            providers.decide_on(ctx, ELIZOVO, INN_A, decision, "again")
    assert table_contents() == before


def test_an_operator_of_another_municipality_cannot_decide(ctx: Context) -> None:
    applied(ctx)
    before = table_contents()
    for actor in (MILKOVO, PARENT, owner(INN_A)):
        with pytest.raises(errors.Forbidden):
            providers.decide_on(ctx, actor, INN_A, ProviderDecision.APPROVE, None)
    with pytest.raises(errors.ProviderNotFound):
        providers.decide_on(ctx, ELIZOVO, INN_B, ProviderDecision.APPROVE, None)
    assert table_contents() == before


def test_a_decision_made_from_a_stale_read_is_refused_by_the_condition(ctx: Context) -> None:
    """Two operators read the application; one approves; the other's reject, written from its stale read, fails."""
    stale = applied(ctx)
    providers.decide_on(ctx, ELIZOVO, INN_A, ProviderDecision.APPROVE, None)
    before = table_contents()
    with pytest.raises(errors.ConcurrentUpdate):
        store.move(stale, ProviderStatus.REJECTED, "нет лицензии", "2027-03-01T00:00:00.000000Z", "op-m")
    assert table_contents() == before
    with pytest.raises(errors.InvalidTransition):  # the service reads again and finds the decision no longer fits
        providers.decide_on(ctx, REGION, INN_A, ProviderDecision.REJECT, "нет лицензии")


def test_of_concurrent_decisions_on_one_application_exactly_one_applies(ctx: Context) -> None:
    applied(ctx)
    decisions = [ProviderDecision.APPROVE, ProviderDecision.REJECT] * 4
    barrier = threading.Barrier(len(decisions))
    won: list[ProviderDecision] = []
    lost: list[str] = []

    def decide(decision: ProviderDecision) -> None:
        barrier.wait()
        try:
            providers.decide_on(ctx, ELIZOVO, INN_A, decision, "причина")
            won.append(decision)
        except (errors.InvalidTransition, errors.ConcurrentUpdate) as refusal:
            lost.append(refusal.code)

    threads = [threading.Thread(target=decide, args=(d,)) for d in decisions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 1 and len(lost) == len(decisions) - 1
    provider = store.get(INN_A)
    assert (
        provider.status
        is {ProviderDecision.APPROVE: ProviderStatus.APPROVED, ProviderDecision.REJECT: ProviderStatus.REJECTED}[won[0]]
    )
    assert provider.version == 1


def test_the_queue_is_oldest_first_and_paginated(ctx: Context, clock: Any) -> None:
    from datetime import UTC, datetime

    inns = []
    for n, hour in ((11, 12), (12, 9), (13, 10), (14, 11)):
        clock.set(datetime(2027, 3, 1, hour, tzinfo=UTC))
        inn, ogrn = organisation(n)
        applied(ctx, inn, ogrn)
        inns.append((hour, inn))
    applied(ctx, *organisation(15), municipality="milkovo")
    oldest_first = [inn for _hour, inn in sorted(inns)]
    first = providers.queue(ctx, ELIZOVO, None, ProviderStatus.APPLIED, 3, None)
    assert [p.provider_id for p in first.providers] == oldest_first[:3] and first.cursor
    second = providers.queue(ctx, ELIZOVO, None, ProviderStatus.APPLIED, 3, first.cursor)
    assert [p.provider_id for p in second.providers] == oldest_first[3:] and second.cursor is None
    assert [
        p.municipality for p in providers.queue(ctx, REGION, "milkovo", ProviderStatus.APPLIED, 5, None).providers
    ] == ["milkovo"]
    providers.decide_on(ctx, ELIZOVO, oldest_first[1], ProviderDecision.APPROVE, None)
    assert [p.provider_id for p in providers.queue(ctx, ELIZOVO, None, ProviderStatus.APPLIED, 5, None).providers] == [
        oldest_first[0],
        *oldest_first[2:],
    ]
    assert [p.provider_id for p in providers.queue(ctx, ELIZOVO, None, ProviderStatus.APPROVED, 5, None).providers] == [
        oldest_first[1]
    ]


def test_the_queue_refuses_other_municipalities_and_foreign_cursors(ctx: Context) -> None:
    for n in (21, 22):
        applied(ctx, *organisation(n))
    page = providers.queue(ctx, ELIZOVO, None, ProviderStatus.APPLIED, 1, None)
    with pytest.raises(errors.Forbidden):
        providers.queue(ctx, ELIZOVO, "milkovo", ProviderStatus.APPLIED, 1, None)
    with pytest.raises(errors.InvalidRequest):
        providers.queue(ctx, REGION, None, ProviderStatus.APPLIED, 1, None)
    with pytest.raises(errors.InvalidRequest):  # a cursor is bound to its municipality and status
        providers.queue(ctx, ELIZOVO, None, ProviderStatus.APPROVED, 1, page.cursor)
    with pytest.raises(errors.InvalidRequest):
        providers.queue(ctx, ELIZOVO, None, ProviderStatus.APPLIED, 1, str(page.cursor)[:-2] + "xx")
    for actor in (PARENT, owner(INN_A)):
        with pytest.raises(errors.Forbidden):
            providers.queue(ctx, actor, "elizovo", ProviderStatus.APPLIED, 1, None)


# --- only an approved provider contracts and charges -----------------------------------------------------------------


def check_alone(provider_id: str) -> None:
    tx = Transaction()
    store.add_approved_check(tx, provider_id)
    tx.commit()


def test_the_approved_check_passes_only_for_an_approved_provider(ctx: Context) -> None:
    approved(ctx)
    check_alone(INN_A)
    assert store.require_approved(INN_A).status is ProviderStatus.APPROVED
    providers.decide_on(ctx, ELIZOVO, INN_A, ProviderDecision.SUSPEND, "проверка прокуратуры")
    with pytest.raises(errors.ProviderSuspended):
        check_alone(INN_A)
    with pytest.raises(errors.ProviderSuspended):
        store.require_approved(INN_A)
    providers.decide_on(ctx, ELIZOVO, INN_A, ProviderDecision.REINSTATE, None)
    check_alone(INN_A)


def test_the_approved_check_refuses_applied_rejected_and_unknown_providers(ctx: Context) -> None:
    applied(ctx)
    providers.decide_on(ctx, ELIZOVO, applied(ctx, INN_B, OGRN_B).provider_id, ProviderDecision.REJECT, "нет лицензии")
    for inn in (INN_A, INN_B):
        with pytest.raises(errors.ProviderNotApproved):
            check_alone(inn)
        with pytest.raises(errors.ProviderNotApproved):
            store.require_approved(inn)
    with pytest.raises(errors.ProviderNotFound):
        check_alone(INN_IP)
    with pytest.raises(errors.ProviderNotFound):
        store.require_approved(INN_IP)


def test_a_suspension_makes_the_rest_of_a_transaction_fail_too(ctx: Context) -> None:
    """The check rides in the same TransactWriteItems as a contract's write: nothing of it is written."""
    approved(ctx)
    providers.decide_on(ctx, ELIZOVO, INN_A, ProviderDecision.SUSPEND, "проверка")
    before = table_contents()
    tx = Transaction()
    store.add_approved_check(tx, INN_A)
    tx.update(
        ProviderRecord(provider_id=INN_A),
        [ProviderRecord.rating_count.add(1)],
        None,
        lambda _image: AssertionError("not this one"),
    )
    with pytest.raises(errors.ProviderSuspended):
        tx.commit()
    assert table_contents() == before


# --- through HTTP ----------------------------------------------------------------------------------------------------

BODY_A: dict[str, Any] = {
    "name": "МБУ ДО «Детская школа искусств»",
    "kind": "organization",
    "inn": INN_A,
    "ogrn": OGRN_A,
    "licence": "Л035-01234-41/00123456",
    "municipality": "elizovo",
    "contacts": {"phone": "+7 415 312-34-56", "email": "school@example.ru", "address": "Елизово, ул. Ленина, 1"},
}


@pytest.fixture
def people(api: Client) -> dict[str, dict[str, str]]:
    call(api, "POST", "/dev/clock", {"now": "2027-03-01T10:00:00+12:00"})
    return {
        "a": token(api, role="provider", sub="user-a", provider_id=INN_A),
        "a2": token(api, role="provider", sub="user-a2", provider_id=INN_A),
        "b": token(api, role="provider", sub="user-b", provider_id=INN_B),
        "elizovo": token(api, role="operator", sub="op-e", municipality="elizovo"),
        "milkovo": token(api, role="operator", sub="op-m", municipality="milkovo"),
        "region": token(api, role="operator", sub="op-region", municipality="*"),
        "parent": token(api, role="parent", sub="parent-1"),
    }


def apply_b(api: Client, people: dict[str, dict[str, str]], municipality: str = "milkovo") -> None:
    body = {**BODY_A, "inn": INN_B, "ogrn": OGRN_B, "municipality": municipality, "name": "Спортшкола"}
    assert call(api, "POST", "/providers", body, people["b"]).status_code == 201


def test_http_apply_and_read_the_provider(api: Client, people: dict[str, dict[str, str]]) -> None:
    created = call(api, "POST", "/providers", BODY_A, people["a"])
    assert created.status_code == 201, created.body
    view = payload(created)
    assert view["provider_id"] == INN_A and view["status"] == "applied" and view["reason"] is None
    assert view["applied_at"].startswith("2027-02-28T22:00")  # the service's clock, in UTC
    assert view["contacts"] == BODY_A["contacts"]
    assert view["documents"] == [] and view["rating"] == {"average": None, "count": 0}
    for reader in ("a", "a2", "elizovo", "region"):
        response = call(api, "GET", f"/providers/{INN_A}", None, people[reader])
        assert response.status_code == 200 and payload(response) == view


def test_http_the_rating_is_shown_as_an_average(api: Client, people: dict[str, dict[str, str]]) -> None:
    call(api, "POST", "/providers", BODY_A, people["a"])
    ProviderRecord(provider_id=INN_A).update(
        actions=[ProviderRecord.rating_sum.set(14), ProviderRecord.rating_count.set(3)]
    )
    assert payload(call(api, "GET", f"/providers/{INN_A}", None, people["a"]))["rating"] == {
        "average": 4.67,
        "count": 3,
    }


def test_http_a_retried_application_with_its_idempotency_key_gets_the_first_answer(
    api: Client, people: dict[str, dict[str, str]]
) -> None:
    headers = {**people["a"], "Idempotency-Key": "apply-a"}
    first = call(api, "POST", "/providers", BODY_A, headers)
    again = call(api, "POST", "/providers", BODY_A, headers)
    assert first.status_code == again.status_code == 201 and payload(again) == payload(first)
    refused(api, 409, "provider_exists", "POST", "/providers", BODY_A, people["a"])


BAD_APPLICATIONS = [
    ("{", 400, "invalid_json"),
    ("", 400, "invalid_json"),
    ({**BODY_A, "inn": "7707083894"}, 422, "validation_error"),
    ({**BODY_A, "ogrn": "1027700132196"}, 422, "validation_error"),
    ({**BODY_A, "kind": "entrepreneur"}, 422, "validation_error"),
    ({**BODY_A, "kind": "charity"}, 422, "validation_error"),
    ({**BODY_A, "inn": 7707083893}, 422, "validation_error"),
    ({**BODY_A, "municipality": "Елизово"}, 422, "validation_error"),
    ({**BODY_A, "name": "   "}, 422, "validation_error"),
    ({**BODY_A, "contacts": {"phone": "+74153123456"}}, 422, "validation_error"),
    ({**BODY_A, "contacts": {**BODY_A["contacts"], "email": "nobody"}}, 422, "validation_error"),
    ({**BODY_A, "status": "approved"}, 422, "validation_error"),
    ({k: v for k, v in BODY_A.items() if k != "licence"}, 422, "validation_error"),
]


@pytest.mark.parametrize(("body", "status", "code"), BAD_APPLICATIONS)
def test_http_a_bad_application_is_refused_and_nothing_written(
    api: Client, people: dict[str, dict[str, str]], body: Any, status: int, code: str
) -> None:
    refused(api, status, code, "POST", "/providers", body, people["a"])


def test_http_an_application_by_the_wrong_caller_is_refused(api: Client, people: dict[str, dict[str, str]]) -> None:
    refused(api, 401, "unauthenticated", "POST", "/providers", BODY_A, {})
    refused(api, 403, "forbidden", "POST", "/providers", BODY_A, people["b"])  # someone else's ИНН
    refused(api, 403, "forbidden", "POST", "/providers", BODY_A, people["parent"])
    refused(api, 403, "forbidden", "POST", "/providers", BODY_A, people["elizovo"])
    assert call(api, "POST", "/providers", BODY_A, people["a"]).status_code == 201
    refused(api, 409, "provider_exists", "POST", "/providers", BODY_A, people["a"])
    refused(api, 409, "provider_exists", "POST", "/providers", {**BODY_A, "municipality": "milkovo"}, people["a2"])


def test_http_only_the_provider_and_its_operators_read_it(api: Client, people: dict[str, dict[str, str]]) -> None:
    call(api, "POST", "/providers", BODY_A, people["a"])
    path = f"/providers/{INN_A}"
    refused(api, 401, "unauthenticated", "GET", path, None, {})
    refused(api, 403, "forbidden", "GET", path, None, people["b"])
    refused(api, 403, "forbidden", "GET", path, None, people["milkovo"])
    refused(api, 403, "forbidden", "GET", path, None, people["parent"])
    refused(api, 404, "provider_not_found", "GET", f"/providers/{INN_B}", None, people["b"])
    refused(api, 404, "provider_not_found", "GET", f"/providers/{INN_B}", None, people["region"])
    for junk in ("1" * 3000, "770708389x", "７７０７０８３８９３"):
        refused(api, 404, "provider_not_found", "GET", f"/providers/{junk}", None, people["region"])
        refused(
            api,
            404,
            "provider_not_found",
            "POST",
            f"/providers/{junk}/decision",
            {"decision": "approve"},
            people["region"],
        )


def test_http_every_decision_and_its_refusals(api: Client, people: dict[str, dict[str, str]]) -> None:
    call(api, "POST", "/providers", BODY_A, people["a"])
    path = f"/providers/{INN_A}/decision"

    def decide(body: Any, who: str = "elizovo") -> dict[str, Any]:
        response = call(api, "POST", path, body, people[who])
        assert response.status_code == 200, response.body
        return dict(payload(response))

    for who in ("milkovo", "parent", "a", "b"):
        refused(api, 403, "forbidden", "POST", path, {"decision": "approve"}, people[who])
    refused(
        api,
        404,
        "provider_not_found",
        "POST",
        f"/providers/{INN_B}/decision",
        {"decision": "approve"},
        people["region"],
    )
    refused(api, 422, "validation_error", "POST", path, {"decision": "reject"}, people["elizovo"])
    refused(api, 422, "validation_error", "POST", path, {"decision": "reject", "reason": "  "}, people["elizovo"])
    refused(api, 422, "validation_error", "POST", path, {"decision": "delete"}, people["elizovo"])
    refused(api, 422, "validation_error", "POST", path, {"decision": "approve", "by": "me"}, people["elizovo"])
    refused(api, 400, "invalid_json", "POST", path, "", people["elizovo"])
    for illegal in ({"decision": "suspend", "reason": "x"}, {"decision": "reinstate"}):
        refused(api, 409, "invalid_transition", "POST", path, illegal, people["elizovo"])

    view = decide({"decision": "approve"})
    assert (view["status"], view["decided_by"], view["reason"]) == ("approved", "op-e", None)
    for illegal in ({"decision": "approve"}, {"decision": "reject", "reason": "x"}, {"decision": "reinstate"}):
        refused(api, 409, "invalid_transition", "POST", path, illegal, people["elizovo"])
    refused(api, 422, "validation_error", "POST", path, {"decision": "suspend"}, people["elizovo"])

    view = decide({"decision": "suspend", "reason": "предписание надзора"}, "region")
    assert (view["status"], view["decided_by"], view["reason"]) == ("suspended", "op-region", "предписание надзора")
    for illegal in (
        {"decision": "approve"},
        {"decision": "suspend", "reason": "x"},
        {"decision": "reject", "reason": "x"},
    ):
        refused(api, 409, "invalid_transition", "POST", path, illegal, people["elizovo"])

    view = decide({"decision": "reinstate"})
    assert (view["status"], view["reason"]) == ("approved", None)


def test_http_a_rejection_is_final(api: Client, people: dict[str, dict[str, str]]) -> None:
    call(api, "POST", "/providers", BODY_A, people["a"])
    path = f"/providers/{INN_A}/decision"
    response = call(api, "POST", path, {"decision": "reject", "reason": "нет лицензии"}, people["elizovo"])
    assert payload(response)["status"] == "rejected" and payload(response)["reason"] == "нет лицензии"
    for decision in ("approve", "reject", "suspend", "reinstate"):
        refused(api, 409, "invalid_transition", "POST", path, {"decision": decision, "reason": "x"}, people["region"])


def test_http_an_operator_of_elizovo_cannot_decide_on_a_milkovo_provider(
    api: Client, people: dict[str, dict[str, str]]
) -> None:
    apply_b(api, people, "milkovo")
    path = f"/providers/{INN_B}/decision"
    refused(api, 403, "forbidden", "POST", path, {"decision": "approve"}, people["elizovo"])
    refused(api, 403, "forbidden", "GET", f"/providers/{INN_B}", None, people["elizovo"])
    response = call(api, "POST", path, {"decision": "approve"}, people["milkovo"])
    assert response.status_code == 200 and payload(response)["status"] == "approved"


def test_http_the_queue_oldest_first_with_pages(api: Client, people: dict[str, dict[str, str]]) -> None:
    applications = [(n, f"2027-03-01T{hour:02d}:00:00+12:00") for n, hour in ((31, 12), (32, 9), (33, 11), (34, 10))]
    for n, now in applications:
        inn, ogrn = organisation(n)
        call(api, "POST", "/dev/clock", {"now": now})
        provider = token(api, role="provider", sub=f"user-{n}", provider_id=inn)
        assert call(api, "POST", "/providers", {**BODY_A, "inn": inn, "ogrn": ogrn}, provider).status_code == 201
    apply_b(api, people, "milkovo")
    expected = [organisation(n)[0] for n, _now in sorted(applications, key=lambda a: a[1])]

    seen: list[str] = []
    cursor = None
    for _ in range(3):
        query = "/providers?limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = payload(call(api, "GET", query, None, people["elizovo"]))
        assert page["municipality"] == "elizovo" and page["status"] == "applied"
        seen += [p["provider_id"] for p in page["providers"]]
        cursor = page["cursor"]
        if cursor is None:
            break
    assert seen == expected

    milkovo = payload(call(api, "GET", "/providers?municipality=milkovo", None, people["region"]))
    assert [p["provider_id"] for p in milkovo["providers"]] == [INN_B] and milkovo["cursor"] is None
    first = payload(call(api, "GET", "/providers?limit=1", None, people["elizovo"]))
    assert first["cursor"]

    call(api, "POST", f"/providers/{expected[0]}/decision", {"decision": "approve"}, people["elizovo"])
    remaining = payload(call(api, "GET", "/providers?status=applied", None, people["elizovo"]))
    assert [p["provider_id"] for p in remaining["providers"]] == expected[1:]
    done = payload(call(api, "GET", "/providers?status=approved&municipality=elizovo", None, people["region"]))
    assert [p["provider_id"] for p in done["providers"]] == expected[:1]

    refused(api, 403, "forbidden", "GET", "/providers?municipality=milkovo", None, people["elizovo"])
    refused(api, 422, "validation_error", "GET", "/providers", None, people["region"])
    refused(api, 422, "validation_error", "GET", "/providers?municipality=Milkovo!", None, people["region"])
    refused(api, 422, "validation_error", "GET", "/providers?status=pending", None, people["elizovo"])
    refused(api, 422, "validation_error", "GET", "/providers?limit=0", None, people["elizovo"])
    refused(api, 422, "validation_error", "GET", "/providers?limit=101", None, people["elizovo"])
    refused(api, 422, "validation_error", "GET", "/providers?limit=²", None, people["elizovo"])
    refused(api, 422, "validation_error", "GET", "/providers?cursor=forged", None, people["elizovo"])
    foreign = f"/providers?status=approved&cursor={first['cursor']}"
    refused(api, 422, "validation_error", "GET", foreign, None, people["elizovo"])
    for who in ("parent", "a"):
        refused(api, 403, "forbidden", "GET", "/providers", None, people[who])
    refused(api, 401, "unauthenticated", "GET", "/providers", None, {})
