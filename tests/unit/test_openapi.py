"""The OpenAPI document: valid OpenAPI 3.1, every route of the table in it, every refusal code a real one, and served
at /openapi.json (every stage) with the API page at /docs (local stage) in the right content types."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate
from openapi_spec_validator.versions import consts, get_spec_version

from chalicelib.domain import errors
from functions.edge import http, openapi
from functions.edge.apidoc import describe, doc_of
from functions.edge.routes import ROUTES, Route, routes, view_of

ROOT = Path(__file__).resolve().parents[2]
HTTP_SOURCE = (ROOT / "functions" / "edge" / "http.py").read_text()


def domain_codes() -> dict[str, int]:
    """code -> status of every error class in chalicelib/domain/errors.py."""
    return {
        cls.code: cls.status
        for _, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, errors.DomainError) and cls is not errors.DomainError
    }


@pytest.fixture(scope="module", params=[True, False], ids=["local", "deployed"])
def document(request: pytest.FixtureRequest) -> dict[str, Any]:
    return openapi.document(local=request.param)


def operations(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        f"{method.upper()} {path}": operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
    }


def test_the_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1")
    assert get_spec_version(document) == consts.OPENAPIV31
    validate(document)


def test_every_route_the_stage_serves_is_documented_and_nothing_else() -> None:
    for local in (True, False):
        documented = operations(openapi.document(local=local))
        assert set(documented) == {route.key for route in routes(local=local)}
    assert not any(key.startswith(("POST /dev/", "GET /docs")) for key in operations(openapi.document(local=False)))


@pytest.mark.parametrize("route", ROUTES, ids=lambda route: route.key)
def test_every_view_describes_itself(route: Route) -> None:
    doc = doc_of(view_of(route))
    assert doc is not None, f"{route.view} has no @describe"
    assert doc.summary and doc.roles


def test_every_documented_refusal_code_is_an_error_of_the_domain_or_of_the_http_edge(
    document: dict[str, Any],
) -> None:
    known = domain_codes()
    edge = {http.Unavailable.code: http.Unavailable.status}
    for code in ("idempotency_key_required", "internal_error"):
        assert f'"{code}"' in HTTP_SOURCE, f"{code} is not answered by functions/edge/http.py"
    for key, operation in operations(document).items():
        for status, answer in operation["responses"].items():
            if int(status) < 400:
                continue
            codes = answer["content"]["application/json"]["schema"]["properties"]["error"]["properties"]["code"]["enum"]
            for code in codes:
                if code in ("idempotency_key_required", "internal_error"):
                    continue
                assert code in known or code in edge, f"{key} {status}: {code} is no error of the domain"
                assert {**known, **edge}[code] == int(status), f"{key}: {code} documented under {status}"


def refusals(document: dict[str, Any], key: str, status: int) -> set[str]:
    answer = operations(document)[key]["responses"][str(status)]
    return set(answer["content"]["application/json"]["schema"]["properties"]["error"]["properties"]["code"]["enum"])


def test_each_route_documents_its_own_refusals_and_the_edges_generic_ones() -> None:
    document = openapi.document(local=True)
    assert {"insufficient_funds", "no_seats", "age_mismatch", "already_enrolled", "not_certified"} <= refusals(
        document, "POST /contracts", 409
    )
    assert refusals(document, "POST /contracts", 400) == {"invalid_json", "idempotency_key_required"}
    assert {"over_hold", "month_charged", "not_active"} <= refusals(
        document, "POST /contracts/{contract_id}/charges", 409
    )
    assert "quota_exhausted" in refusals(document, "POST /certificates/{certificate_id}/funding", 409)
    assert refusals(document, "GET /children", 401) == {"unauthenticated"}
    assert refusals(document, "GET /certificates/{certificate_id}", 404) == {"not_found", "certificate_not_found"}
    # An Idempotency-Key may be reused only with the same request, and not while the first is still running.
    assert "idempotency_key_reused" in refusals(document, "POST /children", 422)
    assert "request_in_progress" in refusals(document, "POST /children", 409)
    # The public catalog needs no token, so it never answers 401 or 403; a program's page reads one if sent.
    catalog = operations(document)["GET /programs"]
    assert not {"401", "403"} & set(catalog["responses"]) and catalog["security"] == []
    assert operations(document)["GET /programs/{program_id}"]["security"] == [{}, {"bearer": []}]
    # A refusal that names facts (the municipality of the child's existing certificate) documents them.
    duplicate = operations(document)["POST /children"]["responses"]["409"]["content"]["application/json"]["schema"]
    assert duplicate["properties"]["error"]["properties"]["details"]["type"] == "object"
    busy = operations(document)["GET /children"]["responses"]["503"]
    assert "Retry-After" in busy["headers"]


def test_bodies_parameters_and_answers_come_from_the_views_models() -> None:
    document = openapi.document(local=True)
    schemas = document["components"]["schemas"]
    enrol = operations(document)["POST /contracts"]
    assert enrol["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/EnrolIn"}
    assert schemas["EnrolIn"]["required"] == ["certificate_id", "program_id"]
    assert schemas["EnrolIn"]["additionalProperties"] is False
    assert enrol["responses"]["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ContractOut"
    }
    header = next(p for p in enrol["parameters"] if p["in"] == "header")
    assert header["name"] == "Idempotency-Key" and header["required"] is True
    catalog = {p["name"]: p for p in operations(document)["GET /programs"]["parameters"]}
    assert set(catalog) == {"municipality", "direction", "age", "free_only", "certified_only", "q", "limit", "cursor"}
    assert catalog["limit"]["schema"]["maximum"] == 50 and catalog["age"]["schema"]["minimum"] == 5
    # The cancel body is optional (every field of it is); the top-up may answer 202 when its time ran out.
    assert operations(document)["POST /contracts/{contract_id}/cancel"]["requestBody"]["required"] is False
    assert {"200", "202"} <= set(operations(document)["POST /periods/{period_id}/topup"]["responses"])
    ledger = operations(document)["GET /certificates/{certificate_id}/ledger"]
    assert {p["name"]: p["in"] for p in ledger["parameters"]} == {
        "certificate_id": "path",
        "limit": "query",
        "cursor": "query",
    }


def test_a_media_type_chosen_by_format_documents_each_alternative() -> None:
    @describe(summary="A report", produces=("application/json", "text/csv", "application/pdf"), roles=("operator",))
    def report(call: http.Call) -> http.Reply:
        raise AssertionError("never called")

    route = Route("GET", "/reports/{period_id}", "reports:report")
    doc = doc_of(report)
    assert doc is not None
    content = openapi._successes(route, doc, {})["200"]["content"]
    assert content == {
        "application/json": {"schema": {"type": "object"}},
        "text/csv": {"schema": {"type": "string"}},
        "application/pdf": {"schema": {"type": "string", "format": "binary"}},
    }


def test_the_assets_are_those_of_the_pinned_package() -> None:
    pinned = json.loads((ROOT / "package.json").read_text())["dependencies"]["swagger-ui-dist"]
    lock = json.loads((ROOT / "package-lock.json").read_text())["packages"]["node_modules/swagger-ui-dist"]
    installed = json.loads((ROOT / "node_modules" / "swagger-ui-dist" / "package.json").read_text())["version"]
    assert pinned == lock["version"] == installed


# In a fresh interpreter: what importing the app loaded.
PROBE = """
import json, sys
import app
print(json.dumps(sorted(name for name in sys.modules if name.startswith("functions."))))
"""


def test_the_document_costs_a_cold_start_nothing() -> None:
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, cwd=ROOT)
    loaded = set(json.loads(result.stdout.strip().splitlines()[-1]))
    assert not loaded & {"functions.edge.openapi", "functions.edge.apidoc", "functions.docs"}
