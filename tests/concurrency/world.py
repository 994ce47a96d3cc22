"""The region the concurrency tests act in: two consecutive periods, guardians and their children's certificates.

Period A is the calendar year 2027, period B the year 2028 (Asia/Kamchatka). The default instant lies in A
(February: a child funded then gets 11/12 of A's nominal); ``IN_B`` lies in B's first month.
"""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from chalicelib.domain.actors import WHOLE_REGION, Principal, Role
from chalicelib.domain.certificate import damm_check_digit, valid_until
from chalicelib.domain.ledger import Posting, utc_stamp
from chalicelib.domain.period import AgeNominal, Period
from chalicelib.services import contracts, periods
from chalicelib.services.context import Context
from chalicelib.storage.models import CertificateRecord, LedgerRecord, QuotaRecord
from tests.factories import approved_provider, program

TZ = "Asia/Kamchatka"
MUNICIPALITY = "elizovo"
OPERATOR = Principal(sub="operator:region", role=Role.OPERATOR, municipality=WHOLE_REGION)

PERIOD_A = "y2027"
PERIOD_B = "y2028"
A_STARTS, A_ENDS = date(2027, 1, 1), date(2027, 12, 31)
B_STARTS, B_ENDS = date(2028, 1, 1), date(2028, 12, 31)
NOMINAL_A = 1_200_000  # 12 000 roubles a year, in kopecks
NOMINAL_B = 1_800_000
YOUNG_NOMINAL_B = 2_400_000  # age group 5-9 (age at the period's start)

IN_A = datetime(2027, 2, 10, 12, 0, tzinfo=UTC)  # 11 Feb 2027 in the region: 11 months of A are left
IN_B = datetime(2028, 1, 20, 12, 0, tzinfo=UTC)


def parent(guardian: str) -> Principal:
    return Principal(sub=guardian, role=Role.PARENT)


def open_period_a(ctx: Context, quota: int) -> Period:
    period = Period(PERIOD_A, A_STARTS, A_ENDS, NOMINAL_A, {MUNICIPALITY: quota}, TZ)
    periods.open_period(ctx, OPERATOR, period)
    return period


def open_period_b(ctx: Context, quota: int) -> Period:
    period = Period(
        PERIOD_B, B_STARTS, B_ENDS, NOMINAL_B, {MUNICIPALITY: quota}, TZ, (AgeNominal(5, 9, YOUNG_NOMINAL_B),)
    )
    periods.open_period(ctx, OPERATOR, period)
    return period


def entitlement_b(birth_date: date) -> int:
    """What a top-up into B credits, worked out independently of the product's code: the age group's nominal (age
    on 1 Jan 2028), for the months of 2028 that begin before the 18th birthday."""
    age = 2027 - birth_date.year  # full years on 1 Jan 2028 (no child here is born on 1 January)
    nominal = YOUNG_NOMINAL_B if 5 <= age <= 9 else NOMINAL_B
    eighteenth = date(birth_date.year + 18, birth_date.month, birth_date.day)
    months = sum(1 for month in range(1, 13) if date(2028, month, 1) < eighteenth)
    return nominal * months // 12


@dataclass(frozen=True)
class Child:
    certificate_id: str
    guardian: str
    birth_date: date


# --- a region with many funded certificates in period A, for the top-up ----------------------------------------------

PROVIDER_ID = "7707083893"
PROVIDER = Principal(sub="provider:centre", role=Role.PROVIDER, provider_id=PROVIDER_ID)
PRICE_1, PRICE_2 = 20_000, 10_000  # per month; enrolled on 11 Feb 2027, a contract holds February to December
MONTHS_LEFT = 11
CHILDREN_PER_PROGRAM = 25


@dataclass(frozen=True)
class FundedChild(Child):
    credited_a: int
    spent_a: int
    open_holds: dict[str, int]  # contract -> what it still holds at the end of A: the rollover releases it
    cancelled: dict[str, int]  # contract -> what its cancellation released during A
    aged_out: bool  # 18 before B starts: the rollover closes the certificate

    @property
    def expire_a(self) -> int:
        """What is left of A when it ends: all but what was spent (the open holds are released, then expire)."""
        return self.credited_a - self.spent_a


@dataclass(frozen=True)
class Region:
    funded: list[FundedChild]
    accounting: list[Child]

    @property
    def rolled(self) -> list[FundedChild]:
        return [c for c in self.funded if not c.aged_out]

    @property
    def aged_out(self) -> list[FundedChild]:
        return [c for c in self.funded if c.aged_out]

    @property
    def guardians(self) -> dict[str, list[str]]:
        children: dict[str, list[str]] = {}
        for child in [*self.funded, *self.accounting]:
            children.setdefault(child.guardian, []).append(child.certificate_id)
        return children


def _birth_date(n: int, rng: random.Random) -> date:
    if n % 97 == 0:
        return date(2009, 6, 15)  # 17 in A, 18 on 15 Jun 2027: aged out before B
    if n % 53 == 7:
        return date(2010, 4, 10)  # 18 on 10 Apr 2028: B pays January to April
    return date(2027 - rng.randint(6, 16), rng.randint(1, 12), rng.randint(2, 28))  # 5 to 16 during A


def build_region(ctx: Context, funded: int, accounting: int, quota_b: int, seed: int = 7) -> Region:
    """Opens A and B; writes ``funded`` certificates funded in A (as ``fund`` leaves them, written in batches) and
    ``accounting`` ones, three children to a guardian; then a sixth of the funded children enrol in certified
    programs through the contracts service (holds), some contracts are accepted and charged, some cancelled
    (releases), so the rollover has contracts to end and holds to release. ``ctx``'s clock must be in A."""
    open_period_a(ctx, quota=funded + accounting)
    open_period_b(ctx, quota=quota_b)
    period_a = Period(PERIOD_A, A_STARTS, A_ENDS, NOMINAL_A, {MUNICIPALITY: 1}, TZ)
    rng = random.Random(seed)
    is_funded = [True] * funded + [False] * accounting
    rng.shuffle(is_funded)
    posting = Posting(IN_A)
    records: list[CertificateRecord] = []
    entries: list[LedgerRecord] = []
    children: list[tuple[str, str, date, int]] = []
    plain: list[Child] = []
    for n, (certificate_id, paid) in enumerate(zip(_fresh_numbers(len(is_funded), rng), is_funded, strict=True)):
        guardian = f"guardian-{n // 3:05d}"
        if not paid:
            born = date(2027 - rng.randint(6, 12), rng.randint(1, 12), rng.randint(2, 28))
            records.append(_certificate(certificate_id, guardian, born))
            plain.append(Child(certificate_id, guardian, born))
            continue
        born = _birth_date(len(children), rng)
        amount = period_a.entitlement(born, IN_A.date())
        records.append(_certificate(certificate_id, guardian, born, amount))
        entries.append(
            LedgerRecord(
                certificate_id=certificate_id,
                entry_key=f"credit#{PERIOD_A}",
                kind="credit",
                period_id=PERIOD_A,
                amount=amount,
                posted=posting.next(),
                reason="funded",
                actor=guardian,
            )
        )
        children.append((certificate_id, guardian, born, amount))
    QuotaRecord(period_id=PERIOD_A, record=f"quota#{MUNICIPALITY}").update(
        actions=[QuotaRecord.funded.set(funded), QuotaRecord.remaining.set(accounting)]
    )
    approved_provider(PROVIDER_ID, MUNICIPALITY)
    groups = (funded + 6 * CHILDREN_PER_PROGRAM - 1) // (6 * CHILDREN_PER_PROGRAM)
    programs = [
        (
            program(period_a, PROVIDER_ID, price=PRICE_1, capacity=40),
            program(period_a, PROVIDER_ID, price=PRICE_2, capacity=40),
        )
        for _ in range(groups)
    ]
    with ThreadPoolExecutor(max_workers=8) as pool:
        chunks = [records[i : i + 100] for i in range(0, len(records), 100)]
        chunks += [entries[i : i + 100] for i in range(0, len(entries), 100)]
        list(pool.map(_write_batch, chunks))
        built = list(
            pool.map(
                lambda args: _contracts(ctx, args[0], args[1], programs[args[0] // (6 * CHILDREN_PER_PROGRAM)]),
                enumerate(children),
            )
        )
    return Region(built, plain)


def _write_batch(records: list[Any]) -> None:
    with type(records[0]).batch_write() as batch:
        for record in records:
            batch.save(record)


def _fresh_numbers(count: int, rng: random.Random) -> list[str]:
    numbers: list[str] = []
    seen: set[str] = set()
    while len(numbers) < count:
        body = str(rng.randrange(10**8, 10**9))
        number = body + str(damm_check_digit(body))
        if number not in seen:
            seen.add(number)
            numbers.append(number)
    return numbers


def _certificate(certificate_id: str, guardian: str, born: date, amount: int | None = None) -> CertificateRecord:
    record = CertificateRecord(
        certificate_id=certificate_id,
        status="accounting" if amount is None else "funded",
        guardian_sub=guardian,
        municipality=MUNICIPALITY,
        full_name="Мария Иванова",
        birth_date=born.isoformat(),
        valid_until=valid_until(born).isoformat(),
        issued_at=utc_stamp(IN_A),
        open_holds={},
        version=0 if amount is None else 1,
    )
    if amount is not None:
        record.period_id = PERIOD_A
        record.period_starts_on = A_STARTS.isoformat()
        record.credited = record.available = amount
        record.held = record.spent = record.expired = 0
    return record


def _contracts(ctx: Context, n: int, child: tuple[str, str, date, int], programs: tuple[str, str]) -> FundedChild:
    """Every sixth child enrols (in A, through the contracts service); kind 0: one contract charged for February
    and one still requested; 1: two contracts, the second cancelled; 2: charged, then cancelled; 3: requested."""
    certificate_id, guardian, born, amount = child
    who = parent(guardian)
    held: dict[str, int] = {}
    cancelled: dict[str, int] = {}
    spent = 0
    kind = n % 24
    if kind <= 3:
        first = contracts.enrol(ctx, who, certificate_id, programs[0], f"k{n}-1").contract_id
        held[first] = PRICE_1 * MONTHS_LEFT
        if kind in (0, 2):
            contracts.accept(ctx, PROVIDER, first)
            contracts.charge(ctx, PROVIDER, first, "2027-02", PRICE_1)
            held[first] -= PRICE_1
            spent += PRICE_1
        if kind == 2:
            contracts.cancel(ctx, who, first, None)
            cancelled[first] = held.pop(first)
    if kind <= 1:
        second = contracts.enrol(ctx, who, certificate_id, programs[1], f"k{n}-2").contract_id
        held[second] = PRICE_2 * MONTHS_LEFT
        if kind == 1:
            contracts.cancel(ctx, who, second, None)
            cancelled[second] = held.pop(second)
    aged_out = valid_until(born) <= B_STARTS
    return FundedChild(certificate_id, guardian, born, amount, spent, held, cancelled, aged_out)
