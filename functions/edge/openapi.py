"""The API's OpenAPI 3.1 document, built from the route table (functions/edge/routes.py) and what each view says of
itself
(``@describe``, functions/edge/apidoc.py): paths, parameters, bodies and answers come from the pydantic models the
views parse and answer with, refusals from the domain's errors (their codes and statuses). Nothing here is written
by hand but the words around it.

Built on the first request for it (every view module is imported then) and kept for the life of the process.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from pydantic.json_schema import JsonSchemaMode, models_json_schema

from chalicelib.domain import errors
from functions.edge.apidoc import ApiDoc, doc_of
from functions.edge.route import PATH_PATTERNS, Route
from functions.edge.routes import routes, view_of

if TYPE_CHECKING:
    from pydantic import BaseModel

OPENAPI_VERSION = "3.1.0"
API_VERSION = "1.0.0"
REF = "#/components/schemas/{model}"
JSON = "application/json"
BEARER = "bearer"
ERROR_STATUSES = {
    400: "The request cannot be read.",
    401: "A valid bearer token is required.",
    403: "The caller may not do this.",
    404: "Not found (or not the caller's to see).",
    409: "The rules refuse it as things stand.",
    422: "The request is not valid.",
    500: "Something went wrong on our side; it is logged.",
    503: "The database is busy: retry after `Retry-After` seconds.",
}
# The codes the HTTP edge answers itself (functions/edge/http.py), with no domain error behind them.
IDEMPOTENCY_KEY_REQUIRED = ("idempotency_key_required", 400, "Send an Idempotency-Key header.")
INTERNAL_ERROR = ("internal_error", 500, "Something went wrong; it is logged.")
# The schema of a success that is not JSON.
SUCCESS_TYPES: dict[str, dict[str, str]] = {
    "text/csv": {"type": "string"},
    "application/pdf": {"type": "string", "format": "binary"},
    "text/html": {"type": "string"},
    "text/css": {"type": "string"},
    "application/javascript": {"type": "string"},
}
PATH_PARAMETERS = {
    "period_id": "The period's id, e.g. `2027`.",
    "certificate_id": "The certificate's number: 10 digits, the last a check digit.",
    "provider_id": "The provider's ИНН (10 or 12 digits).",
    "document_id": "A document id the upload request issued.",
    "program_id": "The program's id.",
    "contract_id": "The contract's id.",
    "month": "A month, `YYYY-MM`.",
    "objection_id": "The objection's id.",
    "name": "The asset's file name.",
}

DESCRIPTION = """\
The HTTP API of the region's personified financing of children's supplementary education (ПФДО).

JSON in, JSON out. Money is an integer number of kopecks everywhere. Callers send `Authorization: Bearer <JWT>`
(claims `sub`, `role`: `parent` | `provider` | `operator`, and `provider_id` or `municipality` where the role needs
one); in the `local` stage `POST /dev/token` issues one.

A refusal is `{"error": {"code": "...", "message": "..."}}` with a 4xx status, and a refused request changes
nothing. Each answer below lists the codes it may carry. POSTs marked with an `Idempotency-Key` header may be retried
with the same key: the first answer comes back (header `Idempotent-Replayed: true`) and nothing changes again.
"""


@lru_cache(maxsize=2)
def document(*, local: bool) -> dict[str, Any]:
    """The OpenAPI document of the routes a stage serves (``/dev/*`` and ``/docs`` only in the local stage)."""
    served = [(route, _doc(route)) for route in routes(local=local)]
    schemas, refs = _schemas(served)
    paths: dict[str, dict[str, Any]] = defaultdict(dict)
    for route, doc in served:
        paths[route.path][route.method.lower()] = _operation(route, doc, schemas, refs)
    return {
        "openapi": OPENAPI_VERSION,
        "info": {"title": "ПФДО functions", "version": API_VERSION, "description": DESCRIPTION},
        "paths": dict(paths),
        "components": {
            "schemas": {**schemas, "Problem": _PROBLEM},
            "securitySchemes": {
                BEARER: {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "Cognito in AWS; in the local stage, a token from POST /dev/token.",
                }
            },
        },
    }


def _doc(route: Route) -> ApiDoc:
    # A view without @describe still appears, bare (tests/unit/test_openapi.py requires every view to describe itself).
    return doc_of(view_of(route)) or ApiDoc(summary=route.view)


# --- schemas ---------------------------------------------------------------------------------------------------------

# (model, mode) -> its "$ref" into components.
Refs = dict[tuple[Any, JsonSchemaMode], dict[str, Any]]


def _schemas(served: Iterable[tuple[Route, ApiDoc]]) -> tuple[dict[str, Any], Refs]:
    """Every model's JSON schema under components (pydantic names each once, telling same-named models apart)."""
    wanted: dict[tuple[type[BaseModel], JsonSchemaMode], None] = {}
    for _route, doc in served:
        uses: tuple[tuple[type[BaseModel] | None, JsonSchemaMode], ...] = (
            (doc.body, "validation"),
            (doc.query, "validation"),
            (doc.returns, "serialization"),
        )
        for model, mode in uses:
            if model is not None:
                wanted[(model, mode)] = None
    refs, definitions = models_json_schema(list(wanted), ref_template=REF)
    return definitions.get("$defs", {}), dict(refs)


def _resolved(schema: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
        resolved: dict[str, Any] = schemas[ref.rsplit("/", 1)[1]]
        return resolved
    return schema


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A query parameter is absent rather than null: ``anyOf: [X, null]`` becomes X."""
    options = schema.get("anyOf")
    if isinstance(options, list):
        kept = [option for option in options if option != {"type": "null"}]
        if len(kept) == 1:
            rest = {key: value for key, value in schema.items() if key not in ("anyOf", "default")}
            return {**rest, **kept[0]}
    return schema


# --- operations ------------------------------------------------------------------------------------------------------


def _operation(route: Route, doc: ApiDoc, schemas: dict[str, Any], refs: Refs) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": route.name,
        "summary": doc.summary,
        "tags": [_tag(route.path)],
        "parameters": _parameters(route, doc, schemas, refs),
        "responses": {**_successes(route, doc, refs), **_refusals(route, doc)},
        "security": _security(route, doc),
    }
    if doc.roles:
        operation["description"] = "Who: " + "; ".join(doc.roles) + "."
        operation["x-roles"] = list(doc.roles)
    if doc.body is not None:
        body = doc.body
        operation["requestBody"] = {
            # A body whose fields are all optional may be left out.
            "required": any(field.is_required() for field in body.model_fields.values()),
            "content": {JSON: {"schema": refs[(body, "validation")]}},
        }
    if not operation["parameters"]:
        del operation["parameters"]
    return operation


def _tag(path: str) -> str:
    return path.strip("/").split("/", 1)[0] or "api"


def _parameters(route: Route, doc: ApiDoc, schemas: dict[str, Any], refs: Refs) -> list[dict[str, Any]]:
    parameters: list[dict[str, Any]] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "description": PATH_PARAMETERS.get(name, name),
            "schema": {"type": "string", "pattern": f"^(?:{PATH_PATTERNS[name]})$"},
        }
        for name in route.parameters
    ]
    if doc.query is not None:
        model = _resolved(refs[(doc.query, "validation")], schemas)
        required = set(model.get("required", []))
        for name, schema in model.get("properties", {}).items():
            parameter = {"name": name, "in": "query", "required": name in required, "schema": _without_null(schema)}
            if "description" in schema:
                parameter["description"] = schema["description"]
            parameters.append(parameter)
    if route.idempotency_key != "none":
        parameters.append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": route.idempotency_key in ("required", "in_transaction"),
                "description": "Makes a retry safe: the same key and body return the first answer, changing nothing.",
                "schema": {"type": "string", "minLength": 1, "maxLength": 255},
            }
        )
    return parameters


def _successes(route: Route, doc: ApiDoc, refs: Refs) -> dict[str, Any]:
    content: dict[str, Any] = {}
    for media_type in doc.produces:
        schema: dict[str, Any]
        if media_type == JSON:
            schema = refs[(doc.returns, "serialization")] if doc.returns is not None else {"type": "object"}
        else:
            schema = SUCCESS_TYPES.get(media_type, {"type": "string"})
        content[media_type] = {"schema": schema}
    answer: dict[str, Any] = {"description": doc.summary, "content": content}
    if route.idempotency_key != "none":
        answer["headers"] = {
            "Idempotent-Replayed": {
                "description": "`true` when this is the remembered answer to an earlier request with the same key.",
                "schema": {"type": "string", "enum": ["true"]},
            }
        }
    answers = {str(doc.status): answer}
    for status, meaning in doc.also:
        answers[str(status)] = {**answer, "description": meaning}
    return answers


def _security(route: Route, doc: ApiDoc) -> list[dict[str, list[str]]]:
    if not route.public:
        return [{BEARER: []}]
    # A public route that reads a token when one is sent (e.g. a draft shown to its provider).
    return [{}, {BEARER: []}] if errors.Unauthenticated in doc.refusals else []


# --- refusals --------------------------------------------------------------------------------------------------------

_PROBLEM = {
    "type": "object",
    "required": ["field", "problem"],
    "properties": {"field": {"type": "string"}, "problem": {"type": "string"}},
}


def _refusal_classes(route: Route, doc: ApiDoc) -> list[type[errors.DomainError]]:
    """The domain errors ``route`` may answer with: the view's and those of the edge that apply to it."""
    from functions.edge.http import PARAMETER_NOT_FOUND, Unavailable  # the edge, loaded with the document only

    generic: list[type[errors.DomainError]] = [errors.InvalidRequest, Unavailable]
    if doc.body is not None:
        generic.append(errors.InvalidJson)
    if not route.public:
        generic += [errors.Unauthenticated, errors.Forbidden]
    if route.parameters:
        generic.append(errors.NotFound)
        # A path id that cannot be one is refused by the edge as the thing it names is when absent.
        generic += [PARAMETER_NOT_FOUND[name] for name in route.parameters if name in PARAMETER_NOT_FOUND]
    if route.idempotency_key != "none":
        generic += [errors.IdempotencyKeyReused, errors.RequestInProgress]
    return [*generic, *doc.refusals]


def refusal_codes(route: Route, doc: ApiDoc) -> dict[int, dict[str, str]]:
    """status -> {code: meaning} of every refusal ``route`` may answer with: its own and the edge's."""
    found: dict[int, dict[str, str]] = defaultdict(dict)
    for refusal in _refusal_classes(route, doc):
        found[refusal.status][refusal.code] = _meaning(refusal)
    edge = [INTERNAL_ERROR]
    if route.idempotency_key in ("required", "in_transaction"):
        edge.append(IDEMPOTENCY_KEY_REQUIRED)
    for code, status, meaning in edge:
        found[status][code] = meaning
    return dict(found)


def _meaning(refusal: type[errors.DomainError]) -> str:
    return (refusal.__doc__ or refusal.code).strip().splitlines()[0]


def _refusals(route: Route, doc: ApiDoc) -> dict[str, Any]:
    # Statuses at which a refusal tells more than its message (e.g. duplicate_child: the other certificate's
    # municipality): the error classes that override DomainError.details.
    with_facts = {
        refusal.status for refusal in _refusal_classes(route, doc) if refusal.details is not errors.DomainError.details
    }
    answers: dict[str, Any] = {}
    for status, codes in sorted(refusal_codes(route, doc).items()):
        lines = "\n".join(f"- `{code}`: {meaning}" for code, meaning in sorted(codes.items()))
        envelope = _envelope(sorted(codes), problems=status == 422, facts=status in with_facts)
        answer: dict[str, Any] = {
            "description": f"{ERROR_STATUSES.get(status, 'Refused.')}\n\n{lines}",
            "content": {JSON: {"schema": envelope}},
        }
        if status == 503:
            answer["headers"] = {
                "Retry-After": {"description": "Seconds to wait before retrying.", "schema": {"type": "string"}}
            }
        answers[str(status)] = answer
    return answers


def _envelope(codes: list[str], *, problems: bool, facts: bool) -> dict[str, Any]:
    """``{"error": {"code", "message", "details"?}}`` with the codes this answer may carry; ``details`` lists the
    request's problems (a 422 of the models) or names facts (an error's own ``details``)."""
    error: dict[str, Any] = {
        "type": "object",
        "required": ["code", "message"],
        "properties": {"code": {"type": "string", "enum": codes}, "message": {"type": "string"}},
        "additionalProperties": False,
    }
    kinds: list[dict[str, Any]] = []
    if problems:
        kinds.append({"type": "array", "items": {"$ref": "#/components/schemas/Problem"}})
    if facts:
        kinds.append({"type": "object", "additionalProperties": {"type": "string"}})
    if kinds:
        error["properties"]["details"] = kinds[0] if len(kinds) == 1 else {"anyOf": kinds}
    return {"type": "object", "required": ["error"], "properties": {"error": error}, "additionalProperties": False}
