"""Children and their certificates: registration, funding under the quota, the balance and the ledger."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace
from datetime import date

from chalicelib.domain import errors
from chalicelib.domain.actors import Principal, Role
from chalicelib.domain.certificate import (
    Balance,
    Certificate,
    CertificateStatus,
    check_registrable,
    issue_certificate,
    new_certificate_number,
    refuse_money_movement,
    require_certificate_number,
    valid_until,
)
from chalicelib.domain.duplicates import child_identity
from chalicelib.domain.ledger import LedgerEntry, replay, utc_stamp
from chalicelib.domain.movements import Funding
from chalicelib.domain.period import MUNICIPALITY, TOUCH_RECORD, Period
from chalicelib.domain.rollover import needs_rollover
from chalicelib.services.context import Context
from chalicelib.services.rollover import rollover_certificate
from chalicelib.storage import certificates as store
from chalicelib.storage import ledger as ledger_store
from chalicelib.storage import movements
from chalicelib.storage.pages import Page
from chalicelib.storage.retry import Backoff, retry

FUNDING_BACKOFF = Backoff(5)
_NAME = re.compile(r"[^\W\d_]+(?:[ '\-.][^\W\d_]+)*")


def normalise_full_name(full_name: str) -> str:
    """One space between words, NFC; letters, spaces, hyphens, apostrophes and dots only."""
    name = " ".join(unicodedata.normalize("NFC", full_name).split())
    if not 3 <= len(name) <= 200 or not _NAME.fullmatch(name):
        raise errors.InvalidRequest("full_name must be 3-200 letters (spaces, '-', ''' and '.' between words)")
    return name


# --- who may see a certificate -------------------------------------------------------------------------------------


def _readable(actor: Principal, certificate: Certificate) -> Certificate:
    """A parent sees only their own children (others' look absent: numbers are not enumerable); an operator only
    their municipality's."""
    if actor.role is Role.PARENT and certificate.guardian_sub == actor.sub:
        return certificate
    if actor.role is Role.OPERATOR:
        if actor.operates_in(certificate.municipality):
            return certificate
        raise errors.Forbidden("the certificate belongs to another municipality")
    if actor.role is Role.PARENT:
        raise errors.CertificateNotFound()
    raise errors.Forbidden("providers do not read certificates")


def _own(actor: Principal, certificate_id: str) -> Certificate:
    actor.require(Role.PARENT)
    certificate = store.get(require_certificate_number(certificate_id))
    if certificate.guardian_sub != actor.sub:
        raise errors.CertificateNotFound()
    return certificate


# --- the period on first touch -------------------------------------------------------------------------------------


def ensure_current(ctx: Context, certificate: Certificate) -> Certificate:
    """No certificate is seen or used in a stale period: once a period has begun, a funded certificate still on
    the old one is rolled over now, under the same ledger keys as the top-up job (whichever comes first wins)."""
    period = ctx.current_period()
    if period is None or not needs_rollover(certificate, period):
        return certificate
    counter = movements.ProgressCounter(period.period_id, TOUCH_RECORD)
    rollover_certificate(ctx, certificate.certificate_id, period, counter)
    return store.get(certificate.certificate_id)


# --- use cases -------------------------------------------------------------------------------------------------------


def register_child(ctx: Context, actor: Principal, full_name: str, birth_date: date, municipality: str) -> Certificate:
    """Issues the child's certificate (an accounting one: it carries no money until funded)."""
    actor.require(Role.PARENT)
    name = normalise_full_name(full_name)
    if not MUNICIPALITY.fullmatch(municipality):
        raise errors.InvalidRequest("municipality must be a lower-case code")
    check_registrable(birth_date, ctx.today())
    # One living certificate per child in the region (409 duplicate_child naming only its municipality).
    identity = child_identity(ctx.settings.region_code, name, birth_date)
    certificate = issue_certificate(
        new_certificate_number(), actor.sub, municipality, name, birth_date, utc_stamp(ctx.now())
    )
    return store.issue(certificate, identity)


def list_children(ctx: Context, actor: Principal) -> list[Certificate]:
    actor.require(Role.PARENT)
    return [ensure_current(ctx, certificate) for certificate in store.of_guardian(actor.sub)]


def view(ctx: Context, actor: Principal, certificate_id: str) -> Certificate:
    """The certificate in its current period: one GetItem (plus the rollover, once, on the first read after a period
    has begun)."""
    if actor.role is Role.PROVIDER:
        # Refused before the read, so that an issued number and an unknown one get the same answer.
        raise errors.Forbidden("providers do not read certificates")
    certificate = _readable(actor, store.get(require_certificate_number(certificate_id)))
    return ensure_current(ctx, certificate)


def fund(ctx: Context, actor: Principal, certificate_id: str) -> Certificate:
    """Makes the certificate funded in the running period if the municipality's quota allows (I7); mid-period it
    gets the nominal pro rata for the months left. Funding a funded certificate again changes nothing."""
    first = _own(actor, certificate_id)

    def attempt(n: int) -> Certificate:
        """From the certificate as read (again, after a write that met a change)."""
        certificate = ensure_current(ctx, first if n == 0 else store.get(first.certificate_id))
        if certificate.status is CertificateStatus.FUNDED:
            return certificate
        if certificate.status is not CertificateStatus.ACCOUNTING:
            refuse_money_movement(certificate.status)
        period = _running_period(ctx)
        amount = _entitlement(ctx, certificate, period)
        funding = Funding(
            certificate_id=certificate.certificate_id,
            expected_version=certificate.version,
            municipality=certificate.municipality,
            period_id=period.period_id,
            period_starts_on=period.starts_on,
            amount=amount,
        )
        movements.commit_funding(funding, now=ctx.now(), actor=actor.sub)
        # The write succeeded under the version read: the new state is known without reading it again.
        return replace(
            certificate,
            status=CertificateStatus.FUNDED,
            period_id=period.period_id,
            period_starts_on=period.starts_on,
            balance=Balance(credited=amount, available=amount),
            open_holds={},
            version=certificate.version + 1,
        )

    return retry(attempt, FUNDING_BACKOFF, on=errors.ConcurrentUpdate, gave_up="the certificate kept changing; retry")


def _running_period(ctx: Context) -> Period:
    period = ctx.current_period()
    if period is None or not period.contains(ctx.today()):
        raise errors.NoOpenPeriod()
    return period


def _entitlement(ctx: Context, certificate: Certificate, period: Period) -> int:
    today = ctx.today()
    if valid_until(certificate.birth_date) <= today:
        raise errors.NotEligible("the child is 18: the certificate can no longer be funded")
    amount = period.entitlement(certificate.birth_date, today)
    if amount <= 0:
        raise errors.NotEligible("no month of the period is left to fund")
    return amount


def freeze(ctx: Context, actor: Principal, certificate_id: str, reason: str) -> Certificate:
    """An operator of the certificate's municipality stops every movement of its money."""
    certificate = _operated(actor, certificate_id)
    if certificate.status is CertificateStatus.FROZEN:
        return certificate
    store.freeze(certificate.certificate_id, reason)
    return store.get(certificate.certificate_id)


def unfreeze(ctx: Context, actor: Principal, certificate_id: str) -> Certificate:
    """Lifts the hold; a funded certificate that missed a rollover while frozen is rolled over now."""
    certificate = _operated(actor, certificate_id)
    if certificate.status is not CertificateStatus.FROZEN:
        return ensure_current(ctx, certificate)
    store.unfreeze(certificate.certificate_id)
    return ensure_current(ctx, store.get(certificate.certificate_id))


def _operated(actor: Principal, certificate_id: str) -> Certificate:
    actor.require(Role.OPERATOR)
    certificate = store.get(require_certificate_number(certificate_id))
    if not actor.operates_in(certificate.municipality):
        raise errors.Forbidden("the certificate belongs to another municipality")
    return certificate


def ledger(
    ctx: Context, actor: Principal, certificate_id: str, limit: int, after: dict[str, object] | None
) -> Page[LedgerEntry]:
    """The certificate's movements, newest first."""
    view(ctx, actor, certificate_id)
    entries, next_key = ledger_store.page(certificate_id, limit, after)
    return Page(entries, next_key)


@dataclass(frozen=True)
class Reconciliation:
    """The certificate's cached balance against the replay of its ledger (I3)."""

    certificate_id: str
    period_id: str | None
    stored: Balance
    replayed: Balance

    @property
    def drift(self) -> dict[str, int]:
        fields = ("credited", "available", "held", "spent", "expired")
        return {
            name: getattr(self.stored, name) - getattr(self.replayed, name)
            for name in fields
            if getattr(self.stored, name) != getattr(self.replayed, name)
        }

    @property
    def consistent(self) -> bool:
        return not self.drift and self.stored.conserved and self.stored.non_negative


def reconcile(certificate_id: str) -> Reconciliation:
    """Replays the ledger of the certificate's current period and compares it with the stored balance."""
    certificate = store.get(certificate_id)
    balances = replay(ledger_store.all_entries(certificate_id))
    replayed = balances.get(certificate.period_id, Balance()) if certificate.period_id else Balance()
    return Reconciliation(certificate_id, certificate.period_id, certificate.balance, replayed)
