"""The reports' domain, no I/O: what each change adds to which figure (domain.counting), how changes are packed
into exactly-once transactions (storage.counters), shares, rows and CSV (services.exports)."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import date

import pytest

from chalicelib.domain import errors
from chalicelib.domain.certificate import Certificate, CertificateStatus
from chalicelib.domain.contract import Contract, ContractStatus
from chalicelib.domain.counting import (
    DISPUTED,
    ENTRY_COUNTS,
    IN_USE,
    LIVING,
    ActiveContracts,
    ActiveMove,
    CertificateChanged,
    ChargeDimensions,
    ContractChanged,
    Contribution,
    Dimensions,
    DisputeChanged,
    EntryCount,
    EntryPosted,
    Figure,
    MissingDimension,
    Registry,
    Spending,
    Totals,
    contribution,
)
from chalicelib.domain.ids import CertificateId, ContractId, PeriodId, ProviderId
from chalicelib.domain.ledger import EntryKind, LedgerEntry
from chalicelib.domain.money import roubles
from chalicelib.domain.objection import Objection, ObjectionStatus
from chalicelib.domain.reports import (
    CoverageRow,
    GroupBy,
    SpendingRow,
    merge_spending,
    region_row,
    share,
)
from chalicelib.services.exports import coverage_csv, spending_csv
from chalicelib.storage.counters import plan

CERTIFICATE = CertificateId("1000000009")
CONTRACT = ContractId(f"{CERTIFICATE}-0123456789ab")
ROBOTS = ChargeDimensions("7707083893", "Центр «Вулкан»", "prg-1", "Робототехника", "technical")
DIMENSIONS = Dimensions({CERTIFICATE: "elizovo"}, {CONTRACT: ROBOTS})
TOTALS = Totals("2027", "elizovo")


def entry(kind: str, amount: int = 100_000, key: str | None = None, month: str | None = "2027-03") -> EntryPosted:
    return EntryPosted(
        LedgerEntry(
            certificate_id=CERTIFICATE,
            entry_key=key or f"{kind}#x",
            kind=EntryKind(kind),
            period_id=PeriodId("2027"),
            amount=amount,
            posted="2027-03-31T00:00:00.000000Z#000",
            contract_id=CONTRACT,
            month=month,
        )
    )


def certificate(status: str) -> Certificate:
    return Certificate(
        CERTIFICATE, CertificateStatus(status), "parent", "elizovo", "Мария", date(2015, 1, 2), date(2033, 1, 2), "t"
    )


def contract(status: str) -> Contract:
    return Contract(
        contract_id=CONTRACT,
        certificate_id=CERTIFICATE,
        guardian_sub="parent",
        provider_id=ProviderId("7707083893"),
        program_id="prg-1",
        program_title="Робототехника",
        period_id=PeriodId("2027"),
        municipality="elizovo",
        status=ContractStatus(status),
        price_per_month=90_000,
        months=["2027-03"],
        hold_amount=90_000,
        remaining_hold=90_000,
        funded=True,
        created_at="t",
        respond_by="t",
    )


def objection(status: str) -> Objection:
    return Objection(
        objection_id="o-1",
        contract_id=CONTRACT,
        certificate_id=CERTIFICATE,
        month="2027-03",
        amount=90_000,
        period_id=PeriodId("2027"),
        provider_id=ProviderId("7707083893"),
        program_id="prg-1",
        program_title="Робототехника",
        municipality="elizovo",
        guardian_sub="parent",
        status=ObjectionStatus(status),
        reason="r",
        filed_at="t",
        charged_at="t",
    )


def added(change: object) -> dict[Figure, dict[str, int]]:
    found = contribution(change, DIMENSIONS)  # type: ignore[arg-type]
    assert found is not None
    return {address: dict(amounts) for address, amounts in found.counters.items()}


# --- what a change adds ----------------------------------------------------------------------------------------------


def test_a_credit_counts_a_funded_certificate_and_its_money_in_the_childs_municipality() -> None:
    assert added(entry("credit", 1_000_000, month=None)) == {TOTALS: {"funded": 1, "credited_kopecks": 1_000_000}}


def test_an_expiry_counts_the_money_left_at_the_rollover() -> None:
    assert added(entry("expire", 35_000, month=None)) == {
        TOTALS: {"expired_certificates": 1, "expired_kopecks": 35_000}
    }


def test_a_charge_is_spending_of_its_provider_program_direction_and_month_of_service() -> None:
    found = contribution(entry("charge", 90_000), DIMENSIONS)
    assert found is not None and found.marker == f"ledger#{CERTIFICATE}#charge#x"
    one = {"charges": 1, "charged_kopecks": 90_000}
    assert {a: dict(c) for a, c in found.counters.items()} == {
        TOTALS: one,
        Spending("2027", GroupBy.PROVIDER, "elizovo", "7707083893"): one,
        Spending("2027", GroupBy.PROGRAM, "elizovo", "prg-1"): one,
        Spending("2027", GroupBy.DIRECTION, "elizovo", "technical"): one,
        Spending("2027", GroupBy.MONTH, "elizovo", "2027-03"): one,
    }
    assert found.labels[Spending("2027", GroupBy.PROVIDER, "elizovo", "7707083893")] == {"label": "Центр «Вулкан»"}


@pytest.mark.parametrize("kind", ["reversal", "reversal_expired"])
def test_a_reversal_unspends_where_the_charge_was_spent(kind: str) -> None:
    counters = added(entry(kind, 90_000))
    assert counters[TOTALS] == {"reversals": 1, "reversed_kopecks": 90_000}
    assert counters[Spending("2027", GroupBy.MONTH, "elizovo", "2027-03")] == counters[TOTALS]


def test_holds_and_releases_add_nothing_and_need_no_marker() -> None:
    assert contribution(entry("hold"), DIMENSIONS) is None
    assert contribution(entry("release"), DIMENSIONS) is None


def test_a_merge_moves_credited_money_between_municipalities_without_counting_a_funding() -> None:
    assert added(entry("transfer_in", 500, month=None)) == {TOTALS: {"credited_kopecks": 500}}
    assert added(entry("transfer_out", 500, month=None)) == {TOTALS: {"credited_kopecks": -500}}


def test_a_change_naming_an_unknown_certificate_or_contract_fails_the_batch_instead_of_guessing() -> None:
    unknown = replace(entry("credit", 1).entry, certificate_id=CertificateId("2000000008"))
    with pytest.raises(MissingDimension):
        contribution(EntryPosted(unknown), DIMENSIONS)
    with pytest.raises(MissingDimension):
        contribution(EntryPosted(replace(entry("charge", 1).entry, contract_id=ContractId("other"))), DIMENSIONS)


def test_the_registry_counts_living_certificates_and_forgets_closed_ones() -> None:
    issued = CertificateChanged("c#1", None, certificate("accounting"))
    assert added(issued) == {Registry("elizovo"): {"certificates": 1}}
    funded = CertificateChanged("c#2", certificate("accounting"), certificate("funded"))
    assert contribution(funded, DIMENSIONS) is None
    closed = CertificateChanged("c#3", certificate("frozen"), certificate("closed"))
    assert added(closed) == {Registry("elizovo"): {"certificates": -1}}


def test_a_contract_entering_the_active_set_moves_its_certificates_count() -> None:
    accepted = ContractChanged("k#1", contract("requested"), contract("active"))
    found = contribution(accepted, DIMENSIONS)
    assert found is not None
    assert found.active == ActiveMove(ActiveContracts(CERTIFICATE, "2027"), 1, TOTALS)
    charged = ContractChanged("k#2", contract("active"), replace(contract("active"), charges={"2027-03": 90_000}))
    assert contribution(charged, DIMENSIONS) is None


def test_an_objection_disputes_its_charge_until_it_is_decided() -> None:
    opened = DisputeChanged(None, objection("open"))
    closed = DisputeChanged(objection("open"), objection("rejected"))
    assert added(opened)[TOTALS] == {"disputes": 1, "disputed_kopecks": 90_000}
    assert added(closed)[TOTALS] == {"disputes": -1, "disputed_kopecks": -90_000}
    assert opened.marker != closed.marker


# --- packing into transactions ---------------------------------------------------------------------------------------


def credit(number: int, municipality_items: int = 1) -> Contribution:
    found = Contribution(f"m{number}")
    found.add(Totals("2027", f"mo{number % municipality_items}"), funded=1, credited_kopecks=10)
    return found


def test_groups_hold_at_most_the_item_limit_and_keep_the_order() -> None:
    contributions = [credit(i, municipality_items=3) for i in range(250)]
    groups = plan(contributions, {}, max_items=100)
    assert all(g.items <= 100 for g in groups)
    assert [m for g in groups for m in g.markers] == [c.marker for c in contributions]
    # Markers are one item each; the three counters are shared by the whole group.
    assert [len(g.contributions) for g in groups] == [97, 97, 56]
    assert sum(g.counters[Totals("2027", "mo0")]["funded"] for g in groups) == 84


def activation(number: int, delta: int, certificate: str = CERTIFICATE) -> Contribution:
    return Contribution(f"k{number}", active=ActiveMove(ActiveContracts(certificate, "2027"), delta, TOTALS))


def test_a_certificate_counts_as_using_its_certificate_only_when_its_active_contracts_cross_zero() -> None:
    counter = ActiveContracts(CERTIFICATE, "2027")
    # Read as 0: +1 crosses, +1 does not, -1 does not, -1 crosses back.
    groups = plan([activation(1, 1), activation(2, 1), activation(3, -1), activation(4, -1)], {counter: 0})
    (group,) = groups
    assert group.guards[counter].expected == 0 and group.guards[counter].value == 0
    assert TOTALS not in group.counters  # +1 and -1 cancel out: nothing to add
    (first,) = plan([activation(1, 1), activation(2, 1)], {counter: 0})
    assert dict(first.counters[TOTALS]) == {"with_active_contract": 1}
    (second,) = plan([activation(3, -1)], {counter: 2})
    assert TOTALS not in second.counters and (second.guards[counter].expected, second.guards[counter].value) == (2, 1)


def test_a_count_split_over_two_groups_is_guarded_by_the_value_the_first_leaves() -> None:
    counter = ActiveContracts(CERTIFICATE, "2027")
    contributions = [activation(1, 1), *[credit(i + 10, 1) for i in range(3)], activation(2, 1)]
    groups = plan(contributions, {counter: 0}, max_items=4)
    guards = [g.guards[counter] for g in groups if counter in g.guards]
    assert [(g.expected, g.value) for g in guards] == [(0, 1), (1, 2)]


# --- shares, rows and CSV --------------------------------------------------------------------------------------------


def test_a_share_is_a_ratio_rounded_to_four_places_and_none_without_a_population() -> None:
    assert share(1, 3) == 0.3333
    assert share(2, 3) == 0.6667
    assert share(5, 0) is None and share(5, None) is None


def test_the_regional_row_sums_municipalities_and_the_populations_that_were_set() -> None:
    rows = [CoverageRow("a", 100, 80, 50, 20), CoverageRow("b", None, 10, 5, 1), CoverageRow("c", 50, 40, 30, 25)]
    region = region_row(rows, "*")
    assert (region.children_population, region.certificates, region.funded, region.with_active_contract) == (
        150,
        130,
        85,
        46,
    )
    assert region_row([CoverageRow("b", None, 1, 1, 1)], "*").shares["certificates"] is None


def test_roubles_are_exact_text_from_integer_kopecks() -> None:
    assert [roubles(k) for k in (0, 5, 100, 123_456_789, -1_050)] == ["0.00", "0.05", "1.00", "1234567.89", "-10.50"]


def test_spending_of_many_municipalities_merges_by_value_largest_first() -> None:
    rows = merge_spending(
        [
            ("p1", "Вулкан", {"charges": 2, "charged_kopecks": 200}),
            ("p2", "Техно", {"charges": 1, "charged_kopecks": 500, "reversals": 1, "reversed_kopecks": 100}),
            ("p1", "Вулкан", {"charges": 1, "charged_kopecks": 300, "disputes": 1, "disputed_kopecks": 300}),
        ]
    )
    assert [(r.value, r.charges, r.spent_kopecks, r.disputed_kopecks) for r in rows] == [
        ("p1", 3, 500, 300),
        ("p2", 1, 400, 0),
    ]


def test_the_csv_has_a_header_integer_kopecks_and_roubles_as_text() -> None:
    rows = [SpendingRow("2027-03", "2027-03", 2, 150_050, 1, 50_000, 1, 50_000)]
    text = spending_csv(GroupBy.MONTH, rows)
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert text.startswith("month,label,charges,charged_kopecks,")
    assert parsed == [
        {
            "month": "2027-03",
            "label": "2027-03",
            "charges": "2",
            "charged_kopecks": "150050",
            "reversals": "1",
            "reversed_kopecks": "50000",
            "spent_kopecks": "100050",
            "spent_roubles": "1000.50",
            "disputes": "1",
            "disputed_kopecks": "50000",
        }
    ]
    coverage = list(csv.DictReader(io.StringIO(coverage_csv([CoverageRow("elizovo", None, 3, 2, 1)]))))
    assert coverage[0]["share_funded"] == "" and coverage[0]["funded"] == "2"


def test_group_by_is_one_of_four_and_anything_else_is_a_validation_error() -> None:
    assert [GroupBy.parse(g) for g in ("provider", "program", "direction", "month")] == list(GroupBy)
    for bad in (None, "", "municipality", "PROVIDER"):
        with pytest.raises(errors.InvalidRequest):
            GroupBy.parse(bad)


def test_counters_that_cancel_out_in_a_group_are_not_written() -> None:
    opened = Contribution("a")
    opened.add(TOTALS, disputes=1)
    closed = Contribution("b")
    closed.add(TOTALS, disputes=-1)
    (group,) = plan([opened, closed], {})
    assert group.counters == {} and group.markers == ["a", "b"]


# --- every member of the enums the rules read is counted as something ------------------------------------------------


def test_every_ledger_entry_kind_counts_as_something_named() -> None:
    """A kind added to EntryKind and forgotten in the rules fails here (and raises when posted), never counting as
    nothing by accident: counting nothing is a rule of its own (EntryCount.NOTHING), for holds and releases."""
    assert set(ENTRY_COUNTS) == set(EntryKind)
    assert {kind for kind, counts in ENTRY_COUNTS.items() if counts is EntryCount.NOTHING} == {
        EntryKind.HOLD,
        EntryKind.RELEASE,
    }


def test_every_status_the_rules_read_is_named_in_their_tables() -> None:
    assert set(LIVING) == set(CertificateStatus) and [s for s, v in LIVING.items() if not v] == [
        CertificateStatus.CLOSED
    ]
    assert set(IN_USE) == set(ContractStatus) and [s for s, v in IN_USE.items() if v] == [ContractStatus.ACTIVE]
    assert set(DISPUTED) == set(ObjectionStatus) and [s for s, v in DISPUTED.items() if v] == [ObjectionStatus.OPEN]


def test_an_entry_of_a_kind_the_rules_do_not_know_fails_instead_of_counting_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delitem(ENTRY_COUNTS, EntryKind.EXPIRE)
    with pytest.raises(KeyError):
        contribution(entry("expire", 35_000, month=None), DIMENSIONS)


def test_the_stream_filters_follow_the_counting_rules() -> None:
    from chalicelib.storage.aggregates import STREAM_FILTERS

    kinds = STREAM_FILTERS["ledger"][0]["dynamodb"]["NewImage"]["kind"]["S"][0]["anything-but"]
    assert kinds == ["hold", "release"]
    assert STREAM_FILTERS["certificates"][1] == {"dynamodb": {"NewImage": {"status": {"S": ["closed"]}}}}
    assert STREAM_FILTERS["contracts"][0] == {"dynamodb": {"NewImage": {"status": {"S": ["active"]}}}}
    assert STREAM_FILTERS["objections"][1] == {"dynamodb": {"OldImage": {"status": {"S": ["open"]}}}}


def test_the_csv_writer_neutralises_every_formula_cell_and_keeps_numbers() -> None:
    from chalicelib.services.exports import Table, csv_text

    row = [
        "=1+1",
        "+7 4152",
        "-2+3+cmd|' /C calc'!A0",
        "@SUM(A1)",
        "\tx",
        "\rx",
        "-12.50",
        "12",
        -5,
        100,
        None,
        "Шахматы",
    ]
    written = next(csv.reader(io.StringIO(csv_text(Table(["c"] * len(row), [row])).split("\r\n", 1)[1])))
    assert written == [
        "'=1+1",
        "'+7 4152",
        "'-2+3+cmd|' /C calc'!A0",
        "'@SUM(A1)",
        "'\tx",
        "'\rx",
        "-12.50",
        "12",
        "-5",
        "100",
        "",
        "Шахматы",
    ]
