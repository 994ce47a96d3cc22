"""The local S3 of `make run` answers a browser as S3 does: CORS by the bucket's own rules, and a POST upload checked
against its signed policy (devtools/local_s3.py). The browser journey (tests/browser/test_staff.py) uploads through
it for real; these pin the rules themselves, with no server."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from werkzeug.test import Client

from devtools.local_s3 import S3Browser, cors_rule, policy_problem

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
SITE = "http://127.0.0.1:8080"
RULES = [{"AllowedOrigins": [SITE], "AllowedMethods": ["POST", "GET"], "AllowedHeaders": ["*"]}]


def policy(**changes: Any) -> str:
    document = {
        "expiration": (NOW + timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "conditions": [
            {"bucket": "docs"},
            {"key": "providers/4101000011/licence-1"},
            {"Content-Type": "application/pdf"},
            ["content-length-range", 1, 100],
            {"x-amz-algorithm": "AWS4-HMAC-SHA256"},
        ],
        **changes,
    }
    return base64.b64encode(json.dumps(document).encode()).decode()


def fields(**changes: str) -> dict[str, str]:
    return {
        "key": "providers/4101000011/licence-1",
        "content-type": "application/pdf",
        "x-amz-algorithm": "AWS4-HMAC-SHA256",
        "x-amz-signature": "abc",
        "policy": policy(),
        **changes,
    }


def test_an_upload_that_meets_its_policy_is_taken() -> None:
    assert policy_problem(fields(), 20, "docs", NOW) is None


def test_an_upload_is_refused_when_its_policy_expired_or_a_condition_is_not_met() -> None:
    expired = policy(expiration=(NOW - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ"))
    assert policy_problem(fields(policy=expired), 20, "docs", NOW) == "the policy expired"
    assert "Content-Type" in str(policy_problem(fields(**{"content-type": "image/png"}), 20, "docs", NOW))
    assert "outside 1..100" in str(policy_problem(fields(), 101, "docs", NOW))
    assert "outside 1..100" in str(policy_problem(fields(), 0, "docs", NOW))
    assert "bucket" in str(policy_problem(fields(), 20, "another", NOW))
    assert "key" in str(policy_problem(fields(key="providers/4101000011/other"), 20, "docs", NOW))
    assert "extra" in str(policy_problem(fields(extra="1"), 20, "docs", NOW))
    assert policy_problem({k: v for k, v in fields().items() if k != "policy"}, 20, "docs", NOW) is not None


def test_cors_admits_the_origins_and_methods_the_bucket_names_only() -> None:
    assert cors_rule(RULES, SITE, "POST") is RULES[0]
    assert cors_rule(RULES, SITE, "PUT") is None
    assert cors_rule(RULES, "http://evil.example", "POST") is None
    wildcard = [{"AllowedOrigins": ["https://*.example.org"], "AllowedMethods": ["GET"]}]
    assert cors_rule(wildcard, "https://a.example.org", "GET") is wildcard[0]


def _moto_like(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    """Stands for moto's server: a blanket CORS header on every answer, and every upload taken."""
    start_response("204 No Content", [("Access-Control-Allow-Origin", "*")])
    return [b""]


def upload(client: Client, origin: str, form: dict[str, Any]) -> Any:
    return client.post("/docs", data=form, headers={"Origin": origin}, content_type="multipart/form-data")


def test_the_wrapped_server_answers_cors_by_the_buckets_rules_and_refuses_uploads_outside_the_policy() -> None:
    app = S3Browser(_moto_like, rules=lambda bucket: RULES if bucket == "docs" else [])
    app.clock = lambda: NOW
    client = Client(app)
    pdf = b"%PDF-1.4\n"

    taken = upload(client, SITE, {**fields(), "file": (io.BytesIO(pdf), "a.pdf")})
    assert taken.status_code == 204
    assert taken.headers.getlist("Access-Control-Allow-Origin") == [SITE]  # moto's "*" is gone

    elsewhere = upload(client, "http://evil.example", {**fields(), "file": (io.BytesIO(pdf), "a.pdf")})
    assert "Access-Control-Allow-Origin" not in elsewhere.headers  # stored as S3 would, but the page cannot read it

    refused = upload(client, SITE, {**fields(**{"content-type": "image/png"}), "file": (io.BytesIO(pdf), "a.png")})
    assert refused.status_code == 403 and b"AccessDenied" in refused.data
    assert refused.headers["Access-Control-Allow-Origin"] == SITE  # the page can read why

    preflight = client.options("/docs", headers={"Origin": SITE, "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 200 and preflight.headers["Access-Control-Allow-Origin"] == SITE
    denied = client.options("/docs", headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"})
    assert denied.status_code == 403 and "Access-Control-Allow-Origin" not in denied.headers
