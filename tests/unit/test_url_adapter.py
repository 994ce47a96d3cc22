"""The Function URL adapter: recorded v2 events in, what Chalice saw and the v2 responses out.

The events under tests/fixtures/function_url/ are Function URL requests (payload format 2.0) in the shape AWS sends
them. A small Chalice app echoes what it received; one test goes through the real app.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from chalice import BadRequestError, Chalice, Response

from functions import runtime
from functions.edge.url_adapter import compile_routes, find_route, make_handler, to_url_response

EVENTS = Path(__file__).resolve().parent.parent / "fixtures" / "function_url"
WEB = "https://navigator.example.ru"
CABINET = "https://cabinet.example.ru"


def recorded(name: str, **changes: Any) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    for key, value in changes.items():
        event[key] = value
    return event


def raw(body: str | bytes) -> bytes:
    return body.encode() if isinstance(body, str) else body


def echo_app() -> Chalice:
    """An app whose views answer with what Chalice handed them."""
    app = Chalice(app_name="echo")

    def seen(**params: str) -> dict[str, Any]:
        request = app.current_request
        assert request is not None
        query = request.query_params
        return {
            "method": request.method,
            "resource": request.path,
            "params": request.uri_params,
            "view_args": params,
            "query": {k: query.getlist(k) for k in query} if query is not None else None,
            "headers": dict(request.headers),
            "body": base64.b64encode(raw(request.raw_body)).decode(),
            "request_id": request.context["requestId"],
            "source_ip": request.context["identity"]["sourceIp"],
            "user_agent": request.context["identity"]["userAgent"],
            "stage_vars": request.stage_vars,
        }

    @app.route("/things/{thing_id}", methods=["GET", "PUT"])
    def thing(thing_id: str) -> dict[str, Any]:
        return {"route": "thing", **seen(thing_id=thing_id)}

    @app.route("/things/search")
    def search() -> dict[str, Any]:
        return {"route": "search", **seen()}

    @app.route("/things/{thing_id}/notes", methods=["POST"])
    def notes(thing_id: str) -> Response:
        request = app.current_request
        assert request is not None
        details = {"route": "notes", "json": request.json_body, **seen(thing_id=thing_id)}
        return Response(details, status_code=201, headers={"Content-Type": "application/json"})

    @app.route("/uploads", methods=["POST"], content_types=["application/octet-stream"])
    def upload() -> dict[str, Any]:
        request = app.current_request
        assert request is not None
        data = raw(request.raw_body)
        return {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}

    @app.route("/session")
    def session() -> Response:
        request = app.current_request
        assert request is not None
        return Response(
            {"cookie": request.headers.get("cookie")},
            headers={"Set-Cookie": ["session=def456; Secure; HttpOnly", "theme=light; Path=/"], "Vary": "Accept"},
        )

    @app.route("/plain")
    def plain() -> Response:
        return Response("hello", headers={"Content-Type": "text/plain; charset=utf-8"})

    @app.route("/refuse")
    def refuse() -> None:
        raise BadRequestError("nothing to see")

    return app


@pytest.fixture
def handler() -> Any:
    return make_handler(echo_app(), lambda: [WEB, CABINET])


def body(response: dict[str, Any]) -> Any:
    return json.loads(response["body"])


# --- requests reach Chalice as API Gateway would hand them over -------------------------------------------------


def test_a_get_with_a_query_reaches_its_route_with_every_repeated_value(handler: Any) -> None:
    response = handler(recorded("get_thing_with_query"), None)
    assert response["statusCode"] == 200
    seen = body(response)
    assert seen["route"] == "thing"
    assert seen["method"] == "GET" and seen["resource"] == "/things/{thing_id}"
    assert seen["params"] == {"thing_id": "42"} and seen["view_args"] == {"thing_id": "42"}
    assert seen["query"] == {
        "tag": ["music", "art"],  # v2 joined them as "music,art"; the raw query keeps them apart
        "q": ["рисование для детей"],
        "empty": [""],
        "city": ["Елизово, Камчатка"],  # a comma inside one value stays one value
    }
    assert seen["headers"]["authorization"].startswith("Bearer ")
    assert seen["request_id"] == "8f1e0c52-2f0b-4d8e-9a3b-1d2c3b4a5f60"
    assert seen["source_ip"] == "203.0.113.17" and seen["user_agent"].startswith("Mozilla/5.0")
    assert seen["stage_vars"] is None
    assert response["headers"]["Content-Type"] == "application/json"  # Chalice set none; the body is JSON
    assert response["isBase64Encoded"] is False


def test_a_static_segment_wins_over_a_parameter(handler: Any) -> None:
    event = recorded("get_thing_with_query", rawPath="/things/search", rawQueryString="q=a+b")
    seen = body(handler(event, None))
    assert seen["route"] == "search" and seen["params"] is None
    assert seen["query"] == {"q": ["a b"]}  # form encoding, as URLSearchParams sends it


def test_path_parameters_are_decoded_after_matching(handler: Any) -> None:
    seen = body(handler(recorded("get_thing_with_query", rawPath="/things/a%2Fb%20c/"), None))
    assert seen["route"] == "thing" and seen["params"] == {"thing_id": "a/b c"}


def test_no_query_is_none_as_api_gateway_sends_it(handler: Any) -> None:
    event = recorded("get_thing_with_query", rawQueryString="")
    del event["queryStringParameters"]
    assert body(handler(event, None))["query"] is None


def test_a_post_with_a_json_body_is_passed_through(handler: Any) -> None:
    event = recorded("post_note_json")
    response = handler(event, None)
    assert response["statusCode"] == 201
    seen = body(response)
    assert seen["route"] == "notes" and seen["params"] == {"thing_id": "42"}
    assert seen["json"] == {"text": "Занятия по вторникам", "month": "2027-02", "amount": 150000}
    assert base64.b64decode(seen["body"]) == event["body"].encode()
    assert seen["headers"]["idempotency-key"] == "2f6d3c1a-0b5e-4c7d-8e9f-a1b2c3d4e5f6"
    assert response["headers"]["Content-Type"] == "application/json"


def test_a_base64_body_arrives_as_the_original_bytes(handler: Any) -> None:
    event = recorded("post_upload_base64")
    sent = base64.b64decode(event["body"])
    response = handler(event, None)
    assert response["statusCode"] == 200
    assert body(response) == {"sha256": hashlib.sha256(sent).hexdigest(), "size": len(sent)}


def test_cookies_are_folded_into_a_cookie_header_and_set_cookies_come_back_as_cookies(handler: Any) -> None:
    response = handler(recorded("get_session_cookies"), None)
    assert body(response) == {"cookie": "session=abc123; theme=dark"}
    assert response["cookies"] == ["session=def456; Secure; HttpOnly", "theme=light; Path=/"]
    assert not any(name.lower() == "set-cookie" for name in response["headers"])
    assert response["headers"]["Vary"] == "Accept, Origin"


def test_a_content_type_the_app_set_is_kept(handler: Any) -> None:
    response = handler(recorded("get_session_cookies", rawPath="/plain", cookies=None), None)
    assert response["body"] == "hello"
    assert response["headers"]["Content-Type"] == "text/plain; charset=utf-8"


# --- what the adapter answers itself ----------------------------------------------------------------------------


def test_an_unknown_path_is_a_json_404(handler: Any) -> None:
    response = handler(recorded("get_unknown_route"), None)
    assert response["statusCode"] == 404
    assert body(response)["error"]["code"] == "not_found"
    assert response["headers"]["Content-Type"] == "application/json"
    assert "Access-Control-Allow-Origin" not in response["headers"]  # no Origin was sent


def test_a_wrong_method_is_a_json_405_naming_the_allowed_ones(handler: Any) -> None:
    response = handler(recorded("delete_thing_wrong_method"), None)
    assert response["statusCode"] == 405
    assert body(response)["error"]["code"] == "method_not_allowed"
    assert response["headers"]["Allow"] == "GET, PUT"


def test_chalice_errors_take_the_api_error_shape(handler: Any) -> None:
    refused = handler(recorded("get_session_cookies", rawPath="/refuse", cookies=None), None)
    assert refused["statusCode"] == 400
    assert body(refused) == {"error": {"code": "bad_request", "message": "nothing to see"}}

    wrong_type = recorded("post_note_json")
    wrong_type["headers"]["content-type"] = "text/plain"
    response = handler(wrong_type, None)
    assert response["statusCode"] == 415
    assert body(response)["error"]["code"] == "unsupported_media_type"


# --- CORS -------------------------------------------------------------------------------------------------------


def test_a_preflight_from_an_allowed_origin_is_answered(handler: Any) -> None:
    response = handler(recorded("options_preflight_allowed"), None)
    assert response["statusCode"] == 204 and response["body"] == ""
    headers = response["headers"]
    assert headers["Access-Control-Allow-Origin"] == WEB
    assert headers["Access-Control-Allow-Methods"] == "POST"
    allowed = {h.strip().lower() for h in headers["Access-Control-Allow-Headers"].split(",")}
    assert allowed >= {"authorization", "content-type", "idempotency-key"}
    assert int(headers["Access-Control-Max-Age"]) > 0
    assert headers["Vary"] == "Origin"


def test_a_preflight_from_another_origin_gets_no_cors_headers(handler: Any) -> None:
    response = handler(recorded("options_preflight_denied"), None)
    assert response["statusCode"] == 403
    assert body(response)["error"]["code"] == "origin_not_allowed"
    assert not [name for name in response["headers"] if name.lower().startswith("access-control-")]


def test_a_preflight_for_an_unknown_path_is_a_404(handler: Any) -> None:
    response = handler(recorded("options_preflight_allowed", rawPath="/nowhere"), None)
    assert response["statusCode"] == 404


def test_responses_to_an_allowed_origin_carry_its_cors_headers(handler: Any) -> None:
    for origin in (WEB, CABINET):
        event = recorded("post_note_json")
        event["headers"]["origin"] = origin
        headers = handler(event, None)["headers"]
        assert headers["Access-Control-Allow-Origin"] == origin
        assert "Idempotent-Replayed" in headers["Access-Control-Expose-Headers"]
        assert headers["Vary"] == "Origin"


def test_responses_to_another_origin_carry_no_cors_headers(handler: Any) -> None:
    for origin in ("https://evil.example.com", WEB + ".evil.example.com", WEB + ":8443", "null"):
        event = recorded("post_note_json")
        event["headers"]["origin"] = origin
        response = handler(event, None)
        assert response["statusCode"] == 201  # CORS guards browsers' reading; the bearer token guards the API
        assert not [name for name in response["headers"] if name.lower().startswith("access-control-")]


def test_origins_are_read_on_every_request_and_a_wildcard_only_when_configured() -> None:
    origins: list[str] = []
    handler = make_handler(echo_app(), lambda: origins)
    event = recorded("options_preflight_allowed")
    assert handler(copy.deepcopy(event), None)["statusCode"] == 403
    origins.append("*")
    response = handler(copy.deepcopy(event), None)
    assert response["statusCode"] == 204
    assert response["headers"]["Access-Control-Allow-Origin"] == "*"


# --- pieces -----------------------------------------------------------------------------------------------------


def test_routes_are_ranked_static_first_segment_by_segment() -> None:
    routes = compile_routes(
        {
            "/a/{x}/c": {"GET": None},
            "/a/b/{y}": {"GET": None},
            "/a/{x}/{y}": {"GET": None},
            "/a/b/c": {"POST": None},
            "/": {"GET": None},
        }
    )

    def matched(path: str) -> tuple[str, dict[str, str]] | None:
        found = find_route(routes, path)
        return None if found is None else (found[0].template, found[1])

    assert matched("/a/b/c") == ("/a/b/c", {})
    assert matched("/a/b/z") == ("/a/b/{y}", {"y": "z"})
    assert matched("/a/q/c") == ("/a/{x}/c", {"x": "q"})
    assert matched("/a/q/z") == ("/a/{x}/{y}", {"x": "q", "y": "z"})
    assert matched("/") == ("/", {})
    assert matched("/a/b") is None
    assert matched("/a/b/c/d") is None


def test_a_response_without_body_or_headers_is_still_a_valid_v2_response() -> None:
    assert to_url_response({"statusCode": 204, "body": None}) == {
        "statusCode": 204,
        "headers": {},
        "body": "",
        "isBase64Encoded": False,
    }


# --- the real app ---------------------------------------------------------------------------------------------


def test_the_real_app_refuses_a_request_without_a_token_with_a_json_401(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PFDO_STAGE", "local")
    monkeypatch.setenv("PFDO_TABLE_PREFIX", "url-adapter-test-")
    runtime.reset()
    import app as app_module

    handler = make_handler(app_module.app, lambda: [WEB])
    try:
        response = handler(recorded("get_certificate_no_token"), None)
        unknown = handler(recorded("get_unknown_route"), None)
    finally:
        runtime.reset()
    assert response["statusCode"] == 401
    assert body(response)["error"]["code"] == "unauthenticated"
    assert response["headers"]["Content-Type"] == "application/json"
    assert response["headers"]["Access-Control-Allow-Origin"] == WEB
    assert unknown["statusCode"] == 404 and body(unknown)["error"]["code"] == "not_found"


def test_behind_cloudfront_the_viewers_token_comes_back_from_x_viewer_authorization(handler: Any) -> None:
    """Origin access control signs each request into Authorization; the distribution's viewer-request function moved
    the caller's bearer token to x-viewer-authorization, and the app sees it as Authorization again."""
    event = recorded("get_thing_with_query")
    token = event["headers"]["authorization"]
    signature = "AWS4-HMAC-SHA256 Credential=ASIA.../lambda/aws4_request, SignedHeaders=host, Signature=abc"
    event["headers"] = {**event["headers"], "authorization": signature, "x-viewer-authorization": token}
    seen = body(handler(event, None))
    assert seen["headers"]["authorization"] == token and "x-viewer-authorization" not in seen["headers"]
    event["headers"] = {k: v for k, v in event["headers"].items() if k != "x-viewer-authorization"}
    assert "authorization" not in body(handler(event, None))["headers"]  # the signature is no caller's token


def test_a_preflight_lets_the_browser_send_the_bodys_hash_that_cloudfront_signs(handler: Any) -> None:
    response = handler(recorded("options_preflight_allowed"), None)
    assert "X-Amz-Content-Sha256" in response["headers"]["Access-Control-Allow-Headers"]
