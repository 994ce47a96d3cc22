"""Domain errors: one small hierarchy; each carries the code and HTTP status the edge reports.

The HTTP edge maps them once (functions/edge/http.py); the storage layer raises them from conditional-check failures.
"""

from __future__ import annotations


class DomainError(Exception):
    """A request the rules refuse; nothing was changed."""

    code = "domain_error"
    status = 409

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or (self.__doc__ or self.code).strip().splitlines()[0])

    @property
    def message(self) -> str:
        return str(self.args[0])

    @property
    def details(self) -> dict[str, str] | None:
        """What a client may read besides the message (never another family's data)."""
        return None


class InvalidRequest(DomainError):
    """The request is not valid."""

    code = "validation_error"
    status = 422


class InvalidJson(DomainError):
    """The body is not a JSON object."""

    code = "invalid_json"
    status = 400


class NotAcceptable(DomainError):
    """The answer's media type is not one the request's Accept header allows."""

    code = "not_acceptable"
    status = 406


class Unauthenticated(DomainError):
    """A valid bearer token is required."""

    code = "unauthenticated"
    status = 401


class Forbidden(DomainError):
    """The caller may not do this."""

    code = "forbidden"
    status = 403


class NotFound(DomainError):
    """No such resource."""

    code = "not_found"
    status = 404


class CertificateNotFound(NotFound):
    """No such certificate (or not one of yours)."""

    code = "certificate_not_found"


class PeriodNotFound(NotFound):
    """No such period."""

    code = "period_not_found"


class PeriodExists(DomainError):
    """A period with this id already exists."""

    code = "period_exists"


class PeriodOverlaps(DomainError):
    """The period overlaps a period already opened."""

    code = "period_overlaps"


class TopupNotStarted(DomainError):
    """The top-up function could not be started just now; nothing was done. Retry shortly."""

    code = "unavailable"
    status = 503


class PeriodNotStarted(DomainError):
    """The period has not started yet in the region's time zone."""

    code = "period_not_started"


class PeriodSuperseded(DomainError):
    """A later period has begun; an earlier one can no longer be topped up."""

    code = "period_superseded"


class NoOpenPeriod(DomainError):
    """No period is running today; nothing can be funded."""

    code = "no_open_period"


class QuotaExhausted(DomainError):
    """The municipality's quota of funded certificates for the period is used up."""

    code = "quota_exhausted"


class NotEligible(DomainError):
    """The child is not eligible for funding in this period (age)."""

    code = "not_eligible"


class CertificateFrozen(DomainError):
    """The certificate is frozen by an operator: nothing moves."""

    code = "certificate_frozen"


class CertificateClosed(DomainError):
    """The certificate is closed."""

    code = "certificate_closed"


class NotFunded(DomainError):
    """The certificate carries no money (it is an accounting certificate)."""

    code = "not_funded"


class InsufficientFunds(DomainError):
    """The certificate's available balance does not cover the amount."""

    code = "insufficient_funds"


class AlreadyApplied(DomainError):
    """This money movement was already recorded (its idempotency key exists)."""

    code = "already_applied"


class OverHold(DomainError):
    """The amount is more than what is still held for the contract."""

    code = "over_hold"


class HoldNotFound(DomainError):
    """The certificate has no open hold for this contract."""

    code = "hold_not_found"


class StalePeriod(DomainError):
    """The money belongs to a period that is no longer the certificate's current one."""

    code = "stale_period"


class ConcurrentUpdate(DomainError):
    """The resource changed while the request was applied; retry."""

    code = "concurrent_update"


class IdempotencyKeyReused(DomainError):
    """The Idempotency-Key was already used with a different request."""

    code = "idempotency_key_reused"
    status = 422


class RequestInProgress(DomainError):
    """A request with this Idempotency-Key is still being processed; retry shortly."""

    code = "request_in_progress"


class InvalidTransition(DomainError):
    """The resource's status does not allow this change."""

    code = "invalid_transition"


class ProviderNotFound(NotFound):
    """No such provider."""

    code = "provider_not_found"


class ProviderExists(DomainError):
    """A provider with this ИНН has already applied."""

    code = "provider_exists"


class ProviderNotApproved(DomainError):
    """The provider is not approved in the registry."""

    code = "provider_not_approved"
    status = 403


class ProviderSuspended(DomainError):
    """The provider is suspended: no new contracts, no charges."""

    code = "provider_suspended"


class DocumentRejected(DomainError):
    """The uploaded document is missing, too large or of a type that is not accepted."""

    code = "document_rejected"
    status = 422


class ProgramNotFound(NotFound):
    """No such program."""

    code = "program_not_found"


class NotCertified(DomainError):
    """The program is not certified for payment by certificate."""

    code = "not_certified"


class CapacityBelowSeats(DomainError):
    """The capacity cannot go below the seats already taken."""

    code = "capacity_below_seats"


class NoSeats(DomainError):
    """No free seat is left in the program."""

    code = "no_seats"


class AgeMismatch(DomainError):
    """The child's age is outside the program's age range."""

    code = "age_mismatch"


class AlreadyEnrolled(DomainError):
    """The child is already enrolled in this program."""

    code = "already_enrolled"


class ContractNotFound(NotFound):
    """No such contract (or not one of yours)."""

    code = "contract_not_found"


class NotActive(DomainError):
    """The contract is not active."""

    code = "not_active"


class MonthCharged(DomainError):
    """This month of the contract is already charged."""

    code = "month_charged"


class MonthNotChargeable(DomainError):
    """The month has not begun, is not a month of the contract, or its period has closed."""

    code = "month_not_chargeable"


class AlreadyRated(DomainError):
    """This contract's program is already rated."""

    code = "already_rated"


class NotEligibleToRate(DomainError):
    """Only a parent whose child has (or had) a contract with the program may rate it."""

    code = "not_eligible_to_rate"
    status = 403


class ProgramNotCurrent(DomainError):
    """The program runs in a period that is not the certificate's current one, or no month of it is left."""

    code = "program_not_current"


class OverPrice(DomainError):
    """A month is charged at most the contract's monthly price."""

    code = "over_price"
    status = 422


class DuplicateChild(DomainError):
    """This child already holds a living certificate in the region."""

    code = "duplicate_child"

    def __init__(self, municipality: str) -> None:
        # Only the municipality of the existing certificate: never the other family's data.
        super().__init__(f"this child already holds a certificate, issued in {municipality}")
        self.municipality = municipality

    @property
    def details(self) -> dict[str, str] | None:
        return {"municipality": self.municipality}


class MergeRefused(DomainError):
    """These certificates cannot be merged as they are."""

    code = "merge_refused"


class ObjectionNotFound(NotFound):
    """No such objection (or not one of yours)."""

    code = "objection_not_found"


class NotCharged(DomainError):
    """This month of the contract was not charged: there is nothing to object to."""

    code = "not_charged"


class ObjectionWindowClosed(DomainError):
    """The time to object to this charge has passed."""

    code = "objection_window_closed"


class AlreadyObjected(DomainError):
    """This charge has already been objected to."""

    code = "already_objected"


class ObjectionDecided(DomainError):
    """The objection has already been decided."""

    code = "objection_decided"
