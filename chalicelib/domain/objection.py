"""Objections (претензии): a parent disputes one month's charge; an operator upholds or rejects it.

Rules:
- The parent of the contract's child objects within ``objection_window_days`` of the charge, once per contract-month
  (ever: a decided objection is final).
- An operator of the contract's municipality (or a regional one) decides, always with a reason.
- Upheld, the charge is voided by a reversal entry (the charge entry stays on the ledger). The month stays charged:
  a charge carries no read (one transaction), so it cannot tell a second charge of a month from a retry of the
  first; the reversed month is therefore never charged again, and its money has no month left to pay for in the
  contract's hold. So it goes back to ``available`` while the charge's period is the certificate's running one, and
  to ``expired`` when that period is over (its money has lapsed: it went back to the budget at the rollover).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from chalicelib.domain import errors
from chalicelib.domain.certificate import CertificateStatus
from chalicelib.domain.ids import CertificateId, ContractId, PeriodId, ProviderId
from chalicelib.domain.ledger import EntryKind

_OBJECTION_ID = re.compile(r"(\d{10}-[0-9a-f]{12})-(\d{4}-\d{2})")
MAX_REASON = 2000


class ObjectionStatus(str, enum.Enum):
    OPEN = "open"  # waiting for an operator; the charge counts as disputed
    UPHELD = "upheld"  # the charge was reversed
    REJECTED = "rejected"  # the charge stands


class ObjectionDecision(str, enum.Enum):
    """What an operator decides about an objection."""

    UPHOLD = "uphold"
    REJECT = "reject"

    @property
    def outcome(self) -> ObjectionStatus:
        return ObjectionStatus.UPHELD if self is ObjectionDecision.UPHOLD else ObjectionStatus.REJECTED


def objection_id(contract_id: str, month: str) -> str:
    """One objection per contract-month: its id is the pair."""
    return f"{contract_id}-{month}"


def parse_objection_id(text: str) -> tuple[str, str]:
    """The contract and the month of an objection id; a malformed id is simply not found."""
    match = _OBJECTION_ID.fullmatch(text)
    if not match:
        raise errors.ObjectionNotFound()
    return match.group(1), match.group(2)


def require_reason(text: str | None, what: str) -> str:
    reason = " ".join((text or "").split())
    if not reason:
        raise errors.InvalidRequest(f"{what} needs a reason")
    if len(reason) > MAX_REASON:
        raise errors.InvalidRequest(f"a reason is at most {MAX_REASON} characters")
    return reason


def check_window(charged_at: datetime, now: datetime, window_days: int) -> None:
    """A charge may be objected to for ``window_days`` after it was made."""
    if now > charged_at + timedelta(days=window_days):
        raise errors.ObjectionWindowClosed(f"a charge may be objected to within {window_days} days of it")


@dataclass(frozen=True)
class Objection:
    """A parent's objection to one month's charge of a contract: what was charged (copied from the contract and its
    ledger entry when filed), why, and how an operator decided. ``municipality`` is the contract's: its operators
    decide. ``returned_to``: where an upheld charge's money went, ``available`` or ``expired``."""

    objection_id: str
    contract_id: ContractId
    certificate_id: CertificateId
    month: str
    amount: int
    period_id: PeriodId
    provider_id: ProviderId
    program_id: str
    program_title: str
    municipality: str
    guardian_sub: str
    status: ObjectionStatus
    reason: str
    filed_at: str
    charged_at: str
    decided_at: str | None = None
    decided_by: str | None = None
    decision_reason: str | None = None
    returned_to: str | None = None


class BalanceEffect(str, enum.Enum):
    """How the reversal touches the certificate's cached balance (which describes its current period only)."""

    AVAILABLE = "available"  # the charge's period is the certificate's: spent -> available
    EXPIRED = "expired"  # the balance still describes that period, but its money has lapsed: spent -> expired
    NONE = "none"  # the certificate has moved to a later period: only the old period's ledger changes


@dataclass(frozen=True)
class ReversalPlan:
    kind: EntryKind
    effect: BalanceEffect
    # The certificate as the plan saw it: the transaction requires it unchanged in these respects.
    certificate_status: CertificateStatus
    certificate_period_id: str | None

    @property
    def returned_to(self) -> str:
        return "available" if self.kind is EntryKind.REVERSAL else "expired"


def plan_reversal(
    certificate_status: CertificateStatus, certificate_period_id: str | None, charge_period_id: str
) -> ReversalPlan:
    """Where a voided charge's money goes, given the certificate as read (after its first-touch rollover)."""
    if certificate_status is CertificateStatus.FROZEN:
        raise errors.CertificateFrozen("the certificate is frozen: lift the freeze before deciding")
    if certificate_period_id == charge_period_id:
        if certificate_status is CertificateStatus.FUNDED:
            return ReversalPlan(EntryKind.REVERSAL, BalanceEffect.AVAILABLE, certificate_status, certificate_period_id)
        # Closed at 18 or back to accounting at the rollover: the balance is that period's, all lapsed.
        return ReversalPlan(
            EntryKind.REVERSAL_EXPIRED, BalanceEffect.EXPIRED, certificate_status, certificate_period_id
        )
    return ReversalPlan(EntryKind.REVERSAL_EXPIRED, BalanceEffect.NONE, certificate_status, certificate_period_id)
