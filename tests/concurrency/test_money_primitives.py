"""I1, I4 and I5 at the level of the money primitives (``storage.movements.add_hold`` / ``add_charge`` /
``add_release`` in a ``Transaction``), raced by several processes on ONE certificate.

Each worker waits at a barrier of its peers before each step, so the n-th attempts of all workers hit DynamoDB
Local together. Sizes: 8 holding processes x 13 holds (and a 9th process reading the balance all along); 6 processes
x 6 months on one contract-month at a time; 6 processes x 2 different months; 5 charging processes x 2 months and a
cancelling one.
"""

from __future__ import annotations

import random
from datetime import date

from chalicelib.domain.certificate import Balance
from chalicelib.domain.ledger import EntryKind
from chalicelib.services import certificates
from chalicelib.services.context import Context
from chalicelib.storage import certificates as certificate_store
from tests.concurrency import workers
from tests.concurrency.audit import audit_all
from tests.concurrency.harness import SPAWN, Stage, assert_clean, run_workers, same, start_workers
from tests.concurrency.world import MUNICIPALITY, NOMINAL_A, PERIOD_A, open_period_a, parent

CREDITED = NOMINAL_A * 11 // 12  # funded on 11 February: eleven months of A
GUARDIAN = "guardian-primitives"


def funded_certificate(ctx: Context, hold: tuple[str, int] | None = None) -> str:
    """A certificate funded in A (through the services), with one hold placed on it if asked."""
    open_period_a(ctx, quota=10)
    who = parent(GUARDIAN)
    certificate = certificates.register_child(ctx, who, "Анна Смирнова", date(2016, 5, 1), MUNICIPALITY)
    certificates.fund(ctx, who, certificate.certificate_id)
    if hold is not None:
        workers.hold(ctx, certificate.certificate_id, PERIOD_A, *hold)
    return certificate.certificate_id


def test_holds_racing_on_one_certificate_never_take_more_than_was_credited(ctx: Context, stage: Stage) -> None:
    certificate_id = funded_certificate(ctx)
    processes, rounds = 8, 12
    rng = random.Random(5)
    shared = ("contract-shared", 50_000)  # every worker's first hold: the same contract
    plans = [
        [shared, *((f"contract-{w}-{r}", rng.randrange(40_000, 160_000)) for r in range(rounds))]
        for w in range(processes)
    ]
    step, stop = SPAWN.Barrier(processes), SPAWN.Event()
    holders = same(workers.place_holds, [(certificate_id, PERIOD_A, plan, step) for plan in plans])
    started = start_workers(stage, [*holders, (workers.observe, (certificate_id, stop))])
    try:
        for process in started.processes[:processes]:
            process.join(timeout=120)
        stop.set()
        results = started.collect()
    finally:
        started.kill_all()
    assert_clean(results)

    assert results.codes("observe")["ok"] > 0 and set(results.codes("observe")) == {"ok"}, results.codes("observe")
    holds = results.of("hold")
    assert len(holds) == processes * (rounds + 1)
    assert set(results.codes("hold")) <= {"ok", "insufficient_funds", "already_applied"}, results.codes("hold")
    first = [o for o in holds if o.subject.startswith("contract-shared:")]
    assert sorted(o.code for o in first) == ["already_applied"] * (processes - 1) + ["ok"]
    won = {o.subject.split(":")[0]: int(o.subject.split(":")[1]) for o in holds if o.ok}
    certificate = certificate_store.get(certificate_id)
    assert certificate.open_holds == won
    assert certificate.balance == Balance(
        credited=CREDITED, available=CREDITED - sum(won.values()), held=sum(won.values())
    )
    assert sum(won.values()) <= CREDITED
    # Available only went down during the race, so every refusal was right: the hold was more than what is left.
    for refused in (o for o in holds if o.code == "insufficient_funds"):
        assert int(refused.subject.split(":")[1]) > certificate.balance.available, refused
    audit_all(expected=1)


def test_six_processes_charging_the_same_contract_month_at_once_exactly_one_wins(ctx: Context, stage: Stage) -> None:
    processes, charge = 6, 50_000
    months = [f"2027-{m:02d}" for m in range(2, 8)]
    certificate_id = funded_certificate(ctx, hold=("contract-k", charge * len(months)))
    step = SPAWN.Barrier(processes)
    plan = [(month, charge) for month in months]
    results = run_workers(
        stage, same(workers.charge_months, [(certificate_id, PERIOD_A, "contract-k", plan, step)] * processes)
    )

    for month in months:
        codes = sorted(o.code for o in results.of("charge") if o.subject == month)
        assert codes == ["already_applied"] * (processes - 1) + ["ok"], (month, codes)
    certificate = certificate_store.get(certificate_id)
    assert certificate.open_holds == {"contract-k": 0}
    assert certificate.balance == Balance(credited=CREDITED, available=CREDITED - 300_000, spent=300_000)
    audits = audit_all(expected=1)
    assert sorted(e.month for e in audits[certificate_id].of(EntryKind.CHARGE)) == months


def test_charges_of_different_months_racing_never_exceed_the_hold(ctx: Context, stage: Stage) -> None:
    processes, charge, hold = 6, 30_000, 100_000
    certificate_id = funded_certificate(ctx, hold=("contract-k", hold))
    step = SPAWN.Barrier(processes)
    plans = [[(f"2027-{2 * w + 1:02d}", charge), (f"2027-{2 * w + 2:02d}", charge)] for w in range(processes)]
    results = run_workers(
        stage, same(workers.charge_months, [(certificate_id, PERIOD_A, "contract-k", p, step) for p in plans])
    )

    assert results.codes("charge") == {"ok": hold // charge, "over_hold": 2 * processes - hold // charge}
    certificate = certificate_store.get(certificate_id)
    assert certificate.open_holds == {"contract-k": hold % charge}
    assert certificate.balance.held == hold % charge
    assert certificate.balance.spent == charge * (hold // charge)
    audit_all(expected=1)


def test_a_release_racing_charges_conserves_the_money(ctx: Context, stage: Stage) -> None:
    chargers, charge, hold = 5, 20_000, 120_000
    certificate_id = funded_certificate(ctx, hold=("contract-k", hold))
    plans = [[(f"2027-{2 * w + 1:02d}", charge), (f"2027-{2 * w + 2:02d}", charge)] for w in range(chargers)]
    work = same(workers.charge_months, [(certificate_id, PERIOD_A, "contract-k", p, None) for p in plans])
    results = run_workers(stage, [*work, (workers.cancel, (certificate_id, PERIOD_A, "contract-k"))])

    charged = charge * results.codes("charge")["ok"]
    assert set(results.codes("charge")) <= {"ok", "hold_not_found", "over_hold"}, results.codes("charge")
    releases = results.of("release")
    assert all(o.code == "concurrent_update" for o in releases[:-1]), releases
    final = releases[-1]
    assert final.ok, final
    released = 0 if final.subject == "nothing left" else int(final.subject)
    assert charged + released == hold
    certificate = certificate_store.get(certificate_id)
    assert certificate.balance == Balance(credited=CREDITED, available=CREDITED - charged, spent=charged)
    assert "contract-k" not in certificate.open_holds or certificate.open_holds == {"contract-k": 0}
    audits = audit_all(expected=1)
    assert sum(e.amount for e in audits[certificate_id].of(EntryKind.RELEASE)) == released
