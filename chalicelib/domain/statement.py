"""A certificate's statement (выписка) for a period: every movement with its provider, program and month, the totals
of each kind of movement, and the balance they add up to (the replay of the ledger, I3). Its CSV and PDF are
services.exports and services.statement_pdf.

The balance of the statement is computed from its rows alone, so it equals the certificate's balance for the period
exactly when the ledger and the cached balance agree (what ``reconcile`` checks).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from chalicelib.domain.certificate import Balance
from chalicelib.domain.contract import Contract
from chalicelib.domain.ledger import EntryKind, LedgerEntry, parse_stamp, replay

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
    return parse_stamp(posted).astimezone(ZoneInfo(timezone)).date()


def build(
    certificate_id: str,
    period_id: str,
    entries: Iterable[LedgerEntry],
    contracts: Mapping[str, Contract],
    provider_names: Mapping[str, str],
    timezone: str,
    starts_on: date | None = None,
    ends_on: date | None = None,
) -> Statement:
    """The statement of ``period_id`` from the certificate's ledger entries (entries of other periods are left out),
    the contracts they name and their providers' names."""
    mine = sorted((e for e in entries if e.period_id == period_id), key=lambda e: e.posted)
    rows = []
    for entry in mine:
        contract = contracts.get(entry.contract_id) if entry.contract_id else None
        rows.append(
            StatementRow(
                posted=entry.posted,
                day=posted_day(entry.posted, timezone),
                kind=entry.kind,
                amount=entry.amount,
                contract_id=entry.contract_id,
                provider=provider_names.get(contract.provider_id, contract.provider_id) if contract else None,
                program=contract.program_title if contract else None,
                month=entry.month,
                reason=entry.reason,
            )
        )
    flows = {name: sum(e.amount for e in mine if e.kind in kinds) for name, _label, kinds in FLOWS}
    balance = replay(mine).get(period_id, Balance())
    return Statement(certificate_id, period_id, starts_on, ends_on, rows, flows, balance)
