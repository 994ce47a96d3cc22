"""The period rollover: the top-up job over every funded certificate, and the same rollover on first touch.

Both apply ``domain.rollover`` plans through ``storage.movements.commit_rollovers``; the ledger keys and the
certificate's version make the first writer win and every other attempt a no-op (I8).

The job is split into parallel scan segments. Each segment remembers its scan cursor after every page in its
progress item, so a crash or a time-out resumes at the last page; whatever was applied of that page is found already
current and skipped. Plans are packed many certificates to one transaction; if a packed transaction is refused (a
parent touched a certificate, or the quota ran short), its certificates fall back to one transaction each.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from chalicelib.domain import errors
from chalicelib.domain.actors import SYSTEM
from chalicelib.domain.ledger import utc_stamp
from chalicelib.domain.period import Period, segment_record
from chalicelib.domain.rollover import RolloverOutcome, RolloverPlan, plan_rollover
from chalicelib.platform import telemetry
from chalicelib.platform.scheduling import ScheduleFailed
from chalicelib.services.context import Context
from chalicelib.storage import certificates as certificate_store
from chalicelib.storage import movements
from chalicelib.storage import periods as period_store
from chalicelib.storage.retry import Backoff, retry
from chalicelib.storage.transactions import MAX_ITEMS

ROLLOVER_BACKOFF = Backoff(10)
log = logging.getLogger("pfdo.topup")


def rollover_certificate(
    ctx: Context, certificate_id: str, period: Period, counter: movements.ProgressCounter
) -> RolloverOutcome | None:
    """Rolls one certificate into ``period`` from a fresh read; None if it was already there (or is not funded)."""

    def attempt(_n: int) -> RolloverOutcome | None:
        plan = plan_rollover(certificate_store.get(certificate_id), period)
        if plan is None:
            return None
        try:
            movements.commit_rollovers([plan], now=ctx.now(), progress=counter, actor=SYSTEM.sub)
        except errors.QuotaExhausted:
            plan = plan.over_quota()
            movements.commit_rollovers([plan], now=ctx.now(), progress=counter, actor=SYSTEM.sub)
        return plan.outcome

    return retry(
        attempt,
        ROLLOVER_BACKOFF,
        on=movements.RolloverConflict,
        gave_up="the certificate kept changing during its rollover; retry",
    )


def pack(plans: list[RolloverPlan], max_items: int = MAX_ITEMS) -> Iterator[list[RolloverPlan]]:
    """Groups plans into transactions of at most ``max_items`` items: each plan's items, one quota item per
    municipality in the group, and the progress item."""
    batch: list[RolloverPlan] = []
    items = 1  # the progress counter
    municipalities: set[str] = set()
    for plan in plans:
        extra = plan.municipality not in municipalities and plan.takes_quota
        needed = movements.rollover_items(plan) + extra
        if batch and items + needed > max_items:
            yield batch
            batch, items, municipalities = [], 1, set()
            extra = plan.takes_quota
            needed = movements.rollover_items(plan) + extra
        batch.append(plan)
        items += needed
        if plan.takes_quota:
            municipalities.add(plan.municipality)
    if batch:
        yield batch


def apply_plans(ctx: Context, period: Period, plans: list[RolloverPlan], counter: movements.ProgressCounter) -> None:
    for batch in pack(plans):
        try:
            movements.commit_rollovers(batch, now=ctx.now(), progress=counter, actor=SYSTEM.sub)
        except (movements.RolloverConflict, errors.QuotaExhausted, errors.ConcurrentUpdate):
            for plan in batch:
                try:
                    rollover_certificate(ctx, plan.certificate_id, period, counter)
                except errors.ConcurrentUpdate:
                    # One certificate that keeps changing must not stop the region's top-up: it is rolled over on
                    # its first touch (same keys), and operators see the metric.
                    log.warning("top-up skipped certificate %s: it kept changing", plan.certificate_id)
                    telemetry.count("TopupSkipped", period=period.period_id)


@dataclass(frozen=True)
class SegmentRun:
    segment: int
    pages: int
    finished: bool


def run_segment(ctx: Context, period: Period, segment: int, total: int, deadline: float) -> SegmentRun:
    """Works through one scan segment from its checkpoint until it ends or ``deadline`` (monotonic) passes."""
    state = period_store.segment_state(period.period_id, segment)
    if state.done:
        return SegmentRun(segment, 0, True)
    cursor = state.cursor
    counter = movements.ProgressCounter(period.period_id, segment_record(segment))
    pages = 0
    # At least one page per run, however short the budget: every run makes progress.
    while pages == 0 or time.monotonic() < deadline:
        found, cursor = certificate_store.scan_funded_outside(
            period.period_id, segment, total, cursor, ctx.settings.topup_page_size
        )
        plans = [plan for plan in (plan_rollover(c, period) for c in found) if plan is not None]
        apply_plans(ctx, period, plans, counter)
        period_store.checkpoint_segment(period.period_id, segment, cursor, utc_stamp(ctx.now()))
        pages += 1
        if cursor is None:
            return SegmentRun(segment, pages, True)
    return SegmentRun(segment, pages, False)


def run_topup(ctx: Context, period_id: str, time_budget_seconds: float) -> bool:
    """Runs (or resumes) the period's top-up for at most about ``time_budget_seconds``; True when it is complete.

    Safe to run again at any time, and twice at once.
    """
    period = _may_top_up(ctx, period_id)
    total = period_store.period_state(period_id).period.topup_segments
    deadline = time.monotonic() + time_budget_seconds
    with ThreadPoolExecutor(max_workers=total, thread_name_prefix="topup") as pool:
        runs = list(pool.map(lambda s: run_segment(ctx, period, s, total, deadline), range(total)))
    return all(run.finished for run in runs)


def _may_top_up(ctx: Context, period_id: str) -> Period:
    """The period, if its top-up may run now: it has begun and no later period has."""
    period = period_store.get_period(period_id)
    if ctx.today() < period.starts_on:
        raise errors.PeriodNotStarted(f"period {period_id} starts on {period.starts_on.isoformat()}")
    current = ctx.current_period()
    if current is not None and current.period_id != period_id:
        raise errors.PeriodSuperseded(f"period {current.period_id} has begun since; top it up instead")
    return period


def start_topup(ctx: Context, period_id: str, time_budget_seconds: float) -> bool | None:
    """An operator's "top up now": in a deployed stage the top-up function is invoked asynchronously (None: started,
    the request scans nothing); locally it runs here as ``run_topup`` does (True when complete). Refused as
    ``run_topup`` refuses, before anything starts."""
    _may_top_up(ctx, period_id)
    try:
        started = ctx.topup.start(period_id)
    except ScheduleFailed as failure:
        raise errors.TopupNotStarted() from failure
    if started:
        return None
    return run_topup(ctx, period_id, time_budget_seconds)


def run_due_topup(ctx: Context, time_budget_seconds: float) -> str | None:
    """The schedule's sweep: tops up (or resumes) the running period if its top-up is not complete.

    Returns the period worked on, if any. Only the latest period that has begun is ever topped up.
    """
    period = ctx.current_period()
    if period is None:
        return None
    if period_store.period_state(period.period_id).topup_complete:
        return None
    run_topup(ctx, period.period_id, time_budget_seconds)
    return period.period_id
