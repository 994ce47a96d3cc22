"""The parents' voice over HTTP: objections and their decision, statements as CSV and PDF, duplicate children and
their merge. The rules themselves are tested against the services (test_objections, test_statements,
test_duplicates); here, the routes, their answers and their refusals."""

from __future__ import annotations

import csv
import io
from typing import Any

from chalice.test import Client

from tests.helpers import table_contents, without_idempotency
from tests.integration.test_contracts_http import PRICE, enrol, enrolled  # noqa: F401 - the fixture
from tests.integration.test_http import CHILD, call, payload, token


def charged_month(api: Client, world: dict[str, Any]) -> str:
    contract = payload(enrol(api, world))["id"]
    assert call(api, "POST", f"/contracts/{contract}/accept", None, world["provider"]).status_code == 200
    charge = {"month": "2027-03", "amount": PRICE}
    headers = {**world["provider"], "Idempotency-Key": "charge-march"}
    assert call(api, "POST", f"/contracts/{contract}/charges", charge, headers).status_code == 201
    return str(contract)


def balance(api: Client, world: dict[str, Any]) -> dict[str, int]:
    certificate = payload(call(api, "GET", f"/certificates/{world['certificate']}", None, world["parent"]))
    return dict(certificate["balance"])


def test_an_upheld_objection_returns_the_charge_and_the_provider_sees_it(
    api: Client,
    enrolled: dict[str, Any],  # noqa: F811 - the fixture
) -> None:
    contract = charged_month(api, enrolled)
    before = balance(api, enrolled)
    filed = call(
        api,
        "POST",
        f"/contracts/{contract}/charges/2027-03/objection",
        {"reason": "не было занятий"},
        enrolled["parent"],
    )
    assert filed.status_code == 201, filed.body
    objection = payload(filed)
    assert (objection["status"], objection["amount"]) == ("open", PRICE)

    provider_list = payload(call(api, "GET", "/objections", None, enrolled["provider"]))["objections"]
    assert [o["id"] for o in provider_list] == [objection["id"]]
    queue = payload(call(api, "GET", "/objections?municipality=elizovo", None, enrolled["region"]))["objections"]
    assert [o["id"] for o in queue] == [objection["id"]]

    decided = call(
        api,
        "POST",
        f"/objections/{objection['id']}/decision",
        {"decision": "uphold", "reason": "журнал пуст"},
        enrolled["region"],
    )
    assert decided.status_code == 200, decided.body
    assert payload(decided)["status"] == "upheld"
    after = balance(api, enrolled)
    assert after["spent"] == before["spent"] - PRICE
    assert after["available"] == before["available"] + PRICE
    assert after["credited"] == after["available"] + after["held"] + after["spent"] + after["expired"]


def test_objections_are_refused_to_strangers_and_twice_and_change_nothing(
    api: Client,
    enrolled: dict[str, Any],  # noqa: F811 - the fixture
) -> None:
    contract = charged_month(api, enrolled)
    path = f"/contracts/{contract}/charges/2027-03/objection"
    cases = [
        (enrolled["other_parent"], path, 404, "contract_not_found"),
        (enrolled["provider"], path, 403, "forbidden"),
        (enrolled["parent"], f"/contracts/{contract}/charges/2027-04/objection", 409, "not_charged"),
    ]
    for headers, where, status, code in cases:
        before = without_idempotency(table_contents())
        response = call(api, "POST", where, {"reason": "нет"}, headers)
        assert (response.status_code, payload(response)["error"]["code"]) == (status, code), (where, response.body)
        assert without_idempotency(table_contents()) == before

    assert call(api, "POST", path, {"reason": "нет"}, enrolled["parent"]).status_code == 201
    again = call(api, "POST", path, {"reason": "ещё раз"}, enrolled["parent"])
    assert (again.status_code, payload(again)["error"]["code"]) == (409, "already_objected")
    objection = f"{contract}-2027-03"
    decision = {"decision": "reject", "reason": "занятия были"}
    other_place = call(api, "POST", f"/objections/{objection}/decision", decision, enrolled["milkovo"])
    assert (other_place.status_code, payload(other_place)["error"]["code"]) == (403, "forbidden")
    assert call(api, "POST", f"/objections/{objection}/decision", decision, enrolled["region"]).status_code == 200
    late = call(api, "POST", f"/objections/{objection}/decision", decision, enrolled["region"])
    assert (late.status_code, payload(late)["error"]["code"]) == (409, "objection_decided")


def test_a_statement_downloads_as_csv_whose_totals_are_the_balance_and_as_a_pdf(
    api: Client,
    enrolled: dict[str, Any],  # noqa: F811 - the fixture
) -> None:
    charged_month(api, enrolled)
    path = f"/certificates/{enrolled['certificate']}/statement?period_id=2027"
    as_csv = call(api, "GET", path, None, enrolled["parent"])
    assert as_csv.status_code == 200, as_csv.body
    assert as_csv.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in as_csv.headers["Content-Disposition"]
    text = as_csv.body.decode("utf-8").lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(text)))
    assert any("charge" in row for row in rows)
    money = balance(api, enrolled)
    totals = {row[1]: int(row[2]) for row in rows if row and row[0] == "balance" and len(row) > 2 and row[2].isdigit()}
    for name in ("credited", "available", "held", "spent", "expired"):
        assert totals.get(name) == money[name], (name, totals)

    as_pdf = call(api, "GET", f"{path}&format=pdf", None, {**enrolled["parent"], "Accept": "application/pdf"})
    assert as_pdf.status_code == 200
    assert as_pdf.headers["Content-Type"] == "application/pdf"
    assert as_pdf.body.startswith(b"%PDF-")

    json_only = call(api, "GET", f"{path}&format=pdf", None, {**enrolled["parent"], "Accept": "application/json"})
    assert (json_only.status_code, payload(json_only)["error"]["code"]) == (406, "not_acceptable")

    stranger = call(api, "GET", path, None, enrolled["other_parent"])
    assert (stranger.status_code, payload(stranger)["error"]["code"]) == (404, "certificate_not_found")
    bad = call(api, "GET", f"{path}&format=docx", None, enrolled["parent"])
    assert (bad.status_code, payload(bad)["error"]["code"]) == (422, "validation_error")


def test_registering_a_child_twice_names_only_the_first_certificates_municipality_then_an_operator_merges(
    api: Client,
    enrolled: dict[str, Any],  # noqa: F811 - the fixture
) -> None:
    again = {**CHILD, "full_name": "  смирнова   АННА ", "municipality": "milkovo"}
    other_family = token(api, role="parent", sub="parent-3")
    before = without_idempotency(table_contents())
    refused = call(api, "POST", "/children", again, other_family)
    assert refused.status_code == 409
    error = payload(refused)["error"]
    assert (error["code"], error["details"]) == ("duplicate_child", {"municipality": "elizovo"})
    assert CHILD["full_name"] not in refused.body.decode() and enrolled["certificate"] not in refused.body.decode()
    assert without_idempotency(table_contents()) == before

    # A second spelling is not caught at registration; an operator merges it into the first certificate.
    spelling = {**CHILD, "full_name": "Смирнова Ана"}
    duplicate = payload(call(api, "POST", "/children", spelling, other_family))["certificate"]["id"]
    assert call(api, "POST", f"/certificates/{duplicate}/funding", None, other_family).status_code == 200
    moved = payload(call(api, "GET", f"/certificates/{duplicate}", None, other_family))["balance"]["available"]
    survivor_before = balance(api, enrolled)
    merge = {"into": enrolled["certificate"]}
    for who, status, code in ((other_family, 403, "forbidden"), (enrolled["milkovo"], 403, "forbidden")):
        response = call(api, "POST", f"/certificates/{duplicate}/merge", merge, who)
        assert (response.status_code, payload(response)["error"]["code"]) == (status, code)
    merged = call(api, "POST", f"/certificates/{duplicate}/merge", merge, enrolled["region"])
    assert merged.status_code == 200, merged.body
    answer = payload(merged)
    assert (answer["duplicate"]["status"], answer["moved"]) == ("closed", moved)
    assert balance(api, enrolled)["available"] == survivor_before["available"] + moved
    assert payload(call(api, "GET", f"/certificates/{duplicate}", None, other_family))["balance"]["available"] == 0
