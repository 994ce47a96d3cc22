"""Reconciliation over every certificate (and contract) of a test, run after each scenario.

For each certificate in the table:
- its ledger replays (``domain.ledger.replay``) to the stored balance of its current period (I3), and the service's
  own ``reconcile`` (over ``storage.ledger.all_entries``) finds it consistent;
- the money of every period is conserved (I2) and never negative (I1); an earlier period holds nothing any more (what
  was left expired, what was held was released);
- ``held`` is the sum of the open holds, and each hold is exactly its charges plus its release, or plus what it
  still holds (I5).
For each contract: the certificate's open hold, the ledger's hold, charges and release agree with the contract.
Checks that return their problems instead of failing: I7 over every quota (``quota_problems``), I8 over every
certificate's credits (``credit_problems``) and over a completed top-up and its progress (``topup_problems``).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from chalicelib.domain.certificate import Balance, Certificate, CertificateStatus
from chalicelib.domain.contract import OPEN, ContractStatus
from chalicelib.domain.ledger import EntryKind, LedgerEntry, replay
from chalicelib.services.certificates import reconcile
from chalicelib.services.periods import progress
from chalicelib.storage import periods as period_store
from chalicelib.storage.certificates import CERTIFICATES
from chalicelib.storage.ledger import entry_of
from chalicelib.storage.models import CertificateRecord, ContractRecord, LedgerRecord, QuotaRecord


@dataclass
class CertificateAudit:
    certificate: Certificate
    entries: list[LedgerEntry]
    problems: list[str] = field(default_factory=list)

    def of(self, kind: EntryKind, period_id: str | None = None) -> list[LedgerEntry]:
        return [e for e in self.entries if e.kind is kind and (period_id is None or e.period_id == period_id)]

    def amounts(self, kind: EntryKind, contract_id: str) -> list[int]:
        return [e.amount for e in self.entries if e.kind is kind and e.contract_id == contract_id]


def _audit_one(certificate: Certificate, entries: list[LedgerEntry]) -> CertificateAudit:
    audit = CertificateAudit(certificate, entries)
    _check_balances(audit, audit.problems.append)
    _check_holds(audit, audit.problems.append)
    reconciliation = reconcile(certificate.certificate_id)  # the service's own check: GetItem + the ledger replayed
    if not reconciliation.consistent or reconciliation.stored != certificate.balance:
        audit.problems.append(f"reconcile: stored {reconciliation.stored}, drift {reconciliation.drift}")
    return audit


def _check_balances(audit: CertificateAudit, problem: Callable[[str], None]) -> None:
    certificate, balance = audit.certificate, audit.certificate.balance
    replayed = replay(audit.entries)
    if not balance.non_negative or not balance.conserved:
        problem(f"stored balance breaks I1/I2: {balance}")
    current = replayed.get(certificate.period_id, Balance()) if certificate.period_id else Balance()
    if current != balance:
        problem(f"ledger replays to {current}, stored {balance}")
    if certificate.period_id is None and audit.entries:
        problem("entries on a certificate that was never funded")
    for period_id, period_balance in replayed.items():
        if not period_balance.conserved or not period_balance.non_negative:
            problem(f"period {period_id} replays to {period_balance}")
        if period_id != certificate.period_id and (period_balance.available or period_balance.held):
            problem(f"earlier period {period_id} still has money: {period_balance}")


def _check_holds(audit: CertificateAudit, problem: Callable[[str], None]) -> None:
    """I5 on the ledger: a hold is exactly its charges plus its release, or plus what it still holds."""
    open_holds = audit.certificate.open_holds
    if any(amount < 0 for amount in open_holds.values()):
        problem(f"negative open hold {open_holds}")
    if sum(open_holds.values()) != audit.certificate.balance.held:
        problem(f"held {audit.certificate.balance.held} != open holds {open_holds}")
    contracts = {e.contract_id for e in audit.entries if e.contract_id is not None} | set(open_holds)
    for contract_id in sorted(contracts):
        holds = audit.amounts(EntryKind.HOLD, contract_id)
        releases = audit.amounts(EntryKind.RELEASE, contract_id)
        charged = sum(audit.amounts(EntryKind.CHARGE, contract_id))
        if len(holds) != 1 or len(releases) > 1:
            problem(f"contract {contract_id}: holds {holds}, releases {releases}")
            continue
        if releases and contract_id in open_holds:
            problem(f"released hold {contract_id} is still open")
        if charged + sum(releases) + open_holds.get(contract_id, 0) != holds[0]:
            problem(f"contract {contract_id}: hold {holds[0]} != charged {charged} + released {releases} + open")


def _check_contract(record: ContractRecord, audit: CertificateAudit | None) -> list[str]:
    """The contract, the certificate's open hold and the ledger tell the same story."""
    name = f"contract {record.contract_id}"
    if audit is None:
        return [f"{name} of a certificate that does not exist"]
    hold, remaining, charged = int(record.hold_amount), int(record.remaining_hold), int(record.charged_total)
    problems = []
    if hold and audit.amounts(EntryKind.HOLD, record.contract_id) != [hold]:
        problems.append(f"{name}: hold {hold} but ledger {audit.amounts(EntryKind.HOLD, record.contract_id)}")
    if sum(audit.amounts(EntryKind.CHARGE, record.contract_id)) != charged:
        problems.append(f"{name}: charged_total {charged} != the ledger's charges")
    is_open = ContractStatus(record.status) in OPEN
    still = audit.certificate.open_holds.get(record.contract_id)
    if is_open and hold and still != remaining:
        problems.append(f"{name} is open with {remaining} but the certificate holds {still}")
    if not is_open and (still is not None or remaining != 0):
        problems.append(f"{name} is {record.status} but still holds {still} (remaining {remaining})")
    if not is_open and hold and hold != charged + sum(audit.amounts(EntryKind.RELEASE, record.contract_id)):
        problems.append(f"{name} ended: hold {hold} != charged {charged} + released")
    return problems


def audit_all(expected: int | None = None, *, contracts: bool = True) -> dict[str, CertificateAudit]:
    """Audits every certificate and contract in the test's tables; fails the test listing the first problems.

    Certificates, ledger and contracts are read with one consistent Scan each (the scenario is over, nothing moves),
    then each certificate is checked, including by the service's ``reconcile`` (which reads it and its ledger again).
    With ``contracts=False`` the contracts are left to the caller's own checks.
    """
    certificates = [CERTIFICATES.to_entity(record) for record in CertificateRecord.scan(consistent_read=True)]
    if expected is not None:
        assert len(certificates) == expected, f"{len(certificates)} certificates in the table, expected {expected}"
    entries: dict[str, list[LedgerEntry]] = defaultdict(list)
    for record in LedgerRecord.scan(consistent_read=True):
        entries[record.certificate_id].append(entry_of(record))
    with ThreadPoolExecutor(max_workers=8) as pool:
        audited = pool.map(lambda c: _audit_one(c, entries.get(c.certificate_id, [])), certificates)
        audits = {audit.certificate.certificate_id: audit for audit in audited}
    problems = [f"{cid}: {p}" for cid, audit in audits.items() for p in audit.problems]
    problems += [f"{cid}: ledger entries of a certificate that does not exist" for cid in set(entries) - set(audits)]
    for contract in ContractRecord.scan(consistent_read=True) if contracts else ():
        problems += _check_contract(contract, audits.get(contract.certificate_id))
    assert not problems, f"{len(problems)} reconciliation problems:\n" + "\n".join(problems[:20])
    return audits


def quota(period_id: str, municipality: str) -> QuotaRecord:
    return QuotaRecord.get(period_id, f"quota#{municipality}", consistent_read=True)


# --- I7 and I8 over every certificate (checks that return the problems they find) ------------------------------------


def quota_problems(audits: dict[str, CertificateAudit]) -> list[str]:
    """I7 for every period and municipality: the quota item counts exactly the certificates of the municipality
    credited in the period (funding and the top-up each take one slot with the credit, in one transaction), and
    never more than the quota."""
    credited: Counter[tuple[str, str]] = Counter()
    for audit in audits.values():
        for entry in audit.of(EntryKind.CREDIT):
            credited[(entry.period_id, audit.certificate.municipality)] += 1
    problems = []
    seen = set()
    for record in QuotaRecord.scan(QuotaRecord.record.startswith("quota#"), consistent_read=True):
        key = (record.period_id, record.municipality)
        seen.add(key)
        quota_, remaining, funded = int(record.quota), int(record.remaining), int(record.funded)
        if not 0 <= funded <= quota_ or funded + remaining != quota_:
            problems.append(f"quota {key}: quota {quota_}, funded {funded}, remaining {remaining}")
        if funded != credited[key]:
            problems.append(f"quota {key}: funded {funded}, but {credited[key]} certificates were credited")
    problems += [f"credits in {key} without a quota" for key in set(credited) - seen]
    return problems


def credit_problems(audits: dict[str, CertificateAudit]) -> list[str]:
    """I8 per certificate: at most one credit and one expiry per period, each under its natural key."""
    problems = []
    for certificate_id, audit in audits.items():
        for kind, key in ((EntryKind.CREDIT, "credit#"), (EntryKind.EXPIRE, "expire#")):
            periods = Counter(entry.period_id for entry in audit.of(kind))
            twice = [period for period, times in periods.items() if times > 1]
            wrong = [e.entry_key for e in audit.of(kind) if e.entry_key != f"{key}{e.period_id}"]
            if twice or wrong:
                problems.append(f"{certificate_id}: {kind.value} twice in {twice} or under other keys {wrong}")
    return problems


def topup_problems(period_id: str, audits: dict[str, CertificateAudit]) -> list[str]:
    """I8 once the top-up of ``period_id`` is complete: no funded certificate is left in an earlier period, every
    certificate funded before it was rolled over exactly once, and the progress counters (written in the same
    transactions as the money) say exactly what the ledger says."""
    state = progress(period_store.period_state(period_id))
    problems = [] if state.status == "done" else [f"top-up of {period_id} is {state.status}"]
    stale = [
        cid
        for cid, audit in audits.items()
        if audit.certificate.status is CertificateStatus.FUNDED and audit.certificate.period_id != period_id
    ]
    if stale:
        problems.append(f"funded certificates left behind in an earlier period: {stale[:5]}")
    entries = [e for audit in audits.values() for e in audit.entries]
    topped = [e for e in entries if e.kind is EntryKind.CREDIT and e.period_id == period_id and e.reason == "topup"]
    earlier = {e.certificate_id for e in entries if e.kind is EntryKind.CREDIT and e.period_id != period_id}
    expired = sum(e.amount for e in entries if e.kind is EntryKind.EXPIRE and e.period_id != period_id)
    released = sum(e.amount for e in entries if e.kind is EntryKind.RELEASE and e.reason == "period_end")
    counted = {
        "credited": (state.certificates_credited, len(topped)),
        "credited_kopecks": (state.credited_kopecks, sum(e.amount for e in topped)),
        "expired_kopecks": (state.expired_kopecks, expired),
        "released_kopecks": (state.released_kopecks, released),
        "rolled": (
            state.certificates_credited + state.certificates_over_quota + state.certificates_aged_out,
            len(earlier),
        ),
    }
    problems += [
        f"top-up {name}: progress {got}, ledger {want}" for name, (got, want) in counted.items() if got != want
    ]
    return problems
