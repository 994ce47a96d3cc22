"""Programs: an approved provider publishes them, edits its own, an operator certifies them, either closes them.

Price and capacity changes look forward only: a contract keeps the price it was made at (contracts copy it), and the
capacity never goes below the seats taken (a condition in the same write, never a read-then-write).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from chalicelib.domain import errors
from chalicelib.domain.actors import Principal, Role
from chalicelib.domain.ledger import utc_stamp
from chalicelib.domain.program import (
    Action,
    Program,
    ProgramChanges,
    ProgramDraft,
    ProgramStatus,
    check_editable,
    check_may,
    check_may_list,
    check_owner,
    is_owner,
    next_status,
    program_months,
)
from chalicelib.domain.search import search_text
from chalicelib.services.context import Context
from chalicelib.storage import periods as period_store
from chalicelib.storage import programs as store
from chalicelib.storage import providers as provider_store
from chalicelib.storage.pages import Page
from chalicelib.storage.programs import Edit, Edited
from chalicelib.storage.retry import Backoff, retry

EDIT_BACKOFF = Backoff(3)


# --- who sees what ---------------------------------------------------------------------------------------------------


def visible(actor: Principal | None, program: Program) -> Program:
    """Anyone sees a program once it is published (closed ones too: families with contracts look them up); a draft
    only its provider. To anyone else a draft does not exist."""
    if program.status is ProgramStatus.DRAFT and not is_owner(actor, program.provider_id):
        raise errors.ProgramNotFound()
    return program


def view(ctx: Context, actor: Principal | None, program_id: str) -> Program:
    """One GetItem (eventually consistent: a public read)."""
    return visible(actor, store.get(program_id, consistent=False))


# --- publishing ------------------------------------------------------------------------------------------------------


def create(
    ctx: Context,
    actor: Principal,
    draft: ProgramDraft,
    period_id: str,
    months: list[str] | None,
    as_draft: bool = False,
) -> Program:
    """A provider's new program, ``published`` (in the catalog at once) or a ``draft``. The provider must be
    approved: checked on read for a clear refusal, and again inside the write's transaction."""
    actor.require(Role.PROVIDER)
    provider_id = str(actor.provider_id)  # a provider's token always names it
    valid = draft.validated()
    period = period_store.get_period(period_id)
    if period.ends_on < ctx.today():
        raise errors.InvalidRequest(f"period {period_id} has ended")
    runs = program_months(period, months)
    try:
        provider = provider_store.require_approved(provider_id)
    except errors.ProviderNotFound:
        raise errors.ProviderNotApproved("the provider has no entry in the registry") from None
    stamp = utc_stamp(ctx.now())
    program = Program(
        program_id=store.new_program_id(),
        provider_id=provider.provider_id,
        provider_name=provider.name,
        title=valid.title,
        description=valid.description,
        direction=valid.direction,
        age_min=valid.age_min,
        age_max=valid.age_max,
        municipality=valid.municipality,
        address=valid.address,
        schedule=valid.schedule,
        period_id=period.period_id,
        months=runs,
        price_per_month=valid.price_per_month,
        capacity=valid.capacity,
        status=ProgramStatus.DRAFT if as_draft else ProgramStatus.PUBLISHED,
        created_at=stamp,
        updated_at=stamp,
        search_text=search_text(valid.title, valid.description),
    )
    return store.insert(program)


# --- changes ---------------------------------------------------------------------------------------------------------


def change(ctx: Context, actor: Principal, program_id: str, changes: ProgramChanges) -> Edited:
    """The owner edits its program, while the provider is approved (a condition of the write). Without
    title-xor-description or months this is one transaction (and a read of the result); otherwise the program is read
    first and the write is conditioned on what the derived values were made from. An edit that changes a certified
    term of a certified program sends it back to ``published`` (``Edited.certification_withdrawn``)."""
    actor.require(Role.PROVIDER)
    valid = changes.validated()

    def attempt(_n: int) -> Edited:
        edit = _edit(actor, program_id, valid)
        return store.edit(program_id, str(actor.provider_id), edit, utc_stamp(ctx.now()), actor.sub)

    return retry(attempt, EDIT_BACKOFF, on=errors.ConcurrentUpdate, gave_up="the program kept changing; retry")


def _edit(actor: Principal, program_id: str, changes: ProgramChanges) -> Edit:
    read: Program | None = None
    if (changes.title is None) != (changes.description is None) or changes.months is not None:
        read = store.get(program_id)
        _check_own(actor, read)
        check_editable(read.status)
    text: dict[str, Any] = {}
    if changes.touches_text:
        title = changes.title if changes.title is not None else _read(read).title
        description = changes.description if changes.description is not None else _read(read).description
        text = {
            "search_text": search_text(title, description),
            "read_title": None if changes.title is not None else title,
            "read_description": None if changes.description is not None else description,
        }
    months = None
    if changes.months is not None:
        months = program_months(period_store.get_period(_read(read).period_id), changes.months)
    return Edit(replace(changes, months=months), **text)


def _check_own(actor: Principal, program: Program) -> None:
    """Another provider is refused; another provider's draft does not exist for it."""
    try:
        check_owner(actor, program.provider_id)
    except errors.Forbidden:
        visible(actor, program)
        raise


def _read(program: Program | None) -> Program:
    if program is None:  # pragma: no cover - _edit reads whenever a derived value needs the stored one
        raise AssertionError("the program was not read")
    return program


# --- status ----------------------------------------------------------------------------------------------------------


def publish(ctx: Context, actor: Principal, program_id: str) -> Program:
    """draft -> published (the owner, while approved: a suspended provider puts nothing new in the catalog)."""
    return _move(ctx, actor, program_id, Action.PUBLISH)


def certify(ctx: Context, actor: Principal, program_id: str) -> Program:
    """published -> certified (an operator of the program's municipality, or of the region)."""
    return _move(ctx, actor, program_id, Action.CERTIFY)


def close(ctx: Context, actor: Principal, program_id: str) -> Program:
    """published or certified -> closed (the owner, or an operator of its municipality). Contracts run on."""
    return _move(ctx, actor, program_id, Action.CLOSE)


def _move(ctx: Context, actor: Principal, program_id: str, action: Action) -> Program:
    program = store.get(program_id)
    try:
        check_may(action, actor, program.provider_id, program.municipality)
    except errors.Forbidden:
        visible(actor, program)
        raise
    approved_by = None
    if action is Action.PUBLISH:
        # As create() does: only an approved provider publishes; read for a clear refusal, and a condition of the write.
        provider_store.require_approved(program.provider_id)
        approved_by = program.provider_id
    target = next_status(action, program.status)
    return store.move(program, target, utc_stamp(ctx.now()), actor.sub, approved_by=approved_by)


# --- lists -----------------------------------------------------------------------------------------------------------


def of_provider(
    ctx: Context, actor: Principal, provider_id: str, limit: int, after: dict[str, Any] | None
) -> Page[Program]:
    """The provider's programs in every status: for the provider itself, or an operator."""
    check_may_list(actor, provider_id)
    return store.of_provider(provider_id, limit, after)
