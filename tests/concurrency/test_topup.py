"""I8 (top-up once), with I1/I2/I3/I7 checked after it: the year-start top-up of period B over the certificates funded
in period A, killed half-way and resumed, run by two processes at once (with enough quota, and with too little), and
raced by parents whose first touch rolls a certificate over.

Sizes: 1500 certificates funded in A and 75 accounting ones, three children to a guardian. A sixth of the funded
children (250) enrol through the contracts service: 376 contracts, some accepted and charged, some cancelled, so
about 190 certificates still hold money when A ends; 16 children turn 18 before B (their certificates close) and 28
during B (paid pro rata). The region is built once per module and copied into each test's tables. The job runs four
scan segments of 25 certificates a page (60+ pages and checkpoints a run); the kill comes after 20 rollover
transactions; three parent processes act every few milliseconds while the job runs; the short quota is 2/3 of the
certificates to credit.
"""

from __future__ import annotations

import os
import signal
import uuid
from dataclasses import replace

import pytest

from chalicelib.domain.certificate import Balance, CertificateStatus
from chalicelib.domain.ledger import EntryKind
from chalicelib.platform.clock import SettableClock
from chalicelib.platform.config import Settings
from chalicelib.services.context import Context
from chalicelib.services.periods import progress
from chalicelib.storage import periods as period_store
from chalicelib.storage.models import ContractRecord, PeriodRecord, QuotaRecord
from chalicelib.storage.tables import create_tables, delete_tables
from devtools.ddb_local import LocalEngine
from tests.concurrency import workers
from tests.concurrency.audit import CertificateAudit, audit_all, quota
from tests.concurrency.harness import SPAWN, Stage, assert_clean, run_workers, same, start_workers
from tests.concurrency.snapshot import Items, dump, restore
from tests.concurrency.world import (
    IN_A,
    IN_B,
    MUNICIPALITY,
    PERIOD_A,
    PERIOD_B,
    Child,
    FundedChild,
    Region,
    build_region,
    entitlement_b,
)

FUNDED = 1500
ACCOUNTING = 75
QUOTA_B = FUNDED + ACCOUNTING
PAGE = 25
SEGMENTS = 4
PAUSE_AFTER_COMMITS = 20  # about a third of the pages
PARENT_PROCESSES = 3

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def built(engine: LocalEngine) -> tuple[Region, Items]:
    """The region, built once through the services (in tables of its own) and dumped."""
    prefix = f"b{uuid.uuid4().hex[:10]}-"
    create_tables(prefix)
    try:
        clock = SettableClock()
        clock.set(IN_A)
        settings = Settings(stage="local", table_prefix=prefix, period_cache_seconds=0, jwt_secret="x")
        region = build_region(Context.create(settings, clock), FUNDED, ACCOUNTING, QUOTA_B)
        return region, dump(prefix)
    finally:
        delete_tables(prefix)


@pytest.fixture
def region(built: tuple[Region, Items], stage: Stage) -> Region:
    """This test's tables hold the region as built."""
    restore(stage.prefix, built[1])
    return built[0]


@pytest.fixture
def in_b(stage: Stage) -> Stage:
    return replace(stage, instant=IN_B, topup_page_size=PAGE, topup_segments=SEGMENTS)


def rolled_so_far() -> int:
    p = progress(period_store.period_state(PERIOD_B))
    return p.certificates_credited + p.certificates_over_quota + p.certificates_aged_out


def test_a_topup_killed_half_way_and_resumed_credits_every_certificate_exactly_once(
    region: Region, in_b: Stage
) -> None:
    paused = SPAWN.Event()
    job = start_workers(in_b, [(workers.topup_job, (PERIOD_B, PAUSE_AFTER_COMMITS, paused))])
    try:
        assert paused.wait(timeout=300), "the job never reached its pause"
        at_kill = rolled_so_far()
        assert 0 < at_kill < FUNDED
        checkpoints = [s for s in period_store.period_state(PERIOD_B).segments if s.cursor is not None]
        assert checkpoints, "no segment had checkpointed a page to resume from"
        os.kill(job.pids[0], signal.SIGKILL)
        killed = job.collect()
    finally:
        job.kill_all()
    assert killed.exitcodes == [-signal.SIGKILL]
    assert not killed.of("topup"), "the killed job never finished"
    assert rolled_so_far() == at_kill
    assert progress(period_store.period_state(PERIOD_B)).status == "running"

    resumed = run_workers(in_b, [(workers.topup_job, (PERIOD_B, None, None))])

    assert resumed.codes("topup") == {"ok": 1}
    assert_topped_up(region)


def test_two_topup_jobs_at_once_credit_every_certificate_exactly_once(region: Region, in_b: Stage) -> None:
    results = run_workers(in_b, same(workers.topup_job, [(PERIOD_B, None, None)] * 2))

    assert results.codes("topup") == {"ok": 2}
    assert_topped_up(region)


def test_two_topup_jobs_under_a_short_quota_credit_exactly_the_quota(region: Region, in_b: Stage) -> None:
    short = len(region.rolled) * 2 // 3
    set_quota_b(short)

    results = run_workers(in_b, same(workers.topup_job, [(PERIOD_B, None, None)] * 2))

    assert results.codes("topup") == {"ok": 2}
    assert_topped_up(region, quota_b=short)


def set_quota_b(slots: int) -> None:
    """B is opened with ``slots`` for the municipality (as if the operator had opened it so)."""
    QuotaRecord(period_id=PERIOD_B, record=f"quota#{MUNICIPALITY}").update(
        actions=[QuotaRecord.quota.set(slots), QuotaRecord.remaining.set(slots), QuotaRecord.funded.set(0)]
    )
    PeriodRecord(period_id=PERIOD_B, record="period").update(actions=[PeriodRecord.quotas[MUNICIPALITY].set(slots)])


def test_parents_touching_certificates_during_the_topup_roll_each_over_exactly_once(
    region: Region, in_b: Stage
) -> None:
    stop = SPAWN.Event()
    families = sorted(region.guardians.items())
    # Each family is one parent process (so two processes never fund one child at once); the job races them all.
    parents = [(workers.parent_actions, (families[n::PARENT_PROCESSES], n, stop, 40)) for n in range(PARENT_PROCESSES)]
    started = start_workers(in_b, [(workers.topup_job, (PERIOD_B, None, None)), *parents])
    try:
        started.processes[0].join(timeout=400)
        stop.set()
        results = started.collect()
    finally:
        started.kill_all()
    assert_clean(results)

    assert results.codes("topup") == {"ok": 1}
    aged_out = {c.certificate_id for c in region.aged_out}
    refused = [o for o in results.outcomes if o.action != "topup" and not o.ok]
    assert all(o.code == "certificate_closed" and o.subject in aged_out for o in refused), refused[:5]
    funded_by_parents = {o.subject for o in results.of("fund") if o.ok} & {c.certificate_id for c in region.accounting}
    assert_topped_up(region, funded_by_parents)


# --- what every top-up must leave ------------------------------------------------------------------------------------


def assert_topped_up(region: Region, funded_in_b: set[str] | None = None, quota_b: int = QUOTA_B) -> None:
    """Every certificate funded in A was rolled into B exactly once: credited with its entitlement while B's quota
    lasted, back to accounting past it (I7), closed if 18; A's money expired once and its holds were released once;
    the quota item and the top-up progress count exactly that."""
    funded_in_b = funded_in_b or set()
    audits = audit_all(expected=FUNDED + ACCOUNTING)
    credited, over_quota = [], []
    for child in region.rolled:
        audit = audits[child.certificate_id]
        if audit.certificate.status is CertificateStatus.ACCOUNTING:
            _assert_closed_in_a(audit, child, CertificateStatus.ACCOUNTING)
            over_quota.append(child)
        else:
            _assert_credited(audit, child)
            credited.append(child)
    for child in region.aged_out:
        _assert_closed_in_a(audits[child.certificate_id], child, CertificateStatus.CLOSED)
    for child in region.accounting:
        _assert_accounting(audits[child.certificate_id], child, child.certificate_id in funded_in_b)
    taken = len(credited) + len(funded_in_b)
    if quota_b >= len(region.rolled) + len(funded_in_b):
        assert not over_quota
    else:
        assert taken == quota_b, (len(credited), len(funded_in_b), quota_b)
    assert sum(1 for a in audits.values() if a.of(EntryKind.CREDIT, PERIOD_B)) == taken
    record = quota(PERIOD_B, MUNICIPALITY)
    assert (int(record.funded), int(record.remaining)) == (taken, quota_b - taken)
    _assert_progress(region, credited, over_quota)


def _assert_credited(audit: CertificateAudit, child: FundedChild) -> None:
    amount = entitlement_b(child.birth_date)
    certificate = audit.certificate
    assert certificate.status is CertificateStatus.FUNDED, child
    assert certificate.period_id == PERIOD_B, child
    assert certificate.balance == Balance(credited=amount, available=amount), child
    assert certificate.open_holds == {}
    credits = audit.of(EntryKind.CREDIT, PERIOD_B)
    assert [(e.entry_key, e.amount, e.reason) for e in credits] == [(f"credit#{PERIOD_B}", amount, "topup")]
    _assert_old_money_closed(audit, child)


def _assert_closed_in_a(audit: CertificateAudit, child: FundedChild, status: CertificateStatus) -> None:
    """Over B's quota (accounting) or 18 (closed): no money in B; the balance still tells A's story, all spent or
    expired."""
    assert audit.certificate.status is status, child
    assert audit.certificate.period_id == PERIOD_A
    assert audit.certificate.balance == Balance(credited=child.credited_a, spent=child.spent_a, expired=child.expire_a)
    assert not audit.of(EntryKind.CREDIT, PERIOD_B)
    _assert_old_money_closed(audit, child)


def _assert_accounting(audit: CertificateAudit, child: Child, funded_in_b: bool) -> None:
    if not funded_in_b:
        assert audit.certificate.status is CertificateStatus.ACCOUNTING
        assert not audit.entries
        return
    amount = entitlement_b(child.birth_date)  # funded in January: all twelve months of B
    assert audit.certificate.status is CertificateStatus.FUNDED
    assert audit.certificate.balance == Balance(credited=amount, available=amount)
    assert [(e.entry_key, e.amount, e.reason) for e in audit.entries] == [(f"credit#{PERIOD_B}", amount, "funded")]


def _assert_old_money_closed(audit: CertificateAudit, child: FundedChild) -> None:
    """A's money: what was left expired once, what was still held released once (and its contract ended)."""
    expired = [(e.entry_key, e.amount) for e in audit.of(EntryKind.EXPIRE)]
    assert expired == ([(f"expire#{PERIOD_A}", child.expire_a)] if child.expire_a else []), child
    released = {e.contract_id: e.amount for e in audit.of(EntryKind.RELEASE) if e.reason == "period_end"}
    assert released == child.open_holds, child
    cancelled = {e.contract_id: e.amount for e in audit.of(EntryKind.RELEASE) if e.reason == "cancelled"}
    assert cancelled == child.cancelled, child
    assert len(audit.of(EntryKind.RELEASE)) == len(released) + len(cancelled)
    for contract_id in child.open_holds:
        contract = ContractRecord.get(contract_id, consistent_read=True)
        assert (contract.status, contract.end_reason, int(contract.remaining_hold)) == ("ended", "period_end", 0)


def _assert_progress(region: Region, credited: list[FundedChild], over_quota: list[FundedChild]) -> None:
    state = period_store.period_state(PERIOD_B)
    p = progress(state)
    assert (p.status, p.segments, p.segments_done) == ("done", SEGMENTS, SEGMENTS)
    assert p.certificates_credited == len(credited)
    assert p.certificates_over_quota == len(over_quota)
    assert p.certificates_aged_out == len(region.aged_out)
    by_segments = sum(
        s.certificates + s.over_quota + s.aged_out for s in state.segments if s.record != period_store.TOUCH_RECORD
    )
    assert by_segments + p.rolled_on_touch == len(region.funded)
    assert p.credited_kopecks == sum(entitlement_b(c.birth_date) for c in credited)
    assert p.expired_kopecks == sum(c.expire_a for c in region.funded)
    assert p.released_kopecks == sum(sum(c.open_holds.values()) for c in region.funded)
