"""How long a job may work before it checkpoints and answers."""

from __future__ import annotations

from typing import Any

# Without a Lambda context (tests, a console run), a job works this long.
DEFAULT_BUDGET_SECONDS = 600.0


def seconds_to_work(context: Any, safety_margin_seconds: float) -> float:
    """Seconds a job may work: what Lambda leaves it, less the margin to checkpoint and answer before it is stopped."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if remaining is None:
        return DEFAULT_BUDGET_SECONDS
    return max(1.0, remaining() / 1000 - safety_margin_seconds)
