"""The daily expiry notice: at 09:00 in Kamchatka (21:00 UTC), guardians are told of money that expires within
``expiry_notice_days`` (services.expiry_notices). Its entry point and schedule are in functions/jobs/handlers.py."""

from __future__ import annotations

from typing import Any

from chalicelib.platform import telemetry
from chalicelib.services.expiry_notices import send_expiry_notices
from functions import runtime
from functions.jobs.budget import seconds_to_work

# Leave time to finish the page at hand before Lambda stops the function.
SAFETY_MARGIN_SECONDS = 60.0


def expiry_notices(event: Any) -> dict[str, Any]:
    budget = seconds_to_work(getattr(event, "context", None), SAFETY_MARGIN_SECONDS)
    run = send_expiry_notices(runtime.context(), time_budget_seconds=budget)
    if run.told:
        telemetry.count("ExpiryNotices", run.told)
    return {"period_id": run.period_id, "told": run.told, "failed": run.failed, "complete": run.complete}
