"""Certificates: issuing, reading, listing a guardian's children. Money changes live in storage.money."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from pynamodb.exceptions import DoesNotExist, PutError

from chalicelib.domain import errors
from chalicelib.domain.certificate import Balance, CertificateStatus, new_certificate_number, valid_until
from chalicelib.domain.rollover import CertificateSnapshot
from chalicelib.storage.models import CertificateRecord

ISSUE_ATTEMPTS = 5


@dataclass(frozen=True)
class Certificate:
    """A certificate as read, with the child it belongs to."""

    certificate_id: str
    status: CertificateStatus
    guardian_sub: str
    municipality: str
    full_name: str
    birth_date: date
    valid_until: date
    issued_at: str
    period_id: str | None
    balance: Balance
    open_holds: dict[str, int]
    version: int

    @property
    def snapshot(self) -> CertificateSnapshot:
        return CertificateSnapshot(
            certificate_id=self.certificate_id,
            status=self.status,
            municipality=self.municipality,
            birth_date=self.birth_date,
            period_id=self.period_id,
            balance=self.balance,
            open_holds=self.open_holds,
            version=self.version,
        )


def _from_record(record: CertificateRecord) -> Certificate:
    return Certificate(
        certificate_id=record.certificate_id,
        status=CertificateStatus(record.status),
        guardian_sub=record.guardian_sub,
        municipality=record.municipality,
        full_name=record.full_name,
        birth_date=date.fromisoformat(record.birth_date),
        valid_until=date.fromisoformat(record.valid_until),
        issued_at=record.issued_at,
        period_id=record.period_id,
        balance=Balance(
            credited=int(record.credited),
            available=int(record.available),
            held=int(record.held),
            spent=int(record.spent),
            expired=int(record.expired),
        ),
        open_holds={contract: int(amount) for contract, amount in (record.open_holds or {}).as_dict().items()}
        if hasattr(record.open_holds, "as_dict")
        else {contract: int(amount) for contract, amount in dict(record.open_holds or {}).items()},
        version=int(record.version),
    )


def issue(guardian_sub: str, municipality: str, full_name: str, birth_date: date, issued_at: str) -> Certificate:
    """Writes a new accounting certificate under a fresh number (retrying the rare collision)."""
    for _ in range(ISSUE_ATTEMPTS):
        record = CertificateRecord(
            certificate_id=new_certificate_number(),
            status=CertificateStatus.ACCOUNTING.value,
            guardian_sub=guardian_sub,
            municipality=municipality,
            full_name=full_name,
            birth_date=birth_date.isoformat(),
            valid_until=valid_until(birth_date).isoformat(),
            issued_at=issued_at,
            open_holds={},
            version=0,
        )
        try:
            record.save(condition=CertificateRecord.certificate_id.does_not_exist())
        except PutError as failure:
            if failure.cause_response_code == "ConditionalCheckFailedException":
                continue
            raise
        return _from_record(record)
    raise errors.ConcurrentUpdate("could not allocate a certificate number; retry")


def get(certificate_id: str, *, consistent: bool = True) -> Certificate:
    """One GetItem."""
    try:
        return _from_record(CertificateRecord.get(certificate_id, consistent_read=consistent))
    except DoesNotExist:
        raise errors.CertificateNotFound() from None


def of_guardian(guardian_sub: str, limit: int = 100) -> list[Certificate]:
    """The guardian's children, one Query on the by_guardian index."""
    return [_from_record(r) for r in CertificateRecord.by_guardian.query(guardian_sub, limit=limit)]
