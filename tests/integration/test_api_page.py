"""The API's contract and its page, served by the app over DynamoDB Local's tables (moved from tests/unit, which has no
I/O: this test starts the app's stack)."""

from __future__ import annotations

import json

from chalice.test import Client

from functions.edge import openapi


def test_openapi_json_is_served_and_the_api_page_with_its_own_assets(api: Client) -> None:
    served = api.http.get("/openapi.json")
    assert served.status_code == 200
    assert served.headers["Content-Type"] == "application/json"
    assert json.loads(served.body) == openapi.document(local=True)

    page = api.http.get("/docs")
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    text = page.body.decode()
    assert "/docs/assets/swagger-ui-bundle.js" in text and "/openapi.json" in text
    assert "http" not in text.replace("/openapi.json", ""), "the page loads nothing from another site"

    script = api.http.get("/docs/assets/swagger-ui-bundle.js")
    assert script.status_code == 200
    assert script.headers["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle" in script.body
    style = api.http.get("/docs/assets/swagger-ui.css")
    assert style.headers["Content-Type"].startswith("text/css")
    missing = api.http.get("/docs/assets/..%2Fpackage.json")
    assert missing.status_code == 404
    assert json.loads(missing.body)["error"]["code"] == "not_found"
