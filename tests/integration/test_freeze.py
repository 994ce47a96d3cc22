"""An operator's freeze: a frozen certificate moves no money until it is lifted."""

from __future__ import annotations

from datetime import date

import pytest

from chalicelib.domain import errors
from chalicelib.domain.certificate import CertificateStatus
from chalicelib.platform.clock import SettableClock
from chalicelib.services import certificates, contracts
from chalicelib.services.context import Context
from chalicelib.services.rollover import run_topup
from tests.factories import approved_provider, program
from tests.helpers import table_contents
from tests.integration.test_certificates import ELIZOVO_OPERATOR, MILKOVO_OPERATOR, PARENT, at
from tests.integration.test_contracts import PROVIDER, funded_child, open_year


def test_a_frozen_certificate_moves_no_money_until_unfrozen(ctx: Context, clock: SettableClock) -> None:
    period = open_year(ctx, 2027)
    approved_provider()
    at(clock, date(2027, 3, 10))
    certificate_id = funded_child(ctx)
    contract = contracts.enrol(ctx, PARENT, certificate_id, program(period), "k-1")
    contracts.accept(ctx, PROVIDER, contract.contract_id)
    with pytest.raises(errors.Forbidden):
        certificates.freeze(ctx, MILKOVO_OPERATOR, certificate_id, "проверка")
    frozen = certificates.freeze(ctx, ELIZOVO_OPERATOR, certificate_id, "проверка документов")
    assert frozen.status is CertificateStatus.FROZEN
    another_program = program(period)
    before = table_contents()
    with pytest.raises(errors.CertificateFrozen):
        contracts.charge(ctx, PROVIDER, contract.contract_id, "2027-03", 1000)
    with pytest.raises(errors.CertificateFrozen):
        contracts.enrol(ctx, PARENT, certificate_id, another_program, "k-2")
    with pytest.raises(errors.CertificateFrozen):
        certificates.fund(ctx, PARENT, certificate_id)
    assert table_contents() == before
    # Frozen across a rollover: the job leaves it; lifting the freeze rolls it over at once.
    open_year(ctx, 2028)
    at(clock, date(2028, 1, 1))
    assert run_topup(ctx, "2028", time_budget_seconds=60)
    assert certificates.view(ctx, PARENT, certificate_id).period_id == "2027"
    lifted = certificates.unfreeze(ctx, ELIZOVO_OPERATOR, certificate_id)
    assert lifted.status is CertificateStatus.FUNDED and lifted.period_id == "2028"
    assert certificates.reconcile(certificate_id).consistent
    # Freezing and lifting are idempotent.
    certificates.freeze(ctx, ELIZOVO_OPERATOR, certificate_id, "x")
    assert certificates.freeze(ctx, ELIZOVO_OPERATOR, certificate_id, "x").status is CertificateStatus.FROZEN
    certificates.unfreeze(ctx, ELIZOVO_OPERATOR, certificate_id)
    assert certificates.unfreeze(ctx, ELIZOVO_OPERATOR, certificate_id).status is CertificateStatus.FUNDED
