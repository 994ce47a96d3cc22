"""Domain errors: one small hierarchy; each carries the code and HTTP status the edge reports.

The HTTP edge maps them once (functions/http.py); the storage layer raises them from conditional-check failures.
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


class InvalidRequest(DomainError):
    """The request is not valid."""

    code = "validation_error"
    status = 422


class InvalidJson(DomainError):
    """The body is not a JSON object."""

    code = "invalid_json"
    status = 400


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
