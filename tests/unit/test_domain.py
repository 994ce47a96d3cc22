"""The domain rules, with no I/O."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from chalicelib.domain import errors
from chalicelib.domain.certificate import (
    Balance,
    Certificate,
    CertificateStatus,
    age_on,
    check_registrable,
    damm_check_digit,
    has_check_digit,
    valid_until,
)
from chalicelib.domain.ledger import EntryKind, LedgerEntry, replay
from chalicelib.domain.money import kopecks, prorate
from chalicelib.domain.period import AgeNominal, Month, Period, current_period, local_today
from chalicelib.domain.rollover import RolloverOutcome, plan_rollover

KAMCHATKA = "Asia/Kamchatka"


def year_period(year: int, nominal: int = 1_200_000, **extra: object) -> Period:
    return Period(str(year), date(year, 1, 1), date(year, 12, 31), nominal, {"elizovo": 10}, KAMCHATKA, **extra)  # type: ignore[arg-type]


# --- money -------------------------------------------------------------------------------------------------------


def test_money_is_a_non_negative_int_of_kopecks() -> None:
    assert kopecks(150) == 150
    with pytest.raises(TypeError):
        kopecks(1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        kopecks(True)
    with pytest.raises(ValueError):
        kopecks(-1)


def test_pro_rata_rounds_down_and_never_pays_more_than_the_whole() -> None:
    assert prorate(1_000_000, 12, 12) == 1_000_000
    assert prorate(1_000_000, 1, 3) == 333_333
    assert prorate(100, 0, 12) == 0
    with pytest.raises(ValueError):
        prorate(100, 13, 12)


# --- certificate -------------------------------------------------------------------------------------------------


def test_a_mistyped_certificate_number_is_caught() -> None:
    """Fixed numbers (the exhaustive proof is tests/unit/test_certificate_number.py): a wrong digit and a swap of two
    adjacent digits, including the 09 <-> 90 swap that a Luhn digit misses."""
    number = "123456789" + str(damm_check_digit("123456789"))
    assert has_check_digit(number)
    wrong_digit = number[:4] + str((int(number[4]) + 1) % 10) + number[5:]
    swapped = number[:3] + number[4] + number[3] + number[5:]
    assert not has_check_digit(wrong_digit)
    assert not has_check_digit(swapped)
    assert not has_check_digit("12345")
    assert not has_check_digit("12345678901")
    assert not has_check_digit("abcdefghij")


def test_certificate_is_valid_until_the_18th_birthday() -> None:
    assert valid_until(date(2010, 5, 17)) == date(2028, 5, 17)
    assert valid_until(date(2012, 2, 29)) == date(2030, 3, 1)


def test_age_counts_full_years() -> None:
    assert age_on(date(2015, 6, 1), date(2025, 5, 31)) == 9
    assert age_on(date(2015, 6, 1), date(2025, 6, 1)) == 10
    assert age_on(date(2012, 2, 29), date(2013, 2, 28)) == 0
    assert age_on(date(2012, 2, 29), date(2013, 3, 1)) == 1


@pytest.mark.parametrize(
    ("birth", "ok"),
    [(date(2021, 1, 1), True), (date(2021, 1, 2), False), (date(2008, 1, 2), True), (date(2008, 1, 1), False)],
)
def test_a_certificate_is_issued_from_5_up_to_18(birth: date, ok: bool) -> None:
    today = date(2026, 1, 1)
    if ok:
        check_registrable(birth, today)
    else:
        with pytest.raises(errors.NotEligible):
            check_registrable(birth, today)


def test_a_birth_date_in_the_future_is_refused() -> None:
    with pytest.raises(errors.InvalidRequest):
        check_registrable(date(2030, 1, 1), date(2026, 1, 1))


# --- period ------------------------------------------------------------------------------------------------------


def test_a_period_runs_whole_months() -> None:
    year_period(2027).validate()
    for starts, ends in [(date(2027, 1, 2), date(2027, 12, 31)), (date(2027, 1, 1), date(2027, 12, 30))]:
        with pytest.raises(errors.InvalidRequest):
            Period("p", starts, ends, 100, {"elizovo": 1}, KAMCHATKA).validate()
    with pytest.raises(errors.InvalidRequest):
        Period("p", date(2027, 1, 1), date(2029, 3, 31), 100, {"elizovo": 1}, KAMCHATKA).validate()


@pytest.mark.parametrize(
    "period",
    [
        Period("bad id!", date(2027, 1, 1), date(2027, 12, 31), 100, {"elizovo": 1}, KAMCHATKA),
        Period("p", date(2027, 1, 1), date(2027, 12, 31), 0, {"elizovo": 1}, KAMCHATKA),
        Period("p", date(2027, 1, 1), date(2027, 12, 31), 100, {}, KAMCHATKA),
        Period("p", date(2027, 1, 1), date(2027, 12, 31), 100, {"Bad Code": 1}, KAMCHATKA),
        Period("p", date(2027, 1, 1), date(2027, 12, 31), 100, {"elizovo": -1}, KAMCHATKA),
        Period("p", date(2027, 1, 1), date(2027, 12, 31), 100, {"elizovo": 1}, KAMCHATKA, (AgeNominal(10, 5, 1),)),
    ],
)
def test_a_period_with_bad_terms_is_refused(period: Period) -> None:
    with pytest.raises(errors.InvalidRequest):
        period.validate()


@pytest.mark.parametrize(
    ("tz", "instant"),
    [
        ("Asia/Kamchatka", datetime(2026, 12, 31, 12, 0, tzinfo=timezone.utc)),
        ("Europe/Moscow", datetime(2026, 12, 31, 21, 0, tzinfo=timezone.utc)),
        ("America/New_York", datetime(2027, 1, 1, 5, 0, tzinfo=timezone.utc)),
    ],
)
def test_a_period_starts_at_local_midnight_in_the_regions_time_zone(tz: str, instant: datetime) -> None:
    period = Period("2027", date(2027, 1, 1), date(2027, 12, 31), 100, {"elizovo": 1}, tz)
    assert period.start_instant() == instant


def test_local_today_is_the_regions_calendar_day() -> None:
    just_after_midnight_in_kamchatka = datetime(2026, 12, 31, 12, 0, 1, tzinfo=timezone.utc)
    assert local_today(just_after_midnight_in_kamchatka, KAMCHATKA) == date(2027, 1, 1)
    assert local_today(just_after_midnight_in_kamchatka, "Europe/Moscow") == date(2026, 12, 31)


def test_the_current_period_is_the_latest_that_has_begun() -> None:
    periods = [year_period(2027), year_period(2028)]
    assert current_period(periods, date(2026, 12, 31)) is None
    assert current_period(periods, date(2027, 6, 1)).period_id == "2027"  # type: ignore[union-attr]
    assert current_period(periods, date(2029, 6, 1)).period_id == "2028"  # type: ignore[union-attr]


def test_months_are_ordered_and_parsed_strictly() -> None:
    assert str(Month.parse("2027-03").next()) == "2027-04"
    assert str(Month(2027, 12).next()) == "2028-01"
    for bad in ("2027-13", "2027-3", "27-03", "2027-00"):
        with pytest.raises(errors.InvalidRequest):
            Month.parse(bad)


def test_funded_mid_period_the_nominal_is_pro_rata_for_the_months_left_counting_this_one() -> None:
    period = year_period(2027, nominal=1_200_000)
    birth = date(2015, 6, 1)
    assert period.entitlement(birth, date(2027, 1, 1)) == 1_200_000
    assert period.entitlement(birth, date(2027, 10, 31)) == 300_000  # October to December: 3 of 12
    assert period.entitlement(birth, date(2027, 12, 31)) == 100_000


def test_months_from_the_18th_birthday_on_are_not_paid() -> None:
    period = year_period(2027, nominal=1_200_000)
    assert period.entitlement(date(2009, 4, 15), date(2027, 1, 1)) == 400_000  # January to April
    assert period.entitlement(date(2009, 4, 1), date(2027, 1, 1)) == 300_000  # 18 on 1 April


def test_the_nominal_may_differ_by_age_group_at_the_period_start() -> None:
    period = year_period(2027, nominal=1_000_000, age_nominals=(AgeNominal(14, 17, 1_500_000),))
    assert period.entitlement(date(2012, 12, 31), date(2027, 1, 1)) == 1_500_000  # 14 on 1 January
    assert period.entitlement(date(2013, 1, 2), date(2027, 1, 1)) == 1_000_000  # still 13


# --- ledger ------------------------------------------------------------------------------------------------------


def entry(kind: EntryKind, amount: int, period: str = "2027", key: str = "") -> LedgerEntry:
    return LedgerEntry("1000000009", key or f"{kind.value}#{amount}", kind, period, amount, "t")


def test_replaying_the_ledger_reproduces_a_conserved_balance() -> None:
    entries = [
        entry(EntryKind.CREDIT, 1000),
        entry(EntryKind.HOLD, 600),
        entry(EntryKind.CHARGE, 200),
        entry(EntryKind.RELEASE, 400),
        entry(EntryKind.EXPIRE, 800),
    ]
    balance = replay(entries)["2027"]
    assert balance == Balance(credited=1000, available=0, held=0, spent=200, expired=800)
    assert balance.conserved and balance.non_negative


def test_replay_keeps_periods_apart() -> None:
    balances = replay([entry(EntryKind.CREDIT, 10, "a"), entry(EntryKind.CREDIT, 20, "b")])
    assert balances["a"].credited == 10 and balances["b"].credited == 20


# --- rollover plan -----------------------------------------------------------------------------------------------


def snapshot(**overrides: object) -> Certificate:
    """A certificate as read (what a rollover is planned from)."""
    values: dict[str, object] = {
        "certificate_id": "1000000009",
        "status": CertificateStatus.FUNDED,
        "guardian_sub": "parent-1",
        "municipality": "elizovo",
        "full_name": "Мария Иванова",
        "birth_date": date(2015, 6, 1),
        "valid_until": date(2033, 6, 1),
        "issued_at": "2026-12-01T00:00:00.000000Z",
        "period_id": "2027",
        "period_starts_on": date(2027, 1, 1),
        "balance": Balance(credited=1000, available=300, held=500, spent=200),
        "open_holds": {"c2": 200, "c1": 300, "c3": 0},
        "version": 7,
    }
    values.update(overrides)
    return Certificate(**values)  # type: ignore[arg-type]


def test_a_rollover_releases_holds_then_expires_the_rest_then_credits_the_nominal() -> None:
    plan = plan_rollover(snapshot(), year_period(2028, nominal=1_500_000))
    assert plan is not None
    assert plan.releases == (("c1", 300), ("c2", 200))
    assert plan.expire_amount == 300 + 500
    assert plan.credit_amount == 1_500_000
    assert plan.outcome is RolloverOutcome.CREDITED and plan.takes_quota
    assert plan.expected_version == 7 and plan.from_period == "2027" and plan.to_period == "2028"
    assert plan.ledger_items == 4


def test_nothing_to_roll_when_already_current_or_not_funded() -> None:
    assert plan_rollover(snapshot(period_id="2028", period_starts_on=date(2028, 1, 1)), year_period(2028)) is None
    for status in (CertificateStatus.ACCOUNTING, CertificateStatus.FROZEN, CertificateStatus.CLOSED):
        assert plan_rollover(snapshot(status=status), year_period(2028)) is None


def test_a_rollover_never_moves_a_certificate_back_to_an_earlier_period() -> None:
    assert plan_rollover(snapshot(period_id="2028", period_starts_on=date(2028, 1, 1)), year_period(2027)) is None


def test_a_child_18_before_the_period_starts_ages_out_and_the_old_money_still_expires() -> None:
    plan = plan_rollover(snapshot(birth_date=date(2009, 12, 1)), year_period(2028))
    assert plan is not None and plan.outcome is RolloverOutcome.AGED_OUT
    assert plan.credit_amount == 0 and plan.expire_amount == 800
    assert plan.new_status is CertificateStatus.CLOSED and not plan.takes_quota


def test_over_quota_the_certificate_returns_to_accounting_with_nothing_credited() -> None:
    plan = plan_rollover(snapshot(), year_period(2028))
    assert plan is not None
    over = plan.over_quota()
    assert over.outcome is RolloverOutcome.OVER_QUOTA and over.credit_amount == 0
    assert over.expire_amount == plan.expire_amount and over.new_status is CertificateStatus.ACCOUNTING
