"""The operators' reports (отчёты оператора), pure: what each change of the data adds to which figure, how changes
are packed into exactly-once transactions, and the reports' shares, rows and CSV text.

The figures are counters kept up to date by a consumer of the tables' streams (services/streams.py); a report reads
a few counter items and never the data itself. Where each counter lives (``Address``: partition ``scope``, sort
``key``):

    {period}  m#{municipality}#totals             funded, credited, expired, charged, reversed, disputed, and the
                                                  certificates with at least one active contract, for the period
    {period}  m#{municipality}#population         the children 5-18 of the municipality (set by an operator)
    {period}  s#{group}#{municipality}#{value}    spending of the municipality's certificates by provider, program,
                                                  direction or month of service
    ~registry m#{municipality}                    living (not closed) certificates, whatever the period
    ~certificate#{id} active#{period}             how many of the certificate's contracts of the period are active
    ~applied#{change} applied                     the marker that says a change was counted (exactly once)

Figures are those of the child's municipality (the certificate's): the budget that paid, whatever the program's
municipality. A month's spending is the month of service (the charged month), not the day it was charged.
"""

from __future__ import annotations

import csv
import enum
import io
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

from chalicelib.domain import errors

REGISTRY = "~registry"
# The kinds of ledger entry the reports count (domain.ledger.EntryKind values), by what they do to the figures.
CREDIT = "credit"
EXPIRE = "expire"
CHARGE = "charge"
# An upheld objection voids a charge: spending falls by its amount (the charge entry stays on the ledger).
REVERSALS = frozenset({"reversal", "reversal_expired"})
# A merged duplicate's money moves to the surviving certificate: credited falls on one side and rises on the other.
TRANSFER_IN = "transfer_in"
TRANSFER_OUT = "transfer_out"
CLOSED = "closed"  # a closed certificate no longer counts among the municipality's certificates
ACTIVE = "active"  # the contract status that counts as "using the certificate"
OPEN_OBJECTION = "open"  # a charge is disputed while its objection is open
SHARE_DIGITS = 4


class GroupBy(str, enum.Enum):
    """How spending is broken down."""

    PROVIDER = "provider"
    PROGRAM = "program"
    DIRECTION = "direction"
    MONTH = "month"

    @classmethod
    def parse(cls, text: str | None) -> GroupBy:
        try:
            return cls(text or "")
        except ValueError:
            raise errors.InvalidRequest(f"group_by must be one of {', '.join(g.value for g in cls)}") from None


# --- where the figures live ------------------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Address:
    """One aggregate item."""

    scope: str
    key: str


def totals_address(period_id: str, municipality: str) -> Address:
    return Address(period_id, f"m#{municipality}#totals")


def population_address(period_id: str, municipality: str) -> Address:
    return Address(period_id, f"m#{municipality}#population")


def registry_address(municipality: str) -> Address:
    return Address(REGISTRY, f"m#{municipality}")


def spending_address(period_id: str, group: GroupBy, municipality: str, value: str) -> Address:
    return Address(period_id, f"s#{group.value}#{municipality}#{value}")


def spending_prefix(group: GroupBy, municipality: str | None) -> str:
    """The sort-key prefix of one municipality's spending items (or the whole region's, ``None``)."""
    return f"s#{group.value}#" + (f"{municipality}#" if municipality else "")


def active_address(certificate_id: str, period_id: str) -> Address:
    return Address(f"~certificate#{certificate_id}", f"active#{period_id}")


def marker_address(marker: str) -> Address:
    return Address(f"~applied#{marker}", "applied")


def parse_municipal_key(key: str) -> tuple[str, str] | None:
    """``m#{municipality}#{what}`` -> (municipality, what)."""
    parts = key.split("#")
    return (parts[1], parts[2]) if len(parts) == 3 and parts[0] == "m" else None


def parse_spending_key(key: str) -> tuple[str, str] | None:
    """``s#{group}#{municipality}#{value}`` -> (municipality, value)."""
    parts = key.split("#", 3)
    return (parts[2], parts[3]) if len(parts) == 4 and parts[0] == "s" else None


# --- the changes the consumer reads ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerPosted:
    """A ledger entry was written (entries are immutable: each is posted once, under its natural key)."""

    certificate_id: str
    entry_key: str
    kind: str
    period_id: str
    amount: int
    contract_id: str | None = None
    month: str | None = None

    @property
    def marker(self) -> str:
        return f"ledger#{self.certificate_id}#{self.entry_key}"

    @property
    def counted(self) -> bool:
        return self.kind in (CREDIT, EXPIRE, CHARGE, TRANSFER_IN, TRANSFER_OUT) or self.kind in REVERSALS

    @property
    def needs_contract(self) -> bool:
        return self.kind == CHARGE or self.kind in REVERSALS


@dataclass(frozen=True)
class CertificateState:
    municipality: str
    status: str

    @property
    def counted(self) -> bool:
        return self.status != CLOSED


@dataclass(frozen=True)
class CertificateChanged:
    """A certificate item was written; ``change`` names this one write (table, key and stream position)."""

    change: str
    certificate_id: str
    before: CertificateState | None
    after: CertificateState | None

    @property
    def marker(self) -> str:
        return f"certificates#{self.change}"


@dataclass(frozen=True)
class ContractChanged:
    """A contract item was written; only entering or leaving ``active`` matters to the reports."""

    change: str
    contract_id: str
    certificate_id: str
    period_id: str
    was_active: bool
    is_active: bool

    @property
    def marker(self) -> str:
        return f"contracts#{self.change}"

    @property
    def delta(self) -> int:
        return int(self.is_active) - int(self.was_active)


@dataclass(frozen=True)
class DisputeChanged:
    """A charge came under objection (``opened``) or its objection was decided (``opened=False``).

    Fed by the objections table's stream: an objection item entering status ``open`` opens a dispute, leaving it
    (upheld or rejected) closes it; an upheld one also posts a reversal entry, counted from the ledger. The marker is
    the objection and the direction of the change, so each happens once whatever delivers it.
    """

    objection_id: str
    contract_id: str
    certificate_id: str
    period_id: str
    month: str
    amount: int
    opened: bool

    @property
    def marker(self) -> str:
        return f"dispute#{self.objection_id}#{'opened' if self.opened else 'closed'}"


Change = LedgerPosted | CertificateChanged | ContractChanged | DisputeChanged


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


class MissingDimension(RuntimeError):
    """A change names a certificate or contract that cannot be read: the batch fails and is delivered again."""


# --- what a change adds ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActiveMove:
    """A contract entered (+1) or left (-1) the active set: the certificate's count moves, and the municipality's
    "with an active contract" moves only when that count crosses zero."""

    counter: Address
    delta: int
    totals: Address


@dataclass
class Contribution:
    """What one change adds, with the marker that makes it count once."""

    marker: str
    counters: dict[Address, Counter[str]] = field(default_factory=dict)
    labels: dict[Address, dict[str, str]] = field(default_factory=dict)
    active: ActiveMove | None = None

    def add(self, address: Address, **amounts: int) -> None:
        self.counters.setdefault(address, Counter()).update(amounts)

    def label(self, address: Address, **labels: str) -> None:
        self.labels.setdefault(address, {}).update(labels)


def contribution(change: Change, dimensions: Dimensions) -> Contribution | None:
    """What ``change`` adds to the figures; ``None`` when it adds nothing (then no marker is needed either)."""
    if isinstance(change, LedgerPosted):
        return _ledger(change, dimensions) if change.counted else None
    if isinstance(change, CertificateChanged):
        return _certificate(change)
    if isinstance(change, ContractChanged):
        if change.delta == 0:
            return None
        municipality = dimensions.municipality(change.certificate_id)
        move = ActiveMove(
            active_address(change.certificate_id, change.period_id),
            change.delta,
            totals_address(change.period_id, municipality),
        )
        return Contribution(change.marker, active=move)
    return _dispute(change, dimensions)


def _ledger(entry: LedgerPosted, dimensions: Dimensions) -> Contribution:
    found = Contribution(entry.marker)
    municipality = dimensions.municipality(entry.certificate_id)
    totals = totals_address(entry.period_id, municipality)
    if entry.kind == CREDIT:
        found.add(totals, funded=1, credited_kopecks=entry.amount)
    elif entry.kind == EXPIRE:
        found.add(totals, expired_certificates=1, expired_kopecks=entry.amount)
    elif entry.kind == TRANSFER_IN:
        found.add(totals, credited_kopecks=entry.amount)
    elif entry.kind == TRANSFER_OUT:
        found.add(totals, credited_kopecks=-entry.amount)
    elif entry.kind == CHARGE:
        _spending(found, municipality, entry, dimensions, charges=1, charged_kopecks=entry.amount)
    else:  # a reversal
        _spending(found, municipality, entry, dimensions, reversals=1, reversed_kopecks=entry.amount)
    return found


def _spending(
    found: Contribution,
    municipality: str,
    entry: LedgerPosted | DisputeChanged,
    dimensions: Dimensions,
    **amounts: int,
) -> None:
    """The amounts on the municipality's totals and on each of the four breakdowns of the period's spending."""
    if not entry.month:
        raise MissingDimension(f"{found.marker} has no month")
    contract = dimensions.contract(entry.contract_id)
    period_id = entry.period_id
    found.add(totals_address(period_id, municipality), **amounts)
    for group, value, label in (
        (GroupBy.PROVIDER, contract.provider_id, contract.provider_name),
        (GroupBy.PROGRAM, contract.program_id, contract.program_title),
        (GroupBy.DIRECTION, contract.direction, contract.direction),
        (GroupBy.MONTH, entry.month, entry.month),
    ):
        address = spending_address(period_id, group, municipality, value)
        found.add(address, **amounts)
        found.label(address, label=label)


def _certificate(change: CertificateChanged) -> Contribution | None:
    found = Contribution(change.marker)
    if change.before is not None and change.before.counted:
        found.add(registry_address(change.before.municipality), certificates=-1)
    if change.after is not None and change.after.counted:
        found.add(registry_address(change.after.municipality), certificates=1)
    found.counters = {a: c for a, c in found.counters.items() if any(c.values())}
    return found if found.counters else None


def _dispute(change: DisputeChanged, dimensions: Dimensions) -> Contribution:
    found = Contribution(change.marker)
    sign = 1 if change.opened else -1
    municipality = dimensions.municipality(change.certificate_id)
    _spending(found, municipality, change, dimensions, disputes=sign, disputed_kopecks=sign * change.amount)
    return found


# --- packing contributions into transactions -------------------------------------------------------------------------


@dataclass(frozen=True)
class Guard:
    """A certificate's active-contract count, moved from ``expected`` (as read) to ``value`` only if unchanged."""

    expected: int
    value: int


@dataclass
class Group:
    """Contributions written by one transaction: their markers (each put only if new), the counters they add up to,
    and the guarded counts of active contracts."""

    contributions: list[Contribution] = field(default_factory=list)
    counters: dict[Address, Counter[str]] = field(default_factory=dict)
    labels: dict[Address, dict[str, str]] = field(default_factory=dict)
    guards: dict[Address, Guard] = field(default_factory=dict)

    @property
    def markers(self) -> list[str]:
        return [c.marker for c in self.contributions]

    @property
    def items(self) -> int:
        return len(self.contributions) + len(self.counters) + len(self.guards)

    def items_with(self, addresses: Iterable[Address]) -> int:
        return self.items + 1 + len(set(addresses) - self.counters.keys() - self.guards.keys())


def cluster(contributions: Sequence[Contribution]) -> list[Contribution]:
    """The same contributions, those that share counters next to each other, so each transaction carries more
    markers and fewer counter items (charges of one municipality and program together). Counters only add, so
    their order does not matter; moves of active contracts keep theirs (a certificate's count is guarded step by
    step), ahead of the rest."""
    moves = [c for c in contributions if c.active is not None]
    others = [c for c in contributions if c.active is None]
    return moves + sorted(others, key=lambda c: sorted(c.counters, reverse=True))


def plan(
    contributions: Sequence[Contribution], active_counts: Mapping[Address, int], max_items: int = 100
) -> list[Group]:
    """Packs contributions, in order, into groups of at most ``max_items`` items (one transaction each).

    A contract entering or leaving the active set moves its certificate's count from what was read
    (``active_counts``) and the municipality's "with an active contract" only when the count crosses zero; the
    count is written under a condition on the value it was read with, so two consumers cannot both cross.
    """
    groups: list[Group] = []
    current = Group()
    counts = dict(active_counts)
    for item in contributions:
        counters = {address: Counter(amounts) for address, amounts in item.counters.items()}
        move: tuple[Address, int, int] | None = None  # the guarded count: where, before, after
        if item.active is not None:
            before = counts.get(item.active.counter, 0)
            move = (item.active.counter, before, before + item.active.delta)
            counts[item.active.counter] = move[2]
            crossed = int(move[2] > 0) - int(before > 0)
            if crossed:
                counters.setdefault(item.active.totals, Counter()).update(with_active_contract=crossed)
        touched = [*counters, *([move[0]] if move else [])]
        if current.contributions and current.items_with(touched) > max_items:
            groups.append(current)
            current = Group()
        current.contributions.append(item)
        for address, amounts in counters.items():
            current.counters.setdefault(address, Counter()).update(amounts)
        for address, labels in item.labels.items():
            current.labels.setdefault(address, {}).update(labels)
        if move is not None:
            address, before, after = move
            earlier = current.guards.get(address)
            current.guards[address] = Guard(earlier.expected if earlier else before, after)
    if current.contributions:
        groups.append(current)
    for group in groups:
        # Amounts that cancel out inside a group are not written (an item with nothing to add is left alone).
        group.counters = {
            address: Counter({name: n for name, n in amounts.items() if n})
            for address, amounts in group.counters.items()
            if any(amounts.values()) or address in group.labels
        }
    return groups


# --- the reports -----------------------------------------------------------------------------------------------------


def share(count: int, population: int | None) -> float | None:
    """``count / population`` rounded to 4 places (a ratio, not money); ``None`` when the population is not set."""
    if not population:
        return None
    return float(round(Fraction(count, population), SHARE_DIGITS))


@dataclass(frozen=True)
class CoverageRow:
    """One municipality's coverage (охват) in a period, or the region's total (``municipality="*"``)."""

    municipality: str
    children_population: int | None
    certificates: int
    funded: int
    with_active_contract: int

    @property
    def shares(self) -> dict[str, float | None]:
        return {
            "certificates": share(self.certificates, self.children_population),
            "funded": share(self.funded, self.children_population),
            "with_active_contract": share(self.with_active_contract, self.children_population),
        }

    def as_json(self) -> dict[str, object]:
        return {
            "municipality": self.municipality,
            "children_population": self.children_population,
            "certificates": self.certificates,
            "funded": self.funded,
            "with_active_contract": self.with_active_contract,
            "shares": self.shares,
        }


def region_row(rows: Sequence[CoverageRow], region: str) -> CoverageRow:
    """The region's total; its population is the sum of the municipalities that set one (``None`` if none did)."""
    populations = [r.children_population for r in rows if r.children_population is not None]
    return CoverageRow(
        municipality=region,
        children_population=sum(populations) if populations else None,
        certificates=sum(r.certificates for r in rows),
        funded=sum(r.funded for r in rows),
        with_active_contract=sum(r.with_active_contract for r in rows),
    )


@dataclass(frozen=True)
class SpendingRow:
    """Spending of a period under one provider, program, direction or month."""

    value: str
    label: str
    charges: int
    charged_kopecks: int
    reversals: int
    reversed_kopecks: int
    disputes: int
    disputed_kopecks: int

    @property
    def spent_kopecks(self) -> int:
        """What stays spent: charged, less what upheld objections reversed."""
        return self.charged_kopecks - self.reversed_kopecks

    def as_json(self) -> dict[str, object]:
        return {
            "key": self.value,
            "label": self.label,
            "charges": self.charges,
            "charged_kopecks": self.charged_kopecks,
            "reversals": self.reversals,
            "reversed_kopecks": self.reversed_kopecks,
            "spent_kopecks": self.spent_kopecks,
            "disputes": self.disputes,
            "disputed_kopecks": self.disputed_kopecks,
        }


SPENDING_COUNTERS = ("charges", "charged_kopecks", "reversals", "reversed_kopecks", "disputes", "disputed_kopecks")


def merge_spending(items: Iterable[tuple[str, str, Mapping[str, int]]]) -> list[SpendingRow]:
    """Rows from (value, label, counters) of one or many municipalities, one row per value, largest spending first
    (then by key, so the order is stable)."""
    totals: dict[str, Counter[str]] = {}
    labels: dict[str, str] = {}
    for value, label, counters in items:
        totals.setdefault(value, Counter()).update({name: int(counters.get(name, 0)) for name in SPENDING_COUNTERS})
        labels[value] = label or labels.get(value, value)
    rows = [SpendingRow(value, labels[value], **{n: totals[value][n] for n in SPENDING_COUNTERS}) for value in totals]
    return sorted(rows, key=lambda r: (-r.spent_kopecks, r.value))


def spending_total(rows: Sequence[SpendingRow]) -> SpendingRow:
    return SpendingRow("*", "total", **{name: sum(getattr(r, name) for r in rows) for name in SPENDING_COUNTERS})


def roubles(kopecks: int) -> str:
    """Kopecks as roubles for people, e.g. ``-1234567`` -> ``"-12345.67"`` (exact: integer arithmetic)."""
    sign = "-" if kopecks < 0 else ""
    whole, part = divmod(abs(kopecks), 100)
    return f"{sign}{whole}.{part:02d}"


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """UTF-8 CSV text (RFC 4180 line ends) with a header row; ``None`` is an empty cell."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(["" if cell is None else cell for cell in row] for row in rows)
    return out.getvalue()


def coverage_csv(rows: Sequence[CoverageRow]) -> str:
    """UTF-8 CSV text (RFC 4180 line ends) with a header row: one line per municipality (and the region's total)."""
    header = [
        "municipality",
        "children_population",
        "certificates",
        "funded",
        "with_active_contract",
        "share_certificates",
        "share_funded",
        "share_with_active_contract",
    ]
    lines = []
    for row in rows:
        shares = row.shares
        lines.append(
            [
                row.municipality,
                row.children_population,
                row.certificates,
                row.funded,
                row.with_active_contract,
                *(None if shares[name] is None else f"{shares[name]:.{SHARE_DIGITS}f}" for name in shares),
            ]
        )
    return csv_text(header, lines)


def spending_csv(group: GroupBy, rows: Sequence[SpendingRow]) -> str:
    """UTF-8 CSV text with a header row: amounts in kopecks as integers, and what stays spent in roubles as text."""
    header = [
        group.value,
        "label",
        "charges",
        "charged_kopecks",
        "reversals",
        "reversed_kopecks",
        "spent_kopecks",
        "spent_roubles",
        "disputes",
        "disputed_kopecks",
    ]
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
    return csv_text(header, lines)
