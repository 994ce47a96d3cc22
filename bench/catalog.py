"""Catalog latency and round trips per page over a large catalog in DynamoDB Local.

    .venv/bin/python -m bench.catalog                          # 50 000 programs, 200 requests per scenario
    .venv/bin/python -m bench.catalog --programs 5000 --requests 50

Starts its own in-memory DynamoDB Local, creates the tables, batch-writes the programs (6 directions, 15
municipalities, Russian titles and descriptions from word lists, ages, prices, capacities, seats taken, some certified,
a few drafts and closed ones), then asks the catalog service for pages and measures each: wall time, DynamoDB round
trips (devtools.roundtrips), items returned and items DynamoDB read for them. ``run()`` returns the figures as a dict.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from bench import machine
from chalicelib.domain.ids import PeriodId, ProviderId
from chalicelib.domain.program import Direction, Program, ProgramStatus, RatingSummary
from chalicelib.domain.search import search_text
from chalicelib.platform.clock import SettableClock
from chalicelib.platform.config import Settings
from chalicelib.services import catalog
from chalicelib.services.catalog import CatalogQuery
from chalicelib.services.context import Context
from chalicelib.storage import programs as store
from chalicelib.storage.models import ProgramRecord
from chalicelib.storage.tables import create_tables, delete_tables
from chalicelib.storage.transactions import reset_connection
from devtools import ddb_local
from devtools.roundtrips import counting

CHUNK = 1_000
MUNICIPALITIES = (
    "petropavlovsk",
    "elizovo",
    "vilyuchinsk",
    "milkovo",
    "ust-kamchatsk",
    "ust-bolsheretsk",
    "sobolevo",
    "bystrinsky",
    "tigil",
    "karaginsky",
    "olyutorsky",
    "penzhinsky",
    "aleutsky",
    "palana",
    "paratunka",
)
# Larger towns have more programs (weights follow the municipalities above).
WEIGHTS = (30, 18, 8, 5, 5, 4, 3, 3, 3, 3, 2, 2, 1, 2, 3)
SUBJECTS: dict[Direction, tuple[str, ...]] = {
    Direction.TECHNICAL: (
        "Робототехника",
        "3D-моделирование",
        "Программирование на Python",
        "Авиамоделирование",
        "Радиоэлектроника",
        "Лего-конструирование",
        "Судомоделирование",
    ),
    Direction.NATURAL_SCIENCE: (
        "Юный эколог",
        "Занимательная химия",
        "Астрономия",
        "Биология в опытах",
        "Физика вокруг нас",
        "Юные натуралисты",
    ),
    Direction.PHYSICAL_SPORTS: (
        "Шахматы",
        "Шахматный клуб",
        "Футбол",
        "Плавание",
        "Лыжные гонки",
        "Дзюдо",
        "Волейбол",
        "Спортивная гимнастика",
        "Настольный теннис",
        "Баскетбол",
        "Самбо",
        "Лёгкая атлетика",
    ),
    Direction.ARTS: (
        "Бальные танцы",
        "Хореография",
        "Вокальная студия",
        "Изостудия",
        "Театральная студия",
        "Гончарное мастерство",
        "Гитара",
        "Фортепиано",
        "Хор",
    ),
    Direction.TOURISM_LOCAL_HISTORY: (
        "Краеведение Камчатки",
        "Юные туристы",
        "Спортивное ориентирование",
        "Школьный музей",
        "Вулканы Камчатки",
    ),
    Direction.SOCIAL_HUMANITARIAN: (
        "Английский язык",
        "Юный журналист",
        "Волонтёры",
        "Финансовая грамотность",
        "Ораторское искусство",
        "Шахматная гостиная",
        "Юный экскурсовод",
    ),
}
LEVELS = ("для начинающих", "для младших школьников", "продвинутый уровень", "для подростков", "", "", "")
STUDIOS = ("«Радуга»", "«Парус»", "«Вулкан»", "«Искра»", "«Полёт»", "«Северное сияние»", "«Камчадал»", "")
SENTENCES = (
    "Занятия проходят в небольших группах.",
    "Программа рассчитана на учебный год.",
    "Педагоги с большим опытом работы с детьми.",
    "В конце года дети показывают свои работы на выставке.",
    "Участвуем в региональных и всероссийских конкурсах.",
    "Все материалы и оборудование предоставляются.",
    "Подходит для детей без подготовки.",
    "Развиваем внимание, память и логическое мышление.",
    "Много практики и командной работы.",
    "Родители могут посещать открытые занятия.",
    "Занятия ведутся по авторской методике.",
    "Летом проводятся выездные сборы.",
)
STREETS = ("ул. Ленина", "ул. Советская", "пр. Победы", "ул. Мира", "ул. Океанская", "ул. Вулканная")
SCHEDULES = ("пн, ср 15:00-16:30", "вт, чт 16:00-17:30", "сб 10:00-12:00", "пн-пт 14:00-15:00", "ср, пт 17:00-18:30")


def _program(rng: random.Random, providers: list[tuple[str, str]], stamp: str) -> Program:
    direction = rng.choice(tuple(Direction))
    subject = rng.choice(SUBJECTS[direction])
    title = " ".join(part for part in (subject, rng.choice(LEVELS), rng.choice(STUDIOS)) if part)
    description = " ".join(rng.sample(SENTENCES, rng.randint(3, 5)))
    municipality = rng.choices(MUNICIPALITIES, WEIGHTS)[0]
    age_min = rng.randint(5, 14)
    capacity = rng.randint(8, 30)
    seats = capacity if rng.random() < 0.15 else rng.randint(0, capacity - 1)  # about 15% are full
    roll = rng.random()
    status = (
        ProgramStatus.CERTIFIED
        if roll < 0.45
        else ProgramStatus.PUBLISHED
        if roll < 0.95
        else rng.choice((ProgramStatus.DRAFT, ProgramStatus.CLOSED))
    )
    provider_id, provider_name = rng.choice(providers)
    count = rng.randint(0, 12)
    return Program(
        program_id=store.new_program_id(),
        provider_id=ProviderId(provider_id),
        provider_name=provider_name,
        title=title,
        description=description,
        direction=direction,
        age_min=age_min,
        age_max=rng.randint(min(age_min + 2, 17), 17),
        municipality=municipality,
        address=f"{municipality}, {rng.choice(STREETS)}, {rng.randint(1, 120)}",
        schedule=rng.choice(SCHEDULES),
        period_id=PeriodId("2027"),
        months=[f"2027-{m:02d}" for m in (1, 2, 3, 4, 5, 9, 10, 11, 12)],
        price_per_month=0 if rng.random() < 0.2 else rng.randrange(50_000, 400_000, 500),
        capacity=capacity,
        seats_taken=seats,
        status=status,
        rating=RatingSummary(sum(rng.randint(3, 5) for _ in range(count)), count),
        created_at=stamp,
        updated_at=stamp,
        search_text=search_text(title, description),
    )


def _write(seed: int, count: int, providers: list[tuple[str, str]], stamp: str) -> int:
    rng = random.Random(seed)
    with ProgramRecord.batch_write() as batch:
        for _ in range(count):
            batch.save(store.to_record(_program(rng, providers, stamp)))
    return count


def seed_programs(count: int, seed: int, workers: int = 4) -> float:
    """Writes ``count`` programs in parallel batches; returns the seconds it took."""
    started = time.perf_counter()
    rng = random.Random(seed)
    providers = [(f"{7700000000 + i}", f"Центр дополнительного образования №{i}") for i in range(1, 400)]
    stamp = "2026-12-01T00:00:00.000000Z"
    assert ProgramRecord._get_connection().connection.client is not None  # one client before the threads start
    chunks = [min(CHUNK, count - first) for first in range(0, count, CHUNK)]
    seeds = [rng.randrange(2**32) for _ in chunks]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="seed") as pool:
        written = sum(pool.map(lambda job: _write(job[0], job[1], providers, stamp), zip(seeds, chunks, strict=True)))
    assert written == count
    return time.perf_counter() - started


@dataclass(frozen=True)
class Figures:
    """One scenario: ``requests`` first pages (each a fresh request with its own random filters)."""

    scenario: str
    requests: int
    p50_ms: float
    p95_ms: float
    max_ms: float
    round_trips_mean: float
    round_trips_max: int
    items_mean: float
    full_pages: float
    evaluated_mean: float


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def measure(ctx: Context, scenario: str, make: Callable[[random.Random], CatalogQuery], requests: int) -> Figures:
    rng = random.Random(scenario)
    times: list[float] = []
    trips: list[int] = []
    items: list[int] = []
    evaluated: list[int] = []
    full = 0
    for _ in range(requests):
        query = make(rng)
        with counting() as counted:
            started = time.perf_counter()
            result = catalog.search(ctx, query)
            times.append((time.perf_counter() - started) * 1000)
        if set(counted.calls) - {"Query"}:
            raise RuntimeError(f"the catalog made {dict(counted.calls)}: only Query calls are expected")
        trips.append(counted.total)
        items.append(len(result.items))
        evaluated.append(result.evaluated)
        full += len(result.items) == query.limit or result.cursor is None
    return Figures(
        scenario=scenario,
        requests=requests,
        p50_ms=round(statistics.median(times), 1),
        p95_ms=round(_percentile(times, 0.95), 1),
        max_ms=round(max(times), 1),
        round_trips_mean=round(statistics.fmean(trips), 2),
        round_trips_max=max(trips),
        items_mean=round(statistics.fmean(items), 1),
        full_pages=round(full / requests, 2),
        evaluated_mean=round(statistics.fmean(evaluated), 1),
    )


@dataclass(frozen=True)
class Walk:
    """Following the cursor of one query to its end: how many pages, what they held, what each cost."""

    scenario: str
    pages: int
    found: int
    short_pages: int
    round_trips_max: int
    round_trips_total: int
    seconds: float


def walk(ctx: Context, scenario: str, query: CatalogQuery) -> Walk:
    pages = found = short = worst = total = 0
    after: str | None = None
    started = time.perf_counter()
    while True:
        with counting() as counted:
            result = catalog.search(ctx, query, after)
        pages += 1
        found += len(result.items)
        worst, total = max(worst, counted.total), total + counted.total
        after = result.cursor
        if after is None:
            break
        short += len(result.items) < query.limit
    return Walk(scenario, pages, found, short, worst, total, round(time.perf_counter() - started, 2))


SCENARIOS: dict[str, Callable[[random.Random], CatalogQuery]] = {
    "region, no filter": lambda rng: CatalogQuery(),
    "filtered: municipality + direction + age + free_only": lambda rng: CatalogQuery(
        municipality=rng.choices(MUNICIPALITIES, WEIGHTS)[0],
        direction=rng.choice(tuple(Direction)).value,
        age=rng.randint(5, 17),
        free_only=True,
    ),
    'text: q="шахматы", region-wide': lambda rng: CatalogQuery(q="шахматы"),
    'text: q="шахматы" + municipality': lambda rng: CatalogQuery(
        q="шахматы", municipality=rng.choices(MUNICIPALITIES, WEIGHTS)[0]
    ),
}


def _context(prefix: str) -> Context:
    settings = Settings(stage="local", table_prefix=prefix, period_cache_seconds=10.0**9)
    clock = SettableClock()
    clock.set(datetime(2027, 3, 1, tzinfo=UTC))
    return Context.create(settings, clock)


def run(programs: int = 50_000, requests: int = 200, seed: int = 2027) -> dict[str, Any]:
    """Starts DynamoDB Local, seeds ``programs`` programs, measures every scenario; returns the figures."""
    engine = ddb_local.start()
    saved = {key: os.environ.get(key) for key in ddb_local.local_aws_environment(engine.endpoint)}
    os.environ.update(ddb_local.local_aws_environment(engine.endpoint))
    prefix = f"benchcat-{uuid.uuid4().hex[:6]}-"
    try:
        create_tables(prefix)
        reset_connection()
        _log(f"DynamoDB Local on {engine.endpoint}; writing {programs} programs")
        seed_seconds = seed_programs(programs, seed)
        _log(f"written in {seed_seconds:.1f}s; measuring {requests} requests per scenario")
        ctx = _context(prefix)
        catalog.search(ctx, CatalogQuery(limit=1))  # warm the client, as a function that has served a request
        load = [os.getloadavg()[0]]
        figures = [measure(ctx, name, make, requests) for name, make in SCENARIOS.items()]
        load.append(os.getloadavg()[0])
        walks = [
            walk(ctx, 'text: q="шахматы" + municipality=elizovo', CatalogQuery(q="шахматы", municipality="elizovo")),
            walk(ctx, 'text: q="шахматы", region-wide', CatalogQuery(q="шахматы")),
        ]
        delete_tables(prefix)
    finally:
        engine.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return {
        "programs": programs,
        "requests_per_scenario": requests,
        "page_limit": catalog.DEFAULT_LIMIT,
        "catalog_max_queries": ctx.settings.catalog_max_queries,
        "filtered_evaluate_max": store.FILTERED_EVALUATE_MAX,
        "seed_seconds": round(seed_seconds, 1),
        "seed_items_per_second": round(programs / seed_seconds),
        "machine": asdict(machine.describe()),
        # Other work on the machine inflates latencies (never the round trips): the 1-minute load before and after.
        "load_average_1m": [round(value, 1) for value in load],
        "scenarios": [asdict(f) for f in figures],
        "walks": [asdict(w) for w in walks],
    }


def markdown(result: dict[str, Any]) -> str:
    m = result["machine"]
    lines = [
        f"## Catalog over {result['programs']:_} programs (DynamoDB Local {m['dynamodb_local']}, in memory)".replace(
            "_", " "
        ),
        "",
        f"{m['cpu_model']}, {m['cores']} cores, {m['memory_gib']} GiB; Python {m['python']}; {m['java']}; "
        f"1-minute load average {' -> '.join(str(v) for v in result['load_average_1m'])} while measuring.",
        f"Seeded in {result['seed_seconds']} s ({result['seed_items_per_second']} items/s). Page limit "
        f"{result['page_limit']}; bound: at most {result['catalog_max_queries']} Query calls per page, each reading "
        f"at most {result['filtered_evaluate_max']} items.",
        "",
        "| scenario (first page, fresh request) | requests | p50 ms | p95 ms | max ms | round trips mean / max "
        "| items/page | full pages | items read/page |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for f in result["scenarios"]:
        lines.append(
            f"| {f['scenario']} | {f['requests']} | {f['p50_ms']} | {f['p95_ms']} | {f['max_ms']} | "
            f"{f['round_trips_mean']} / {f['round_trips_max']} | {f['items_mean']} | {f['full_pages']:.0%} | "
            f"{f['evaluated_mean']} |"
        )
    lines += [
        "",
        "| following the cursor to the end | pages | programs found | short pages | round trips max / total | s |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for w in result["walks"]:
        lines.append(
            f"| {w['scenario']} | {w['pages']} | {w['found']} | {w['short_pages']} | "
            f"{w['round_trips_max']} / {w['round_trips_total']} | {w['seconds']} |"
        )
    lines += [
        "",
        '"full pages": share of pages holding `limit` items or ending the listing; the others are short pages that '
        "carry a cursor because the page's Query budget ran out.",
    ]
    return "\n".join(lines)


def _log(message: str) -> None:
    print(f"[bench.catalog] {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.catalog", description=__doc__.split("\n\n")[0])
    parser.add_argument("--programs", type=int, default=50_000, help="programs in the catalog (default 50 000)")
    parser.add_argument("--requests", type=int, default=200, help="requests per scenario (default 200)")
    parser.add_argument("--seed", type=int, default=2027, help="random seed of the data")
    args = parser.parse_args(argv)
    print(markdown(run(args.programs, args.requests, args.seed)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
