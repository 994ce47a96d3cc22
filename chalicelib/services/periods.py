"""Periods: opening one with its nominal and quotas, and reading it with its top-up progress."""

from __future__ import annotations

import logging
from dataclasses import replace

from chalicelib.domain import errors
from chalicelib.domain.actors import Principal, Role
from chalicelib.domain.ledger import utc_stamp
from chalicelib.domain.period import Period, PeriodState, TopupProgress
from chalicelib.platform import telemetry
from chalicelib.platform.scheduling import ScheduleFailed
from chalicelib.services.context import Context
from chalicelib.storage import periods as store

log = logging.getLogger("pfdo.periods")


def open_period(ctx: Context, actor: Principal, period: Period) -> PeriodState:
    """A regional operator opens a period; its months must not overlap another period's."""
    actor.require_regional_operator()
    period.validate()
    if period.timezone != ctx.settings.region_timezone:
        raise errors.InvalidRequest("the period must use the region's time zone")
    opened = replace(
        period,
        region=ctx.settings.region_code,
        topup_segments=ctx.settings.topup_segments,
        opened_at=utc_stamp(ctx.now()),
        opened_by=actor.sub,
    )
    store.open_period(opened)
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


def progress(state: PeriodState) -> TopupProgress:
    """The period's top-up as operators follow it (domain.period.PeriodState.topup)."""
    return state.topup


def get(ctx: Context, actor: Principal, period_id: str) -> PeriodState:
    actor.require(Role.OPERATOR)
    return store.period_state(period_id)
