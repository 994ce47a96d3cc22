"""A randomized invariant test in the spirit of Jepsen's bank test: four processes run a random mix of funding,
enrolment, acceptance, charges (some through HTTP, some sent twice with one Idempotency-Key), cancellations,
declines, the top-up of the next period and its rollover on first touch, against DynamoDB Local; then the checker
verifies I1-I8 for every certificate, contract and program and holds every answer against the ledger (bank.py).

Sizes: 4 processes x 150 operations (600) per seed, over 30 children in 3 municipalities (quotas for 15 of them in
2027, 12 in 2028), 10 programs of 1-3 seats, 2 providers. The seeds are fixed, so each run makes the same operations
(how the processes interleave is the engine's); a failure names its seed and the command that reruns it.
``PFDO_BANK_SEED`` runs one seed of your choice, ``PFDO_BANK_OPERATIONS`` changes the operations per process.
"""

from __future__ import annotations

import os
import time
from dataclasses import replace
from pathlib import Path

import pytest

from chalicelib.platform.clock import SettableClock
from chalicelib.services.context import Context
from tests.concurrency import bank
from tests.concurrency.contracts_support import write_chalice_project
from tests.concurrency.harness import Stage, run_workers
from tests.conftest import test_environment as stage_environment

pytestmark = pytest.mark.slow

SEEDS = [int(os.environ["PFDO_BANK_SEED"])] if os.environ.get("PFDO_BANK_SEED") else [20270901, 1917]
OPERATIONS = int(os.environ.get("PFDO_BANK_OPERATIONS", "150"))
WORKERS = 4


@pytest.mark.parametrize("seed", SEEDS)
def test_random_operations_of_four_processes_keep_every_invariant_and_every_answer_true(
    ctx: Context, clock: SettableClock, stage: Stage, table_prefix: str, tmp_path: Path, seed: int
) -> None:
    rerun = f"PFDO_BANK_SEED={seed} PFDO_BANK_OPERATIONS={OPERATIONS} .venv/bin/pytest -n 0 {__file__}"
    print(f"bank test: seed {seed}, {WORKERS} processes x {OPERATIONS} operations (rerun: {rerun})")
    clock.set(bank.START)  # the test's own context (setting up, then settling and checking)
    world = bank.build(ctx, seed)
    plans = bank.plan(seed, WORKERS, OPERATIONS)
    project = write_chalice_project(tmp_path, stage_environment(table_prefix))
    racing = replace(
        stage,
        env={**stage.env, "PFDO_CONTRACT_RESPONSE_DAYS": str(bank.RESPONSE_DAYS)},
        instant=bank.START,
        topup_page_size=4,
    )

    try:
        started = time.monotonic()
        results = run_workers(racing, [(bank.bank_worker, (world, ops, project)) for ops in plans])
        raced = time.monotonic()
        bank.settle(ctx, world)
        bank.check(world, results)
    except AssertionError as failure:
        raise AssertionError(f"seed {seed} failed; rerun with: {rerun}\n{failure}") from None

    outcomes = bank.summary(results)
    print(f"seed {seed}: workers {raced - started:.1f} s, settle and check {time.monotonic() - raced:.1f} s")
    print(outcomes)
    assert sum(sum(codes.values()) for codes in outcomes.values()) >= WORKERS * OPERATIONS
    # The run was a race, not a parade: charges landed and collided, the quota ran out, B's top-up ran.
    assert outcomes["charge"].get("ok", 0) >= 3 and outcomes["charge"].get("month_charged", 0) >= 3, outcomes
    assert outcomes["fund"].get("quota_exhausted", 0) >= 1 and outcomes["topup"].get("ok", 0) >= 1, outcomes
