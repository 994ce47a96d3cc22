"""`make bench`: every figure the issues asked for, in one table (markdown and JSON) under the machine's description.

    .venv/bin/python -m bench.run                      # everything, full sizes (about 15 minutes on 2 quiet cores)
    .venv/bin/python -m bench.run --quick              # every part with smaller sizes (about 2 minutes)
    .venv/bin/python -m bench.run --parts money,catalog --sizes 20k --segments 1,4
    .venv/bin/python -m bench.compare A.json B.json    # two saved runs side by side

Parts: money (round trips per operation, top-up throughput, seeding), catalog (page latency and round trips),
contracts (charge against a bare TransactWriteItems, the enrolment rush, round trips of enrol and charge), deployment
(zip size, cold import), web (the Navigator: gzipped JS and CSS, the catalog's first render in headless Chromium),
reports (bench/reports.py, when it exists). Each part starts its own in-memory DynamoDB Local
and fresh tables, and stops them. The table goes to stdout and to bench/results/<UTC start>.md and .json; progress to
stderr. Exit status 1 when a part failed (the others' figures are still saved).
"""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import machine, report, suite

RESULTS = Path(__file__).resolve().parent / "results"
OTHERS_TOLERATED = suite.OTHERS_TOLERATED


def _counts(text: str) -> list[int]:
    """'10000,100k' -> [10000, 100000]."""
    values = []
    for part in text.split(","):
        part = part.strip().lower()
        scale = 1000 if part.endswith("k") else 1
        try:
            values.append(int(part.removesuffix("k")) * scale)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{part!r} is not a whole number (e.g. 10000 or 100k)") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError("give positive whole numbers, e.g. 10000,100k")
    return values


def _count(text: str) -> int:
    """'50k' -> 50000."""
    values = _counts(text)
    if len(values) != 1:
        raise argparse.ArgumentTypeError("give one number, e.g. 50000 or 50k")
    return values[0]


def _parts(text: str) -> list[str]:
    chosen = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in suite.PARTS]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(f"choose among {', '.join(suite.PARTS)} (not {', '.join(unknown)})")
    return chosen


# Options that change one size of the chosen pass: (flag, Sizes field, parser, help).
SIZE_OPTIONS: list[tuple[str, str, Callable[[str], Any], str]] = [
    ("--sizes", "topup_certificates", _counts, "certificates of the top-up (full: 10k,100k; quick: 5k)"),
    ("--segments", "topup_segments", _counts, "scan segments per top-up (default 1,2,4)"),
    ("--municipalities", "municipalities", int, "municipalities of the region (default 12)"),
    ("--repeat", "repeat", int, "samples per operation for the round trips (full 20, quick 10)"),
    ("--sample", "sample", int, "certificates reconciled after each top-up (full 50, quick 20)"),
    ("--programs", "catalog_programs", _count, "programs in the catalog (full 50k, quick 5k)"),
    ("--requests", "catalog_requests", int, "catalog requests per scenario (full 200, quick 50)"),
    ("--charges", "charges", int, "measured charges per path (full 300, quick 60)"),
    ("--attempts", "rush_attempts", int, "enrolment attempts in the rush (full 1000, quick 200)"),
    ("--import-runs", "import_runs", int, "fresh interpreters per cold-import kind (full 15, quick 5)"),
    ("--web-loads", "web_loads", int, "loads of the Navigator's catalog in Chromium (full 15, quick 5)"),
]


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run",
        description=(__doc__ or "").split("\n\n")[0],
        epilog="Compare two saved runs with: python -m bench.compare A.json B.json",
    )
    parser.add_argument("--quick", action="store_true", help="every part with smaller sizes (about 2 minutes)")
    parser.add_argument("--parts", type=_parts, default=list(suite.PARTS), help=f"of {','.join(suite.PARTS)} (all)")
    parser.add_argument("--no-topup", action="store_true", help="money core: round trips per operation only")
    for flag, _name, kind, text in SIZE_OPTIONS:
        parser.add_argument(flag, type=kind, default=None, help=text)
    parser.add_argument("--output", type=Path, default=RESULTS, help="folder for the results (bench/results)")
    args = parser.parse_args(argv)
    sizes = suite.QUICK if args.quick else suite.FULL
    custom: dict[str, Any] = {}
    for flag, name, _kind, _text in SIZE_OPTIONS:
        value = getattr(args, flag.removeprefix("--").replace("-", "_"))
        if value is not None:
            custom[name] = tuple(value) if isinstance(value, list) else value
            if isinstance(value, int) and value < 1:
                parser.error(f"{flag} must be at least 1")
    if args.no_topup:
        custom["topup_certificates"] = ()
    args.sizes = replace(sizes, **custom)
    if args.sizes.rush_seats > args.sizes.rush_attempts:
        parser.error(f"--attempts below the rush's {args.sizes.rush_seats} seats: nobody would lose")
    base = "quick" if args.quick else "full"
    args.mode = f"{base}, custom" if custom or len(args.parts) < len(suite.PARTS) else base
    return args


def _command() -> str:
    return shlex.join(list(getattr(sys, "orig_argv", [sys.executable, *sys.argv])))


def _log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def run_part(key: str, sizes: suite.Sizes) -> tuple[report.PartRun, suite.Measured | None, str]:
    """Runs one part under a busy meter; a failure is recorded (and reported), not raised, so the other parts run."""
    title, measure = suite.PARTS[key]
    _log(f"{title}: starting")
    meter, started = machine.BusyMeter(), time.perf_counter()
    try:
        measured = measure(sizes)
    except Exception as failure:  # recorded in the results and the exit status; the traceback goes to stderr
        traceback.print_exc()
        seconds = round(time.perf_counter() - started, 1)
        return report.PartRun(title, seconds, None, False, skipped=f"FAILED: {failure!r}"), None, "failed"
    busy = meter.stop()
    if measured is None:
        why = f"{suite.REPORTS_MODULE} is not there yet" if key == "reports" else "nothing to measure"
        return report.PartRun(title, busy.seconds, None, False, skipped=why), None, "skipped"
    flag = busy.others > OTHERS_TOLERATED
    measured.figures = [
        replace(f, disturbed=flag) if f.timed and f.name not in measured.judged else f for f in measured.figures
    ]
    _log(f"{title}: {len(measured.figures)} figures in {busy.seconds:.0f} s")
    return report.PartRun(title, busy.seconds, busy, flag), measured, "done"


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    started, clock_start = datetime.now(UTC), time.perf_counter()
    described = machine.describe()
    # `kill` (SIGTERM) ends the bench through the parts' finally blocks, so their engines are stopped too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if machine.load_average() > described.cores / 2:
        _log(f"warning: load average {machine.load_average()} on {described.cores} cores before the start")
    sampler, meter = machine.LoadSampler().start(), machine.BusyMeter()
    parts, figures, notes, details, failed = [], [], [], {}, False
    for key in args.parts:
        part, measured, outcome = run_part(key, args.sizes)
        parts.append(part)
        failed = failed or outcome == "failed"
        if measured is not None:
            figures += measured.figures
            notes += measured.notes
            details[key] = measured.details
        elif outcome == "failed":
            notes.append(f"{part.name} {part.skipped}: its figures are missing.")
    notes += [
        f"DISTURBED: {p.name}: other work took {p.busy.others:.0%} of the machine."
        for p in parts
        if p.busy and p.disturbed
    ]
    result = report.Run(
        command=_command(),
        started_at=started.strftime("%Y-%m-%dT%H:%M:%SZ"),
        total_seconds=round(time.perf_counter() - clock_start, 1),
        mode=args.mode,
        machine=described,
        load=sampler.stop(),
        busy=meter.stop(),
        others_tolerated=OTHERS_TOLERATED,
        parts=parts,
        figures=figures,
        notes=notes,
        details=details,
    )
    json_path, md_path = report.save(result, args.output)
    print(report.markdown(result))
    _log(f"saved {md_path} and {json_path}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
