"""Every CSV the service hands out (the operators' reports, a certificate's statement), through one writer.

``csv_text`` is the writer: RFC 4180 text (CRLF line ends), one or more tables one after the other with an empty line
between them, ``None`` as an empty cell. Each export below only says which columns and rows it has.

The writer is the one place of the rule against CSV (formula) injection: every text cell that a spreadsheet would run
as a formula (it starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) is written with a leading
apostrophe, whatever column it is in and wherever its text came from (a program's title, a provider's name, a label
counted from either). Numbers stay numbers: integers (kopecks, counts) are never text, and a text that is a plain
number (``-12.50``) is no formula.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from chalicelib.domain.money import roubles
from chalicelib.domain.period import Quota
from chalicelib.domain.reports import SHARE_DIGITS, CoverageRow, GroupBy, SpendingRow
from chalicelib.domain.statement import BALANCE_FIELDS, FLOWS, Statement

# A cell a spreadsheet would run as a formula starts with one of these.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# A plain number written as text (roubles, shares): what a spreadsheet reads as a number, never as a formula.
_PLAIN_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")


@dataclass(frozen=True)
class Table:
    header: Sequence[str]
    rows: Iterable[Sequence[object]]


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_START) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def csv_text(*tables: Table) -> str:
    """The tables as CSV text, an empty line between two."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for number, table in enumerate(tables):
        if number:
            writer.writerow(())
        writer.writerow(table.header)
        writer.writerows([_cell(cell) for cell in row] for row in table.rows)
    return out.getvalue()


# --- the operators' reports ------------------------------------------------------------------------------------------

COVERAGE_HEADER = (
    "municipality",
    "children_population",
    "certificates",
    "funded",
    "with_active_contract",
    "share_certificates",
    "share_funded",
    "share_with_active_contract",
)


def coverage_csv(rows: Sequence[CoverageRow]) -> str:
    """One line per municipality (and the region's total); shares to 4 places, empty while no population is set."""

    def line(row: CoverageRow) -> list[object]:
        shares = [None if s is None else f"{s:.{SHARE_DIGITS}f}" for s in row.shares.values()]
        return [
            row.municipality,
            row.children_population,
            row.certificates,
            row.funded,
            row.with_active_contract,
            *shares,
        ]

    return csv_text(Table(COVERAGE_HEADER, [line(row) for row in rows]))


SPENDING_COLUMNS = (
    "label",
    "charges",
    "charged_kopecks",
    "reversals",
    "reversed_kopecks",
    "spent_kopecks",
    "spent_roubles",
    "disputes",
    "disputed_kopecks",
)


def spending_csv(group: GroupBy, rows: Sequence[SpendingRow]) -> str:
    """Amounts in kopecks as integers, and what stays spent in roubles as text."""
    lines = [
        [
            r.value,
            r.label,
            r.charges,
            r.charged_kopecks,
            r.reversals,
            r.reversed_kopecks,
            r.spent_kopecks,
            roubles(r.spent_kopecks),
            r.disputes,
            r.disputed_kopecks,
        ]
        for r in rows
    ]
    return csv_text(Table((group.value, *SPENDING_COLUMNS), lines))


QUOTA_HEADER = ("municipality", "quota", "funded", "remaining", "share_used")


def quota_csv(rows: Sequence[Quota]) -> str:
    return csv_text(Table(QUOTA_HEADER, [[q.municipality, q.quota, q.funded, q.remaining, q.share_used] for q in rows]))


EXPIRY_HEADER = ("municipality", "expired_certificates", "expired_kopecks", "expired_roubles")


def expiry_csv(rows: Sequence[tuple[str, int, int]]) -> str:
    """(municipality, certificates, kopecks) per line."""
    lines = [[place, certificates, kopecks, roubles(kopecks)] for place, certificates, kopecks in rows]
    return csv_text(Table(EXPIRY_HEADER, lines))


# --- a certificate's statement ---------------------------------------------------------------------------------------

STATEMENT_HEADER = (
    "date",
    "kind",
    "operation",
    "amount_kopecks",
    "amount_rubles",
    "contract_id",
    "provider",
    "program",
    "month",
)
TOTALS_HEADER = ("section", "name", "kopecks", "rubles")


def statement_csv(statement: Statement) -> str:
    """One line per movement, then an empty line and the totals (``total,<name>,kopecks,rubles``), then the balance
    (``balance,<field>,kopecks,rubles``). Amounts are positive: the kind says which way."""
    movements = [
        (
            row.day.isoformat(),
            row.kind.value,
            row.label,
            row.amount,
            roubles(row.amount),
            row.contract_id,
            row.provider,
            row.program,
            row.month,
        )
        for row in statement.rows
    ]
    totals = [("total", name, statement.flows[name], roubles(statement.flows[name])) for name, _label, _ in FLOWS]
    balance = [
        ("balance", name, getattr(statement.balance, name), roubles(getattr(statement.balance, name)))
        for name, _label in BALANCE_FIELDS
    ]
    return csv_text(Table(STATEMENT_HEADER, movements), Table(TOTALS_HEADER, [*totals, *balance]))
