"""Lambda Function URL (payload format 2.0) → the Chalice app, which reads API Gateway REST (v1) events.

A Function URL has no API Gateway in front of it, so this adapter does what API Gateway would: it matches the path
against the app's route templates (static segments before parameters), answers 404 / 405 itself, builds the v1 event
Chalice expects, and turns Chalice's v1 response back into a v2 one. It also answers CORS for the web clients'
origins (configured; exact match, ``*`` only if configured): the Function URL's own CORS setting must stay off, or
Lambda would rewrite these headers.

Decisions, so nobody has to rediscover them:

- Repeated query keys: v2 joins them with commas in ``queryStringParameters`` (``a=1&a=2`` → ``"1,2"``), which
  cannot be told apart from a value holding a comma, so the query is parsed again from ``rawQueryString``
  (form-encoding: ``+`` is a space, as browsers' ``URLSearchParams`` sends it).
- Headers: v2 joins repeated request headers with commas too; that cannot be undone safely (``Accept`` holds commas),
  so ``multiValueHeaders`` carries each joined value as one item. Cookies, which v2 moves to ``cookies``, are folded
  back into one ``Cookie`` header.
- Path parameters are matched on the raw (percent-encoded) path and then decoded, so ``%2F`` stays inside one
  parameter. A trailing slash is ignored, as API Gateway does.
- Chalice's own errors (``{"Code", "Message"}``, e.g. 415 for a body that is not JSON) are rewritten to the API's
  ``{"error": {"code", "message"}}`` shape.
- Every response carries ``Vary: Origin``, allowed origin or not, so no cache hands one origin's answer to another.
- Every response, the adapter's own included, carries ``X-Content-Type-Options: nosniff`` and HSTS
  (``SECURITY_HEADERS``); the routes add ``Cache-Control: no-store`` to every answer that may hold personal data
  (functions/edge/http.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote

from functions import runtime

if TYPE_CHECKING:
    from chalice import Chalice

Event = dict[str, Any]
Handler = Callable[[Event, Any], Event]

# X-Amz-Content-Sha256: a body sent through CloudFront to the Function URL carries its SHA-256 (origin access control
# signs it; Lambda takes no unsigned payload), web/src/api.ts adds it.
ALLOWED_REQUEST_HEADERS = "Authorization, Content-Type, Idempotency-Key, X-Amz-Content-Sha256"
# Response headers a browser script may read besides the CORS-safelisted ones.
EXPOSED_RESPONSE_HEADERS = "Idempotent-Replayed, Retry-After"
PREFLIGHT_MAX_AGE_SECONDS = 600
HSTS_SECONDS = 2 * 365 * 24 * 3600
# On every answer of the API: no content sniffing, and HTTPS only from the first answer on (two years, subdomains).
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Strict-Transport-Security": f"max-age={HSTS_SECONDS}; includeSubDomains",
}
WILDCARD = "*"
_PARAMETER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(\+?)\}")
_CAPITALS = re.compile(r"(?<!^)(?=[A-Z])")
# Chalice's error codes whose snake_case form would not match the API's own codes.
_CHALICE_CODES = {"InternalServerError": "internal_error", "MethodNotAllowedError": "method_not_allowed"}


@dataclass(frozen=True)
class Route:
    """A route template of the app as a regex; ``rank`` orders templates static-first, segment by segment."""

    template: str
    pattern: re.Pattern[str]
    methods: tuple[str, ...]
    rank: tuple[int, ...]

    @classmethod
    def of(cls, template: str, methods: Iterable[str]) -> Route:
        parts: list[str] = []
        rank: list[int] = []
        for segment in template.strip("/").split("/") if template != "/" else []:
            parameter = _PARAMETER.fullmatch(segment)
            if parameter is None:
                parts.append(re.escape(segment))
                rank.append(0)
            elif parameter.group(2):  # greedy {name+}: the rest of the path
                parts.append(f"(?P<{parameter.group(1)}>.+)")
                rank.append(2)
            else:
                parts.append(f"(?P<{parameter.group(1)}>[^/]+)")
                rank.append(1)
        pattern = re.compile("^/" + "/".join(parts) + "$")
        return cls(template, pattern, tuple(sorted(m.upper() for m in methods)), tuple(rank))

    def match(self, raw_path: str) -> dict[str, str] | None:
        found = self.pattern.fullmatch(raw_path)
        if found is None:
            return None
        return {name: unquote(value) for name, value in found.groupdict().items()}


# Behind CloudFront the Authorization header is CloudFront's SigV4 signature for the Function URL (origin access
# control), so the distribution's viewer-request function moves the caller's own Authorization (the bearer token) to
# this header (infra/template.py: VIEWER_REQUEST_FUNCTION). The adapter puts it back before the app reads it.
VIEWER_AUTHORIZATION = "x-viewer-authorization"
_SIGV4 = "AWS4-HMAC-SHA256 "


def _viewer_authorization(headers: dict[str, str]) -> dict[str, str]:
    viewer = headers.pop(VIEWER_AUTHORIZATION, None)
    if viewer is not None:
        headers["authorization"] = viewer
    elif headers.get("authorization", "").startswith(_SIGV4):
        del headers["authorization"]  # CloudFront's signature, not the caller's token: the caller sent none
    return headers


def compile_routes(routes: Mapping[str, Mapping[str, Any]]) -> list[Route]:
    """The app's routes (``app.routes``: template → {method: RouteEntry}), most specific first."""
    return sorted((Route.of(template, entries) for template, entries in routes.items()), key=lambda r: r.rank)


def find_route(routes: Sequence[Route], raw_path: str) -> tuple[Route, dict[str, str]] | None:
    if raw_path != "/" and raw_path.endswith("/"):
        raw_path = raw_path[:-1]
    for route in routes:
        params = route.match(raw_path)
        if params is not None:
            return route, params
    return None


@dataclass(frozen=True)
class UrlRequest:
    """The parts of a v2 event the adapter decides on."""

    method: str
    raw_path: str
    headers: dict[str, str]

    @classmethod
    def of(cls, event: Mapping[str, Any]) -> UrlRequest:
        http = (event.get("requestContext") or {}).get("http") or {}
        headers = _viewer_authorization({str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()})
        raw_path = event.get("rawPath") or http.get("path") or "/"
        return cls(str(http.get("method") or "GET").upper(), str(raw_path), headers)

    @property
    def origin(self) -> str | None:
        return self.headers.get("origin")

    @property
    def is_preflight(self) -> bool:
        return self.method == "OPTIONS" and "origin" in self.headers and "access-control-request-method" in self.headers


class FunctionUrlAdapter:
    """The Lambda handler of a Function URL in front of a Chalice app."""

    def __init__(self, app: Chalice, allowed_origins: Callable[[], Sequence[str]]) -> None:
        self.app = app
        self.allowed_origins = allowed_origins
        self._routes: list[Route] | None = None

    @property
    def routes(self) -> list[Route]:
        # Compiled on the first request: the app's routes are fixed once app.py has registered its blueprints.
        if self._routes is None:
            self._routes = compile_routes(self.app.routes)
        return self._routes

    def __call__(self, event: Event, context: Any) -> Event:
        request = UrlRequest.of(event)
        origin = self._allowed_origin(request.origin)
        if request.is_preflight:
            response = self._preflight(request, origin)
        else:
            response = self._dispatch(event, request, context)
            if origin is not None:
                response["headers"]["Access-Control-Allow-Origin"] = origin
                response["headers"]["Access-Control-Expose-Headers"] = EXPOSED_RESPONSE_HEADERS
        _add_vary_origin(response["headers"])
        for name, value in SECURITY_HEADERS.items():
            response["headers"].setdefault(name, value)
        return response

    def _allowed_origin(self, origin: str | None) -> str | None:
        """The Access-Control-Allow-Origin value for ``origin``, or None when it is not allowed."""
        if not origin:
            return None
        allowed = self.allowed_origins()
        if origin in allowed:
            return origin
        return WILDCARD if WILDCARD in allowed else None

    def _dispatch(self, event: Event, request: UrlRequest, context: Any) -> Event:
        found = find_route(self.routes, request.raw_path)
        if found is None:
            return _refusal(event, 404, "not_found", f"no such path: {unquote(request.raw_path)}")
        route, params = found
        if request.method not in route.methods:
            message = f"{request.method} is not allowed here; use {', '.join(route.methods)}"
            return _refusal(event, 405, "method_not_allowed", message, {"Allow": ", ".join(route.methods)})
        return to_url_response(self.app(to_rest_event(event, request, route, params), context))

    def _preflight(self, request: UrlRequest, origin: str | None) -> Event:
        if origin is None:
            return _error_response(403, "origin_not_allowed", f"the origin {request.origin} may not call this API")
        found = find_route(self.routes, request.raw_path)
        if found is None:
            response = _error_response(404, "not_found", f"no such path: {unquote(request.raw_path)}")
            response["headers"]["Access-Control-Allow-Origin"] = origin
            return response
        route, _params = found
        headers = {
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Methods": ", ".join(route.methods),
            "Access-Control-Allow-Headers": ALLOWED_REQUEST_HEADERS,
            "Access-Control-Max-Age": str(PREFLIGHT_MAX_AGE_SECONDS),
        }
        return {"statusCode": 204, "headers": headers, "body": "", "isBase64Encoded": False}


def make_handler(app: Chalice, allowed_origins: Callable[[], Sequence[str]]) -> Handler:
    """The Function URL handler of ``app``; ``allowed_origins`` is asked on every request (configuration is lazy)."""
    return FunctionUrlAdapter(app, allowed_origins)


# --- v2 request → v1 event ------------------------------------------------------------------------------------------


def to_rest_event(event: Mapping[str, Any], request: UrlRequest, route: Route, params: dict[str, str]) -> Event:
    """The API Gateway REST (v1) event Chalice reads, for a v2 event matched to ``route``."""
    context = event.get("requestContext") or {}
    http = context.get("http") or {}
    headers = dict(request.headers)
    cookies = [str(cookie) for cookie in event.get("cookies") or []]
    if cookies:
        headers["cookie"] = "; ".join(([headers["cookie"]] if "cookie" in headers else []) + cookies)
    query = _query(event)
    path = unquote(request.raw_path)
    return {
        "resource": route.template,
        "path": path,
        "httpMethod": request.method,
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": {name: values[-1] for name, values in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        "pathParameters": params or None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": route.template,
            "httpMethod": request.method,
            "path": path,
            "requestId": context.get("requestId"),
            "stage": context.get("stage") or "$default",
            "domainName": context.get("domainName"),
            "accountId": context.get("accountId"),
            "apiId": context.get("apiId"),
            "protocol": http.get("protocol"),
            "requestTimeEpoch": context.get("timeEpoch"),
            "identity": {"sourceIp": http.get("sourceIp"), "userAgent": http.get("userAgent")},
        },
        "body": event.get("body"),
        "isBase64Encoded": bool(event.get("isBase64Encoded", False)),
    }


def _query(event: Mapping[str, Any]) -> dict[str, list[str]]:
    raw = event.get("rawQueryString")
    query: dict[str, list[str]] = {}
    if isinstance(raw, str):
        for name, value in parse_qsl(raw, keep_blank_values=True):
            query.setdefault(name, []).append(value)
    else:  # a hand-written event (console test) without rawQueryString: take the joined values as they are
        for name, value in (event.get("queryStringParameters") or {}).items():
            query[str(name)] = [str(value)]
    return query


# --- v1 response → v2 response --------------------------------------------------------------------------------------


def to_url_response(response: Mapping[str, Any]) -> Event:
    """A Function URL response from Chalice's: one value per header, ``Set-Cookie`` lines as ``cookies``."""
    merged: dict[str, tuple[str, list[str]]] = {}  # lower-case name → (name as written, values)
    cookies: list[str] = []
    for name, values in _header_values(response):
        if name.lower() == "set-cookie":
            cookies.extend(values)
        else:
            merged.setdefault(name.lower(), (name, []))[1].extend(values)
    headers = {name: ", ".join(values) for name, values in merged.values()}
    body = response.get("body")
    body = "" if body is None else body
    is_base64 = bool(response.get("isBase64Encoded", False))
    if not is_base64:
        body = _api_error_shape(body)
        if "content-type" not in merged and _is_json(body):
            headers["Content-Type"] = "application/json"
    result: Event = {
        "statusCode": int(response.get("statusCode", 200)),
        "headers": headers,
        "body": body,
        "isBase64Encoded": is_base64,
    }
    if cookies:
        result["cookies"] = cookies
    return result


def _header_values(response: Mapping[str, Any]) -> list[tuple[str, list[str]]]:
    single = response.get("headers") or {}
    multi = response.get("multiValueHeaders") or {}
    pairs = [(str(name), [str(value)]) for name, value in single.items()]
    return pairs + [(str(name), [str(value) for value in values]) for name, values in multi.items()]


def _is_json(body: Any) -> bool:
    if not isinstance(body, str) or not body:
        return False
    try:
        json.loads(body)
    except ValueError:
        return False
    return True


def _api_error_shape(body: Any) -> Any:
    """Chalice's own ``{"Code", "Message"}`` errors in the API's ``{"error": {"code", "message"}}`` shape."""
    if not isinstance(body, str) or not body.startswith('{"Code"'):
        return body
    try:
        parsed = json.loads(body)
    except ValueError:
        return body
    if not isinstance(parsed, dict) or set(parsed) != {"Code", "Message"}:
        return body
    name = str(parsed["Code"])
    code = _CHALICE_CODES.get(name) or _CAPITALS.sub("_", name.removesuffix("Error")).lower()
    return json.dumps({"error": {"code": code, "message": str(parsed["Message"])}}, ensure_ascii=False)


# --- answers of the adapter itself ------------------------------------------------------------------------------------


def _error_response(status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> Event:
    body = json.dumps({"error": {"code": code, "message": message}}, ensure_ascii=False, separators=(",", ":"))
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", **(headers or {})},
        "body": body,
        "isBase64Encoded": False,
    }


def _refusal(
    event: Mapping[str, Any], status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> Event:
    """A 404 / 405 answered without the app, logged like the app's own requests."""
    request_id = (event.get("requestContext") or {}).get("requestId")
    runtime.logger().info("request", extra={"request_id": request_id, "route": None, "status": status, "outcome": code})
    return _error_response(status, code, message, headers)


def _add_vary_origin(headers: dict[str, str]) -> None:
    for name, value in headers.items():
        if name.lower() == "vary":
            if "origin" not in {part.strip().lower() for part in value.split(",")}:
                headers[name] = f"{value}, Origin"
            return
    headers["Vary"] = "Origin"
