"""The HTTP edge shared by every route: authentication, JSON parsing, Idempotency-Key replays, errors as
``{"error": {"code", "message"}}`` and one structured log line per request.

A view is a plain function of a ``Call`` returning a ``Reply``; ``serve`` answers a request of a route
(``functions/edge/routes.py``) with it.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from chalice import Response
from chalice.app import Request
from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError, model_validator
from pynamodb.exceptions import PynamoDBException, TransactGetError, TransactWriteError

from chalicelib.domain import errors
from chalicelib.domain.actors import Principal
from chalicelib.platform import telemetry
from chalicelib.platform.auth import authenticate
from chalicelib.services.context import Context
from chalicelib.storage import idempotency
from functions import runtime
from functions.edge.route import Route, malformed_parameter

Body = TypeVar("Body", bound=BaseModel)
JSON_HEADERS = {"Content-Type": "application/json"}
# DynamoDB said "slow down": the client should retry later, nothing was written.
THROTTLED = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
}
# A transaction cancelled because an item was busy (not because a condition failed): nothing was written either.
BUSY_REASONS = {"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"}
REPLAY_WAIT_SECONDS = 5.0


class Unavailable(errors.DomainError):
    """The database is busy; retry shortly."""

    code = "unavailable"
    status = 503


# The refusal of a path parameter that cannot be an id: the not-found of the thing it names.
PARAMETER_NOT_FOUND: dict[str, type[errors.NotFound]] = {
    "period_id": errors.PeriodNotFound,
    "certificate_id": errors.CertificateNotFound,
    "provider_id": errors.ProviderNotFound,
    "program_id": errors.ProgramNotFound,
    "contract_id": errors.ContractNotFound,
    "objection_id": errors.ObjectionNotFound,
}


def not_found(parameter: str) -> errors.NotFound:
    refusal = PARAMETER_NOT_FOUND.get(parameter)
    if refusal is not None:
        return refusal()
    return errors.NotFound(f"no such {parameter.removesuffix('_id').replace('_', ' ')}")


def _ascii_digits(value: Any) -> Any:
    if isinstance(value, str) and not (value.isascii() and value.isdigit()):
        raise ValueError("must be a whole number")
    return value


# A number in a query string is ASCII digits only ("5"; not "+5", "5.0" or "٣"). Put it after the field's bounds,
# ``Annotated[int, Field(ge=1), DIGITS_ONLY]``, so that the documentation shows them as minimum and maximum.
DIGITS_ONLY = BeforeValidator(_ascii_digits)


class Query(BaseModel):
    """A query string (``Call.parse_query``): values are text, read as the fields' types; a blank value is absent."""

    model_config = ConfigDict(defer_build=True)

    @model_validator(mode="before")
    @classmethod
    def _blank_is_absent(cls, data: Any) -> Any:
        return {name: value for name, value in data.items() if value != ""} if isinstance(data, dict) else data


@dataclass(frozen=True)
class Call:
    """What a route gets: the context, the caller, and the request's parts."""

    ctx: Context
    principal: Principal | None
    params: dict[str, str]
    query: dict[str, str]
    raw_body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    # The Idempotency-Key to write inside the use case's transaction (routes with idempotency_key="in_transaction").
    claim: idempotency.Claim | None = None

    @property
    def actor(self) -> Principal:
        if self.principal is None:
            raise errors.Unauthenticated()
        return self.principal

    def parse(self, model: type[Body]) -> Body:
        """The body as ``model`` (strict JSON: integers stay integers, unknown fields are refused)."""
        if not self.raw_body.strip():
            raise errors.InvalidJson("the body must be a JSON object")
        return model.model_validate_json(self.raw_body)

    def parse_query(self, model: type[Body]) -> Body:
        """The query string as ``model`` (lax: ``?limit=5`` is the integer 5), the model the API's documentation
        shows, so the two cannot drift apart."""
        return model.model_validate(self.query)


@dataclass(frozen=True)
class Reply:
    """A view's answer: ``body`` is JSON (a model or plain data) unless ``content_type`` names another type, and then
    it is sent as it is (``str`` or ``bytes``: a page, a CSV, a PDF)."""

    body: Any
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = JSON_HEADERS["Content-Type"]

    @property
    def is_json(self) -> bool:
        return self.content_type == JSON_HEADERS["Content-Type"]


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    return {"error": error}


def _json(body: Any) -> str:
    if isinstance(body, BaseModel):
        return body.model_dump_json()
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def _error_reply(failure: Exception) -> Reply:
    if isinstance(failure, errors.DomainError):
        headers = {"Retry-After": "1"} if failure.status == 503 else {}
        return Reply(error_body(failure.code, failure.message, failure.details), failure.status, headers)
    if isinstance(failure, ValidationError):
        problems = failure.errors(include_url=False, include_context=False, include_input=False)
        if any(problem["type"] == "json_invalid" for problem in problems):
            return Reply(error_body("invalid_json", "the body is not valid JSON"), 400)
        details = [
            {"field": ".".join(str(p) for p in problem["loc"]), "problem": problem["msg"]} for problem in problems
        ]
        return Reply(error_body("validation_error", "the request is not valid", details), 422)
    raise failure


def _run(view: Callable[[Call], Reply], call: Call) -> Reply:
    try:
        return view(call)
    except idempotency.Answered:
        raise  # the caller replays
    except (errors.DomainError, ValidationError) as failure:
        return _error_reply(failure)
    except PynamoDBException as failure:
        if _busy(failure):
            return _error_reply(Unavailable())
        raise


def _busy(failure: PynamoDBException) -> bool:
    """DynamoDB was too busy for the request (throttled, or a transaction cancelled for a busy item)."""
    if failure.cause_response_code in THROTTLED:
        return True
    reasons = failure.cancellation_reasons if isinstance(failure, TransactGetError | TransactWriteError) else []
    return any(reason is not None and reason.code in BUSY_REASONS for reason in reasons)


def _request_hash(call: Call) -> str:
    return hashlib.sha256(call.raw_body).hexdigest()


def _key(call: Call, route: str, header: str) -> str:
    return hashlib.sha256(
        f"{call.actor.sub}\n{route}\n{json.dumps(call.params, sort_keys=True)}\n{header}".encode()
    ).hexdigest()


def _bad_key(header: str) -> Reply | None:
    if 1 <= len(header) <= 255 and header.isprintable():
        return None
    return Reply(error_body("validation_error", "Idempotency-Key must be 1-255 printable characters"), 422)


def _replayed(remembered: idempotency.Remembered, request_hash: str) -> Reply:
    if remembered.request_hash != request_hash:
        return _error_reply(errors.IdempotencyKeyReused())
    if remembered.status != idempotency.COMPLETED or remembered.response_status is None:
        return _error_reply(errors.RequestInProgress())
    body = json.loads(remembered.response_body or "null")
    return Reply(body, int(remembered.response_status), {"Idempotent-Replayed": "true"})


def _idempotent_in_transaction(view: Callable[[Call], Reply], call: Call, route: str, header: str) -> Reply:
    """The use case writes the key, answered, in its own transaction: no begin, no finish (one round trip)."""
    bad = _bad_key(header)
    if bad is not None:
        return bad
    claim = idempotency.Claim(_key(call, route, header), _request_hash(call), call.ctx.settings.idempotency_ttl_seconds)
    try:
        reply = _run(view, replace(call, claim=claim))
    except idempotency.Answered:
        remembered = idempotency.recall(claim.key)
        if remembered is None:  # forgotten (TTL) between the refusal and this read: the client retries
            return _error_reply(errors.RequestInProgress())
        return _replayed(remembered, claim.request_hash)
    if 400 <= reply.status < 500:
        # Refused before or by its transaction, which then wrote nothing: either a replay of an answered key, or a
        # refusal to remember (as finish() does) so that a retry with this key gets it again.
        remembered = idempotency.recall(claim.key)
        if remembered is not None:
            return _replayed(remembered, claim.request_hash)
        claim.remember_refusal(reply.status, _json(reply.body))
    return reply


def _idempotent(view: Callable[[Call], Reply], call: Call, route: str, header: str) -> Reply:
    bad = _bad_key(header)
    if bad is not None:
        return bad
    key = _key(call, route, header)
    request_hash = _request_hash(call)
    deadline = time.monotonic() + REPLAY_WAIT_SECONDS
    while True:
        remembered = idempotency.begin(key, request_hash, call.ctx.settings.idempotency_ttl_seconds)
        if remembered is None:
            break  # ours: run it
        if remembered.request_hash != request_hash:
            return _error_reply(errors.IdempotencyKeyReused())
        if remembered.status == idempotency.COMPLETED and remembered.response_status is not None:
            body = json.loads(remembered.response_body or "null")
            return Reply(body, int(remembered.response_status), {"Idempotent-Replayed": "true"})
        if time.monotonic() > deadline:
            return _error_reply(errors.RequestInProgress())
        time.sleep(0.05)
    try:
        reply = _run(view, call)
    except BaseException:
        idempotency.abandon(key)
        raise
    if reply.status >= 500:
        idempotency.abandon(key)
    else:
        idempotency.finish(key, reply.status, _json(reply.body))
    return reply


def serve(route: Route, view: Callable[[Call], Reply], request: Request, params: dict[str, str]) -> Response:
    """Answers one request of ``route`` with ``view``: never raises, always JSON, one log line."""
    started = time.perf_counter()
    request_id = (request.context or {}).get("requestId") or str(uuid.uuid4())
    principal: Principal | None = None
    try:
        ctx = runtime.context()
        headers = {k.lower(): v for k, v in (request.headers or {}).items()}
        if not route.public:
            principal = authenticate(ctx.settings, headers.get("authorization"))
        malformed = malformed_parameter(params)
        if malformed is not None:
            # Refused before the view and before any read: such a value names nothing, and is answered as an id that
            # names nothing is (a caller cannot tell a malformed id from an unknown one).
            raise not_found(malformed)
        query = dict(request.query_params or {})
        reply = _answer(route, view, Call(ctx, principal, dict(params), query, _raw_body(request.raw_body), headers))
    except (errors.DomainError, ValidationError) as failure:
        reply = _error_reply(failure)
    except PynamoDBException as failure:
        # Busy outside the view: the Idempotency-Key's own reads and writes. The client retries later with its key
        # and the work is done at most once (a retry finds it answered or in progress).
        if _busy(failure):
            reply = _error_reply(Unavailable())
        else:
            runtime.logger().exception("unhandled", extra={"request_id": request_id, "route": route.key})
            reply = _internal_error()
    except Exception:
        runtime.logger().exception("unhandled", extra={"request_id": request_id, "route": route.key})
        reply = _internal_error()
    _log(request_id, route.key, principal, reply, started)
    return _response(route, request, reply)


def _answer(route: Route, view: Callable[[Call], Reply], call: Call) -> Reply:
    """The view's reply, through the route's Idempotency-Key handling."""
    header = call.headers.get("idempotency-key")
    if route.idempotency_key in ("required", "in_transaction") and not header:
        return Reply(error_body("idempotency_key_required", "send an Idempotency-Key header"), 400)
    if header and route.idempotency_key == "in_transaction":
        return _idempotent_in_transaction(view, call, route.key, header)
    if header and route.idempotency_key != "none":
        return _idempotent(view, call, route.key, header)
    return _run(view, call)


def _response(route: Route, request: Request, reply: Reply) -> Response:
    body = _json(reply.body) if reply.is_json else reply.body
    headers: dict[str, str | list[str]] = {"Content-Type": reply.content_type, **reply.headers}
    if not route.public or "authorization" in {name.lower() for name in request.headers or {}}:
        # Personal data (or an answer to someone who is signed in): no cache, shared or the browser's, keeps it.
        headers["Cache-Control"] = "no-store"
    return Response(body, status_code=reply.status, headers=headers)


def _internal_error() -> Reply:
    return Reply(error_body("internal_error", "something went wrong; it is logged"), 500)


def _raw_body(raw: str | bytes | None) -> bytes:
    if raw is None:
        return b""
    return raw.encode() if isinstance(raw, str) else raw


def _log(request_id: str, route: str, principal: Principal | None, reply: Reply, started: float) -> None:
    """One line per request: who, what, how it ended. Never a child's name or birth date."""
    code = reply.body.get("error", {}).get("code") if isinstance(reply.body, dict) else None
    runtime.logger().info(
        "request",
        extra={
            "request_id": request_id,
            "route": route,
            "actor": principal.sub if principal else None,
            "role": principal.role.value if principal else None,
            "status": reply.status,
            "outcome": code or "ok",
            "latency_ms": round((time.perf_counter() - started) * 1000, 1),
        },
    )
    if code:
        telemetry.count("Refusals" if reply.status < 500 else "Errors", code=code)
