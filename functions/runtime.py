"""The process-wide context of a function, built on first use (never at import time)."""

from __future__ import annotations

import json
import logging
import sys
import threading

from chalicelib.clock import SettableClock, SystemClock
from chalicelib.config import get_settings
from chalicelib.services.context import Context
from chalicelib.storage.models import bind_tables

_lock = threading.Lock()
_context: list[Context] = []


def context() -> Context:
    with _lock:
        if not _context:
            settings = get_settings()
            bind_tables(settings.table_prefix)
            clock = SettableClock() if settings.is_local else SystemClock()
            _context.append(Context.create(settings, clock))
            _configure_logging()
        return _context[0]


def reset() -> None:
    """Forgets the context (tests that change the environment)."""
    with _lock:
        _context.clear()
    get_settings.cache_clear()


class JsonLines(logging.Formatter):
    """One JSON object per line: CloudWatch Logs Insights reads the fields directly."""

    def format(self, record: logging.LogRecord) -> str:
        line = {"level": record.levelname, "logger": record.name, "message": record.getMessage()}
        line.update(getattr(record, "fields", {}))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def _configure_logging() -> None:
    logger = logging.getLogger("pfdo")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(JsonLines())
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
