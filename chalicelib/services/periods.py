"""Periods: opening one with its nominal and quotas, and reading it with its top-up progress."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from chalicelib.domain import errors
from chalicelib.domain.actors import Principal, Role
from chalicelib.domain.period import Period
from chalicelib.platform import telemetry
from chalicelib.platform.scheduling import ScheduleFailed
from chalicelib.services.context import Context
from chalicelib.storage import money
from chalicelib.storage import periods as store
from chalicelib.storage.periods import PeriodState

log = logging.getLogger("pfdo.periods")


def open_period(ctx: Context, actor: Principal, period: Period) -> PeriodState:
    """A regional operator opens a period; its months must not overlap another period's."""
    actor.require_regional_operator()
    period.validate()
    if period.timezone != ctx.settings.region_timezone:
        raise errors.InvalidRequest("the period must use the region's time zone")
    store.open_period(
        period, ctx.settings.region_code, ctx.settings.topup_segments, money.utc_stamp(ctx.now()), actor.sub
    )
    ctx.calendar.invalidate()
    schedule_topup(ctx, period)
    return store.period_state(period.period_id)


def schedule_again(ctx: Context, actor: Principal, period_id: str) -> bool:
    """Schedules an opened period's top-up again (creating or updating its schedule): the console's way back after
    ``TopupScheduleFailures``. True when scheduled; False when the period has begun (the sweep runs it)."""
    actor.require_regional_operator()
    return schedule_topup(ctx, store.get_period(period_id))


def schedule_topup(ctx: Context, period: Period) -> bool:
    """Asks the scheduler to start the period's top-up at its first instant (local midnight); True when scheduled.

    A period that has begun already is not scheduled: the 15-minute sweep (or POST /periods/{id}/topup) runs it. A
    scheduler that fails does not undo the opening, which is committed: the failure is logged and counted
    (``TopupScheduleFailures``, alarmed) and the sweep still starts the top-up within a quarter of an hour of the start.
    """
    if period.start_instant() <= ctx.now():
        return False
    try:
        ctx.scheduler.schedule(period)
    except ScheduleFailed:
        log.exception("the top-up of period %s is not scheduled; the sweep will start it", period.period_id)
        telemetry.count("TopupScheduleFailures")
        return False
    return True


@dataclass(frozen=True)
class TopupProgress:
    status: str  # "not_started" | "running" | "done"
    segments: int
    segments_done: int
    certificates_credited: int
    certificates_over_quota: int
    certificates_aged_out: int
    rolled_on_touch: int
    credited_kopecks: int
    expired_kopecks: int
    released_kopecks: int


def progress(state: PeriodState) -> TopupProgress:
    scanned = [s for s in state.segments if s.record != store.TOUCH_RECORD]
    done = sum(1 for s in scanned if s.done)
    touch = next((s for s in state.segments if s.record == store.TOUCH_RECORD), None)
    status = "done" if done == state.topup_segments else ("running" if scanned else "not_started")
    return TopupProgress(
        status=status,
        segments=state.topup_segments,
        segments_done=done,
        certificates_credited=sum(s.certificates for s in state.segments),
        certificates_over_quota=sum(s.over_quota for s in state.segments),
        certificates_aged_out=sum(s.aged_out for s in state.segments),
        rolled_on_touch=(touch.certificates + touch.over_quota + touch.aged_out) if touch else 0,
        credited_kopecks=sum(s.credited_kopecks for s in state.segments),
        expired_kopecks=sum(s.expired_kopecks for s in state.segments),
        released_kopecks=sum(s.released_kopecks for s in state.segments),
    )


def get(ctx: Context, actor: Principal, period_id: str) -> PeriodState:
    actor.require(Role.OPERATOR)
    return store.period_state(period_id)
