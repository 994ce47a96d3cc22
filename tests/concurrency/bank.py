"""The randomized invariant test in the spirit of Jepsen's bank test (test_bank.py): its world, the operations the
worker processes run, and the checker.

The world is small on purpose, so that operations collide: 30 children of 10 guardians in 3 municipalities whose
quotas fund about half of them, 8 programs of period A (2027) with 1-3 seats each and 2 of period B (2028), run by
2 providers. A seed makes a plan: for each worker a list of operations (plain data: what, on whom, at which instant
of its own clock), drawn from the seed alone, so a failing seed is replayed with the same operations (the
interleaving of the processes is the engine's). Each worker's clock walks from September 2027 towards its own end:
one stays in A to the end, the others cross into B, where every certificate they touch rolls over first, and the
top-up of B runs beside the other operations, often stopped by a spent time budget and resumed by the next one.

Operations go through the services, as the HTTP functions call them, except part of the charges, which go through
the HTTP edge (the Chalice test client in the worker); a charge is often sent twice with the same Idempotency-Key.
Every attempt is reported with what the checker needs to hold it against the final state.

The checker reads the tables once the workers are done (after completing B's top-up and touching every certificate,
as parents eventually do) and verifies I1-I8 for every certificate, contract and program (``audit``,
``contracts_support``), then holds every acknowledged operation against the ledger (Jepsen's "acknowledged writes
are there, and nothing else is"): each charge answered 201 is on the ledger exactly once with its amount, a replay
answers what the first answer said, a refusal "month_charged" is backed by the ledger's entry, credits match what
each child was entitled to, and so on.
"""

from __future__ import annotations

import hashlib
import json
import random
import traceback
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

from chalicelib.domain import errors
from chalicelib.domain.actors import Principal, Role
from chalicelib.domain.certificate import CertificateStatus
from chalicelib.domain.contract import OPEN, Contract, ContractFilters, ContractStatus
from chalicelib.domain.ledger import EntryKind, LedgerEntry
from chalicelib.domain.period import AgeNominal, Period
from chalicelib.platform.clock import SettableClock
from chalicelib.services import certificates, contracts, periods
from chalicelib.services.context import Context
from chalicelib.services.rollover import run_topup
from chalicelib.storage import idempotency
from chalicelib.storage.models import ContractRecord, LedgerRecord, ProgramRecord, SeatRecord
from tests.concurrency.audit import CertificateAudit, audit_all, credit_problems, quota_problems, topup_problems
from tests.concurrency.contracts_support import Reconciled, _contract_problems
from tests.concurrency.harness import UNEXPECTED, Outcome, Reporter, Results
from tests.concurrency.world import (
    A_ENDS,
    A_STARTS,
    B_ENDS,
    B_STARTS,
    NOMINAL_A,
    NOMINAL_B,
    OPERATOR,
    PERIOD_A,
    PERIOD_B,
    TZ,
    YOUNG_NOMINAL_B,
    parent,
)
from tests.factories import approved_provider, program

MUNICIPALITIES = ("elizovo", "milkovo", "vilyuchinsk")
QUOTAS_A = {"elizovo": 6, "milkovo": 5, "vilyuchinsk": 4}  # 15 of 30 children may be funded in A
QUOTAS_B = {"elizovo": 5, "milkovo": 4, "vilyuchinsk": 3}  # fewer than A funded: the top-up runs out of quota
CHILDREN = 30
START = datetime(2027, 9, 1, 0, 0, tzinfo=UTC)  # noon in Kamchatka; four months of A are left
RESPONSE_DAYS = 20  # a provider answers a request within 20 days (the workers' clocks move about a day an operation)
BUDGETS = (0.0, 0.0, 0.2, 1.0)  # a top-up run's time: a spent budget does one page per segment and stops
KEY_TTL = 24 * 3600
REGION = ZoneInfo(TZ)


@dataclass(frozen=True)
class Child:
    certificate_id: str
    guardian: str
    municipality: str
    birth_date: date


@dataclass(frozen=True)
class Bank:
    children: tuple[Child, ...]
    programs: tuple[str, ...]
    providers: tuple[Principal, ...]


# --- the world -------------------------------------------------------------------------------------------------------


def _period_a() -> Period:
    return Period(PERIOD_A, A_STARTS, A_ENDS, NOMINAL_A, dict(QUOTAS_A), TZ)


def _period_b() -> Period:
    return Period(PERIOD_B, B_STARTS, B_ENDS, NOMINAL_B, dict(QUOTAS_B), TZ, (AgeNominal(5, 9, YOUNG_NOMINAL_B),))


def _birth_dates(rng: random.Random) -> list[date]:
    """Mostly 6-16; one child turns 18 in October 2027 (closed at the rollover), one in February 2028 (B pays two
    months), one is 5 (B's younger age group). Never born on 1 January or 29 February (ages stay simple)."""
    special = [date(2009, 10, 15), date(2010, 2, 20), date(2022, 3, 3)]
    ordinary = [
        date(rng.randint(2011, 2021), rng.randint(1, 12), rng.randint(2, 28)) for _ in range(CHILDREN - len(special))
    ]
    return special + ordinary


# (provider, period, price a month, capacity, status, ages): few seats; a child funded in September (400 000 for
# four months) can hold one or two of them; a free and an uncertified program, and narrow ages.
CATALOGUE = (
    (0, PERIOD_A, 60_000, 2, "certified", (5, 17)),
    (0, PERIOD_A, 45_000, 2, "certified", (5, 17)),
    (0, PERIOD_A, 0, 2, "published", (5, 17)),
    (0, PERIOD_A, 30_000, 2, "published", (5, 17)),
    (1, PERIOD_A, 90_000, 1, "certified", (10, 17)),
    (1, PERIOD_A, 35_000, 3, "certified", (5, 17)),
    (1, PERIOD_A, 70_000, 2, "certified", (5, 17)),
    (1, PERIOD_A, 25_000, 2, "certified", (5, 9)),
    (0, PERIOD_B, 120_000, 3, "certified", (5, 17)),
    (1, PERIOD_B, 80_000, 3, "certified", (5, 17)),
)


def build(ctx: Context, seed: int) -> Bank:
    """Opens A and B with the quotas, registers the children through the services (all accounting), writes the
    providers and their programs. ``ctx``'s clock must be at ``START``."""
    periods.open_period(ctx, OPERATOR, _period_a())
    periods.open_period(ctx, OPERATOR, _period_b())
    rng = random.Random(seed)
    children = []
    for n, born in enumerate(_birth_dates(rng)):
        guardian = f"guardian-{n // 3:02d}"
        municipality = MUNICIPALITIES[(n // 3) % len(MUNICIPALITIES)]
        name = f"Ребёнок {chr(0x410 + n % 32)}{chr(0x430 + n // 32)} Банковский"
        certificate = certificates.register_child(ctx, parent(guardian), name, born, municipality)
        children.append(Child(certificate.certificate_id, guardian, municipality, born))
    provider_ids = ("7707083893", "7736050003")
    for provider_id, municipality in zip(provider_ids, MUNICIPALITIES, strict=False):
        approved_provider(provider_id, municipality)
    by_id = {PERIOD_A: _period_a(), PERIOD_B: _period_b()}
    programs = tuple(
        program(by_id[period], provider_ids[provider], price=price, capacity=capacity, status=status, ages=ages)
        for provider, period, price, capacity, status, ages in CATALOGUE
    )
    providers = tuple(
        Principal(sub=f"provider:{provider_id}", role=Role.PROVIDER, provider_id=provider_id)
        for provider_id in provider_ids
    )
    return Bank(tuple(children), programs, providers)


# --- the plan: what each worker does, drawn from the seed ------------------------------------------------------------

KINDS = ("fund", "enrol", "accept", "charge", "cancel", "decline", "view", "topup", "expire")
# The first tenth of a worker's operations mostly funds and enrols (there is nothing to charge yet); then charges
# dominate, as in a month of the real thing.
OPENING = (55, 30, 5, 0, 0, 0, 10, 0, 0)
WEIGHTS = (7, 20, 12, 32, 5, 2, 6, 6, 2)
# Most operations concern the children of five families (15 children, 14 of whom A's quotas can fund), so their
# certificates get funded early and then compete for seats, money and B's smaller quota; the others now and then.
FAMILIES = 15


@dataclass(frozen=True)
class Op:
    """One operation of a worker. The contract it acts on is chosen when it runs (``pick``) among the contracts
    listed at that moment, since which contracts exist depends on the race."""

    n: int
    kind: str
    at: datetime
    child: int
    program: int
    provider: int
    pick: float
    variant: int  # the Idempotency-Key of an enrolment or a charge: the same variant is the same request
    month_pick: float
    amount: str  # "full" | "part" | "over" (above the price, hence above what the month may take)
    part: float
    http: bool  # a charge through the HTTP edge rather than the service
    repeat: bool  # a charge sent again with the same key at once
    wrong_provider: bool  # a provider charging (or accepting) another provider's contract
    budget: float


def _end_of(worker: int, rng: random.Random) -> datetime:
    """Worker 0 stays in A; the others cross into B at different moments."""
    if worker == 0:
        return datetime(2027, 12, rng.randint(10, 28), 0, 0, tzinfo=UTC)
    return datetime(2028, rng.randint(1, 2), rng.randint(5, 25), 0, 0, tzinfo=UTC)


def plan(seed: int, workers: int, operations: int) -> list[list[Op]]:
    plans = []
    for worker in range(workers):
        rng = random.Random(seed * 1009 + worker)
        end = _end_of(worker, rng)
        step = (end - START) / max(1, operations - 1)
        ops = []
        for n in range(operations):
            at = START + step * n
            kind = rng.choices(KINDS, OPENING if n < operations // 10 else WEIGHTS)[0]
            if kind == "topup" and at.astimezone(REGION).date() < B_STARTS:
                kind = "view"  # B has not begun on this worker's clock
            ops.append(
                Op(
                    n=n,
                    kind=kind,
                    at=at,
                    child=rng.randrange(FAMILIES) if rng.random() < 0.85 else rng.randrange(CHILDREN),
                    program=rng.randrange(len(CATALOGUE)),
                    provider=rng.randrange(2),
                    pick=rng.random(),
                    variant=rng.randrange(2),
                    month_pick=rng.random(),
                    amount=rng.choices(("full", "part", "over"), (70, 20, 10))[0],
                    part=rng.random(),
                    http=rng.random() < 0.35,
                    repeat=rng.random() < 0.3,
                    wrong_provider=rng.random() < 0.08,
                    budget=rng.choice(BUDGETS),
                )
            )
        plans.append(ops)
    return plans


# --- inside a worker process -----------------------------------------------------------------------------------------


class Skip(Exception):
    """Nothing to act on (no contract in the state the operation needs): reported as "nothing_to_do"."""


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class Worker:
    ctx: Context
    reporter: Reporter
    bank: Bank
    http: Any  # the Chalice test client's http
    tokens: dict[str, dict[str, str]] = field(default_factory=dict)

    def report(
        self, op: Op, action: str, body: Callable[[], dict[str, Any]], asked: dict[str, Any] | None = None
    ) -> None:
        """Runs ``body`` and reports how it ended, with what was ``asked`` and what ``body`` returned (JSON: what
        the checker needs). A refusal is an expected answer; any other exception is reported as unexpected."""
        detail: dict[str, Any] = {"op": op.n, **(asked or {})}
        try:
            detail.update(body())
            code = detail.pop("code", "ok")
        except Skip:
            code = "nothing_to_do"
        except errors.DomainError as refusal:
            code = refusal.code
            detail["message"] = refusal.message
        except Exception as failure:
            code = f"{UNEXPECTED}: {failure!r}"
            detail["traceback"] = traceback.format_exc()
        self.reporter.results.put(Outcome(self.reporter.worker, action, f"op {op.n}", code, json.dumps(detail)))

    # --- choosing a contract ---

    def _contracts_of(self, who: Principal) -> list[Contract]:
        return contracts.listing(self.ctx, who, 100, None, ContractFilters()).items

    def _choose(self, listed: list[Contract], op: Op, wanted: tuple[ContractStatus, ...] | None) -> Contract:
        """Mostly one in the wanted state; now and then any listed one (the service must refuse what is wrong)."""
        fitting = [c for c in listed if wanted is None or c.status in wanted] if op.pick < 0.9 else listed
        if not fitting:
            raise Skip()
        # In the world's order (certificate numbers and program ids are random): a seed picks the same contracts.
        children = {child.certificate_id: n for n, child in enumerate(self.bank.children)}
        order = sorted(fitting, key=lambda c: (children[c.certificate_id], self.bank.programs.index(c.program_id)))
        return order[int(op.pick * 1000) % len(order)]

    def _provider_contract(self, op: Op, wanted: tuple[ContractStatus, ...]) -> tuple[Contract, Principal]:
        """A contract of the operation's provider (of the other one if it has none to act on), and who acts on it:
        its provider, or now and then the other provider."""
        for n in (op.provider, 1 - op.provider):
            owner = self.bank.providers[n]
            try:
                contract = self._choose(self._contracts_of(owner), op, wanted)
            except Skip:
                continue
            return contract, self.bank.providers[1 - n] if op.wrong_provider else owner
        raise Skip()

    # --- the operations ---

    def run(self, op: Op) -> None:
        cast(SettableClock, self.ctx.clock).set(op.at)
        getattr(self, op.kind)(op)

    def fund(self, op: Op) -> None:
        child = self.bank.children[op.child]

        def go() -> dict[str, Any]:
            funded = certificates.fund(self.ctx, parent(child.guardian), child.certificate_id)
            return {"certificate": child.certificate_id, "period": funded.period_id}

        self.report(op, "fund", go)

    def enrol(self, op: Op) -> None:
        child, program_id = self.bank.children[op.child], self.bank.programs[op.program]

        def go() -> dict[str, Any]:
            key = f"bank-enrol-{op.variant}"
            contract = contracts.enrol(self.ctx, parent(child.guardian), child.certificate_id, program_id, key)
            return {"contract": contract.contract_id, "certificate": child.certificate_id}

        self.report(op, "enrol", go)

    def accept(self, op: Op) -> None:
        def go() -> dict[str, Any]:
            contract, acting = self._provider_contract(op, (ContractStatus.REQUESTED,))
            contracts.accept(self.ctx, acting, contract.contract_id)
            return {"contract": contract.contract_id, "acting": acting.provider_id}

        self.report(op, "accept", go)

    def decline(self, op: Op) -> None:
        def go() -> dict[str, Any]:
            contract, _ = self._provider_contract(op, (ContractStatus.REQUESTED,))
            owner = next(p for p in self.bank.providers if p.provider_id == contract.provider_id)
            contracts.decline(self.ctx, owner, contract.contract_id, "нет мест в группе")
            return {"contract": contract.contract_id}

        self.report(op, "decline", go)

    def cancel(self, op: Op) -> None:
        child = self.bank.children[op.child]
        by_parent = op.variant == 0
        who = parent(child.guardian) if by_parent else self.bank.providers[op.provider]

        def go() -> dict[str, Any]:
            contract = self._choose(self._contracts_of(who), op, OPEN)
            contracts.cancel(self.ctx, who, contract.contract_id, None if by_parent else "группа закрыта")
            return {"contract": contract.contract_id}

        self.report(op, "cancel", go)

    def view(self, op: Op) -> None:
        child = self.bank.children[op.child]
        who = parent(child.guardian)

        def go() -> dict[str, Any]:
            if op.variant:
                certificates.list_children(self.ctx, who)
            else:
                certificates.view(self.ctx, who, child.certificate_id)
            return {}

        self.report(op, "view", go)

    def topup(self, op: Op) -> None:
        self.report(op, "topup", lambda: {"complete": run_topup(self.ctx, PERIOD_B, op.budget)})

    def expire(self, op: Op) -> None:
        self.report(op, "expire", lambda: {"expired": contracts.expire_requests(self.ctx)})

    def charge(self, op: Op) -> None:
        try:
            contract, acting = self._provider_contract(op, (ContractStatus.ACTIVE,))
        except Skip:
            self.report(op, "charge", lambda: {"code": "nothing_to_do"})
            return
        month, amount = self._month_and_amount(contract, op)
        request = {"contract": contract.contract_id, "month": month, "amount": amount, "acting": acting.provider_id}
        request["key"] = f"bank-{month}-{amount}-{op.variant}"
        send = self._charge_over_http if op.http else self._charge_with_claim
        for attempt in range(2 if op.repeat else 1):
            self.report(op, "charge", lambda: send(acting, request, op), {**request, "attempt": attempt})

    def _month_and_amount(self, contract: Contract, op: Op) -> tuple[str, int]:
        today = self.ctx.today()
        begun = [m for m in contract.months if date.fromisoformat(f"{m}-01") <= today]
        months = begun if begun and op.month_pick < 0.85 else contract.months
        month = months[int(op.month_pick * 1000) % len(months)]
        price = contract.price_per_month or 1
        amount = {
            "full": price,
            "part": 1 + int(op.part * (price - 1)),
            "over": price + 1 + int(op.part * price),
        }[op.amount]
        return month, amount

    def _charge_with_claim(self, acting: Principal, request: dict[str, Any], op: Op) -> dict[str, Any]:
        """The service with the request's Idempotency-Key written in the charge's own transaction (as the HTTP
        edge does); a key already answered is replayed from what was remembered."""
        claim = idempotency.Claim(
            key=_digest(f"{acting.sub}\ncharge\n{request['contract']}\n{request['key']}"),
            request_hash=_digest(f"{request['month']}:{request['amount']}"),
            ttl_seconds=KEY_TTL,
        )

        def answer(receipt: contracts.Charge) -> Any:
            return claim.answered(201, json.dumps(receipt.__dict__, sort_keys=True))

        try:
            receipt = contracts.charge(
                self.ctx, acting, request["contract"], request["month"], request["amount"], answer
            )
        except idempotency.Answered:
            remembered = idempotency.recall(claim.key)
            if remembered is None or remembered.request_hash != claim.request_hash:
                raise AssertionError(f"key {claim.key} answered, but remembered {remembered}") from None
            return {"replayed": True, "body": json.loads(remembered.response_body or "null")}
        return {"replayed": False, "body": receipt.__dict__}

    def _headers(self, who: Principal) -> dict[str, str]:
        if who.sub not in self.tokens:
            claims = {"role": who.role.value, "sub": who.sub, "provider_id": who.provider_id}
            issued = self.http.post("/dev/token", headers=JSON, body=json.dumps(claims).encode())
            assert issued.status_code == 201, issued.body
            self.tokens[who.sub] = {**JSON, "Authorization": f"Bearer {json.loads(issued.body)['token']}"}
        return self.tokens[who.sub]

    def _charge_over_http(self, acting: Principal, request: dict[str, Any], op: Op) -> dict[str, Any]:
        """POST /contracts/{id}/charges at this worker's instant; a 5xx is unexpected."""
        clock = self.http.post("/dev/clock", headers=JSON, body=json.dumps({"now": op.at.isoformat()}).encode())
        assert clock.status_code == 200, clock.body
        headers = {**self._headers(acting), "Idempotency-Key": request["key"]}
        body = json.dumps({"month": request["month"], "amount": request["amount"]}).encode()
        response = self.http.post(f"/contracts/{request['contract']}/charges", headers=headers, body=body)
        answer = json.loads(response.body)
        replayed = response.headers.get("Idempotent-Replayed") == "true"
        if response.status_code >= 500:
            raise RuntimeError(f"HTTP {response.status_code}: {answer}")
        if response.status_code != 201:
            return {"code": answer["error"]["code"], "replayed": replayed, "status": response.status_code}
        return {"replayed": replayed, "body": answer}


JSON = {"Content-Type": "application/json"}


def bank_worker(ctx: Context, reporter: Reporter, bank: Bank, ops: list[Op], project_dir: str) -> None:
    """A worker process's body: runs its operations in order, each at its own instant."""
    from chalice.test import Client

    import app as app_module
    from functions import runtime

    runtime.reset()
    ctx.calendar.ttl = 600.0  # both periods were opened before the run and never change: read the calendar once
    with Client(app_module.app, stage_name="local", project_dir=project_dir) as client:
        worker = Worker(ctx, reporter, bank, client.http)
        for op in ops:
            worker.run(op)


# --- after the run ---------------------------------------------------------------------------------------------------


def settle(ctx: Context, bank: Bank) -> None:
    """What time does after the run: B's top-up completes, and every certificate is touched once in B (a parent's
    first look): a certificate funded in A by a worker whose clock still was in A, after the job had passed it,
    rolls over then, as it would on its first touch."""
    cast(SettableClock, ctx.clock).set(datetime(2028, 3, 1, 0, 0, tzinfo=UTC))
    assert run_topup(ctx, PERIOD_B, 600.0), "the top-up did not complete"
    for child in bank.children:
        certificates.view(ctx, OPERATOR, child.certificate_id)


@dataclass(frozen=True)
class Answer:
    worker: int
    action: str
    code: str
    detail: dict[str, Any]

    @property
    def ok(self) -> bool:
        return self.code == "ok"


def answers(results: Results) -> list[Answer]:
    return [Answer(o.worker, o.action, o.code, json.loads(o.detail)) for o in results.outcomes]


def entitled(birth: date, period: Period, from_day: date) -> int:
    """What a certificate is credited in ``period`` from ``from_day``, worked out apart from the product's code: the
    age group's nominal (age on the period's first day) for the months from the month of ``from_day`` that begin
    before the 18th birthday, over twelve."""
    start = period.starts_on
    age = start.year - birth.year - ((start.month, start.day) < (birth.month, birth.day))
    nominal = next(
        (band.nominal for band in period.age_nominals if band.age_min <= age <= band.age_max), period.nominal
    )
    eighteenth = date(birth.year + 18, birth.month, birth.day)
    months = [m for m in range(from_day.month, 13) if date(start.year, m, 1) < eighteenth]
    return nominal * len(months) // 12


def _region_day(posted: str) -> date:
    instant = datetime.strptime(posted.split("#")[0], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    return instant.astimezone(REGION).date()


def credit_amount_problems(bank: Bank, audits: dict[str, CertificateAudit]) -> list[str]:
    """Each credit is what the child was entitled to: pro rata from the month of funding, the whole period's
    nominal at the top-up; and a child 18 before B never gets B's money."""
    by_period = {PERIOD_A: _period_a(), PERIOD_B: _period_b()}
    problems = []
    for child in bank.children:
        for entry in audits[child.certificate_id].of(EntryKind.CREDIT):
            period = by_period[entry.period_id]
            day = period.starts_on if entry.reason == "topup" else _region_day(entry.posted)
            expected = entitled(child.birth_date, period, day)
            if entry.amount != expected or expected <= 0:
                problems.append(
                    f"{child.certificate_id}: {entry.entry_key} ({entry.reason}) {entry.amount} != {expected}"
                )
    return problems


def acknowledged_problems(bank: Bank, reconciled: Reconciled, said: list[Answer]) -> list[str]:
    """Every answer the workers got, held against the final state."""
    audits, contracts_ = reconciled.audits, reconciled.contracts
    ledger_charges = {
        (e.contract_id, e.month): e for audit in audits.values() for e in audit.of(EntryKind.CHARGE) if e.contract_id
    }
    charges = [a for a in said if a.action == "charge" and a.code != "nothing_to_do"]
    problems = _charge_problems(bank, reconciled, charges, ledger_charges)
    made = {a.detail["contract"] for a in said if a.action == "enrol" and a.ok}
    if made != set(contracts_):
        unknown, untold = sorted(made - set(contracts_)), sorted(set(contracts_) - made)
        problems.append(f"contracts answered but absent {unknown[:3]}, present but never answered {untold[:3]}")
    for answer in (a for a in said if a.ok):
        problems += _answer_problems(answer, audits, contracts_)
    return problems


# What a contract answered "ok" must finally show: accepted at some point, cancelled, declined.
_ENDS = {"cancel": ContractStatus.CANCELLED.value, "decline": ContractStatus.DECLINED.value}


def _answer_problems(answer: Answer, audits: dict[str, CertificateAudit], contracts_: dict[str, Any]) -> list[str]:
    d = answer.detail
    if answer.action == "fund":
        credits = [e.period_id for e in audits[d["certificate"]].of(EntryKind.CREDIT)]
        return [] if d["period"] in credits else [f"fund answered funded in {d['period']}, credits {credits}"]
    if answer.action not in ("accept", *_ENDS):
        return []
    contract = contracts_.get(d["contract"])
    if contract is None:
        return [f"{answer.action} of {d['contract']} answered ok, no such contract"]
    if answer.action == "accept" and (contract.accepted_at is None or d["acting"] != contract.provider_id):
        return [f"accept of {d['contract']} by {d['acting']} answered ok; accepted_at {contract.accepted_at}"]
    if answer.action in _ENDS and contract.status != _ENDS[answer.action]:
        return [f"{answer.action} of {d['contract']} answered ok, the contract is {contract.status}"]
    return []


def _charge_problems(
    bank: Bank, reconciled: Reconciled, charges: list[Answer], ledger: dict[tuple[str, str | None], LedgerEntry]
) -> list[str]:
    """I4/I5 as the providers saw them: the charges answered 201 (not replays) are exactly the ledger's charges,
    each once and with its amount; a replay answers what the first answer said; a charge by another provider is
    never taken; "month_charged" is backed by the ledger."""
    problems = []
    first: dict[tuple[str, str], list[Answer]] = defaultdict(list)
    bodies: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for answer in charges:
        d = answer.detail
        key = (d["contract"], d["month"])
        if answer.ok:
            bodies[(d["contract"], d["acting"], d["key"])].add(json.dumps(d["body"], sort_keys=True))
            if not d["replayed"]:
                first[key].append(answer)
            entry = ledger.get(key)
            if entry is None or entry.amount != d["body"]["amount"]:
                problems.append(f"charge {key} answered {d['body']} but the ledger has {entry}")
            owner = reconciled.contracts[d["contract"]].provider_id
            if d["acting"] != owner:
                problems.append(f"provider {d['acting']} charged {key} of provider {owner}")
        elif answer.code == "month_charged" and key not in ledger:
            problems.append(f"charge {key} refused as month_charged, but the month is not on the ledger")
    problems += [
        f"charge {key} answered 201 {len(answered)} times" for key, answered in first.items() if len(answered) != 1
    ]
    problems += [f"ledger charge {key} that no provider was told of" for key in set(ledger) - set(first)]
    problems += [f"key {key} answered differently: {sorted(seen)}" for key, seen in bodies.items() if len(seen) > 1]
    actors = {p.provider_id: p.sub for p in bank.providers}
    for record in LedgerRecord.scan(LedgerRecord.kind == EntryKind.CHARGE.value, consistent_read=True):
        owner = reconciled.contracts[record.contract_id].provider_id
        if record.actor != actors[owner]:
            problems.append(f"ledger charge {record.entry_key} by {record.actor}, the contract is {owner}'s")
    return problems


def _seated(record: ContractRecord) -> bool:
    """A contract that holds a seat: an open one, or one that ended with its period. The rollover ends a contract
    and releases its hold with the certificate's transaction, but leaves its seat and the program's count as they
    were (the program's period is over: nobody can enrol in it any more)."""
    return ContractStatus(record.status) in OPEN or record.end_reason == "period_end"


def seat_problems(programs: dict[str, ProgramRecord], contracts_: dict[str, ContractRecord]) -> list[str]:
    """I6 for every program: seats_taken = its seat records = its seated contracts (one per child) <= capacity."""
    seats: dict[str, list[SeatRecord]] = defaultdict(list)
    for seat in SeatRecord.scan(SeatRecord.record.startswith("seat#"), consistent_read=True):
        seats[seat.program_id].append(seat)
    problems = [f"seats of a program that does not exist: {p}" for p in sorted(set(seats) - set(programs))]
    for program_id, record in programs.items():
        taken, capacity = int(record.seats_taken or 0), int(record.capacity)
        seated = {c.contract_id: c for c in contracts_.values() if c.program_id == program_id and _seated(c)}
        markers = {seat.record: seat.contract_id for seat in seats[program_id]}
        expected = {f"seat#{c.certificate_id}": c.contract_id for c in seated.values()}
        if not 0 <= taken <= capacity or taken != len(markers) or markers != expected:
            states = {
                c.contract_id: (c.status, c.end_reason) for c in contracts_.values() if c.program_id == program_id
            }
            problems.append(f"program {program_id}: {taken} of {capacity} taken, seats {markers}, contracts {states}")
    return problems


def open_hold_problems(record: ContractRecord, audit: CertificateAudit | None) -> list[str]:
    """The certificate's open hold agrees with the contract: while the certificate is funded in the contract's
    period, an open contract is held for exactly what it has left and an ended one not at all. Once the certificate
    has left that period (rolled over, over the quota, closed) it holds nothing of it, and the rollover has ended
    every contract that still held money; one whose hold was all charged is left as it was (open, nothing held)."""
    if audit is None:
        return [f"contract {record.contract_id} of a certificate that does not exist"]
    certificate, name = audit.certificate, f"contract {record.contract_id} ({record.status})"
    still, remaining = certificate.open_holds.get(record.contract_id), int(record.remaining_hold)
    is_open = ContractStatus(record.status) in OPEN
    in_period = certificate.status is CertificateStatus.FUNDED and certificate.period_id == record.period_id
    if in_period and int(record.hold_amount) and is_open and still != remaining:
        return [f"{name} has {remaining} left, the certificate holds {still}"]
    if (not in_period or not is_open) and still is not None:
        return [f"{name} is still held {still} by a certificate in {certificate.period_id} ({certificate.status})"]
    if not in_period and is_open and remaining:
        return [f"{name} still has {remaining} of an earlier period's money"]
    return []


def reconcile(bank: Bank) -> Reconciled:
    """I1-I3 for every certificate (``audit_all``), I5 for every contract (``contracts_support``, and its open
    hold), I6 for every program; fails the test listing the first problems."""
    audits = audit_all(expected=len(bank.children), contracts=False)
    records = {c.contract_id: c for c in ContractRecord.scan(consistent_read=True)}
    programs = {p.program_id: p for p in ProgramRecord.scan(ProgramRecord.record == "program", consistent_read=True)}
    problems = seat_problems(programs, records)
    for record in records.values():
        audit = audits.get(record.certificate_id)
        problems += _contract_problems(record, audit) + open_hold_problems(record, audit)
    strays = {e.contract_id for a in audits.values() for e in a.entries if e.contract_id} - set(records)
    problems += [f"ledger entries of contract {c}, which does not exist" for c in sorted(strays)]
    assert not problems, f"{len(problems)} reconciliation problems:\n" + "\n".join(problems[:20])
    return Reconciled(audits, records, programs)


def check(bank: Bank, results: Results) -> Reconciled:
    """I1-I8 over every certificate, contract and program, and every answer against the final state."""
    unexpected = results.unexpected()
    assert not unexpected, f"{len(unexpected)} unexpected failures, e.g.:\n" + "\n".join(
        f"worker {o.worker} {o.action} {o.subject}: {o.code}\n{json.loads(o.detail).get('traceback', '')}"
        for o in unexpected[:3]
    )
    reconciled = reconcile(bank)  # I1, I2, I3, I5, I6
    said = answers(results)
    problems = quota_problems(reconciled.audits)  # I7
    problems += credit_problems(reconciled.audits) + topup_problems(PERIOD_B, reconciled.audits)  # I8
    problems += credit_amount_problems(bank, reconciled.audits)
    problems += acknowledged_problems(bank, reconciled, said)  # I4 and I5 as answered
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems[:20])
    return reconciled


def summary(results: Results) -> dict[str, dict[str, int]]:
    """Outcomes by action and code (printed by the test: which collisions the run produced)."""
    table: dict[str, Counter[str]] = defaultdict(Counter)
    for answer in answers(results):
        replayed = answer.detail.get("replayed")
        table[answer.action][answer.code + (" (replay)" if replayed else "")] += 1
    return {action: dict(codes.most_common()) for action, codes in sorted(table.items())}
