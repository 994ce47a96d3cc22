"""The hourly ``contract_expiry`` job: enrolment requests not accepted in time give back their hold and their seat
(services.contracts.expire_requests). Its entry point and schedule are in functions/jobs/handlers.py."""

from __future__ import annotations

from typing import Any

from chalicelib.services import contracts
from functions import runtime


def expire_requests(event: Any) -> dict[str, int]:
    """Requests not accepted in time give back their hold and their seat."""
    return {"expired": contracts.expire_requests(runtime.context())}
