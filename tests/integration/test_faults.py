"""Faults: DynamoDB throttling and transaction conflicts, a crash between a write and its answer, and a top-up cut
short by its Lambda's time limit.

Throttling and conflicts are answered where botocore would send the request (``before-send``): the request never
reaches DynamoDB Local, and everything above it (botocore's own retries, PynamoDB, the product) sees what AWS answers
(HTTP 400 ``ThrottlingException`` / ``ProvisionedThroughputExceededException``, or ``TransactionCanceledException``
whose reasons are ``TransactionConflict``, ``ThrottlingError`` or ``ProvisionedThroughputExceeded``). DynamoDB Local
never throttles and serialises transactions, so no race could show these. Backoff sleeps are recorded instead of
slept: who slept (botocore's retry handler or the product's retry helper), how long.

A crash is an exception raised once the commit's answer is back (``after-call``): the write is in the table, the
caller gets a 500, as when the Lambda dies before it answers. A time-out is the top-up's own time budget running
out (one page per scan segment and it stops) or the runtime cutting the job after a commit, before its checkpoint.
"""

from __future__ import annotations

import json
import random
import sys
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders
from chalice.test import Client
from pynamodb.models import Model
from pynamodb.settings import get_settings_value

from chalicelib.domain.certificate import Balance, CertificateStatus
from chalicelib.domain.ledger import EntryKind
from chalicelib.domain.period import Period
from chalicelib.platform.clock import SettableClock
from chalicelib.platform.config import Settings
from chalicelib.services import certificates, contracts
from chalicelib.services.context import Context
from chalicelib.services.periods import progress
from chalicelib.services.rollover import run_topup
from chalicelib.storage import movements
from chalicelib.storage import periods as period_store
from chalicelib.storage.models import ALL_MODELS, ContractRecord, LedgerRecord, ProgramRecord
from chalicelib.storage.transactions import CONFLICT_ATTEMPTS, transaction_connection
from tests.concurrency.audit import audit_all, quota
from tests.concurrency.world import (
    A_ENDS,
    A_STARTS,
    IN_A,
    IN_B,
    MUNICIPALITY,
    NOMINAL_A,
    PERIOD_A,
    PERIOD_B,
    PROVIDER,
    PROVIDER_ID,
    TZ,
    entitlement_b,
    open_period_a,
    open_period_b,
    parent,
)
from tests.conftest import LOCAL_SECRET
from tests.factories import approved_provider, program
from tests.helpers import table_contents
from tests.integration.test_http import CHILD, PERIOD_2027, call, payload, token

PRICE = 100_000
# PynamoDB's connection: botocore's "standard" retry mode, 1 + max_retry_attempts (3 unless configured) attempts.
BOTOCORE_ATTEMPTS = 1 + int(get_settings_value("max_retry_attempts"))
BOTOCORE_CAP = 20.0  # botocore's standard mode: sleep rand(0, 1) * min(2 ** attempt, 20) seconds


# --- what AWS answers, made where botocore sends the request ---------------------------------------------------------


class _Body:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.data


def _aws_error(request: Any, error: str, reasons: tuple[str, ...]) -> AWSResponse:
    """DynamoDB's JSON error (HTTP 400); a transaction's cancellation names one reason per item, the first failing."""
    body: dict[str, Any] = {"__type": f"com.amazonaws.dynamodb.v20120810#{error}", "message": f"injected {error}"}
    if reasons:
        items = len(json.loads(request.body)["TransactItems"])
        codes = [*reasons, *["None"] * (items - len(reasons))][:items]
        body["CancellationReasons"] = [{"Code": code, "Message": f"injected {code}"} for code in codes]
        body["Message"] = f"Transaction cancelled, please refer cancellation reasons for specific reasons {codes}"
    headers = HTTPHeaders()
    headers["Content-Type"] = "application/x-amz-json-1.0"
    headers["x-amzn-RequestId"] = f"injected-{uuid.uuid4()}"
    return AWSResponse(request.url, 400, headers, _Body(json.dumps(body).encode()))


def _clients() -> list[Any]:
    """Every botocore client the storage layer sends with: the transactions' one and each model's."""
    clients = [transaction_connection().client]
    for model in ALL_MODELS:
        model_cls: type[Model] = model
        clients.append(model_cls._get_connection().connection.client)
    return list({id(c): c for c in clients}.values())


@dataclass
class Injected:
    """Requests of the operation that were about to be sent, and how many of them got the fault instead."""

    sent: int = 0
    answered: int = 0


@contextmanager
def dynamodb_answers(
    operation: str, error: str, *, times: int | None = None, reasons: tuple[str, ...] = ()
) -> Iterator[Injected]:
    """The next ``times`` (all, if None) ``operation`` requests get ``error`` from "DynamoDB" instead of reaching it."""
    injected = Injected()

    def answer(request: Any, **_: Any) -> AWSResponse | None:
        injected.sent += 1
        if times is not None and injected.answered >= times:
            return None
        injected.answered += 1
        return _aws_error(request, error, reasons)

    unique = f"fault-{uuid.uuid4()}"
    clients = _clients()
    for client in clients:
        client.meta.events.register(f"before-send.dynamodb.{operation}", answer, unique_id=unique)
    try:
        yield injected
    finally:
        for client in clients:
            client.meta.events.unregister(f"before-send.dynamodb.{operation}", unique_id=unique)


class LambdaDied(Exception):
    """The function stopped after DynamoDB committed and before it answered."""


@contextmanager
def dies_after(operation: str) -> Iterator[list[str]]:
    """The next ``operation`` is committed by DynamoDB, then the function dies before it answers (once)."""
    died: list[str] = []

    def die(**_: Any) -> None:
        if not died:
            died.append(operation)
            raise LambdaDied(operation)

    unique = f"crash-{uuid.uuid4()}"
    clients = _clients()
    for client in clients:
        client.meta.events.register(f"after-call.dynamodb.{operation}", die, unique_id=unique)
    try:
        yield died
    finally:
        for client in clients:
            client.meta.events.unregister(f"after-call.dynamodb.{operation}", unique_id=unique)


@dataclass
class Sleeps:
    """Every ``time.sleep`` of the process, by the module that slept; backoff sleeps are recorded, not slept."""

    real: Callable[[float], None]
    by: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))

    # botocore's retry handler, and the product's one retry helper (chalicelib/storage/retry.py).
    BACKOFF = ("botocore.endpoint", "chalicelib.storage.retry")

    def __call__(self, seconds: float) -> None:
        module = sys._getframe(1).f_globals.get("__name__", "")
        self.by[module].append(seconds)
        if module not in self.BACKOFF:
            self.real(seconds)

    @property
    def botocore(self) -> list[float]:
        return self.by["botocore.endpoint"]

    @property
    def transactions(self) -> list[float]:
        """The product's retry sleeps: in these tests only a transaction's, sent again after a busy item."""
        return self.by["chalicelib.storage.retry"]


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sleeps]:
    """Records the backoff sleeps; the jitter (``random``) is seeded, so a run is repeatable."""
    state = random.getstate()
    random.seed(20270310)
    recorder = Sleeps(time.sleep)
    monkeypatch.setattr(time, "sleep", recorder)
    yield recorder
    random.setstate(state)


def assert_full_jitter(delays: list[float], caps: list[float]) -> None:
    """Each delay is a random share of its exponentially growing, capped ceiling: within it, and all different."""
    assert len(delays) == len(caps), delays
    assert all(0 <= delay <= cap for delay, cap in zip(delays, caps, strict=True)), (delays, caps)
    assert len(set(delays)) == len(delays), delays


# --- the world: an accepted contract to charge -----------------------------------------------------------------------


@pytest.fixture
def world(api: Client) -> dict[str, Any]:
    """Period 2027: a funded child enrolled on 10 March (Idempotency-Key "enrol") in a certified program, accepted;
    then the clock moves to December, so every month from March on may be charged."""
    call(api, "POST", "/dev/clock", {"now": "2027-03-10T10:00:00+12:00"})
    region = token(api, role="operator", sub="op-region", municipality="*")
    assert call(api, "POST", "/periods", PERIOD_2027, region).status_code == 201
    parent_ = token(api, role="parent", sub="parent-1")
    certificate = payload(call(api, "POST", "/children", CHILD, parent_))["certificate"]["id"]
    assert call(api, "POST", f"/certificates/{certificate}/funding", None, parent_).status_code == 200
    approved_provider()
    period = Period("2027", date(2027, 1, 1), date(2027, 12, 31), 1, {"elizovo": 1}, TZ)
    program_id = program(period, price=PRICE, capacity=3)
    provider = token(api, role="provider", sub="prov", provider_id=PROVIDER_ID)
    enrolment = {"certificate_id": certificate, "program_id": program_id}
    created = call(api, "POST", "/contracts", enrolment, {**parent_, "Idempotency-Key": "enrol"})
    assert created.status_code == 201, created.body
    contract = payload(created)["id"]
    assert call(api, "POST", f"/contracts/{contract}/accept", None, provider).status_code == 200
    call(api, "POST", "/dev/clock", {"now": "2027-12-15T10:00:00+12:00"})
    return {
        "parent": parent_,
        "provider": provider,
        "certificate": certificate,
        "program": program_id,
        "contract": contract,
        "enrolment": enrolment,
    }


def charge(api: Client, world: dict[str, Any], key: str, month: str = "2027-03") -> Any:
    headers = {**world["provider"], "Idempotency-Key": key}
    body = {"month": month, "amount": PRICE}
    return call(api, "POST", f"/contracts/{world['contract']}/charges", body, headers)


def charges_on_the_ledger(world: dict[str, Any]) -> list[tuple[str | None, int]]:
    entries = LedgerRecord.query(world["certificate"], consistent_read=True)
    return sorted((e.month, int(e.amount)) for e in entries if e.kind == "charge")


def assert_unavailable(response: Any) -> None:
    """The answer to a request DynamoDB was too busy for: 503, JSON, retry after a second."""
    assert response.status_code == 503, response.body
    assert payload(response)["error"]["code"] == "unavailable"
    assert response.headers.get("Retry-After") == "1"
    assert response.headers.get("Content-Type") == "application/json"


def assert_charged_once_each(world: dict[str, Any], months: list[str]) -> None:
    assert charges_on_the_ledger(world) == [(month, PRICE) for month in months]
    contract = ContractRecord.get(world["contract"], consistent_read=True)
    assert contract.charges.as_dict() == dict.fromkeys(months, PRICE)
    assert int(contract.charged_total) == PRICE * len(months)
    audit_all()


# --- throttling: botocore's retries, then a 503 ----------------------------------------------------------------------


def test_a_charge_or_a_read_throttled_on_every_attempt_is_a_503_with_retry_after_and_writes_nothing(
    api: Client, world: dict[str, Any], sleeps: Sleeps
) -> None:
    before = table_contents()
    for error in ("ThrottlingException", "ProvisionedThroughputExceededException"):
        sleeps.by.clear()

        with dynamodb_answers("TransactWriteItems", error) as injected:
            response = charge(api, world, "march")

        assert injected.sent == BOTOCORE_ATTEMPTS, error
        assert_full_jitter(sleeps.botocore, [min(2.0**n, BOTOCORE_CAP) for n in range(BOTOCORE_ATTEMPTS - 1)])
        assert_unavailable(response)
        assert table_contents() == before  # the Idempotency-Key too: a 503 is not an answer to remember
    with dynamodb_answers("GetItem", "ProvisionedThroughputExceededException") as injected:
        balance = call(api, "GET", f"/certificates/{world['certificate']}", None, world["parent"])
    assert injected.sent == BOTOCORE_ATTEMPTS
    assert_unavailable(balance)

    retried = charge(api, world, "march")

    assert retried.status_code == 201 and "Idempotent-Replayed" not in retried.headers
    assert_charged_once_each(world, ["2027-03"])


def test_a_charge_throttled_twice_is_retried_by_botocore_and_charged_exactly_once(
    api: Client, world: dict[str, Any], sleeps: Sleeps
) -> None:
    with dynamodb_answers("TransactWriteItems", "ThrottlingException", times=2) as injected:
        response = charge(api, world, "march")

    assert response.status_code == 201, response.body
    assert (injected.sent, injected.answered) == (3, 2)
    assert_full_jitter(sleeps.botocore, [1.0, 2.0])
    assert_charged_once_each(world, ["2027-03"])
    replay = charge(api, world, "march")
    assert replay.headers.get("Idempotent-Replayed") == "true" and payload(replay) == payload(response)


# --- transactions cancelled by a busy item: the product's retries, then a 503 ----------------------------------------

BUSY_REASONS = ("TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded")


def test_a_charge_cancelled_for_a_busy_item_on_every_attempt_is_a_503_and_writes_nothing(
    api: Client, world: dict[str, Any], sleeps: Sleeps
) -> None:
    before = table_contents()
    for reason in BUSY_REASONS:
        sleeps.by.clear()

        with dynamodb_answers("TransactWriteItems", "TransactionCanceledException", reasons=(reason,)) as injected:
            response = charge(api, world, "march")

        # Not botocore's to retry (a cancelled transaction is a 400): the product sends the same items again.
        assert injected.sent == CONFLICT_ATTEMPTS and not sleeps.botocore, reason
        assert_full_jitter(sleeps.transactions, [min(0.5, 0.01 * 2**n) for n in range(CONFLICT_ATTEMPTS - 1)])
        assert_unavailable(response)
        assert table_contents() == before, reason

    assert charge(api, world, "march").status_code == 201  # the key was not taken by the busy answers
    assert_charged_once_each(world, ["2027-03"])


def test_a_charge_cancelled_for_a_busy_item_twice_is_charged_exactly_once(
    api: Client, world: dict[str, Any], sleeps: Sleeps
) -> None:
    months = ["2027-04", "2027-05", "2027-06"]
    for reason, month in zip(BUSY_REASONS, months, strict=True):
        sleeps.by.clear()

        with dynamodb_answers("TransactWriteItems", "TransactionCanceledException", times=2, reasons=(reason,)) as sent:
            response = charge(api, world, f"key-{month}", month)

        assert response.status_code == 201, (reason, response.body)
        assert (sent.sent, sent.answered, len(sleeps.transactions)) == (3, 2, 2), reason
    assert_charged_once_each(world, months)


def test_an_enrolment_dynamodb_is_too_busy_for_is_a_503_and_its_key_runs_again_later(
    api: Client, world: dict[str, Any], sleeps: Sleeps
) -> None:
    call(api, "POST", "/dev/clock", {"now": "2027-03-11T10:00:00+12:00"})
    other = payload(call(api, "POST", "/children", {**CHILD, "full_name": "Смирнов Пётр"}, world["parent"]))
    certificate = other["certificate"]["id"]
    assert call(api, "POST", f"/certificates/{certificate}/funding", None, world["parent"]).status_code == 200
    body = {**world["enrolment"], "certificate_id": certificate}
    headers = {**world["parent"], "Idempotency-Key": "enrol-peter"}
    before = table_contents()

    # Its consistent read (TransactGetItems) cancelled by a throttled item; then its transaction throttled.
    with dynamodb_answers("TransactGetItems", "TransactionCanceledException", reasons=("ThrottlingError",)):
        read_refused = call(api, "POST", "/contracts", body, headers)
    with dynamodb_answers("TransactWriteItems", "ThrottlingException") as injected:
        write_refused = call(api, "POST", "/contracts", body, headers)

    assert_unavailable(read_refused)
    assert_unavailable(write_refused)
    assert injected.sent == BOTOCORE_ATTEMPTS
    assert table_contents() == before  # no contract, seat or hold; the key was let go
    retried = call(api, "POST", "/contracts", body, headers)
    assert retried.status_code == 201 and "Idempotent-Replayed" not in retried.headers
    assert int(ProgramRecord.get(world["program"], "program", consistent_read=True).seats_taken) == 2


# --- a crash between the commit and the answer ----------------------------------------------------------------------


def test_a_charge_whose_function_dies_after_the_commit_is_answered_by_the_retry_with_the_same_key(
    api: Client, world: dict[str, Any]
) -> None:
    with dies_after("TransactWriteItems") as died:
        crashed = charge(api, world, "march")

    assert died and crashed.status_code == 500, crashed.body
    assert payload(crashed)["error"]["code"] == "internal_error"
    retried = charge(api, world, "march")

    assert retried.status_code == 201 and retried.headers.get("Idempotent-Replayed") == "true"
    # The answer the first attempt wrote in its own transaction before it died; its instant is the ledger entry's.
    [entry] = [e for e in LedgerRecord.query(world["certificate"], consistent_read=True) if e.kind == "charge"]
    stamp = entry.posted.split("#")[0]
    expected = {"contract_id": world["contract"], "month": "2027-03", "amount": PRICE, "charged_at": stamp}
    assert payload(retried) == expected
    assert payload(charge(api, world, "march")) == expected
    assert_charged_once_each(world, ["2027-03"])


def test_an_enrolment_whose_function_dies_after_the_commit_is_found_by_the_retry_with_the_same_key(
    api: Client, world: dict[str, Any]
) -> None:
    call(api, "POST", "/dev/clock", {"now": "2027-03-11T10:00:00+12:00"})
    other = payload(call(api, "POST", "/children", {**CHILD, "full_name": "Смирнов Пётр"}, world["parent"]))
    certificate = other["certificate"]["id"]
    assert call(api, "POST", f"/certificates/{certificate}/funding", None, world["parent"]).status_code == 200
    body = {**world["enrolment"], "certificate_id": certificate}
    headers = {**world["parent"], "Idempotency-Key": "enrol-peter"}

    with dies_after("TransactWriteItems"):
        crashed = call(api, "POST", "/contracts", body, headers)

    assert crashed.status_code == 500
    retried = call(api, "POST", "/contracts", body, headers)
    assert retried.status_code == 201, retried.body
    contract = payload(retried)
    assert contract["certificate_id"] == certificate and contract["hold"] == 10 * PRICE
    holds = [e for e in LedgerRecord.query(certificate, consistent_read=True) if e.kind == "hold"]
    assert [(e.contract_id, int(e.amount)) for e in holds] == [(contract["id"], 10 * PRICE)]
    assert int(ProgramRecord.get(world["program"], "program", consistent_read=True).seats_taken) == 2
    audit_all(expected=2)


# --- the top-up cut short by its Lambda's time limit ----------------------------------------------------------------

FUNDED = 12
PAGE = 3
SEGMENTS = 2
TOPUP_PRICE = 30_000


@pytest.fixture
def region(table_prefix: str) -> tuple[Context, list[str], dict[str, int]]:
    """Periods A (2027) and B (2028) opened with two scan segments, read three certificates a page; 12 children
    funded in A through the services, every other one enrolled (a hold the rollover releases), a few charged.
    Returns the context (clock in B), the certificates and what each one still holds at the end of A."""
    clock = SettableClock()
    clock.set(IN_A)
    settings = Settings(
        stage="local",
        table_prefix=table_prefix,
        period_cache_seconds=0,
        jwt_secret=LOCAL_SECRET,
        topup_page_size=PAGE,
        topup_segments=SEGMENTS,
    )
    ctx = Context.create(settings, clock)
    open_period_a(ctx, quota=FUNDED)
    open_period_b(ctx, quota=FUNDED)
    approved_provider(PROVIDER_ID, MUNICIPALITY)
    period_a = Period(PERIOD_A, A_STARTS, A_ENDS, NOMINAL_A, {MUNICIPALITY: 1}, TZ)
    program_id = program(period_a, PROVIDER_ID, price=TOPUP_PRICE, capacity=FUNDED)
    ids, held = [], {}
    for n in range(FUNDED):
        guardian = parent(f"guardian-{n // 2}")
        born = date(2010 + n % 8, 1 + n % 12, 2 + n)
        name = f"Ребёнок Номер {chr(0x430 + n)}"
        certificate_id = certificates.register_child(ctx, guardian, name, born, MUNICIPALITY).certificate_id
        certificates.fund(ctx, guardian, certificate_id)
        ids.append(certificate_id)
        if n % 2:
            contract = contracts.enrol(ctx, guardian, certificate_id, program_id, f"k{n}")
            held[certificate_id] = contract.hold_amount
            if n % 4 == 1:
                contracts.accept(ctx, PROVIDER, contract.contract_id)
                contracts.charge(ctx, PROVIDER, contract.contract_id, "2027-02", TOPUP_PRICE)
                held[certificate_id] -= TOPUP_PRICE
    clock.set(IN_B)
    return ctx, ids, held


def rolled_into_b() -> int:
    p = progress(period_store.period_state(PERIOD_B))
    return p.certificates_credited + p.certificates_over_quota + p.certificates_aged_out


def assert_progress_is_exact() -> None:
    """Wherever the job stopped, its counters say exactly what the ledger says it did (they are written in the same
    transactions as the money), and so does the quota."""
    credits = [e for e in LedgerRecord.scan(consistent_read=True) if e.entry_key == f"credit#{PERIOD_B}"]
    p = progress(period_store.period_state(PERIOD_B))
    assert (p.certificates_credited, p.credited_kopecks) == (len(credits), sum(int(e.amount) for e in credits))
    assert int(quota(PERIOD_B, MUNICIPALITY).funded) == len(credits)


def assert_topped_up_once(ids: list[str], held: dict[str, int]) -> None:
    audits = audit_all(expected=FUNDED)
    for certificate_id in ids:
        audit = audits[certificate_id]
        amount = entitlement_b(audit.certificate.birth_date)
        assert audit.certificate.status is CertificateStatus.FUNDED
        assert audit.certificate.period_id == PERIOD_B
        assert audit.certificate.balance == Balance(credited=amount, available=amount)
        credits = [(e.entry_key, e.amount) for e in audit.of(EntryKind.CREDIT, PERIOD_B)]
        assert credits == [(f"credit#{PERIOD_B}", amount)]
        assert len(audit.of(EntryKind.EXPIRE, PERIOD_A)) == 1
        released = [e.amount for e in audit.of(EntryKind.RELEASE)]
        assert released == ([held[certificate_id]] if certificate_id in held else [])
    p = progress(period_store.period_state(PERIOD_B))
    assert (p.status, p.certificates_credited, p.rolled_on_touch) == ("done", FUNDED, 0)
    assert p.released_kopecks == sum(held.values())
    assert all(c.status == "ended" for c in ContractRecord.scan(consistent_read=True))
    record = quota(PERIOD_B, MUNICIPALITY)
    assert (int(record.funded), int(record.remaining)) == (FUNDED, 0)


class TimedOut(BaseException):
    """The Lambda runtime stopping the function: nothing the job could catch."""


def test_a_topup_cut_off_mid_page_then_stopped_by_its_time_budget_resumes_each_time_and_credits_each_once(
    region: tuple[Context, list[str], dict[str, int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx, ids, held = region
    commit = movements.commit_rollovers
    committed: list[int] = []
    one_at_a_time = threading.Lock()

    def commit_then_time_out(plans: Any, *args: Any, **kwargs: Any) -> None:
        with one_at_a_time:
            if committed:
                raise TimedOut()  # the runtime stopped the whole function: no other thread commits again
            commit(plans, *args, **kwargs)
            committed.append(len(plans))
        raise TimedOut()  # the money of this page is in; its checkpoint is not

    monkeypatch.setattr(movements, "commit_rollovers", commit_then_time_out)
    with pytest.raises(TimedOut):
        run_topup(ctx, PERIOD_B, time_budget_seconds=600.0)
    monkeypatch.setattr(movements, "commit_rollovers", commit)
    rolled = [rolled_into_b()]
    assert rolled == committed and 0 < rolled[0] < FUNDED
    assert_progress_is_exact()

    # Then each run's budget is spent at once (the Lambda's remaining time less the safety margin): it does one
    # page per segment and stops, the next one resumes.
    runs = 0
    while not run_topup(ctx, PERIOD_B, time_budget_seconds=0.0):
        runs += 1
        rolled.append(rolled_into_b())
        assert rolled[-1] <= rolled[0] + runs * SEGMENTS * PAGE  # it stopped when its time was up
        assert progress(period_store.period_state(PERIOD_B)).status == "running"
        assert_progress_is_exact()

    assert runs >= 1 and rolled == sorted(rolled) and rolled[1] < FUNDED, rolled  # stopped mid-way
    assert_topped_up_once(ids, held)


def test_an_idempotency_key_dynamodb_is_too_busy_to_record_is_a_503_and_the_work_runs_once_later(
    api: Client, world: dict[str, Any], sleeps: Sleeps
) -> None:
    call(api, "POST", "/dev/clock", {"now": "2027-03-11T10:00:00+12:00"})
    other = payload(call(api, "POST", "/children", {**CHILD, "full_name": "Смирнова Вера"}, world["parent"]))
    certificate = other["certificate"]["id"]
    assert call(api, "POST", f"/certificates/{certificate}/funding", None, world["parent"]).status_code == 200
    body = {**world["enrolment"], "certificate_id": certificate}
    headers = {**world["parent"], "Idempotency-Key": "enrol-vera"}
    before = table_contents()

    # The key's own PutItem (taken before the enrolment runs) is throttled on every attempt.
    with dynamodb_answers("PutItem", "ThrottlingException") as injected:
        refused = call(api, "POST", "/contracts", body, headers)

    assert injected.sent == BOTOCORE_ATTEMPTS
    assert_unavailable(refused)
    assert table_contents() == before
    retried = call(api, "POST", "/contracts", body, headers)
    assert retried.status_code == 201 and "Idempotent-Replayed" not in retried.headers
