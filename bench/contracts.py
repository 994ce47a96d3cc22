"""Contracts: DynamoDB round trips per enrol, accept, charge and cancel; a charge's cost through the whole app as a
ratio to a bare ``TransactWriteItems`` of the same items; and the rush for the last seats of a program.

    .venv/bin/python -m bench.contracts
    .venv/bin/python -m bench.contracts --charges 1000 --attempts 1000 --seats 30 --threads 16 --output bench/results

The bench starts its own in-memory DynamoDB Local (unless ``run`` is given one), makes the world through the
services on fresh tables, measures, verifies the data the operations left, and drops the tables. Nothing here is
asserted on time; the report goes to stdout, progress to stderr.

1. **Round trips** (``devtools.roundtrips.counting``), each call counted on its own: *cached* is a warm function
   (the period calendar in memory), *cold* a fresh one (the calendar is read first).
2. **A charge's cost**: three paths, each charging fresh contract-months so every call succeeds, interleaved one call
   per path per round with the order rotating over the six permutations:
   *service* ``services.contracts.charge``; *http* ``POST /contracts/{id}/charges`` with a new Idempotency-Key through
   the Chalice test client (local gateway, authentication, pydantic, the idempotency layer's own PutItem and
   UpdateItem, the request log); *bare* ``transact_write_items`` on a plain boto3 client with the very request a real
   charge sends (captured from one with botocore's ``provide-client-params`` event, its ids and month swapped,
   checked equal to a second real charge's), a new ClientRequestToken and ``posted`` stamp each call.
3. **The rush**: ``attempts`` funded certificates (one each) try to enrol in a program of ``seats`` seats from
   ``threads`` threads of this process through ``services.contracts.enrol``; exactly ``seats`` must win.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import math
import os
import shlex
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from bench import contracts_world as cw
from bench import machine, report
from bench.latency import Latency, timing
from bench.operations import OperationTrips, _measure
from chalicelib.domain import errors
from chalicelib.domain.contract import new_contract_id
from chalicelib.services import certificates as certificate_service
from chalicelib.services import contracts as contract_service
from chalicelib.storage import contracts as contract_store
from chalicelib.storage.models import CertificateRecord, ProgramRecord, SeatRecord
from chalicelib.storage.tables import create_tables, delete_tables
from chalicelib.storage.transactions import reset_connection
from devtools import ddb_local
from devtools.roundtrips import counting

PATHS = ("service", "http", "bare")
TARGET_RATIO = 1.5
HTTP_CHARGE = "charge via HTTP, POST /contracts/{id}/charges + Idempotency-Key"
RT_KEY = "bench-rt"
RUSH_KEY = "bench-rush"


# --- 1. round trips --------------------------------------------------------------------------------------------------


def _round_trips(region: cw.Region, repeat: int) -> tuple[list[OperationTrips], Callable[[], list[OperationTrips]]]:
    """Enrol (cached, cold) and accept now, in January; returns them and the December half (charge, cancel)."""
    program_id = region.program(capacity=2 * repeat, title="Робототехника: счёт запросов")
    warm, cold = region.families(repeat, "rt-warm"), region.families(repeat, "rt-cold")
    ctx = region.ctx

    def enrol(family: cw.Family) -> Callable[[], object]:
        return lambda: region.enrol(family, program_id, RT_KEY)

    target = "1 TransactGetItems + 1 TransactWriteItems (one transaction, at most one read)"
    january = [
        _measure("enrol", "cached", target, [enrol(f) for f in warm], ctx),
        _measure("enrol", "cold", "-", [enrol(f) for f in cold], ctx),
    ]
    owners: dict[str, cw.Family] = {
        new_contract_id(f.certificate_id, f"{f.parent.sub}\n{RT_KEY}"): f for f in warm + cold
    }
    warm_ids, cold_ids = list(owners)[:repeat], list(owners)[repeat:]

    def accept(contract_id: str) -> Callable[[], object]:
        return lambda: contract_service.accept(ctx, cw.PROVIDER, contract_id)

    january.append(_measure("accept", "-", "-", [accept(c) for c in owners]))

    def charge(contract_id: str) -> Callable[[], object]:
        return lambda: contract_service.charge(ctx, cw.PROVIDER, contract_id, cw.MONTHS[-1], cw.PRICE)

    def cancel(contract_id: str) -> Callable[[], object]:
        return lambda: contract_service.cancel(ctx, owners[contract_id].parent, contract_id, None)

    def december() -> list[OperationTrips]:
        return [
            _measure("charge", "cached", "1 TransactWriteItems", [charge(c) for c in warm_ids], ctx),
            _measure("charge", "cold", "-", [charge(c) for c in cold_ids], ctx),
            _measure("cancel (by the parent, after a charge)", "-", "-", [cancel(c) for c in owners]),
        ]

    return january, december


# --- 2. a charge's cost ----------------------------------------------------------------------------------------------


def _bare_client() -> Any:
    """A plain boto3 client configured as PynamoDB configures its own (no client-side parameter validation)."""
    return boto3.session.Session().client("dynamodb", config=Config(parameter_validation=False))


@contextmanager
def _hooked(client: Any, event: str, handler: Callable[..., None]) -> Iterator[None]:
    unique = f"bench-{uuid.uuid4().hex}"
    client.meta.events.register(event, handler, unique_id=unique)
    try:
        yield
    finally:
        client.meta.events.unregister(event, unique_id=unique)


@contextmanager
def _timing_with(bare: Any) -> Iterator[Latency]:
    """bench.latency.timing() on the app's clients and on the bare client too, so every path carries the same hooks."""
    with (
        timing() as latency,
        _hooked(bare, "before-call.dynamodb", latency._before),
        _hooked(bare, "after-call.dynamodb", latency._after),
    ):
        yield latency


def _paths(region: cw.Region, http: cw.Http, bare: Any, template: cw.ChargeTemplate) -> dict[str, Any]:
    """For each path, how to prepare one call for a slot (untimed) and return the call (timed)."""
    headers = http.token(role="provider", sub=cw.PROVIDER.sub, provider_id=cw.PROVIDER_INN)

    def service(slot: cw.Slot) -> Callable[[], object]:
        return lambda: contract_service.charge(region.ctx, cw.PROVIDER, slot.contract_id, slot.month, cw.PRICE)

    def over_http(slot: cw.Slot) -> Callable[[], object]:
        path, body = f"/contracts/{slot.contract_id}/charges", {"month": slot.month, "amount": cw.PRICE}
        key = {**headers, "Idempotency-Key": str(uuid.uuid4())}

        def call() -> None:
            status, answer = http.request("POST", path, body, key)
            if status != 201:
                raise cw.BenchFailure(f"POST {path}: {status} {answer}")

        return call

    def bare_call(slot: cw.Slot) -> Callable[[], object]:
        params = template.for_slot(slot, region.clock)
        return lambda: bare.transact_write_items(**params)

    return {"service": service, "http": over_http, "bare": bare_call}


def _charge_cost(
    region: cw.Region, pool: list[cw.Slot], charges: int, warmup: int, engine_pid: int
) -> tuple[dict[str, Any], list[OperationTrips]]:
    template_slot, check_slot, *rest = pool
    template = cw.ChargeTemplate(cw.capture_charge(region.ctx, template_slot), template_slot)
    if cw.comparable(template.for_slot(check_slot, region.clock)) != cw.comparable(
        cw.capture_charge(region.ctx, check_slot)
    ):
        raise cw.BenchFailure("the replayed request differs from what the app sends for the same charge")
    bare = _bare_client()
    slots = iter(rest)
    orders = list(itertools.permutations(PATHS))
    trips: dict[str, Counter[str]] = {name: Counter() for name in PATHS}
    watches = {name: cw.Stopwatch(lambda: machine.process_cpu_seconds(engine_pid)) for name in PATHS}
    with cw.http_app(region.prefix) as http:
        http.set_clock(cw.CHARGE_DAY)
        prepare = _paths(region, http, bare, template)
        for name in PATHS:  # the first call of each path: the function reads its calendar, pools fill
            prepare[name](next(slots))()
        for turn in range(warmup):  # warms every path further; each call counted on its own
            for name in orders[turn % len(orders)]:
                call = prepare[name](next(slots))
                with counting() as counted, _hooked(bare, "before-send.dynamodb", counted._on_send):
                    call()
                trips[name].update(counted.calls)
        cw.log(f"charge cost: {warmup} warm-up rounds done; measuring {charges} rounds")
        meter = cw.CpuMeter(engine_pid)
        with _timing_with(bare) as latency:
            for turn in range(charges):
                for name in orders[turn % len(orders)]:
                    watches[name].time(prepare[name](next(slots)))
        cpu = meter.stop()
    figures = {name: watches[name].figures() for name in PATHS}
    bare_figures = figures["bare"]
    for name in PATHS:
        figures[name]["mean_ratio_to_bare"] = round(figures[name]["mean_ms"] / bare_figures["mean_ms"], 2)
        figures[name]["p50_ratio_to_bare"] = round(figures[name]["p50_ms"] / bare_figures["p50_ms"], 2)
        figures[name]["round_trips"] = {op: n / warmup for op, n in sorted(trips[name].items())}
    spent = latency.seconds
    # What the HTTP path would cost if the idempotency record rode in the charge's own transaction (an estimate:
    # its two writes' client-side time taken off; the transaction would carry a fifth item).
    idempotency_ms = 1000 * (spent["PutItem"] + spent["UpdateItem"]) / charges
    http_estimate = figures["http"]["mean_ms"] - idempotency_ms
    result = {
        "charges_per_path": charges,
        "warmup_rounds": warmup,
        "paths": figures,
        "dynamodb_client_ms": {
            "TransactWriteItems (mean over the three paths)": round(
                1000 * spent["TransactWriteItems"] / (len(PATHS) * charges), 3
            ),
            "PutItem per HTTP charge (idempotency begin)": round(1000 * spent["PutItem"] / charges, 3),
            "UpdateItem per HTTP charge (idempotency finish)": round(1000 * spent["UpdateItem"] / charges, 3),
        },
        "http_without_idempotency_writes_estimate": {
            "mean_ms": round(http_estimate, 3),
            "mean_ratio_to_bare": round(http_estimate / bare_figures["mean_ms"], 2),
        },
        "transaction_conflicts": latency.conflicts,
        "cpu": cpu,
        "target": f"HTTP charge mean <= {TARGET_RATIO}x bare",
        "target_met": figures["http"]["mean_ratio_to_bare"] <= TARGET_RATIO,
        "replayed_request_checked": True,
    }
    rows = [
        _trips_row(HTTP_CHARGE, trips["http"], warmup),
        _trips_row("charge, bare TransactWriteItems (replayed)", trips["bare"], warmup),
    ]
    return result, rows


def _trips_row(operation: str, calls: Counter[str], samples: int) -> OperationTrips:
    return OperationTrips(
        operation=operation,
        calendar="cached",
        samples=samples,
        per_operation=sum(calls.values()) / samples,
        breakdown={name: count / samples for name, count in sorted(calls.items())},
        target="-",
    )


def _verify_charges(pool: list[tuple[str, str]], expected: int) -> None:
    """Every slot was charged once, by whichever path, and every certificate still reconciles with its ledger."""
    charged = 0
    for contract_id, certificate_id in pool:
        contract = contract_store.get(contract_id)
        charged += len(contract.charges)
        balance = certificate_service.reconcile(certificate_id)
        if not balance.consistent:
            raise cw.BenchFailure(f"{certificate_id} does not reconcile after the charges: {balance}")
    if charged != expected:
        raise cw.BenchFailure(f"{charged} contract-months charged, expected {expected}")


# --- 3. the rush -----------------------------------------------------------------------------------------------------


class _Discarded(logging.Handler):
    """Counts urllib3's "Connection pool is full, discarding connection" (more threads than pooled connections)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "pool is full" in record.getMessage():
            self.count += 1


@contextmanager
def _counting_discards() -> Iterator[_Discarded]:
    logger = logging.getLogger("urllib3.connectionpool")
    handler, propagate = _Discarded(), logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


def _rush(
    region: cw.Region, attempts: int, seats: int, threads: int, engine_pid: int
) -> tuple[dict[str, Any], OperationTrips]:
    program_id = region.program(capacity=seats, title="Робототехника: последние места")
    entrants = region.families(attempts, "rush")
    region.ctx.current_period()  # steady state
    outcomes, latencies = [""] * attempts, [0.0] * attempts
    turns, lock, start = iter(range(attempts)), threading.Lock(), threading.Barrier(threads + 1)

    def attempt(index: int) -> None:
        started = time.perf_counter()
        try:
            region.enrol(entrants[index], program_id, RUSH_KEY)
            outcomes[index] = "ok"
        except errors.DomainError as refusal:
            outcomes[index] = refusal.code
        except Exception as failure:  # recorded; the verification below then fails the run
            outcomes[index] = f"error:{type(failure).__name__}"
        latencies[index] = time.perf_counter() - started

    def worker() -> None:
        start.wait()
        while True:
            with lock:
                index = next(turns, None)
            if index is None:
                return
            attempt(index)

    workers = [threading.Thread(target=worker, name=f"bench-rush-{n}") for n in range(threads)]
    for thread in workers:
        thread.start()
    with counting() as trips, timing() as latency, _counting_discards() as discarded:
        meter = cw.CpuMeter(engine_pid)
        start.wait()
        started = time.perf_counter()
        for thread in workers:
            thread.join()
        seconds = time.perf_counter() - started
        cpu = meter.stop()
    by_code = Counter(outcomes)
    winners = [entrants[i] for i, outcome in enumerate(outcomes) if outcome == "ok"]
    seats_taken = _verify_rush(program_id, entrants, winners, seats)
    result = {
        "attempts": attempts,
        "threads": threads,
        "seats": seats,
        "winners": len(winners),
        "seats_taken": seats_taken,
        "outcomes": dict(by_code.most_common()),
        "seconds": round(seconds, 2),
        "attempts_per_second": round(attempts / seconds, 1),
        "latency": cw.milliseconds(latencies),
        "winner_latency": cw.milliseconds([latencies[i] for i, o in enumerate(outcomes) if o == "ok"]),
        "round_trips_per_attempt": {name: round(n / attempts, 3) for name, n in sorted(trips.calls.items())},
        "transaction_conflicts": latency.conflicts,
        "pooled_connections_discarded": discarded.count,
        "cpu": cpu,
    }
    row = _trips_row(f"enrol in the rush ({threads} threads, {seats} seats)", trips.calls, attempts)
    return result, row


def _verify_rush(program_id: str, entrants: list[cw.Family], winners: list[cw.Family], seats: int) -> int:
    """Exactly ``seats`` contracts, seats and holds; the losers hold nothing; the winners reconcile."""
    taken = int(ProgramRecord.get(program_id, "program", consistent_read=True).seats_taken)
    markers = sum(1 for _ in SeatRecord.query(program_id, SeatRecord.record.startswith("seat#"), consistent_read=True))
    if not taken == markers == len(winners) == seats:
        raise cw.BenchFailure(f"seats_taken {taken}, seat markers {markers}, winners {len(winners)}, seats {seats}")
    hold = cw.PRICE * len(cw.MONTHS)
    won = {family.certificate_id for family in winners}
    for record in CertificateRecord.batch_get([family.certificate_id for family in entrants]):
        if int(record.held) != (hold if record.certificate_id in won else 0):
            raise cw.BenchFailure(f"{record.certificate_id} holds {record.held} after the rush")
    for family in winners:
        if not certificate_service.reconcile(family.certificate_id).consistent:
            raise cw.BenchFailure(f"winner {family.certificate_id} does not reconcile")
    return taken


# --- the run ---------------------------------------------------------------------------------------------------------


def _command() -> str:
    return shlex.join(list(getattr(sys, "orig_argv", [sys.executable, *sys.argv])))


def _load() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


def run(
    charges: int = 300,
    warmup: int = 20,
    repeat: int = 20,
    attempts: int = 1000,
    seats: int = 30,
    threads: int = 16,
    engine: ddb_local.LocalEngine | None = None,
) -> dict[str, Any]:
    """Measures everything on fresh tables and returns the figures (JSON-ready); starts and stops its own
    DynamoDB Local unless given one."""
    started, clock_start, load_before = datetime.now(UTC), time.perf_counter(), _load()
    own = engine is None
    local = engine or ddb_local.start()
    if own:
        os.environ.update(ddb_local.local_aws_environment(local.endpoint))
    prefix = f"benchk-{uuid.uuid4().hex[:6]}-"
    try:
        create_tables(prefix)
        reset_connection()
        cw.log(f"DynamoDB Local on {local.endpoint} (pid {local.process.pid}); tables {prefix}*")
        figures = _measure_all(prefix, local.process.pid, charges, warmup, repeat, attempts, seats, threads)
    finally:
        delete_tables(prefix)
        if own:
            local.stop()
    return {
        "command": _command(),
        "started_at": started.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "total_seconds": round(time.perf_counter() - clock_start, 1),
        "load_average_1_5_15": {"before": load_before, "after": _load()},
        "machine": asdict(machine.describe()),
        **figures,
    }


def _measure_all(
    prefix: str, engine_pid: int, charges: int, warmup: int, repeat: int, attempts: int, seats: int, threads: int
) -> dict[str, Any]:
    slots_needed = len(PATHS) * (1 + warmup + charges) + 2  # priming, warm-up and measured rounds; 2 captures
    contracts_needed = math.ceil(slots_needed / len(cw.MONTHS))
    region = cw.region(prefix, quota=2 * repeat + contracts_needed + attempts)
    cw.log(f"January: round trips of enrol and accept ({repeat} samples each)")
    operations, december = _round_trips(region, repeat)
    cw.log(f"January: {contracts_needed} active contracts for the charges (12 chargeable months each)")
    pool_program = region.program(capacity=contracts_needed, title="Робототехника: оплата по месяцам")
    families = region.families(contracts_needed, "pool")
    contract_ids = region.active_contracts(families, pool_program)
    pool = [(c, f.certificate_id) for c, f in zip(contract_ids, families, strict=True)]
    cw.log(f"January: the rush: {attempts} attempts for {seats} seats from {threads} threads")
    rush, rush_row = _rush(region, attempts, seats, threads, engine_pid)
    cw.log(f"rush: {rush['winners']} winners, {rush['attempts_per_second']} attempts/s, {rush['outcomes']}")
    region.at(cw.CHARGE_DAY)
    cw.log("December: round trips of charge and cancel")
    operations += december()
    cw.log(f"December: the charge's cost, {charges} calls per path after {warmup} warm-up rounds")
    slots = cw.slots(pool)
    cost, rows = _charge_cost(region, slots, charges, warmup, engine_pid)
    _verify_charges(pool, expected=slots_needed)
    return {
        "round_trips": [asdict(op) for op in [*operations, *rows, rush_row]],
        "charge_cost": cost,
        "rush": rush,
    }


# --- the report ------------------------------------------------------------------------------------------------------


def _cost_table(cost: dict[str, Any]) -> list[str]:
    what = {
        "service": "services.contracts.charge (no HTTP)",
        "http": "POST /contracts/{id}/charges via the Chalice test client",
        "bare": "boto3 transact_write_items, same 4 items",
    }
    lines = [
        "| path | what is timed | calls | round trips / call | mean ms | p50 ms | p90 ms | p99 ms | max ms "
        "| mean ÷ bare | p50 ÷ bare | Python CPU ms / call | DynamoDB Local CPU ms / call |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name in PATHS:
        p = cost["paths"][name]
        trips = ", ".join(f"{op} {n:g}" for op, n in p["round_trips"].items())
        lines.append(
            f"| {name} | {what[name]} | {p['calls']} | {trips} | {p['mean_ms']:.2f} | {p['p50_ms']:.2f} "
            f"| {p['p90_ms']:.2f} | {p['p99_ms']:.2f} | {p['max_ms']:.2f} | **{p['mean_ratio_to_bare']:.2f}x** "
            f"| {p['p50_ratio_to_bare']:.2f}x | {p['python_cpu_ms']:.2f} | {p['engine_cpu_ms']:.2f} |"
        )
    return lines


def _rush_table(rush: dict[str, Any]) -> list[str]:
    latency, won = rush["latency"], rush["winner_latency"]
    outcomes = ", ".join(f"{code} {n}" for code, n in rush["outcomes"].items())
    trips = ", ".join(f"{op} {n:g}" for op, n in rush["round_trips_per_attempt"].items())
    return [
        "| attempts | threads | seats | winners | seats_taken | outcomes | seconds | attempts / s | p50 ms | p99 ms "
        "| mean ms | max ms | winners' p50 / p99 ms | round trips / attempt | transaction conflicts "
        "| pooled connections discarded |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        f"| {rush['attempts']} | {rush['threads']} | {rush['seats']} | **{rush['winners']}** | {rush['seats_taken']} "
        f"| {outcomes} | {rush['seconds']:.2f} | **{rush['attempts_per_second']:.0f}** | **{latency['p50_ms']:.1f}** "
        f"| **{latency['p99_ms']:.1f}** | {latency['mean_ms']:.1f} | {latency['max_ms']:.1f} "
        f"| {won['p50_ms']:.1f} / {won['p99_ms']:.1f} | {trips} | {rush['transaction_conflicts']} "
        f"| {rush['pooled_connections_discarded']} |",
    ]


def _idempotency_note(client: dict[str, float], estimate: dict[str, float]) -> str:
    put = client["PutItem per HTTP charge (idempotency begin)"]
    update = client["UpdateItem per HTTP charge (idempotency finish)"]
    if put + update == 0:
        return "the HTTP path sends no DynamoDB request besides the charge's transaction."
    return (
        f"per HTTP charge the idempotency layer adds PutItem {put:.2f} ms + UpdateItem {update:.2f} ms. Without "
        f"those two writes (the idempotency record written inside the charge's transaction) the HTTP charge would be "
        f"about {estimate['mean_ms']:.1f} ms, {estimate['mean_ratio_to_bare']:.2f}x bare (estimate)."
    )


def _cpu_line(phase: str, cpu: dict[str, float]) -> str:
    cores = os.cpu_count() or 1
    return (
        f"The machine during {phase}: all processes kept {cpu['machine_busy']:.0%} of its {cores} cores busy, the "
        f"bench itself (Python {cpu['python_cpu_seconds']:.1f} s + DynamoDB Local {cpu['engine_cpu_seconds']:.1f} s "
        f"of CPU) {cpu['bench_busy']:.0%}; load average {cpu['load_average']}."
    )


def markdown(result: dict[str, Any]) -> str:
    cost, load = result["charge_cost"], result["load_average_1_5_15"]
    client = cost["dynamodb_client_ms"]
    http, estimate = cost["paths"]["http"], cost["http_without_idempotency_writes_estimate"]
    parts = [
        "# ПФДО contracts: benchmark",
        "",
        f"Command: `{result['command']}`  ",
        f"Started: {result['started_at']}; took {result['total_seconds']:.0f} s. "
        f"Load average (1/5/15 min) before {load['before']}, after {load['after']}: "
        "the machine was shared, so times carry the noise of other work; round trips do not.",
        "",
        "## Machine",
        "",
        *report._machine(machine.Machine(**result["machine"])),
        "",
        "## DynamoDB round trips per operation",
        "",
        *report._operations([OperationTrips(**row) for row in result["round_trips"]]),
        "",
        "## A charge's cost: the app against a bare TransactWriteItems of the same items",
        "",
        f"{cost['charges_per_path']} charges per path, each a fresh contract-month, interleaved (one call per path a "
        f"round, order rotating over the 6 permutations) after {cost['warmup_rounds']} warm-up rounds, on the same "
        "DynamoDB Local in the same run. The bare request is the one a real charge sends (captured, checked equal).",
        "",
        *_cost_table(cost),
        "",
        f"Target: {cost['target']}: **{'met' if cost['target_met'] else 'NOT met'}** "
        f"({http['mean_ratio_to_bare']:.2f}x). Client-side time inside DynamoDB calls: TransactWriteItems "
        f"{client['TransactWriteItems (mean over the three paths)']:.2f} ms (mean, all paths); "
        f"{_idempotency_note(client, estimate)} Transaction conflicts: {cost['transaction_conflicts']}.",
        "",
        _cpu_line("the measured rounds", cost["cpu"]),
        "",
        "## The rush: enrolments racing for the last seats (services.contracts.enrol, one process)",
        "",
        *_rush_table(result["rush"]),
        "",
        _cpu_line("the rush", result["rush"]["cpu"]),
        "",
        "Verified after the run: exactly the seats were taken (program counter and seat markers), the winners hold "
        "the price of 12 months and reconcile with their ledgers, every loser holds nothing; every charged "
        "certificate reconciles and every contract-month was charged once.",
    ]
    return "\n".join(parts) + "\n"


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.contracts", description=__doc__.split("\n\n")[0])
    parser.add_argument("--charges", type=int, default=300, help="measured charges per path (default 300)")
    parser.add_argument("--warmup", type=int, default=20, help="warm-up rounds, also the round-trip samples (20)")
    parser.add_argument("--repeat", type=int, default=20, help="samples per operation for round trips (default 20)")
    parser.add_argument("--attempts", type=int, default=1000, help="enrolment attempts in the rush (default 1000)")
    parser.add_argument("--seats", type=int, default=30, help="seats of the rushed program (default 30)")
    parser.add_argument("--threads", type=int, default=16, help="threads of the rush (default 16)")
    parser.add_argument("--output", type=Path, default=None, help="also save contracts-<time>.md and .json here")
    args = parser.parse_args(argv)
    if min(args.charges, args.warmup, args.repeat, args.attempts, args.seats, args.threads) < 1:
        parser.error("every count must be at least 1")
    if args.seats > args.attempts:
        parser.error("more seats than attempts: nobody would lose")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    result = run(args.charges, args.warmup, args.repeat, args.attempts, args.seats, args.threads)
    text = markdown(result)
    print(text)
    if args.output is not None:
        args.output.mkdir(parents=True, exist_ok=True)
        stamp = result["started_at"].replace(":", "").replace("-", "")[:15]
        (args.output / f"contracts-{stamp}.json").write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
        (args.output / f"contracts-{stamp}.md").write_text(text)
        cw.log(f"saved {args.output}/contracts-{stamp}.md and .json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
