"""Periods: open one, read it with its top-up progress, run or resume its top-up."""

from __future__ import annotations

from chalicelib.domain import errors
from chalicelib.domain.actors import SYSTEM
from chalicelib.domain.period import AgeNominal, Period
from chalicelib.services import periods
from chalicelib.services.rollover import start_topup
from functions.edge.apidoc import also_answers, describe
from functions.edge.http import Call, Reply
from functions.schemas import OpenPeriodIn, PeriodOut


@describe(
    summary="Open a period with its nominal and quotas",
    body=OpenPeriodIn,
    returns=PeriodOut,
    status=201,
    refusals=(errors.PeriodExists, errors.PeriodOverlaps, errors.ConcurrentUpdate),
    roles=("regional operator",),
)
def open_period(call: Call) -> Reply:
    body = call.parse(OpenPeriodIn)
    period = Period(
        **body.model_dump(exclude={"age_nominals"}),
        timezone=call.ctx.settings.region_timezone,
        age_nominals=tuple(AgeNominal(**band.model_dump()) for band in body.age_nominals),
    )
    return Reply(PeriodOut.of(periods.open_period(call.ctx, call.actor, period)), 201)


@describe(
    summary="A period with its quotas and top-up progress",
    returns=PeriodOut,
    refusals=(errors.PeriodNotFound,),
    roles=("operator",),
)
def get_period(call: Call) -> Reply:
    return Reply(PeriodOut.of(periods.get(call.ctx, call.actor, call.params["period_id"])))


@also_answers(
    202,
    "The top-up was started (a deployed stage: the top-up function runs it; follow GET /periods/{period_id}), or it "
    "stopped at its time budget (the local stage): post again to resume.",
)
@describe(
    summary="Start or resume the period's top-up",
    returns=PeriodOut,
    refusals=(
        errors.PeriodNotFound,
        errors.PeriodNotStarted,
        errors.PeriodSuperseded,
        errors.ConcurrentUpdate,
        errors.TopupNotStarted,
    ),
    roles=("regional operator",),
)
def topup(call: Call) -> Reply:
    """Starts the top-up function (202), or locally runs the top-up here: 200 when complete, 202 when it stopped at
    its time budget (post again)."""
    call.actor.require_regional_operator()
    period_id = call.params["period_id"]
    periods.get(call.ctx, call.actor, period_id)
    complete = start_topup(call.ctx, period_id, call.ctx.settings.topup_http_budget_seconds)
    state = periods.get(call.ctx, SYSTEM, period_id)
    return Reply(PeriodOut.of(state), 200 if complete else 202)
