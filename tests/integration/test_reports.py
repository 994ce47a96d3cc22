"""Operators' reports against DynamoDB Local.

A region is built through the services (periods, children, funding, contracts accepted, charged and cancelled,
objections upheld, rejected and open, a rollover); the local poller reads the tables' streams and the consumer keeps
the counters. Every figure is then checked against the same figure computed in the test straight from the tables
(a scan of certificates, ledger, contracts, programs and objections), never from the counters. Then the consumer is
made to see its records again — the same batch twice, overlapping batches, a crash half-way, two deliveries at once
— and the counters come out exactly as from one clean delivery.
"""

from __future__ import annotations

import csv
import io
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import boto3
import pytest

from chalicelib.domain import errors
from chalicelib.domain.actors import Principal, Role
from chalicelib.domain.objection import ObjectionDecision
from chalicelib.domain.period import Period
from chalicelib.platform.clock import SettableClock
from chalicelib.platform.notifications import Notice
from chalicelib.services import certificates, contracts, objections, periods, reports, streams
from chalicelib.services.context import Context
from chalicelib.services.rollover import run_topup
from chalicelib.storage import aggregates
from chalicelib.storage.counters import Group
from chalicelib.storage.models import ProgramRecord, table_name
from devtools.roundtrips import counting
from devtools.streams import StreamPoller
from functions import runtime
from functions.jobs import handlers as jobs
from functions.reports import shown
from infra.access import AGGREGATES
from tests.factories import approved_provider, program
from tests.helpers import table_contents
from tests.infra.access_log import AccessLog, not_allowed

REGION = Principal("op-region", Role.OPERATOR, municipality="*")
ELIZOVO = Principal("op-elizovo", Role.OPERATOR, municipality="elizovo")
MILKOVO = Principal("op-milkovo", Role.OPERATOR, municipality="milkovo")
VULKAN = Principal("prov-vulkan", Role.PROVIDER, provider_id="7707083893")
TEHNO = Principal("prov-tehno", Role.PROVIDER, provider_id="7736050003")
MUNICIPALITIES = ("elizovo", "milkovo", "vilyuchinsk")
NOMINAL = 3_000_000
GROUPS = ("provider", "program", "direction", "month")


class Quiet:
    """Notifications go nowhere (the reports do not read them)."""

    def publish(self, notices: Sequence[Notice]) -> None:
        pass


def parent(name: str) -> Principal:
    return Principal(f"parent-{name}", Role.PARENT)


def at(clock: SettableClock, day: date) -> None:
    clock.set(datetime(day.year, day.month, day.day, 0, 0, tzinfo=UTC))


def year(ctx: Context, number: int) -> Period:
    period = Period(
        str(number),
        date(number, 1, 1),
        date(number, 12, 31),
        NOMINAL,
        {"elizovo": 50, "milkovo": 50, "vilyuchinsk": 3},
        "Asia/Kamchatka",
    )
    periods.open_period(ctx, REGION, period)
    return period


def with_direction(program_id: str, direction: str) -> str:
    ProgramRecord(program_id=program_id, record="program").update(actions=[ProgramRecord.direction.set(direction)])
    return program_id


@dataclass
class World:
    certificates: dict[str, str] = field(default_factory=dict)  # child -> certificate number
    contracts: dict[str, str] = field(default_factory=dict)
    programs: dict[str, str] = field(default_factory=dict)


CHILDREN = (
    # child, municipality, funded
    ("anna", "elizovo", True),
    ("boris", "elizovo", True),
    ("vera", "elizovo", True),
    ("gleb", "elizovo", True),
    ("dasha", "elizovo", False),
    ("egor", "milkovo", True),
    ("zhenya", "milkovo", True),
    ("ilya", "milkovo", False),
    ("kira", "vilyuchinsk", False),
)


def build_world(ctx: Context, clock: SettableClock) -> World:
    """Periods 2027 and 2028; two providers, four programs; nine children in three municipalities; contracts that
    are requested, active, cancelled; charges in February and March; objections upheld, rejected and open; a frozen
    certificate."""
    world = World()
    period = year(ctx, 2027)
    year(ctx, 2028)
    approved_provider(VULKAN.provider_id or "", "elizovo")
    approved_provider(TEHNO.provider_id or "", "milkovo")
    world.programs = {
        "robots": program(period, VULKAN.provider_id or "", price=100_000, capacity=40),
        "painting": with_direction(program(period, VULKAN.provider_id or "", price=80_000), "arts"),
        "swimming": with_direction(
            program(period, TEHNO.provider_id or "", price=120_000, municipality="milkovo"), "physical_sports"
        ),
        "chess": with_direction(
            program(period, TEHNO.provider_id or "", price=0, municipality="milkovo"), "physical_sports"
        ),
    }
    at(clock, date(2027, 2, 10))
    for number, (name, municipality, funded) in enumerate(CHILDREN):
        born = date(2015 + number % 4, 1 + number, 3)
        certificate = certificates.register_child(ctx, parent(name), f"Ребёнок {name.title()}", born, municipality)
        world.certificates[name] = certificate.certificate_id
        if funded:
            certificates.fund(ctx, parent(name), certificate.certificate_id)

    def enrol(contract: str, child: str, program_name: str, provider: Principal | None) -> None:
        made = contracts.enrol(
            ctx, parent(child), world.certificates[child], world.programs[program_name], f"key-{contract}"
        )
        world.contracts[contract] = made.contract_id
        if provider is not None:
            contracts.accept(ctx, provider, made.contract_id)

    enrol("anna-robots", "anna", "robots", VULKAN)
    enrol("anna-painting", "anna", "painting", VULKAN)  # a second active contract: anna still counts once
    enrol("boris-swimming", "boris", "swimming", TEHNO)
    enrol("vera-robots", "vera", "robots", None)  # requested only: not active
    enrol("egor-swimming", "egor", "swimming", TEHNO)
    enrol("ilya-chess", "ilya", "chess", TEHNO)  # a free program: an accounting certificate uses it too
    enrol("gleb-painting", "gleb", "painting", VULKAN)
    charge = contracts.charge
    charge(ctx, VULKAN, world.contracts["anna-robots"], "2027-02", 100_000)
    charge(ctx, VULKAN, world.contracts["anna-painting"], "2027-02", 80_000)
    charge(ctx, TEHNO, world.contracts["boris-swimming"], "2027-02", 120_000)
    charge(ctx, TEHNO, world.contracts["egor-swimming"], "2027-02", 60_000)
    contracts.cancel(ctx, parent("boris"), world.contracts["boris-swimming"], "moved")  # leaves the active set
    upheld = objections.object_to_charge(ctx, parent("anna"), world.contracts["anna-robots"], "2027-02", "не было")
    rejected = objections.object_to_charge(ctx, parent("egor"), world.contracts["egor-swimming"], "2027-02", "дорого")
    objections.decide(ctx, ELIZOVO, upheld.objection_id, ObjectionDecision.UPHOLD, "занятий не было", Quiet())
    objections.decide(ctx, MILKOVO, rejected.objection_id, ObjectionDecision.REJECT, "занятия были", Quiet())
    at(clock, date(2027, 3, 5))
    charge(ctx, VULKAN, world.contracts["anna-robots"], "2027-03", 90_000)
    charge(ctx, TEHNO, world.contracts["egor-swimming"], "2027-03", 120_000)
    charge(ctx, VULKAN, world.contracts["gleb-painting"], "2027-03", 80_000)
    objections.object_to_charge(ctx, parent("gleb"), world.contracts["gleb-painting"], "2027-03", "болел")  # stays open
    certificates.freeze(ctx, MILKOVO, world.certificates["zhenya"], "проверка")  # frozen still holds a certificate
    return world


def as_json(report: reports.Report) -> dict[str, Any]:
    """The report as the API shows it (functions/reports.py)."""
    return shown(report).model_dump(mode="json")


# --- the figures, computed straight from the tables ------------------------------------------------------------------


def s(item: dict[str, Any], name: str) -> str | None:
    return item[name]["S"] if name in item else None


def n(item: dict[str, Any], name: str) -> int:
    return int(item[name]["N"]) if name in item else 0


@dataclass
class Expected:
    certificates: Counter[str]
    funded: Counter[tuple[str, str]]
    active: Counter[tuple[str, str]]
    expired: dict[tuple[str, str], tuple[int, int]]
    spending: dict[tuple[str, str, str, str], Counter[str]]  # (period, group, municipality, value) -> counters


def expected_from_tables() -> Expected:
    tables = table_contents()
    municipality = {s(c, "certificate_id"): s(c, "municipality") for c in tables["certificates"]}
    certificates_now = Counter(str(s(c, "municipality")) for c in tables["certificates"] if s(c, "status") != "closed")
    contracts_by_id = {s(k, "contract_id"): k for k in tables["contracts"]}
    direction = {s(p, "program_id"): s(p, "direction") for p in tables["programs"] if s(p, "record") == "program"}
    funded: Counter[tuple[str, str]] = Counter()
    expired: dict[tuple[str, str], tuple[int, int]] = {}
    spending: dict[tuple[str, str, str, str], Counter[str]] = {}

    def spend(period_id: str, certificate_id: str, contract_id: str, month: str, **amounts: int) -> None:
        contract = contracts_by_id[contract_id]
        values = {
            "provider": s(contract, "provider_id"),
            "program": s(contract, "program_id"),
            "direction": direction[s(contract, "program_id")],
            "month": month,
        }
        for group, value in values.items():
            key = (period_id, group, str(municipality[certificate_id]), str(value))
            spending.setdefault(key, Counter()).update(amounts)

    for entry in tables["ledger"]:
        period_id, certificate_id, kind = str(s(entry, "period_id")), str(s(entry, "certificate_id")), s(entry, "kind")
        where = (period_id, str(municipality[certificate_id]))
        if kind == "credit":
            funded[where] += 1
        elif kind == "expire":
            count, kopecks = expired.get(where, (0, 0))
            expired[where] = (count + 1, kopecks + n(entry, "amount"))
        elif kind == "charge" or kind in ("reversal", "reversal_expired"):
            contract_id, month, amount = str(s(entry, "contract_id")), str(s(entry, "month")), n(entry, "amount")
            if kind == "charge":
                spend(period_id, certificate_id, contract_id, month, charged=amount, charges=1)
            else:
                spend(period_id, certificate_id, contract_id, month, reversed=amount, reversals=1)
    for objection in tables["objections"]:
        if s(objection, "status") == "open":
            certificate_id = str(s(objection, "certificate_id"))
            spend(
                str(s(objection, "period_id")),
                certificate_id,
                str(s(objection, "contract_id")),
                str(s(objection, "month")),
                disputed=n(objection, "amount"),
                disputes=1,
            )
    active_pairs = {
        (str(s(k, "period_id")), str(municipality[s(k, "certificate_id")]), s(k, "certificate_id"))
        for k in tables["contracts"]
        if s(k, "status") == "active"
    }
    active = Counter((period_id, where) for period_id, where, _ in active_pairs)
    return Expected(certificates_now, funded, active, expired, spending)


# --- fixtures --------------------------------------------------------------------------------------------------------


@pytest.fixture
def poller(ctx: Context) -> StreamPoller:
    """Reads what is written from now on and applies it with the consumer."""
    aggregates.forget_cache()
    return StreamPoller(lambda records: streams.consume(ctx, records), start="latest")


@pytest.fixture
def world(ctx: Context, clock: SettableClock, poller: StreamPoller) -> World:
    built = build_world(ctx, clock)
    assert poller.drain() > 0
    return built


# --- coverage --------------------------------------------------------------------------------------------------------


def test_coverage_of_each_municipality_counts_certificates_funded_and_active_contracts_as_the_tables_do(
    ctx: Context, world: World
) -> None:
    expected = expected_from_tables()
    for municipality in MUNICIPALITIES:
        report = as_json(reports.coverage(ctx, REGION, "2027", municipality))
        assert report["certificates"] == expected.certificates[municipality]
        assert report["funded"] == expected.funded[("2027", municipality)]
        assert report["with_active_contract"] == expected.active[("2027", municipality)]
    # What the world was built to show, told apart: anna has two active contracts and counts once, boris cancelled,
    # vera's request was never accepted, ilya's accounting certificate uses a free program, zhenya is frozen.
    elizovo = as_json(reports.coverage(ctx, ELIZOVO, "2027", None))
    assert (elizovo["certificates"], elizovo["funded"], elizovo["with_active_contract"]) == (5, 4, 2)
    milkovo = as_json(reports.coverage(ctx, MILKOVO, "2027", None))
    assert (milkovo["certificates"], milkovo["funded"], milkovo["with_active_contract"]) == (3, 2, 2)


def test_the_regional_coverage_sums_every_municipality_and_lists_each(ctx: Context, world: World) -> None:
    expected = expected_from_tables()
    report = as_json(reports.coverage(ctx, REGION, "2027", None))
    assert report["municipality"] == "*"
    assert report["certificates"] == sum(expected.certificates.values())
    assert report["funded"] == sum(v for (p, _), v in expected.funded.items() if p == "2027")
    assert report["with_active_contract"] == sum(v for (p, _), v in expected.active.items() if p == "2027")
    rows = {row["municipality"]: row for row in report["municipalities"]}
    assert set(rows) == set(MUNICIPALITIES)
    assert [rows[m]["certificates"] for m in MUNICIPALITIES] == [expected.certificates[m] for m in MUNICIPALITIES]


def test_shares_are_taken_of_the_population_an_operator_sets_for_the_period(ctx: Context, world: World) -> None:
    expected = expected_from_tables()
    before = as_json(reports.coverage(ctx, ELIZOVO, "2027", None))
    assert before["children_population"] is None
    assert before["shares"] == {"certificates": None, "funded": None, "with_active_contract": None}
    reports.set_population(ctx, ELIZOVO, "2027", {"elizovo": 40})
    reports.set_population(ctx, REGION, "2027", {"milkovo": 30, "vilyuchinsk": 7})
    report = as_json(reports.coverage(ctx, REGION, "2027", None))
    assert report["children_population"] == 77
    total = sum(expected.certificates.values())
    assert report["shares"]["certificates"] == round(total / 77, 4)
    rows = {row["municipality"]: row for row in report["municipalities"]}
    assert rows["elizovo"]["shares"] == {
        "certificates": round(expected.certificates["elizovo"] / 40, 4),
        "funded": round(expected.funded[("2027", "elizovo")] / 40, 4),
        "with_active_contract": round(expected.active[("2027", "elizovo")] / 40, 4),
    }
    assert reports.populations(ctx, REGION, "2027") == {"elizovo": 40, "milkovo": 30, "vilyuchinsk": 7}


def test_a_population_is_set_by_an_operator_of_its_municipality_and_bad_input_writes_nothing(
    ctx: Context, world: World
) -> None:
    with pytest.raises(errors.Forbidden):
        reports.set_population(ctx, ELIZOVO, "2027", {"elizovo": 40, "milkovo": 30})
    with pytest.raises(errors.Forbidden):
        reports.set_population(ctx, parent("anna"), "2027", {"elizovo": 40})
    for bad in ({"elizovo": -1}, {"elizovo": 1.5}, {"elizovo": True}, {"Elizovo!": 3}, {}):
        with pytest.raises(errors.InvalidRequest):
            reports.set_population(ctx, REGION, "2027", bad)  # type: ignore[arg-type]
    with pytest.raises(errors.PeriodNotFound):
        reports.set_population(ctx, REGION, "1999", {"elizovo": 40})
    assert reports.populations(ctx, REGION, "2027") == {}


# --- spending --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("group", GROUPS)
def test_spending_by_each_grouping_is_what_the_ledger_and_the_open_objections_add_up_to(
    ctx: Context, world: World, group: str
) -> None:
    expected = expected_from_tables()
    for municipality in (*MUNICIPALITIES, "*"):
        report = as_json(reports.spending(ctx, REGION, "2027", municipality, group))
        wanted: dict[str, Counter[str]] = {}
        for (period_id, kind, where, value), amounts in expected.spending.items():
            if period_id == "2027" and kind == group and municipality in ("*", where):
                wanted.setdefault(value, Counter()).update(amounts)
        got = {
            row["key"]: (row["charged_kopecks"], row["reversed_kopecks"], row["disputed_kopecks"], row["charges"])
            for row in report["rows"]
        }
        assert got == {
            value: (a["charged"], a["reversed"], a["disputed"], a["charges"]) for value, a in wanted.items()
        }, municipality
        assert report["total"]["spent_kopecks"] == sum(a["charged"] - a["reversed"] for a in wanted.values())


def test_an_upheld_objection_unspends_and_an_open_one_is_disputed(ctx: Context, world: World) -> None:
    months = {row["key"]: row for row in as_json(reports.spending(ctx, ELIZOVO, "2027", None, "month"))["rows"]}
    # February: anna 100 000 (reversed) + 80 000, boris 120 000; March: anna 90 000 + gleb 80 000 (disputed).
    assert (months["2027-02"]["charged_kopecks"], months["2027-02"]["reversed_kopecks"]) == (300_000, 100_000)
    assert months["2027-02"]["spent_kopecks"] == 200_000
    assert (months["2027-03"]["spent_kopecks"], months["2027-03"]["disputed_kopecks"]) == (170_000, 80_000)
    milkovo = as_json(reports.spending(ctx, MILKOVO, "2027", None, "provider"))
    # A rejected objection is no longer disputed and reverses nothing.
    assert milkovo["total"]["disputed_kopecks"] == 0
    assert milkovo["total"]["spent_kopecks"] == 60_000 + 120_000


def test_spending_rows_carry_names_and_the_csv_has_a_header_and_integer_kopecks(ctx: Context, world: World) -> None:
    report = reports.spending(ctx, REGION, "2027", None, "program")
    labels = {row.value: row.label for row in report.rows}
    assert labels[world.programs["robots"]] == "Робототехника"
    lines = list(csv.DictReader(io.StringIO(report.csv())))
    assert [line["program"] for line in lines] == [row.value for row in report.rows] + ["*"]
    total = lines[-1]
    assert int(total["spent_kopecks"]) == report.total.spent_kopecks
    assert total["spent_roubles"] == f"{report.total.spent_kopecks // 100}.{report.total.spent_kopecks % 100:02d}"
    coverage_lines = list(csv.DictReader(io.StringIO(reports.coverage(ctx, REGION, "2027", None).csv())))
    assert [line["municipality"] for line in coverage_lines] == [*MUNICIPALITIES, "*"]


# --- quota and the rollover ------------------------------------------------------------------------------------------


def test_the_quota_used_is_the_funded_certificates_of_each_municipality(ctx: Context, world: World) -> None:
    expected = expected_from_tables()
    report = as_json(reports.quota_used(ctx, REGION, "2027", None))
    rows = {row["municipality"]: row for row in report["municipalities"]}
    for municipality in MUNICIPALITIES:
        assert rows[municipality]["funded"] == expected.funded[("2027", municipality)]
    assert rows["elizovo"]["share_used"] == round(expected.funded[("2027", "elizovo")] / 50, 4)
    assert report["funded"] == sum(v for (p, _), v in expected.funded.items() if p == "2027")
    assert as_json(reports.quota_used(ctx, ELIZOVO, "2027", None))["remaining"] == 50 - 4
    lines = list(csv.DictReader(io.StringIO(reports.quota_used(ctx, REGION, "2027", None).csv())))
    assert [(line["municipality"], int(line["funded"])) for line in lines] == [
        *((m, expected.funded[("2027", m)]) for m in MUNICIPALITIES),
        ("*", report["funded"]),
    ]


def test_money_expired_at_the_rollover_and_the_new_period_are_counted_from_the_top_up(
    ctx: Context, clock: SettableClock, world: World, poller: StreamPoller
) -> None:
    none_yet = as_json(reports.expired_at_last_rollover(ctx, REGION, None))
    assert (none_yet["expired_period_id"], none_yet["expired_kopecks"]) == (None, 0)
    clock.set(datetime(2027, 12, 31, 12, 0, 5, tzinfo=UTC))  # 2028-01-01 00:00:05 in Kamchatka
    assert run_topup(ctx, "2028", 60.0)
    poller.drain()
    expected = expected_from_tables()
    report = as_json(reports.expired_at_last_rollover(ctx, REGION, None))
    assert report["expired_period_id"] == "2027"
    assert report["expired_kopecks"] == sum(k for (p, _), (_, k) in expected.expired.items() if p == "2027")
    rows = {row["municipality"]: row for row in report["municipalities"]}
    for (period_id, municipality), (count, kopecks) in expected.expired.items():
        assert (rows[municipality]["expired_certificates"], rows[municipality]["expired_kopecks"]) == (count, kopecks)
    assert report["expired_kopecks"] > 0
    total = list(csv.DictReader(io.StringIO(reports.expired_at_last_rollover(ctx, REGION, None).csv())))[-1]
    assert (total["municipality"], int(total["expired_kopecks"])) == ("*", report["expired_kopecks"])
    coverage_2028 = as_json(reports.coverage(ctx, REGION, None, None))  # the running period, now 2028
    assert coverage_2028["period_id"] == "2028"
    assert coverage_2028["funded"] == sum(v for (p, _), v in expected.funded.items() if p == "2028")
    # The rollover ends the contracts of funded certificates; ilya's free one (an accounting certificate) is left.
    left = as_json(reports.coverage(ctx, REGION, "2027", None))["with_active_contract"]
    assert left == sum(v for (p, _), v in expected.active.items() if p == "2027") == 1


# --- who sees what ---------------------------------------------------------------------------------------------------


def test_an_operator_sees_their_municipality_a_regional_operator_any_and_nobody_else_anything(
    ctx: Context, world: World
) -> None:
    assert reports.coverage(ctx, ELIZOVO, "2027", "elizovo").total.municipality == "elizovo"
    assert reports.coverage(ctx, REGION, "2027", "milkovo").total.municipality == "milkovo"
    refused: list[Callable[[], Any]] = [
        lambda: reports.coverage(ctx, ELIZOVO, "2027", "milkovo"),
        lambda: reports.coverage(ctx, ELIZOVO, "2027", "*"),
        lambda: reports.spending(ctx, ELIZOVO, "2027", "milkovo", "provider"),
        lambda: reports.quota_used(ctx, MILKOVO, "2027", "elizovo"),
        lambda: reports.expired_at_last_rollover(ctx, ELIZOVO, "*"),
        lambda: reports.coverage(ctx, parent("anna"), "2027", "elizovo"),
        lambda: reports.spending(ctx, VULKAN, "2027", None, "provider"),
    ]
    for attempt in refused:
        with pytest.raises(errors.Forbidden):
            attempt()
    with pytest.raises(errors.InvalidRequest):
        reports.spending(ctx, REGION, "2027", None, "colour")
    with pytest.raises(errors.InvalidRequest):
        reports.coverage(ctx, REGION, "2027", "Bad Name")
    with pytest.raises(errors.PeriodNotFound):
        reports.coverage(ctx, REGION, "2031", None)


# --- round trips -----------------------------------------------------------------------------------------------------


def report_round_trips(ctx: Context) -> dict[str, dict[str, int]]:
    ctx.calendar.ttl = 3600  # a warm function keeps the calendar
    ctx.calendar.periods()
    calls: dict[str, Callable[[], Any]] = {
        "coverage of a municipality": lambda: reports.coverage(ctx, ELIZOVO, "2027", None),
        "coverage of the region": lambda: reports.coverage(ctx, REGION, "2027", None),
        "spending of a municipality": lambda: reports.spending(ctx, ELIZOVO, "2027", None, "program"),
        "spending of the region": lambda: reports.spending(ctx, REGION, "2027", None, "provider"),
        "quota of a municipality": lambda: reports.quota_used(ctx, ELIZOVO, "2027", None),
        "quota of the region": lambda: reports.quota_used(ctx, REGION, "2027", None),
        "expiry of a municipality": lambda: reports.expired_at_last_rollover(ctx, ELIZOVO, None, "2027"),
        "expiry of the region": lambda: reports.expired_at_last_rollover(ctx, REGION, None, "2027"),
    }
    found = {}
    for name, call in calls.items():
        with counting() as trips:
            call()
        found[name] = dict(trips.calls)
    return found


def test_each_report_is_one_or_two_reads_of_counters_however_much_data_there_is(
    ctx: Context, clock: SettableClock, world: World, poller: StreamPoller
) -> None:
    small = report_round_trips(ctx)
    assert small == {
        "coverage of a municipality": {"BatchGetItem": 1},
        "coverage of the region": {"Query": 2},
        "spending of a municipality": {"Query": 1},
        "spending of the region": {"Query": 1},
        "quota of a municipality": {"GetItem": 1},
        "quota of the region": {"Query": 1},
        "expiry of a municipality": {"BatchGetItem": 1},
        "expiry of the region": {"Query": 1},
    }
    for number in range(12):  # four times the children, each funded and charged
        name = f"extra{number}"
        child = certificates.register_child(ctx, parent(name), "Ещё Ребёнок", date(2016, 1, 1 + number), "elizovo")
        certificates.fund(ctx, parent(name), child.certificate_id)
        made = contracts.enrol(ctx, parent(name), child.certificate_id, world.programs["robots"], "k")
        contracts.accept(ctx, VULKAN, made.contract_id)
        contracts.charge(ctx, VULKAN, made.contract_id, "2027-03", 100_000)
    poller.drain()
    assert report_round_trips(ctx) == small
    assert reports.coverage(ctx, ELIZOVO, "2027", None).total.funded == 4 + 12


# --- exactly once ----------------------------------------------------------------------------------------------------


def counters() -> dict[tuple[str, str], dict[str, int | str]]:
    """Every aggregate item but the markers and the poller's checkpoints, without its last-update stamp. A counter at
    zero is the same figure as one never written: a dispute opened and closed in one transaction adds nothing, in two
    it adds 1 then -1 (how changes are packed depends on the delivery)."""
    found = {}
    for scope, key, item in aggregate_items():
        if not scope.startswith(("~applied#", "~poller#")):
            figures = {k: v for k, v in item.items() if k not in ("scope", "key", "updated_at") and v != 0}
            found[(scope, key)] = figures
    return found


def aggregate_items() -> Iterator[tuple[str, str, dict[str, int | str]]]:
    client = boto3.client("dynamodb")
    for page in client.get_paginator("scan").paginate(TableName=table_name("aggregates"), ConsistentRead=True):
        for item in page["Items"]:
            plain = {k: int(v["N"]) if "N" in v else v.get("S", "") for k, v in item.items()}
            yield str(plain["scope"]), str(plain["key"]), plain


def forget_counters() -> None:
    client = boto3.client("dynamodb")
    for scope, key, _ in list(aggregate_items()):
        client.delete_item(TableName=table_name("aggregates"), Key={"scope": {"S": scope}, "key": {"S": key}})


@pytest.fixture
def delivered(ctx: Context, clock: SettableClock) -> tuple[list[dict[str, Any]], dict[Any, Any]]:
    """The world's stream records (collected, not applied), and the counters one clean delivery makes of them."""
    records: list[dict[str, Any]] = []
    collector = StreamPoller(records.extend, start="latest")
    aggregates.forget_cache()
    build_world(ctx, clock)
    collector.drain()
    outcome = streams.consume(ctx, records, max_items=10)
    assert outcome.applied > 0 and outcome.already_applied == 0
    clean = counters()
    assert clean
    forget_counters()
    return records, clean


class SimulatedCrash(Exception):
    """The consumer died here (Lambda's timeout, an out-of-memory kill)."""


def crash_after(groups: int) -> streams.Commit:
    written = 0

    def commit(group: Group) -> aggregates.Refused | None:
        nonlocal written
        if written == groups:
            raise SimulatedCrash()
        written += 1
        return aggregates.commit_group(group)

    return commit


def test_the_same_batch_delivered_twice_counts_once(ctx: Context, delivered: tuple[list[Any], Any]) -> None:
    records, clean = delivered
    first = streams.consume(ctx, records, max_items=10)
    again = streams.consume(ctx, records, max_items=10)
    assert again.applied == 0 and again.already_applied == first.applied
    assert counters() == clean


def test_overlapping_batches_count_each_change_once(ctx: Context, delivered: tuple[list[Any], Any]) -> None:
    records, clean = delivered
    third = len(records) // 3
    for start, end in ((0, 2 * third), (third, len(records)), (third // 2, third * 2 + 5)):
        streams.consume(ctx, records[start:end], max_items=10)
    assert counters() == clean


def test_a_consumer_that_crashed_half_way_finishes_the_batch_when_it_comes_again(
    ctx: Context, delivered: tuple[list[Any], Any]
) -> None:
    records, clean = delivered
    with pytest.raises(SimulatedCrash):
        streams.consume(ctx, records, max_items=10, commit=crash_after(3))
    assert counters() != clean  # three transactions were written, the rest was not
    again = streams.consume(ctx, records, max_items=10)
    assert again.already_applied > 0 and again.applied > 0
    assert counters() == clean


def test_two_deliveries_of_the_same_batch_at_once_count_it_once(ctx: Context, delivered: tuple[list[Any], Any]) -> None:
    records, clean = delivered
    outcomes: list[streams.Outcome] = []
    start = threading.Barrier(2)

    def deliver() -> None:
        start.wait()
        outcomes.append(streams.consume(ctx, records, max_items=10))

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(outcomes) == 2
    assert sum(o.applied for o in outcomes) == outcomes[0].applied + outcomes[0].already_applied
    assert counters() == clean


def passes(pattern: dict[str, Any], record: dict[str, Any]) -> bool:
    """Lambda's event filtering, for the parts of the pattern syntax the filters use."""
    for name, wanted in pattern.items():
        value = record.get(name)
        if isinstance(wanted, dict):
            if not isinstance(value, dict) or not passes(wanted, value):
                return False
        elif not any(
            value is not None and value not in option["anything-but"] if isinstance(option, dict) else value == option
            for option in wanted
        ):
            return False
    return True


def test_the_stream_filters_let_through_every_record_that_changes_a_figure(
    ctx: Context, delivered: tuple[list[dict[str, Any]], Any]
) -> None:
    records, clean = delivered
    kept = []
    for record in records:
        table = record["eventSourceARN"].split(":table/")[1].split("/")[0].removeprefix(ctx.settings.table_prefix)
        if any(passes(pattern, record) for pattern in aggregates.STREAM_FILTERS[table]):
            kept.append(record)
    assert len(kept) < len(records)  # writes that change no figure (holds, balances) never invoke the function
    streams.consume(ctx, kept, max_items=10)
    assert counters() == clean


# --- the Lambda function ---------------------------------------------------------------------------------------------


def test_the_aggregates_function_applies_a_lambda_event_and_sends_only_what_its_role_allows(
    ctx: Context, clock: SettableClock, table_prefix: str
) -> None:
    records: list[dict[str, Any]] = []
    collector = StreamPoller(records.extend, start="latest")
    aggregates.forget_cache()
    build_world(ctx, clock)
    collector.drain()
    runtime.context()  # the function's context binds the connections the log records
    with AccessLog(table_prefix).recording() as seen:
        answer = jobs.aggregates({"Records": records}, None)
        again = jobs.aggregates({"Records": records}, None)
    assert answer["applied"] > 0 and answer["already_applied"] == 0
    assert (again["applied"], again["already_applied"], again["transactions"]) == (0, answer["applied"], 0)
    assert not not_allowed(seen, AGGREGATES)
    assert reports.coverage(ctx, REGION, "2027", None).total.funded == 6
