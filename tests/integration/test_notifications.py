"""Parents are told after their money moved (a charge, a released hold, an objection's decision) and 30 days before
it expires, once; a notification that cannot be sent never undoes or fails the movement."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import date
from typing import Any

import pytest

from chalicelib.domain.objection import ObjectionDecision
from chalicelib.domain.period import Period
from chalicelib.platform import notifications
from chalicelib.platform.clock import SettableClock
from chalicelib.platform.notifications import Notice
from chalicelib.services import certificates, contracts, objections
from chalicelib.services.context import Context
from chalicelib.services.expiry_notices import send_expiry_notices
from chalicelib.storage import ledger as ledger_store
from devtools.roundtrips import counting
from tests.integration.money_world import charged, running_year
from tests.integration.test_certificates import ELIZOVO_OPERATOR, PARENT, at
from tests.integration.test_contracts import PRICE, PROVIDER, active_contract, funded_child

# What a notification must never carry.
CHILD_DATA = ("Кузнецов", "Артём", "2016-05-01", "full_name", "birth_date")


class Captured:
    """A notifier that keeps what it was asked to send (or fails, when told to)."""

    def __init__(self, failing: bool = False) -> None:
        self.sent: list[Notice] = []
        self.failing = failing

    def publish(self, notices: Sequence[Notice]) -> None:
        if self.failing:
            raise ConnectionError("EventBridge is unreachable")
        self.sent.extend(notices)

    def of(self, detail_type: str) -> list[dict[str, Any]]:
        return [n.detail() for n in self.sent if n.detail_type == detail_type]


class LambdaContext:
    def get_remaining_time_in_millis(self) -> int:
        return 300_000


@pytest.fixture
def year(ctx: Context, clock: SettableClock) -> Period:
    return running_year(ctx, clock)


def no_child_data(notice: dict[str, Any]) -> None:
    text = json.dumps(notice, ensure_ascii=False)
    assert not any(word in text for word in CHILD_DATA), text


def test_a_charge_is_told_after_its_one_transaction(ctx: Context, year: Period) -> None:
    certificate_id, _program, contract_id = active_contract(ctx, year)
    told = Captured()
    ctx.calendar.ttl = 3600
    ctx.calendar.periods()
    with counting() as trips:
        contracts.charge(ctx, PROVIDER, contract_id, "2027-03", PRICE, notifier=told)
    assert dict(trips.calls) == {"TransactWriteItems": 1}  # still one round trip
    (made,) = told.of(notifications.CHARGE_MADE)
    assert made == {
        "certificate_id": certificate_id,
        "guardian_sub": None,  # a charge reads nothing: addressed by certificate
        "contract_id": contract_id,
        "month": "2027-03",
        "amount": PRICE,
    }
    no_child_data(made)


def test_a_notifier_that_fails_never_fails_the_charge(
    ctx: Context, year: Period, caplog: pytest.LogCaptureFixture
) -> None:
    certificate_id, _program, contract_id = active_contract(ctx, year)
    with caplog.at_level(logging.ERROR, logger="pfdo.notifications"):
        receipt = contracts.charge(ctx, PROVIDER, contract_id, "2027-03", PRICE, notifier=Captured(failing=True))
    assert receipt.amount == PRICE
    assert certificates.view(ctx, PARENT, certificate_id).balance.spent == PRICE  # committed, and it stays
    assert "could not publish ChargeMade" in caplog.text


def test_a_released_hold_is_told_to_the_guardian(ctx: Context, year: Period) -> None:
    certificate_id, _program, contract_id = active_contract(ctx, year)
    held = contracts.view(ctx, PARENT, contract_id).remaining_hold
    told = Captured()
    contracts.cancel(ctx, PARENT, contract_id, None, notifier=told)
    (released,) = told.of(notifications.HOLD_RELEASED)
    assert released["guardian_sub"] == PARENT.sub and released["certificate_id"] == certificate_id
    assert (released["contract_id"], released["amount"], released["reason"]) == (contract_id, held, "cancelled")
    no_child_data(released)


def test_an_objections_decision_is_told_to_the_guardian(ctx: Context, year: Period) -> None:
    certificate_id, contract_id = charged(ctx, year)
    objection = objections.object_to_charge(ctx, PARENT, contract_id, "2027-03", "Не было занятий")
    told = Captured()
    objections.decide(ctx, ELIZOVO_OPERATOR, objection.objection_id, ObjectionDecision.UPHOLD, "Да", notifier=told)
    (decided,) = told.of(notifications.OBJECTION_DECIDED)
    assert decided["guardian_sub"] == PARENT.sub and decided["certificate_id"] == certificate_id
    assert (decided["outcome"], decided["reversed_amount"], decided["returned_to"]) == ("upheld", PRICE, "available")
    no_child_data(decided)


def test_thirty_days_before_expiry_each_guardian_is_told_once(ctx: Context, year: Period, clock: SettableClock) -> None:
    with_money = funded_child(ctx)
    spent_out = funded_child(ctx, birth=date(2015, 6, 1))
    at(clock, date(2027, 11, 30))  # 32 days before the money of 2027 expires: not yet
    told = Captured()
    assert send_expiry_notices(ctx, told).told == 0
    at(clock, date(2027, 12, 2))  # 30 days before 1 January
    run = send_expiry_notices(ctx, told)
    assert (run.period_id, run.told, run.complete) == ("2027", 2, True)
    notices = {n["certificate_id"]: n for n in told.of(notifications.EXPIRY_NOTICE)}
    assert set(notices) == {with_money, spent_out}
    available = certificates.view(ctx, PARENT, with_money).balance.available
    assert notices[with_money] == {
        "certificate_id": with_money,
        "guardian_sub": PARENT.sub,
        "period_id": "2027",
        "amount": available,
        "expires_on": "2028-01-01",
    }
    no_child_data(notices[with_money])
    at(clock, date(2027, 12, 20))  # the next days' runs tell nobody again
    assert send_expiry_notices(ctx, told).told == 0
    assert len(told.sent) == 2
    # The notice moved no money.
    assert certificates.reconcile(with_money).consistent
    assert [e.kind.value for e in ledger_store.all_entries(with_money)] == ["credit"]


def test_an_expiry_notice_that_could_not_be_sent_is_sent_the_next_day(
    ctx: Context, year: Period, clock: SettableClock
) -> None:
    certificate_id = funded_child(ctx)
    at(clock, date(2027, 12, 10))
    failed = send_expiry_notices(ctx, Captured(failing=True))
    assert (failed.told, failed.failed) == (0, 1)
    at(clock, date(2027, 12, 11))
    told = Captured()
    assert send_expiry_notices(ctx, told).told == 1
    assert [n["certificate_id"] for n in told.of(notifications.EXPIRY_NOTICE)] == [certificate_id]


def test_the_scheduled_function_sends_the_notices_through_the_local_log_sink(
    ctx: Context, year: Period, clock: SettableClock, table_prefix: str, tmp_path: Any, monkeypatch: Any
) -> None:
    from functions import runtime
    from functions.jobs import handlers as jobs

    certificate_id = funded_child(ctx)
    sink = tmp_path / "notifications.jsonl"
    monkeypatch.setenv("PFDO_NOTIFICATION_LOG", str(sink))
    runtime.reset()
    runtime.context().clock.set(clock.now().replace(month=12, day=5))
    event = {
        "version": "0",
        "id": "1",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2027-12-04T21:00:00Z",
        "region": "eu-central-1",
        "resources": [],
        "detail": {},
    }
    answer = jobs.expiry_notices(event, LambdaContext())  # as Lambda calls it
    assert answer == {"period_id": "2027", "told": 1, "failed": 0, "complete": True}
    (line,) = sink.read_text().splitlines()
    event = json.loads(line)
    assert event["detail-type"] == "ExpiryNotice" and event["source"] == "pfdo.functions"
    assert event["detail"]["certificate_id"] == certificate_id
    runtime.reset()
