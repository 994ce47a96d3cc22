"""I7 (quota) and I4 (one credit per certificate and period) under funding by several processes at once.

Sizes: 8 processes x 20 certificates against a quota of 12 (each process funds all 20, in its own order); 8 processes
funding the same certificate at the same moment, 6 certificates in turn.
"""

from __future__ import annotations

from datetime import date

from chalicelib.domain.certificate import Balance, CertificateStatus
from chalicelib.services import certificates
from chalicelib.services.context import Context
from tests.concurrency import workers
from tests.concurrency.audit import CertificateAudit, audit_all, quota
from tests.concurrency.harness import SPAWN, Stage, run_workers, same
from tests.concurrency.world import MUNICIPALITY, NOMINAL_A, PERIOD_A, open_period_a, parent

PROCESSES = 8
ELEVEN_MONTHS = NOMINAL_A * 11 // 12  # funded on 11 February


def register(ctx: Context, count: int) -> list[tuple[str, str]]:
    """``count`` children of 7 guardians: (certificate, guardian)."""
    children = []
    for n in range(count):
        guardian = f"guardian-{n % 7}"
        child = certificates.register_child(ctx, parent(guardian), "Иван Петров", date(2015, 3, 1 + n), MUNICIPALITY)
        children.append((child.certificate_id, guardian))
    return children


def assert_funded_once(audit: CertificateAudit) -> None:
    assert audit.certificate.status is CertificateStatus.FUNDED
    assert audit.certificate.balance == Balance(credited=ELEVEN_MONTHS, available=ELEVEN_MONTHS)
    credits = [(e.entry_key, e.amount) for e in audit.entries]
    assert credits == [(f"credit#{PERIOD_A}", ELEVEN_MONTHS)], credits


def test_eight_processes_fund_twenty_certificates_and_exactly_the_quota_wins(ctx: Context, stage: Stage) -> None:
    certificates_, quota_ = 20, 12
    open_period_a(ctx, quota=quota_)
    children = register(ctx, certificates_)

    results = run_workers(stage, same(workers.fund_all, [(children, seed) for seed in range(PROCESSES)]))

    assert len(results.of("fund")) == PROCESSES * certificates_
    audits = audit_all(expected=certificates_)
    funded = {cid for cid, a in audits.items() if a.certificate.status is CertificateStatus.FUNDED}
    assert len(funded) == quota_
    for cid in funded:
        assert_funded_once(audits[cid])
    for cid in {cid for cid, _ in children} - funded:
        assert audits[cid].certificate.status is CertificateStatus.ACCOUNTING
        assert not audits[cid].entries
    record = quota(PERIOD_A, MUNICIPALITY)
    assert (int(record.funded), int(record.remaining), int(record.quota)) == (quota_, 0, quota_)
    # A loser was told the quota is used up, every time; funding a certificate that is (or ends up) funded is
    # answered with the funded certificate, whichever process's write landed.
    wrong = [o for o in results.of("fund") if o.code != ("ok" if o.subject in funded else "quota_exhausted")]
    assert not wrong, f"{len(wrong)} unexpected answers, e.g. {wrong[:3]}"


def test_processes_funding_the_same_certificate_at_once_all_get_it_funded_once(ctx: Context, stage: Stage) -> None:
    count = 6
    open_period_a(ctx, quota=count)
    children = register(ctx, count)
    step = SPAWN.Barrier(PROCESSES)

    results = run_workers(stage, same(workers.fund_together, [(children, step)] * PROCESSES))

    audits = audit_all(expected=count)
    for audit in audits.values():
        assert_funded_once(audit)
    record = quota(PERIOD_A, MUNICIPALITY)
    assert (int(record.funded), int(record.remaining)) == (count, 0)
    assert results.codes("fund") == {"ok": PROCESSES * count}, results.codes("fund")
