"""The counting rules of the operators' reports, pure: what each change of the data adds to which figure.

The figures are counters kept up to date by a consumer of the tables' streams (services/streams.py): a report reads
a few counters and never the data itself. Where each figure is stored, and how contributions are packed into
exactly-once transactions, is storage's (storage/counters.py); how a report shows them is domain.reports.

The rules read the domain's own enums, each through a table that names every member: a ledger entry of a kind
(``ENTRY_COUNTS``), a certificate in a status (``LIVING``), a contract in a status (``IN_USE``), an objection in a
status (``DISPUTED``). A member added to an enum and forgotten here fails the tests (tests/unit/test_counting.py)
instead of silently counting as nothing.

Figures are those of the child's municipality (the certificate's): the budget that paid, whatever the program's
municipality. A month's spending is the month of service (the charged month), not the day it was charged.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

from chalicelib.domain.certificate import Certificate, CertificateStatus
from chalicelib.domain.contract import Contract, ContractStatus
from chalicelib.domain.ledger import EntryKind, LedgerEntry
from chalicelib.domain.objection import Objection, ObjectionStatus
from chalicelib.domain.reports import GroupBy

# --- the figures -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Totals:
    """A municipality's totals in a period: funded, credited, expired, charged, reversed, disputed, and the
    certificates with at least one active contract."""

    period_id: str
    municipality: str


@dataclass(frozen=True)
class Population:
    """The children 5-18 of a municipality in a period (set by an operator: the coverage shares' denominator)."""

    period_id: str
    municipality: str


@dataclass(frozen=True)
class Spending:
    """Spending of a municipality's certificates in a period under one provider, program, direction or month."""

    period_id: str
    group: GroupBy
    municipality: str
    value: str


@dataclass(frozen=True)
class Registry:
    """The living (not closed) certificates of a municipality, whatever the period."""

    municipality: str


@dataclass(frozen=True)
class ActiveContracts:
    """How many of a certificate's contracts of a period are active (it "uses its certificate" while above 0)."""

    certificate_id: str
    period_id: str


Figure = Totals | Population | Spending | Registry | ActiveContracts


# --- what each status and kind counts as -----------------------------------------------------------------------------


class EntryCount(enum.Enum):
    """What a ledger entry of a kind adds to the figures."""

    FUNDING = "funding"  # a funded certificate and its credited money
    CREDIT_IN = "credit_in"  # credited money arriving from a merged duplicate (no new funding)
    CREDIT_OUT = "credit_out"  # credited money leaving a merged duplicate
    EXPIRY = "expiry"  # money left at the rollover, and its certificate
    CHARGE = "charge"  # spending of a provider, program, direction and month of service
    REVERSAL = "reversal"  # spending voided by an upheld objection (the charge entry stays)
    NOTHING = "nothing"  # money moved inside the certificate (held, released): no figure changes


ENTRY_COUNTS: dict[EntryKind, EntryCount] = {
    EntryKind.CREDIT: EntryCount.FUNDING,
    EntryKind.TRANSFER_IN: EntryCount.CREDIT_IN,
    EntryKind.TRANSFER_OUT: EntryCount.CREDIT_OUT,
    EntryKind.EXPIRE: EntryCount.EXPIRY,
    EntryKind.CHARGE: EntryCount.CHARGE,
    EntryKind.REVERSAL: EntryCount.REVERSAL,
    EntryKind.REVERSAL_EXPIRED: EntryCount.REVERSAL,
    EntryKind.HOLD: EntryCount.NOTHING,
    EntryKind.RELEASE: EntryCount.NOTHING,
}

# A certificate counts among its municipality's certificates while it lives.
LIVING: dict[CertificateStatus, bool] = {
    CertificateStatus.ACCOUNTING: True,
    CertificateStatus.FUNDED: True,
    CertificateStatus.FROZEN: True,
    CertificateStatus.CLOSED: False,
}

# A contract in these statuses means its child uses the certificate.
IN_USE: dict[ContractStatus, bool] = {
    ContractStatus.REQUESTED: False,
    ContractStatus.ACTIVE: True,
    ContractStatus.DECLINED: False,
    ContractStatus.EXPIRED: False,
    ContractStatus.CANCELLED: False,
    ContractStatus.ENDED: False,
}

# A charge is disputed while its objection is in these statuses.
DISPUTED: dict[ObjectionStatus, bool] = {
    ObjectionStatus.OPEN: True,
    ObjectionStatus.UPHELD: False,
    ObjectionStatus.REJECTED: False,
}

COUNTED_ENTRIES = frozenset(kind for kind, counts in ENTRY_COUNTS.items() if counts is not EntryCount.NOTHING)
NEEDS_CONTRACT = frozenset(
    kind for kind, counts in ENTRY_COUNTS.items() if counts in (EntryCount.CHARGE, EntryCount.REVERSAL)
)


# --- the changes the consumer reads ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class EntryPosted:
    """A ledger entry was written (entries are immutable: each is posted once, under its natural key)."""

    entry: LedgerEntry

    @property
    def marker(self) -> str:
        return f"ledger#{self.entry.certificate_id}#{self.entry.entry_key}"

    @property
    def counted(self) -> bool:
        return ENTRY_COUNTS[self.entry.kind] is not EntryCount.NOTHING

    @property
    def needs_contract(self) -> bool:
        return self.entry.kind in NEEDS_CONTRACT


@dataclass(frozen=True)
class CertificateChanged:
    """A certificate item was written (or removed); ``change`` names this one write (table, key, stream position)."""

    change: str
    before: Certificate | None
    after: Certificate | None

    @property
    def marker(self) -> str:
        return f"certificates#{self.change}"


@dataclass(frozen=True)
class ContractChanged:
    """A contract item was written; only entering or leaving the contracts in use matters to the reports."""

    change: str
    before: Contract | None
    after: Contract | None

    @property
    def contract(self) -> Contract:
        found = self.after or self.before
        if found is None:
            raise ValueError("a contract change has an image")
        return found

    @property
    def marker(self) -> str:
        return f"contracts#{self.change}"

    @property
    def delta(self) -> int:
        return int(_in_use(self.after)) - int(_in_use(self.before))


def _in_use(contract: Contract | None) -> bool:
    return contract is not None and IN_USE[contract.status]


@dataclass(frozen=True)
class DisputeChanged:
    """An objection item was written: a charge comes under objection (it enters a disputed status) or its objection
    is decided (it leaves one); an upheld one also posts a reversal entry, counted from the ledger. The marker is the
    objection and the direction of the change, so each happens once whatever delivers it."""

    before: Objection | None
    after: Objection | None

    @property
    def objection(self) -> Objection:
        found = self.after or self.before
        if found is None:
            raise ValueError("an objection change has an image")
        return found

    @property
    def opened(self) -> bool:
        return self.after is not None and DISPUTED[self.after.status]

    @property
    def moves(self) -> bool:
        was = self.before is not None and DISPUTED[self.before.status]
        return was != self.opened

    @property
    def marker(self) -> str:
        return f"dispute#{self.objection.objection_id}#{'opened' if self.opened else 'closed'}"


Change = EntryPosted | CertificateChanged | ContractChanged | DisputeChanged


class MissingDimension(RuntimeError):
    """A change names a certificate or contract that cannot be read: the batch fails and is delivered again."""


@dataclass(frozen=True)
class ChargeDimensions:
    """What a charge is reported under (from its contract and its program)."""

    provider_id: str
    provider_name: str
    program_id: str
    program_title: str
    direction: str


@dataclass(frozen=True)
class Dimensions:
    """What the changes of one batch need to know besides themselves: each certificate's municipality (the child's)
    and each charged contract's provider, program and direction."""

    municipalities: Mapping[str, str]
    contracts: Mapping[str, ChargeDimensions]

    def municipality(self, certificate_id: str) -> str:
        try:
            return self.municipalities[certificate_id]
        except KeyError:
            raise MissingDimension(f"certificate {certificate_id} is not in the registry") from None

    def contract(self, contract_id: str | None) -> ChargeDimensions:
        try:
            return self.contracts[contract_id or ""]
        except KeyError:
            raise MissingDimension(f"contract {contract_id} (or its program) is missing") from None


# --- what a change adds ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActiveMove:
    """A contract entered (+1) or left (-1) the contracts in use: the certificate's count moves, and the
    municipality's "with an active contract" moves only when that count crosses zero."""

    counter: ActiveContracts
    delta: int
    totals: Totals


@dataclass
class Contribution:
    """What one change adds, with the marker that makes it count once."""

    marker: str
    counters: dict[Figure, Counter[str]] = field(default_factory=dict)
    labels: dict[Figure, dict[str, str]] = field(default_factory=dict)
    active: ActiveMove | None = None

    def add(self, figure: Figure, **amounts: int) -> None:
        self.counters.setdefault(figure, Counter()).update(amounts)

    def label(self, figure: Figure, **labels: str) -> None:
        self.labels.setdefault(figure, {}).update(labels)


def contribution(change: Change, dimensions: Dimensions) -> Contribution | None:
    """What ``change`` adds to the figures; ``None`` when it adds nothing (then no marker is needed either)."""
    if isinstance(change, EntryPosted):
        return _entry(change, dimensions) if change.counted else None
    if isinstance(change, CertificateChanged):
        return _certificate(change)
    if isinstance(change, ContractChanged):
        if change.delta == 0:
            return None
        contract = change.contract
        municipality = dimensions.municipality(contract.certificate_id)
        move = ActiveMove(
            ActiveContracts(contract.certificate_id, contract.period_id),
            change.delta,
            Totals(contract.period_id, municipality),
        )
        return Contribution(change.marker, active=move)
    return _dispute(change, dimensions) if change.moves else None


def _entry(posted: EntryPosted, dimensions: Dimensions) -> Contribution:
    found = Contribution(posted.marker)
    entry = posted.entry
    municipality = dimensions.municipality(entry.certificate_id)
    totals = Totals(entry.period_id, municipality)
    counts = ENTRY_COUNTS[entry.kind]
    if counts is EntryCount.FUNDING:
        found.add(totals, funded=1, credited_kopecks=entry.amount)
    elif counts is EntryCount.EXPIRY:
        found.add(totals, expired_certificates=1, expired_kopecks=entry.amount)
    elif counts is EntryCount.CREDIT_IN:
        found.add(totals, credited_kopecks=entry.amount)
    elif counts is EntryCount.CREDIT_OUT:
        found.add(totals, credited_kopecks=-entry.amount)
    elif counts is EntryCount.CHARGE:
        _spending(found, municipality, entry, dimensions, charges=1, charged_kopecks=entry.amount)
    elif counts is EntryCount.REVERSAL:
        _spending(found, municipality, entry, dimensions, reversals=1, reversed_kopecks=entry.amount)
    else:  # pragma: no cover - NOTHING is not counted (posted.counted)
        raise AssertionError(f"{entry.kind} counts nothing")
    return found


def _spending(
    found: Contribution,
    municipality: str,
    charged: LedgerEntry | Objection,
    dimensions: Dimensions,
    **amounts: int,
) -> None:
    """The amounts on the municipality's totals and on each of the four breakdowns of the period's spending, for a
    charge (or its reversal, or its objection) of a contract-month."""
    month, period_id = charged.month, charged.period_id
    if not month:
        raise MissingDimension(f"{found.marker} has no month")
    contract = dimensions.contract(charged.contract_id)
    found.add(Totals(period_id, municipality), **amounts)
    for group, value, label in (
        (GroupBy.PROVIDER, contract.provider_id, contract.provider_name),
        (GroupBy.PROGRAM, contract.program_id, contract.program_title),
        (GroupBy.DIRECTION, contract.direction, contract.direction),
        (GroupBy.MONTH, month, month),
    ):
        figure = Spending(period_id, group, municipality, value)
        found.add(figure, **amounts)
        found.label(figure, label=label)


def _living(certificate: Certificate | None) -> str | None:
    """The municipality a certificate counts in, or None if it does not count (closed, or no certificate)."""
    return certificate.municipality if certificate is not None and LIVING[certificate.status] else None


def _certificate(change: CertificateChanged) -> Contribution | None:
    found = Contribution(change.marker)
    before, after = _living(change.before), _living(change.after)
    if before is not None:
        found.add(Registry(before), certificates=-1)
    if after is not None:
        found.add(Registry(after), certificates=1)
    found.counters = {f: c for f, c in found.counters.items() if any(c.values())}
    return found if found.counters else None


def _dispute(change: DisputeChanged, dimensions: Dimensions) -> Contribution:
    found = Contribution(change.marker)
    sign = 1 if change.opened else -1
    objection = change.objection
    municipality = dimensions.municipality(objection.certificate_id)
    _spending(found, municipality, objection, dimensions, disputes=sign, disputed_kopecks=sign * objection.amount)
    return found
