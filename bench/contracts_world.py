"""The contracts bench's world, made through the services as users make it: a yearly period, an approved provider,
certified programs, funded certificates, enrolments; the HTTP app (Chalice test client) on the same tables; and a
charge's ``TransactWriteItems`` captured from a real charge, to be replayed bare for other contract-months.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import re
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench import machine, world
from chalicelib.domain.actors import Principal, Role
from chalicelib.domain.ledger import Posting
from chalicelib.domain.period import Month, Period
from chalicelib.domain.program import Direction, ProgramDraft
from chalicelib.domain.provider import Application, Contacts, ProviderDecision, ProviderKind
from chalicelib.platform.clock import SettableClock
from chalicelib.services import certificates as certificate_service
from chalicelib.services import contracts as contract_service
from chalicelib.services import programs as program_service
from chalicelib.services import providers as provider_service
from chalicelib.services.context import Context
from chalicelib.storage.transactions import transaction_connection
from functions import runtime

if TYPE_CHECKING:
    from chalice.test import Client

ROOT = Path(__file__).resolve().parent.parent
MUNICIPALITY = "mo-01"
PROVIDER_INN = "7707083893"  # valid ИНН and ОГРН (check digits): the registry refuses made-up ones
PROVIDER_OGRN = "1027700132195"
PROVIDER = Principal(sub="bench:provider", role=Role.PROVIDER, provider_id=PROVIDER_INN)
# 100 ₽ a month: a funded certificate (18 000 ₽) holds its twelve months many times over.
PRICE = 10_000
BIRTH = date(2016, 5, 5)  # 10 years old in 2027: the base nominal
YEAR_FIRST, YEAR_LAST = Month(2027, 1), Month(2027, 12)
ENROL_DAY = date(2027, 1, 11)  # contracts run January to December
CHARGE_DAY = date(2027, 12, 10)  # every month of the year has begun: twelve chargeable months per contract
MONTHS = [f"2027-{month:02d}" for month in range(1, 13)]


class BenchFailure(RuntimeError):
    """The data is not what the operations must leave (the figures would be meaningless)."""


def log(message: str) -> None:
    print(f"[bench.contracts] {message}", file=sys.stderr, flush=True)


# --- the region ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Family:
    """A parent and their child's funded certificate."""

    parent: Principal
    certificate_id: str


@dataclass(frozen=True)
class Slot:
    """One contract-month that has not been charged yet."""

    contract_id: str
    certificate_id: str
    month: str


@dataclass
class Region:
    prefix: str
    clock: SettableClock
    ctx: Context
    period: Period
    _families: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def program(self, capacity: int, title: str = "Робототехника") -> str:
        """Published by the provider, certified by the operator (services)."""
        draft = ProgramDraft(
            title=title,
            description="Конструирование и программирование роботов",
            direction=Direction.TECHNICAL,
            age_min=5,
            age_max=17,
            municipality=MUNICIPALITY,
            address="Елизово, ул. Ленина, 1",
            schedule="вт, чт 16:00",
            price_per_month=PRICE,
            capacity=capacity,
        )
        program_id = program_service.create(self.ctx, PROVIDER, draft, self.period.period_id, None).program_id
        program_service.certify(self.ctx, world.OPERATOR, program_id)
        return program_id

    def families(self, count: int, tag: str, workers: int = 8) -> list[Family]:
        """``count`` children registered and funded by their parents (services), each parent with one child."""
        with self._lock:
            first, self._families = self._families, self._families + count
        if count == 0:
            return []
        made = [self._family(first, tag)]  # creates the shared clients before the threads race to do it
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="bench-family") as pool:
            made += pool.map(lambda index: self._family(index, tag), range(first + 1, first + count))
        return made

    def _family(self, index: int, tag: str) -> Family:
        parent = Principal(sub=f"bench:parent-{tag}-{index:05d}", role=Role.PARENT)
        name = world.child_name(tag, index)
        certificate = certificate_service.register_child(self.ctx, parent, name, BIRTH, MUNICIPALITY)
        certificate_service.fund(self.ctx, parent, certificate.certificate_id)
        return Family(parent, certificate.certificate_id)

    def enrol(self, family: Family, program_id: str, key: str) -> str:
        return contract_service.enrol(self.ctx, family.parent, family.certificate_id, program_id, key).contract_id

    def active_contracts(self, families: list[Family], program_id: str, workers: int = 8) -> list[str]:
        """Each family enrols in ``program_id`` and the provider accepts (services)."""

        def one(family: Family) -> str:
            contract_id = self.enrol(family, program_id, "bench-pool")
            contract_service.accept(self.ctx, PROVIDER, contract_id)
            return contract_id

        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="bench-enrol") as pool:
            return list(pool.map(one, families))

    def at(self, day: date) -> None:
        self.clock.set(world.day_instant(day))


def region(prefix: str, quota: int) -> Region:
    """On fresh tables under ``prefix``: the period 2027 (quota ``quota`` in one municipality), the clock on
    ``ENROL_DAY``, and an approved provider (its application and the operator's decision)."""
    clock = SettableClock()
    clock.set(world.day_instant(ENROL_DAY))
    ctx = world.context(prefix, clock)
    period = world.period("y2027", YEAR_FIRST, YEAR_LAST, {MUNICIPALITY: quota})
    world.open_period(ctx, period)
    application = Application(
        name="Центр технического творчества",
        kind=ProviderKind.ORGANIZATION,
        inn=PROVIDER_INN,
        ogrn=PROVIDER_OGRN,
        licence="Л035-01234-41/00123456",
        municipality=MUNICIPALITY,
        contacts=Contacts("+7 415 312-34-56", "centre@example.ru"),
    )
    provider_service.apply(ctx, PROVIDER, application)
    provider_service.decide_on(ctx, world.OPERATOR, PROVIDER_INN, ProviderDecision.APPROVE, None)
    ctx.current_period()  # steady state: a warm function has its calendar
    return Region(prefix, clock, ctx, period)


def slots(contracts: list[tuple[str, str]]) -> list[Slot]:
    """Every (contract, month), month by month: neighbours in the list charge the same month of similar contracts,
    so paths dealt from it in turn see the same item sizes."""
    return [Slot(contract_id, certificate_id, month) for month in MONTHS for contract_id, certificate_id in contracts]


# --- the HTTP app ----------------------------------------------------------------------------------------------------


@dataclass
class Http:
    """The Chalice app in process (``chalice.test.Client``: the local gateway, the handler, the whole edge)."""

    client: Client

    def request(self, method: str, path: str, body: Any, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        raw = json.dumps(body).encode()
        response = self.client.http.request(
            method, path, headers={"Content-Type": "application/json", **(headers or {})}, body=raw
        )
        return response.status_code, json.loads(response.body or b"null")

    def token(self, **claims: str) -> dict[str, str]:
        status, body = self.request("POST", "/dev/token", claims)
        if status != 201:
            raise BenchFailure(f"POST /dev/token: {status} {body}")
        return {"Authorization": f"Bearer {body['token']}"}

    def set_clock(self, day: date) -> None:
        status, body = self.request("POST", "/dev/clock", {"now": world.day_instant(day).isoformat()})
        if status != 200:
            raise BenchFailure(f"POST /dev/clock: {status} {body}")


@contextmanager
def http_app(prefix: str) -> Iterator[Http]:
    """The app on the local stage, bound to the tables under ``prefix``, with the calendar cached (steady state).

    The app's request log (one line per request) is still formatted and written, but to /dev/null, not over the
    report.
    """
    from chalice.test import Client

    import app as app_module  # reads the settings when imported: only now

    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    config["stages"]["local"]["environment_variables"].update(
        {"PFDO_STAGE": "local", "PFDO_TABLE_PREFIX": prefix, "PFDO_PERIOD_CACHE_SECONDS": str(int(world.CACHED))}
    )
    with tempfile.TemporaryDirectory(prefix="bench-chalice-") as folder, open(os.devnull, "w") as sink:
        (Path(folder) / ".chalice").mkdir()
        (Path(folder) / ".chalice" / "config.json").write_text(json.dumps(config))
        runtime.reset()
        try:
            with Client(app_module.app, stage_name="local", project_dir=folder) as client, _quiet_logs(sink):
                http = Http(client)
                http.set_clock(ENROL_DAY)  # the function's context (and its logger) now exist
                yield http
        finally:
            runtime.reset()


def _stream_handlers() -> list[logging.StreamHandler[Any]]:
    loggers = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
    return [
        handler
        for logger in loggers
        if isinstance(logger, logging.Logger)
        for handler in logger.handlers
        if isinstance(handler, logging.StreamHandler)
    ]


@contextmanager
def _quiet_logs(sink: Any) -> Iterator[None]:
    """Log handlers writing to the terminal write to ``sink`` instead; so do handlers made meanwhile (they take
    ``sys.stdout`` when made); all are put back after."""
    terminal = (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__)
    saved = [(handler, handler.setStream(sink)) for handler in _stream_handlers() if handler.stream in terminal]
    stdout, sys.stdout = sys.stdout, sink
    try:
        yield
    finally:
        sys.stdout = stdout
        for handler in _stream_handlers():
            if handler.stream is sink:
                handler.setStream(stdout)
        for handler, stream in saved:
            handler.setStream(stream)


# --- the charge's request, captured and replayed ---------------------------------------------------------------------


@contextmanager
def capturing(operation: str = "TransactWriteItems") -> Iterator[list[dict[str, Any]]]:
    """The parameters the storage layer hands botocore for ``operation`` (before serialisation), one dict per call."""
    captured: list[dict[str, Any]] = []
    client = transaction_connection().client
    event, unique = f"provide-client-params.dynamodb.{operation}", f"bench-capture-{uuid.uuid4().hex}"

    def keep(params: dict[str, Any], **_: Any) -> None:
        captured.append(copy.deepcopy(params))

    client.meta.events.register(event, keep, unique_id=unique)
    try:
        yield captured
    finally:
        client.meta.events.unregister(event, unique_id=unique)


def _walk(value: Any, swap: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return swap(value)
    if isinstance(value, dict):
        return {key: _walk(item, swap) for key, item in value.items()}
    if isinstance(value, list):
        return [_walk(item, swap) for item in value]
    return value


def _ledger_puts(params: dict[str, Any]) -> list[dict[str, Any]]:
    return [item["Put"]["Item"] for item in params["TransactItems"] if "posted" in item.get("Put", {}).get("Item", {})]


@dataclass(frozen=True)
class ChargeTemplate:
    """The ``TransactWriteItems`` of one real charge, and the contract-month it charged."""

    params: dict[str, Any]
    slot: Slot

    def for_slot(self, slot: Slot, clock: SettableClock) -> dict[str, Any]:
        """The same request for another contract-month: its ids and month swapped in, a fresh ledger ``posted``
        stamp and ClientRequestToken (as the app makes for each attempt)."""
        mapping = {
            self.slot.contract_id: slot.contract_id,
            self.slot.certificate_id: slot.certificate_id,
            self.slot.month: slot.month,
        }
        # Longest first: a contract id starts with its certificate's number.
        pattern = re.compile("|".join(re.escape(key) for key in sorted(mapping, key=len, reverse=True)))
        params: dict[str, Any] = _walk(self.params, lambda text: pattern.sub(lambda found: mapping[found[0]], text))
        for item in _ledger_puts(params):
            item["posted"] = {"S": Posting(clock.now()).next()}
        params["ClientRequestToken"] = str(uuid.uuid4())
        return params


def comparable(params: dict[str, Any]) -> dict[str, Any]:
    """A request without what differs between two sends of the same charge (token, posting instant)."""
    params = copy.deepcopy(params)
    params.pop("ClientRequestToken", None)
    for item in _ledger_puts(params):
        item.pop("posted")
    return params


def capture_charge(ctx: Context, slot: Slot) -> dict[str, Any]:
    """Charges ``slot`` through the service and returns the one ``TransactWriteItems`` it sent."""
    with capturing() as captured:
        contract_service.charge(ctx, PROVIDER, slot.contract_id, slot.month, PRICE)
    if len(captured) != 1:
        raise BenchFailure(f"a charge sent {len(captured)} TransactWriteItems, not one")
    return captured[0]


# --- figures ---------------------------------------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (``share`` in 0..1) of ``values``."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(share * len(ordered) + 0.5)))
    return ordered[rank - 1]


def milliseconds(values: list[float]) -> dict[str, float]:
    """mean / p50 / p90 / p99 / max of durations in seconds, in ms."""
    return {
        "mean_ms": round(1000 * sum(values) / len(values), 3),
        "p50_ms": round(1000 * percentile(values, 0.50), 3),
        "p90_ms": round(1000 * percentile(values, 0.90), 3),
        "p99_ms": round(1000 * percentile(values, 0.99), 3),
        "max_ms": round(1000 * max(values), 3),
    }


@dataclass
class Stopwatch:
    """Wall and Python CPU time of each call (and DynamoDB Local's CPU during it, read from /proc)."""

    engine_cpu: Callable[[], float]
    wall: list[float] = field(default_factory=list)
    python_cpu: list[float] = field(default_factory=list)
    engine: list[float] = field(default_factory=list)

    def time(self, call: Callable[[], object]) -> None:
        engine_before = self.engine_cpu()
        cpu_before = time.process_time()
        started = time.perf_counter()
        call()
        self.wall.append(time.perf_counter() - started)
        self.python_cpu.append(time.process_time() - cpu_before)
        self.engine.append(self.engine_cpu() - engine_before)

    def figures(self) -> dict[str, Any]:
        return {
            "calls": len(self.wall),
            **milliseconds(self.wall),
            "python_cpu_ms": round(1000 * sum(self.python_cpu) / len(self.python_cpu), 3),
            "engine_cpu_ms": round(1000 * sum(self.engine) / len(self.engine), 3),
        }


class CpuMeter:
    """How busy the machine was during a phase: every process, and the bench's own two (this Python, the engine)."""

    def __init__(self, engine_pid: int) -> None:
        self.engine_pid = engine_pid
        self.engine = machine.process_cpu_seconds(engine_pid)
        self.python = time.process_time()
        self.jiffies = machine.cpu_jiffies()
        self.wall = time.perf_counter()

    def stop(self) -> dict[str, float]:
        wall = time.perf_counter() - self.wall
        python = time.process_time() - self.python
        engine = machine.process_cpu_seconds(self.engine_pid) - self.engine
        busy, total = (now - then for now, then in zip(machine.cpu_jiffies(), self.jiffies, strict=True))
        cores = os.cpu_count() or 1
        return {
            "python_cpu_seconds": round(python, 1),
            "engine_cpu_seconds": round(engine, 1),
            "machine_busy": round(busy / total, 3) if total else 0.0,
            "bench_busy": round((python + engine) / (wall * cores), 3),
            "load_average": machine.load_average(),
        }
