"""Running workers in several OS processes against the test's DynamoDB Local tables.

Each worker is a fresh interpreter (multiprocessing, "spawn"): it takes the engine's environment, binds the models
to the test's tables, builds its own services ``Context`` with a clock fixed at the instant the scenario needs, waits
at a barrier with the other workers so they really start together, and reports every attempt's outcome through a
queue: ``ok`` or the domain error's code. Anything else is reported as ``unexpected: ...`` (a 5xx at the edge) and
fails the test.
"""

from __future__ import annotations

import multiprocessing
import os
import queue as queue_module
import traceback
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

SPAWN = multiprocessing.get_context("spawn")
UNEXPECTED = "unexpected"
JOIN_TIMEOUT = 400.0  # seconds without the workers finishing; generous for a loaded machine


@dataclass(frozen=True)
class Stage:
    """What a worker process needs to act on the test's tables at the test's instant."""

    env: dict[str, str]
    prefix: str
    instant: datetime
    topup_page_size: int = 500
    topup_segments: int = 4

    def at(self, instant: datetime) -> Stage:
        return replace(self, instant=instant)


@dataclass(frozen=True)
class Outcome:
    """One attempt of one worker: what it tried (``subject``) and how it ended (``ok`` or an error code)."""

    worker: int
    action: str
    subject: str
    code: str
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.code == "ok"


@dataclass(frozen=True)
class Done:
    """A worker's last message."""

    worker: int


@dataclass
class Results:
    outcomes: list[Outcome] = field(default_factory=list)
    exitcodes: list[int | None] = field(default_factory=list)

    def codes(self, action: str | None = None) -> Counter[str]:
        return Counter(o.code for o in self.outcomes if action is None or o.action == action)

    def of(self, action: str) -> list[Outcome]:
        return [o for o in self.outcomes if o.action == action]

    def unexpected(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.code.startswith(UNEXPECTED)]


# --- inside a worker process ---------------------------------------------------------------------------------------


def enter(stage: Stage) -> Any:
    """Points this process at the test's tables and returns its own services Context (clock fixed at the instant)."""
    os.environ.update(stage.env)
    os.environ.update(
        {
            "PFDO_STAGE": "local",
            "PFDO_TABLE_PREFIX": stage.prefix,
            "PFDO_JWT_SECRET": "x",
            "PFDO_PERIOD_CACHE_SECONDS": "0",
        }
    )
    from chalicelib.platform.clock import SettableClock
    from chalicelib.platform.config import Settings
    from chalicelib.services.context import Context
    from chalicelib.storage.models import bind_tables
    from chalicelib.storage.transactions import reset_connection

    bind_tables(stage.prefix)
    reset_connection()
    clock = SettableClock()
    clock.set(stage.instant)
    settings = Settings(
        stage="local",
        table_prefix=stage.prefix,
        period_cache_seconds=0,
        jwt_secret="x",
        topup_page_size=stage.topup_page_size,
        topup_segments=stage.topup_segments,
    )
    return Context.create(settings, clock)


class Reporter:
    """A worker's side of the queue."""

    def __init__(self, worker: int, results: Any) -> None:
        self.worker = worker
        self.results = results

    def attempt(self, action: str, subject: str, call: Callable[[], object]) -> Outcome:
        """Runs ``call`` and reports how it ended; never raises."""
        from chalicelib.domain.errors import DomainError

        try:
            call()
            outcome = Outcome(self.worker, action, subject, "ok")
        except DomainError as refusal:
            outcome = Outcome(self.worker, action, subject, refusal.code, refusal.message)
        except Exception as failure:
            outcome = Outcome(self.worker, action, subject, f"{UNEXPECTED}: {failure!r}", traceback.format_exc())
        self.results.put(outcome)
        return outcome


def worker_main(target: Callable[..., None], worker: int, stage: Stage, start: Any, results: Any, args: tuple) -> None:
    """The body of every worker process: enter the stage, wait for the others, run, say done."""
    reporter = Reporter(worker, results)
    try:
        ctx = enter(stage)
        ctx.current_period()  # warm the connection so the barrier releases workers that are ready to write
        start.wait(timeout=300)
        target(ctx, reporter, *args)
    except Exception as failure:
        results.put(Outcome(worker, "worker", "", f"{UNEXPECTED}: {failure!r}", traceback.format_exc()))
        raise
    finally:
        results.put(Done(worker))


# --- in the test process -------------------------------------------------------------------------------------------


@dataclass
class Started:
    """Worker processes that were started and are waiting at (or past) the start barrier."""

    processes: list[Any]
    results_queue: Any
    start: Any

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.processes]

    def collect(self, timeout: float = JOIN_TIMEOUT) -> Results:
        """Reads every outcome until each worker said done (or died without saying it), then joins them all."""
        results = Results()
        finished: set[int] = set()
        waited = 0.0
        while len(finished) < len(self.processes):
            try:
                item = self.results_queue.get(timeout=1.0)
            except queue_module.Empty:
                # A killed worker never says done: once its process is gone and the queue is quiet, count it.
                finished |= {n for n, p in enumerate(self.processes) if p.exitcode is not None}
                waited += 1.0
                if waited > timeout:
                    self.kill_all()
                    raise AssertionError("workers did not finish in time") from None
                continue
            if isinstance(item, Done):
                finished.add(item.worker)
            else:
                results.outcomes.append(item)
        for process in self.processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
                process.join()
            results.exitcodes.append(process.exitcode)
        return results

    def kill_all(self) -> None:
        for process in self.processes:
            if process.is_alive():
                process.kill()
                process.join()


def start_workers(stage: Stage, work: Iterable[tuple[Callable[..., None], tuple]], extra_parties: int = 0) -> Started:
    """Starts one process per ``(target, args)``; they start work together once all are ready (and
    ``extra_parties`` more parties, e.g. the test itself, have called ``start.wait()``)."""
    work = list(work)
    start = SPAWN.Barrier(len(work) + extra_parties)
    results_queue = SPAWN.Queue()
    processes = [
        SPAWN.Process(target=worker_main, args=(target, n, stage, start, results_queue, args), daemon=True)
        for n, (target, args) in enumerate(work)
    ]
    for process in processes:
        process.start()
    return Started(processes, results_queue, start)


def same(target: Callable[..., None], args_per_worker: Iterable[tuple]) -> list[tuple[Callable[..., None], tuple]]:
    """The same worker body in every process, each with its own arguments."""
    return [(target, args) for args in args_per_worker]


def run_workers(stage: Stage, work: Iterable[tuple[Callable[..., None], tuple]]) -> Results:
    """Starts the workers together, waits for all of them, and checks that none failed unexpectedly."""
    results = start_workers(stage, work).collect()
    assert_clean(results)
    return results


def assert_clean(results: Results) -> None:
    unexpected = results.unexpected()
    assert not unexpected, "unexpected failures in workers:\n" + "\n".join(
        f"{o.action} {o.subject}: {o.code}\n{o.detail}" for o in unexpected[:5]
    )
    assert results.exitcodes and all(code == 0 for code in results.exitcodes), results.exitcodes


@contextmanager
def workers(stage: Stage, work: Iterable[tuple[Callable[..., None], tuple]]) -> Iterator[Started]:
    """Started workers that the test joins itself (killing what is left if the test fails)."""
    started = start_workers(stage, work)
    try:
        yield started
    finally:
        started.kill_all()
