"""Shared set-up of the objection, statement and notification tests: period 2027 running on 10 March with an approved
provider, and a child's active contract charged for a month."""

from __future__ import annotations

from datetime import date

from chalicelib.domain.period import Period
from chalicelib.platform.clock import SettableClock
from chalicelib.services import contracts
from chalicelib.services.context import Context
from tests.factories import approved_provider
from tests.integration.test_certificates import at
from tests.integration.test_contracts import PRICE, PROVIDER, active_contract, open_year


def running_year(ctx: Context, clock: SettableClock) -> Period:
    """Period 2027, running on 10 March; an approved provider."""
    period = open_year(ctx, 2027)
    approved_provider()
    at(clock, date(2027, 3, 10))
    return period


def charged(ctx: Context, year: Period, month: str = "2027-03") -> tuple[str, str]:
    """An active contract of PARENT's child, charged for ``month`` at the full price; (certificate, contract)."""
    certificate_id, _program, contract_id = active_contract(ctx, year)
    contracts.charge(ctx, PROVIDER, contract_id, month, PRICE)
    return certificate_id, contract_id
