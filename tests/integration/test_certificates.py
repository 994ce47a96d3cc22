"""Certificates and funding, at the service layer against DynamoDB Local."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from chalicelib.domain import errors
from chalicelib.domain.actors import Principal, Role
from chalicelib.domain.certificate import Certificate, CertificateStatus
from chalicelib.domain.ledger import credit_key, expire_key
from chalicelib.domain.period import Period
from chalicelib.platform.clock import SettableClock
from chalicelib.services import certificates, periods
from chalicelib.services.context import Context
from chalicelib.services.rollover import run_topup
from chalicelib.storage import ledger as ledger_store
from chalicelib.storage import periods as period_store
from devtools.roundtrips import counting
from tests.helpers import table_contents

REGION = Principal("op-region", Role.OPERATOR, municipality="*")
ELIZOVO_OPERATOR = Principal("op-elizovo", Role.OPERATOR, municipality="elizovo")
MILKOVO_OPERATOR = Principal("op-milkovo", Role.OPERATOR, municipality="milkovo")
PARENT = Principal("parent-1", Role.PARENT)
OTHER_PARENT = Principal("parent-2", Role.PARENT)
NOMINAL = 1_200_000


def open_year(ctx: Context, year: int, quota: int = 10, nominal: int = NOMINAL) -> Period:
    period = Period(str(year), date(year, 1, 1), date(year, 12, 31), nominal, {"elizovo": quota}, "Asia/Kamchatka")
    periods.open_period(ctx, REGION, period)
    return period


def at(clock: SettableClock, day: date) -> None:
    """Noon in Kamchatka on ``day``."""
    clock.set(datetime(day.year, day.month, day.day, 0, 0, tzinfo=timezone.utc))


def child(ctx: Context, parent: Principal = PARENT, birth: date = date(2016, 3, 1)) -> Certificate:
    # Another family's child is another child: one living certificate per child in the region.
    name = "Иванова  Мария" if parent == PARENT else "Петрова  Ольга"
    return certificates.register_child(ctx, parent, name, birth, "elizovo")


def test_a_registered_child_gets_an_accounting_certificate_with_no_money(ctx: Context) -> None:
    certificate = child(ctx)
    assert certificate.status is CertificateStatus.ACCOUNTING
    assert certificate.full_name == "Иванова Мария"
    assert certificate.valid_until == date(2034, 3, 1)
    assert certificate.balance.credited == 0
    assert [c.certificate_id for c in certificates.list_children(ctx, PARENT)] == [certificate.certificate_id]
    assert certificates.list_children(ctx, OTHER_PARENT) == []


def test_only_children_of_5_to_17_get_a_certificate(ctx: Context, clock: SettableClock) -> None:
    at(clock, date(2027, 2, 10))
    for birth in (date(2022, 2, 11), date(2009, 2, 10)):
        with pytest.raises(errors.NotEligible):
            child(ctx, birth=birth)


def test_funding_mid_period_credits_the_nominal_pro_rata_and_takes_a_quota_slot(
    ctx: Context, clock: SettableClock
) -> None:
    open_year(ctx, 2027)
    at(clock, date(2027, 10, 5))
    certificate = certificates.fund(ctx, PARENT, child(ctx).certificate_id)
    assert certificate.status is CertificateStatus.FUNDED and certificate.period_id == "2027"
    assert certificate.balance.credited == certificate.balance.available == NOMINAL * 3 // 12
    quota = period_store.period_state("2027").quotas[0]
    assert (quota.funded, quota.remaining) == (1, 9)
    entries = list(ledger_store.all_entries(certificate.certificate_id))
    assert [(e.entry_key, e.amount) for e in entries] == [(credit_key("2027"), NOMINAL // 4)]


def test_funding_again_changes_nothing(ctx: Context, clock: SettableClock) -> None:
    open_year(ctx, 2027)
    at(clock, date(2027, 1, 15))
    certificate_id = child(ctx).certificate_id
    first = certificates.fund(ctx, PARENT, certificate_id)
    before = table_contents()
    again = certificates.fund(ctx, PARENT, certificate_id)
    assert again == first
    assert table_contents() == before


def test_when_the_quota_is_used_up_funding_is_refused_and_nothing_is_written(
    ctx: Context, clock: SettableClock
) -> None:
    open_year(ctx, 2027, quota=1)
    at(clock, date(2027, 1, 15))
    certificates.fund(ctx, PARENT, child(ctx).certificate_id)
    second = child(ctx, OTHER_PARENT)
    before = table_contents()
    with pytest.raises(errors.QuotaExhausted):
        certificates.fund(ctx, OTHER_PARENT, second.certificate_id)
    assert table_contents() == before


def test_a_municipality_without_a_quota_cannot_fund(ctx: Context, clock: SettableClock) -> None:
    open_year(ctx, 2027)
    at(clock, date(2027, 1, 15))
    certificate = certificates.register_child(ctx, PARENT, "Петров Пётр", date(2015, 1, 1), "milkovo")
    with pytest.raises(errors.QuotaExhausted):
        certificates.fund(ctx, PARENT, certificate.certificate_id)


def test_no_funding_outside_a_running_period(ctx: Context, clock: SettableClock) -> None:
    at(clock, date(2026, 12, 30))
    certificate_id = child(ctx).certificate_id
    with pytest.raises(errors.NoOpenPeriod):
        certificates.fund(ctx, PARENT, certificate_id)
    open_year(ctx, 2027)
    with pytest.raises(errors.NoOpenPeriod):
        certificates.fund(ctx, PARENT, certificate_id)  # opened, not yet begun
    at(clock, date(2028, 1, 2))
    with pytest.raises(errors.NoOpenPeriod):
        certificates.fund(ctx, PARENT, certificate_id)  # ended, no next one


def test_a_parent_sees_only_their_own_children_and_an_operator_only_their_municipality(ctx: Context) -> None:
    certificate_id = child(ctx).certificate_id
    assert certificates.view(ctx, PARENT, certificate_id).certificate_id == certificate_id
    assert certificates.view(ctx, ELIZOVO_OPERATOR, certificate_id).certificate_id == certificate_id
    assert certificates.view(ctx, REGION, certificate_id).certificate_id == certificate_id
    with pytest.raises(errors.CertificateNotFound):
        certificates.view(ctx, OTHER_PARENT, certificate_id)
    with pytest.raises(errors.Forbidden):
        certificates.view(ctx, MILKOVO_OPERATOR, certificate_id)
    with pytest.raises(errors.Forbidden):
        certificates.view(ctx, Principal("prov", Role.PROVIDER, provider_id="p1"), certificate_id)
    with pytest.raises(errors.CertificateNotFound):
        certificates.fund(ctx, OTHER_PARENT, certificate_id)


def test_a_malformed_certificate_number_is_refused_before_any_lookup(ctx: Context) -> None:
    with counting() as trips, pytest.raises(errors.InvalidRequest):
        certificates.view(ctx, PARENT, "1234567890")
    assert trips.total == 0


def test_a_balance_read_is_one_get_item(ctx: Context, clock: SettableClock) -> None:
    open_year(ctx, 2027)
    at(clock, date(2027, 3, 1))
    certificate_id = child(ctx).certificate_id
    certificates.fund(ctx, PARENT, certificate_id)
    ctx.calendar.ttl = 3600  # steady state: the calendar is cached
    ctx.calendar.invalidate()
    certificates.view(ctx, PARENT, certificate_id)
    with counting() as trips:
        certificates.view(ctx, PARENT, certificate_id)
    assert dict(trips.calls) == {"GetItem": 1}


def funded_child_in_2027(ctx: Context, clock: SettableClock) -> str:
    open_year(ctx, 2027)
    open_year(ctx, 2028, nominal=1_500_000)
    at(clock, date(2027, 1, 20))
    certificate_id = child(ctx).certificate_id
    certificates.fund(ctx, PARENT, certificate_id)
    return certificate_id


def test_the_first_touch_after_a_period_begins_rolls_the_certificate_over(ctx: Context, clock: SettableClock) -> None:
    certificate_id = funded_child_in_2027(ctx, clock)
    at(clock, date(2028, 1, 1))
    certificate = certificates.view(ctx, PARENT, certificate_id)
    assert certificate.period_id == "2028"
    assert certificate.balance.credited == certificate.balance.available == 1_500_000
    keys = {e.entry_key: e.amount for e in ledger_store.all_entries(certificate_id)}
    assert keys == {credit_key("2027"): NOMINAL, expire_key("2027"): NOMINAL, credit_key("2028"): 1_500_000}
    # The job then finds it done, and counts what the touch did.
    assert run_topup(ctx, "2028", time_budget_seconds=60)
    topup = periods.progress(period_store.period_state("2028"))
    assert (topup.status, topup.certificates_credited, topup.rolled_on_touch) == ("done", 1, 1)
    assert certificates.reconcile(certificate_id).consistent


def test_the_top_up_credits_every_funded_certificate_once_and_expires_the_old_money(
    ctx: Context, clock: SettableClock
) -> None:
    certificate_id = funded_child_in_2027(ctx, clock)
    accounting_id = child(ctx, OTHER_PARENT).certificate_id
    at(clock, date(2028, 1, 1))
    assert run_topup(ctx, "2028", time_budget_seconds=60)
    assert run_topup(ctx, "2028", time_budget_seconds=60)  # again: nothing more happens
    keys = [e.entry_key for e in ledger_store.all_entries(certificate_id)]
    assert sorted(keys) == sorted([credit_key("2027"), expire_key("2027"), credit_key("2028")])
    assert list(ledger_store.all_entries(accounting_id)) == []
    state = period_store.period_state("2028")
    topup = periods.progress(state)
    assert (topup.status, topup.certificates_credited, topup.expired_kopecks) == ("done", 1, NOMINAL)
    assert state.quotas[0].funded == 1
    assert certificates.reconcile(certificate_id).consistent


def test_the_top_up_waits_for_the_period_to_begin(ctx: Context, clock: SettableClock) -> None:
    funded_child_in_2027(ctx, clock)
    at(clock, date(2027, 12, 31))
    with pytest.raises(errors.PeriodNotStarted):
        run_topup(ctx, "2028", time_budget_seconds=60)


def test_an_earlier_period_cannot_be_topped_up_once_a_later_one_began(ctx: Context, clock: SettableClock) -> None:
    funded_child_in_2027(ctx, clock)
    at(clock, date(2028, 1, 1))
    with pytest.raises(errors.PeriodSuperseded):
        run_topup(ctx, "2027", time_budget_seconds=60)


def test_over_quota_in_the_new_period_a_certificate_expires_and_returns_to_accounting(
    ctx: Context, clock: SettableClock
) -> None:
    open_year(ctx, 2027)
    open_year(ctx, 2028, quota=1)
    at(clock, date(2027, 1, 20))
    first, second = child(ctx).certificate_id, child(ctx, OTHER_PARENT).certificate_id
    certificates.fund(ctx, PARENT, first)
    certificates.fund(ctx, OTHER_PARENT, second)
    at(clock, date(2028, 1, 1))
    assert run_topup(ctx, "2028", time_budget_seconds=60)
    statuses = sorted(certificates.view(ctx, REGION, c).status.value for c in (first, second))
    assert statuses == ["accounting", "funded"]
    topup = periods.progress(period_store.period_state("2028"))
    assert (topup.certificates_credited, topup.certificates_over_quota) == (1, 1)
    assert topup.expired_kopecks == 2 * NOMINAL
    for certificate_id in (first, second):
        assert certificates.reconcile(certificate_id).consistent


def test_periods_cannot_overlap_or_be_opened_twice(ctx: Context) -> None:
    open_year(ctx, 2027)
    with pytest.raises(errors.PeriodExists):
        open_year(ctx, 2027)
    overlapping = Period("2027b", date(2027, 9, 1), date(2028, 8, 31), 1, {"elizovo": 1}, "Asia/Kamchatka")
    before = table_contents()
    with pytest.raises(errors.PeriodOverlaps):
        periods.open_period(ctx, REGION, overlapping)
    assert table_contents() == before


def test_only_a_regional_operator_opens_a_period(ctx: Context) -> None:
    period = Period("2027", date(2027, 1, 1), date(2027, 12, 31), 1, {"elizovo": 1}, "Asia/Kamchatka")
    for actor in (ELIZOVO_OPERATOR, PARENT):
        with pytest.raises(errors.Forbidden):
            periods.open_period(ctx, actor, period)


def test_the_ledger_pages_newest_first(ctx: Context, clock: SettableClock) -> None:
    certificate_id = funded_child_in_2027(ctx, clock)
    at(clock, date(2028, 1, 1))
    first = certificates.ledger(ctx, PARENT, certificate_id, 2, None)
    assert [e.entry_key for e in first.items] == [credit_key("2028"), expire_key("2027")]
    assert first.next_key is not None
    rest = certificates.ledger(ctx, PARENT, certificate_id, 2, first.next_key)
    assert [e.entry_key for e in rest.items] == [credit_key("2027")]


def test_funding_is_one_read_and_one_transaction(ctx: Context, clock: SettableClock) -> None:
    open_year(ctx, 2027)
    at(clock, date(2027, 3, 1))
    certificate_id = child(ctx).certificate_id
    ctx.calendar.ttl = 3600
    ctx.calendar.periods()
    with counting() as trips:
        funded = certificates.fund(ctx, PARENT, certificate_id)
    assert dict(trips.calls) == {"GetItem": 1, "TransactWriteItems": 1}
    assert funded == certificates.view(ctx, PARENT, certificate_id)
