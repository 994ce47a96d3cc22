"""The statement as a PDF (A4), in Russian: fpdf2 with DejaVu Sans embedded (chalicelib/assets, licence beside it),
so Cyrillic renders on any machine, with or without system fonts.

fpdf2 (and Pillow, fontTools under it) is imported inside ``render``: the other routes' cold starts never load it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from chalicelib.domain.statement import BALANCE_FIELDS, FLOWS, Statement

if TYPE_CHECKING:
    from fpdf import FPDF

FONT = Path(__file__).resolve().parent.parent / "assets" / "DejaVuSans.ttf"
FAMILY = "DejaVu"
COLUMNS = ("Дата", "Операция", "Сумма, руб.", "Поставщик / программа", "Месяц")
WIDTHS = (20, 52, 24, 70, 16)  # millimetres, 182 in all (A4 less 14 mm margins)


def money_text(kopecks: int) -> str:
    """``123456`` -> ``"1 234,56"`` (the Russian way: thin groups, decimal comma)."""
    sign = "-" if kopecks < 0 else ""
    whole, part = divmod(abs(kopecks), 100)
    return f"{sign}{whole:,}".replace(",", " ") + f",{part:02d}"


def _who(provider: str | None, program: str | None) -> str:
    return " / ".join(part for part in (provider, program) if part)


def render(statement: Statement) -> bytes:
    """The PDF's bytes: a title, every movement in a table whose headings repeat on each page, then the totals."""
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_title(f"Выписка по сертификату {statement.certificate_id}")
    pdf.set_creator("ПФДО")
    pdf.set_margins(14, 14, 14)
    pdf.set_auto_page_break(auto=True, margin=14)
    pdf.add_font(FAMILY, "", str(FONT))
    pdf.add_page()
    _title(pdf, statement)
    plain = FontFace(emphasis="", fill_color=(235, 235, 235))
    pdf.set_font(FAMILY, size=8)
    with pdf.table(col_widths=WIDTHS, headings_style=plain, text_align="LEFT", line_height=4.5) as table:
        table.row(COLUMNS)
        for row in statement.rows:
            table.row(
                (
                    row.day.strftime("%d.%m.%Y"),
                    row.label,
                    money_text(row.amount),
                    _who(row.provider, row.program),
                    row.month or "",
                )
            )
    _totals(pdf, statement)
    return bytes(pdf.output())


def _title(pdf: FPDF, statement: Statement) -> None:
    pdf.set_font(FAMILY, size=13)
    pdf.cell(0, 8, f"Выписка по сертификату № {statement.certificate_id}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, size=10)
    span = ""
    if statement.starts_on and statement.ends_on:
        span = f" ({statement.starts_on:%d.%m.%Y} – {statement.ends_on:%d.%m.%Y})"
    pdf.cell(0, 6, f"Период {statement.period_id}{span}", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 6, f"Операций: {len(statement.rows)}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)


def _totals(pdf: FPDF, statement: Statement) -> None:
    pdf.ln(4)
    pdf.set_font(FAMILY, size=10)
    pdf.cell(0, 6, "Итоги за период, руб.", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, size=9)
    for name, label, _kinds in FLOWS:
        _line(pdf, label, statement.flows[name])
    pdf.ln(2)
    pdf.set_font(FAMILY, size=10)
    pdf.cell(0, 6, "Остаток, руб.", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, size=9)
    for name, label in BALANCE_FIELDS:
        _line(pdf, label, getattr(statement.balance, name))


def _line(pdf: FPDF, label: str, kopecks: int) -> None:
    pdf.cell(70, 5, label)
    pdf.cell(40, 5, money_text(kopecks), align="R", new_x="LMARGIN", new_y="NEXT")
