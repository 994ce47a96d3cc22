"""`chalice local` answering through the Function URL handler, as the deployed API does.

In AWS every request reaches the app through ``app.url_handler`` (functions/edge/url_adapter.py): a Function URL event
(payload 2.0) turned into the event Chalice reads, with the adapter's routing (404 / 405 as JSON) and CORS for the
configured web origins. ``install()`` makes `chalice local` do the same: its threaded HTTP server and request parsing
stay chalice's, but each request is handed to ``app.url_handler`` as a Function URL event instead of to Chalice's
API Gateway emulation, which knows nothing of the adapter's CORS. So the Navigator on its own origin (WEB_PORT) gets
the preflights and the CORS headers it will get in AWS, from the same code.

Every method reaches the adapter, not only the seven the HTTP server has handlers for: a TRACE, CONNECT or any other
method gets the adapter's JSON 405 (or 404), as from the Function URL, never the HTTP server's HTML 501; and what the
HTTP server refuses before any method (a request line it cannot parse) is answered in the API's JSON error shape too.

``wait_for_go()``: the gate `make run` uses to open the API's port only when the tables exist and the seed is in
(devtools/run.py writes ``go`` to the server's standard input; an end of input means run.py is gone: exit).
"""

from __future__ import annotations

import base64
import http
import json
import sys
import time
import uuid
from typing import Any

GO = "go"


def function_url_event(method: str, path: str, headers: dict[str, str], body: bytes | None) -> dict[str, Any]:
    """The Function URL (payload 2.0) event Lambda would send for this HTTP request."""
    raw_path, _, raw_query = path.partition("?")
    lowered = {name.lower(): value for name, value in headers.items()}
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": raw_path or "/",
        "rawQueryString": raw_query,
        "headers": lowered,
        "requestContext": {
            "http": {
                "method": method.upper(),
                "path": raw_path or "/",
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": lowered.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "domainName": lowered.get("host", "127.0.0.1"),
            "stage": "$default",
            "timeEpoch": int(time.time() * 1000),
        },
        "isBase64Encoded": False,
    }
    if body:
        try:
            event["body"] = body.decode("utf-8")
        except UnicodeDecodeError:  # Lambda sends a binary body base64-encoded
            event["body"] = base64.b64encode(body).decode("ascii")
            event["isBase64Encoded"] = True
    return event


def local_response(response: dict[str, Any]) -> dict[str, Any]:
    """The adapter's Function URL response in the shape chalice's local request handler sends."""
    return {
        "statusCode": int(response["statusCode"]),
        "headers": dict(response.get("headers") or {}),
        "multiValueHeaders": {"Set-Cookie": list(response["cookies"])} if response.get("cookies") else {},
        "body": response.get("body"),
        "isBase64Encoded": bool(response.get("isBase64Encoded")),
    }


def install() -> None:
    """Routes every request of `chalice local` through ``app.url_handler``."""
    from chalice import local

    def handle_request(
        gateway: local.LocalGateway, method: str, path: str, headers: dict[str, str], body: bytes | None
    ) -> dict[str, Any]:
        import app  # the module chalice local loaded (sys.modules): the app and its url_handler

        event = function_url_event(method, path, headers, body)
        response = app.url_handler(event, gateway._generate_lambda_context())
        return local_response(response)

    local.LocalGateway.handle_request = handle_request  # type: ignore[assignment,method-assign]
    handler = local.ChaliceRequestHandler
    # BaseHTTPRequestHandler answers a method with ``do_<METHOD>`` or an HTML 501: every method goes to the adapter.
    handler.__getattr__ = _any_method
    handler.send_error = _json_error


def _any_method(self: Any, name: str) -> Any:
    if name.startswith("do_") and name[3:].isupper():
        return self._generic_handle
    raise AttributeError(name)


def _json_error(self: Any, code: int, message: str | None = None, explain: str | None = None) -> None:
    """``BaseHTTPRequestHandler.send_error`` in the API's error shape (what the HTTP server refuses itself: a request
    line it cannot parse, a header too long)."""
    try:
        status = http.HTTPStatus(code)
        name, phrase = status.name.lower(), status.phrase
    except ValueError:
        name, phrase = "bad_request", "Bad Request"
    body = json.dumps({"error": {"code": name, "message": message or phrase}}, ensure_ascii=False).encode()
    self.log_error("code %d, message %s", code, message)
    self.send_response(code, message)
    self.send_header("Connection", "close")
    self.close_connection = True
    if code >= 200 and code not in (http.HTTPStatus.NO_CONTENT, http.HTTPStatus.NOT_MODIFIED):
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
    self.end_headers()
    if self.command != "HEAD" and code >= 200 and code not in (204, 304):
        self.wfile.write(body)


def wait_for_go() -> None:
    """Imports the app (while run.py starts the engine and seeds), then waits for run.py's ``go``."""
    import app  # noqa: F401 - loaded now rather than when the port opens

    if sys.stdin.readline().strip() != GO:
        sys.exit(0)
