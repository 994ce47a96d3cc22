"""The functions that are not HTTP: scheduled jobs and the console's ``admin`` function.

Each Lambda's handler is the entry here (``functions.jobs.handlers.<name>``, named by Chalice); its work lives in its
own module of ``functions/jobs/``, imported on the first event, so a cold start loads only what that function does.
"""

from __future__ import annotations

import importlib
from typing import Any

from chalice import Blueprint, Chalice, ConvertToMiddleware, Cron, Rate

from functions import runtime

bp = Blueprint(__name__)
# Chalice's kinds of event of these functions: each invocation observed (functions/runtime.py). HTTP is observed at
# the Function URL's handler (app.py).
EVENT_TYPES = ("scheduled", "pure_lambda")


def observe(app: Chalice) -> None:
    """Every job's invocation with the Lambda context in its log lines and an X-Ray trace (Powertools)."""
    for event_type in EVENT_TYPES:
        app.register_middleware(ConvertToMiddleware(runtime.observed), event_type)


def _module(name: str) -> Any:
    return importlib.import_module(f"functions.jobs.{name}")


@bp.schedule(Rate(15, unit=Rate.MINUTES), name="topup_sweep")
def topup_sweep(event: Any) -> dict[str, Any]:
    """Resumes the top-up of a period that has begun and is not complete (see functions/jobs/topup.py)."""
    result: dict[str, Any] = _module("topup").topup_sweep(event)
    return result


@bp.lambda_function(name="topup")
def topup(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """One period's top-up, invoked at the period's start by its one-time schedule, or from the console."""
    result: dict[str, Any] = _module("topup").topup(event, context)
    return result


@bp.schedule(Rate(1, unit=Rate.HOURS), name="contract_expiry")
def contract_expiry(event: Any) -> dict[str, int]:
    """Enrolment requests not accepted in time give back their hold and their seat."""
    result: dict[str, int] = _module("expiry").expire_requests(event)
    return result


# 21:00 UTC is 09:00 in Kamchatka: guardians hear in the morning of money about to expire.
@bp.schedule(Cron(0, 21, "*", "*", "?", "*"), name="expiry_notices")
def expiry_notices(event: Any) -> dict[str, Any]:
    """Tells guardians of unspent money that expires within the notice days (once per certificate and period)."""
    result: dict[str, Any] = _module("notices").expiry_notices(event)
    return result


@bp.lambda_function(name="aggregates")
def aggregates(event: dict[str, Any], context: Any) -> dict[str, int]:
    """The reports' counters from the tables' streams (infra maps each stream here): each batch applied once."""
    result: dict[str, int] = _module("streams").apply(event, context)
    return result


@bp.lambda_function(name="admin")
def admin(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Operators' actions from the console (infra/events/*.json)."""
    result: dict[str, Any] = _module("admin").admin(event, context)
    return result
