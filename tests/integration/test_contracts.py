"""Contracts at the service layer against DynamoDB Local: enrolment with the hold, accept, charge, cancel,
decline, expiry and the period's end (I1, I4, I5, I6)."""

from __future__ import annotations

from datetime import date

import pytest

from chalicelib.domain import errors
from chalicelib.domain.actors import Principal, Role
from chalicelib.domain.contract import ContractStatus
from chalicelib.domain.ledger import charge_key, hold_key, release_key
from chalicelib.domain.period import Period
from chalicelib.platform.clock import SettableClock
from chalicelib.services import certificates, contracts, periods
from chalicelib.services.context import Context
from chalicelib.services.rollover import run_topup
from chalicelib.storage import ledger as ledger_store
from chalicelib.storage.models import ProgramRecord
from devtools.roundtrips import counting
from tests.factories import approved_provider, program
from tests.helpers import table_contents
from tests.integration.test_certificates import PARENT, REGION, at

PROVIDER = Principal("prov-user", Role.PROVIDER, provider_id="7707083893")
OTHER_PROVIDER = Principal("prov-2", Role.PROVIDER, provider_id="7736050003")
OTHER_PARENT = Principal("parent-2", Role.PARENT)
NOMINAL = 1_200_000
PRICE = 100_000


def open_year(ctx: Context, year: int) -> Period:
    period = Period(str(year), date(year, 1, 1), date(year, 12, 31), NOMINAL, {"elizovo": 100}, "Asia/Kamchatka")
    periods.open_period(ctx, REGION, period)
    return period


@pytest.fixture
def year(ctx: Context, clock: SettableClock) -> Period:
    """Period 2027, running on 10 March; an approved provider."""
    period = open_year(ctx, 2027)
    approved_provider()
    at(clock, date(2027, 3, 10))
    return period


def funded_child(ctx: Context, parent: Principal = PARENT, birth: date = date(2016, 5, 1)) -> str:
    # Another family's child is another child: one living certificate per child in the region.
    name = "Кузнецов Артём" if parent == PARENT else "Соколов Илья"
    certificate = certificates.register_child(ctx, parent, name, birth, "elizovo")
    certificates.fund(ctx, parent, certificate.certificate_id)
    return certificate.certificate_id


def seats(program_id: str) -> int:
    return int(ProgramRecord.get(program_id, "program", consistent_read=True).seats_taken)


def test_enrolment_holds_the_price_of_every_month_left_and_takes_a_seat(ctx: Context, year: Period) -> None:
    certificate_id = funded_child(ctx)
    program_id = program(year, price=PRICE)
    contract = contracts.enrol(ctx, PARENT, certificate_id, program_id, "key-1")
    assert contract.status is ContractStatus.REQUESTED
    assert contract.months == [f"2027-{m:02d}" for m in range(3, 13)]
    assert contract.hold_amount == contract.remaining_hold == 10 * PRICE
    balance = certificates.view(ctx, PARENT, certificate_id).balance
    assert (balance.available, balance.held) == (NOMINAL * 10 // 12 - 10 * PRICE, 10 * PRICE)
    assert seats(program_id) == 1
    keys = {e.entry_key for e in ledger_store.all_entries(certificate_id)}
    assert hold_key(contract.contract_id) in keys
    assert certificates.reconcile(certificate_id).consistent


def test_an_enrolment_is_one_read_and_one_transaction(ctx: Context, year: Period) -> None:
    certificate_id = funded_child(ctx)
    program_id = program(year)
    ctx.calendar.ttl = 3600
    ctx.calendar.periods()
    with counting() as trips:
        contracts.enrol(ctx, PARENT, certificate_id, program_id, "key-1")
    assert dict(trips.calls) == {"TransactGetItems": 1, "TransactWriteItems": 1}


def test_a_retried_enrolment_returns_the_same_contract_and_changes_nothing(ctx: Context, year: Period) -> None:
    certificate_id = funded_child(ctx)
    program_id = program(year)
    first = contracts.enrol(ctx, PARENT, certificate_id, program_id, "key-1")
    before = table_contents()
    again = contracts.enrol(ctx, PARENT, certificate_id, program_id, "key-1")
    assert again.contract_id == first.contract_id
    assert table_contents() == before
    with pytest.raises(errors.AlreadyEnrolled):
        contracts.enrol(ctx, PARENT, certificate_id, program_id, "another-key")


@pytest.mark.parametrize(
    ("setup", "error"),
    [
        ({"price": NOMINAL}, errors.InsufficientFunds),
        ({"capacity": 0}, errors.NoSeats),
        ({"ages": (12, 17)}, errors.AgeMismatch),
        ({"status": "published"}, errors.NotCertified),
        ({"months": ["2027-01", "2027-02"]}, errors.ProgramNotCurrent),
    ],
)
def test_an_enrolment_the_rules_refuse_writes_nothing(
    ctx: Context, year: Period, setup: dict[str, object], error: type[Exception]
) -> None:
    certificate_id = funded_child(ctx)
    program_id = program(year, **setup)  # type: ignore[arg-type]
    before = table_contents()
    with pytest.raises(error):
        contracts.enrol(ctx, PARENT, certificate_id, program_id, "key-1")
    assert table_contents() == before


def test_no_enrolment_with_a_suspended_provider(ctx: Context, year: Period) -> None:
    certificate_id = funded_child(ctx)
    program_id = program(year, provider_id=approved_provider("7736050003", status="suspended"))
    with pytest.raises(errors.ProviderSuspended):
        contracts.enrol(ctx, PARENT, certificate_id, program_id, "key-1")


def test_only_the_childs_parent_enrols_them(ctx: Context, year: Period) -> None:
    certificate_id = funded_child(ctx)
    with pytest.raises(errors.CertificateNotFound):
        contracts.enrol(ctx, OTHER_PARENT, certificate_id, program(year), "key-1")


def test_an_accounting_certificate_enrols_only_in_free_programs_and_moves_no_money(ctx: Context, year: Period) -> None:
    certificate_id = certificates.register_child(ctx, PARENT, "Орлова Вера", date(2015, 1, 1), "elizovo").certificate_id
    with pytest.raises(errors.NotFunded):
        contracts.enrol(ctx, PARENT, certificate_id, program(year, price=PRICE), "k-1")
    contract = contracts.enrol(ctx, PARENT, certificate_id, program(year, price=0, status="published"), "k-2")
    assert contract.hold_amount == 0 and not contract.funded
    assert list(ledger_store.all_entries(certificate_id)) == []


def active_contract(ctx: Context, year: Period, price: int = PRICE) -> tuple[str, str, str]:
    certificate_id = funded_child(ctx)
    program_id = program(year, price=price)
    contract = contracts.enrol(ctx, PARENT, certificate_id, program_id, "key-1")
    contracts.accept(ctx, PROVIDER, contract.contract_id)
    return certificate_id, program_id, contract.contract_id


def test_the_provider_that_owns_the_program_accepts(ctx: Context, year: Period) -> None:
    certificate_id = funded_child(ctx)
    contract = contracts.enrol(ctx, PARENT, certificate_id, program(year), "key-1")
    with pytest.raises(errors.ContractNotFound):
        contracts.accept(ctx, OTHER_PROVIDER, contract.contract_id)
    assert contracts.accept(ctx, PROVIDER, contract.contract_id).status is ContractStatus.ACTIVE
    assert contracts.accept(ctx, PROVIDER, contract.contract_id).status is ContractStatus.ACTIVE  # again: no change


def test_a_month_is_charged_once_from_the_hold_in_one_transaction(ctx: Context, year: Period) -> None:
    certificate_id, _, contract_id = active_contract(ctx, year)
    ctx.calendar.ttl = 3600
    ctx.calendar.periods()
    with counting() as trips:
        contracts.charge(ctx, PROVIDER, contract_id, "2027-03", PRICE)
    assert dict(trips.calls) == {"TransactWriteItems": 1}
    before = table_contents()
    with pytest.raises(errors.MonthCharged):
        contracts.charge(ctx, PROVIDER, contract_id, "2027-03", PRICE)
    assert table_contents() == before
    balance = certificates.view(ctx, PARENT, certificate_id).balance
    assert (balance.held, balance.spent) == (9 * PRICE, PRICE)
    contract = contracts.view(ctx, PARENT, contract_id)
    assert contract.charges == {"2027-03": PRICE} and contract.remaining_hold == 9 * PRICE
    assert charge_key(contract_id, "2027-03") in {e.entry_key for e in ledger_store.all_entries(certificate_id)}
    assert certificates.reconcile(certificate_id).consistent


@pytest.mark.parametrize(
    ("month", "amount", "error"),
    [
        ("2027-03", PRICE + 1, errors.OverPrice),
        ("2027-04", PRICE, errors.MonthNotChargeable),  # not begun
        ("2027-02", PRICE, errors.MonthNotChargeable),  # not a month of the contract
        ("2026-12", PRICE, errors.MonthNotChargeable),  # no running period
        ("2027-03", 0, errors.InvalidRequest),
    ],
)
def test_a_charge_the_rules_refuse_writes_nothing(
    ctx: Context, year: Period, month: str, amount: int, error: type[Exception]
) -> None:
    _, _, contract_id = active_contract(ctx, year)
    before = table_contents()
    with pytest.raises(error):
        contracts.charge(ctx, PROVIDER, contract_id, month, amount)
    assert table_contents() == before


def test_no_charge_on_a_contract_not_accepted_or_of_another_provider(ctx: Context, year: Period) -> None:
    certificate_id = funded_child(ctx)
    contract = contracts.enrol(ctx, PARENT, certificate_id, program(year), "key-1")
    with pytest.raises(errors.NotActive):
        contracts.charge(ctx, PROVIDER, contract.contract_id, "2027-03", PRICE)
    contracts.accept(ctx, PROVIDER, contract.contract_id)
    with pytest.raises(errors.ContractNotFound):
        contracts.charge(ctx, OTHER_PROVIDER, contract.contract_id, "2027-03", PRICE)
    with pytest.raises(errors.ContractNotFound):
        contracts.charge(ctx, PROVIDER, "not-a-contract", "2027-03", PRICE)


def test_a_suspended_provider_cannot_charge(ctx: Context, year: Period) -> None:
    _, _, contract_id = active_contract(ctx, year)
    approved_provider(status="suspended")
    with pytest.raises(errors.ProviderSuspended):
        contracts.charge(ctx, PROVIDER, contract_id, "2027-03", PRICE)


def test_cancelling_releases_what_is_still_held_and_keeps_what_was_charged(
    ctx: Context, year: Period, clock: SettableClock
) -> None:
    price = PRICE // 2
    certificate_id, program_id, contract_id = active_contract(ctx, year, price=price)
    contracts.charge(ctx, PROVIDER, contract_id, "2027-03", price)
    at(clock, date(2027, 4, 2))
    contracts.charge(ctx, PROVIDER, contract_id, "2027-04", price // 2)
    cancelled = contracts.cancel(ctx, PARENT, contract_id, None)
    assert cancelled.status is ContractStatus.CANCELLED and cancelled.remaining_hold == 0
    balance = certificates.view(ctx, PARENT, certificate_id).balance
    assert (balance.held, balance.spent) == (0, price + price // 2)
    assert balance.available == NOMINAL * 10 // 12 - price - price // 2
    assert seats(program_id) == 0
    release = next(e for e in ledger_store.all_entries(certificate_id) if e.entry_key == release_key(contract_id))
    assert release.amount == 10 * price - price - price // 2
    with pytest.raises(errors.InvalidTransition):
        contracts.cancel(ctx, PARENT, contract_id, None)
    with pytest.raises(errors.NotActive):
        contracts.charge(ctx, PROVIDER, contract_id, "2027-04", price // 2)
    assert certificates.reconcile(certificate_id).consistent
    # The seat is free again: the child may enrol anew.
    again = contracts.enrol(ctx, PARENT, certificate_id, program_id, "key-2")
    assert again.hold_amount == 9 * price  # April to December


def test_a_provider_cancels_only_its_own_contracts_and_with_a_reason(ctx: Context, year: Period) -> None:
    _, _, contract_id = active_contract(ctx, year)
    with pytest.raises(errors.ContractNotFound):
        contracts.cancel(ctx, OTHER_PROVIDER, contract_id, "no")
    with pytest.raises(errors.ContractNotFound):
        contracts.cancel(ctx, OTHER_PARENT, contract_id, None)
    with pytest.raises(errors.InvalidRequest):
        contracts.cancel(ctx, PROVIDER, contract_id, None)
    assert contracts.cancel(ctx, PROVIDER, contract_id, "группа расформирована").status is ContractStatus.CANCELLED


def test_a_declined_or_expired_request_gives_back_its_hold_and_seat(
    ctx: Context, year: Period, clock: SettableClock
) -> None:
    first_child, second_child = funded_child(ctx), funded_child(ctx, OTHER_PARENT)
    program_id = program(year, capacity=2)
    declined = contracts.enrol(ctx, PARENT, first_child, program_id, "k-1")
    waiting = contracts.enrol(ctx, OTHER_PARENT, second_child, program_id, "k-2")
    assert contracts.decline(ctx, PROVIDER, declined.contract_id, "нет мест").status is ContractStatus.DECLINED
    with pytest.raises(errors.InvalidTransition):
        contracts.accept(ctx, PROVIDER, declined.contract_id)
    at(clock, date(2027, 3, 20))  # past the five days to answer
    with pytest.raises(errors.NotActive):
        contracts.accept(ctx, PROVIDER, waiting.contract_id)
    assert contracts.expire_requests(ctx) == 1
    assert contracts.view(ctx, OTHER_PARENT, waiting.contract_id).status is ContractStatus.EXPIRED
    assert seats(program_id) == 0
    for certificate_id in (first_child, second_child):
        balance = certificates.view(ctx, REGION, certificate_id).balance
        assert balance.held == 0 and certificates.reconcile(certificate_id).consistent


def test_contracts_end_with_their_period_and_their_holds_are_released_before_the_money_expires(
    ctx: Context, year: Period, clock: SettableClock
) -> None:
    certificate_id, _, contract_id = active_contract(ctx, year)
    contracts.charge(ctx, PROVIDER, contract_id, "2027-03", PRICE)
    next_year = open_year(ctx, 2028)
    at(clock, date(2028, 1, 1))
    assert run_topup(ctx, "2028", time_budget_seconds=60)
    ended = contracts.view(ctx, PARENT, contract_id)
    assert ended.status is ContractStatus.ENDED and ended.remaining_hold == 0
    entries = {e.entry_key: e for e in ledger_store.all_entries(certificate_id)}
    assert entries[release_key(contract_id)].amount == 9 * PRICE
    assert entries["expire#2027"].amount == NOMINAL * 10 // 12 - PRICE
    assert entries[release_key(contract_id)].posted < entries["expire#2027"].posted
    assert certificates.reconcile(certificate_id).consistent
    # The parent enrols again in the new period.
    renewed = contracts.enrol(ctx, PARENT, certificate_id, program(next_year), "key-2028")
    assert renewed.period_id == "2028" and renewed.hold_amount == 12 * PRICE


def test_the_cabinets_list_contracts_with_the_months_still_to_charge(
    ctx: Context, year: Period, clock: SettableClock
) -> None:
    _, program_id, contract_id = active_contract(ctx, year)
    at(clock, date(2027, 5, 3))
    contracts.charge(ctx, PROVIDER, contract_id, "2027-04", PRICE)
    from chalicelib.domain.contract import ContractFilters as Filters

    mine = contracts.listing(ctx, PARENT, 10, None, Filters())
    assert [c.contract_id for c in mine.items] == [contract_id]
    theirs = contracts.listing(
        ctx, PROVIDER, 10, None, Filters(status="active", program_id=program_id, month="2027-05")
    )
    assert [c.contract_id for c in theirs.items] == [contract_id]
    assert theirs.items[0].months_to_charge(ctx.today()) == ["2027-03", "2027-05"]
    assert contracts.listing(ctx, PROVIDER, 10, None, Filters(status="cancelled")).items == []
    assert contracts.listing(ctx, OTHER_PROVIDER, 10, None, Filters()).items == []
