"""The benchmark's one table: every figure of a run (name, unit, value, how it was measured, its target and whether
it meets it) under the machine's description, as markdown and as JSON; and two saved runs side by side.

Pure functions of the data (no I/O but ``save`` and ``load``), so the rendering is unit-tested.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from bench.machine import Busy, LoadSummary, Machine
from bench.operations import OperationTrips

FORMAT = "pfdo-bench/1"


@dataclass(frozen=True)
class Figure:
    """One row of the table.

    ``timed`` figures (durations, rates) depend on the machine and on what else ran on it; the others (round trips,
    sizes, counts) are exact and the same on any machine. ``disturbed``: other processes took more of the machine than
    tolerated while this was measured, so it is not comparable with a quiet run's.
    """

    part: str
    name: str
    unit: str
    value: float
    statistic: str
    timed: bool
    target: str = ""
    meets: bool | None = None
    disturbed: bool = False
    detail: str = ""

    @property
    def key(self) -> str:
        return f"{self.part}: {self.name}"


@dataclass(frozen=True)
class PartRun:
    """One part of the suite: how long it took, how busy the machine was meanwhile, or why it was not measured
    (``skipped``: its module is missing, or it failed)."""

    name: str
    seconds: float
    busy: Busy | None
    disturbed: bool
    skipped: str = ""


@dataclass(frozen=True)
class Run:
    command: str
    started_at: str
    total_seconds: float
    mode: str  # "full" or "quick", then ", custom" when sizes or parts were chosen on the command line
    machine: Machine
    load: LoadSummary
    busy: Busy
    others_tolerated: float
    parts: list[PartRun]
    figures: list[Figure]
    notes: list[str] = field(default_factory=list)
    # Each part's full figures as its own bench returns them (JSON only).
    details: dict[str, Any] = field(default_factory=dict)


# --- numbers ---------------------------------------------------------------------------------------------------------


def number(value: float) -> str:
    """Whole numbers as such; otherwise four significant digits, never in exponent form above 1e-4."""
    if float(value).is_integer():
        return str(int(value))
    if abs(value) >= 1000:
        return f"{value:.0f}"
    return f"{value:.4g}"


def _breakdown(calls: dict[str, float] | dict[str, int]) -> str:
    return ", ".join(f"{name} {number(count)}" for name, count in calls.items()) or "none"


def _share(value: float) -> str:
    return f"{value:.0%}"


def _meets(figure: Figure) -> str:
    if figure.meets is None:
        return ""
    return "yes" if figure.meets else "**NO**"


def _value(figure: Figure) -> str:
    return number(figure.value) + (" ⚠" if figure.disturbed else "")


# --- one run ---------------------------------------------------------------------------------------------------------


def _machine(machine: Machine) -> list[str]:
    return [
        "| CPU | cores | memory | OS | Python | Java | DynamoDB Local | git commit |",
        "|---|---|---|---|---|---|---|---|",
        f"| {machine.cpu_model} | {machine.cores} | {machine.memory_gib} GiB | {machine.os} | {machine.python} "
        f"| {machine.java} | {machine.dynamodb_local} | {machine.git_commit} |",
    ]


def _operations(operations: list[OperationTrips]) -> list[str]:
    """Round trips per operation as the contracts bench prints them on its own."""
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


def load_line(load: LoadSummary, busy: Busy, tolerated: float) -> str:
    return (
        f"Load during the run: 1-minute load average {number(load.start)} at the start, median {number(load.median)}, "
        f"highest {number(load.highest)}, {number(load.end)} at the end ({load.samples} samples). All processes kept "
        f"{_share(busy.machine)} of the machine's cores busy, the bench {_share(busy.bench)}, other work "
        f"{_share(busy.others)} (tolerated: {_share(tolerated)})."
    )


def figures_table(figures: list[Figure]) -> list[str]:
    lines = [
        "| part | figure | unit | value | measured as | target | meets | notes |",
        "|---|---|---|---:|---|---|---|---|",
    ]
    for f in figures:
        lines.append(
            f"| {f.part} | {f.name} | {f.unit} | {_value(f)} | {f.statistic} | {f.target} | {_meets(f)} | {f.detail} |"
        )
    return lines


def _targets_line(figures: list[Figure]) -> str:
    judged = [f for f in figures if f.meets is not None]
    if not judged:
        return "No target applies to these figures."
    missed = [f.key for f in judged if not f.meets]
    line = f"Targets: {len(judged) - len(missed)} of {len(judged)} met."
    return line + (" Not met: " + "; ".join(missed) + "." if missed else "")


def _parts_table(parts: list[PartRun]) -> list[str]:
    lines = ["| part | seconds | machine busy | the bench | other work | |", "|---|---:|---:|---:|---:|---|"]
    for part in parts:
        if part.busy is None:
            lines.append(f"| {part.name} | {part.seconds:.0f} | | | | not measured: {part.skipped} |")
            continue
        busy = part.busy
        flag = "DISTURBED" if part.disturbed else ""
        lines.append(
            f"| {part.name} | {part.seconds:.0f} | {_share(busy.machine)} | {_share(busy.bench)} "
            f"| {_share(busy.others)} | {flag} |"
        )
    return lines


def markdown(run: Run) -> str:
    parts = [
        "# ПФДО functions: benchmark",
        "",
        f"Command: `{run.command}`  ",
        f"Started {run.started_at}, took {run.total_seconds:.0f} s ({run.mode} pass).",
        "",
        "## Machine",
        "",
        *_machine(run.machine),
        "",
        load_line(run.load, run.busy, run.others_tolerated),
        "",
        "## Figures",
        "",
        *figures_table(run.figures),
        "",
        _targets_line(run.figures),
        "",
        "Round trips, sizes and counts are exact and the same on any machine. Times are DynamoDB Local on this "
        "machine: compare them only between runs on the same machine. ⚠ marks a time measured while other work "
        f"took more than {_share(run.others_tolerated)} of the machine (DISTURBED): not comparable with a quiet run's.",
        "",
        "## Parts",
        "",
        *_parts_table(run.parts),
    ]
    if run.notes:
        parts += ["", "## Notes", "", *(f"- {note}" for note in run.notes)]
    return "\n".join(parts) + "\n"


# --- JSON ------------------------------------------------------------------------------------------------------------


def to_json(run: Run) -> dict[str, Any]:
    return {"format": FORMAT, **asdict(run)}


def _known(cls: type[Any], data: dict[str, Any]) -> dict[str, Any]:
    names = {f.name for f in fields(cls)}
    return {key: value for key, value in data.items() if key in names}


def from_json(data: dict[str, Any]) -> Run:
    if data.get("format") != FORMAT:
        raise ValueError(f"not a benchmark run saved by `make bench` (format {data.get('format')!r}, not {FORMAT!r})")
    parts = [
        PartRun(**{**_known(PartRun, part), "busy": Busy(**part["busy"]) if part.get("busy") else None})
        for part in data["parts"]
    ]
    return Run(
        **{
            **_known(Run, data),
            "machine": Machine(**_known(Machine, data["machine"])),
            "load": LoadSummary(**data["load"]),
            "busy": Busy(**data["busy"]),
            "parts": parts,
            "figures": [Figure(**_known(Figure, figure)) for figure in data["figures"]],
        }
    )


def stamp(run: Run) -> str:
    """'20261125T171123' from the start instant: the results' file name."""
    return run.started_at.replace(":", "").replace("-", "")[:15]


def save(run: Run, folder: Path) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    json_path, md_path = folder / f"{stamp(run)}.json", folder / f"{stamp(run)}.md"
    json_path.write_text(json.dumps(to_json(run), ensure_ascii=False, indent=2) + "\n")
    md_path.write_text(markdown(run))
    return json_path, md_path


def load(path: Path) -> Run:
    return from_json(json.loads(path.read_text()))


# --- two runs side by side -------------------------------------------------------------------------------------------


def change(before: Figure, after: Figure) -> str:
    """How ``after`` differs from ``before``: relative for times (they scale), absolute for exact figures."""
    if before.value == after.value:
        return "same"
    if before.timed and before.value:
        return f"{after.value / before.value - 1:+.0%}"
    return ("+" if after.value > before.value else "") + number(after.value - before.value)


def _side(figure: Figure | None) -> str:
    return "—" if figure is None else _value(figure)


def _machines_table(a: Run, b: Run) -> list[str]:
    rows = [
        ("started", a.started_at, b.started_at),
        ("pass", a.mode, b.mode),
        ("took", f"{a.total_seconds:.0f} s", f"{b.total_seconds:.0f} s"),
        *(
            (name, str(getattr(a.machine, name)), str(getattr(b.machine, name)))
            for name in (f.name for f in fields(Machine))
        ),
        ("load average: median / highest", *(f"{run.load.median} / {run.load.highest}" for run in (a, b))),
        ("other work (share of the machine)", _share(a.busy.others), _share(b.busy.others)),
    ]
    lines = ["| | A | B |", "|---|---|---|"]
    for name, left, right in rows:
        lines.append(f"| {name} | {left} | {right}{'' if left == right else ' ≠'} |")
    return lines


def compare(a: Run, b: Run) -> str:
    """The machines and every figure of two runs side by side; figures of one run only (other sizes) show '—'."""
    before = {f.key: f for f in a.figures}
    after = {f.key: f for f in b.figures}
    keys = list(before) + [key for key in after if key not in before]
    lines = [
        "# ПФДО functions: two benchmark runs",
        "",
        *_machines_table(a, b),
        "",
        "| part | figure | unit | A | B | B against A | target | meets (A / B) |",
        "|---|---|---|---:|---:|---:|---|---|",
    ]
    for key in keys:
        left, right = before.get(key), after.get(key)
        shown = right or left
        assert shown is not None  # every key comes from one of the runs
        moved = change(left, right) if left and right else ""
        meets = " / ".join(_meets(f) if f else "—" for f in (left, right)) if shown.target else ""
        lines.append(
            f"| {shown.part} | {shown.name} | {shown.unit} | {_side(left)} | {_side(right)} | {moved} "
            f"| {shown.target} | {meets} |"
        )
    lines += [
        "",
        "Times change with the machine and its load: compare them only where the machine rows match and neither value "
        "is marked ⚠ (measured on a disturbed machine). Round trips and sizes are exact: any change is the code's.",
    ]
    return "\n".join(lines) + "\n"
