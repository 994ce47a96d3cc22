"""The Navigator's edges, without I/O: the local server speaks the Function URL payload the deployed API gets, and no
stage but the local one lets any origin call the API."""

from __future__ import annotations

import base64

import pytest
from pydantic import ValidationError

from chalicelib.platform.config import Settings
from devtools.local_gateway import function_url_event, local_response


def test_any_origin_is_refused_outside_the_local_stage() -> None:
    with pytest.raises(ValidationError):
        Settings(stage="prod", cors_origins=("https://navigator.example.ru", "*"))
    with pytest.raises(ValidationError):
        Settings(stage="dev", cors_origins=("*",))
    assert Settings(stage="local", cors_origins=("*",)).cors_origins == ("*",)


def test_a_local_request_becomes_the_function_url_event_lambda_would_send() -> None:
    headers = {"Host": "127.0.0.1:8000", "Origin": "http://127.0.0.1:8080", "Content-Type": "application/json"}
    event = function_url_event("post", "/contracts?x=1&x=2", headers, '{"a":"ё"}'.encode())
    assert event["version"] == "2.0"
    assert (event["rawPath"], event["rawQueryString"]) == ("/contracts", "x=1&x=2")
    assert event["requestContext"]["http"]["method"] == "POST"
    assert event["headers"]["origin"] == "http://127.0.0.1:8080"  # lower-case names, as Lambda sends them
    assert event["body"] == '{"a":"ё"}' and event["isBase64Encoded"] is False
    binary = function_url_event("POST", "/upload", {}, b"%PDF\xff\xfe")
    assert binary["isBase64Encoded"] is True and base64.b64decode(binary["body"]) == b"%PDF\xff\xfe"
    assert "body" not in function_url_event("GET", "/", {}, None)


def test_the_adapters_answer_is_sent_as_chalice_local_sends_its_own() -> None:
    answer = {"statusCode": 204, "headers": {"Vary": "Origin"}, "body": "", "cookies": ["a=1"]}
    sent = local_response(answer)
    assert sent == {
        "statusCode": 204,
        "headers": {"Vary": "Origin"},
        "multiValueHeaders": {"Set-Cookie": ["a=1"]},
        "body": "",
        "isBase64Encoded": False,
    }
