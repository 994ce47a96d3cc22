"""DynamoDB round trips of each money-core operation, counted with ``devtools.roundtrips.counting()``.

"cached" is the steady state of a warm function (the period calendar is in memory); "cold" is the first request of
a fresh function, which reads the calendar once (one Query) before it knows the running period.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from bench import world
from chalicelib.domain.actors import Principal, Role
from chalicelib.domain.period import Month
from chalicelib.platform.clock import SettableClock
from chalicelib.services import certificates as certificate_service
from chalicelib.services.context import Context
from devtools.roundtrips import counting

PARENT = Principal(sub="bench:parent-rt", role=Role.PARENT)
_CHILDREN = itertools.count()  # each registration a different child
MUNICIPALITY = "mo-01"


@dataclass(frozen=True)
class OperationTrips:
    operation: str
    calendar: str  # "cached" | "cold" | "-" (the operation does not read it)
    samples: int
    per_operation: float
    breakdown: dict[str, float]
    target: str


def _measure(
    operation: str, calendar: str, target: str, calls: list[Callable[[], object]], ctx: Context | None = None
) -> OperationTrips:
    """Counts each call on its own: before a "cold" call the calendar is dropped, before a "cached" one warmed."""
    total: Counter[str] = Counter()
    for call in calls:
        if ctx is not None and calendar == "cold":
            ctx.calendar.invalidate()
        elif ctx is not None:
            ctx.current_period()
        with counting() as trips:
            call()
        total.update(trips.calls)
    samples = len(calls)
    return OperationTrips(
        operation=operation,
        calendar=calendar,
        samples=samples,
        per_operation=sum(total.values()) / samples,
        breakdown={name: count / samples for name, count in sorted(total.items())},
        target=target,
    )


def _register(ctx: Context, count: int, tag: str) -> list[str]:
    return [
        certificate_service.register_child(
            ctx, PARENT, world.child_name(tag, next(_CHILDREN)), date(2016, 5, 5), MUNICIPALITY
        ).certificate_id
        for _ in range(count)
    ]


def measure(prefix: str, repeat: int) -> list[OperationTrips]:
    """On fresh tables under ``prefix``: a yearly period 2026, children registered, funded, read; then 2027 opens and
    the first read of each funded certificate rolls it over."""
    clock = SettableClock()
    ctx = world.context(prefix, clock)
    quotas = {MUNICIPALITY: 10 * repeat}
    year = world.period("y2026", Month(2026, 1), Month(2026, 12), quotas)
    clock.set(world.day_instant(date(2026, 2, 10)))
    world.open_period(ctx, year)

    results = [_measure("register_child", "-", "-", [lambda: _register(ctx, 1, "рег") for _ in range(repeat)])]
    warm, cold = _register(ctx, repeat, "фонд"), _register(ctx, repeat, "холод")
    fund = certificate_service.fund
    view = certificate_service.view
    results += [
        _measure("fund", "cached", "-", [_bind(fund, ctx, c) for c in warm], ctx),
        _measure("fund", "cold", "-", [_bind(fund, ctx, c) for c in cold], ctx),
        _measure("view (balance read)", "cached", "1 GetItem", [_bind(view, ctx, c) for c in warm], ctx),
        _measure("view (balance read)", "cold", "-", [_bind(view, ctx, c) for c in cold], ctx),
        _measure("ledger page (20 entries)", "cached", "-", [_page(ctx, c) for c in warm], ctx),
    ]

    following = world.period("y2027", Month(2027, 1), Month(2027, 12), quotas)
    world.open_period(ctx, following)
    world.move_into(clock, following)
    results += [
        _measure("rollover on first touch (view)", "cached", "-", [_bind(view, ctx, c) for c in warm], ctx),
        _measure("rollover on first touch (view)", "cold", "-", [_bind(view, ctx, c) for c in cold], ctx),
    ]
    return results


def _bind(
    operation: Callable[[Context, Principal, str], object], ctx: Context, certificate_id: str
) -> Callable[[], object]:
    return lambda: operation(ctx, PARENT, certificate_id)


def _page(ctx: Context, certificate_id: str) -> Callable[[], object]:
    return lambda: certificate_service.ledger(ctx, PARENT, certificate_id, 20, None)
