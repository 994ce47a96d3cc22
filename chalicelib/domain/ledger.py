"""The ledger: immutable entries, one per money movement, each under its natural idempotency key (I4).

Keys, per certificate:
    credit#{period}               the period's top-up, or the pro rata credit when funded mid-period
    expire#{period}               what was left of the period at its end
    hold#{contract}               the contract's reservation
    release#{contract}            what was still held when the contract ended
    charge#{contract}#{YYYY-MM}   the provider's charge for one month
    reversal#{contract}#{YYYY-MM} an upheld objection voids that charge (the charge entry stays)
    transfer_out#{to}#{period}    a merged duplicate's available money leaves it for certificate ``to``
    transfer_in#{from}#{period}   ... and arrives on the surviving certificate, in the same transaction

Conservation (I2), ``credited = available + held + spent + expired``, holds entry by entry: every kind moves its
amount between two fields of one side, or changes ``credited`` together with ``available``. A reversal takes the
amount back out of ``spent``: to ``available`` while its period is the certificate's running one, to ``expired`` when
that period's money has already expired. A merge transfer is a credit moved between certificates: ``credited`` and
``available`` fall on the duplicate and rise on the survivor by the same amount, so the region's total is unchanged.

The balances on the certificate are a cache of the ledger: ``replay`` recomputes them, and ``reconcile`` (in the
services) compares the two.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import count

from chalicelib.domain.certificate import Balance
from chalicelib.domain.ids import CertificateId, ContractId, PeriodId


class EntryKind(str, enum.Enum):
    CREDIT = "credit"  # зачисление номинала
    EXPIRE = "expire"  # сгорание остатка
    HOLD = "hold"  # резервирование по договору
    RELEASE = "release"  # снятие резерва
    CHARGE = "charge"  # списание за месяц
    REVERSAL = "reversal"  # сторно списания по удовлетворённой претензии: spent -> available
    REVERSAL_EXPIRED = "reversal_expired"  # сторно после конца периода: spent -> expired (the money has lapsed)
    TRANSFER_OUT = "transfer_out"  # перенос остатка с закрытого дубликата
    TRANSFER_IN = "transfer_in"  # зачисление остатка дубликата


def credit_key(period_id: str) -> str:
    return f"credit#{period_id}"


def expire_key(period_id: str) -> str:
    return f"expire#{period_id}"


def hold_key(contract_id: str) -> str:
    return f"hold#{contract_id}"


def release_key(contract_id: str) -> str:
    return f"release#{contract_id}"


def charge_key(contract_id: str, month: str) -> str:
    return f"charge#{contract_id}#{month}"


def reversal_key(contract_id: str, month: str) -> str:
    """One reversal per contract-month, whichever way the money goes back (a month is never charged twice)."""
    return f"reversal#{contract_id}#{month}"


def transfer_out_key(to_certificate: str, period_id: str) -> str:
    return f"transfer_out#{to_certificate}#{period_id}"


def transfer_in_key(from_certificate: str, period_id: str) -> str:
    return f"transfer_in#{from_certificate}#{period_id}"


def utc_stamp(now: datetime) -> str:
    """An instant as the service writes it everywhere: UTC ISO-8601 with microseconds, e.g. 2027-03-10T01:02:03.000004Z
    (sorts as it happened)."""
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_stamp(stamp: str) -> datetime:
    """The instant of a ``utc_stamp`` (or of a ledger entry's ``posted``, its sequence suffix dropped)."""
    return datetime.strptime(stamp.split("#", 1)[0], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


class Posting:
    """Sortable ``posted`` values for the entries of one transaction: the instant, then their order in it."""

    def __init__(self, now: datetime) -> None:
        self.stamp = utc_stamp(now)
        self._seq: Iterator[int] = count()

    def next(self) -> str:
        return f"{self.stamp}#{next(self._seq):03d}"


@dataclass(frozen=True)
class LedgerEntry:
    """One movement of a certificate's money; never updated, never deleted. ``actor`` is who moved it."""

    certificate_id: CertificateId
    entry_key: str
    kind: EntryKind
    period_id: PeriodId
    amount: int
    posted: str  # UTC ISO-8601 with microseconds and a sequence suffix: sorts in posting order
    contract_id: ContractId | None = None
    month: str | None = None
    reason: str | None = None
    actor: str | None = None

    @property
    def posted_at(self) -> str:
        """When it was posted, without the order inside its transaction."""
        return self.posted.split("#", 1)[0]


# How each kind moves the balance fields: (field, sign) pairs.
_EFFECTS: dict[EntryKind, tuple[tuple[str, int], ...]] = {
    EntryKind.CREDIT: (("credited", 1), ("available", 1)),
    EntryKind.EXPIRE: (("available", -1), ("expired", 1)),
    EntryKind.HOLD: (("available", -1), ("held", 1)),
    EntryKind.RELEASE: (("held", -1), ("available", 1)),
    EntryKind.CHARGE: (("held", -1), ("spent", 1)),
    EntryKind.REVERSAL: (("spent", -1), ("available", 1)),
    EntryKind.REVERSAL_EXPIRED: (("spent", -1), ("expired", 1)),
    EntryKind.TRANSFER_OUT: (("credited", -1), ("available", -1)),
    EntryKind.TRANSFER_IN: (("credited", 1), ("available", 1)),
}


def apply(balance: Balance, kind: EntryKind, amount: int) -> Balance:
    """The balance after one entry."""
    fields = {name: getattr(balance, name) for name in ("credited", "available", "held", "spent", "expired")}
    for name, sign in _EFFECTS[kind]:
        fields[name] += sign * amount
    return Balance(**fields)


def replay(entries: Iterable[LedgerEntry]) -> dict[str, Balance]:
    """Balances per period, recomputed from the entries alone (order within a period does not matter)."""
    balances: dict[str, Balance] = {}
    for entry in entries:
        balances[entry.period_id] = apply(balances.get(entry.period_id, Balance()), entry.kind, entry.amount)
    return balances
