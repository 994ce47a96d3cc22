"""Reports: the stream consumer's throughput over a region's worth of writes, then each report's latency and round
trips over the counters it kept.

    .venv/bin/python -m bench.reports            # 100 000 certificates, 500 000 ledger entries
    .venv/bin/python -m bench.reports --quick    # 10 000 and 50 000

The region is written straight to the tables with BatchWriteItem (bench/seed.py: funded certificates with their
``credit#`` entries and quota slots), then programs, one active contract for half the children and a charge for each
of eight months of it: 100 000 credits + 400 000 charges = 500 000 ledger entries. The consumer (services/streams.py)
then applies every INSERT those writes make, in pages of 1 000 records in Lambda's event shape (one table's records a
page, as a shard delivers them), built from the very items written: DynamoDB Local's own streams are turned off for
the seed, because they slow its batch writes down (measured on this machine, quick seed back to back: 681 and 741
items/s with streams against 3 871 and 3 513 without; the full seed fell to ~60 items/s), which says nothing about
DynamoDB in AWS and is not what the bench measures. The poller that reads
real streams is exercised by tests/integration/test_reports.py. The figures are then checked against what was
seeded (a bench that counted wrong fails instead of reporting). One page is delivered a second time (all of it
counted already) to time a retried delivery. Last, each report is asked ``requests`` times: p50 / p95 latency and
its DynamoDB round trips (devtools.roundtrips), which do not grow with the data.

``run(quick, engine)`` returns the figures as a dict (bench/suite.py flattens it into `make bench`'s table);
``main()`` prints them as JSON.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import boto3
from pynamodb.models import Model

from bench import world
from bench.seed import _records, certificate_number, seed_funded
from chalicelib.domain.actors import WHOLE_REGION, Principal, Role
from chalicelib.domain.contract import ContractStatus
from chalicelib.domain.ledger import EntryKind, Posting, charge_key, utc_stamp
from chalicelib.domain.period import Month, Period
from chalicelib.domain.program import Direction
from chalicelib.platform.clock import SettableClock
from chalicelib.services import reports
from chalicelib.services.context import Context
from chalicelib.services.streams import consume
from chalicelib.storage import aggregates
from chalicelib.storage.models import TABLES, ContractRecord, LedgerRecord, ProgramRecord
from chalicelib.storage.tables import create_tables, delete_tables, stream_view_type
from chalicelib.storage.transactions import reset_connection
from devtools import ddb_local
from devtools.roundtrips import counting

FIRST = Month(2026, 1)
CHARGED_MONTHS = 8
PRICE = 150_000
PROGRAMS_PER_MUNICIPALITY = 40
PROVIDERS_PER_MUNICIPALITY = 8
CHUNK = 1_000
PAGE = 1_000  # records per delivery: Lambda's batch for the consumer (infra/template.py)
SEED_WORKERS = 4
REGIONAL = Principal("bench:regional", Role.OPERATOR, municipality=WHOLE_REGION)


class BenchFailure(RuntimeError):
    """The counters do not say what was written: the figures would be meaningless."""


_STARTED = time.perf_counter()


def _log(message: str) -> None:
    print(f"[bench.reports {time.perf_counter() - _STARTED:6.1f}s] {message}", file=sys.stderr, flush=True)


def _program_id(municipality: str, number: int) -> str:
    return f"prg-{municipality}-{number:03d}"


def _provider_id(municipality: str, number: int) -> str:
    return f"{int(hashlib.sha256(municipality.encode()).hexdigest()[:6], 16) % 10**6:06d}{number:04d}"


def _seed_programs(period_id: str, municipalities: list[str]) -> None:
    directions = list(Direction)
    with ProgramRecord.batch_write() as batch:
        for municipality in municipalities:
            for number in range(PROGRAMS_PER_MUNICIPALITY):
                provider = number % PROVIDERS_PER_MUNICIPALITY
                batch.save(
                    ProgramRecord(
                        program_id=_program_id(municipality, number),
                        record="program",
                        provider_id=_provider_id(municipality, provider),
                        provider_name=f"Поставщик {municipality} №{provider}",
                        title=f"Программа №{number}",
                        description="",
                        direction=directions[number % len(directions)].value,
                        age_min=5,
                        age_max=17,
                        municipality=municipality,
                        address="",
                        schedule="",
                        period_id=period_id,
                        months=[str(m) for m in _months()],
                        price_per_month=PRICE,
                        capacity=10_000,
                        status="certified",
                        search_text="",
                        created_at="2026-01-01T00:00:00Z",
                        updated_at="2026-01-01T00:00:00Z",
                    )
                )


def _months() -> list[Month]:
    months = [FIRST]
    while len(months) < CHARGED_MONTHS:
        months.append(months[-1].next())
    return months


def _seed_contracts(period_id: str, count: int, municipalities: list[str], clock: SettableClock) -> int:
    """An active contract for each of the first ``count`` children, in a program of its municipality, charged for
    each of ``CHARGED_MONTHS`` months; returns the ledger entries written (BatchWriteItem from a few threads, as
    bench/seed.py writes certificates)."""
    for model in (ContractRecord, LedgerRecord):
        assert model._get_connection().connection.client is not None  # created before the threads race to
    chunks = [range(first, min(first + CHUNK, count)) for first in range(0, count, CHUNK)]
    with ThreadPoolExecutor(max_workers=SEED_WORKERS, thread_name_prefix="seed") as pool:
        return sum(pool.map(lambda chunk: _write_contracts(chunk, period_id, municipalities, clock), chunks))


def _contract_items(
    index: int, period_id: str, municipalities: list[str], stamp: str, posting: Posting
) -> tuple[ContractRecord, list[LedgerRecord]]:
    """Child ``index``'s active contract, in a program of its municipality, and its charge entries."""
    certificate_id = certificate_number(index)
    municipality = municipalities[index % len(municipalities)]
    program_number = (index // len(municipalities)) % PROGRAMS_PER_MUNICIPALITY
    contract_id = f"{certificate_id}-{hashlib.sha256(str(index).encode()).hexdigest()[:12]}"
    months = [str(m) for m in _months()]
    contract = ContractRecord(
        contract_id=contract_id,
        certificate_id=certificate_id,
        guardian_sub=f"bench:parent-{index // 2:07d}",
        provider_id=_provider_id(municipality, program_number % PROVIDERS_PER_MUNICIPALITY),
        program_id=_program_id(municipality, program_number),
        program_title=f"Программа №{program_number}",
        period_id=period_id,
        municipality=municipality,
        status=ContractStatus.ACTIVE.value,
        price_per_month=PRICE,
        months=months,
        hold_amount=PRICE * len(months),
        remaining_hold=0,
        charged_total=PRICE * len(months),
        charges=dict.fromkeys(months, PRICE),
        funded=True,
        created_at=stamp,
        respond_by=stamp,
        accepted_at=stamp,
    )
    charges = [
        LedgerRecord(
            certificate_id=certificate_id,
            entry_key=charge_key(contract_id, month),
            kind=EntryKind.CHARGE.value,
            period_id=period_id,
            amount=PRICE,
            posted=posting.next(),
            contract_id=contract_id,
            month=month,
            actor="bench",
        )
        for month in months
    ]
    return contract, charges


def _write_contracts(indexes: range, period_id: str, municipalities: list[str], clock: SettableClock) -> int:
    entries = 0
    posting = Posting(clock.now())
    stamp = utc_stamp(clock.now())
    with ContractRecord.batch_write() as contracts, LedgerRecord.batch_write() as ledger:
        for index in indexes:
            contract, charges = _contract_items(index, period_id, municipalities, stamp, posting)
            contracts.save(contract)
            for charge in charges:
                ledger.save(charge)
                entries += 1
    return entries


# --- the stream records the seed's writes make -----------------------------------------------------------------------


def _insert(model: Model, sequence: int) -> dict[str, Any]:
    """The INSERT record of a put of ``model``, as Lambda delivers it."""
    image = model.serialize()
    keys = {name: image[name] for name in _key_names(type(model))}
    return {
        "eventID": uuid.uuid4().hex,
        "eventName": "INSERT",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "ddblocal",
        "dynamodb": {
            "Keys": keys,
            "NewImage": image,
            "SequenceNumber": f"{sequence:021d}",
            "SizeBytes": len(json.dumps(image)),
            "StreamViewType": stream_view_type(type(model)),
        },
        "eventSourceARN": f"arn:aws:dynamodb:ddblocal:000000000000:table/{model.Meta.table_name}/stream/bench",
    }


def _key_names(model: type[Model]) -> list[str]:
    return [key["AttributeName"] for key in model._get_schema()["key_schema"]]


def _pages(
    period: Period, certificates: int, contracts: int, municipalities: list[str], clock: SettableClock
) -> Iterator[list[dict[str, Any]]]:
    """The records of every item the seed wrote, a table at a time, ``PAGE`` records a page."""
    sequence = iter(range(1, 10**12))
    now = clock.now()
    made = (_records(i, period, municipalities[i % len(municipalities)], now) for i in range(certificates))
    certificate_items, credits = [], []
    for certificate, credit, _amount in made:
        certificate_items.append(certificate)
        credits.append(credit)
        if len(certificate_items) == PAGE:
            yield [_insert(r, next(sequence)) for r in certificate_items]
            yield [_insert(r, next(sequence)) for r in credits]
            certificate_items, credits = [], []
    if certificate_items:
        yield [_insert(r, next(sequence)) for r in certificate_items]
        yield [_insert(r, next(sequence)) for r in credits]
    posting, stamp = Posting(now), utc_stamp(now)
    contract_items: list[Model] = []
    charges: list[Model] = []
    for index in range(contracts):
        contract, entries = _contract_items(index, period.period_id, municipalities, stamp, posting)
        contract_items.append(contract)
        charges.extend(entries)
        while len(charges) >= PAGE:
            yield [_insert(r, next(sequence)) for r in charges[:PAGE]]
            charges = charges[PAGE:]
        if len(contract_items) == PAGE:
            yield [_insert(r, next(sequence)) for r in contract_items]
            contract_items = []
    for rest in (charges, contract_items):
        if rest:
            yield [_insert(r, next(sequence)) for r in rest]


@contextmanager
def _engine(engine: ddb_local.LocalEngine | None) -> Iterator[ddb_local.LocalEngine]:
    if engine is not None:
        yield engine
        return
    started = ddb_local.start()
    saved = {key: os.environ.get(key) for key in ddb_local.local_aws_environment(started.endpoint)}
    os.environ.update(ddb_local.local_aws_environment(started.endpoint))
    try:
        yield started
    finally:
        started.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _latency(call: Callable[[], Any], requests: int) -> dict[str, float]:
    call()  # warm: connections and the calendar
    seconds = []
    with counting() as trips:
        for _ in range(requests):
            started = time.perf_counter()
            call()
            seconds.append(time.perf_counter() - started)
    ordered = sorted(seconds)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p95_ms": round(ordered[max(0, int(len(ordered) * 0.95) - 1)] * 1000, 2),
        "round_trips": round(trips.total / requests, 2),
    }


def _check(ctx: Context, period_id: str, certificates: int, contracts: int) -> None:
    coverage = reports.coverage(ctx, REGIONAL, period_id, None).total
    spending = reports.spending(ctx, REGIONAL, period_id, None, "month").total
    wanted = (certificates, certificates, contracts, contracts * CHARGED_MONTHS, contracts * CHARGED_MONTHS * PRICE)
    found = (coverage.certificates, coverage.funded, coverage.with_active_contract, spending.charges)
    if (*found, spending.charged_kopecks) != wanted:
        raise BenchFailure(f"the reports say {(*found, spending.charged_kopecks)}, the seed wrote {wanted}")


def run(
    quick: bool = False, engine: ddb_local.LocalEngine | None = None, requests: int | None = None
) -> dict[str, Any]:
    certificates = 10_000 if quick else 100_000
    contracts = certificates // 2
    requests = requests or (50 if quick else 200)
    with _engine(engine):
        prefix = f"benchrep-{uuid.uuid4().hex[:6]}-"
        create_tables(prefix)
        _streams_off(prefix)
        reset_connection()
        aggregates.forget_cache()
        try:
            return _measure(prefix, certificates, contracts, requests)
        finally:
            delete_tables(prefix)


def _streams_off(prefix: str) -> None:
    """The seed writes with DynamoDB Local's streams off (see the module's docstring); the records are built."""
    client = boto3.client("dynamodb")
    for base, (model, _ttl) in TABLES.items():
        if stream_view_type(model):
            client.update_table(TableName=f"{prefix}{base}", StreamSpecification={"StreamEnabled": False})


def _measure(prefix: str, certificates: int, contracts: int, requests: int) -> dict[str, Any]:
    clock = SettableClock()
    municipalities = world.municipalities(12)
    period = world.period("2026", FIRST, Month(2026, 12), dict.fromkeys(municipalities, certificates))
    ctx = world.context(prefix, clock)
    clock.set(period.start_instant() - timedelta(days=1))
    world.open_period(ctx, period)
    world.move_into(clock, period, after=timedelta(days=250))

    _log(f"seeding {certificates} certificates, {contracts} contracts, {contracts * CHARGED_MONTHS} charges")
    started = time.perf_counter()
    seeded = seed_funded(period, certificates, municipalities, clock.now())
    _seed_programs(period.period_id, municipalities)
    charges = _seed_contracts(period.period_id, contracts, municipalities, clock)
    seed_seconds = time.perf_counter() - started
    items = 2 * certificates + len(municipalities) * PROGRAMS_PER_MUNICIPALITY + contracts + charges

    _log("applying the stream records of every write")
    applied = already = transactions = records = pages = 0
    by_table: Counter[str] = Counter()
    apply_seconds = 0.0
    again: list[dict[str, Any]] = []
    with counting() as trips:
        for page in _pages(period, certificates, contracts, municipalities, clock):
            started = time.perf_counter()
            outcome = consume(ctx, page)
            apply_seconds += time.perf_counter() - started
            applied, already, transactions = (
                applied + outcome.applied,
                already + outcome.already_applied,
                transactions + outcome.transactions,
            )
            records, pages = records + len(page), pages + 1
            by_table[page[0]["eventSourceARN"].split(":table/")[1].split("/")[0].removeprefix(prefix)] += len(page)
            if "charge#" in page[0]["dynamodb"]["Keys"].get("entry_key", {}).get("S", ""):
                again = page
    consumer_trips = trips.total
    _check(ctx, period.period_id, certificates, contracts)

    _log("delivering a page of charges again")
    started = time.perf_counter()
    with counting() as retry_trips:
        repeated = consume(ctx, again)
    retry_seconds = time.perf_counter() - started
    if repeated.applied:
        raise BenchFailure(f"a page delivered again counted {repeated.applied} changes twice")
    _check(ctx, period.period_id, certificates, contracts)

    _log(f"asking each report {requests} times")
    municipality = municipalities[0]
    operator = Principal("bench:operator", Role.OPERATOR, municipality=municipality)
    calls: dict[str, Callable[[], Any]] = {
        "coverage of a municipality": lambda: reports.coverage(ctx, operator, period.period_id, None),
        "coverage of the region": lambda: reports.coverage(ctx, REGIONAL, period.period_id, None),
        "spending by program of a municipality": lambda: reports.spending(
            ctx, operator, period.period_id, None, "program"
        ),
        "spending by program of the region": lambda: reports.spending(ctx, REGIONAL, period.period_id, None, "program"),
        "spending by provider of the region, CSV": lambda: reports.spending(
            ctx, REGIONAL, period.period_id, None, "provider"
        ).csv(),
        "spending by month of the region": lambda: reports.spending(ctx, REGIONAL, period.period_id, None, "month"),
        "quota used of the region": lambda: reports.quota_used(ctx, REGIONAL, period.period_id, None),
        "expired at the last rollover of the region": lambda: reports.expired_at_last_rollover(
            ctx, REGIONAL, None, period.period_id
        ),
    }
    latencies = [{"name": name, **_latency(call, requests)} for name, call in calls.items()]
    return {
        "sizes": {
            "certificates": certificates,
            "ledger_entries": seeded_entries(certificates, charges),
            "contracts": contracts,
            "programs": len(municipalities) * PROGRAMS_PER_MUNICIPALITY,
            "municipalities": len(municipalities),
            "requests_per_report": requests,
        },
        "seed": {
            "items": items,
            "seconds": round(seed_seconds, 1),
            "items_per_second": round(items / seed_seconds),
            "credited_kopecks": seeded.credited_kopecks,
        },
        "consumer": {
            "records": records,
            "records_by_table": dict(by_table),
            "pages": pages,
            "apply_seconds": round(apply_seconds, 1),
            "records_per_second": round(records / apply_seconds),
            "changes_counted": applied,
            "transactions": transactions,
            "changes_per_transaction": round(applied / max(transactions, 1), 1),
            "round_trips": consumer_trips,
            "round_trips_per_1000_records": round(1000 * consumer_trips / records, 1),
        },
        "redelivery": {
            "records": len(again),
            "seconds": round(retry_seconds, 2),
            "records_per_second": round(len(again) / retry_seconds),
            "round_trips": retry_trips.total,
        },
        "reports": latencies,
    }


def seeded_entries(certificates: int, charges: int) -> int:
    return certificates + charges  # a credit per certificate, and the charges


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.reports", description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10 000 certificates, 50 000 ledger entries")
    parser.add_argument("--requests", type=int, default=None, help="requests per report (full 200, quick 50)")
    args = parser.parse_args(argv)
    print(json.dumps(run(quick=args.quick, requests=args.requests), indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
