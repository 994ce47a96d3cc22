"""The bench's figures as one markdown document (printed and saved) and as JSON."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.machine import Machine
from bench.operations import OperationTrips
from bench.topup import SeedRun, TopupRun


@dataclass(frozen=True)
class Report:
    command: str
    started_at: str
    total_seconds: float
    machine: Machine
    operations: list[OperationTrips]
    seeds: list[SeedRun]
    topups: list[TopupRun]
    notes: list[str]


def _number(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}"


def _breakdown(calls: dict[str, float] | dict[str, int]) -> str:
    return ", ".join(f"{name} {_number(count)}" for name, count in calls.items()) or "none"


def _machine(machine: Machine) -> list[str]:
    return [
        "| CPU | cores | memory | OS | Python | Java | DynamoDB Local |",
        "|---|---|---|---|---|---|---|",
        f"| {machine.cpu_model} | {machine.cores} | {machine.memory_gib} GiB | {machine.os} | {machine.python} "
        f"| {machine.java} | {machine.dynamodb_local} |",
    ]


def _operations(operations: list[OperationTrips]) -> list[str]:
    lines = [
        "| operation | calendar | samples | round trips / operation | by DynamoDB operation | design target |",
        "|---|---|---|---|---|---|",
    ]
    for op in operations:
        lines.append(
            f"| {op.operation} | {op.calendar} | {op.samples} | {op.per_operation:.2f} | {_breakdown(op.breakdown)} "
            f"| {op.target} |"
        )
    return lines


def _topups(topups: list[TopupRun]) -> list[str]:
    lines = [
        "| certificates | segments | seconds | certificates / s | round trips / certificate "
        "| round trips (total, by operation) | certificates / TransactWriteItems | transaction conflicts "
        "| s waiting on DynamoDB, by operation (all threads) | CPU s: Python / DynamoDB Local "
        "| machine busy: all processes / the bench (load avg) | reconciled sample |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run in topups:
        lines.append(
            f"| {run.certificates} | {run.segments} | {run.seconds:.1f} | {run.certificates_per_second:.0f} "
            f"| {run.round_trips_per_certificate:.4f} | {run.round_trips}: {_breakdown(run.breakdown)} "
            f"| {run.certificates_per_transaction:.1f} | {run.transaction_conflicts} "
            f"| {_breakdown(run.dynamodb_seconds)} | {run.cpu.python_seconds:.0f} / {run.cpu.engine_seconds:.0f} "
            f"| {run.cpu.machine_busy:.0%} / {run.cpu.bench_busy:.0%} ({run.cpu.load_average:.1f}) "
            f"| {run.reconciled_sample} ok |"
        )
    return lines


def _seeds(seeds: list[SeedRun]) -> list[str]:
    lines = ["| certificates | seconds | items written / s |", "|---|---|---|"]
    lines += [f"| {s.certificates} | {s.seconds:.1f} | {s.items_per_second:.0f} |" for s in seeds]
    return lines


def markdown(report: Report) -> str:
    parts = [
        "# ПФДО money core: benchmark",
        "",
        f"Command: `{report.command}`  ",
        f"Started: {report.started_at}; took {report.total_seconds:.0f} s.",
        "",
        "## Machine",
        "",
        *_machine(report.machine),
        "",
        "## DynamoDB round trips per operation",
        "",
        *_operations(report.operations),
    ]
    if report.topups:
        parts += ["", "## Top-up (run_topup) against DynamoDB Local", "", *_topups(report.topups)]
        parts += ["", "Seeding (BatchWriteItem: certificates + their credit entries):", "", *_seeds(report.seeds)]
    if report.notes:
        parts += ["", "## Notes", "", *(f"- {note}" for note in report.notes)]
    return "\n".join(parts) + "\n"


def save(report: Report, folder: Path) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    stamp = report.started_at.replace(":", "").replace("-", "")[:15]
    json_path, md_path = folder / f"bench-{stamp}.json", folder / f"bench-{stamp}.md"
    json_path.write_text(json.dumps(asdict(report), ensure_ascii=False, indent=2) + "\n")
    md_path.write_text(markdown(report))
    return json_path, md_path
