"""The headers of every API answer, on the production path (Function URL events into ``app.url_handler``): personal
data is never stored by a cache (``Cache-Control: no-store`` on every answer to a caller with a token and on every
route that needs one), nothing is sniffed as another type, and browsers keep to HTTPS (HSTS)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.platform.auth import issue_local_token
from chalicelib.platform.config import get_settings
from devtools.local_gateway import function_url_event

HSTS = "max-age=63072000; includeSubDomains"
ORIGIN = "http://127.0.0.1:8080"


def answer(method: str, path: str, headers: dict[str, str] | None = None, body: Any = None) -> dict[str, Any]:
    import app

    raw = None if body is None else json.dumps(body).encode()
    event = function_url_event(method, path, {"Content-Type": "application/json", **(headers or {})}, raw)
    result: dict[str, Any] = app.url_handler(event, None)
    return result


def bearer(**claims: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_local_token(get_settings(), claims)}"}


def assert_safe(response: dict[str, Any]) -> None:
    headers = response["headers"]
    assert headers["X-Content-Type-Options"] == "nosniff", headers
    assert headers["Strict-Transport-Security"] == HSTS, headers


@pytest.fixture
def parent(table_prefix: str) -> dict[str, str]:
    return bearer(role="parent", sub="parent-headers")


def test_an_authenticated_answer_is_never_stored_and_is_neither_sniffed_nor_sent_over_http(
    parent: dict[str, str],
) -> None:
    children = answer("GET", "/children", parent)
    assert children["statusCode"] == 200
    assert children["headers"]["Cache-Control"] == "no-store"
    assert_safe(children)
    for refused in (answer("GET", "/children"), answer("GET", "/certificates/1234567890", parent)):
        assert refused["statusCode"] >= 400
        assert refused["headers"]["Cache-Control"] == "no-store"
        assert_safe(refused)
    operator = bearer(role="operator", sub="op-headers", municipality="*")
    report = answer("GET", "/reports/quota?format=csv", operator)
    assert report["headers"]["Cache-Control"] == "no-store"
    assert_safe(report)


def test_a_public_answer_is_safe_and_personal_once_a_token_comes_with_it(parent: dict[str, str]) -> None:
    anonymous = answer("GET", "/programs")
    assert anonymous["statusCode"] == 200
    assert "Cache-Control" not in anonymous["headers"]
    assert_safe(anonymous)
    provider = bearer(role="provider", sub="prov-headers", provider_id="7707083893")
    with_token = answer("GET", "/programs", provider)
    assert with_token["headers"]["Cache-Control"] == "no-store"  # a provider sees its own drafts there
    assert_safe(with_token)


def test_the_adapters_own_answers_carry_the_same_headers(table_prefix: str) -> None:
    assert_safe(answer("GET", "/no/such/path"))
    assert_safe(answer("DELETE", "/children"))
    preflight = answer("OPTIONS", "/children", {"Origin": ORIGIN, "Access-Control-Request-Method": "POST"})
    assert_safe(preflight)
