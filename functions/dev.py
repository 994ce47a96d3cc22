"""Local-stage helpers: tokens and the clock. Registered only when the stage is ``local`` (see app.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from chalicelib.domain import errors
from chalicelib.platform.auth import issue_local_token
from chalicelib.platform.clock import SettableClock
from functions.edge.apidoc import describe
from functions.edge.http import Call, Reply
from functions.schemas import Out, Strict


class TokenIn(Strict):
    role: Literal["parent", "provider", "operator"]
    sub: Annotated[str, Field(min_length=1, max_length=128)]
    provider_id: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    municipality: Annotated[str, Field(min_length=1, max_length=48)] | None = None


class ClockIn(Strict):
    now: datetime


class TokenOut(Out):
    token: str
    claims: dict[str, str]


class ClockOut(Out):
    now: str
    today: str


def _clock(call: Call) -> SettableClock:
    clock = call.ctx.clock
    if not isinstance(clock, SettableClock):
        raise errors.NotFound()
    return clock


@describe(
    summary="A token for anyone (local stage)",
    body=TokenIn,
    returns=TokenOut,
    status=201,
    roles=("anyone",),
)
def token(call: Call) -> Reply:
    body = call.parse(TokenIn)
    claims = body.model_dump(exclude_none=True)
    try:
        issued = issue_local_token(call.ctx.settings, claims)
    except errors.Unauthenticated as refusal:
        # The claims are this request's body: claims that name no caller are a bad request, not a bad caller.
        raise errors.InvalidRequest(refusal.message) from None
    return Reply(TokenOut(token=issued, claims=claims), 201)


@describe(summary="Set the service's clock (local stage)", body=ClockIn, returns=ClockOut, roles=("anyone",))
def set_clock(call: Call) -> Reply:
    body = call.parse(ClockIn)
    if body.now.tzinfo is None:
        raise errors.InvalidRequest("now must carry a time zone, e.g. 2027-01-01T00:00:00+12:00")
    clock = _clock(call)
    clock.set(body.now)
    call.ctx.calendar.invalidate()
    return Reply(ClockOut(now=clock.now().isoformat(), today=call.ctx.today().isoformat()))


@describe(summary="Back to the real time (local stage)", returns=ClockOut, roles=("anyone",))
def reset_clock(call: Call) -> Reply:
    clock = _clock(call)
    clock.reset()
    call.ctx.calendar.invalidate()
    return Reply(ClockOut(now=clock.now().isoformat(), today=call.ctx.today().isoformat()))
