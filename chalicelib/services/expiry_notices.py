"""The expiry notice: ``expiry_notice_days`` (30) before a period's unspent money expires, each guardian whose
funded certificate still has money available is told, once per certificate and period.

Money expires at the rollover into the next period, at the earliest the day after the period's last day, so the
notice window is the last ``expiry_notice_days`` days of the period. A daily job runs the window (any day of it
catches certificates funded or touched late), and claims a mark on each certificate before telling
(storage.expiry_notices).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, timedelta

from chalicelib.domain.certificate import Certificate
from chalicelib.domain.period import Period
from chalicelib.platform import notifications
from chalicelib.platform.notifications import Notice, Notifier
from chalicelib.services.context import Context
from chalicelib.storage import expiry_notices as store

PAGE_SIZE = 500


@dataclass(frozen=True)
class ExpiryNoticeRun:
    period_id: str | None
    told: int
    failed: int
    complete: bool


def expires_on(period: Period) -> date:
    """The first day the period's money may have expired."""
    return period.ends_on + timedelta(days=1)


def in_notice_window(period: Period, today: date, notice_days: int) -> bool:
    return expires_on(period) - timedelta(days=notice_days) <= today <= period.ends_on


def expiry_notice(certificate: Certificate, period: Period) -> Notice:
    return Notice(
        notifications.EXPIRY_NOTICE,
        certificate.certificate_id,
        certificate.guardian_sub,
        {
            "period_id": period.period_id,
            "amount": certificate.balance.available,
            "expires_on": expires_on(period).isoformat(),
        },
    )


def send_expiry_notices(
    ctx: Context, notifier: Notifier | None = None, time_budget_seconds: float = 600.0
) -> ExpiryNoticeRun:
    """Tells every guardian not yet told in the running period's notice window; stops when the budget runs out (the
    next run goes on: told certificates are marked and skipped)."""
    period = ctx.current_period()
    if period is None or not in_notice_window(period, ctx.today(), ctx.settings.expiry_notice_days):
        return ExpiryNoticeRun(None, 0, 0, True)
    sink = notifier or notifications.for_settings(ctx.settings)
    deadline = time.monotonic() + time_budget_seconds
    told = failed = 0
    start = None
    while True:
        found, start = store.unnotified_page(period.period_id, start, PAGE_SIZE)
        claimed = [c for c in found if store.claim(c.certificate_id, period.period_id)]
        for batch_start in range(0, len(claimed), notifications.PUT_EVENTS_BATCH):
            batch = claimed[batch_start : batch_start + notifications.PUT_EVENTS_BATCH]
            if notifications.tell(sink, [expiry_notice(c, period) for c in batch]):
                told += len(batch)
            else:
                failed += len(batch)
                for certificate in batch:
                    store.give_back(certificate.certificate_id, period.period_id)
        if start is None:
            return ExpiryNoticeRun(period.period_id, told, failed, True)
        if time.monotonic() >= deadline:
            return ExpiryNoticeRun(period.period_id, told, failed, False)
