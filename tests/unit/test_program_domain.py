"""Program rules, pure: the status transition table, who may do what, what a provider may submit, ratings."""

from __future__ import annotations

from datetime import date
from itertools import product

import pytest

from chalicelib.domain import errors
from chalicelib.domain.actors import Principal, Role
from chalicelib.domain.contract import Contract, ContractStatus
from chalicelib.domain.ids import CertificateId, ContractId, PeriodId, ProviderId
from chalicelib.domain.period import Period
from chalicelib.domain.program import (
    EDITABLE,
    LISTED,
    TRANSITIONS,
    Action,
    Direction,
    ProgramChanges,
    ProgramDraft,
    ProgramStatus,
    RatingSummary,
    check_editable,
    check_may,
    check_may_list,
    check_rating,
    eligible_contract,
    next_status,
    program_months,
)

S = ProgramStatus
ALLOWED = {
    (Action.PUBLISH, S.DRAFT): S.PUBLISHED,
    (Action.CERTIFY, S.PUBLISHED): S.CERTIFIED,
    (Action.CLOSE, S.PUBLISHED): S.CLOSED,
    (Action.CLOSE, S.CERTIFIED): S.CLOSED,
}
OWNER = Principal("owner", Role.PROVIDER, provider_id="p-1")
OTHER_PROVIDER = Principal("other", Role.PROVIDER, provider_id="p-2")
ELIZOVO = Principal("op-e", Role.OPERATOR, municipality="elizovo")
MILKOVO = Principal("op-m", Role.OPERATOR, municipality="milkovo")
REGION = Principal("op-r", Role.OPERATOR, municipality="*")
PARENT = Principal("parent-1", Role.PARENT)
PERIOD = Period("2027", date(2027, 1, 1), date(2027, 12, 31), 1_200_000, {"elizovo": 10}, "Asia/Kamchatka")
DRAFT = ProgramDraft(
    title="  Шахматы для начинающих ",
    description="Дебют, миттельшпиль, эндшпиль.\nДва раза в неделю.",
    direction=Direction.ARTS,
    age_min=7,
    age_max=12,
    municipality="elizovo",
    address="Елизово, ул. Ленина, 1",
    schedule="вт, чт 16:00",
    price_per_month=150_000,
    capacity=12,
)


@pytest.mark.parametrize(("action", "status"), list(product(Action, ProgramStatus)))
def test_every_action_from_every_status_follows_the_table(action: Action, status: ProgramStatus) -> None:
    if (action, status) in ALLOWED:
        assert next_status(action, status) is ALLOWED[(action, status)]
    else:
        with pytest.raises(errors.InvalidTransition):
            next_status(action, status)


def test_the_table_is_the_one_drawn_in_the_module() -> None:
    drawn = {(action, source): target for action, (sources, target) in TRANSITIONS.items() for source in sources}
    assert drawn == ALLOWED
    assert {S.PUBLISHED, S.CERTIFIED} == LISTED
    assert {S.DRAFT, S.PUBLISHED, S.CERTIFIED} == EDITABLE


def test_a_closed_program_cannot_be_edited() -> None:
    with pytest.raises(errors.InvalidTransition):
        check_editable(S.CLOSED)
    for status in EDITABLE:
        check_editable(status)


@pytest.mark.parametrize(
    ("action", "actor", "allowed"),
    [
        (Action.PUBLISH, OWNER, True),
        (Action.PUBLISH, OTHER_PROVIDER, False),
        (Action.PUBLISH, ELIZOVO, False),
        (Action.PUBLISH, PARENT, False),
        (Action.CERTIFY, ELIZOVO, True),
        (Action.CERTIFY, REGION, True),
        (Action.CERTIFY, MILKOVO, False),
        (Action.CERTIFY, OWNER, False),
        (Action.CERTIFY, PARENT, False),
        (Action.CLOSE, OWNER, True),
        (Action.CLOSE, ELIZOVO, True),
        (Action.CLOSE, REGION, True),
        (Action.CLOSE, MILKOVO, False),
        (Action.CLOSE, OTHER_PROVIDER, False),
        (Action.CLOSE, PARENT, False),
    ],
)
def test_who_may_move_a_program(action: Action, actor: Principal, allowed: bool) -> None:
    if allowed:
        check_may(action, actor, "p-1", "elizovo")
    else:
        with pytest.raises(errors.Forbidden):
            check_may(action, actor, "p-1", "elizovo")


def test_a_providers_full_list_is_for_itself_and_operators() -> None:
    check_may_list(OWNER, "p-1")
    check_may_list(MILKOVO, "p-1")
    for actor in (OTHER_PROVIDER, PARENT):
        with pytest.raises(errors.Forbidden):
            check_may_list(actor, "p-1")


def test_a_draft_is_trimmed_and_kept_as_written() -> None:
    valid = DRAFT.validated()
    assert valid.title == "Шахматы для начинающих"
    assert valid.description.endswith("Два раза в неделю.")


@pytest.mark.parametrize(
    "changes",
    [
        {"age_min": 4},
        {"age_max": 18},
        {"age_min": 12, "age_max": 11},
        {"price_per_month": -1},
        {"capacity": 0},
        {"capacity": 10_001},
        {"municipality": "Елизово"},
        {"title": "   "},
        {"title": "a" * 201},
        {"address": "ул.\x00Ленина"},
    ],
)
def test_a_bad_draft_is_refused(changes: dict[str, object]) -> None:
    with pytest.raises(errors.InvalidRequest):
        ProgramDraft(**{**DRAFT.__dict__, **changes}).validated()


def test_a_program_runs_every_month_of_its_period_unless_told_otherwise() -> None:
    assert program_months(PERIOD, None) == [f"2027-{m:02d}" for m in range(1, 13)]
    assert program_months(PERIOD, ["2027-10", "2027-09", "2027-09"]) == ["2027-09", "2027-10"]
    for months in ([], ["2028-01"], ["2027-13"], ["09.2027"]):
        with pytest.raises(errors.InvalidRequest):
            program_months(PERIOD, months)


def test_changes_name_at_least_one_field_and_are_checked() -> None:
    with pytest.raises(errors.InvalidRequest):
        ProgramChanges().validated()
    with pytest.raises(errors.InvalidRequest):
        ProgramChanges(capacity=0).validated()
    with pytest.raises(errors.InvalidRequest):
        ProgramChanges(price_per_month=-5).validated()
    assert ProgramChanges(title=" Шахматы ").validated().title == "Шахматы"
    assert ProgramChanges(title="Шахматы").touches_text and not ProgramChanges(capacity=3).touches_text


def test_the_average_is_the_sum_over_the_count_and_none_without_ratings() -> None:
    assert RatingSummary().average is None
    assert RatingSummary(13, 3).average == 4.33
    assert RatingSummary(10, 2).average == 5.0


def test_a_rating_is_a_whole_score_of_1_to_5_with_an_optional_comment() -> None:
    assert check_rating(5, "  Отлично!  ") == "Отлично!"
    assert check_rating(1, "   ") is None
    assert check_rating(3, None) is None
    for score in (0, 6, True):
        with pytest.raises(errors.InvalidRequest):
            check_rating(score, None)
    with pytest.raises(errors.InvalidRequest):
        check_rating(4, "x" * 2001)


def rated_contract(guardian_sub: str, program_id: str, accepted_at: str | None) -> Contract:
    return Contract(
        contract_id=ContractId("1000000009-0123456789ab"),
        certificate_id=CertificateId("1000000009"),
        guardian_sub=guardian_sub,
        provider_id=ProviderId("p-1"),
        program_id=program_id,
        program_title="Робототехника",
        period_id=PeriodId("2027"),
        municipality="elizovo",
        status=ContractStatus.ACTIVE if accepted_at else ContractStatus.REQUESTED,
        price_per_month=100_000,
        months=["2027-02"],
        hold_amount=100_000,
        remaining_hold=100_000,
        funded=True,
        created_at="2027-01-31T00:00:00Z",
        respond_by="2027-02-07T00:00:00Z",
        accepted_at=accepted_at,
    )


ACCEPTED = rated_contract("parent-1", "prg-1", "2027-02-01T00:00:00Z")


@pytest.mark.parametrize(
    "contract",
    [
        None,
        rated_contract("parent-2", "prg-1", "2027-02-01T00:00:00Z"),
        rated_contract("parent-1", "prg-2", "2027-02-01T00:00:00Z"),
        rated_contract("parent-1", "prg-1", None),
    ],
)
def test_only_a_parent_with_an_accepted_contract_for_the_program_may_rate(contract: Contract | None) -> None:
    assert eligible_contract(PARENT, "prg-1", ACCEPTED) is ACCEPTED
    with pytest.raises(errors.NotEligibleToRate):
        eligible_contract(PARENT, "prg-1", contract)


def test_providers_and_operators_do_not_rate() -> None:
    for actor in (OWNER, ELIZOVO):
        with pytest.raises(errors.Forbidden):
            eligible_contract(actor, "prg-1", ACCEPTED)
