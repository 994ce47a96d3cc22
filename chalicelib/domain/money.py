"""Money: integer kopecks everywhere. No floats, no Decimal in JSON."""

from __future__ import annotations

from typing import NewType

Kopecks = NewType("Kopecks", int)

KOPECKS_PER_RUBLE = 100
# A sane upper bound for any single amount (10 million rubles): rejects typos and overflow games at the edge.
MAX_AMOUNT_KOPECKS = 10_000_000 * KOPECKS_PER_RUBLE


def kopecks(value: int) -> Kopecks:
    """Checks that ``value`` is a non-negative whole number of kopecks."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"money must be an int number of kopecks, got {type(value).__name__}")
    if value < 0:
        raise ValueError("money cannot be negative")
    return Kopecks(value)


def prorate(amount: int, numerator: int, denominator: int) -> Kopecks:
    """``amount * numerator / denominator`` rounded down to the kopeck: pro rata never pays more than the whole."""
    if denominator <= 0 or not 0 <= numerator <= denominator:
        raise ValueError("pro rata needs 0 <= numerator <= denominator and denominator > 0")
    return Kopecks(amount * numerator // denominator)


def roubles(kopecks: int) -> str:
    """Kopecks as roubles for people, e.g. ``-123456`` -> ``"-1234.56"`` (exact: integer arithmetic, no float)."""
    sign = "-" if kopecks < 0 else ""
    whole, part = divmod(abs(kopecks), 100)
    return f"{sign}{whole}.{part:02d}"
