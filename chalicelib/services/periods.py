"""Periods: opening one with its nominal and quotas, and reading it with its top-up progress."""

from __future__ import annotations

import logging
from dataclasses import replace

from chalicelib.domain import errors
from chalicelib.domain.actors import Principal, Role
from chalicelib.domain.ledger import utc_stamp
from chalicelib.domain.period import Period, PeriodState, TopupProgress
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
    return store.period_state(period.period_id)


def progress(state: PeriodState) -> TopupProgress:
    """The period's top-up as operators follow it (domain.period.PeriodState.topup)."""
    return state.topup


def get(ctx: Context, actor: Principal, period_id: str) -> PeriodState:
    actor.require(Role.OPERATOR)
    return store.period_state(period_id)
