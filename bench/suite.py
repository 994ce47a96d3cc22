"""The parts of `make bench`, each turning one bench module's figures into rows of the one table (bench.report).

Every part starts what it needs (its own in-memory DynamoDB Local, fresh tables) and stops it, so a part's figures do
not depend on what ran before it. Targets are the ones the issues and the design set; a row without one is a figure to
compare between runs.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

from bench import catalog, contracts, operations, package, topup, web
from bench.operations import OperationTrips
from bench.report import Figure, number
from chalicelib.storage.tables import create_tables, delete_tables
from chalicelib.storage.transactions import reset_connection
from devtools import ddb_local

# Above this share of the machine used by other processes while a figure was measured, its time is flagged as
# disturbed (the bench's own processes, Python and DynamoDB Local, are not counted).
OTHERS_TOLERATED = 0.10
# The design's cost targets, in the steady state of a warm function (calendar cached): (what, is it met).
ROUND_TRIP_TARGETS: dict[str, tuple[str, Callable[[dict[str, float]], bool]]] = {
    "view (balance read)": ("1 GetItem", lambda calls: calls == {"GetItem": 1}),
    "charge": ("1 TransactWriteItems", lambda calls: calls == {"TransactWriteItems": 1}),
    "enrol": (
        "1 TransactWriteItems + at most 1 read",
        lambda calls: calls.get("TransactWriteItems") == 1 and sum(calls.values()) <= 2,
    ),
    # docs/decisions.md: the Idempotency-Key record rides in the charge's own transaction.
    contracts.HTTP_CHARGE: ("1 TransactWriteItems", lambda calls: calls == {"TransactWriteItems": 1}),
}
TOPUP_TRIPS_PER_CERTIFICATE = 0.1
HTTP_CHARGE_RATIO = contracts.TARGET_RATIO
IMPORT_RATIO = 1.3
WEB_KB = 100  # the Navigator's gzipped JS + CSS (issue 11)
WEB_FIRST_RENDER_MS = 1500  # the catalog's first render in headless Chromium against `make run` (issue 11)
LAMBDA_ZIPPED_MIB, LAMBDA_UNZIPPED_MIB = 50, 250
# The deployment zip's own target (issue 12), well under Lambda's limit for a direct upload.
ZIP_TARGET_MIB = 15


@dataclass(frozen=True)
class Sizes:
    """How much each part measures: the full pass is what the issues asked for, the quick one a smaller sample."""

    quick: bool
    topup_certificates: tuple[int, ...] = (10_000, 100_000)
    topup_segments: tuple[int, ...] = (1, 2, 4)
    municipalities: int = 12
    repeat: int = 20
    sample: int = 50
    catalog_programs: int = 50_000
    catalog_requests: int = 200
    charges: int = 300
    charge_warmup: int = 20
    rush_attempts: int = 1000
    rush_seats: int = 30
    rush_threads: int = 16
    import_runs: int = 15
    web_loads: int = 15


FULL = Sizes(quick=False)
QUICK = Sizes(
    quick=True,
    topup_certificates=(5_000,),
    repeat=10,
    sample=20,
    catalog_programs=5_000,
    catalog_requests=50,
    charges=60,
    charge_warmup=10,
    rush_attempts=200,
    import_runs=5,
    web_loads=5,
)


@dataclass
class Measured:
    """A part's rows, its figures as its bench returns them, and notes. ``judged``: names of timed rows whose
    disturbance the part judged from its own finer measurement; the others take the whole part's."""

    figures: list[Figure]
    details: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    judged: set[str] = field(default_factory=set)


def at_most(value: float, bound: float, unit: str = "") -> tuple[str, bool]:
    return f"≤ {number(bound)}{unit}", value <= bound


def disturbed(cpu: dict[str, float]) -> bool:
    """From a phase's CPU shares (bench.topup.CpuShare, bench.contracts_world.CpuMeter): did others take too much?"""
    return cpu["machine_busy"] - cpu["bench_busy"] > OTHERS_TOLERATED


def _breakdown(calls: dict[str, float] | dict[str, int]) -> str:
    return ", ".join(f"{name} {number(count)}" for name, count in calls.items())


@contextmanager
def local_engine() -> Iterator[ddb_local.LocalEngine]:
    """A fresh in-memory DynamoDB Local for one part, the AWS environment pointed at it meanwhile."""
    engine = ddb_local.start()
    environment = ddb_local.local_aws_environment(engine.endpoint)
    saved = {key: os.environ.get(key) for key in environment}
    os.environ.update(environment)
    try:
        yield engine
    finally:
        engine.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def trip_figure(part: str, op: OperationTrips) -> Figure:
    calendar = f", calendar {op.calendar}" if op.calendar != "-" else ""
    target, meets = "", None
    if op.calendar in ("cached", "-") and op.operation in ROUND_TRIP_TARGETS:
        target, check = ROUND_TRIP_TARGETS[op.operation]
        meets = check(op.breakdown)
    return Figure(
        part=part,
        name=f"{op.operation}{calendar}",
        unit="round trips",
        value=op.per_operation,
        statistic=f"counted, mean of {op.samples} calls",
        timed=False,
        target=target,
        meets=meets,
        detail=_breakdown(op.breakdown),
    )


# --- money core: round trips per operation, top-up throughput --------------------------------------------------------

MONEY = "money core"


def _round_trips(repeat: int) -> list[OperationTrips]:
    prefix = f"benchrt-{uuid.uuid4().hex[:6]}-"
    create_tables(prefix)
    reset_connection()
    try:
        return operations.measure(prefix, repeat)
    finally:
        delete_tables(prefix)


def _topup_figures(run: topup.TopupRun) -> list[Figure]:
    plural = "s" if run.segments > 1 else ""
    label = f"top-up of {run.certificates} certificates, {run.segments} segment{plural}"
    cpu = run.cpu
    trips_met = at_most(run.round_trips_per_certificate, TOPUP_TRIPS_PER_CERTIFICATE)
    return [
        Figure(
            part=MONEY,
            name=f"{label}: throughput",
            unit="certificates/s",
            value=run.certificates_per_second,
            statistic=f"1 run, {run.seconds:.1f} s",
            timed=True,
            disturbed=disturbed(asdict(cpu)),
            detail=f"CPU s: Python {number(cpu.python_seconds)} / DynamoDB Local {number(cpu.engine_seconds)}; "
            f"machine busy {cpu.machine_busy:.0%}, the bench {cpu.bench_busy:.0%}; "
            f"s waiting on DynamoDB: {_breakdown(run.dynamodb_seconds)}",
        ),
        Figure(
            part=MONEY,
            name=f"{label}: round trips per certificate",
            unit="round trips",
            value=run.round_trips_per_certificate,
            statistic=f"counted: {run.round_trips} for {run.certificates}",
            timed=False,
            target=trips_met[0],
            meets=trips_met[1],
            detail=f"{_breakdown(run.breakdown)}; {number(run.certificates_per_transaction)} certificates per "
            f"TransactWriteItems; {run.transaction_conflicts} transaction conflicts; "
            f"{run.reconciled_sample} certificates reconciled",
        ),
    ]


def _scaling_note(runs: list[topup.TopupRun]) -> str:
    base, *more = runs
    scaling = ", ".join(
        f"{run.segments} segments ×{run.certificates_per_second / base.certificates_per_second:.2f}" for run in more
    )
    return f"top-up of {base.certificates}: throughput against {base.segments} segment(s): {scaling or 'n/a'}."


def money_core(sizes: Sizes) -> Measured:
    seeds, runs = [], []
    with local_engine() as engine:
        trips = _round_trips(sizes.repeat)
        for count in sizes.topup_certificates:
            seed, size_runs = topup.run_size(
                count, list(sizes.topup_segments), sizes.municipalities, engine.process.pid, sizes.sample
            )
            seeds.append(seed)
            runs += size_runs
    figures = [trip_figure(MONEY, op) for op in trips]
    figures += [
        Figure(
            part=MONEY,
            name=f"seeding {seed.certificates} funded certificates (BatchWriteItem)",
            unit="items/s",
            value=seed.items_per_second,
            statistic=f"1 run, {seed.seconds:.1f} s",
            timed=True,
        )
        for seed in seeds
    ]
    for run in runs:
        figures += _topup_figures(run)
    notes = [_scaling_note([run for run in runs if run.certificates == count]) for count in sizes.topup_certificates]
    details = {
        "operations": [asdict(op) for op in trips],
        "seeds": [asdict(seed) for seed in seeds],
        "topups": [asdict(run) for run in runs],
    }
    judged = {f.name for f in figures if f.name.endswith(": throughput")}
    return Measured(figures, details, notes if len(sizes.topup_segments) > 1 else [], judged)


# --- catalog ---------------------------------------------------------------------------------------------------------

CATALOG = "catalog"


def _scenario_figures(programs: int, bound: int, s: dict[str, Any]) -> list[Figure]:
    label = f"{programs} programs, {s['scenario']}"
    requests = s["requests"]
    trips_met = at_most(s["round_trips_max"], bound, " (catalog_max_queries)")
    return [
        Figure(CATALOG, f"{label}: first page p50", "ms", s["p50_ms"], f"median of {requests} requests", True),
        Figure(CATALOG, f"{label}: first page p95", "ms", s["p95_ms"], f"p95 of {requests} requests", True),
        Figure(
            part=CATALOG,
            name=f"{label}: round trips per page",
            unit="round trips",
            value=s["round_trips_max"],
            statistic=f"counted, highest of {requests} requests",
            timed=False,
            target=trips_met[0],
            meets=trips_met[1],
            detail=f"mean {number(s['round_trips_mean'])}; {number(s['items_mean'])} items/page, "
            f"{s['full_pages']:.0%} full pages, {number(s['evaluated_mean'])} items read/page",
        ),
    ]


def catalog_part(sizes: Sizes) -> Measured:
    result = catalog.run(sizes.catalog_programs, sizes.catalog_requests)
    programs, bound = result["programs"], result["catalog_max_queries"]
    figures = [
        Figure(
            CATALOG,
            f"seeding {programs} programs (BatchWriteItem)",
            "items/s",
            result["seed_items_per_second"],
            f"1 run, {result['seed_seconds']} s",
            True,
        )
    ]
    for scenario in result["scenarios"]:
        figures += _scenario_figures(programs, bound, scenario)
    for w in result["walks"]:
        trips_met = at_most(w["round_trips_max"], bound, " (catalog_max_queries)")
        figures.append(
            Figure(
                part=CATALOG,
                name=f"{programs} programs, following the cursor of {w['scenario']}: round trips per page",
                unit="round trips",
                value=w["round_trips_max"],
                statistic=f"counted, highest of {w['pages']} pages",
                timed=False,
                target=trips_met[0],
                meets=trips_met[1],
                detail=f"{w['found']} programs in {w['pages']} pages ({w['short_pages']} short), "
                f"{w['round_trips_total']} round trips in all",
            )
        )
    return Measured(figures, result)


# --- contracts -------------------------------------------------------------------------------------------------------

CONTRACTS = "contracts"
PATH_LABELS = {
    "http": "via HTTP (POST /contracts/{id}/charges)",
    "service": "through the service (no HTTP)",
    "bare": "bare TransactWriteItems (the same request)",
}


def _charge_figures(cost: dict[str, Any]) -> list[Figure]:
    paths, calls, flag = cost["paths"], cost["charges_per_path"], disturbed(cost["cpu"])
    figures = []
    for name in ("http", "service"):
        met = (f"≤ {number(HTTP_CHARGE_RATIO)}×", cost["target_met"]) if name == "http" else ("", None)
        figures.append(
            Figure(
                part=CONTRACTS,
                name=f"charge {PATH_LABELS[name]} ÷ bare TransactWriteItems, mean",
                unit="×",
                value=paths[name]["mean_ratio_to_bare"],
                statistic=f"ratio of means of {calls} interleaved calls each",
                timed=True,
                target=met[0],
                meets=met[1],
                disturbed=flag,
                detail=f"p50 ratio {number(paths[name]['p50_ratio_to_bare'])}",
            )
        )
    for name, label in PATH_LABELS.items():
        for stat in ("p50", "p99"):
            figures.append(
                Figure(
                    part=CONTRACTS,
                    name=f"charge {label}: {stat}",
                    unit="ms",
                    value=paths[name][f"{stat}_ms"],
                    statistic=f"{'median' if stat == 'p50' else stat} of {calls} calls",
                    timed=True,
                    disturbed=flag,
                )
            )
    return figures


def _rush_figures(rush: dict[str, Any]) -> list[Figure]:
    label = f"enrolment rush, {rush['attempts']} attempts for {rush['seats']} seats from {rush['threads']} threads"
    flag = disturbed(rush["cpu"])
    outcomes = ", ".join(f"{code} {count}" for code, count in rush["outcomes"].items())
    latency, attempts = rush["latency"], rush["attempts"]
    return [
        Figure(
            part=CONTRACTS,
            name=f"{label}: winners",
            unit="contracts",
            value=rush["winners"],
            statistic="counted (seats and holds verified)",
            timed=False,
            target=f"= {rush['seats']}",
            meets=rush["winners"] == rush["seats"] == rush["seats_taken"],
            detail=f"{outcomes}; {rush['transaction_conflicts']} transaction conflicts",
        ),
        Figure(
            CONTRACTS,
            f"{label}: throughput",
            "attempts/s",
            rush["attempts_per_second"],
            f"1 run, {rush['seconds']} s",
            True,
            disturbed=flag,
        ),
        Figure(CONTRACTS, f"{label}: p50", "ms", latency["p50_ms"], f"median of {attempts}", True, disturbed=flag),
        Figure(CONTRACTS, f"{label}: p99", "ms", latency["p99_ms"], f"p99 of {attempts}", True, disturbed=flag),
    ]


def contracts_part(sizes: Sizes) -> Measured:
    with local_engine() as engine:
        result = contracts.run(
            charges=sizes.charges,
            warmup=sizes.charge_warmup,
            repeat=sizes.repeat,
            attempts=sizes.rush_attempts,
            seats=sizes.rush_seats,
            threads=sizes.rush_threads,
            engine=engine,
        )
    figures = [trip_figure(CONTRACTS, OperationTrips(**row)) for row in result["round_trips"]]
    figures += _charge_figures(result["charge_cost"]) + _rush_figures(result["rush"])
    judged = {f.name for f in figures if f.timed}  # both timed phases carry their own CPU shares
    return Measured(figures, result, judged=judged)


# --- deployment ------------------------------------------------------------------------------------------------------

DEPLOYMENT = "deployment"


def _mib(size: int) -> float:
    return round(size / 1024 / 1024, 2)


def deployment_part(sizes: Sizes) -> Measured:
    os.environ.setdefault("AWS_DEFAULT_REGION", "eu-central-1")
    result = package.run(sizes.import_runs)
    size, cold = result["size"], result["cold_import"]
    zipped, unzipped = _mib(size["zip_bytes"]), _mib(size["unzipped_bytes"])
    zipped_met = at_most(zipped, ZIP_TARGET_MIB, " MiB (Lambda's direct upload: 50)")
    unzipped_met = at_most(unzipped, LAMBDA_UNZIPPED_MIB, " MiB (Lambda)")
    ratio_met = at_most(round(cold["ratio_app_to_deps_as_used"], 2), IMPORT_RATIO, "×")
    whole_met = at_most(round(cold["ratio_whole_api_to_its_deps"], 2), IMPORT_RATIO, "×")
    runs, medians = cold["runs"], cold["median_seconds"]
    largest = ", ".join(f"{part['part']} {_mib(part['zipped_bytes'])}" for part in size["largest"][:5])
    figures = [
        Figure(DEPLOYMENT, "deployment.zip, zipped", "MiB", zipped, "size", False, *zipped_met, detail=largest),
        Figure(DEPLOYMENT, "deployment.zip, unzipped", "MiB", unzipped, "size", False, *unzipped_met),
        Figure(
            part=DEPLOYMENT,
            name="cold import: app ÷ the third-party modules it loads",
            unit="×",
            value=round(cold["ratio_app_to_deps_as_used"], 2),
            statistic=f"ratio of medians of {runs} fresh interpreters",
            timed=True,
            target=ratio_met[0],
            meets=ratio_met[1],
            detail=f"app ÷ listed dependencies {number(round(cold['ratio_app_to_deps_listed'], 2))}; median of "
            f"paired ratios {number(round(cold['paired_ratio_app_to_deps_as_used'], 2))}",
        ),
        Figure(
            part=DEPLOYMENT,
            name="cold import: every route loaded (a warm HTTP function) ÷ the third-party modules it loads",
            unit="×",
            value=round(cold["ratio_whole_api_to_its_deps"], 2),
            statistic=f"ratio of medians of {runs} fresh interpreters",
            timed=True,
            target=whole_met[0],
            meets=whole_met[1],
            detail=f"median of paired ratios {number(round(cold['paired_ratio_whole_api_to_its_deps'], 2))}",
        ),
    ]
    labels = {
        "app": "cold import: `import app`",
        "deps_as_used": f"cold import: the {cold['third_party_modules_loaded']} third-party modules the app loads",
        "whole_api": "cold import: the app with every route loaded",
        "app_source_only": "cold import: `import app` from sources alone, no bytecode",
        "first_event_setup": "first event: Powertools logger and Tracer (X-Ray SDK loaded, botocore patched)",
    }
    figures += [
        Figure(DEPLOYMENT, label, "ms", round(medians[kind] * 1000, 1), f"median of {runs} fresh interpreters", True)
        for kind, label in labels.items()
    ]
    return Measured(figures, result)


# --- the Navigator -----------------------------------------------------------------------------------------------

WEB = "navigator"


def _kb(size: int) -> float:
    return round(size / 1024, 1)


def web_part(sizes: Sizes) -> Measured:
    result = web.run(sizes.web_loads)
    level = result["gzip_level"]
    total = _kb(result["js_gzip_bytes"] + result["css_gzip_bytes"])
    total_met = at_most(total, WEB_KB, " KB")
    render_met = at_most(result["first_render_p50_ms"], WEB_FIRST_RENDER_MS, " ms")
    warm = result["loads"] - 1
    figures = [
        Figure(
            WEB,
            "client JS, gzipped",
            "KB",
            _kb(result["js_gzip_bytes"]),
            f"size, gzip -{level}",
            False,
            detail=f"{_kb(result['js_bytes'])} KB minified",
        ),
        Figure(
            WEB,
            "client CSS, gzipped",
            "KB",
            _kb(result["css_gzip_bytes"]),
            f"size, gzip -{level}",
            False,
            detail=f"{_kb(result['css_bytes'])} KB minified",
        ),
        Figure(WEB, "client JS + CSS, gzipped", "KB", total, f"size, gzip -{level}", False, *total_met),
        Figure(
            WEB,
            "a parent's first load (entry, preloaded chunks, CSS), gzipped",
            "KB",
            _kb(result["first_load_gzip_bytes"]),
            f"size, gzip -{level}",
            False,
            detail="the providers' and operators' pages load as a chunk of their own",
        ),
        Figure(
            part=WEB,
            name="catalog's first render in headless Chromium: p50",
            unit="ms",
            value=result["first_render_p50_ms"],
            statistic=f"median of {warm} loads, fresh profile each",
            timed=True,
            target=render_met[0],
            meets=render_met[1],
            detail=f"highest {number(result['first_render_max_ms'])} ms",
        ),
        Figure(
            WEB,
            "catalog's first render, the API's first request (cold)",
            "ms",
            result["first_render_cold_api_ms"],
            "1 load",
            True,
        ),
    ]
    return Measured(figures, result)


# --- reports (bench/reports.py, written separately) ------------------------------------------------------------------

REPORTS = "reports"
REPORTS_MODULE = "bench.reports"
# Keys' endings that say a figure's unit, and whether it is a time.
UNITS = (
    ("_ms", "ms", True),
    ("_seconds", "s", True),
    ("per_second", "/s", True),
    ("round_trips", "round trips", False),
    ("_bytes", "bytes", False),
)


def _leaf(path: list[str], value: float) -> Figure:
    last = path[-1]
    unit, timed = next(((unit, timed) for end, unit, timed in UNITS if last.endswith(end)), ("", False))
    return Figure(REPORTS, " / ".join(path), unit, value, f"as {REPORTS_MODULE} returns it", timed)


def flattened(data: Any, path: list[str] | None = None) -> list[Figure]:
    """A figures dict of unknown shape as rows: each number a row named by its keys (lists by their items' name)."""
    path = path or []
    if isinstance(data, bool) or data is None:
        return []
    if isinstance(data, int | float):
        return [_leaf(path, data)] if path else []
    if isinstance(data, dict):
        return [f for key, value in data.items() if key != "machine" for f in flattened(value, [*path, str(key)])]
    if isinstance(data, list):
        rows = []
        for index, item in enumerate(data):
            name = item.get("name") or item.get("scenario") or item.get("report") if isinstance(item, dict) else None
            rows += flattened(item, [*path, str(name or index)])
        return rows
    return []


# What bench/reports.py may call its function returning the figures, in order of preference.
REPORTS_FUNCTIONS = ("run", "figures", "measure")


def reports_part(sizes: Sizes) -> Measured | None:
    """Hook for bench/reports.py (report latency over 100 000 certificates and 500 000 ledger entries): runs it when
    the module exists, calling its ``run`` with ``quick`` and ``engine`` when it takes them."""
    if importlib.util.find_spec(REPORTS_MODULE) is None:
        return None
    module = importlib.import_module(REPORTS_MODULE)
    found = [getattr(module, name) for name in REPORTS_FUNCTIONS if callable(getattr(module, name, None))]
    if not found:
        raise AttributeError(f"{REPORTS_MODULE} has none of {', '.join(REPORTS_FUNCTIONS)}() returning its figures")
    measure: Callable[..., dict[str, Any]] = found[0]
    accepted = inspect.signature(measure).parameters
    arguments: dict[str, Any] = {"quick": sizes.quick} if "quick" in accepted else {}
    if "engine" in accepted:
        with local_engine() as engine:
            result = measure(**arguments, engine=engine)
    else:
        result = measure(**arguments)
    return Measured(flattened(result), result)


# Key (for --parts), title, what it measures.
PARTS: dict[str, tuple[str, Callable[[Sizes], Measured | None]]] = {
    "money": (MONEY, money_core),
    "catalog": (CATALOG, catalog_part),
    "contracts": (CONTRACTS, contracts_part),
    "deployment": (DEPLOYMENT, deployment_part),
    "web": (WEB, web_part),
    "reports": (REPORTS, reports_part),
}
