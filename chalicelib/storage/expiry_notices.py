"""The expiry notice's bookkeeping on the certificate item: ``expiry_notice_period`` marks that the guardian was
told of the coming expiry of that period's money.

The mark is claimed with a condition (not yet this period's) before the notice is sent, so two runs of the job, or
two at once, tell each guardian once per certificate and period; a send that fails gives the mark back, so the next
day's run tries again. The job's Scan filters marked certificates out, so a daily run in the notice window reads
them but never writes them again. Setting the mark does not bump the certificate's ``version``: no money moves, and a
rollover planned meanwhile stays valid.
"""

from __future__ import annotations

from typing import Any

from pynamodb.exceptions import UpdateError

from chalicelib.domain.certificate import Certificate, CertificateStatus
from chalicelib.storage.certificates import CERTIFICATES
from chalicelib.storage.models import CertificateRecord

C = CertificateRecord


def _not_marked(period_id: str) -> Any:
    return C.expiry_notice_period.does_not_exist() | (C.expiry_notice_period != period_id)


def unnotified_page(
    period_id: str, start: dict[str, Any] | None, page_size: int
) -> tuple[list[Certificate], dict[str, Any] | None]:
    """One page of the Scan: funded certificates of the period with money left and no notice yet (a job's Scan,
    never a request path)."""
    page = C._get_connection().scan(
        filter_condition=(C.status == CertificateStatus.FUNDED.value)
        & (C.period_id == period_id)
        & (C.available > 0)
        & _not_marked(period_id),
        limit=page_size,
        exclusive_start_key=start,  # type: ignore[arg-type]  # PynamoDB takes a raw key map too
    )
    found = [CERTIFICATES.from_image(item) for item in page.get("Items", [])]
    return found, page.get("LastEvaluatedKey")


def claim(certificate_id: str, period_id: str) -> bool:
    """Marks the certificate as told for ``period_id``; False if another run did (or it left the period)."""
    try:
        C(certificate_id=certificate_id).update(
            actions=[C.expiry_notice_period.set(period_id)],
            condition=(C.period_id == period_id) & _not_marked(period_id),
        )
    except UpdateError as failure:
        if failure.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def give_back(certificate_id: str, period_id: str) -> None:
    """The notice was not sent: the next run tries again."""
    try:
        C(certificate_id=certificate_id).update(
            actions=[C.expiry_notice_period.remove()], condition=C.expiry_notice_period == period_id
        )
    except UpdateError as failure:
        if failure.cause_response_code != "ConditionalCheckFailedException":
            raise
