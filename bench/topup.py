"""Top-up throughput: N funded certificates seeded once, then one run per segment count, each into a new period.

Periods are whole calendar months and cannot overlap, so the bench uses one-month periods: the seed's period P0,
then P1, P2, ... Each run opens the next period (storing the run's segment count on it), moves the clock into it and
calls ``services.rollover.run_topup``: every certificate expires its old money and is credited again.
"""

from __future__ import annotations

import os
import random
import sys
import time
import uuid
from dataclasses import dataclass

from bench import machine, world
from bench.latency import timing
from bench.seed import Seeded, credit_total, seed_funded
from chalicelib.domain.period import Month, Period
from chalicelib.platform.clock import SettableClock
from chalicelib.services import certificates as certificate_service
from chalicelib.services import periods as period_service
from chalicelib.services.rollover import run_topup
from chalicelib.storage import periods as period_store
from chalicelib.storage.tables import create_tables, delete_tables
from chalicelib.storage.transactions import reset_connection
from devtools.roundtrips import counting

FIRST_MONTH = Month(2026, 1)
NO_DEADLINE = 24 * 3600.0


class BenchFailure(RuntimeError):
    """A run did not leave the data as the top-up must (the figures would be meaningless)."""


@dataclass(frozen=True)
class SeedRun:
    certificates: int
    seconds: float
    items_per_second: float


@dataclass(frozen=True)
class TopupRun:
    certificates: int
    segments: int
    period_id: str
    seconds: float
    certificates_per_second: float
    round_trips: int
    round_trips_per_certificate: float
    breakdown: dict[str, int]
    certificates_per_transaction: float
    cpu: CpuShare
    # Client-side seconds inside each DynamoDB operation, summed over the segments' threads.
    dynamodb_seconds: dict[str, float]
    transaction_conflicts: int
    reconciled_sample: int


def _engine_cpu_seconds(pid: int) -> float:
    """User + system CPU time of the DynamoDB Local process so far (kept for bench.contracts)."""
    return machine.process_cpu_seconds(pid)


@dataclass(frozen=True)
class CpuShare:
    """How busy the machine was during a run: all processes, and the bench's own two (Python and the engine)."""

    python_seconds: float
    engine_seconds: float
    machine_busy: float  # share of all cores busy, any process
    bench_busy: float  # share of all cores used by the bench's Python and DynamoDB Local
    load_average: float  # 1-minute, at the end of the run


class _CpuMeter:
    def __init__(self, engine_pid: int) -> None:
        self.engine_pid = engine_pid
        self.engine = machine.process_cpu_seconds(engine_pid)
        self.python = time.process_time()
        self.jiffies = machine.cpu_jiffies()
        self.wall = time.perf_counter()

    def stop(self) -> CpuShare:
        wall = time.perf_counter() - self.wall
        python = time.process_time() - self.python
        engine = machine.process_cpu_seconds(self.engine_pid) - self.engine
        busy, total = (now - then for now, then in zip(machine.cpu_jiffies(), self.jiffies, strict=True))
        cores = os.cpu_count() or 1
        return CpuShare(
            python_seconds=round(python, 1),
            engine_seconds=round(engine, 1),
            machine_busy=round(busy / total, 3) if total else 0.0,
            bench_busy=round((python + engine) / (wall * cores), 3),
            load_average=machine.load_average(),
        )


def _log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def _verify(period: Period, seeded: Seeded, expired_kopecks: int, sample: int) -> int:
    """Progress counters say every certificate was credited once and its old money expired; a random sample
    reconciles with its ledger."""
    progress = period_service.progress(period_store.period_state(period.period_id))
    count = len(seeded.certificate_ids)
    if progress.status != "done" or progress.certificates_credited != count:
        raise BenchFailure(f"{period.period_id}: {progress}")
    if progress.certificates_over_quota or progress.certificates_aged_out or progress.rolled_on_touch:
        raise BenchFailure(f"{period.period_id}: unexpected outcomes {progress}")
    credited_kopecks = credit_total(period, count)
    if (progress.credited_kopecks, progress.expired_kopecks) != (credited_kopecks, expired_kopecks):
        raise BenchFailure(f"{period.period_id}: expected {credited_kopecks} credited, {expired_kopecks} expired")
    chosen = random.Random(period.period_id).sample(seeded.certificate_ids, min(sample, count))
    for certificate_id in chosen:
        check = certificate_service.reconcile(certificate_id)
        if check.period_id != period.period_id or not check.consistent:
            raise BenchFailure(f"{certificate_id} does not reconcile in {period.period_id}: {check}")
    return len(chosen)


def _one_run(
    prefix: str,
    clock: SettableClock,
    period: Period,
    segments: int,
    seeded: Seeded,
    expired_kopecks: int,
    engine_pid: int,
    sample: int,
) -> TopupRun:
    ctx = world.context(prefix, clock, segments=segments)
    world.open_period(ctx, period)
    world.move_into(clock, period)
    ctx.current_period()  # steady state: the calendar is warm, as in a function that has served a request
    count = len(seeded.certificate_ids)
    meter = _CpuMeter(engine_pid)
    started = time.perf_counter()
    with counting() as trips, timing() as latency:
        complete = run_topup(ctx, period.period_id, time_budget_seconds=NO_DEADLINE)
    seconds = time.perf_counter() - started
    cpu = meter.stop()
    if not complete:
        raise BenchFailure(f"the top-up of {period.period_id} did not complete")
    reconciled = _verify(period, seeded, expired_kopecks, sample)
    transactions = trips.calls.get("TransactWriteItems", 0)
    return TopupRun(
        certificates=count,
        segments=segments,
        period_id=period.period_id,
        seconds=round(seconds, 2),
        certificates_per_second=round(count / seconds, 1),
        round_trips=trips.total,
        round_trips_per_certificate=round(trips.total / count, 4),
        breakdown=dict(sorted(trips.calls.items())),
        certificates_per_transaction=round(count / transactions, 1) if transactions else 0.0,
        cpu=cpu,
        dynamodb_seconds={name: round(spent, 1) for name, spent in sorted(latency.seconds.items())},
        transaction_conflicts=latency.conflicts,
        reconciled_sample=reconciled,
    )


def run_size(
    count: int, segment_counts: list[int], municipalities: int, engine_pid: int, sample: int
) -> tuple[SeedRun, list[TopupRun]]:
    """Fresh tables; seeds ``count`` certificates in P0; one top-up per segment count into P1, P2, ...; drops them."""
    prefix = f"bench{count}-{uuid.uuid4().hex[:6]}-"
    create_tables(prefix)
    reset_connection()
    try:
        clock = SettableClock()
        codes = world.municipalities(municipalities)
        quotas = dict.fromkeys(codes, count)
        month = FIRST_MONTH
        first = world.monthly(month, quotas)
        ctx = world.context(prefix, clock)
        world.open_period(ctx, first)
        now = world.move_into(clock, first)
        seeded = seed_funded(first, count, codes, now)
        seed = SeedRun(count, round(seeded.seconds, 1), round(2 * count / seeded.seconds, 1))
        _log(f"seeded {count} certificates (+{count} ledger entries) in {seeded.seconds:.1f}s")
        runs = []
        previous = first
        for segments in segment_counts:
            month = month.next()
            current = world.monthly(month, quotas)
            left_over = credit_total(previous, count)  # nothing was spent: all of it expires
            run = _one_run(prefix, clock, current, segments, seeded, left_over, engine_pid, sample)
            previous = current
            _log(
                f"top-up of {count} with {segments} segment(s): {run.seconds:.1f}s, "
                f"{run.certificates_per_second:.0f}/s, {run.round_trips_per_certificate:.4f} round trips/certificate, "
                f"seconds in DynamoDB {run.dynamodb_seconds}, {run.transaction_conflicts} transaction conflicts"
            )
            runs.append(run)
        return seed, runs
    finally:
        delete_tables(prefix)
