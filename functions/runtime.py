"""The process-wide context of a function, built on first use (never at import time)."""

from __future__ import annotations

import threading
from typing import Any

from aws_lambda_powertools import Logger

from chalicelib.clock import SettableClock, SystemClock
from chalicelib.config import get_settings
from chalicelib.services.context import Context
from chalicelib.storage.models import bind_tables

_lock = threading.Lock()
_context: list[Context] = []
_logger: list[Logger] = []


def context() -> Context:
    with _lock:
        if not _context:
            settings = get_settings()
            bind_tables(settings.table_prefix)
            clock = SettableClock() if settings.is_local else SystemClock()
            _context.append(Context.create(settings, clock))
        return _context[0]


def reset() -> None:
    """Forgets the context (tests that change the environment)."""
    with _lock:
        _context.clear()
    get_settings.cache_clear()


def logger() -> Logger:
    """Structured JSON logs (Powertools): one object per line, read directly by CloudWatch Logs Insights."""
    with _lock:
        if not _logger:
            _logger.append(Logger(service="pfdo-functions"))
        return _logger[0]


# Without a Lambda context (tests, a console run), a job works this long.
DEFAULT_BUDGET_SECONDS = 600.0


def budget(context: Any, safety_margin_seconds: float) -> float:
    """Seconds a job may work: what Lambda leaves it, less the margin to checkpoint and answer before it is stopped."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if remaining is None:
        return DEFAULT_BUDGET_SECONDS
    return max(1.0, remaining() / 1000 - safety_margin_seconds)
