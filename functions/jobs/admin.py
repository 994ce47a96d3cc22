"""The operators' console function: one Lambda invoked with a JSON event (test events in infra/events/).

Every action is idempotent (running it twice leaves the same state) and logged with the invoking identity as the
actor, never a name the event gives: through the console's Function URL (auth type ``AWS_IAM``, invoked by the MFA
role only) the caller's IAM ARN from the signed request; invoked directly, the invocation's request id, which the
CloudTrail data event of that invocation ties to the caller.
"""

import base64
import functools
import json
import time
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from chalicelib.domain import errors
from chalicelib.domain.actors import WHOLE_REGION, Principal, Role
from chalicelib.domain.ids import PeriodId
from chalicelib.domain.period import AgeNominal, Period
from chalicelib.domain.provider import ProviderDecision, ProviderStatus
from chalicelib.platform import telemetry
from chalicelib.services import certificates, duplicates, periods, providers
from chalicelib.services.context import Context
from chalicelib.services.rollover import run_topup
from chalicelib.storage import certificates as certificate_store
from chalicelib.storage import providers as provider_store
from functions import runtime
from functions.jobs.budget import seconds_to_work
from functions.schemas import OpenPeriodIn, PeriodOut

CertificateId = Annotated[str, Field(pattern=r"^\d{10}$")]
Reason = Annotated[str, Field(min_length=1, max_length=500)]
# Leave time to answer before Lambda stops the function.
SAFETY_MARGIN_SECONDS = 30.0


class _Command(BaseModel):
    # No ``operator``: an event that names one is refused (the actor is the invoking identity, see invoker()).
    model_config = ConfigDict(extra="forbid", defer_build=True)


class OpenPeriodCommand(_Command):
    action: Literal["open_period"]
    period: OpenPeriodIn


class RunTopupCommand(_Command):
    action: Literal["run_topup"]
    period_id: str


class TopupProgressCommand(_Command):
    action: Literal["topup_progress"]
    period_id: str


class ReconcileCommand(_Command):
    action: Literal["reconcile"]
    certificate_id: CertificateId


class ReconcileAllCommand(_Command):
    action: Literal["reconcile_all"]


class FreezeCommand(_Command):
    action: Literal["freeze_certificate"]
    certificate_id: CertificateId
    reason: Reason


class UnfreezeCommand(_Command):
    action: Literal["unfreeze_certificate"]
    certificate_id: CertificateId


ProviderId = Annotated[str, Field(pattern=r"^\d{10}(\d{2})?$")]


class SuspendProviderCommand(_Command):
    action: Literal["suspend_provider"]
    provider_id: ProviderId
    reason: Reason


class ReinstateProviderCommand(_Command):
    action: Literal["reinstate_provider"]
    provider_id: ProviderId
    reason: Reason | None = None


class BackfillIdentitiesCommand(_Command):
    action: Literal["backfill_identities"]


Command = Annotated[
    OpenPeriodCommand
    | RunTopupCommand
    | TopupProgressCommand
    | ReconcileCommand
    | ReconcileAllCommand
    | FreezeCommand
    | UnfreezeCommand
    | SuspendProviderCommand
    | ReinstateProviderCommand
    | BackfillIdentitiesCommand,
    Field(discriminator="action"),
]


@functools.cache
def _commands() -> TypeAdapter[Command]:
    """Built on the first console event, not at the cold start of every function that shares this package."""
    return TypeAdapter(Command)


class NoIdentity(ValueError):
    """A Function URL request without the signed IAM identity: nothing is done."""


def invoker(event: dict[str, Any], context: Any) -> tuple[str, dict[str, Any]]:
    """The invoking identity and the command. Through the Function URL (a signed request), the caller's IAM ARN and
    the request's JSON body; a direct Invoke carries no identity into the function, so its request id stands for it
    (CloudTrail's data event of that invocation names the caller)."""
    if "requestContext" in event:
        iam = (event["requestContext"].get("authorizer") or {}).get("iam") or {}
        caller = iam.get("userArn")
        if not caller:
            raise NoIdentity("the request carries no IAM identity")
        body = event.get("body") or "{}"
        if event.get("isBase64Encoded"):
            body = base64.b64decode(body).decode()
        command = json.loads(body)
        return f"iam:{caller}", command if isinstance(command, dict) else {}
    request_id = getattr(context, "aws_request_id", None) or "unknown"
    return f"invoke:{request_id}", event


def _operator(caller: str) -> Principal:
    """The console user acts as a regional operator (invoking this function through the MFA role is the gate)."""
    return Principal(sub=f"console:{caller}", role=Role.OPERATOR, municipality=WHOLE_REGION)


def _open_period(ctx: Context, command: OpenPeriodCommand, operator: Principal) -> dict[str, Any]:
    body = command.period
    period = Period(
        period_id=PeriodId(body.period_id),
        starts_on=body.starts_on,
        ends_on=body.ends_on,
        nominal=body.nominal,
        quotas=dict(body.quotas),
        timezone=ctx.settings.region_timezone,
        age_nominals=tuple(AgeNominal(b.age_min, b.age_max, b.nominal) for b in body.age_nominals),
    )
    try:
        state = periods.open_period(ctx, operator, period)
    except errors.PeriodExists:
        # Already open: schedule its top-up again (a schedule that failed the first time) and report it as it is.
        periods.schedule_again(ctx, operator, period.period_id)
        state = periods.get(ctx, operator, period.period_id)
    return PeriodOut.of(state).model_dump(mode="json")


def _progress(ctx: Context, operator: Principal, period_id: str) -> dict[str, Any]:
    return PeriodOut.of(periods.get(ctx, operator, period_id)).model_dump(mode="json")


def _run_topup(ctx: Context, command: RunTopupCommand, budget: float, operator: Principal) -> dict[str, Any]:
    complete = run_topup(ctx, command.period_id, budget)
    return {"complete": complete, "period": _progress(ctx, operator, command.period_id)}


def _reconcile(certificate_id: str) -> dict[str, Any]:
    found = certificates.reconcile(certificate_id)
    if not found.consistent:
        telemetry.count("LedgerDrift")
    return {
        "certificate_id": certificate_id,
        "period_id": found.period_id,
        "consistent": found.consistent,
        "drift": found.drift,
    }


def _reconcile_all(deadline: float) -> dict[str, Any]:
    """Every certificate's balance against its ledger (a Scan: an operator's job, never a request path)."""
    checked, drifted, finished = 0, [], True
    for certificate_id in certificate_store.all_ids():
        if time.monotonic() > deadline:
            finished = False
            break
        checked += 1
        if not certificates.reconcile(certificate_id).consistent:
            drifted.append(certificate_id)
    telemetry.count("LedgerDrift", len(drifted))
    return {"checked": checked, "drifted": drifted, "finished": finished}


def _decide_on_provider(
    ctx: Context, operator: Principal, command: SuspendProviderCommand | ReinstateProviderCommand
) -> dict[str, Any]:
    suspend = isinstance(command, SuspendProviderCommand)
    decision = ProviderDecision.SUSPEND if suspend else ProviderDecision.REINSTATE
    try:
        moved = providers.decide_on(ctx, operator, command.provider_id, decision, command.reason)
    except errors.InvalidTransition:
        moved = provider_store.get(command.provider_id)  # already where the operator wants it: nothing to do
        if moved.status is not (ProviderStatus.SUSPENDED if suspend else ProviderStatus.APPROVED):
            raise
    return {"provider_id": moved.provider_id, "status": moved.status.value}


def handle(ctx: Context, event: dict[str, Any], budget: float, caller: str) -> dict[str, Any]:
    # The event is JSON: validate it as JSON, so strict models read dates from strings as they do over HTTP.
    command = _commands().validate_json(json.dumps(event))
    operator = _operator(caller)
    match command:
        case OpenPeriodCommand():
            return _open_period(ctx, command, operator)
        case RunTopupCommand():
            return _run_topup(ctx, command, budget, operator)
        case TopupProgressCommand():
            return _progress(ctx, operator, command.period_id)
        case ReconcileCommand():
            return _reconcile(command.certificate_id)
        case ReconcileAllCommand():
            return _reconcile_all(time.monotonic() + budget)
        case FreezeCommand():
            frozen = certificates.freeze(ctx, operator, command.certificate_id, command.reason)
            return {"certificate_id": frozen.certificate_id, "status": frozen.status.value}
        case UnfreezeCommand():
            lifted = certificates.unfreeze(ctx, operator, command.certificate_id)
            return {"certificate_id": lifted.certificate_id, "status": lifted.status.value}
        case SuspendProviderCommand() | ReinstateProviderCommand():
            return _decide_on_provider(ctx, operator, command)
        case BackfillIdentitiesCommand():
            # Certificates issued before one-certificate-per-child: give each its identity, list the duplicates.
            done = duplicates.backfill_identities(ctx)
            pairs = [{"certificate_id": c, "identity_held_by": h} for c, h in done.duplicates]
            return {"claimed": done.claimed, "duplicates": pairs}
    raise AssertionError(f"unhandled command {command!r}")  # pragma: no cover - the union is exhaustive


def admin(event: dict[str, Any], context: Any) -> dict[str, Any]:
    ctx = runtime.context()
    started = time.perf_counter()
    budget = seconds_to_work(context, SAFETY_MARGIN_SECONDS)
    caller = "unknown"
    action = None
    try:
        caller, command = invoker(event if isinstance(event, dict) else {}, context)
        action = command.get("action")
        reply: dict[str, Any] = {"ok": True, "action": action, "result": handle(ctx, command, budget, caller)}
    except errors.DomainError as refusal:
        reply = {"ok": False, "action": action, "error": {"code": refusal.code, "message": refusal.message}}
    except ValidationError as invalid:
        problems = [
            {"field": ".".join(map(str, p["loc"])), "problem": p["msg"]} for p in invalid.errors(include_url=False)
        ]
        reply = {"ok": False, "action": action, "error": {"code": "validation_error", "details": problems}}
    except ValueError as unreadable:  # NoIdentity, a body that is not JSON (or not base64): after ValidationError
        reply = {"ok": False, "action": action, "error": {"code": "invalid_request", "message": str(unreadable)}}
    runtime.logger().info(
        "admin",
        extra={
            "action": action,
            "actor": f"console:{caller}",
            "outcome": "ok" if reply["ok"] else reply["error"]["code"],
            "latency_ms": round((time.perf_counter() - started) * 1000, 1),
        },
    )
    return reply


__all__ = ["admin", "handle"]
