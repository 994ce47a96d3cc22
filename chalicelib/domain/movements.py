"""The movements of a certificate's money, as plans: one frozen object per movement, made by the use case and written
by storage.movements in one transaction with its ledger entry.

Each plan names its ids by type and by keyword (``Hold(certificate_id=..., contract_id=...)``): a certificate, a
contract and a period cannot be swapped without the type checker noticing, as they could in a row of seven strings.
Each knows its natural ledger key (I4) and the entry it posts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from chalicelib.domain.ids import CertificateId, ContractId, PeriodId, ProviderId
from chalicelib.domain.ledger import (
    EntryKind,
    LedgerEntry,
    Posting,
    charge_key,
    credit_key,
    hold_key,
    release_key,
    reversal_key,
)
from chalicelib.domain.objection import ReversalPlan


@dataclass(frozen=True, kw_only=True)
class Funding:
    """An accounting certificate becomes funded in ``period_id`` with ``amount`` (the nominal pro rata), taking one
    slot of its municipality's quota (I7); only if it is still at ``expected_version``."""

    certificate_id: CertificateId
    expected_version: int
    municipality: str
    period_id: PeriodId
    period_starts_on: date
    amount: int

    def entry(self, posting: Posting, actor: str) -> LedgerEntry:
        return LedgerEntry(
            certificate_id=self.certificate_id,
            entry_key=credit_key(self.period_id),
            kind=EntryKind.CREDIT,
            period_id=self.period_id,
            amount=self.amount,
            posted=posting.next(),
            reason="funded",
            actor=actor,
        )


@dataclass(frozen=True, kw_only=True)
class Hold:
    """``amount`` of the available money reserved for a contract (at enrolment)."""

    certificate_id: CertificateId
    period_id: PeriodId
    contract_id: ContractId
    amount: int

    def entry(self, posting: Posting, actor: str) -> LedgerEntry:
        return LedgerEntry(
            certificate_id=self.certificate_id,
            entry_key=hold_key(self.contract_id),
            kind=EntryKind.HOLD,
            period_id=self.period_id,
            amount=self.amount,
            posted=posting.next(),
            contract_id=self.contract_id,
            actor=actor,
        )


@dataclass(frozen=True, kw_only=True)
class Charge:
    """A provider's charge of one month of its contract: ``amount`` moves from the hold to spent, once per
    contract-month, never above the monthly price or what is still held (I5)."""

    certificate_id: CertificateId
    provider_id: ProviderId
    period_id: PeriodId
    contract_id: ContractId
    month: str
    amount: int

    def entry(self, posting: Posting, actor: str) -> LedgerEntry:
        return LedgerEntry(
            certificate_id=self.certificate_id,
            entry_key=charge_key(self.contract_id, self.month),
            kind=EntryKind.CHARGE,
            period_id=self.period_id,
            amount=self.amount,
            posted=posting.next(),
            contract_id=self.contract_id,
            month=self.month,
            actor=actor,
        )


@dataclass(frozen=True, kw_only=True)
class Release:
    """What a contract still holds (exactly ``amount``) goes back to available, and its hold closes."""

    certificate_id: CertificateId
    period_id: PeriodId
    contract_id: ContractId
    amount: int
    reason: str

    def entry(self, posting: Posting, actor: str) -> LedgerEntry:
        return LedgerEntry(
            certificate_id=self.certificate_id,
            entry_key=release_key(self.contract_id),
            kind=EntryKind.RELEASE,
            period_id=self.period_id,
            amount=self.amount,
            posted=posting.next(),
            contract_id=self.contract_id,
            reason=self.reason,
            actor=actor,
        )


@dataclass(frozen=True, kw_only=True)
class Reversal:
    """An upheld objection voids a contract-month's charge: ``amount`` leaves spent for where ``plan`` says
    (domain.objection), under the natural key ``reversal#{contract}#{month}``; ``period_id`` is the charge's."""

    certificate_id: CertificateId
    period_id: PeriodId
    contract_id: ContractId
    month: str
    amount: int
    plan: ReversalPlan
    reason: str

    def entry(self, posting: Posting, actor: str) -> LedgerEntry:
        return LedgerEntry(
            certificate_id=self.certificate_id,
            entry_key=reversal_key(self.contract_id, self.month),
            kind=self.plan.kind,
            period_id=self.period_id,
            amount=self.amount,
            posted=posting.next(),
            contract_id=self.contract_id,
            month=self.month,
            reason=self.reason,
            actor=actor,
        )
