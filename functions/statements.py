"""A certificate's statement for a period, as CSV or PDF (a download with a file name)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from chalicelib.domain import errors
from chalicelib.services import statements
from functions.edge.apidoc import describe
from functions.edge.http import Call, Query, Reply


class StatementQuery(Query):
    period_id: Annotated[
        str | None, Field(min_length=1, max_length=32, description="Default: the certificate's current period.")
    ] = None
    format: Literal["csv", "pdf"] = "csv"


@describe(
    summary="A certificate's statement for a period: every movement with its provider, program and month, and totals",
    query=StatementQuery,
    refusals=(
        errors.CertificateNotFound,
        errors.PeriodNotFound,
        errors.NoOpenPeriod,
        errors.InvalidRequest,
        errors.NotAcceptable,
    ),
    roles=("parent (own child)", "operator of its municipality"),
    produces=("text/csv", "application/pdf"),
)
def statement(call: Call) -> Reply:
    query = call.parse_query(StatementQuery)
    # Binary answers travel base64-encoded, which Chalice allows only when the Accept header admits them (a browser's
    # "*/*" does); refuse up front, before any work, rather than let the platform answer outside the error envelope.
    if query.format == "pdf" and not _accepts(call.headers.get("accept"), "application/pdf"):
        raise errors.NotAcceptable("ask for the PDF with an Accept header of application/pdf (or */*)")
    download = statements.download(call.ctx, call.actor, call.params["certificate_id"], query.period_id, query.format)
    disposition = {"Content-Disposition": f'attachment; filename="{download.filename}"'}
    # A PDF goes out as bytes (base64 on the wire, app.py); a CSV is text.
    binary = download.content_type == "application/pdf"
    body = download.body if binary else download.body.decode("utf-8")
    return Reply(body, headers=disposition, content_type=download.content_type)


def _accepts(header: str | None, media_type: str) -> bool:
    if header is None:
        return False  # Chalice sends a binary body only to a request that asked for it
    offered = {part.split(";", 1)[0].strip().lower() for part in header.split(",")}
    return bool(offered & {media_type, "*/*", media_type.split("/", 1)[0] + "/*"})
