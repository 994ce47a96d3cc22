"""A certificate's statement (выписка) for a period: every movement with its provider, program and month, the totals
of each kind of movement, and the balance they add up to (the replay of the ledger, I3), as rows and as CSV text.

The balance of the statement is computed from its rows alone, so it equals the certificate's balance for the period
exactly when the ledger and the cached balance agree (what ``reconcile`` checks).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from chalicelib.domain.certificate import Balance
from chalicelib.domain.ledger import EntryKind, LedgerEntry, replay

# How each kind reads for a parent.
LABELS: dict[EntryKind, str] = {
    EntryKind.CREDIT: "Зачисление номинала",
    EntryKind.EXPIRE: "Сгорание остатка",
    EntryKind.HOLD: "Резерв по договору",
    EntryKind.RELEASE: "Снятие резерва",
    EntryKind.CHARGE: "Списание за месяц",
    EntryKind.REVERSAL: "Сторно списания (претензия)",
    EntryKind.REVERSAL_EXPIRED: "Сторно списания (сгорело)",
    EntryKind.TRANSFER_OUT: "Перенос на другой сертификат",
    EntryKind.TRANSFER_IN: "Перенос с дубликата",
}

# The totals a statement shows, in this order: what moved, by kind.
FLOWS: tuple[tuple[str, str, tuple[EntryKind, ...]], ...] = (
    ("credited", "Зачислено", (EntryKind.CREDIT,)),
    ("transferred_in", "Перенесено с дубликата", (EntryKind.TRANSFER_IN,)),
    ("transferred_out", "Перенесено на другой сертификат", (EntryKind.TRANSFER_OUT,)),
    ("held", "Зарезервировано", (EntryKind.HOLD,)),
    ("released", "Резерв снят", (EntryKind.RELEASE,)),
    ("charged", "Списано", (EntryKind.CHARGE,)),
    ("reversed", "Сторнировано", (EntryKind.REVERSAL, EntryKind.REVERSAL_EXPIRED)),
    ("expired", "Сгорело", (EntryKind.EXPIRE,)),
)

BALANCE_FIELDS: tuple[tuple[str, str], ...] = (
    ("credited", "Начислено всего"),
    ("available", "Доступно"),
    ("held", "В резерве"),
    ("spent", "Израсходовано"),
    ("expired", "Сгорело"),
)

# A cell a spreadsheet would run as a formula (CSV injection): program titles and provider names come from providers.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class ContractInfo:
    """What a row says about its contract."""

    contract_id: str
    provider_id: str
    provider_name: str
    program_id: str
    program_title: str


@dataclass(frozen=True)
class StatementRow:
    posted: str  # the ledger's UTC stamp (orders the rows)
    day: date  # the posting's date in the region's time zone
    kind: EntryKind
    amount: int
    contract_id: str | None
    provider: str | None
    program: str | None
    month: str | None
    reason: str | None

    @property
    def label(self) -> str:
        return LABELS[self.kind]


@dataclass(frozen=True)
class Statement:
    certificate_id: str
    period_id: str
    starts_on: date | None
    ends_on: date | None
    rows: list[StatementRow]
    # kopecks per flow name (see FLOWS)
    flows: dict[str, int]
    balance: Balance


def posted_day(posted: str, timezone: str) -> date:
    instant = datetime.strptime(posted.split("#", 1)[0], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    return instant.astimezone(ZoneInfo(timezone)).date()


def build(
    certificate_id: str,
    period_id: str,
    entries: Iterable[LedgerEntry],
    contracts: dict[str, ContractInfo],
    timezone: str,
    starts_on: date | None = None,
    ends_on: date | None = None,
) -> Statement:
    """The statement of ``period_id`` from the certificate's ledger entries (entries of other periods are left out)."""
    mine = sorted((e for e in entries if e.period_id == period_id), key=lambda e: e.posted)
    rows = []
    for entry in mine:
        info = contracts.get(entry.contract_id) if entry.contract_id else None
        rows.append(
            StatementRow(
                posted=entry.posted,
                day=posted_day(entry.posted, timezone),
                kind=entry.kind,
                amount=entry.amount,
                contract_id=entry.contract_id,
                provider=info.provider_name if info else None,
                program=info.program_title if info else None,
                month=entry.month,
                reason=entry.reason,
            )
        )
    flows = {name: sum(e.amount for e in mine if e.kind in kinds) for name, _label, kinds in FLOWS}
    balance = replay(mine).get(period_id, Balance())
    return Statement(certificate_id, period_id, starts_on, ends_on, rows, flows, balance)


def rubles(kopecks: int) -> str:
    """``123456`` -> ``"1234.56"``: exact, no float on the way."""
    sign = "-" if kopecks < 0 else ""
    whole, part = divmod(abs(kopecks), 100)
    return f"{sign}{whole}.{part:02d}"


def _safe(cell: str | None) -> str:
    if not cell:
        return ""
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


CSV_HEADER = (
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


def to_csv(statement: Statement) -> str:
    """RFC 4180 text: one line per movement, then an empty line and the totals (``total,<name>,kopecks,rubles``),
    then the balance (``balance,<field>,kopecks,rubles``). Amounts are positive: the kind says which way."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for row in statement.rows:
        writer.writerow(
            (
                row.day.isoformat(),
                row.kind.value,
                row.label,
                row.amount,
                rubles(row.amount),
                row.contract_id or "",
                _safe(row.provider),
                _safe(row.program),
                row.month or "",
            )
        )
    writer.writerow(())
    writer.writerow(("section", "name", "kopecks", "rubles"))
    for name, _label, _kinds in FLOWS:
        writer.writerow(("total", name, statement.flows[name], rubles(statement.flows[name])))
    for name, _label in BALANCE_FIELDS:
        value = getattr(statement.balance, name)
        writer.writerow(("balance", name, value, rubles(value)))
    return out.getvalue()
