"""Where the reports' figures live in the aggregates table, and how contributions are packed into exactly-once
transactions. What a change adds to which figure is domain.counting; reading and writing the items is
storage.aggregates.

Layout (partition ``scope``, sort ``key``):

    {period}  m#{municipality}#totals             funded, credited, expired, charged, reversed, disputed, and the
                                                  certificates with at least one active contract, for the period
    {period}  m#{municipality}#population         the children 5-18 of the municipality (set by an operator)
    {period}  s#{group}#{municipality}#{value}    spending of the municipality's certificates by provider, program,
                                                  direction or month of service
    ~registry m#{municipality}                    living (not closed) certificates, whatever the period
    ~certificate#{id} active#{period}             how many of the certificate's contracts of the period are active
    ~applied#{change} applied                     the marker that says a change was counted (exactly once)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from chalicelib.domain.counting import (
    ActiveContracts,
    Contribution,
    Figure,
    Population,
    Registry,
    Spending,
    Totals,
)
from chalicelib.domain.reports import GroupBy

REGISTRY = "~registry"


@dataclass(frozen=True, order=True)
class Address:
    """One aggregate item."""

    scope: str
    key: str


def address_of(figure: Figure) -> Address:
    """Where ``figure`` is kept."""
    if isinstance(figure, Totals):
        return Address(figure.period_id, f"m#{figure.municipality}#totals")
    if isinstance(figure, Population):
        return Address(figure.period_id, f"m#{figure.municipality}#population")
    if isinstance(figure, Spending):
        return Address(figure.period_id, f"s#{figure.group.value}#{figure.municipality}#{figure.value}")
    if isinstance(figure, Registry):
        return Address(REGISTRY, f"m#{figure.municipality}")
    return Address(f"~certificate#{figure.certificate_id}", f"active#{figure.period_id}")


def marker_address(marker: str) -> Address:
    return Address(f"~applied#{marker}", "applied")


def spending_prefix(group: GroupBy, municipality: str | None) -> str:
    """The sort-key prefix of one municipality's spending items (or the whole region's, ``None``)."""
    return f"s#{group.value}#" + (f"{municipality}#" if municipality else "")


def parse_municipal_key(key: str) -> tuple[str, str] | None:
    """``m#{municipality}#{what}`` -> (municipality, what)."""
    parts = key.split("#")
    return (parts[1], parts[2]) if len(parts) == 3 and parts[0] == "m" else None


def parse_spending_key(key: str) -> tuple[str, str] | None:
    """``s#{group}#{municipality}#{value}`` -> (municipality, value)."""
    parts = key.split("#", 3)
    return (parts[2], parts[3]) if len(parts) == 4 and parts[0] == "s" else None


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
    counters: dict[Figure, Counter[str]] = field(default_factory=dict)
    labels: dict[Figure, dict[str, str]] = field(default_factory=dict)
    guards: dict[ActiveContracts, Guard] = field(default_factory=dict)

    @property
    def markers(self) -> list[str]:
        return [c.marker for c in self.contributions]

    @property
    def items(self) -> int:
        return len(self.contributions) + len(self.counters) + len(self.guards)

    def items_with(self, figures: Iterable[Figure]) -> int:
        return self.items + 1 + len(set(figures) - self.counters.keys() - self.guards.keys())


def cluster(contributions: Sequence[Contribution]) -> list[Contribution]:
    """The same contributions, those that share counters next to each other, so each transaction carries more
    markers and fewer counter items (charges of one municipality and program together). Counters only add, so
    their order does not matter; moves of active contracts keep theirs (a certificate's count is guarded step by
    step), ahead of the rest."""
    moves = [c for c in contributions if c.active is not None]
    others = [c for c in contributions if c.active is None]
    return moves + sorted(others, key=lambda c: sorted((address_of(f) for f in c.counters), reverse=True))


def plan(
    contributions: Sequence[Contribution], active_counts: Mapping[ActiveContracts, int], max_items: int = 100
) -> list[Group]:
    """Packs contributions, in order, into groups of at most ``max_items`` items (one transaction each).

    A contract entering or leaving the contracts in use moves its certificate's count from what was read
    (``active_counts``) and the municipality's "with an active contract" only when the count crosses zero; the
    count is written under a condition on the value it was read with, so two consumers cannot both cross.
    """
    groups: list[Group] = []
    current = Group()
    counts = dict(active_counts)
    for item in contributions:
        counters: dict[Figure, Counter[str]] = {figure: Counter(amounts) for figure, amounts in item.counters.items()}
        move: tuple[ActiveContracts, int, int] | None = None  # the guarded count: which, before, after
        if item.active is not None:
            before = counts.get(item.active.counter, 0)
            move = (item.active.counter, before, before + item.active.delta)
            counts[item.active.counter] = move[2]
            crossed = int(move[2] > 0) - int(before > 0)
            if crossed:
                counters.setdefault(item.active.totals, Counter()).update(with_active_contract=crossed)
        touched: list[Figure] = [*counters, *([move[0]] if move else [])]
        if current.contributions and current.items_with(touched) > max_items:
            groups.append(current)
            current = Group()
        current.contributions.append(item)
        for figure, amounts in counters.items():
            current.counters.setdefault(figure, Counter()).update(amounts)
        for figure, labels in item.labels.items():
            current.labels.setdefault(figure, {}).update(labels)
        if move is not None:
            counter, before, after = move
            earlier = current.guards.get(counter)
            current.guards[counter] = Guard(earlier.expected if earlier else before, after)
    if current.contributions:
        groups.append(current)
    for group in groups:
        # Amounts that cancel out inside a group are not written (an item with nothing to add is left alone).
        group.counters = {
            figure: Counter({name: n for name, n in amounts.items() if n})
            for figure, amounts in group.counters.items()
            if any(amounts.values()) or figure in group.labels
        }
    return groups
