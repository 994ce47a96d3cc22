"""Statements against DynamoDB Local: every movement of a period with its provider, program and month, and totals
that equal the certificate's balance, as CSV and as PDF."""

from __future__ import annotations

import csv
import io
import re
import zlib
from datetime import date

import pytest

from chalicelib.domain import errors
from chalicelib.domain.ledger import EntryKind
from chalicelib.domain.money import roubles
from chalicelib.domain.objection import ObjectionDecision
from chalicelib.domain.period import Period
from chalicelib.platform.clock import SettableClock
from chalicelib.services import certificates, contracts, objections, statements
from chalicelib.services.context import Context
from chalicelib.services.exports import STATEMENT_HEADER
from chalicelib.services.rollover import run_topup
from chalicelib.services.statement_pdf import money_text
from tests.integration.money_world import charged, running_year
from tests.integration.test_certificates import ELIZOVO_OPERATOR, MILKOVO_OPERATOR, PARENT, at
from tests.integration.test_contracts import OTHER_PARENT, PRICE, PROVIDER, open_year


@pytest.fixture
def year(ctx: Context, clock: SettableClock) -> Period:
    return running_year(ctx, clock)


def busy_certificate(ctx: Context, year: Period, clock: SettableClock) -> tuple[str, str]:
    """Credit, hold, two charges, a reversal, and the release of the rest at cancellation."""
    certificate_id, contract_id = charged(ctx, year)
    at(clock, date(2027, 4, 10))
    contracts.charge(ctx, PROVIDER, contract_id, "2027-04", PRICE)
    objection = objections.object_to_charge(ctx, PARENT, contract_id, "2027-04", "Не было занятий")
    objections.decide(ctx, ELIZOVO_OPERATOR, objection.objection_id, ObjectionDecision.UPHOLD, "Подтверждено")
    contracts.cancel(ctx, PARENT, contract_id, None)
    return certificate_id, contract_id


def test_the_statement_lists_every_movement_and_its_totals_equal_the_certificates_balance(
    ctx: Context, year: Period, clock: SettableClock
) -> None:
    certificate_id, contract_id = busy_certificate(ctx, year, clock)
    statement = statements.statement(ctx, PARENT, certificate_id, "2027")
    assert [row.kind for row in statement.rows] == [
        EntryKind.CREDIT,
        EntryKind.HOLD,
        EntryKind.CHARGE,
        EntryKind.CHARGE,
        EntryKind.REVERSAL,
        EntryKind.RELEASE,
    ]
    charge = statement.rows[2]
    assert (charge.contract_id, charge.month, charge.amount, charge.day) == (
        contract_id,
        "2027-03",
        PRICE,
        date(2027, 3, 10),
    )
    assert charge.provider == "Центр творчества 893" and charge.program == "Робототехника"
    balance = certificates.view(ctx, PARENT, certificate_id).balance
    assert statement.balance == balance  # the totals are the certificate's balances
    assert statement.flows["charged"] - statement.flows["reversed"] == balance.spent == PRICE
    # The hold: what was held, less what was charged from it and what was released; a reversal goes to available.
    assert statement.flows["held"] - statement.flows["charged"] - statement.flows["released"] == balance.held
    assert statement.flows["credited"] - statement.flows["held"] + statement.flows["released"] + statement.flows[
        "reversed"
    ] == (balance.available)
    assert statement.flows["credited"] == balance.credited
    # An operator of the municipality reads the same; another family, a provider or another municipality do not.
    assert statements.statement(ctx, ELIZOVO_OPERATOR, certificate_id, "2027") == statement
    with pytest.raises(errors.CertificateNotFound):
        statements.statement(ctx, OTHER_PARENT, certificate_id, "2027")
    for who in (PROVIDER, MILKOVO_OPERATOR):
        with pytest.raises(errors.Forbidden):
            statements.statement(ctx, who, certificate_id, "2027")


def test_the_csv_has_a_row_per_movement_then_totals_equal_to_the_balance(
    ctx: Context, year: Period, clock: SettableClock
) -> None:
    certificate_id, _contract = busy_certificate(ctx, year, clock)
    download = statements.download(ctx, PARENT, certificate_id, None, "csv")
    assert download.content_type == "text/csv; charset=utf-8"
    assert download.filename == f"statement-{certificate_id}-2027.csv"
    text = download.body.decode("utf-8")
    assert text.startswith("\ufeff")
    lines = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    blank = lines.index([])
    header, rows, totals = lines[0], lines[1:blank], lines[blank + 2 :]
    assert tuple(header) == STATEMENT_HEADER
    assert [row[1] for row in rows] == ["credit", "hold", "charge", "charge", "reversal", "release"]
    assert all(row[4] == roubles(int(row[3])) for row in rows)
    balance = certificates.view(ctx, PARENT, certificate_id).balance
    stated = {name: int(kopecks) for section, name, kopecks, _rub in totals if section == "balance"}
    assert stated == {
        "credited": balance.credited,
        "available": balance.available,
        "held": balance.held,
        "spent": balance.spent,
        "expired": balance.expired,
    }
    with pytest.raises(errors.InvalidRequest):
        statements.download(ctx, PARENT, certificate_id, None, "xlsx")
    with pytest.raises(errors.PeriodNotFound):
        statements.download(ctx, PARENT, certificate_id, "2031", "csv")


ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t"}


def pdf_text(pdf: bytes) -> str:
    """The text of a PDF made by fpdf2 with an embedded TrueType font: each string's two-byte glyph codes, mapped
    back to characters through the font's ToUnicode table (a small reader for this test, not a PDF parser)."""
    cmap: dict[int, str] = {}
    for code, unicode in re.findall(rb"<([0-9A-Fa-f]{4})> <([0-9A-Fa-f]{4,8})>", pdf):
        cmap[int(code, 16)] = bytes.fromhex(unicode.decode()).decode("utf-16-be")
    text = []
    for header, body in re.findall(rb"<<([^>]*?)>>\s*stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        if b"/FlateDecode" not in header:
            continue
        try:
            content = zlib.decompress(body)
        except zlib.error:
            continue
        for literal in re.findall(rb"\(((?:\\.|[^\\)])*)\) Tj", content, re.S):
            raw = re.sub(rb"\\(.)", lambda m: ESCAPES.get(m.group(1), m.group(1)), literal, flags=re.S)
            text.append("".join(cmap.get(int.from_bytes(raw[i : i + 2], "big"), "?") for i in range(0, len(raw), 2)))
    return "\n".join(text)


def test_the_pdf_renders_the_rows_and_totals_in_cyrillic(ctx: Context, year: Period, clock: SettableClock) -> None:
    certificate_id, _contract = busy_certificate(ctx, year, clock)
    download = statements.download(ctx, ELIZOVO_OPERATOR, certificate_id, "2027", "pdf")
    assert download.content_type == "application/pdf" and download.body.startswith(b"%PDF-")
    assert download.body.count(b"/Type /Page\n") == 1  # six movements fit one page
    text = pdf_text(download.body)
    assert f"Выписка по сертификату № {certificate_id}" in text
    assert "Списание за месяц" in text and "Сторно списания (претензия)" in text
    assert "Центр творчества 893 / Робототехника" in text
    balance = certificates.view(ctx, PARENT, certificate_id).balance
    for label, kopecks in (("Доступно", balance.available), ("Израсходовано", balance.spent)):
        assert label in text and money_text(kopecks) in text


def test_a_past_periods_statement_adds_up_to_its_replay_after_the_rollover(
    ctx: Context, year: Period, clock: SettableClock
) -> None:
    open_year(ctx, 2028)
    certificate_id, _contract = charged(ctx, year)
    at(clock, date(2028, 1, 10))
    assert run_topup(ctx, "2028", 60)
    old = statements.statement(ctx, PARENT, certificate_id, "2027")
    assert [row.kind for row in old.rows][-2:] == [EntryKind.RELEASE, EntryKind.EXPIRE]
    assert old.balance.available == old.balance.held == 0 and old.balance.conserved
    assert old.balance.spent == PRICE and old.flows["expired"] == old.balance.expired
    current = statements.statement(ctx, PARENT, certificate_id)  # the current period by default
    assert current.period_id == "2028"
    assert current.balance == certificates.view(ctx, PARENT, certificate_id).balance
