"""Bodies of the worker processes (top-level functions, so a spawned interpreter can import them).

Each takes the process's own services Context, a Reporter and plain arguments, and reports every attempt.
"""

from __future__ import annotations

import random
import threading
import time
from typing import Any

from chalicelib.domain import errors
from chalicelib.domain.ids import CertificateId, ContractId, PeriodId, ProviderId
from chalicelib.domain.ledger import Posting
from chalicelib.domain.movements import Charge, Hold, Release
from chalicelib.services import certificates
from chalicelib.services.context import Context
from chalicelib.services.rollover import run_topup
from chalicelib.storage import certificates as certificate_store
from chalicelib.storage import movements
from chalicelib.storage.transactions import Transaction
from tests.concurrency.harness import Reporter
from tests.concurrency.world import parent

ACTOR = "test:worker"


# --- funding -------------------------------------------------------------------------------------------------------


def fund_all(ctx: Context, reporter: Reporter, children: list[tuple[str, str]], seed: int) -> None:
    """Tries to fund every certificate, in an order of its own."""
    order = list(children)
    random.Random(seed).shuffle(order)
    for certificate_id, guardian in order:
        reporter.attempt("fund", certificate_id, lambda: certificates.fund(ctx, parent(guardian), certificate_id))


def fund_together(ctx: Context, reporter: Reporter, children: list[tuple[str, str]], step: Any) -> None:
    """Funds the certificates one after another, every worker the same one at the same moment (``step``: a barrier
    of the funding workers)."""
    for certificate_id, guardian in children:
        step.wait(timeout=60)
        reporter.attempt("fund", certificate_id, lambda: certificates.fund(ctx, parent(guardian), certificate_id))


# --- the money primitives ------------------------------------------------------------------------------------------


def hold(ctx: Context, certificate_id: str, period_id: str, contract_id: str, amount: int) -> None:
    tx = Transaction()
    planned = Hold(
        certificate_id=CertificateId(certificate_id),
        period_id=PeriodId(period_id),
        contract_id=ContractId(contract_id),
        amount=amount,
    )
    movements.add_hold(tx, planned, Posting(ctx.now()), ACTOR)
    tx.commit()


def charge(ctx: Context, certificate_id: str, period_id: str, contract_id: str, month: str, amount: int) -> None:
    tx = Transaction()
    planned = Charge(
        certificate_id=CertificateId(certificate_id),
        provider_id=ProviderId(""),  # the primitive moves the money; the contract's own rules are storage.contracts'
        period_id=PeriodId(period_id),
        contract_id=ContractId(contract_id),
        month=month,
        amount=amount,
    )
    movements.add_charge(tx, planned, Posting(ctx.now()), ACTOR)
    tx.commit()


def release(ctx: Context, certificate_id: str, period_id: str, contract_id: str, amount: int) -> None:
    tx = Transaction()
    planned = Release(
        certificate_id=CertificateId(certificate_id),
        period_id=PeriodId(period_id),
        contract_id=ContractId(contract_id),
        amount=amount,
        reason="cancelled",
    )
    movements.add_release(tx, planned, Posting(ctx.now()), ACTOR)
    tx.commit()


def place_holds(
    ctx: Context,
    reporter: Reporter,
    certificate_id: str,
    period_id: str,
    contracts: list[tuple[str, int]],
    step: Any,
) -> None:
    """Places the holds in turn, every worker its n-th hold at the same moment as the others (``step``: a barrier
    of the holding workers)."""
    for contract_id, amount in contracts:
        step.wait(timeout=60)
        reporter.attempt(
            "hold", f"{contract_id}:{amount}", lambda: hold(ctx, certificate_id, period_id, contract_id, amount)
        )


def observe(ctx: Context, reporter: Reporter, certificate_id: str, stop: Any) -> None:
    """Reads the certificate over and over while the others write: every read must show I1 and I2."""

    def look() -> None:
        balance = certificate_store.get(certificate_id).balance
        if not (balance.non_negative and balance.conserved):
            raise errors.DomainError(f"observed {balance}")

    while reporter.attempt("observe", certificate_id, look).ok and not stop.is_set():
        time.sleep(0.01)  # leave the CPU to the writers


def charge_months(
    ctx: Context,
    reporter: Reporter,
    certificate_id: str,
    period_id: str,
    contract_id: str,
    charges: list[tuple[str, int]],
    step: Any | None,
) -> None:
    """Charges the months in turn; with ``step`` (a barrier of the charging workers) every worker waits for the
    others before each charge."""
    for month, amount in charges:
        if step is not None:
            step.wait(timeout=60)
        reporter.attempt("charge", month, lambda: charge(ctx, certificate_id, period_id, contract_id, month, amount))


def cancel(ctx: Context, reporter: Reporter, certificate_id: str, period_id: str, contract_id: str) -> None:
    """Cancels the contract as the contracts service does: read what is still held, release exactly that (nothing
    when nothing is left); when a charge changed the hold in between, read again."""
    for _ in range(100):
        held = certificate_store.get(certificate_id).open_holds.get(contract_id)
        if not held:
            reporter.attempt("release", "nothing left", lambda: None)
            return
        outcome = reporter.attempt(
            "release", str(held), lambda: release(ctx, certificate_id, period_id, contract_id, held)
        )
        if outcome.code != "concurrent_update":
            return


# --- the top-up ----------------------------------------------------------------------------------------------------


def topup_job(ctx: Context, reporter: Reporter, period_id: str, pause_after: int | None, paused: Any) -> None:
    """Runs the period's top-up to completion; with ``pause_after``, every segment thread stops for good once that
    many rollover transactions have been committed (the one that reached it right after its commit, before the
    page's checkpoint): the test then kills the process with SIGKILL at a known, half-done state."""
    if pause_after is not None:
        _pause_after_commits(pause_after, paused)

    def complete() -> None:
        if not run_topup(ctx, period_id, 600.0):
            raise AssertionError("the top-up stopped before it was complete")

    reporter.attempt("topup", period_id, complete)


def _pause_after_commits(commits: int, paused: Any) -> None:
    """Wraps this process's ``commit_rollovers``: once ``commits`` transactions have been sent, no thread sends
    another; ``paused`` is set when the last one in flight has come back, so the progress the test reads stays put.
    The thread that sent the last one stops before checkpointing its page: money applied, cursor not saved."""
    commit = movements.commit_rollovers
    lock = threading.Lock()
    state = {"committed": 0, "in_flight": 0}
    forever = threading.Event()

    def commit_then_pause(*args: Any, **kwargs: Any) -> None:
        with lock:
            stopping = state["committed"] >= commits
            if not stopping:
                state["in_flight"] += 1
        if stopping:
            forever.wait()
        try:
            commit(*args, **kwargs)
        finally:
            with lock:
                state["in_flight"] -= 1
                state["committed"] += 1
                stopping = state["committed"] >= commits
                if stopping and state["in_flight"] == 0:
                    paused.set()
        if stopping:
            forever.wait()

    movements.commit_rollovers = commit_then_pause  # the services call it through the module: this process only


def parent_actions(
    ctx: Context, reporter: Reporter, families: list[tuple[str, list[str]]], seed: int, stop: Any, least: int
) -> None:
    """A parent's day while the top-up runs: view a child's certificate, fund it, list the children; at random,
    a few milliseconds apart, until ``stop`` is set (and at least ``least`` actions)."""
    rng = random.Random(seed)
    done = 0
    while done < least or not stop.is_set():
        guardian, children = rng.choice(families)
        certificate_id = rng.choice(children)
        who = parent(guardian)
        action = rng.choice(("view", "fund", "list"))
        if action == "view":
            reporter.attempt("view", certificate_id, lambda: certificates.view(ctx, who, certificate_id))
        elif action == "fund":
            reporter.attempt("fund", certificate_id, lambda: certificates.fund(ctx, who, certificate_id))
        else:
            reporter.attempt("list", guardian, lambda: certificates.list_children(ctx, who))
        done += 1
        time.sleep(0.005)
