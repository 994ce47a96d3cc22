"""`make bench`: starts an in-memory DynamoDB Local, measures, prints one markdown report and saves it (and JSON)
under bench/results/.

    .venv/bin/python -m bench.run                     # round trips + top-up of 10 000 and 100 000, 1/2/4 segments
    .venv/bin/python -m bench.run --quick             # 10 000 only
    .venv/bin/python -m bench.run --sizes 20k,50k --segments 1,4
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from bench import machine, operations, report, topup
from chalicelib.storage.tables import create_tables, delete_tables
from chalicelib.storage.transactions import reset_connection
from devtools import ddb_local

RESULTS = Path(__file__).resolve().parent / "results"
# Above this share of the machine used by other processes during a run, its speed is flagged as disturbed.
OTHERS_TOLERATED = 0.10


def _counts(text: str) -> list[int]:
    """'10000,100k' -> [10000, 100000]."""
    values = []
    for part in text.split(","):
        part = part.strip().lower()
        scale = 1000 if part.endswith("k") else 1
        values.append(int(part.removesuffix("k")) * scale)
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError("give positive whole numbers, e.g. 10000,100k")
    return values


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=_counts, default=[10_000, 100_000], help="certificates (default 10k,100k)")
    parser.add_argument("--quick", action="store_true", help="only 10 000 certificates (same as --sizes 10k)")
    parser.add_argument("--segments", type=_counts, default=[1, 2, 4], help="scan segments per run (default 1,2,4)")
    parser.add_argument("--municipalities", type=int, default=12, help="municipalities of the region (default 12)")
    parser.add_argument("--repeat", type=int, default=20, help="samples per operation for round trips (default 20)")
    parser.add_argument("--sample", type=int, default=50, help="certificates reconciled after each run (default 50)")
    parser.add_argument("--no-topup", action="store_true", help="round trips per operation only")
    parser.add_argument("--output", type=Path, default=RESULTS, help="folder for the JSON and markdown results")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes = [10_000]
    if args.no_topup:
        args.sizes = []
    return args


def _command() -> str:
    argv = list(getattr(sys, "orig_argv", [sys.executable, *sys.argv]))
    return shlex.join(argv)


def _round_trips(repeat: int) -> list[operations.OperationTrips]:
    prefix = f"benchrt-{uuid.uuid4().hex[:6]}-"
    create_tables(prefix)
    reset_connection()
    try:
        return operations.measure(prefix, repeat)
    finally:
        delete_tables(prefix)


def _size_note(same: list[topup.TopupRun]) -> str:
    base = same[0]
    scaling = ", ".join(
        f"{run.segments} segments x{run.certificates_per_second / base.certificates_per_second:.2f}" for run in same[1:]
    )
    busy = ", ".join(f"{run.segments}: {run.cpu.bench_busy:.0%}" for run in same)
    worst = max(run.round_trips_per_certificate for run in same)
    return (
        f"{base.certificates} certificates: throughput relative to {base.segments} segment(s): {scaling or 'n/a'}; "
        f"share of the machine used by the bench (Python + DynamoDB Local) by segments {busy}; "
        f"worst round trips/certificate {worst:.4f} (target <= 0.1: {'met' if worst <= 0.1 else 'NOT met'})."
    )


def _notes(runs: list[topup.TopupRun], load_at_start: float, cores: int) -> list[str]:
    notes = []
    if load_at_start > cores / 2:
        notes.append(f"the machine was already loaded when the bench started (load average {load_at_start:.1f}).")
    for count in sorted({run.certificates for run in runs}):
        notes.append(_size_note([run for run in runs if run.certificates == count]))
    for run in runs:
        others = run.cpu.machine_busy - run.cpu.bench_busy
        if others > OTHERS_TOLERATED:
            notes.append(
                f"DISTURBED: other processes used {others:.0%} of the machine during the top-up of "
                f"{run.certificates} with {run.segments} segment(s); its certificates/s is not comparable."
            )
    return notes


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    started, clock_start = datetime.now(UTC), time.perf_counter()
    described, load_at_start = machine.describe(), machine.load_average()
    if load_at_start > described.cores / 2:
        print(f"[bench] warning: load average {load_at_start} on {described.cores} cores", file=sys.stderr)
    # `kill` (SIGTERM) ends the bench through the finally below, so the engine is stopped too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    engine = ddb_local.start()
    os.environ.update(ddb_local.local_aws_environment(engine.endpoint))
    try:
        print(f"[bench] DynamoDB Local on {engine.endpoint} (pid {engine.process.pid})", file=sys.stderr, flush=True)
        trips = _round_trips(args.repeat)
        seeds, runs = [], []
        for count in args.sizes:
            seed, size_runs = topup.run_size(count, args.segments, args.municipalities, engine.process.pid, args.sample)
            seeds.append(seed)
            runs += size_runs
    finally:
        engine.stop()
    result = report.Report(
        command=_command(),
        started_at=started.strftime("%Y-%m-%dT%H:%M:%SZ"),
        total_seconds=round(time.perf_counter() - clock_start, 1),
        machine=described,
        operations=trips,
        seeds=seeds,
        topups=runs,
        notes=_notes(runs, load_at_start, described.cores),
    )
    text = report.markdown(result)
    json_path, md_path = report.save(result, args.output)
    print(text)
    print(f"[bench] saved {md_path} and {json_path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
