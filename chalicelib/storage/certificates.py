"""Certificates: issuing, reading, listing a guardian's children. Money changes live in storage.money."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError, UpdateError

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
    period_starts_on: date | None
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
            period_starts_on=self.period_starts_on,
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
        period_starts_on=date.fromisoformat(record.period_starts_on) if record.period_starts_on else None,
        balance=Balance(
            credited=int(record.credited),
            available=int(record.available),
            held=int(record.held),
            spent=int(record.spent),
            expired=int(record.expired),
        ),
        open_holds={contract: int(amount) for contract, amount in record.open_holds.as_dict().items()},
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


def scan_funded_outside(
    period_id: str, segment: int, total_segments: int, start: dict[str, Any] | None, page_size: int
) -> tuple[list[Certificate], dict[str, Any] | None]:
    """One page of one parallel-scan segment: funded certificates not yet in ``period_id`` (the top-up's work).

    A job's Scan, never a request path. Strongly consistent, so plans start from fresh versions.
    """
    page = CertificateRecord._get_connection().scan(
        filter_condition=(CertificateRecord.status == CertificateStatus.FUNDED.value)
        & (CertificateRecord.period_id.does_not_exist() | (CertificateRecord.period_id != period_id)),
        segment=segment,
        total_segments=total_segments,
        limit=page_size,
        exclusive_start_key=start,  # type: ignore[arg-type]  # PynamoDB takes a raw key map too
        consistent_read=True,
    )
    found = [_from_record(CertificateRecord.from_raw_data(item)) for item in page.get("Items", [])]
    return found, page.get("LastEvaluatedKey")


def freeze(certificate_id: str, reason: str) -> None:
    """An operator hold: nothing moves until it is lifted (every money condition requires ``funded``)."""
    C = CertificateRecord
    try:
        C(certificate_id=certificate_id).update(
            actions=[
                C.frozen_from.set(C.status),
                C.status.set(CertificateStatus.FROZEN.value),
                C.frozen_reason.set(reason),
                C.version.add(1),
            ],
            condition=C.status.is_in(CertificateStatus.ACCOUNTING.value, CertificateStatus.FUNDED.value),
        )
    except UpdateError as failure:
        if failure.cause_response_code == "ConditionalCheckFailedException":
            raise errors.InvalidTransition("only an accounting or funded certificate can be frozen") from None
        raise


def unfreeze(certificate_id: str) -> None:
    C = CertificateRecord
    try:
        C(certificate_id=certificate_id).update(
            actions=[C.status.set(C.frozen_from), C.frozen_from.remove(), C.frozen_reason.remove(), C.version.add(1)],
            condition=(C.status == CertificateStatus.FROZEN.value) & C.frozen_from.exists(),
        )
    except UpdateError as failure:
        if failure.cause_response_code == "ConditionalCheckFailedException":
            raise errors.InvalidTransition("the certificate is not frozen") from None
        raise


def all_ids() -> Iterator[str]:
    """Every certificate number (a Scan of keys only: an operator's job, never a request path)."""
    for record in CertificateRecord.scan(attributes_to_get=["certificate_id"]):
        yield record.certificate_id
