"""Operators' reports: coverage, spending, the quota used, the money expired at the last rollover; and the children
population each coverage share is taken of.

Every report reads counters the stream consumer keeps (services/streams.py) or the quota's own counters: a fixed,
small number of requests (one or two, and one more per megabyte of a large region's spending), never a Scan or a
Query of certificates, ledger or contracts. The figures trail the data by the consumer's delay (seconds); ``as_of``
says when they last moved.

Who sees what: an operator of municipality M sees M; a regional operator (``municipality: "*"``) sees the region or
any municipality; everyone else is refused. Without a municipality an operator gets their own (the region for a
regional operator); without a period, the running one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from chalicelib.domain import errors
from chalicelib.domain.actors import WHOLE_REGION, Principal, Role
from chalicelib.domain.counting import Population, Registry, Totals
from chalicelib.domain.money import roubles
from chalicelib.domain.period import MUNICIPALITY, Period, Quota
from chalicelib.domain.reports import (
    CoverageRow,
    GroupBy,
    SpendingRow,
    merge_spending,
    region_row,
    spending_total,
)
from chalicelib.services import exports
from chalicelib.services.context import Context
from chalicelib.storage import aggregates as store
from chalicelib.storage import periods as period_store
from chalicelib.storage.transactions import MAX_ITEMS

Figures = dict[str, int | str]


def scope(actor: Principal, municipality: str | None) -> str | None:
    """The municipality a report covers, ``None`` for the whole region; refuses what the actor may not see."""
    actor.require(Role.OPERATOR)
    wanted = municipality or actor.municipality
    if wanted is None:
        raise errors.Forbidden("an operator of no municipality")
    if wanted == WHOLE_REGION:
        if not actor.is_regional_operator:
            raise errors.Forbidden("only a regional operator sees the whole region")
        return None
    if not MUNICIPALITY.fullmatch(wanted):
        raise errors.InvalidRequest("municipality must be a municipality's code, or '*' for the region")
    if not actor.operates_in(wanted):
        raise errors.Forbidden("the report of another municipality")
    return wanted


def _period(ctx: Context, period_id: str | None) -> Period:
    if not period_id:
        current = ctx.current_period()
        if current is None:
            raise errors.NoOpenPeriod()
        return current
    found = next((p for p in ctx.calendar.periods() if p.period_id == period_id), None)
    if found is None:
        raise errors.PeriodNotFound()
    return found


def _as_of(items: Iterable[Mapping[str, int | str]]) -> str | None:
    stamps = [str(item["updated_at"]) for item in items if "updated_at" in item]
    return max(stamps) if stamps else None


def _count(item: Mapping[str, int | str] | None, name: str) -> int:
    return int((item or {}).get(name, 0))


# --- coverage --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CoverageReport:
    """Children 5-18 with a certificate, with a funded one, with at least one active contract, and their shares of
    the children population; ``municipalities`` has a row each (one row when the report is a municipality's)."""

    period_id: str
    total: CoverageRow
    municipalities: list[CoverageRow]
    as_of: str | None

    def csv(self) -> str:
        rows = self.municipalities if self.total.municipality != WHOLE_REGION else [*self.municipalities, self.total]
        return exports.coverage_csv(rows)


def coverage(ctx: Context, actor: Principal, period_id: str | None, municipality: str | None) -> CoverageReport:
    """``certificates`` counts the registry now (living certificates, whatever the period); ``funded`` the
    certificates credited in the period (funded or topped up, once each); ``with_active_contract`` the certificates
    with a contract of the period active now."""
    where = scope(actor, municipality)
    period = _period(ctx, period_id)
    if where is not None:
        totals, population, registry = (
            Totals(period.period_id, where),
            Population(period.period_id, where),
            Registry(where),
        )
        found = store.read([totals, population, registry])
        row = _coverage_row(where, found.get(totals), found.get(population), found.get(registry))
        return CoverageReport(period.period_id, row, [row], _as_of([found.get(totals, {}), found.get(registry, {})]))
    by_municipality: dict[str, dict[str, Figures]] = {m: {} for m in period.quotas}
    for municipality, items in store.municipal(period.period_id).items():
        by_municipality.setdefault(municipality, {}).update(items)
    for municipality, item in store.registry().items():
        by_municipality.setdefault(municipality, {})["registry"] = item
    rows = [
        _coverage_row(m, items.get("totals"), items.get("population"), items.get("registry"))
        for m, items in sorted(by_municipality.items())
    ]
    stamps = [item for items in by_municipality.values() for name, item in items.items() if name != "population"]
    return CoverageReport(period.period_id, region_row(rows, WHOLE_REGION), rows, _as_of(stamps))


def _coverage_row(
    municipality: str, totals: Figures | None, population: Figures | None, registry: Figures | None
) -> CoverageRow:
    return CoverageRow(
        municipality=municipality,
        children_population=None if population is None else _count(population, "children_population"),
        certificates=_count(registry, "certificates"),
        funded=_count(totals, "funded"),
        with_active_contract=_count(totals, "with_active_contract"),
    )


# --- spending --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpendingReport:
    """Charges of the period by provider, program, direction or month of service, less what upheld objections
    reversed (``spent_kopecks``), and what is under an open objection (``disputed_kopecks``)."""

    period_id: str
    municipality: str
    group_by: GroupBy
    rows: list[SpendingRow]
    total: SpendingRow
    as_of: str | None

    def csv(self) -> str:
        return exports.spending_csv(self.group_by, [*self.rows, self.total])


def spending(
    ctx: Context, actor: Principal, period_id: str | None, municipality: str | None, group_by: str | None
) -> SpendingReport:
    where = scope(actor, municipality)
    group = GroupBy.parse(group_by)
    period = _period(ctx, period_id)
    items = store.spending(period.period_id, group, where)
    rows = merge_spending(
        (value, label, {k: v for k, v in item.items() if isinstance(v, int)}) for value, label, item in items
    )
    return SpendingReport(
        period.period_id,
        where or WHOLE_REGION,
        group,
        rows,
        spending_total(rows),
        _as_of(item for _, _, item in items),
    )


# --- quota used ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QuotaReport:
    period_id: str
    total: Quota
    municipalities: list[Quota]

    def csv(self) -> str:
        rows = [*self.municipalities, self.total] if self.total.municipality == WHOLE_REGION else self.municipalities
        return exports.quota_csv(rows)


def quota_used(ctx: Context, actor: Principal, period_id: str | None, municipality: str | None) -> QuotaReport:
    """From the quota items themselves (I7): they are counted in the very transaction that funds, so they are exact
    at once, with no consumer in between."""
    where = scope(actor, municipality)
    period = _period(ctx, period_id)
    rows = sorted(period_store.quotas(period.period_id, where), key=lambda row: row.municipality)
    if where is not None and not rows:
        raise errors.NotFound(f"period {period.period_id} has no quota for {where}")
    total = Quota(
        period_id=period.period_id,
        municipality=where or WHOLE_REGION,
        quota=sum(r.quota for r in rows),
        funded=sum(r.funded for r in rows),
        remaining=sum(r.remaining for r in rows),
    )
    return QuotaReport(period.period_id, total, rows)


# --- money expired at the last rollover ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExpiryRow:
    municipality: str
    expired_certificates: int
    expired_kopecks: int

    @property
    def expired_roubles(self) -> str:
        return roubles(self.expired_kopecks)


@dataclass(frozen=True)
class ExpiryReport:
    """What was left of ``expired_period_id`` when the next period began (сгорание остатков)."""

    expired_period_id: str | None
    total: ExpiryRow
    municipalities: list[ExpiryRow]

    def csv(self) -> str:
        rows = [*self.municipalities, self.total] if self.total.municipality == WHOLE_REGION else self.municipalities
        return exports.expiry_csv([(r.municipality, r.expired_certificates, r.expired_kopecks) for r in rows])


def expired_at_last_rollover(
    ctx: Context, actor: Principal, municipality: str | None, period_id: str | None = None
) -> ExpiryReport:
    """The money of the period before the latest one that began (or of ``period_id``) that expired at its end;
    while that rollover runs, the figures grow until its top-up is done."""
    where = scope(actor, municipality)
    expired = _period(ctx, period_id) if period_id else _last_expired(ctx)
    if expired is None:
        return ExpiryReport(None, ExpiryRow(where or WHOLE_REGION, 0, 0), [])
    if where is not None:
        figure = Totals(expired.period_id, where)
        item = store.read([figure]).get(figure)
        rows = [ExpiryRow(where, _count(item, "expired_certificates"), _count(item, "expired_kopecks"))]
    else:
        rows = [
            ExpiryRow(
                municipality,
                _count(items["totals"], "expired_certificates"),
                _count(items["totals"], "expired_kopecks"),
            )
            for municipality, items in store.municipal(expired.period_id).items()
            if "totals" in items
        ]
    total = ExpiryRow(
        where or WHOLE_REGION,
        sum(r.expired_certificates for r in rows),
        sum(r.expired_kopecks for r in rows),
    )
    return ExpiryReport(expired.period_id, total, rows)


def _last_expired(ctx: Context) -> Period | None:
    begun = sorted((p for p in ctx.calendar.periods() if p.starts_on <= ctx.today()), key=lambda p: p.starts_on)
    return begun[-2] if len(begun) >= 2 else None


# --- the children population -----------------------------------------------------------------------------------------


def set_population(ctx: Context, actor: Principal, period_id: str, populations: Mapping[str, int]) -> dict[str, int]:
    """An operator sets the number of children 5-18 of their municipality (a regional operator: of any) for a
    period; coverage shares are taken of it. Setting it again replaces it. All written or none."""
    actor.require(Role.OPERATOR)
    period = _period(ctx, period_id)
    if not populations or len(populations) > MAX_ITEMS:
        raise errors.InvalidRequest(f"give the population of 1 to {MAX_ITEMS} municipalities")
    for municipality, children in populations.items():
        if not isinstance(municipality, str) or not MUNICIPALITY.fullmatch(municipality):
            raise errors.InvalidRequest(f"{municipality!r} is not a municipality's code")
        if isinstance(children, bool) or not isinstance(children, int) or children < 0:
            raise errors.InvalidRequest(f"the population of {municipality} must be a whole number >= 0")
    refused = sorted(m for m in populations if not actor.operates_in(m))
    if refused:
        raise errors.Forbidden(f"the population of another municipality ({', '.join(refused)})")
    figures = {m: Population(period.period_id, m) for m in populations}
    store.put_population(figures, populations, actor.sub, ctx.now())
    return dict(sorted(populations.items()))


def populations(ctx: Context, actor: Principal, period_id: str) -> dict[str, int]:
    """The populations set for a period (those the actor may see)."""
    where = scope(actor, None)
    period = _period(ctx, period_id)
    return {
        municipality: _count(items["population"], "children_population")
        for municipality, items in store.municipal(period.period_id, where).items()
        if "population" in items
    }


Report = CoverageReport | SpendingReport | QuotaReport | ExpiryReport
