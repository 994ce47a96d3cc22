"""Helpers of the contract race tests (test_contracts_race.py): the setting, the bodies of the worker processes and
the reconciliation of every certificate, contract and program after a scenario.

It builds on the shared concurrency harness (``harness``: spawned processes behind a barrier, outcomes through a
queue; ``world``: period A of 2027 and the provider; ``audit``: certificates against their ledger) and adds what
contracts need: enrolments, charges and cancellations through the contracts service, POST /contracts through the
Chalice test client, and the contract and seat checks (I5, I6) on top of ``audit.audit_all`` (I1-I3).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, cast

from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders
from pynamodb.transactions import TransactGet

from chalicelib.domain.actors import Principal, Role
from chalicelib.domain.certificate import CertificateStatus, damm_check_digit
from chalicelib.domain.contract import OPEN, Contract, ContractStatus, new_contract_id
from chalicelib.domain.ledger import EntryKind, credit_key, utc_stamp
from chalicelib.domain.period import Period
from chalicelib.services import certificates, contracts
from chalicelib.services.context import Context
from chalicelib.storage import contracts as contract_store
from chalicelib.storage.models import (
    CertificateRecord,
    ContractRecord,
    IdempotencyRecord,
    LedgerRecord,
    ProgramRecord,
    QuotaRecord,
    SeatRecord,
)
from chalicelib.storage.transactions import transaction_connection
from tests.concurrency.audit import CertificateAudit, audit_all
from tests.concurrency.harness import UNEXPECTED, Outcome, Reporter
from tests.concurrency.world import (
    A_ENDS,
    A_STARTS,
    MUNICIPALITY,
    NOMINAL_A,
    PERIOD_A,
    PROVIDER,
    PROVIDER_ID,
    TZ,
    parent,
)
from tests.factories import approved_provider, program

CREDITED = NOMINAL_A * 11 // 12  # funded on 11 February 2027 (the harness's instant): eleven months of A
CONTRACT_MONTHS = [f"2027-{m:02d}" for m in range(2, 13)]  # enrolled on 11 February: February to December
# Mid-December 2027 in the region: every month of a contract enrolled in February has begun and may be charged.
IN_DECEMBER = datetime(2027, 12, 15, 0, 0, tzinfo=UTC)
BIRTH = date(2016, 5, 1)
CHILD_NAME = "Анна Смирнова"
WAIT = 120.0


def period_a() -> Period:
    """Period A as the program factory needs it (its months); ``world.open_period_a`` opens it."""
    return Period(PERIOD_A, A_STARTS, A_ENDS, NOMINAL_A, {MUNICIPALITY: 1}, TZ)


def certified_program(price: int, capacity: int) -> str:
    """A certified program of the approved provider in period A (written straight to the table)."""
    approved_provider(PROVIDER_ID, MUNICIPALITY)
    return program(period_a(), PROVIDER_ID, price=price, capacity=capacity)


def _letters(text: str) -> str:
    """A guardian's sub as letters (its digest, a letter per hex digit), to tell their children's names apart."""
    return "".join("абвгдежзиклмнопр"[int(c, 16)] for c in hashlib.sha256(text.encode()).hexdigest()[:10])


def funded_child(ctx: Context, guardian: str) -> str:
    """A child's certificate, registered and funded in A through the services (a credit entry, a quota slot)."""
    who = parent(guardian)
    # One living certificate per child in the region: each guardian's child has a name of its own.
    certificate = certificates.register_child(ctx, who, f"{CHILD_NAME} {_letters(guardian)}", BIRTH, MUNICIPALITY)
    certificates.fund(ctx, who, certificate.certificate_id)
    return certificate.certificate_id


def funded_like(ctx: Context, guardians: list[str]) -> list[str]:
    """A funded certificate for each guardian, written efficiently: the first is registered and funded through the
    services; the others are copies of its certificate item and its credit entry under fresh numbers (batch
    writes), and take their slots of the quota, so each is what ``fund`` would have left."""
    first = funded_child(ctx, guardians[0])
    certificate = CertificateRecord.get(first, consistent_read=True)
    credit = LedgerRecord.get(first, credit_key(PERIOD_A), consistent_read=True)
    records, entries = [], []
    for guardian in guardians[1:]:
        number = _copied_number()
        records.append(_copy(certificate, certificate_id=number, guardian_sub=guardian))
        entries.append(_copy(credit, certificate_id=number, actor=guardian))
    taken = len(records)
    QuotaRecord(period_id=PERIOD_A, record=f"quota#{MUNICIPALITY}").update(
        actions=[QuotaRecord.remaining.add(-taken), QuotaRecord.funded.add(taken)],
        condition=QuotaRecord.remaining >= taken,
    )
    chunks = [batch[i : i + 100] for batch in (records, entries) for i in range(0, len(batch), 100)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(_write_batch, chunks))
    return [first, *(r.certificate_id for r in records)]


_COPIES = itertools.count(1)


def _copied_number() -> str:
    """A fresh number for a copy, the same in every run: counted, and starting with 0 as no issued number does, so it
    never meets one the service drew at random."""
    body = f"0{next(_COPIES):08d}"
    return body + str(damm_check_digit(body))


def _copy(record: Any, **strings: str) -> Any:
    """The item as stored, with some string attributes changed."""
    raw = record.serialize()
    raw.update({name: {"S": value} for name, value in strings.items()})
    return type(record).from_raw_data(raw)


def _write_batch(records: list[Any]) -> None:
    with type(records[0]).batch_write() as batch:
        for record in records:
            batch.save(record)


def active_contract(ctx: Context, guardian: str, program_id: str, key: str = "enrol") -> tuple[str, str]:
    """A funded child enrolled in ``program_id`` and accepted by the provider: (certificate, contract)."""
    certificate_id = funded_child(ctx, guardian)
    contract = contracts.enrol(ctx, parent(guardian), certificate_id, program_id, key)
    contracts.accept(ctx, PROVIDER, contract.contract_id)
    return certificate_id, contract.contract_id


def contract_with_hold(ctx: Context, guardian: str, program_id: str, hold: int) -> tuple[str, str]:
    """An accepted contract whose hold is ``hold``, less than the price of its months: enrolment always holds the
    price of every month left, and a month is charged at most its price, so only such a contract can run out of
    hold before its months do. It is written by the enrolment's own transaction (contract, seat, hold and ledger
    entry together), so every record agrees with the others; the provider accepts it through the service."""
    certificate_id = funded_child(ctx, guardian)
    record = ProgramRecord.get(program_id, "program", consistent_read=True)
    price = int(record.price_per_month)
    now = ctx.now()
    contract = Contract(
        contract_id=new_contract_id(certificate_id, f"{guardian}\nshort-hold"),
        certificate_id=certificate_id,
        guardian_sub=guardian,
        provider_id=record.provider_id,
        program_id=program_id,
        program_title=record.title,
        period_id=PERIOD_A,
        municipality=record.municipality,
        status=ContractStatus.REQUESTED,
        price_per_month=price,
        months=list(CONTRACT_MONTHS),
        hold_amount=hold,
        remaining_hold=hold,
        charged_total=0,
        charges={},
        funded=True,
        created_at=utc_stamp(now),
        respond_by=utc_stamp(now + timedelta(days=ctx.settings.contract_response_days)),
    )
    contract_store.commit_enrolment(
        contract, certificate_status=CertificateStatus.FUNDED, paid=True, now=now, actor=guardian
    )
    contracts.accept(ctx, PROVIDER, contract.contract_id)
    return certificate_id, contract.contract_id


def subject_amount(outcome: Outcome) -> tuple[str, int]:
    """Subjects of the form ``name:amount``."""
    name, amount = outcome.subject.rsplit(":", 1)
    return name, int(amount)


# --- bodies of the worker processes (top-level: a spawned interpreter imports them) ----------------------------------


def warm_up(certificate_id: str, program_id: str, contract_id: str | None = None) -> None:
    """Creates this process's DynamoDB clients before the race, reading only. PynamoDB creates a connection's
    botocore client on first use, and threads that all use it first at the same moment each build their own (the
    slow part of a cold start): the race would then measure client creation instead of the writes."""
    with TransactGet(connection=transaction_connection()) as read:  # the transactions' connection
        read.get(CertificateRecord, certificate_id)
        read.get(ProgramRecord, program_id, "program")
    CertificateRecord.get(certificate_id, consistent_read=True)
    ProgramRecord.get(program_id, "program", consistent_read=True)
    if contract_id is not None:
        ContractRecord.get(contract_id, consistent_read=True)


def _together(count: int, step: Any, body: Callable[[int], None]) -> None:
    """Runs ``body(0..count-1)`` in ``count`` threads that start together, and only once every other process (the
    parties of ``step``, a multiprocessing barrier) has all its threads ready too."""
    gate = threading.Barrier(count, action=lambda: step.wait(timeout=WAIT))
    failures: list[BaseException] = []

    def run(n: int) -> None:
        try:
            gate.wait(timeout=WAIT)
            body(n)
        except BaseException as failure:  # handed to the worker's own thread below
            failures.append(failure)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]


def enrol_together(
    ctx: Context, reporter: Reporter, children: list[tuple[str, str]], program_id: str, step: Any
) -> None:
    """Once every process is ready, each of ``children`` ((certificate, guardian)) enrols in ``program_id``, all at
    once, one thread each."""

    def enrol(n: int) -> None:
        certificate_id, guardian = children[n]
        reporter.attempt(
            "enrol",
            certificate_id,
            lambda: contracts.enrol(ctx, parent(guardian), certificate_id, program_id, f"race-{certificate_id}"),
        )

    warm_up(children[0][0], program_id)
    _together(len(children), step, enrol)


def enrol_in_programs(
    ctx: Context,
    reporter: Reporter,
    guardian: str,
    certificate_id: str,
    programs: list[tuple[str, int]],
    step: Any,
) -> None:
    """One certificate enrols in each of ``programs`` ((program, hold it would take)) at once, one thread each, at
    the same moment as the other processes."""

    def enrol(n: int) -> None:
        program_id, hold = programs[n]
        reporter.attempt(
            "enrol",
            f"{program_id}:{hold}",
            lambda: contracts.enrol(ctx, parent(guardian), certificate_id, program_id, f"key-{program_id}"),
        )

    warm_up(certificate_id, programs[0][0])
    _together(len(programs), step, enrol)


def charge_in_rounds(
    ctx: Context, reporter: Reporter, contract_id: str, charges: list[tuple[str, int]], step: Any | None
) -> None:
    """The provider charges ``(month, amount)`` in turn through the contracts service; with ``step`` (a barrier of
    the charging processes) every process waits for the others before each charge."""
    contract = ContractRecord.get(contract_id, consistent_read=True)
    warm_up(contract.certificate_id, contract.program_id, contract_id)
    for month, amount in charges:
        if step is not None:
            step.wait(timeout=WAIT)
        reporter.attempt(
            "charge", f"{month}:{amount}", lambda: contracts.charge(ctx, PROVIDER, contract_id, month, amount)
        )


@dataclass(frozen=True)
class Move:
    """One process's step in one round of the cancellation race: ``who`` cancels ``subject`` (a contract), the
    provider charges ``month`` of it for ``amount``, or ``who`` enrols ``subject`` (a certificate) in ``program``."""

    action: Literal["cancel", "charge", "enrol"]
    subject: str
    who: Principal = PROVIDER
    month: str = ""
    amount: int = 0
    program: str = ""


def _make(ctx: Context, move: Move) -> Callable[[], object]:
    if move.action == "cancel":
        reason = "the group is closed" if move.who.role is Role.PROVIDER else None
        return lambda: contracts.cancel(ctx, move.who, move.subject, reason)
    if move.action == "charge":
        return lambda: contracts.charge(ctx, PROVIDER, move.subject, move.month, move.amount)
    return lambda: contracts.enrol(ctx, move.who, move.subject, move.program, f"late-{move.subject}")


def moves_in_rounds(ctx: Context, reporter: Reporter, moves: list[Move], step: Any) -> None:
    """Round by round (``step``: a barrier of all the racing processes), this process's move of the round.

    Reported as action ``cancel:{role}``, ``charge`` or ``enrol``, subject ``{subject}`` or, for a charge,
    ``{contract}:{month}:{amount}``."""
    first = moves[0]
    if first.action == "enrol":
        warm_up(first.subject, first.program)
    else:
        contract = ContractRecord.get(first.subject, consistent_read=True)
        warm_up(contract.certificate_id, contract.program_id, contract.contract_id)
    for move in moves:
        step.wait(timeout=WAIT)
        action = f"cancel:{move.who.role.value}" if move.action == "cancel" else move.action
        subject = f"{move.subject}:{move.month}:{move.amount}" if move.action == "charge" else move.subject
        reporter.attempt(action, subject, _make(ctx, move))


# --- POST /contracts through the Chalice test client -----------------------------------------------------------------

JSON_HEADERS = {"Content-Type": "application/json"}


def write_chalice_project(directory: Path, env: dict[str, str]) -> str:
    """A project folder whose .chalice/config.json points the local stage at the test's tables (as the ``api``
    fixture of tests/conftest.py does), for the worker processes' test clients."""
    root = Path(__file__).resolve().parents[2]
    config = json.loads((root / ".chalice" / "config.json").read_text())
    config["stages"]["local"]["environment_variables"].update(env)
    (directory / ".chalice").mkdir(parents=True, exist_ok=True)
    (directory / ".chalice" / "config.json").write_text(json.dumps(config))
    return str(directory)


@dataclass(frozen=True)
class Posted:
    """What one POST answered."""

    status: int
    contract_id: str | None
    error: str | None
    replayed: bool


def post_enrolment(
    ctx: Context, reporter: Reporter, project_dir: str, now: str, sub: str, body: str, key: str, step: Any
) -> None:
    """Through the HTTP edge: sets this process's clock (POST /dev/clock), gets a parent's token, waits for the
    other processes, then POSTs /contracts with ``Idempotency-Key: key``. Reports the answer: action "post", code
    the status (a 5xx is reported as unexpected), detail a JSON ``Posted``."""
    from chalice.test import Client

    import app as app_module
    from functions import runtime

    runtime.reset()
    with Client(app_module.app, stage_name="local", project_dir=project_dir) as client:
        clock = client.http.post("/dev/clock", headers=JSON_HEADERS, body=json.dumps({"now": now}).encode())
        assert clock.status_code == 200, clock.body
        issued = client.http.post(
            "/dev/token", headers=JSON_HEADERS, body=json.dumps({"role": "parent", "sub": sub}).encode()
        )
        assert issued.status_code == 201, issued.body
        warm_up(json.loads(body)["certificate_id"], json.loads(body)["program_id"])
        IdempotencyRecord.exists()  # the idempotency table's connection
        bearer = f"Bearer {json.loads(issued.body)['token']}"
        headers = {**JSON_HEADERS, "Authorization": bearer, "Idempotency-Key": key}
        step.wait(timeout=WAIT)
        response = client.http.post("/contracts", headers=headers, body=body.encode())
    answer = json.loads(response.body)
    posted = Posted(
        status=response.status_code,
        contract_id=answer.get("id"),
        error=(answer.get("error") or {}).get("code"),
        replayed=response.headers.get("Idempotent-Replayed") == "true",
    )
    code = str(posted.status) if posted.status < 500 else f"{UNEXPECTED}: HTTP {posted.status} {answer}"
    reporter.results.put(Outcome(reporter.worker, "post", key, code, json.dumps(posted.__dict__)))


def posted(outcome: Outcome) -> Posted:
    return Posted(**json.loads(outcome.detail))


# --- what AWS does and DynamoDB Local does not: a transaction cancelled by a concurrent one -------------------------


class _Body:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.data


@contextmanager
def cancelled_by_a_concurrent_write(operation: str, times: int = 1) -> Iterator[list[str]]:
    """Answers the next ``times`` calls of ``operation`` (e.g. "TransactGetItems") on the transactions' connection
    as AWS answers one that meets a concurrent write on one of its items: HTTP 400 TransactionCanceledException,
    reason TransactionConflict. DynamoDB Local serialises transactions and never does (measured: 1 650
    TransactGetItems racing 1 538 TransactWriteItems on one item, no cancellation), so a race cannot show it. The
    answer is made where botocore would send the request, so everything above (botocore's retries, PynamoDB, the
    product) sees what it would see from AWS. Yields the operations answered so far."""
    client = transaction_connection().client
    answered: list[str] = []

    def answer(request: Any, **_: Any) -> AWSResponse | None:
        if len(answered) >= times:
            return None
        answered.append(operation)
        items = len(json.loads(request.body)["TransactItems"])
        reasons = [{"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}]
        reasons += [{"Code": "None"}] * (items - 1)
        body = {
            "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
            "Message": "Transaction cancelled, please refer cancellation reasons for specific reasons "
            f"[{', '.join(r['Code'] for r in reasons)}]",
            "CancellationReasons": reasons,
        }
        headers = HTTPHeaders()
        headers["Content-Type"] = "application/x-amz-json-1.0"
        headers["x-amzn-RequestId"] = "injected"
        return AWSResponse(request.url, 400, headers, _Body(json.dumps(body).encode()))

    event, handler = f"before-send.dynamodb.{operation}", cast(Callable[..., None], answer)
    client.meta.events.register(event, handler)
    try:
        yield answered
    finally:
        client.meta.events.unregister(event, handler)


# --- the reconciliation ----------------------------------------------------------------------------------------------


@dataclass
class Reconciled:
    """Everything the reconciliation read, for the scenario's own assertions."""

    audits: dict[str, CertificateAudit]
    contracts: dict[str, ContractRecord]
    programs: dict[str, ProgramRecord]
    seats: dict[str, list[SeatRecord]] = field(default_factory=dict)


def _open(record: ContractRecord) -> bool:
    return ContractStatus(record.status) in OPEN


def _contract_problems(record: ContractRecord, audit: CertificateAudit | None) -> list[str]:
    """I5 on one contract: its charges within its months, price and hold, and what is left of the hold."""
    name = f"contract {record.contract_id} ({record.status})"
    hold, remaining, charged = int(record.hold_amount), int(record.remaining_hold), int(record.charged_total or 0)
    price = int(record.price_per_month)
    charges = {month: int(amount) for month, amount in record.charges.as_dict().items()}
    problems = []
    if sum(charges.values()) != charged:
        problems.append(f"{name}: charges {charges} do not add up to charged_total {charged}")
    if charged > hold:
        problems.append(f"{name}: charged {charged} above the hold {hold}")
    if any(month not in record.months or not 0 < amount <= price for month, amount in charges.items()):
        problems.append(f"{name}: a charge outside the contract's months or price: {charges}")
    if remaining != (hold - charged if _open(record) else 0):
        problems.append(f"{name}: remaining_hold {remaining}, hold {hold}, charged {charged}")
    if charges and ContractStatus(record.status) is ContractStatus.REQUESTED:
        problems.append(f"{name}: charged before it was accepted")
    if audit is None:
        return [*problems, f"{name}: its certificate does not exist"]
    return problems + _ledger_problems(name, record, charges, audit)


def _ledger_problems(name: str, record: ContractRecord, charges: dict[str, int], audit: CertificateAudit) -> list[str]:
    """The certificate's ledger about one contract: one hold of its amount, at most one release (none while it is
    open, the rest of the hold once it ended), one charge per month, as the contract records them."""
    hold, charged = int(record.hold_amount), int(record.charged_total or 0)
    entries = [e for e in audit.entries if e.contract_id == record.contract_id]
    kinds = Counter(e.kind for e in entries)
    problems = []
    holds = [e.amount for e in entries if e.kind is EntryKind.HOLD]
    if holds != ([hold] if hold else []):
        problems.append(f"{name}: hold {hold}, the ledger's holds {holds}")
    if kinds[EntryKind.RELEASE] > (0 if _open(record) else 1):
        problems.append(f"{name}: {kinds[EntryKind.RELEASE]} releases on the ledger")
    released = sum(e.amount for e in entries if e.kind is EntryKind.RELEASE)
    if not _open(record) and released != hold - charged:
        problems.append(f"{name}: released {released}, expected hold {hold} - charged {charged}")
    ledger_charges = [(e.month, e.amount) for e in entries if e.kind is EntryKind.CHARGE]
    if len({month for month, _ in ledger_charges}) != len(ledger_charges):
        problems.append(f"{name}: a month charged twice on the ledger: {ledger_charges}")
    if dict(ledger_charges) != charges:
        problems.append(f"{name}: the ledger's charges {ledger_charges}, the contract's {charges}")
    if set(kinds) - {EntryKind.HOLD, EntryKind.CHARGE, EntryKind.RELEASE}:
        problems.append(f"{name}: unexpected ledger entries {kinds}")
    return problems


def _program_problems(
    record: ProgramRecord, seats: list[SeatRecord], contracts_: list[ContractRecord], ids: set[str]
) -> list[str]:
    """I6 on one program: seats taken = its seat markers = its open contracts, within the capacity."""
    name = f"program {record.program_id}"
    taken, capacity = int(record.seats_taken or 0), int(record.capacity)
    open_contracts = {c.contract_id: c for c in contracts_ if _open(c)}
    problems = []
    if not 0 <= taken <= capacity:
        problems.append(f"{name}: seats_taken {taken}, capacity {capacity}")
    if not taken == len(seats) == len(open_contracts):
        problems.append(f"{name}: seats_taken {taken}, {len(seats)} seat records, {len(open_contracts)} open contracts")
    for seat in seats:
        contract = open_contracts.get(seat.contract_id)
        if contract is None or seat.record != f"seat#{contract.certificate_id}":
            known = "an unknown" if seat.contract_id not in ids else "a closed"
            problems.append(f"{name}: seat {seat.record} points at {known} contract {seat.contract_id}")
    return problems


def reconcile_everything(expected_certificates: int | None = None) -> Reconciled:
    """After a scenario: every certificate (``audit.audit_all``: the ledger replays to the stored balance, money is
    conserved and never negative, held = the sum of the open holds), every contract (sum of its charges =
    charged_total <= hold; remaining = hold - charged while open, 0 once ended; on the ledger one hold, at most one
    release, at most one charge per month, matching the contract) and every program (seats_taken = seat records =
    open contracts <= capacity). Fails the test listing the first problems."""
    audits = audit_all(expected_certificates)
    records = {c.contract_id: c for c in ContractRecord.scan(consistent_read=True)}
    programs = {p.program_id: p for p in ProgramRecord.scan(ProgramRecord.record == "program", consistent_read=True)}
    seats: dict[str, list[SeatRecord]] = defaultdict(list)
    for seat in SeatRecord.scan(SeatRecord.record.startswith("seat#"), consistent_read=True):
        seats[seat.program_id].append(seat)
    by_program: dict[str, list[ContractRecord]] = defaultdict(list)
    for record in records.values():
        by_program[record.program_id].append(record)
    problems = [p for record in records.values() for p in _contract_problems(record, audits.get(record.certificate_id))]
    for program_id in sorted(set(programs) | set(seats) | set(by_program)):
        if program_id not in programs:
            problems.append(f"program {program_id}: seats or contracts of a program that does not exist")
            continue
        problems += _program_problems(programs[program_id], seats[program_id], by_program[program_id], set(records))
    strays = {e.contract_id for a in audits.values() for e in a.entries if e.contract_id} - set(records)
    problems += [f"ledger entries of contract {c}, which does not exist" for c in sorted(strays)]
    assert not problems, f"{len(problems)} reconciliation problems:\n" + "\n".join(problems[:20])
    return Reconciled(audits, records, programs, dict(seats))
