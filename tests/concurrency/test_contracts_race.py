"""Contracts raced by several OS processes against DynamoDB Local: seats (I6), holds (I1), charges (I5), the
enrolment's Idempotency-Key (I4), and cancellations racing charges and enrolments (I2, I3, I6).

Every worker is a spawned interpreter on the test's tables with its own services Context, its clock at the same
instant (harness.py); its DynamoDB clients are created before the start (a read), then the workers start together
behind a barrier (and, where a scenario has rounds, meet at a barrier of their own before each round); outcomes
come back through a queue and any unexpected exception (a 5xx at the edge) fails the test. After every scenario
``reconcile_everything`` checks every certificate, contract and program of the test's tables.

Sizes: 200 funded children (4 processes x 50 threads) for 10 seats; one certificate enrolling in 12 programs
(4 processes x 3 threads); 6 processes charging one month at once, 4 months in turn; 4 processes charging the 11
months of a contract that holds 3.5 months' price; 6 processes POSTing one enrolment with one Idempotency-Key;
6 rounds, each cancelling one contract by its parent and its provider at once while 2 processes charge two of its
months and a 5th enrols a child in the full program. The last test injects what AWS does and DynamoDB Local does
not (a transactional read cancelled by a concurrent write).
"""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import pytest
from chalice.test import Client

from chalicelib.domain import errors
from chalicelib.domain.contract import ContractStatus
from chalicelib.domain.ledger import EntryKind
from chalicelib.services.context import Context
from chalicelib.storage import certificates as certificate_store
from tests.concurrency.audit import quota
from tests.concurrency.contracts_support import (
    CONTRACT_MONTHS,
    CREDITED,
    IN_DECEMBER,
    Move,
    active_contract,
    cancelled_by_a_concurrent_write,
    certified_program,
    charge_in_rounds,
    contract_with_hold,
    enrol_in_programs,
    enrol_together,
    funded_child,
    funded_like,
    moves_in_rounds,
    post_enrolment,
    posted,
    reconcile_everything,
    subject_amount,
    write_chalice_project,
)
from tests.concurrency.harness import SPAWN, Stage, run_workers, same
from tests.concurrency.world import IN_A, MUNICIPALITY, PERIOD_A, PROVIDER, open_period_a, parent
from tests.conftest import test_environment as stage_environment
from tests.integration.test_http import call, token

pytestmark = pytest.mark.slow

MONTHS = len(CONTRACT_MONTHS)  # a contract enrolled on 11 February 2027 holds 11 months


def test_two_hundred_children_racing_for_ten_seats_get_exactly_ten_contracts_and_every_loser_no_seats(
    ctx: Context, stage: Stage
) -> None:
    processes, per_process, capacity, price = 4, 50, 10, 20_000
    children = processes * per_process
    open_period_a(ctx, quota=children)
    guardians = [f"guardian-{n:03d}" for n in range(children)]
    certificate_ids = funded_like(ctx, guardians)
    assert int(quota(PERIOD_A, MUNICIPALITY).funded) == children
    program_id = certified_program(price, capacity)
    pairs = list(zip(certificate_ids, guardians, strict=True))
    step = SPAWN.Barrier(processes)

    results = run_workers(
        stage, same(enrol_together, [(pairs[w::processes], program_id, step) for w in range(processes)])
    )

    enrolments = results.of("enrol")
    assert len(enrolments) == children
    assert results.codes("enrol") == {"ok": capacity, "no_seats": children - capacity}, results.codes("enrol")
    assert errors.NoSeats.status == 409
    winners = {o.subject for o in enrolments if o.ok}
    reconciled = reconcile_everything(expected_certificates=children)
    record = reconciled.programs[program_id]
    assert (int(record.seats_taken), int(record.capacity)) == (capacity, capacity)
    assert {s.record for s in reconciled.seats[program_id]} == {f"seat#{c}" for c in winners}
    assert {c.certificate_id for c in reconciled.contracts.values()} == winners
    assert all(c.status == ContractStatus.REQUESTED.value for c in reconciled.contracts.values())
    for certificate_id, audit in reconciled.audits.items():
        held = price * MONTHS if certificate_id in winners else 0
        assert audit.certificate.balance.held == held
        assert audit.certificate.balance.available == CREDITED - held
        assert [e.kind for e in audit.entries if e.kind is not EntryKind.CREDIT] == [EntryKind.HOLD] * bool(held)


def test_one_certificate_enrolling_in_twelve_programs_at_once_never_holds_more_than_was_credited(
    ctx: Context, stage: Stage
) -> None:
    processes, per_process = 4, 3
    open_period_a(ctx, quota=1)
    guardian = "guardian-many"
    certificate_id = funded_child(ctx, guardian)
    rng = random.Random(11)
    prices = [rng.randrange(10_000, 40_001, 500) for _ in range(processes * per_process)]
    programs = [(certified_program(price, capacity=5), price * MONTHS) for price in prices]
    assert sum(hold for _, hold in programs) > 2 * CREDITED
    step = SPAWN.Barrier(processes)
    plans = [programs[w * per_process : (w + 1) * per_process] for w in range(processes)]

    results = run_workers(stage, same(enrol_in_programs, [(guardian, certificate_id, plan, step) for plan in plans]))

    codes = results.codes("enrol")
    assert set(codes) == {"ok", "insufficient_funds"} and sum(codes.values()) == len(programs), codes
    won = dict(subject_amount(o) for o in results.of("enrol") if o.ok)
    certificate = certificate_store.get(certificate_id)
    balance = certificate.balance
    held = sum(won.values())
    assert held <= CREDITED
    assert (balance.credited, balance.held, balance.available) == (CREDITED, held, CREDITED - held)
    assert balance.available >= 0
    # Available only went down during the race, so every refusal was right: the hold was more than what was left.
    refused = [subject_amount(o) for o in results.of("enrol") if o.code == "insufficient_funds"]
    assert all(hold > balance.available for _, hold in refused), (refused, balance)
    reconciled = reconcile_everything(expected_certificates=1)
    assert {c.program_id: c.hold_amount for c in reconciled.contracts.values()} == won
    assert sorted(certificate.open_holds.values()) == sorted(won.values())
    for program_id, _ in programs:
        assert int(reconciled.programs[program_id].seats_taken) == (program_id in won)


def test_six_processes_charging_the_same_month_at_once_one_wins_and_the_others_hear_month_charged(
    ctx: Context, stage: Stage
) -> None:
    processes, price = 6, 50_000
    open_period_a(ctx, quota=1)
    certificate_id, contract_id = active_contract(ctx, "guardian-charges", certified_program(price, capacity=5))
    months = CONTRACT_MONTHS[:4]
    step = SPAWN.Barrier(processes)
    plans = [[(month, price - 1_000 * w) for month in months] for w in range(processes)]  # each its own amount

    results = run_workers(stage.at(IN_DECEMBER), same(charge_in_rounds, [(contract_id, p, step) for p in plans]))

    winners: dict[str, int] = {}
    for month in months:
        tries = [o for o in results.of("charge") if subject_amount(o)[0] == month]
        assert sorted(o.code for o in tries) == ["month_charged"] * (processes - 1) + ["ok"], (month, tries)
        winners[month] = next(subject_amount(o)[1] for o in tries if o.ok)
    reconciled = reconcile_everything(expected_certificates=1)
    contract = reconciled.contracts[contract_id]
    assert contract.charges.as_dict() == winners
    assert int(contract.charged_total) == sum(winners.values())
    assert int(contract.remaining_hold) == price * MONTHS - sum(winners.values())
    charges = reconciled.audits[certificate_id].of(EntryKind.CHARGE)
    assert sorted((e.month, e.amount) for e in charges) == sorted(winners.items())


def test_charges_of_different_months_racing_on_a_nearly_used_hold_never_take_more_than_the_hold(
    ctx: Context, stage: Stage
) -> None:
    processes, price = 4, 40_000
    hold = 3 * price + price // 2
    open_period_a(ctx, quota=1)
    program_id = certified_program(price, capacity=5)
    certificate_id, contract_id = contract_with_hold(ctx, "guardian-short", program_id, hold)
    plans = [[(month, price) for month in CONTRACT_MONTHS[w::processes]] for w in range(processes)]

    results = run_workers(stage.at(IN_DECEMBER), same(charge_in_rounds, [(contract_id, p, None) for p in plans]))

    assert results.codes("charge") == {"ok": 3, "over_hold": MONTHS - 3}, results.codes("charge")
    reconciled = reconcile_everything(expected_certificates=1)
    contract = reconciled.contracts[contract_id]
    assert (int(contract.charged_total), int(contract.remaining_hold)) == (3 * price, hold - 3 * price)
    certificate = reconciled.audits[certificate_id].certificate
    assert certificate.open_holds == {contract_id: hold - 3 * price}
    assert (certificate.balance.spent, certificate.balance.held) == (3 * price, hold - 3 * price)


def test_six_retries_of_one_enrolment_with_one_idempotency_key_make_one_contract_and_one_hold(
    ctx: Context, stage: Stage, table_prefix: str, tmp_path: Path
) -> None:
    processes, price, sub = 6, 30_000, "parent-retrying"
    open_period_a(ctx, quota=1)
    certificate_id = funded_child(ctx, sub)
    program_id = certified_program(price, capacity=5)
    project = write_chalice_project(tmp_path, stage_environment(table_prefix))
    body = json.dumps({"certificate_id": certificate_id, "program_id": program_id})
    step = SPAWN.Barrier(processes)
    args = (project, IN_A.isoformat(), sub, body, "enrol-once", step)

    results = run_workers(stage, same(post_enrolment, [args] * processes))

    answers = [posted(o) for o in results.of("post")]
    assert len(answers) == processes
    print(Counter((a.status, a.error or "", "replayed" if a.replayed else "first") for a in answers))  # with -s
    # Observed with warm workers: six 201s, five of them replays. A 409 request_in_progress is what a retry gets
    # when the first request outlives the edge's wait (5 s): seen with cold workers on an overloaded machine.
    assert all(a.status == 201 or (a.status, a.error) == (409, "request_in_progress") for a in answers), answers
    created = [a for a in answers if a.status == 201]
    assert len({a.contract_id for a in created}) == 1, answers
    assert sum(not a.replayed for a in created) == 1, answers
    reconciled = reconcile_everything(expected_certificates=1)
    assert list(reconciled.contracts) == [created[0].contract_id]
    holds = reconciled.audits[certificate_id].of(EntryKind.HOLD)
    assert [(e.contract_id, e.amount) for e in holds] == [(created[0].contract_id, price * MONTHS)]
    assert int(reconciled.programs[program_id].seats_taken) == 1


def test_cancellations_racing_charges_and_an_enrolment_conserve_the_money_and_never_overfill_the_program(
    ctx: Context, stage: Stage
) -> None:
    rounds, chargers, price = 6, 2, 30_000
    open_period_a(ctx, quota=2 * rounds)
    program_id = certified_program(price, capacity=rounds)
    contracts_ = [active_contract(ctx, f"guardian-cancel-{r}", program_id) for r in range(rounds)]  # full
    late = list(zip(funded_like(ctx, [f"guardian-late-{r}" for r in range(rounds)]), range(rounds), strict=True))
    rng = random.Random(3)
    months = [rng.sample(CONTRACT_MONTHS, chargers) for _ in contracts_]  # different months of each contract
    # Round r: contract r is cancelled by its parent and by the provider at once, while two processes charge two
    # of its months and a child without a seat enrols in the (full) program.
    movers = [
        [Move("cancel", c, parent(f"guardian-cancel-{r}")) for r, (_, c) in enumerate(contracts_)],
        [Move("cancel", c, PROVIDER) for _, c in contracts_],
        *(
            [Move("charge", c, month=months[r][w], amount=price - 500 * w) for r, (_, c) in enumerate(contracts_)]
            for w in range(chargers)
        ),
        [Move("enrol", cid, parent(f"guardian-late-{r}"), program=program_id) for cid, r in late],
    ]
    step = SPAWN.Barrier(len(movers))

    results = run_workers(stage.at(IN_DECEMBER), same(moves_in_rounds, [(moves, step) for moves in movers]))

    reconciled = reconcile_everything(expected_certificates=2 * rounds)
    orders: Counter[str] = Counter()
    hold = price * MONTHS
    for certificate_id, contract_id in contracts_:
        cancels = sorted(o.code for o in results.outcomes if o.action.startswith("cancel") and o.subject == contract_id)
        assert cancels == ["invalid_transition", "ok"], (contract_id, cancels)
        charges = [o for o in results.of("charge") if o.subject.startswith(f"{contract_id}:")]
        assert len(charges) == chargers and {o.code for o in charges} <= {"ok", "not_active"}, charges
        charged = sum(int(o.subject.rsplit(":", 1)[1]) for o in charges if o.ok)
        contract = reconciled.contracts[contract_id]
        assert contract.status == ContractStatus.CANCELLED.value
        assert (int(contract.charged_total), int(contract.remaining_hold)) == (charged, 0)
        released = [e.amount for e in reconciled.audits[certificate_id].of(EntryKind.RELEASE)]
        assert len(released) == 1 and charged + released[0] == hold
        balance = reconciled.audits[certificate_id].certificate.balance
        assert (balance.credited, balance.spent, balance.held) == (CREDITED, charged, 0)
        assert balance.available == CREDITED - charged
        orders[f"{sum(o.ok for o in charges)} of {chargers} charges landed before the cancellation"] += 1
    # A late child finds the program full only while no seat was freed yet: after a refusal a seat stays free.
    enrolments = results.codes("enrol")
    assert set(enrolments) <= {"ok", "no_seats"} and enrolments["ok"] >= rounds - 1, enrolments
    seated = {o.subject for o in results.of("enrol") if o.ok}
    assert int(reconciled.programs[program_id].seats_taken) == len(seated)
    assert {c.certificate_id for c in reconciled.contracts.values() if c.status == "requested"} == seated
    orders[f"{enrolments['no_seats']} late enrolments found the program full"] += 1
    print(dict(orders))  # which interleavings this run produced (-s shows them)


def test_an_enrolment_whose_read_is_cancelled_by_a_concurrent_write_is_not_a_server_error(
    ctx: Context, api: Client
) -> None:
    """In a rush for seats on AWS, the enrolment's consistent read (TransactGetItems of the certificate and the
    program) is cancelled whenever another enrolment's transaction is writing the program at that moment
    (TransactionCanceledException, reason TransactionConflict). That is a busy resource, like the conflicts of the
    writes that the product retries: the parent should get the contract (the read retried) or a 409/503 to retry,
    never a 500. DynamoDB Local never cancels a read, so the AWS answer is injected (once)."""
    open_period_a(ctx, quota=1)
    certificate_id = funded_child(ctx, "parent-in-a-rush")
    program_id = certified_program(20_000, capacity=5)
    assert call(api, "POST", "/dev/clock", {"now": IN_A.isoformat()}).status_code == 200
    headers = {**token(api, role="parent", sub="parent-in-a-rush"), "Idempotency-Key": "rush-1"}
    body = {"certificate_id": certificate_id, "program_id": program_id}

    with cancelled_by_a_concurrent_write("TransactGetItems") as answered:
        response = call(api, "POST", "/contracts", body, headers)

    assert answered == ["TransactGetItems"]
    assert response.status_code in (201, 409, 503), (response.status_code, response.body)
    reconciled = reconcile_everything(expected_certificates=1)
    assert len(reconciled.contracts) == (response.status_code == 201)
