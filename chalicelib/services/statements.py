"""A certificate's statement for a period, for its parent or an operator of its municipality, as CSV or PDF.

Reads: the certificate (its access rule, and the first-touch rollover, as the balance read does), the certificate's
ledger partition (one Query: a certificate has a few dozen entries a year), and the contracts its entries name with
their providers (two BatchGetItem). The totals come from the same entries as the rows (domain.statement).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from chalicelib.domain import errors
from chalicelib.domain.actors import Principal
from chalicelib.domain.period import PERIOD_ID
from chalicelib.domain.statement import Statement, build
from chalicelib.services import certificates, exports
from chalicelib.services.context import Context
from chalicelib.storage import ledger as ledger_store
from chalicelib.storage import statements as store


class Format(str, enum.Enum):
    CSV = "csv"
    PDF = "pdf"


@dataclass(frozen=True)
class Download:
    body: bytes
    content_type: str
    filename: str


def statement(ctx: Context, actor: Principal, certificate_id: str, period_id: str | None = None) -> Statement:
    """The statement of ``period_id`` (by default the certificate's current period)."""
    certificate = certificates.view(ctx, actor, certificate_id)
    wanted = period_id or certificate.period_id
    if wanted is None:
        current = ctx.current_period()
        if current is None:
            raise errors.NoOpenPeriod("no period has begun: there is nothing to state")
        wanted = current.period_id
    if not PERIOD_ID.fullmatch(wanted):
        raise errors.InvalidRequest("period_id must be 1-32 letters, digits, '-' or '_'")
    period = next((p for p in ctx.calendar.periods() if p.period_id == wanted), None)
    if period is None:
        raise errors.PeriodNotFound()
    entries = [e for e in ledger_store.all_entries(certificate.certificate_id) if e.period_id == wanted]
    contracts, provider_names = store.contracts_and_providers({e.contract_id for e in entries if e.contract_id})
    return build(
        certificate.certificate_id,
        wanted,
        entries,
        contracts,
        provider_names,
        ctx.settings.region_timezone,
        period.starts_on,
        period.ends_on,
    )


def download(
    ctx: Context, actor: Principal, certificate_id: str, period_id: str | None, format_text: str | None
) -> Download:
    """``GET /certificates/{id}/statement?period_id=&format=csv|pdf`` (CSV by default)."""
    try:
        wanted = Format(format_text or Format.CSV.value)
    except ValueError:
        raise errors.InvalidRequest("format must be csv or pdf") from None
    found = statement(ctx, actor, certificate_id, period_id)
    name = f"statement-{found.certificate_id}-{found.period_id}.{wanted.value}"
    if wanted is Format.PDF:
        from chalicelib.services.statement_pdf import render  # fpdf2 is loaded by this route only

        return Download(render(found), "application/pdf", name)
    # A byte-order mark, so spreadsheets open the Cyrillic as UTF-8.
    return Download(("\ufeff" + exports.statement_csv(found)).encode("utf-8"), "text/csv; charset=utf-8", name)
