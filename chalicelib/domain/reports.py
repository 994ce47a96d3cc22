"""The operators' reports (отчёты оператора), pure: their rows, shares and totals, from the figures that
domain.counting keeps (how each change of the data counts) and storage/counters.py stores.

Coverage (охват) of a municipality, or of the region: children 5-18 with a certificate, with a funded one, with at
least one active contract, and their shares of the children population an operator set. Spending of a period by
provider, program, direction or month of service, less what upheld objections reversed, with what is disputed.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

from chalicelib.domain import errors

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


def share(count: int, whole: int | None) -> float | None:
    """``count / whole`` rounded to 4 places (a ratio, not money); ``None`` when there is no whole (a population
    not set, a quota of 0)."""
    if not whole:
        return None
    return float(round(Fraction(count, whole), SHARE_DIGITS))


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
    """Spending of a period under one provider, program, direction or month (``value``, shown as ``label``)."""

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
