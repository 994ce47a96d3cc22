"""The operators' console function: one Lambda invoked with a JSON event (test events in infra/events/).

Every action is idempotent (running it twice leaves the same state) and logged with the operator's name.
"""

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

Operator = Annotated[str, Field(min_length=1, max_length=128)]
CertificateId = Annotated[str, Field(pattern=r"^\d{10}$")]
Reason = Annotated[str, Field(min_length=1, max_length=500)]
# Leave time to answer before Lambda stops the function.
SAFETY_MARGIN_SECONDS = 30.0


class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)
    operator: Operator = "console"


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


def _operator(command: _Command) -> Principal:
    """The console user acts as a regional operator (their IAM permission to invoke this function is the gate)."""
    return Principal(sub=f"console:{command.operator}", role=Role.OPERATOR, municipality=WHOLE_REGION)


def _open_period(ctx: Context, command: OpenPeriodCommand) -> dict[str, Any]:
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
        state = periods.open_period(ctx, _operator(command), period)
    except errors.PeriodExists:
        # Already open: schedule its top-up again (a schedule that failed the first time) and report it as it is.
        periods.schedule_again(ctx, _operator(command), period.period_id)
        state = periods.get(ctx, _operator(command), period.period_id)
    return PeriodOut.of(state).model_dump(mode="json")


def _progress(ctx: Context, command: _Command, period_id: str) -> dict[str, Any]:
    return PeriodOut.of(periods.get(ctx, _operator(command), period_id)).model_dump(mode="json")


def _run_topup(ctx: Context, command: RunTopupCommand, budget: float) -> dict[str, Any]:
    complete = run_topup(ctx, command.period_id, budget)
    return {"complete": complete, "period": _progress(ctx, command, command.period_id)}


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


def handle(ctx: Context, event: dict[str, Any], budget: float) -> dict[str, Any]:
    # The event is JSON: validate it as JSON, so strict models read dates from strings as they do over HTTP.
    command = _commands().validate_json(json.dumps(event))
    operator = _operator(command)
    match command:
        case OpenPeriodCommand():
            return _open_period(ctx, command)
        case RunTopupCommand():
            return _run_topup(ctx, command, budget)
        case TopupProgressCommand():
            return _progress(ctx, command, command.period_id)
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
    action = event.get("action") if isinstance(event, dict) else None
    operator = event.get("operator", "console") if isinstance(event, dict) else None
    try:
        reply: dict[str, Any] = {"ok": True, "action": action, "result": handle(ctx, event, budget)}
    except errors.DomainError as refusal:
        reply = {"ok": False, "action": action, "error": {"code": refusal.code, "message": refusal.message}}
    except ValidationError as invalid:
        problems = [
            {"field": ".".join(map(str, p["loc"])), "problem": p["msg"]} for p in invalid.errors(include_url=False)
        ]
        reply = {"ok": False, "action": action, "error": {"code": "validation_error", "details": problems}}
    runtime.logger().info(
        "admin",
        extra={
            "action": action,
            "actor": f"console:{operator}",
            "outcome": "ok" if reply["ok"] else reply["error"]["code"],
            "latency_ms": round((time.perf_counter() - started) * 1000, 1),
        },
    )
    return reply


__all__ = ["admin", "handle"]
