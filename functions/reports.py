"""Operators' reports, as JSON or CSV (``format=csv``): coverage, spending, the quota used, the money expired at the
last rollover; and the children population the coverage shares are taken of.

Each reads counters kept by the stream consumer (functions/jobs/streams.py) or the quota items: never the certificates,
the ledger or the contracts.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from chalicelib.domain import errors
from chalicelib.domain.reports import GroupBy
from chalicelib.services import reports
from functions.edge.apidoc import describe
from functions.edge.http import Call, Query, Reply
from functions.schemas import Out, Seen, Strict

PeriodId = Annotated[str, Field(min_length=1, max_length=32, description="Default: the running period.")]
Municipality = Annotated[
    str, Field(min_length=1, max_length=48, description="Default: the operator's own; '*' the whole region.")
]
Share = Annotated[float | None, Field(description="Of the children population; null while it is not set.")]
REFUSALS = (errors.PeriodNotFound, errors.NoOpenPeriod, errors.InvalidRequest)
WHO = ("operator of the municipality", "regional operator (any municipality, or '*')")


class ReportQuery(Query):
    municipality: Municipality | None = None
    period_id: PeriodId | None = None
    format: Literal["json", "csv"] = "json"


class SpendingQuery(ReportQuery):
    group_by: GroupBy = GroupBy.PROVIDER


class SharesOut(Out):
    certificates: Share
    funded: Share
    with_active_contract: Share


class CoverageRowOut(Out):
    municipality: str
    children_population: int | None
    certificates: Annotated[int, Field(description="Living certificates of children registered there.")]
    funded: Annotated[int, Field(description="Certificates credited in the period.")]
    with_active_contract: Annotated[int, Field(description="Certificates with a contract of the period active now.")]
    shares: SharesOut


class CoverageOut(CoverageRowOut):
    period_id: str
    as_of: str | None
    municipalities: list[CoverageRowOut]


class SpendingRowOut(Out):
    key: str = Field(validation_alias="value")
    label: str
    charges: int
    charged_kopecks: int
    reversals: int
    reversed_kopecks: int
    spent_kopecks: Annotated[int, Field(description="Charged less what upheld objections reversed.")]
    disputes: int
    disputed_kopecks: Annotated[int, Field(description="Charges under an open objection.")]


class SpendingOut(Out):
    period_id: str
    municipality: str
    group_by: GroupBy
    rows: list[SpendingRowOut]
    total: SpendingRowOut
    as_of: str | None


class QuotaRowOut(Out):
    municipality: str
    quota: int
    funded: int
    remaining: int
    share_used: float | None


class QuotaReportOut(QuotaRowOut):
    period_id: str
    municipalities: list[QuotaRowOut]


class ExpiryRowOut(Out):
    municipality: str
    expired_certificates: int
    expired_kopecks: int
    expired_roubles: str


class ExpiryOut(ExpiryRowOut):
    expired_period_id: str | None
    municipalities: list[ExpiryRowOut]


class PopulationIn(Strict):
    children_population: Annotated[
        dict[str, Annotated[int, Field(ge=0, le=10_000_000)]], Field(min_length=1, max_length=70)
    ]


class PopulationOut(Out):
    period_id: str
    children_population: dict[str, int]


def _answer(query: ReportQuery, report: Any, name: str) -> Reply:
    """The report as CSV, or as JSON (``shown``)."""
    if query.format == "csv":
        filename = f"{name}-{_period_of(report)}.csv"
        headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
        # A byte-order mark, so spreadsheets open the Cyrillic as UTF-8.
        return Reply("\ufeff" + report.csv(), headers=headers, content_type="text/csv; charset=utf-8")
    return Reply(shown(report))


def _totalled(report: Any, **more: object) -> Seen:
    """A report shown as its total row (at the top level), its rows under ``municipalities`` and ``more``."""
    return Seen(report.total, municipalities=report.municipalities, **more)


def shown(report: reports.Report) -> Out:
    """A report as its JSON shows it."""
    if isinstance(report, reports.CoverageReport):
        return CoverageOut.of(_totalled(report, period_id=report.period_id, as_of=report.as_of))
    if isinstance(report, reports.SpendingReport):
        return SpendingOut.of(report)
    if isinstance(report, reports.QuotaReport):
        return QuotaReportOut.of(_totalled(report, period_id=report.period_id))
    return ExpiryOut.of(_totalled(report, expired_period_id=report.expired_period_id))


def _period_of(report: Any) -> str:
    return str(getattr(report, "period_id", None) or getattr(report, "expired_period_id", None) or "none")


@describe(
    summary="Coverage: children with a certificate, a funded one, an active contract; shares of the population",
    query=ReportQuery,
    returns=CoverageOut,
    refusals=REFUSALS,
    roles=WHO,
    produces=("application/json", "text/csv"),
)
def coverage(call: Call) -> Reply:
    query = call.parse_query(ReportQuery)
    report = reports.coverage(call.ctx, call.actor, query.period_id, query.municipality)
    return _answer(query, report, "coverage")


@describe(
    summary="Spending of the period by provider, program, direction or month of service (reversals and disputes apart)",
    query=SpendingQuery,
    returns=SpendingOut,
    refusals=REFUSALS,
    roles=WHO,
    produces=("application/json", "text/csv"),
)
def spending(call: Call) -> Reply:
    query = call.parse_query(SpendingQuery)
    report = reports.spending(call.ctx, call.actor, query.period_id, query.municipality, query.group_by.value)
    return _answer(query, report, f"spending-by-{query.group_by.value}")


@describe(
    summary="The quota used per municipality (exact: counted in the funding's own transaction)",
    query=ReportQuery,
    returns=QuotaReportOut,
    refusals=(*REFUSALS, errors.NotFound),
    roles=WHO,
    produces=("application/json", "text/csv"),
)
def quota(call: Call) -> Reply:
    query = call.parse_query(ReportQuery)
    report = reports.quota_used(call.ctx, call.actor, query.period_id, query.municipality)
    return _answer(query, report, "quota")


@describe(
    summary="The money that expired at the last rollover (or at the end of period_id), per municipality",
    query=ReportQuery,
    returns=ExpiryOut,
    refusals=REFUSALS,
    roles=WHO,
    produces=("application/json", "text/csv"),
)
def expired(call: Call) -> Reply:
    query = call.parse_query(ReportQuery)
    report = reports.expired_at_last_rollover(call.ctx, call.actor, query.municipality, query.period_id)
    return _answer(query, report, "expired")


@describe(
    summary="Set the children population (5-18) of municipalities for a period: the coverage shares' denominator",
    body=PopulationIn,
    returns=PopulationOut,
    refusals=REFUSALS,
    roles=WHO,
)
def set_population(call: Call) -> Reply:
    body = call.parse(PopulationIn)
    period_id = call.params["period_id"]
    saved = reports.set_population(call.ctx, call.actor, period_id, body.children_population)
    return Reply(PopulationOut(period_id=period_id, children_population=saved))


@describe(
    summary="The children population set for a period (the municipalities the operator sees)",
    returns=PopulationOut,
    refusals=REFUSALS,
    roles=WHO,
)
def population(call: Call) -> Reply:
    period_id = call.params["period_id"]
    found = reports.populations(call.ctx, call.actor, period_id)
    return Reply(PopulationOut(period_id=period_id, children_population=found))
