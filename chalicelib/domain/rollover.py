"""The period rollover of one certificate, as a plan (data) that the store executes in one transaction.

The same plan is made by the top-up job and by the first touch of a certificate after the period began, and it is
keyed by the same ledger keys (``credit#{period}``, ``expire#{old period}``, ``release#{contract}``), so whichever
comes first wins and the other finds nothing to do (I8).

Order of the movements, all in one transaction: release what is still held on the old period's contracts, expire
what is then available, credit the new nominal.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import date

from chalicelib.domain.certificate import Certificate, CertificateStatus, valid_until
from chalicelib.domain.ids import CertificateId, ContractId, PeriodId
from chalicelib.domain.period import Period


class RolloverOutcome(str, enum.Enum):
    CREDITED = "credited"  # funded in the new period with the nominal
    OVER_QUOTA = "over_quota"  # the new period's quota was used up: back to an accounting certificate
    AGED_OUT = "aged_out"  # the child is 18 before the new period starts: the certificate closes


@dataclass(frozen=True)
class RolloverPlan:
    certificate_id: CertificateId
    municipality: str
    from_period: PeriodId | None
    to_period: PeriodId
    to_period_starts_on: date
    expected_version: int
    releases: tuple[tuple[ContractId, int], ...]
    expire_amount: int
    credit_amount: int
    outcome: RolloverOutcome

    @property
    def new_status(self) -> CertificateStatus:
        return {
            RolloverOutcome.CREDITED: CertificateStatus.FUNDED,
            RolloverOutcome.OVER_QUOTA: CertificateStatus.ACCOUNTING,
            RolloverOutcome.AGED_OUT: CertificateStatus.CLOSED,
        }[self.outcome]

    @property
    def takes_quota(self) -> bool:
        return self.outcome is RolloverOutcome.CREDITED

    def over_quota(self) -> RolloverPlan:
        """The same rollover when the new period has no quota left: old money still expires, nothing is credited."""
        return replace(self, outcome=RolloverOutcome.OVER_QUOTA, credit_amount=0)

    @property
    def ledger_items(self) -> int:
        """How many ledger entries the plan writes (for packing transactions under the 100-item limit)."""
        return len(self.releases) + (self.expire_amount > 0) + (self.credit_amount > 0)


def needs_rollover(certificate: Certificate, period: Period) -> bool:
    """A funded certificate still on an earlier period (never a later one: periods only move forward)."""
    if certificate.status is not CertificateStatus.FUNDED or certificate.period_id == period.period_id:
        return False
    return certificate.period_starts_on is None or certificate.period_starts_on < period.starts_on


def plan_rollover(certificate: Certificate, period: Period) -> RolloverPlan | None:
    """What moving ``certificate`` (as read, with its version) into ``period`` takes; None when there is nothing
    to do."""
    if not needs_rollover(certificate, period):
        return None
    holds = sorted(certificate.open_holds.items())
    releases = tuple((ContractId(contract), amount) for contract, amount in holds if amount > 0)
    expire_amount = certificate.balance.available + sum(amount for _, amount in releases)
    aged_out = valid_until(certificate.birth_date) <= period.starts_on
    credit = 0 if aged_out else period.entitlement(certificate.birth_date, period.starts_on)
    return RolloverPlan(
        certificate_id=certificate.certificate_id,
        municipality=certificate.municipality,
        from_period=certificate.period_id,
        to_period=period.period_id,
        to_period_starts_on=period.starts_on,
        expected_version=certificate.version,
        releases=releases,
        expire_amount=expire_amount,
        credit_amount=credit,
        outcome=RolloverOutcome.AGED_OUT if aged_out or credit == 0 else RolloverOutcome.CREDITED,
    )
