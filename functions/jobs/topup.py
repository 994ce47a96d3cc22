"""The scheduled year-start top-up.

``topup_sweep`` runs every 15 minutes: when a period has begun (local midnight in the region's time zone) and its
top-up is not complete, it works until shortly before the Lambda time limit and checkpoints; the next run resumes.
``topup`` is the same job for one period, invoked at the exact start instant by the period's one-time schedule
(infra/), or from the console.
"""

from __future__ import annotations

from typing import Any

from chalicelib.platform import telemetry
from chalicelib.services.periods import progress
from chalicelib.services.rollover import run_due_topup, run_topup
from chalicelib.storage import periods as period_store
from functions import runtime
from functions.jobs.budget import seconds_to_work

# Leave time to write the last checkpoint and report before Lambda stops the function.
SAFETY_MARGIN_SECONDS = 60.0


def _report(period_id: str) -> None:
    """The metrics the dashboard and the "top-up not finished in time" alarm read."""
    state = progress(period_store.period_state(period_id))
    telemetry.count("TopupSegmentsPending", state.segments - state.segments_done)
    telemetry.count("TopupCertificates", state.certificates_credited)


def topup_sweep(event: Any) -> dict[str, Any]:
    ctx = runtime.context()
    period_id = run_due_topup(ctx, seconds_to_work(getattr(event, "context", None), SAFETY_MARGIN_SECONDS))
    if period_id is not None:
        _report(period_id)
    return {"period_id": period_id}


def topup(event: dict[str, Any], context: Any) -> dict[str, Any]:
    ctx = runtime.context()
    period_id = str(event["period_id"])
    complete = run_topup(ctx, period_id, seconds_to_work(context, SAFETY_MARGIN_SECONDS))
    _report(period_id)
    return {"period_id": period_id, "complete": complete}
