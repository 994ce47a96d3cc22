"""What every use case needs: settings, the clock and the region's period calendar (cached briefly)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import date, datetime

from chalicelib.domain.period import Period, current_period, local_today
from chalicelib.platform.clock import Clock
from chalicelib.platform.config import Settings
from chalicelib.platform.scheduling import (
    NoScheduler,
    RunHere,
    TopupScheduler,
    TopupStarter,
    scheduler_for,
    topup_starter_for,
)
from chalicelib.storage import periods as period_store
from chalicelib.storage.models import bind_tables


@dataclass
class PeriodCalendar:
    """The region's periods, read with one Query and kept for ``ttl`` seconds.

    Periods are opened ahead of their start and never change, so a short cache is safe; a function that opens a
    period drops its cache at once.
    """

    region: str
    ttl: float
    _periods: list[Period] = field(default_factory=list)
    _read_at: float = float("-inf")
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def periods(self) -> list[Period]:
        with self._lock:
            if time.monotonic() - self._read_at >= self.ttl:
                self._periods = period_store.region_periods(self.region)
                self._read_at = time.monotonic()
            return list(self._periods)

    def invalidate(self) -> None:
        with self._lock:
            self._read_at = float("-inf")


@dataclass
class Context:
    settings: Settings
    clock: Clock
    calendar: PeriodCalendar
    # Schedules a period's top-up at its start (EventBridge Scheduler in a deployed stage; nothing locally).
    scheduler: TopupScheduler = field(default_factory=NoScheduler)
    # Starts a top-up now (the top-up function, invoked asynchronously, in a deployed stage; locally: run it here).
    topup: TopupStarter = field(default_factory=RunHere)

    @classmethod
    def create(cls, settings: Settings, clock: Clock, scheduler: TopupScheduler | None = None) -> Context:
        calendar = PeriodCalendar(settings.region_code, settings.period_cache_seconds)
        chosen = scheduler if scheduler is not None else scheduler_for(settings)
        return cls(settings, clock, calendar, chosen, topup_starter_for(settings))

    @classmethod
    def for_stage(cls, settings: Settings, clock: Clock) -> Context:
        """A function's context: the tables bound to the stage's names first (``{table_prefix}{table}``)."""
        bind_tables(settings.table_prefix)
        return cls.create(settings, clock)

    def now(self) -> datetime:
        return self.clock.now()

    def today(self) -> date:
        """Today in the region's time zone."""
        return local_today(self.clock.now(), self.settings.region_timezone)

    def current_period(self) -> Period | None:
        return current_period(self.calendar.periods(), self.today())
