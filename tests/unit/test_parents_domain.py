"""The rules of objections, duplicates, statements and notifications, without I/O."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber

from chalicelib.domain import errors
from chalicelib.domain.actors import Principal, Role
from chalicelib.domain.certificate import Balance, Certificate, CertificateStatus
from chalicelib.domain.contract import Contract, ContractStatus
from chalicelib.domain.duplicates import check_merge_allowed, child_identity, normalise_for_identity, plan_merge
from chalicelib.domain.ids import CertificateId, ContractId, PeriodId, ProviderId
from chalicelib.domain.ledger import EntryKind, LedgerEntry, apply, replay
from chalicelib.domain.money import roubles
from chalicelib.domain.objection import (
    BalanceEffect,
    check_window,
    objection_id,
    parse_objection_id,
    plan_reversal,
    require_reason,
)
from chalicelib.domain.statement import build
from chalicelib.platform import notifications
from chalicelib.platform.notifications import EventBridgeNotifier, LogNotifier, Notice
from chalicelib.services.exports import statement_csv
from chalicelib.services.statement_pdf import money_text

CONTRACT = "1000000009-0123456789ab"


# --- the ledger's new kinds keep I2 ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(EntryKind))
def test_every_kind_of_entry_keeps_the_balance_conserved(kind: EntryKind) -> None:
    start = Balance(credited=1000, available=400, held=300, spent=200, expired=100)
    after = apply(start, kind, 50)
    assert after.conserved and after != start


def test_a_reversal_takes_spent_back_to_available_or_expired_and_a_transfer_moves_a_credit() -> None:
    def entry(kind: EntryKind, amount: int) -> LedgerEntry:
        return LedgerEntry("1000000009", f"{kind.value}", kind, "2027", amount, "t")

    charged = [entry(EntryKind.CREDIT, 1000), entry(EntryKind.HOLD, 300), entry(EntryKind.CHARGE, 100)]
    assert replay([*charged, entry(EntryKind.REVERSAL, 100)])["2027"] == Balance(1000, 800, 200, 0, 0)
    assert replay([*charged, entry(EntryKind.REVERSAL_EXPIRED, 100)])["2027"] == Balance(1000, 700, 200, 0, 100)
    assert replay([*charged, entry(EntryKind.TRANSFER_OUT, 700)])["2027"] == Balance(300, 0, 200, 100, 0)
    assert replay([entry(EntryKind.TRANSFER_IN, 700)])["2027"] == Balance(700, 700, 0, 0, 0)


# --- objections ------------------------------------------------------------------------------------------------------


def test_an_objection_id_is_its_contract_and_month() -> None:
    assert parse_objection_id(objection_id(CONTRACT, "2027-03")) == (CONTRACT, "2027-03")
    for junk in ("", "2027-03", f"{CONTRACT}-2027-3", f"{CONTRACT}-2027-03x"):
        with pytest.raises(errors.ObjectionNotFound):
            parse_objection_id(junk)


def test_the_window_closes_the_given_number_of_days_after_the_charge() -> None:
    charged = datetime(2027, 3, 10, 12, tzinfo=UTC)
    check_window(charged, charged + timedelta(days=14), 14)
    with pytest.raises(errors.ObjectionWindowClosed):
        check_window(charged, charged + timedelta(days=14, seconds=1), 14)


def test_a_reason_is_required_and_bounded() -> None:
    assert require_reason("  занятий  не было ", "x") == "занятий не было"
    for bad in ("", "   ", None, "я" * 2001):
        with pytest.raises(errors.InvalidRequest):
            require_reason(bad, "x")


@pytest.mark.parametrize(
    ("status", "period", "kind", "effect"),
    [
        (CertificateStatus.FUNDED, "2027", EntryKind.REVERSAL, BalanceEffect.AVAILABLE),
        (CertificateStatus.CLOSED, "2027", EntryKind.REVERSAL_EXPIRED, BalanceEffect.EXPIRED),
        (CertificateStatus.ACCOUNTING, "2027", EntryKind.REVERSAL_EXPIRED, BalanceEffect.EXPIRED),
        (CertificateStatus.FUNDED, "2028", EntryKind.REVERSAL_EXPIRED, BalanceEffect.NONE),
    ],
)
def test_the_reversed_money_goes_to_available_only_while_its_period_runs_on_the_certificate(
    status: CertificateStatus, period: str, kind: EntryKind, effect: BalanceEffect
) -> None:
    plan = plan_reversal(status, period, "2027")
    assert (plan.kind, plan.effect) == (kind, effect)


def test_a_frozen_certificate_gets_no_reversal() -> None:
    with pytest.raises(errors.CertificateFrozen):
        plan_reversal(CertificateStatus.FROZEN, "2027", "2027")


# --- duplicates ------------------------------------------------------------------------------------------------------


def test_names_are_compared_folded_with_e_for_yo_and_one_space() -> None:
    assert normalise_for_identity("  ИВАНОВА\tАлёна  Сергеевна ") == "иванова алена сергеевна"
    assert normalise_for_identity("Римская‑Корсакова Ёлка") == "римская-корсакова елка"  # a non-breaking hyphen
    same = child_identity("41", "Иванова Алёна", date(2016, 4, 12))
    assert same == child_identity("41", "иванова  алена", date(2016, 4, 12))
    assert same != child_identity("41", "Иванова Алёна", date(2016, 4, 13))
    assert same != child_identity("27", "Иванова Алёна", date(2016, 4, 12))
    assert len(same) == 64 and "иванова" not in same


def test_merging_needs_an_operator_of_both_municipalities() -> None:
    check_merge_allowed(Principal("op", Role.OPERATOR, municipality="*"), "elizovo", "milkovo")
    check_merge_allowed(Principal("op", Role.OPERATOR, municipality="elizovo"), "elizovo", "elizovo")
    for actor in (Principal("op", Role.OPERATOR, municipality="elizovo"), Principal("p", Role.PARENT)):
        with pytest.raises(errors.Forbidden):
            check_merge_allowed(actor, "elizovo", "milkovo")


def certificate(
    number: str, status: CertificateStatus, balance: Balance, period_id: str | None = "2027"
) -> Certificate:
    return Certificate(
        certificate_id=CertificateId(number),
        status=status,
        guardian_sub="parent-1",
        municipality="elizovo",
        full_name="Мария Иванова",
        birth_date=date(2015, 6, 1),
        valid_until=date(2033, 6, 1),
        issued_at="2026-12-01T00:00:00.000000Z",
        period_id=None if period_id is None else PeriodId(period_id),
        balance=balance,
        version=3,
    )


def merge(dup_status: CertificateStatus, dup_balance: Balance, survivor_status: CertificateStatus) -> object:
    return plan_merge(certificate("1", dup_status, dup_balance), certificate("2", survivor_status, Balance()))


def test_a_merge_refuses_held_money_closed_or_frozen_sides_and_money_into_an_accounting_certificate() -> None:
    funded, accounting = CertificateStatus.FUNDED, CertificateStatus.ACCOUNTING
    with pytest.raises(errors.MergeRefused):
        merge(funded, Balance(1000, 700, 300, 0, 0), funded)
    with pytest.raises(errors.MergeRefused):
        merge(funded, Balance(1000, 1000, 0, 0, 0), accounting)
    for status in (CertificateStatus.CLOSED, CertificateStatus.FROZEN):
        with pytest.raises(errors.MergeRefused):
            merge(status, Balance(), funded)
        with pytest.raises(errors.MergeRefused):
            merge(funded, Balance(), status)
    funded_duplicate = certificate("1", funded, Balance(1000, 900, 0, 100, 0))
    plan = plan_merge(funded_duplicate, certificate("2", funded, Balance()))
    assert (plan.amount, plan.returns_quota_slot, plan.duplicate_version) == (900, True, 3)
    plan = plan_merge(certificate("1", accounting, Balance(), None), certificate("2", funded, Balance()))
    assert (plan.amount, plan.returns_quota_slot) == (0, False)


# --- statements ------------------------------------------------------------------------------------------------------


def test_amounts_are_written_exactly_without_floats() -> None:
    assert [roubles(k) for k in (0, 5, 100, 123456, 10**12 + 1)] == [
        "0.00",
        "0.05",
        "1.00",
        "1234.56",
        "10000000000.01",
    ]
    assert [money_text(k) for k in (0, 123456, 100000000)] == ["0,00", "1 234,56", "1 000 000,00"]


def test_the_statement_states_one_period_and_a_cell_never_runs_as_a_spreadsheet_formula() -> None:
    contract = Contract(
        contract_id=ContractId(CONTRACT),
        certificate_id=CertificateId("1000000009"),
        guardian_sub="parent-1",
        provider_id=ProviderId("7707083893"),
        program_id="prg-1",
        program_title='=HYPERLINK("http://x")',
        period_id=PeriodId("2027"),
        municipality="elizovo",
        status=ContractStatus.ACTIVE,
        price_per_month=100,
        months=["2027-03"],
        hold_amount=300,
        remaining_hold=300,
        funded=True,
        created_at="2027-03-01T13:00:00.000000Z",
        respond_by="2027-03-08T13:00:00.000000Z",
    )
    entries = [
        LedgerEntry("1", "credit#2027", EntryKind.CREDIT, "2027", 1000, "2027-01-01T00:00:00.000000Z#000"),
        LedgerEntry("1", "credit#2026", EntryKind.CREDIT, "2026", 7000, "2026-01-01T00:00:00.000000Z#000"),
        LedgerEntry("1", "hold#c", EntryKind.HOLD, "2027", 300, "2027-03-01T13:00:00.000000Z#000", CONTRACT),
    ]
    statement = build("1", "2027", entries, {CONTRACT: contract}, {"7707083893": "+Центр"}, "Asia/Kamchatka")
    assert [row.kind for row in statement.rows] == [EntryKind.CREDIT, EntryKind.HOLD]
    assert statement.rows[1].day == date(2027, 3, 2)  # 13:00 UTC is the next morning in Kamchatka
    assert statement.balance == Balance(1000, 700, 300, 0, 0)
    rows = list(csv.reader(io.StringIO(statement_csv(statement))))
    assert rows[2][6:8] == ["'+Центр", '\'=HYPERLINK("http://x")']


# --- notifications ---------------------------------------------------------------------------------------------------

NOTICE = Notice(notifications.CHARGE_MADE, "1000000009", None, {"contract_id": CONTRACT, "month": "2027-03"})


def events_client() -> object:
    return boto3.client("events", region_name="eu-central-1", aws_access_key_id="x", aws_secret_access_key="x")


def test_events_go_to_eventbridge_ten_to_a_call_with_the_bus_and_source_of_the_stage() -> None:
    client = events_client()
    notifier = EventBridgeNotifier("pfdo-prod-notifications", "pfdo.functions", lambda: client)
    entry = {
        "EventBusName": "pfdo-prod-notifications",
        "Source": "pfdo.functions",
        "DetailType": "ChargeMade",
        "Detail": json.dumps(NOTICE.detail(), separators=(",", ":")),
    }
    with Stubber(client) as stub:
        stub.add_response("put_events", {"FailedEntryCount": 0, "Entries": [{}] * 10}, {"Entries": [entry] * 10})
        stub.add_response("put_events", {"FailedEntryCount": 0, "Entries": [{}]}, {"Entries": [entry]})
        notifier.publish([NOTICE] * 11)
        stub.assert_no_pending_responses()


def test_refused_events_are_logged_and_counted_never_raised() -> None:
    client = events_client()
    notifier = EventBridgeNotifier("bus", "pfdo.functions", lambda: client)
    with Stubber(client) as stub:
        refused = {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "x"}]}
        stub.add_response("put_events", refused)
        stub.add_client_error("put_events", "AccessDeniedException")
        assert notifications.tell(notifier, [NOTICE]) is False
        assert notifications.tell(notifier, [NOTICE]) is False


def test_the_local_sink_writes_one_json_line_per_notice(tmp_path: Path) -> None:
    sink = tmp_path / "notices.jsonl"
    notifier = LogNotifier("pfdo.functions", str(sink), clock=lambda: datetime(2027, 3, 10, tzinfo=UTC))
    assert notifications.tell(notifier, [NOTICE, NOTICE])
    lines = [json.loads(line) for line in sink.read_text().splitlines()]
    assert (
        lines
        == [
            {
                "time": "2027-03-10T00:00:00Z",
                "source": "pfdo.functions",
                "detail-type": "ChargeMade",
                "detail": {
                    "certificate_id": "1000000009",
                    "guardian_sub": None,
                    "contract_id": CONTRACT,
                    "month": "2027-03",
                },
            }
        ]
        * 2
    )
