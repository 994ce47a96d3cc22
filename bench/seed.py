"""Seeding funded certificates fast: BatchWriteItem through PynamoDB, items exactly as the services write them.

Each certificate is what ``storage.movements.commit_funding`` leaves behind (status funded, the period and its start,
credited = available = the entitlement, version 1 = issued then funded, no open holds), with the matching
``credit#{period}`` ledger entry so ``reconcile`` holds, and the quota items take the slots, as funding does.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from chalicelib.domain.certificate import CertificateStatus, damm_check_digit, valid_until
from chalicelib.domain.ledger import EntryKind, Posting, credit_key, utc_stamp
from chalicelib.domain.period import Period
from chalicelib.storage.models import CertificateRecord, LedgerRecord, QuotaRecord

# Birth dates from mid-2010 to the end of 2020: 5 to 15 years old in 2026, never 18 before mid-2028.
FIRST_BIRTH = date(2010, 6, 1)
LAST_BIRTH = date(2020, 12, 31)
CHUNK = 2_000
_SURNAMES = ("Иванов", "Петров", "Смирнов", "Кузнецов", "Попов", "Соколов", "Лебедев", "Козлов")
_NAMES = ("Артём", "Мария", "Иван", "Анна", "Михаил", "София", "Никита", "Алиса", "Лев")


@dataclass(frozen=True)
class Seeded:
    certificate_ids: list[str]
    credited_kopecks: int
    by_municipality: dict[str, int]
    seconds: float


def certificate_number(index: int) -> str:
    """A valid 10-digit number, distinct for each index (a bijection of 0 .. 9*10**8-1, so they look scattered)."""
    body = str(10**8 + (index * 7_919 + 12_345) % (9 * 10**8))
    return body + str(damm_check_digit(body))


def birth_date(index: int) -> date:
    span = (LAST_BIRTH - FIRST_BIRTH).days
    return FIRST_BIRTH + timedelta(days=(index * 37) % (span + 1))


def credit_total(period: Period, count: int) -> int:
    """What crediting the first ``count`` seeded certificates in ``period`` comes to (ages move between periods)."""
    return sum(period.entitlement(birth_date(index), period.starts_on) for index in range(count))


def _records(
    index: int, period: Period, municipality: str, now: datetime
) -> tuple[CertificateRecord, LedgerRecord, int]:
    born = birth_date(index)
    amount = period.entitlement(born, period.starts_on)
    certificate_id = certificate_number(index)
    guardian = f"bench:parent-{index // 2:07d}"
    certificate = CertificateRecord(
        certificate_id=certificate_id,
        status=CertificateStatus.FUNDED.value,
        guardian_sub=guardian,
        municipality=municipality,
        full_name=f"{_SURNAMES[index % len(_SURNAMES)]} {_NAMES[index % len(_NAMES)]}",
        birth_date=born.isoformat(),
        valid_until=valid_until(born).isoformat(),
        issued_at=utc_stamp(now),
        period_id=period.period_id,
        period_starts_on=period.starts_on.isoformat(),
        credited=amount,
        available=amount,
        held=0,
        spent=0,
        expired=0,
        open_holds={},
        version=1,  # issued at 0, funded +1
    )
    entry = LedgerRecord(
        certificate_id=certificate_id,
        entry_key=credit_key(period.period_id),
        kind=EntryKind.CREDIT.value,
        period_id=period.period_id,
        amount=amount,
        posted=Posting(now).next(),
        reason="funded",
        actor=guardian,
    )
    return certificate, entry, amount


def _write_chunk(indexes: range, period: Period, municipalities: Sequence[str], now: datetime) -> int:
    credited = 0
    with CertificateRecord.batch_write() as certificates, LedgerRecord.batch_write() as ledger:
        for index in indexes:
            certificate, entry, amount = _records(index, period, municipalities[index % len(municipalities)], now)
            certificates.save(certificate)
            ledger.save(entry)
            credited += amount
    return credited


def _warm_connections() -> None:
    """Creates the shared botocore clients before the threads race to do it."""
    for model in (CertificateRecord, LedgerRecord, QuotaRecord):
        assert model._get_connection().connection.client is not None


def seed_funded(period: Period, count: int, municipalities: Sequence[str], now: datetime, workers: int = 4) -> Seeded:
    """Writes ``count`` certificates funded in ``period`` (already open, with quotas of at least ``count``)."""
    started = time.perf_counter()
    _warm_connections()
    chunks = [range(first, min(first + CHUNK, count)) for first in range(0, count, CHUNK)]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="seed") as pool:
        credited = sum(pool.map(lambda chunk: _write_chunk(chunk, period, municipalities, now), chunks))
    by_municipality = Counter(municipalities[index % len(municipalities)] for index in range(count))
    for municipality, funded in sorted(by_municipality.items()):
        QuotaRecord(period_id=period.period_id, record=f"quota#{municipality}").update(
            actions=[QuotaRecord.remaining.add(-funded), QuotaRecord.funded.add(funded)],
            condition=QuotaRecord.remaining >= funded,
            add_version_condition=False,
        )
    ids = [certificate_number(index) for index in range(count)]
    return Seeded(ids, credited, dict(by_municipality), time.perf_counter() - started)
