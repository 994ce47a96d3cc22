"""`make bench`'s table and the side-by-side comparison of two runs: rendering only (pure, no engine, no timing)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from bench import report, suite
from bench.machine import Busy, LoadSummary, Machine
from bench.operations import OperationTrips
from bench.report import Figure, PartRun, Run

MACHINE = Machine(
    cpu_model="AMD EPYC",
    cores=2,
    memory_gib=23.5,
    os="Linux 6.18",
    python="3.11.7",
    java='openjdk version "17.0.15"',
    dynamodb_local="3.3.0 (2026-01-16)",
    git_commit="0123456789ab",
)
QUIET = Busy(seconds=60.0, machine=0.55, bench=0.52, load_average=1.1)
BALANCE = Figure("money core", "view (balance read)", "round trips", 1.0, "counted", False, "1 GetItem", True)
THROUGHPUT = Figure("money core", "top-up of 10000: throughput", "certificates/s", 600.0, "1 run", True)
RATIO = Figure("contracts", "charge via HTTP ÷ bare", "×", 1.62, "ratio of means", True, "≤ 1.5×", False)


def a_run(figures: list[Figure], started_at: str = "2026-11-25T17:11:23Z", **changes: object) -> Run:
    run = Run(
        command=".venv/bin/python -m bench.run",
        started_at=started_at,
        total_seconds=61.4,
        mode="quick",
        machine=MACHINE,
        load=LoadSummary(start=0.2, median=1.1, highest=1.6, end=1.2, samples=13),
        busy=QUIET,
        others_tolerated=0.10,
        parts=[PartRun("money core", 60.0, QUIET, False), PartRun("reports", 0.0, None, False, "not there yet")],
        figures=figures,
        notes=["a note"],
    )
    return replace(run, **changes)  # type: ignore[arg-type]


def row_of(text: str, name: str) -> list[str]:
    """The cells of the one table row naming ``name``."""
    [line] = [line for line in text.splitlines() if f"| {name} |" in line]
    return [cell.strip() for cell in line.strip("|").split("|")]


def section(text: str, heading: str) -> str:
    """The text under ``## heading``, up to the next heading."""
    return text.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]


@pytest.mark.parametrize(
    ("value", "shown"),
    [(1.0, "1"), (100_000, "100000"), (0.0404, "0.0404"), (612.34, "612.3"), (1.5349, "1.535"), (1234.6, "1235")],
)
def test_numbers_are_whole_when_whole_and_four_significant_digits_otherwise(value: float, shown: str) -> None:
    assert report.number(value) == shown


def test_the_table_has_one_row_per_figure_with_unit_value_target_and_whether_it_meets_it() -> None:
    text = report.markdown(a_run([BALANCE, THROUGHPUT, RATIO]))

    assert row_of(text, "view (balance read)") == [
        "money core", "view (balance read)", "round trips", "1", "counted", "1 GetItem", "yes", "",
    ]  # fmt: skip
    assert row_of(text, "charge via HTTP ÷ bare")[3:7] == ["1.62", "ratio of means", "≤ 1.5×", "**NO**"]
    assert row_of(text, "top-up of 10000: throughput")[5:7] == ["", ""]  # no target: nothing judged
    assert "Targets: 1 of 2 met. Not met: contracts: charge via HTTP ÷ bare." in text


def test_the_machine_and_the_load_during_the_run_head_the_report() -> None:
    text = report.markdown(a_run([BALANCE]))

    machine_row = row_of(text, "AMD EPYC")
    assert machine_row[1:] == ["2", "23.5 GiB", "Linux 6.18", "3.11.7", 'openjdk version "17.0.15"',
                               "3.3.0 (2026-01-16)", "0123456789ab"]  # fmt: skip
    assert text.index("AMD EPYC") < text.index("## Figures")
    assert "median 1.1, highest 1.6" in text
    assert "other work 3% (tolerated: 10%)" in text


def test_a_time_measured_on_a_disturbed_machine_is_marked_and_its_part_flagged() -> None:
    busy = Busy(seconds=60.0, machine=0.95, bench=0.50, load_average=3.1)
    run = a_run(
        [replace(THROUGHPUT, disturbed=True), BALANCE], parts=[PartRun("money core", 60.0, busy, disturbed=True)]
    )
    text = report.markdown(run)

    assert row_of(text, "top-up of 10000: throughput")[3] == "600 ⚠"
    assert row_of(text, "view (balance read)")[3] == "1"
    assert row_of(section(text, "Parts"), "money core")[1:] == ["60", "95%", "50%", "45%", "DISTURBED"]


def test_a_part_not_measured_says_why() -> None:
    text = report.markdown(a_run([BALANCE]))

    assert row_of(section(text, "Parts"), "reports")[-1] == "not measured: not there yet"


def test_figures_without_targets_claim_none_met() -> None:
    assert "No target applies to these figures." in report.markdown(a_run([THROUGHPUT]))


def test_a_run_saved_as_json_loads_back_equal(tmp_path: Path) -> None:
    run = a_run([BALANCE, replace(THROUGHPUT, disturbed=True)], details={"money": {"topups": [{"segments": 1}]}})

    json_path, md_path = report.save(run, tmp_path)

    assert (json_path.name, md_path.name) == ("20261125T171123.json", "20261125T171123.md")
    assert report.load(json_path) == run
    assert md_path.read_text() == report.markdown(run)


def test_a_json_file_that_is_not_a_saved_run_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"command": "x", "operations": []}))

    with pytest.raises(ValueError, match="not a benchmark run"):
        report.load(other)


def test_comparison_shows_times_relative_and_exact_figures_as_differences() -> None:
    a = a_run([BALANCE, THROUGHPUT])
    b = a_run([replace(BALANCE, value=2.0, meets=False), replace(THROUGHPUT, value=660.0)])

    text = report.compare(a, b)

    assert row_of(text, "top-up of 10000: throughput")[3:6] == ["600", "660", "+10%"]
    assert row_of(text, "view (balance read)")[3:] == ["1", "2", "+1", "1 GetItem", "yes / **NO**"]
    assert row_of(report.compare(a, a), "view (balance read)")[5] == "same"


def test_comparison_lists_figures_of_one_run_only_with_a_dash() -> None:
    only_b = Figure("catalog", "5000 programs: first page p50", "ms", 18.7, "median of 50", True)
    text = report.compare(a_run([BALANCE]), a_run([BALANCE, only_b]))

    assert row_of(text, "5000 programs: first page p50")[3:] == ["—", "18.7", "", "", ""]
    assert row_of(report.compare(a_run([BALANCE]), a_run([])), "view (balance read)")[3:] == [
        "1", "—", "", "1 GetItem", "yes / —",
    ]  # fmt: skip


def test_comparison_puts_the_machines_side_by_side_and_points_at_what_differs() -> None:
    a = a_run([THROUGHPUT])
    b = a_run([replace(THROUGHPUT, disturbed=True)], machine=replace(MACHINE, git_commit="fedcba987654 + changes"))

    text = report.compare(a, b)

    assert row_of(text, "git_commit")[1:] == ["0123456789ab", "fedcba987654 + changes ≠"]
    assert row_of(text, "cpu_model")[1:] == ["AMD EPYC", "AMD EPYC"]
    assert row_of(text, "top-up of 10000: throughput")[4] == "600 ⚠"


def test_round_trips_meet_the_design_target_only_with_the_operations_it_names() -> None:
    one_get = OperationTrips("view (balance read)", "cached", 20, 1.0, {"GetItem": 1.0}, "1 GetItem")
    one_query = replace(one_get, breakdown={"Query": 1.0})
    enrol = OperationTrips("enrol", "cached", 20, 2.0, {"TransactGetItems": 1.0, "TransactWriteItems": 1.0}, "")
    enrol_reading_twice = replace(enrol, per_operation=3.0, breakdown={"GetItem": 2.0, "TransactWriteItems": 1.0})

    assert suite.trip_figure("money core", one_get).meets is True
    assert suite.trip_figure("money core", one_query).meets is False
    assert suite.trip_figure("contracts", enrol).meets is True
    assert suite.trip_figure("contracts", enrol_reading_twice).meets is False
    # A cold function also reads the calendar: the design's target is the warm one's.
    assert suite.trip_figure("money core", replace(one_get, calendar="cold")).target == ""


def test_figures_of_an_unknown_shape_become_rows_named_by_their_keys() -> None:
    rows = suite.flattened(
        {
            "machine": {"cores": 2},
            "consumer": {"records_per_second": 5400.5, "applied": 600_000},
            "reports": [{"name": "municipality", "p50_ms": 12.5, "round_trips": 1, "cached": True}],
        }
    )

    assert [(f.name, f.unit, f.value, f.timed) for f in rows] == [
        ("consumer / records_per_second", "/s", 5400.5, True),
        ("consumer / applied", "", 600_000, False),
        ("reports / municipality / p50_ms", "ms", 12.5, True),
        ("reports / municipality / round_trips", "round trips", 1, False),
    ]
