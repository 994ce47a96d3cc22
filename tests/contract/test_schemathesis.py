"""schemathesis against the local stack: every operation of /openapi.json, for every role, holds its contract.

For each role (anonymous, a parent, an approved provider, a municipal operator, the regional operator) a small world
is seeded through the services (a running period, providers, programs in each status, two families, a contract that
was accepted, charged and rated, a provider's document), then every operation is called with generated requests,
valid and invalid, its path parameters now and then naming the world's real objects. Each answer must:

- not be a 5xx;
- have a status, content type, headers and body that the document declares for it (schemathesis' checks);
- if it is a 4xx, carry an error code, and leave every table as it was: every DynamoDB call the app sends is
  recorded, and when a refused request sent any write (a conditional put or update, a transaction), each table is
  scanned and compared with its contents before the request; a request that sent no write cannot have changed them.
  The one write a refusal may make is the Idempotency-Key record that remembers it, under the status it answered.

A 2xx may write; after all the calls, every certificate still reconciles with its ledger (I1-I3).

The app is called in process through chalice's LocalGateway, the very request path `chalice local` serves over its
socket (chalice.test.Client wraps it), adapted to WSGI for schemathesis' in-process transport: no port, no server
process on a 2-core machine, the worker's own DynamoDB Local tables, the service's clock fixed by the test, and no
thread between a request and the table snapshots around it. One role (the parent, the Navigator's main caller) runs
again through the production path instead: each request as the payload-2.0 event a Function URL sends, into
``app.url_handler`` (the Function URL adapter, observed by Powertools), with a Lambda context. /dev/clock is left
out (it moves the clock), and so is /openapi.json, which schemathesis loads the document from.

Generation is derandomized (same examples every run); the counts of each role are written to
bench/results/schemathesis/<role>.json and printed (``-s``).
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from http import HTTPStatus
from pathlib import Path
from typing import Any

import boto3
import pytest
import schemathesis
from botocore.client import BaseClient
from chalice.test import Client
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from chalicelib.domain import errors
from chalicelib.domain.actors import Principal, Role
from chalicelib.domain.period import Period
from chalicelib.domain.provider import DocumentKind, document_key
from chalicelib.platform.auth import issue_local_token
from chalicelib.platform.clock import SettableClock
from chalicelib.services import certificates, contracts, periods, providers, ratings
from chalicelib.storage.models import TABLES
from functions import runtime
from functions.edge.apidoc import ATTRIBUTE, doc_of
from functions.edge.http import Call, Reply
from functions.edge.routes import routes
from tests import factories
from tests.helpers import documents_bucket as fresh_documents_bucket
from tests.helpers import local_s3

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results" / "schemathesis"
# Examples per operation for one role (valid and invalid requests together); more for a deeper run by hand.
EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "10"))
# Without a token a route that needs one refuses before it reads anything else: a few examples show it.
ANONYMOUS_EXAMPLES = 3
# /dev/clock moves the clock; schemathesis leaves out the path it loads the document from (/openapi.json).
LEFT_OUT = {"POST /dev/clock", "DELETE /dev/clock", "GET /openapi.json"}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
NOW = datetime(2027, 2, 10, 3, 0, tzinfo=UTC)  # 2027-02-10 15:00 in Kamchatka: period 2027 is running
MUNICIPALITY = "elizovo"
PROVIDER = "7707083893"
PENDING_PROVIDER = "7736207543"
PDF = b"%PDF-1.7\n" + bytes(range(256)) + b"\n%%EOF\n"

# The DynamoDB calls that write.
WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})

CALLERS: dict[str, Principal | None] = {
    "anonymous": None,
    "parent": Principal("parent-contract", Role.PARENT),
    "provider": Principal(f"user-{PROVIDER}", Role.PROVIDER, provider_id=PROVIDER),
    "operator": Principal("operator-elizovo", Role.OPERATOR, municipality=MUNICIPALITY),
    "regional_operator": Principal("operator-region", Role.OPERATOR, municipality="*"),
}
OTHER_PARENT = Principal("parent-other", Role.PARENT)


# --- the stack -------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    with local_s3() as endpoint:
        yield endpoint


@pytest.fixture
def documents_bucket(table_prefix: str, s3_endpoint: str) -> Iterator[str]:
    with fresh_documents_bucket(s3_endpoint) as name:
        yield name


@pytest.fixture
def dynamodb_writes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the DynamoDB writes sent by this process (every client: PynamoDB's and boto3's) while recorded."""
    sent: list[str] = []
    send = BaseClient._make_api_call

    def recorded(client: BaseClient, operation: str, parameters: dict[str, Any]) -> Any:
        if operation in WRITES:
            sent.append(operation)
        return send(client, operation, parameters)

    monkeypatch.setattr(BaseClient, "_make_api_call", recorded)
    return sent


def wsgi(client: Client) -> Callable[..., Iterable[bytes]]:
    """The app behind chalice's LocalGateway as a WSGI application: the raw path and query, headers and body go
    through as `chalice local`'s request handler passes them."""

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        headers = {name[5:].replace("_", "-").lower(): value for name, value in environ.items() if name[:5] == "HTTP_"}
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        response = client.http.request(environ["REQUEST_METHOD"], environ["REQUEST_URI"], headers=headers, body=body)
        status = f"{response.status_code} {HTTPStatus(response.status_code).phrase}"
        start_response(status, list(response.headers.items()))
        return [response.body]

    return application


class LambdaContext:
    """What Lambda passes the Function URL's handler (the attributes Powertools and the jobs read)."""

    function_name = "pfdo-functions-local-api_handler"
    function_version = "$LATEST"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:eu-central-1:123456789012:function:pfdo-functions-local-api_handler"

    def __init__(self) -> None:
        self.aws_request_id = str(uuid.uuid4())

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def function_url_wsgi() -> Callable[..., Iterable[bytes]]:
    """The app behind its Function URL handler (``app.url_handler``) as a WSGI application: each request becomes the
    payload-2.0 event Lambda sends for a Function URL (raw path and query, lower-case headers, a text body as it is
    and any other base64-encoded), and the handler's answer the WSGI response (a base64 body decoded, cookies as
    Set-Cookie)."""
    import app

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        headers = {name[5:].replace("_", "-").lower(): value for name, value in environ.items() if name[:5] == "HTTP_"}
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        raw_path, _, raw_query = environ["REQUEST_URI"].partition("?")
        try:
            text, encoded = body.decode("utf-8"), False
        except UnicodeDecodeError:
            text, encoded = base64.b64encode(body).decode(), True
        event = {
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": raw_path,
            "rawQueryString": raw_query,
            "headers": headers,
            "requestContext": {
                "accountId": "anonymous",
                "apiId": "local",
                "domainName": "localhost",
                "http": {
                    "method": environ["REQUEST_METHOD"],
                    "path": raw_path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": "127.0.0.1",
                    "userAgent": headers.get("user-agent", ""),
                },
                "requestId": str(uuid.uuid4()),
                "routeKey": "$default",
                "stage": "$default",
                "timeEpoch": int(time.time() * 1000),
            },
            "isBase64Encoded": encoded,
        }
        if body:
            event["body"] = text
        answer = app.url_handler(event, LambdaContext())
        payload = answer.get("body") or ""
        content = base64.b64decode(payload) if answer.get("isBase64Encoded") else payload.encode()
        response_headers = list(answer.get("headers", {}).items())
        response_headers += [("Set-Cookie", cookie) for cookie in answer.get("cookies", [])]
        start_response(f"{answer['statusCode']} {HTTPStatus(answer['statusCode']).phrase}", response_headers)
        return [content]

    return application


# --- the world -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class World:
    """What a request may name to reach real objects: ids per path parameter, and bodies per operation that name
    them (a second enrolment, a month already charged, a child already registered, ...)."""

    known: dict[str, list[str]]
    bodies: dict[str, list[dict[str, Any]]]


def seed(documents_bucket: str) -> World:
    """A running period, an approved provider with its programs and a document, an application waiting, a family
    with a funded certificate under an accepted, charged and rated contract, and another family."""
    ctx = runtime.context()
    assert isinstance(ctx.clock, SettableClock)
    ctx.clock.set(NOW)
    region, parent, provider = CALLERS["regional_operator"], CALLERS["parent"], CALLERS["provider"]
    assert region is not None and parent is not None and provider is not None
    period = Period(
        period_id="2027",
        starts_on=date(2027, 1, 1),
        ends_on=date(2027, 12, 31),
        nominal=2_400_000,
        quotas={MUNICIPALITY: 50, "milkovo": 1},
        timezone=ctx.settings.region_timezone,
    )
    periods.open_period(ctx, region, period)
    ctx.calendar.invalidate()
    factories.approved_provider(PROVIDER, MUNICIPALITY)
    factories.approved_provider(PENDING_PROVIDER, MUNICIPALITY, status="applied")
    paid = factories.program(period, PROVIDER, price=100_000)
    free = factories.program(period, PROVIDER, price=0, status="published")
    draft = factories.program(period, PROVIDER, status="draft")

    funded = certificates.register_child(ctx, parent, "Орлова Дарья", date(2016, 4, 12), MUNICIPALITY)
    certificates.fund(ctx, parent, funded.certificate_id)
    accounting = certificates.register_child(ctx, parent, "Орлов Павел", date(2014, 2, 1), MUNICIPALITY)
    other = certificates.register_child(ctx, OTHER_PARENT, "Смирнов Иван", date(2015, 6, 3), MUNICIPALITY)
    contract = contracts.enrol(ctx, parent, funded.certificate_id, paid, "seed-enrolment")
    contracts.accept(ctx, provider, contract.contract_id)
    contracts.charge(ctx, provider, contract.contract_id, "2027-02", 100_000)
    ratings.rate(ctx, parent, paid, contract.contract_id, 5, "Интересно")
    requested = contracts.enrol(ctx, parent, accounting.certificate_id, free, "seed-free")

    grant = providers.request_upload(ctx, provider, PROVIDER, DocumentKind.LICENCE, "application/pdf", len(PDF))
    key = document_key(PROVIDER, grant.document_id)
    boto3.client("s3").put_object(Bucket=documents_bucket, Key=key, Body=PDF, ContentType="application/pdf")
    providers.confirm_document(ctx, provider, PROVIDER, grant.document_id)
    return World(
        {
            "period_id": [period.period_id],
            "certificate_id": [funded.certificate_id, accounting.certificate_id, other.certificate_id],
            "provider_id": [PROVIDER, PENDING_PROVIDER],
            "document_id": [grant.document_id],
            "program_id": [paid, free, draft],
            "contract_id": [contract.contract_id, requested.contract_id],
            "month": ["2027-02", "2027-03"],
            "name": ["swagger-ui.css"],
        },
        {
            "POST /periods": [
                {
                    "period_id": "2028",
                    "starts_on": "2028-01-01",
                    "ends_on": "2028-12-31",
                    "nominal": 2_400_000,
                    "quotas": {MUNICIPALITY: 5},
                },
                {
                    "period_id": "2027b",
                    "starts_on": "2027-06-01",
                    "ends_on": "2028-05-31",
                    "nominal": 1,
                    "quotas": {MUNICIPALITY: 1},
                },
            ],
            "POST /children": [
                {"full_name": "Орлова Дарья", "birth_date": "2016-04-12", "municipality": MUNICIPALITY},
                {"full_name": "Орлова Вера", "birth_date": "2019-09-30", "municipality": "milkovo"},
            ],
            "POST /contracts": [
                {"certificate_id": funded.certificate_id, "program_id": paid},
                {"certificate_id": accounting.certificate_id, "program_id": paid},
                {"certificate_id": funded.certificate_id, "program_id": free},
                {"certificate_id": other.certificate_id, "program_id": free},
            ],
            "POST /contracts/{contract_id}/charges": [
                {"month": "2027-02", "amount": 100_000},
                {"month": "2027-01", "amount": 50_000},
                {"month": "2027-03", "amount": 1},
            ],
            "POST /contracts/{contract_id}/cancel": [{}, {"reason": "переезд"}],
            "POST /contracts/{contract_id}/decline": [{"reason": "нет мест"}],
            "POST /programs/{program_id}/ratings": [{"contract_id": contract.contract_id, "score": 4}],
            "POST /providers/{provider_id}/decision": [
                {"decision": "approve"},
                {"decision": "reject", "reason": "нет лицензии"},
                {"decision": "suspend", "reason": "проверка"},
            ],
            "POST /certificates/{certificate_id}/freeze": [{"reason": "проверка"}],
            "PATCH /programs/{program_id}": [{"capacity": 1}, {"price_per_month": 200_000}],
        },
    )


def authorization(role: str) -> dict[str, str]:
    principal = CALLERS[role]
    if principal is None:
        return {}
    claims = {"sub": principal.sub, "role": principal.role.value}
    if principal.municipality:
        claims["municipality"] = principal.municipality
    if principal.provider_id:
        claims["provider_id"] = principal.provider_id
    return {"Authorization": f"Bearer {issue_local_token(runtime.context().settings, claims)}"}


# --- what is checked -------------------------------------------------------------------------------------------------

Tables = dict[str, list[dict[str, Any]]]


def snapshot(dynamodb: Any) -> Tables:
    """Every item of every table: a consistent Scan of each (they hold a few dozen items), all at once."""

    def scan(table: str) -> list[dict[str, Any]]:
        pages = dynamodb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True)
        return [item for page in pages for item in page["Items"]]

    with ThreadPoolExecutor(max_workers=len(TABLES)) as pool:
        scans = {base: pool.submit(scan, model.Meta.table_name) for base, (model, _ttl) in TABLES.items()}
        return {base: found.result() for base, found in scans.items()}


def refusal_writes(before: Tables, after: Tables, status: int) -> list[str]:
    """What a refused request changed, beyond the Idempotency-Key record that remembers the refusal."""
    changed: list[str] = []
    for table in sorted(set(before) | set(after)):
        old = {json.dumps(item, sort_keys=True) for item in before.get(table, [])}
        new = {json.dumps(item, sort_keys=True) for item in after.get(table, [])}
        added, removed = new - old, old - new
        if table == "idempotency" and not removed:
            added = {item for item in added if not _remembers(json.loads(item), status)}
        if added or removed:
            changed.append(f"{table}: +{len(added)} -{len(removed)}")
    return changed


def _remembers(record: dict[str, Any], status: int) -> bool:
    return record.get("status", {}).get("S") == "completed" and record.get("response_status", {}).get("N") == str(
        status
    )


def error_code(body: bytes) -> str | None:
    try:
        code = json.loads(body)["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None
    return code if isinstance(code, str) and code else None


@dataclass
class Run:
    """One role's run: what was sent, what came back, and every broken promise."""

    role: str
    headers: dict[str, str]
    dynamodb: Any
    writes: list[str]
    tables: Tables
    operations: list[str] = field(default_factory=list)
    examples: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    codes: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    # Refusals that had sent a write (a refused condition, a cancelled transaction), then compared table by table.
    refusals_scanned: int = 0

    def exercise(self, label: str, case: Case) -> None:
        self.writes.clear()
        response = case.call(headers=self.headers)
        wrote = bool(self.writes)
        self.examples += 1
        self.statuses[f"{response.status_code // 100}xx"] += 1
        self.codes[f"{response.status_code} {error_code(response.content) or ''}".strip()] += 1
        problems: list[str] = []
        try:
            case.validate_response(response, checks=CHECKS, headers=self.headers)
        except FailureGroup as group:
            problems += [failure.title for failure in group.exceptions]
        after = snapshot(self.dynamodb) if wrote else self.tables
        if 400 <= response.status_code < 500:
            if error_code(response.content) is None:
                problems.append("a 4xx without an error code")
            self.refusals_scanned += wrote
            changes = refusal_writes(self.tables, after, response.status_code)
            if changes:
                problems.append(f"a refused request wrote: {', '.join(changes)}")
        self.tables = after
        if problems:
            self.failures.append(f"{label} -> {response.status_code} {response.content[:200]!r}: {'; '.join(problems)}")

    def summary(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "operations": len(self.operations),
            "examples": self.examples,
            "statuses": dict(sorted(self.statuses.items())),
            "failures": len(self.failures),
            "refusals_that_sent_a_write_compared_by_scan": self.refusals_scanned,
            "answers": dict(self.codes.most_common()),
        }


def known_paths(path_parameters: Iterable[str], known: dict[str, list[str]]) -> list[dict[str, str]]:
    names = list(path_parameters)
    if not names or any(name not in known for name in names):
        return []
    return [dict(zip(names, values, strict=True)) for values in itertools.product(*(known[n] for n in names))][:4]


def cases(operation: Any, label: str, world: World) -> st.SearchStrategy[Case]:
    """Valid and invalid requests; valid ones also naming the world's objects in their path and in their body."""
    names = [parameter.name for parameter in operation.path_parameters]
    paths = known_paths(names, world.known)
    options = [operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE)]
    options += [operation.as_strategy(GenerationMode.POSITIVE, path_parameters=known) for known in paths]
    for body in world.bodies.get(label, []):
        for known in paths[:2] or [None]:
            options.append(operation.as_strategy(GenerationMode.POSITIVE, path_parameters=known, body=body))
    return st.one_of(options)


def fuzz(run: Run, operation: Any, world: World, examples: int) -> None:
    label = f"{operation.method.upper()} {operation.path}"
    needs_token = operation.definition.raw.get("security") == [{"bearer": []}]

    @settings(
        max_examples=ANONYMOUS_EXAMPLES if run.role == "anonymous" and needs_token else examples,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],  # failures are collected, not shrunk
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases(operation, label, world))
    def exercise(case: Case) -> None:
        run.exercise(label, case)

    exercise()
    run.operations.append(label)


def run_role(
    role: str,
    api: Client,
    world: World,
    writes: list[str],
    only: set[str] | None = None,
    examples: int = EXAMPLES,
    gateway: Callable[..., Iterable[bytes]] | None = None,
) -> Run:
    """Every operation (or ``only`` these) called as ``role``, through chalice's LocalGateway unless ``gateway`` says
    otherwise; the schema is the one the app serves."""
    config = schemathesis.Config.from_dict({"generation": {"with-security-parameters": False}})
    schema = schemathesis.openapi.from_wsgi("/openapi.json", gateway or wsgi(api), config=config)
    dynamodb = boto3.client("dynamodb")
    run = Run(role, authorization(role), dynamodb, writes, snapshot(dynamodb))
    for result in schema.get_all_operations():
        operation = result.ok()
        label = f"{operation.method.upper()} {operation.path}"
        if label in LEFT_OUT or (only is not None and label not in only):
            continue
        fuzz(run, operation, world, examples)
    return run


# --- the tests -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", list(CALLERS))
def test_every_operation_keeps_its_contract(
    role: str, api: Client, documents_bucket: str, dynamodb_writes: list[str]
) -> None:
    check_every_operation(role, api, documents_bucket, dynamodb_writes)


def test_every_operation_keeps_its_contract_through_the_function_url(
    api: Client, documents_bucket: str, dynamodb_writes: list[str]
) -> None:
    """The production path: Function URL events into ``app.url_handler``, not chalice's LocalGateway."""
    check_every_operation("parent", api, documents_bucket, dynamodb_writes, function_url_wsgi(), "parent.function_url")


def check_every_operation(
    role: str,
    api: Client,
    documents_bucket: str,
    writes: list[str],
    gateway: Callable[..., Iterable[bytes]] | None = None,
    name: str | None = None,
) -> None:
    world = seed(documents_bucket)
    started = time.monotonic()
    run = run_role(role, api, world, writes, gateway=gateway)
    for certificate_id in world.known["certificate_id"]:
        if not certificates.reconcile(certificate_id).consistent:
            run.failures.append(f"certificate {certificate_id} no longer reconciles with its ledger")
    summary = {**run.summary(), "seconds": round(time.monotonic() - started, 1)}
    RESULTS.mkdir(parents=True, exist_ok=True)
    result = json.dumps({**summary, "failed": run.failures}, indent=2, ensure_ascii=False)
    (RESULTS / f"{name or role}.json").write_text(result)
    print(f"\nschemathesis {json.dumps(summary, ensure_ascii=False)}")
    assert sorted(run.operations) == sorted(route.key for route in routes(local=True) if route.key not in LEFT_OUT)
    assert not run.failures, "\n".join(run.failures[:30])


def test_the_run_catches_a_refusal_that_wrote_a_server_error_and_an_undocumented_code(
    api: Client, documents_bucket: str, dynamodb_writes: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The harness itself: three views broken on purpose, each caught. They keep the documentation of the views they
    stand in for (the document is built once per process, whichever test asks first)."""
    from functions import certificates as views

    world = seed(documents_bucket)

    def writes_then_refuses(call: Call) -> Reply:
        factories.approved_provider("7700000001", MUNICIPALITY)
        raise errors.Forbidden()

    def crashes(call: Call) -> Reply:
        raise ValueError("a defect")

    def undocumented(call: Call) -> Reply:
        raise errors.QuotaExhausted()

    for name, broken_view in (("list_children", writes_then_refuses), ("view", crashes), ("unfreeze", undocumented)):
        setattr(broken_view, ATTRIBUTE, doc_of(getattr(views, name)))
        monkeypatch.setattr(views, name, broken_view)
    broken = {"GET /children", "GET /certificates/{certificate_id}", "POST /certificates/{certificate_id}/unfreeze"}
    run = run_role("parent", api, world, dynamodb_writes, only=broken, examples=3)
    found = "\n".join(run.failures)
    assert "GET /children -> 403" in found and "a refused request wrote: providers: +1 -0" in found
    assert "GET /certificates/{certificate_id} -> 500" in found
    assert "POST /certificates/{certificate_id}/unfreeze -> 409" in found


def test_a_refusal_may_write_only_the_record_that_remembers_it() -> None:
    item = {"certificate_id": {"S": "1234567890"}}
    remembered = {"key": {"S": "k"}, "status": {"S": "completed"}, "response_status": {"N": "409"}}
    before: Tables = {"certificates": [item], "idempotency": []}
    assert refusal_writes(before, {"certificates": [item], "idempotency": [remembered]}, 409) == []
    assert refusal_writes(before, {"certificates": [item], "idempotency": [remembered]}, 422) == ["idempotency: +1 -0"]
    changed = {"certificate_id": {"S": "1234567890"}, "status": {"S": "frozen"}}
    assert refusal_writes(before, {"certificates": [changed], "idempotency": []}, 409) == ["certificates: +1 -1"]
    assert error_code(b'{"error": {"code": "no_seats", "message": "No free seat"}}') == "no_seats"
    assert error_code(b'{"Code": "UnsupportedMediaType"}') is None
