"""Objections to charges at the service layer against DynamoDB Local: filing within the window, once per charge; an
operator's decision; an upheld objection reverses the charge with its own ledger entry (I2, I3, I4)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date
from threading import Barrier

import pytest

from chalicelib.domain import errors
from chalicelib.domain.ledger import EntryKind, charge_key, replay, reversal_key
from chalicelib.domain.objection import ObjectionDecision, ObjectionStatus
from chalicelib.domain.period import Period
from chalicelib.platform.clock import SettableClock
from chalicelib.services import certificates, contracts, objections
from chalicelib.services.context import Context
from chalicelib.services.rollover import run_topup
from chalicelib.storage import ledger as ledger_store
from chalicelib.storage.models import ContractRecord
from tests.helpers import table_contents
from tests.integration.money_world import charged, running_year
from tests.integration.test_certificates import ELIZOVO_OPERATOR, MILKOVO_OPERATOR, PARENT, REGION, at
from tests.integration.test_contracts import OTHER_PARENT, OTHER_PROVIDER, PRICE, PROVIDER, open_year

REASON = "Занятия в марте не проводились"


@pytest.fixture
def year(ctx: Context, clock: SettableClock) -> Period:
    return running_year(ctx, clock)


def conserved_and_replayed(certificate_id: str) -> None:
    """I2 for every period of the ledger, and the cached balance equal to the replay (I3)."""
    for period_id, balance in replay(ledger_store.all_entries(certificate_id)).items():
        assert balance.conserved and balance.non_negative, (period_id, balance)
    assert certificates.reconcile(certificate_id).consistent


def test_an_upheld_objection_reverses_the_charge_to_available_and_the_charge_entry_stays(
    ctx: Context, year: Period
) -> None:
    certificate_id, contract_id = charged(ctx, year)
    before = certificates.view(ctx, PARENT, certificate_id).balance
    objection = objections.object_to_charge(ctx, PARENT, contract_id, "2027-03", REASON)
    assert objection.status is ObjectionStatus.OPEN and objection.amount == PRICE
    assert ContractRecord.get(contract_id).objections.as_dict() == {"2027-03": "open"}  # disputed in the reports

    decided = objections.decide(
        ctx, ELIZOVO_OPERATOR, objection.objection_id, ObjectionDecision.UPHOLD, "Табель не подписан"
    )
    assert decided.status is ObjectionStatus.UPHELD and decided.returned_to == "available"
    after = certificates.view(ctx, PARENT, certificate_id).balance
    assert (after.spent, after.available, after.held) == (before.spent - PRICE, before.available + PRICE, before.held)
    assert after.credited == before.credited
    entries = {e.entry_key: e for e in ledger_store.all_entries(certificate_id)}
    assert entries[charge_key(contract_id, "2027-03")].kind is EntryKind.CHARGE  # the original stays
    reversal = entries[reversal_key(contract_id, "2027-03")]
    assert (reversal.kind, reversal.amount, reversal.contract_id, reversal.month) == (
        EntryKind.REVERSAL,
        PRICE,
        contract_id,
        "2027-03",
    )
    conserved_and_replayed(certificate_id)
    record = ContractRecord.get(contract_id, consistent_read=True)
    assert record.objections.as_dict() == {"2027-03": "upheld"}
    assert record.reversals.as_dict() == {"2027-03": PRICE} and record.charged_total == 0
    # The reversed month is never charged again: its charge key is spent (I4).
    with pytest.raises(errors.MonthCharged):
        contracts.charge(ctx, PROVIDER, contract_id, "2027-03", PRICE)


def test_a_rejected_objection_leaves_the_charge_and_moves_no_money(ctx: Context, year: Period) -> None:
    certificate_id, contract_id = charged(ctx, year)
    before = certificates.view(ctx, PARENT, certificate_id).balance
    objection = objections.object_to_charge(ctx, PARENT, contract_id, "2027-03", REASON)
    decided = objections.decide(ctx, REGION, objection.objection_id, ObjectionDecision.REJECT, "Посещение подтверждено")
    assert decided.status is ObjectionStatus.REJECTED and decided.returned_to is None
    assert certificates.view(ctx, PARENT, certificate_id).balance == before
    assert reversal_key(contract_id, "2027-03") not in {e.entry_key for e in ledger_store.all_entries(certificate_id)}
    assert ContractRecord.get(contract_id, consistent_read=True).objections.as_dict() == {"2027-03": "rejected"}
    with pytest.raises(errors.ObjectionDecided):
        objections.decide(ctx, REGION, objection.objection_id, ObjectionDecision.UPHOLD, "передумали")


def test_an_objection_is_filed_within_the_window_once_per_charge_and_a_refusal_writes_nothing(
    ctx: Context, year: Period, clock: SettableClock
) -> None:
    _certificate, contract_id = charged(ctx, year)  # charged on 10 March
    objections.object_to_charge(ctx, PARENT, contract_id, "2027-03", REASON)
    before = table_contents()
    with pytest.raises(errors.AlreadyObjected):
        objections.object_to_charge(ctx, PARENT, contract_id, "2027-03", "ещё раз")
    with pytest.raises(errors.NotCharged):
        objections.object_to_charge(ctx, PARENT, contract_id, "2027-04", REASON)
    with pytest.raises(errors.ContractNotFound):
        objections.object_to_charge(ctx, OTHER_PARENT, contract_id, "2027-03", REASON)
    with pytest.raises(errors.Forbidden):
        objections.object_to_charge(ctx, PROVIDER, contract_id, "2027-03", REASON)
    with pytest.raises(errors.InvalidRequest):
        objections.object_to_charge(ctx, PARENT, contract_id, "2027-03", "   ")
    at(clock, date(2027, 4, 10))
    contracts.charge(ctx, PROVIDER, contract_id, "2027-04", PRICE)
    at(clock, date(2027, 4, 25))  # 15 days after the April charge: the 14-day window has closed
    before = table_contents()
    with pytest.raises(errors.ObjectionWindowClosed):
        objections.object_to_charge(ctx, PARENT, contract_id, "2027-04", REASON)
    assert table_contents() == before


def test_only_an_operator_of_the_contracts_municipality_decides_with_a_reason(ctx: Context, year: Period) -> None:
    _certificate, contract_id = charged(ctx, year)
    objection = objections.object_to_charge(ctx, PARENT, contract_id, "2027-03", REASON)
    before = table_contents()
    with pytest.raises(errors.Forbidden):
        objections.decide(ctx, MILKOVO_OPERATOR, objection.objection_id, ObjectionDecision.UPHOLD, "да")
    with pytest.raises(errors.Forbidden):
        objections.decide(ctx, PARENT, objection.objection_id, ObjectionDecision.UPHOLD, "да")
    with pytest.raises(errors.InvalidRequest):
        objections.decide(ctx, ELIZOVO_OPERATOR, objection.objection_id, ObjectionDecision.UPHOLD, "")
    with pytest.raises(errors.ObjectionNotFound):
        objections.decide(ctx, ELIZOVO_OPERATOR, "not-an-objection", ObjectionDecision.UPHOLD, "да")
    assert table_contents() == before


def test_the_parent_the_provider_and_the_operators_queue_each_see_the_objection(ctx: Context, year: Period) -> None:
    _certificate, contract_id = charged(ctx, year)
    objection = objections.object_to_charge(ctx, PARENT, contract_id, "2027-03", REASON)

    def ids(page: objections.store.Page) -> list[str]:
        return [o.objection_id for o in page.items]

    assert ids(objections.listing(ctx, PARENT, 10, None)) == [objection.objection_id]
    assert ids(objections.listing(ctx, OTHER_PARENT, 10, None)) == []
    assert ids(objections.listing(ctx, PROVIDER, 10, None)) == [objection.objection_id]
    assert ids(objections.listing(ctx, OTHER_PROVIDER, 10, None)) == []
    assert ids(objections.listing(ctx, ELIZOVO_OPERATOR, 10, None)) == [objection.objection_id]
    assert ids(objections.listing(ctx, REGION, 10, None, municipality="elizovo")) == [objection.objection_id]
    with pytest.raises(errors.Forbidden):
        objections.listing(ctx, MILKOVO_OPERATOR, 10, None, municipality="elizovo")
    assert objections.view(ctx, PROVIDER, objection.objection_id).reason == REASON
    with pytest.raises(errors.ObjectionNotFound):
        objections.view(ctx, OTHER_PARENT, objection.objection_id)
    objections.decide(ctx, ELIZOVO_OPERATOR, objection.objection_id, ObjectionDecision.REJECT, "Посещение подтверждено")
    assert ids(objections.listing(ctx, ELIZOVO_OPERATOR, 10, None)) == []  # the open queue is empty
    assert ids(objections.listing(ctx, ELIZOVO_OPERATOR, 10, None, status="rejected")) == [objection.objection_id]


def test_operators_deciding_at_once_reverse_the_charge_exactly_once(ctx: Context, year: Period) -> None:
    certificate_id, contract_id = charged(ctx, year)
    before = certificates.view(ctx, PARENT, certificate_id).balance
    objection = objections.object_to_charge(ctx, PARENT, contract_id, "2027-03", REASON)
    start = Barrier(4)

    def decide(n: int) -> str:
        start.wait()
        decision = ObjectionDecision.UPHOLD if n % 2 == 0 else ObjectionDecision.REJECT
        try:
            return objections.decide(ctx, REGION, objection.objection_id, decision, f"решение {n}").status.value
        except errors.ObjectionDecided:
            return "refused"

    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(decide, range(4)))
    assert sorted(outcomes).count("refused") == 3
    final = objections.view(ctx, PARENT, objection.objection_id)
    reversals = [e for e in ledger_store.all_entries(certificate_id) if e.kind is EntryKind.REVERSAL]
    after = certificates.view(ctx, PARENT, certificate_id).balance
    if final.status is ObjectionStatus.UPHELD:
        assert len(reversals) == 1 and after.available == before.available + PRICE
    else:
        assert reversals == [] and after == before
    conserved_and_replayed(certificate_id)


def test_upheld_after_its_period_ended_the_money_goes_back_as_expired(
    ctx: Context, year: Period, clock: SettableClock
) -> None:
    open_year(ctx, 2028)
    at(clock, date(2027, 12, 20))
    certificate_id, contract_id = charged(ctx, year, "2027-12")
    objection = objections.object_to_charge(ctx, PARENT, contract_id, "2027-12", REASON)
    at(clock, date(2028, 1, 10))
    assert run_topup(ctx, "2028", 60)
    new_period = certificates.view(ctx, PARENT, certificate_id).balance
    decided = objections.decide(
        ctx, ELIZOVO_OPERATOR, objection.objection_id, ObjectionDecision.UPHOLD, "Не проводились"
    )
    assert decided.returned_to == "expired"
    # The certificate's balance is the new period's and does not change; the old period's ledger does.
    assert certificates.view(ctx, PARENT, certificate_id).balance == new_period
    old = replay(e for e in ledger_store.all_entries(certificate_id) if e.period_id == "2027")["2027"]
    assert old.spent == 0 and old.conserved and old.available == 0
    kinds = {e.entry_key: e.kind for e in ledger_store.all_entries(certificate_id)}
    assert kinds[reversal_key(contract_id, "2027-12")] is EntryKind.REVERSAL_EXPIRED
    conserved_and_replayed(certificate_id)


def test_a_frozen_certificate_waits_for_the_freeze_to_lift_before_a_charge_is_reversed(
    ctx: Context, year: Period
) -> None:
    certificate_id, contract_id = charged(ctx, year)
    objection = objections.object_to_charge(ctx, PARENT, contract_id, "2027-03", REASON)
    certificates.freeze(ctx, ELIZOVO_OPERATOR, certificate_id, "проверка")
    before = table_contents()
    with pytest.raises(errors.CertificateFrozen):
        objections.decide(ctx, ELIZOVO_OPERATOR, objection.objection_id, ObjectionDecision.UPHOLD, "да")
    assert table_contents() == before
    certificates.unfreeze(ctx, ELIZOVO_OPERATOR, certificate_id)
    assert objections.decide(ctx, ELIZOVO_OPERATOR, objection.objection_id, ObjectionDecision.UPHOLD, "да").returned_to
    conserved_and_replayed(certificate_id)
