"""The process-wide context of a function, built on first use (never at import time): the composition root that the
HTTP edge (functions/edge/), the views and the jobs (functions/jobs/) share."""

from __future__ import annotations

import threading

from aws_lambda_powertools import Logger

from chalicelib.platform.clock import SettableClock, SystemClock
from chalicelib.platform.config import get_settings
from chalicelib.services.context import Context

_lock = threading.Lock()
_context: list[Context] = []
_logger: list[Logger] = []


def context() -> Context:
    with _lock:
        if not _context:
            settings = get_settings()
            clock = SettableClock() if settings.is_local else SystemClock()
            _context.append(Context.for_stage(settings, clock))
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
