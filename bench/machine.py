"""What the figures were measured on (CPU, cores, memory, OS, Python, Java, the DynamoDB Local release, the code's
git commit) and how busy the machine was meanwhile (the whole machine against the bench's own processes)."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import threading
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from devtools import ddb_local

ROOT = Path(__file__).resolve().parent.parent
POM = "META-INF/maven/software/amazon/dynamodb/DynamoDBLocal/pom.properties"


@dataclass(frozen=True)
class Machine:
    cpu_model: str
    cores: int
    memory_gib: float
    os: str
    python: str
    java: str
    dynamodb_local: str
    # Defaults: results saved before these were recorded still load.
    git_commit: str = "unknown"


def _cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _memory_gib() -> float:
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024**2, 1)
    return 0.0


def _java_version() -> str:
    try:
        done = subprocess.run(["java", "-version"], capture_output=True, text=True, timeout=30, check=False)
    except OSError:
        return "missing"
    lines = (done.stderr or done.stdout).strip().splitlines()
    return lines[0] if lines else "unknown"


def _dynamodb_local_version() -> str:
    """'3.3.0 (2026-01-16)': the release in the jar's Maven properties, and its date from the folder's name."""
    folder = ddb_local.jar_dir()
    released = folder.name.removeprefix("dynamodb_local_")
    try:
        with zipfile.ZipFile(folder / "DynamoDBLocal.jar") as jar:
            properties = jar.read(POM).decode()
    except (OSError, KeyError, zipfile.BadZipFile):
        return released
    for line in properties.splitlines():
        if line.startswith("version="):
            return f"{line.removeprefix('version=').strip()} ({released})"
    return released


def _git(*args: str) -> str:
    try:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=30, check=False)
    except OSError:
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def git_commit() -> str:
    """The commit the code was measured at, '+ changes' when the work tree differs from it (the figures may not be
    the commit's)."""
    commit = _git("rev-parse", "--short=12", "HEAD")
    if not commit:
        return "unknown"
    changed = _git("status", "--porcelain", "--untracked-files=no")
    return f"{commit} + changes" if changed else commit


def describe() -> Machine:
    return Machine(
        cpu_model=_cpu_model(),
        cores=os.cpu_count() or 0,
        memory_gib=_memory_gib(),
        os=f"{platform.system()} {platform.release()}",
        python=platform.python_version(),
        java=_java_version(),
        dynamodb_local=_dynamodb_local_version(),
        git_commit=git_commit(),
    )


def cpu_jiffies() -> tuple[int, int]:
    """(busy, total) CPU time of the whole machine so far, all cores, in clock ticks (Linux /proc/stat)."""
    stat = Path("/proc/stat")
    if not stat.exists():
        return 0, 0
    fields = [int(value) for value in stat.read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields[:8]) - idle, sum(fields[:8])


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far (Linux /proc)."""
    stat = Path(f"/proc/{pid}/stat")
    if not stat.exists():
        return 0.0
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load_average() -> float:
    """The machine's 1-minute load average: above the core count, other work competes with the bench."""
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return 0.0


def _descendants(pid: int) -> list[int]:
    """Living processes started by ``pid``, at any depth (DynamoDB Local engines, package builds)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # it ended meanwhile
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, queue = [], [pid]
    while queue:
        for child in children.get(queue.pop(), []):
            found.append(child)
            queue.append(child)
    return found


def bench_cpu_seconds() -> float:
    """CPU time of the bench: this process (every thread), its ended children and its living descendants."""
    spent = os.times()
    living = sum(process_cpu_seconds(pid) for pid in _descendants(os.getpid()))
    return spent.user + spent.system + spent.children_user + spent.children_system + living


@dataclass(frozen=True)
class Busy:
    """How busy the machine was over a stretch of time, as shares of all its cores."""

    seconds: float
    machine: float  # any process
    bench: float  # the bench's own processes
    load_average: float  # 1-minute, at the end

    @property
    def others(self) -> float:
        """What other work took: beyond a little, the bench's times are not comparable with a quiet run's."""
        return max(0.0, round(self.machine - self.bench, 3))


class BusyMeter:
    """Started at construction; ``stop`` says how busy the machine was since, and how much of it was the bench."""

    def __init__(self) -> None:
        self.jiffies = cpu_jiffies()
        self.bench = bench_cpu_seconds()
        self.wall = time.perf_counter()

    def stop(self) -> Busy:
        wall = time.perf_counter() - self.wall
        busy, total = (now - then for now, then in zip(cpu_jiffies(), self.jiffies, strict=True))
        cores = os.cpu_count() or 1
        return Busy(
            seconds=round(wall, 1),
            machine=round(busy / total, 3) if total else 0.0,
            bench=round(min(1.0, (bench_cpu_seconds() - self.bench) / (wall * cores)), 3) if wall else 0.0,
            load_average=load_average(),
        )


@dataclass(frozen=True)
class LoadSummary:
    """The 1-minute load average sampled through a run (the bench's own work is part of it)."""

    start: float
    median: float
    highest: float
    end: float
    samples: int


class LoadSampler:
    """Samples the 1-minute load average every ``every`` seconds on a daemon thread, from ``start`` to ``stop``."""

    def __init__(self, every: float = 5.0) -> None:
        self.every = every
        self.samples: list[float] = []
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="bench-load", daemon=True)

    def _sample(self) -> None:
        while True:
            self.samples.append(load_average())
            if self._stopped.wait(self.every):
                return

    def start(self) -> LoadSampler:
        self._thread.start()
        return self

    def stop(self) -> LoadSummary:
        self._stopped.set()
        self._thread.join()
        self.samples.append(load_average())
        return LoadSummary(
            start=self.samples[0],
            median=round(statistics.median(self.samples), 2),
            highest=max(self.samples),
            end=self.samples[-1],
            samples=len(self.samples),
        )
