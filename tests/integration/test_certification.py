"""Certification covers the terms it was given for: editing a certified program's title, description, price or months
sends it back for certification (certificates pay for no new enrolment until an operator certifies it again), while
the contracts already made keep their own terms; a suspended provider changes nothing (a condition of the write)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.domain import errors
from chalicelib.domain.actors import Principal, Role
from chalicelib.domain.program import ProgramChanges, ProgramStatus
from chalicelib.services import programs
from chalicelib.services.context import Context
from chalicelib.storage import programs as store
from chalicelib.storage.models import ProviderRecord
from tests.factories import approved_provider
from tests.integration.test_contracts_http import PRICE, enrol, enrolled, refused  # noqa: F401 - the fixture
from tests.integration.test_http import CHILD, call, payload, token

PROVIDER = "7707083893"


def patch(api: Client, world: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    response = call(api, "PATCH", f"/programs/{world['program']}", body, world["provider"])
    assert response.status_code == 200, response.body
    answer: dict[str, Any] = payload(response)
    return answer


def second_child(api: Client, world: dict[str, Any]) -> dict[str, Any]:
    """Another family with a funded certificate, enrolling in the same program."""
    parent = token(api, role="parent", sub="parent-3")
    child = {**CHILD, "full_name": "Кузнецова Мария"}
    certificate = payload(call(api, "POST", "/children", child, parent))["certificate"]["id"]
    assert call(api, "POST", f"/certificates/{certificate}/funding", None, parent).status_code == 200
    return {**world, "parent": parent, "certificate": certificate}


@pytest.mark.parametrize(
    "change",
    [
        {"price_per_month": PRICE - 10_000},  # the hold of a year at PRICE is the whole nominal
        {"title": "Робототехника: новый курс"},
        {"description": "Другое содержание программы"},
        {"months": ["2027-04", "2027-05"]},
    ],
    ids=["price", "title", "description", "months"],
)
def test_a_certified_term_changed_sends_the_program_back_and_contracts_keep_their_terms(
    api: Client,
    enrolled: dict[str, Any],  # noqa: F811 - the fixture
    change: dict[str, Any],
) -> None:
    contract = payload(enrol(api, enrolled))
    path = f"/contracts/{contract['id']}"
    assert call(api, "POST", f"{path}/accept", None, enrolled["provider"]).status_code == 200

    changed = patch(api, enrolled, change)
    assert changed["status"] == "published"
    assert changed["certification_withdrawn"] is True
    # The contract made before keeps the price and months it was made at, and is charged at them.
    kept = payload(call(api, "GET", path, None, enrolled["parent"]))
    assert (kept["price_per_month"], kept["months"], kept["hold"]) == (
        contract["price_per_month"],
        contract["months"],
        contract["hold"],
    )
    charge = {"month": "2027-03", "amount": PRICE}
    charged = call(api, "POST", f"{path}/charges", charge, {**enrolled["provider"], "Idempotency-Key": "m"})
    assert charged.status_code == 201, charged.body
    # No certificate pays for a new enrolment until an operator certifies the program again.
    other = second_child(api, enrolled)
    refused(
        api, 409, "not_certified", "POST", "/contracts", _enrolment(other), {**other["parent"], "Idempotency-Key": "n"}
    )
    certified = call(api, "POST", f"/programs/{enrolled['program']}/certification", None, enrolled["region"])
    assert certified.status_code == 200 and payload(certified)["status"] == "certified"
    again = enrol(api, other, key="after")
    assert again.status_code == 201, again.body
    assert payload(again)["price_per_month"] == change.get("price_per_month", PRICE)


def _enrolment(world: dict[str, Any]) -> dict[str, Any]:
    return {"certificate_id": world["certificate"], "program_id": world["program"]}


@pytest.mark.parametrize(
    "change",
    [{"schedule": "сб 10:00"}, {"address": "Елизово, ул. Мира, 3"}, {"capacity": 7}, {"price_per_month": PRICE}],
    ids=["schedule", "address", "capacity", "same price"],
)
def test_an_edit_that_changes_no_certified_term_keeps_the_certification(
    api: Client,
    enrolled: dict[str, Any],  # noqa: F811 - the fixture
    change: dict[str, Any],
) -> None:
    changed = patch(api, enrolled, change)
    assert changed["status"] == "certified"
    assert changed["certification_withdrawn"] is False


def test_a_suspended_provider_edits_nothing(
    api: Client,
    enrolled: dict[str, Any],  # noqa: F811 - the fixture
) -> None:
    ProviderRecord(PROVIDER).update(actions=[ProviderRecord.status.set("suspended")])
    path = f"/programs/{enrolled['program']}"
    for body in ({"schedule": "сб 10:00"}, {"price_per_month": 1}, {"title": "Другое"}, {"capacity": 5}):
        refused(api, 409, "provider_suspended", "PATCH", path, body, enrolled["provider"])


def test_the_suspension_is_a_condition_of_the_edits_write_not_of_a_read_before_it(ctx: Context) -> None:
    """The provider is suspended after anything the service may have read: the write itself refuses."""
    from tests.integration.test_programs import _service_program, provider_record

    provider_record(PROVIDER)
    owner = Principal("prov-1", Role.PROVIDER, provider_id=PROVIDER)
    program_id = _service_program(ctx, owner)
    ProviderRecord(PROVIDER).update(actions=[ProviderRecord.status.set("suspended")])
    before = store.get(program_id)
    for changes in (ProgramChanges(schedule="сб"), ProgramChanges(price_per_month=1), ProgramChanges(title="Т")):
        with pytest.raises(errors.ProviderSuspended):
            store.edit(program_id, PROVIDER, store.Edit(changes), "2027-03-01T00:00:00Z", "prov-1")
    assert store.get(program_id) == before


def test_a_provider_suspended_before_the_publish_is_written_publishes_nothing(ctx: Context) -> None:
    from tests.integration.test_programs import _service_program, provider_record

    provider_record(PROVIDER)
    owner = Principal("prov-1", Role.PROVIDER, provider_id=PROVIDER)
    published = store.get(_service_program(ctx, owner))
    draft = store.insert(replace(published, program_id=store.new_program_id(), status=ProgramStatus.DRAFT))
    ProviderRecord(PROVIDER).update(actions=[ProviderRecord.status.set("suspended")])
    with pytest.raises(errors.ProviderSuspended):
        store.move(draft, ProgramStatus.PUBLISHED, "2027-03-01T00:00:00Z", "prov-1", approved_by=PROVIDER)
    assert store.get(draft.program_id).status is ProgramStatus.DRAFT
    approved_provider()  # approved again: the same publish goes through
    assert programs.publish(ctx, owner, draft.program_id).status is ProgramStatus.PUBLISHED
