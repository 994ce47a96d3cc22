"""The local S3 of `make run`: moto's S3 server in a thread of this process, answering a browser the way S3 does.

moto's server alone would prove nothing about a browser upload: it answers every request with
``Access-Control-Allow-Origin: *`` (flask-cors, whatever the bucket's CORS rules say), sends no CORS headers at all on
the answer to a POST upload, and takes a POST whatever its signed policy says. ``S3Browser`` wraps it so that:

- CORS follows the bucket's own rules (``PutBucketCORS``), for the preflight and for every other answer, as S3 does:
  an origin no rule names gets no ``Access-Control-Allow-Origin`` (and a 403 to its preflight);
- a browser's POST upload (``multipart/form-data`` to the bucket) is checked against the policy it carries, as S3
  does: not expired, every condition met (exact fields, ``starts-with``, ``content-length-range`` on the file), and
  every form field covered by a condition. A refused upload is S3's 403 ``AccessDenied`` and stores nothing.

The signature itself is not checked (moto's credentials are fixed test ones; the API signs, not the browser).
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import re
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from werkzeug.formparser import parse_form_data
from werkzeug.serving import BaseWSGIServer, make_server

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
# A bucket's CORS rules as PutBucketCORS takes them: AllowedOrigins, AllowedMethods, AllowedHeaders, ExposeHeaders,
# MaxAgeSeconds.
Rules = Callable[[str], list[dict[str, Any]]]

# Form fields S3 does not require a policy condition for.
_UNCOVERED = {"policy", "x-amz-signature", "file", "signature", "awsaccesskeyid"}
_MAX_FORM_BYTES = 64 * 1024 * 1024
_FORBIDDEN = (
    b"<Error><Code>AccessForbidden</Code><Message>CORSResponse: This CORS request is not allowed.</Message></Error>"
)


def moto_rules(bucket: str) -> list[dict[str, Any]]:
    """The bucket's CORS rules as moto keeps them (the same process: moto's backend is in memory here)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.exceptions import MissingBucket
    from moto.s3.models import s3_backends

    try:
        found = s3_backends[DEFAULT_ACCOUNT_ID]["aws"].get_bucket(bucket)
    except MissingBucket:
        return []
    return [
        {
            "AllowedOrigins": rule.allowed_origins or [],
            "AllowedMethods": rule.allowed_methods or [],
            "AllowedHeaders": rule.allowed_headers or [],
            "ExposeHeaders": rule.exposed_headers or [],
            "MaxAgeSeconds": rule.max_age_seconds,
        }
        for rule in found.cors
    ]


def _matches(value: str, patterns: Iterable[str]) -> bool:
    """S3's matching of an origin or header against a rule's list: exact, or with one ``*`` wildcard."""
    for pattern in patterns:
        if pattern == "*" or re.fullmatch(re.escape(pattern).replace(r"\*", ".*"), value, flags=re.IGNORECASE):
            return True
    return False


def cors_rule(
    rules: list[dict[str, Any]], origin: str, method: str, headers: Iterable[str] = ()
) -> dict[str, Any] | None:
    """The first rule that admits ``origin`` calling ``method`` with ``headers`` (S3 uses the first match)."""
    for rule in rules:
        if not _matches(origin, rule.get("AllowedOrigins", [])):
            continue
        if method.upper() not in [m.upper() for m in rule.get("AllowedMethods", [])]:
            continue
        if all(_matches(h.strip(), rule.get("AllowedHeaders", [])) for h in headers if h.strip()):
            return rule
    return None


def cors_headers(rule: dict[str, Any], origin: str, preflight: bool) -> list[tuple[str, str]]:
    headers = [("Access-Control-Allow-Origin", origin), ("Vary", "Origin")]
    if preflight:
        headers.append(("Access-Control-Allow-Methods", ", ".join(rule.get("AllowedMethods", []))))
        if rule.get("AllowedHeaders"):
            headers.append(("Access-Control-Allow-Headers", ", ".join(rule["AllowedHeaders"])))
        if rule.get("MaxAgeSeconds"):
            headers.append(("Access-Control-Max-Age", str(rule["MaxAgeSeconds"])))
    elif rule.get("ExposeHeaders"):
        headers.append(("Access-Control-Expose-Headers", ", ".join(rule["ExposeHeaders"])))
    return headers


def policy_problem(fields: dict[str, str], file_size: int, bucket: str, now: datetime) -> str | None:
    """Why S3 would refuse this POST upload under its policy, or None. ``fields`` are the form's fields (not the file),
    names lower-cased."""
    policy, problem = _policy(fields.get("policy", ""), now)
    if policy is None:
        return problem
    values = {**fields, "bucket": bucket}
    covered: set[str] = set()
    for condition in policy.get("conditions", []):
        problem = _unmet(condition, values, file_size, covered)
        if problem:
            return problem
    extra = sorted(f for f in fields if f not in covered and f not in _UNCOVERED and not f.startswith("x-ignore-"))
    if extra:
        return f"the form's fields {', '.join(extra)} are not in the policy"
    return None


def _policy(text: str, now: datetime) -> tuple[dict[str, Any] | None, str | None]:
    """The policy document, or why there is none that holds now."""
    if not text:
        return None, "the form carries no policy"
    try:
        policy = json.loads(base64.b64decode(text, validate=True))
        expires = datetime.fromisoformat(str(policy["expiration"]).replace("Z", "+00:00"))
    except (binascii.Error, ValueError, KeyError, TypeError):
        return None, "the policy is not base64-encoded JSON with an expiration"
    if expires <= now:
        return None, "the policy expired"
    return policy, None


def _unmet(condition: Any, values: dict[str, str], file_size: int, covered: set[str]) -> str | None:
    """Why one of the policy's conditions is not met (adding the fields it covers to ``covered``), or None."""
    if isinstance(condition, dict):
        for name, wanted in condition.items():
            covered.add(name.lower())
            if values.get(name.lower()) != wanted:
                return f"the condition {name} = {wanted!r} is not met"
        return None
    if not (isinstance(condition, list) and len(condition) == 3):
        return f"the policy's condition {condition!r} is not understood"
    operator, name, wanted = condition
    if operator == "content-length-range":
        if int(name) <= file_size <= int(wanted):
            return None
        return f"the file's {file_size} bytes are outside {name}..{wanted}"
    field = str(name).lstrip("$").lower()
    covered.add(field)
    given = values.get(field, "")
    if operator == "eq" and given != wanted:
        return f"the condition {field} = {wanted!r} is not met"
    if operator == "starts-with" and not given.startswith(str(wanted)):
        return f"{field} does not start with {wanted!r}"
    return None


def _access_denied(message: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>AccessDenied</Code><Message>Invalid according to Policy: {message}</Message></Error>"
    ).encode()


class S3Browser:
    """WSGI middleware around moto's S3 app: CORS by the bucket's rules, POST uploads checked against their policy."""

    def __init__(self, app: Callable[[Environ, StartResponse], Iterable[bytes]], rules: Rules = moto_rules) -> None:
        self.app = app
        self.rules = rules
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/")
        bucket = path.lstrip("/").split("/", 1)[0]
        method = environ.get("REQUEST_METHOD", "GET").upper()
        origin = environ.get("HTTP_ORIGIN")
        if origin and method == "OPTIONS":
            return self._preflight(environ, start_response, bucket, origin)
        extra: list[tuple[str, str]] = []
        if origin:
            rule = cors_rule(self.rules(bucket), origin, method)
            extra = cors_headers(rule, origin, preflight=False) if rule else []
        if method == "POST" and bucket and "/" not in path.strip("/") and _is_form(environ):
            refused = self._check_upload(environ, bucket)
            if refused:
                start_response("403 Forbidden", [("Content-Type", "application/xml"), *extra])
                return [_access_denied(refused)]

        def respond(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            kept = [(k, v) for k, v in headers if not k.lower().startswith("access-control-")]
            return start_response(status, kept + extra, exc_info) if exc_info else start_response(status, kept + extra)

        return self.app(environ, respond)

    def _preflight(self, environ: Environ, start_response: StartResponse, bucket: str, origin: str) -> Iterable[bytes]:
        wanted = environ.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD", "")
        headers = environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS", "").split(",")
        rule = cors_rule(self.rules(bucket), origin, wanted, headers)
        if rule is None:
            start_response("403 Forbidden", [("Content-Type", "application/xml")])
            return [_FORBIDDEN]
        start_response("200 OK", [("Content-Length", "0"), *cors_headers(rule, origin, preflight=True)])
        return [b""]

    def _check_upload(self, environ: Environ, bucket: str) -> str | None:
        """Reads the form (then gives moto the same bytes), returns why the policy refuses it, or None."""
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if length > _MAX_FORM_BYTES:
            return "the request is too large"
        body = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = io.BytesIO(body)
        copy = {**environ, "wsgi.input": io.BytesIO(body)}
        _stream, form, files = parse_form_data(copy, max_form_memory_size=_MAX_FORM_BYTES)
        upload = files.get("file")
        size = len(upload.read()) if upload is not None else 0
        if upload is None:
            return "the form carries no file"
        fields = {name.lower(): value for name, value in form.items()}
        return policy_problem(fields, size, bucket, self.clock())


def _is_form(environ: Environ) -> bool:
    return str(environ.get("CONTENT_TYPE", "")).startswith("multipart/form-data")


class LocalS3:
    """moto's S3 behind ``S3Browser`` on ``host:port`` (0: any free port), served from a thread."""

    def __init__(self, host: str, port: int) -> None:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

        app = S3Browser(DomainDispatcherApplication(create_backend_app))
        self.server: BaseWSGIServer = make_server(host, port, app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, name="local-s3", daemon=True)

    @property
    def endpoint(self) -> str:
        host, port = self.server.host, self.server.port
        return f"http://{host}:{port}"

    def start(self) -> LocalS3:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
