"""The provider registry in DynamoDB: applying (one item per ИНН), reading, the operators' queue, decisions, the
documents' records, and the check other transactions add so that only an approved provider contracts and charges.

Every change is one conditional write. An application is a put under ``attribute_not_exists`` (a second one for the
same ИНН fails, however many arrive at once); a decision is an update conditioned on the status it was decided
from, so of two concurrent decisions only one applies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError
from pynamodb.expressions.condition import size

from chalicelib.domain import errors
from chalicelib.domain.provider import (
    MAX_DOCUMENTS,
    Application,
    Contacts,
    DocumentKind,
    ProviderKind,
    ProviderStatus,
    queue_of,
    queued_at,
    refuse_unless_approved,
)
from chalicelib.storage.models import ProviderRecord
from chalicelib.storage.transactions import Transaction, image_string

P = ProviderRecord


@dataclass(frozen=True)
class Document:
    """A confirmed upload: what the registry knows of a file in the documents bucket."""

    document_id: str
    kind: DocumentKind
    key: str
    sha256: str
    size: int
    content_type: str
    uploaded_at: str


@dataclass(frozen=True)
class Provider:
    """A provider's entry in the registry, as read."""

    provider_id: str
    kind: ProviderKind
    name: str
    inn: str
    ogrn: str
    licence: str
    municipality: str
    contacts: Contacts
    owner_sub: str
    status: ProviderStatus
    reason: str | None
    applied_at: str
    decided_at: str | None
    decided_by: str | None
    documents: dict[str, Document]
    rating_sum: int
    rating_count: int
    version: int


def _document(document_id: str, raw: dict[str, Any]) -> Document:
    return Document(
        document_id=document_id,
        kind=DocumentKind(raw["kind"]),
        key=str(raw["key"]),
        sha256=str(raw["sha256"]),
        size=int(raw["size"]),
        content_type=str(raw["content_type"]),
        uploaded_at=str(raw["uploaded_at"]),
    )


def _from_record(record: ProviderRecord) -> Provider:
    contacts = record.contacts.as_dict() if record.contacts else {}
    documents = record.documents.as_dict() if record.documents else {}
    return Provider(
        provider_id=record.provider_id,
        kind=ProviderKind(record.kind),
        name=record.name,
        inn=record.inn,
        ogrn=record.ogrn,
        licence=record.licence,
        municipality=record.municipality,
        contacts=Contacts(str(contacts.get("phone", "")), str(contacts.get("email", "")), contacts.get("address")),
        owner_sub=record.owner_sub,
        status=ProviderStatus(record.status),
        reason=record.reason,
        applied_at=record.applied_at,
        decided_at=record.decided_at,
        decided_by=record.decided_by,
        documents={doc_id: _document(doc_id, raw) for doc_id, raw in documents.items()},
        rating_sum=int(record.rating_sum or 0),
        rating_count=int(record.rating_count or 0),
        version=int(record.version or 0),
    )


def insert(application: Application, owner_sub: str, applied_at: str) -> Provider:
    """Writes the application under its ИНН; a second one for the same ИНН is ``ProviderExists``."""
    contacts: dict[str, Any] = {"phone": application.contacts.phone, "email": application.contacts.email}
    if application.contacts.address is not None:
        contacts["address"] = application.contacts.address
    record = ProviderRecord(
        provider_id=application.inn,
        kind=application.kind.value,
        name=application.name,
        inn=application.inn,
        ogrn=application.ogrn,
        licence=application.licence,
        municipality=application.municipality,
        contacts=contacts,
        owner_sub=owner_sub,
        status=ProviderStatus.APPLIED.value,
        applied_at=applied_at,
        queue=queue_of(application.municipality, ProviderStatus.APPLIED),
        queued_at=queued_at(applied_at, application.inn),
        documents={},
        rating_sum=0,
        rating_count=0,
        version=0,
    )
    try:
        record.save(condition=P.provider_id.does_not_exist())
    except PutError as failure:
        if failure.cause_response_code == "ConditionalCheckFailedException":
            raise errors.ProviderExists() from None
        raise
    return _from_record(record)


def get(provider_id: str, *, consistent: bool = True) -> Provider:
    """One GetItem."""
    try:
        return _from_record(P.get(provider_id, consistent_read=consistent))
    except DoesNotExist:
        raise errors.ProviderNotFound() from None


def queue_page(
    municipality: str, status: ProviderStatus, limit: int, after: dict[str, Any] | None
) -> tuple[list[Provider], dict[str, Any] | None]:
    """One Query on the by_queue index: the municipality's providers in ``status``, oldest application first."""
    result = P.by_queue.query(
        queue_of(municipality, status), scan_index_forward=True, limit=limit, last_evaluated_key=after, page_size=limit
    )
    providers = [_from_record(record) for record in result]
    return providers, result.last_evaluated_key


def _not_found_or_changed(image: dict[str, Any] | None) -> Exception:
    if image is None:
        return errors.ProviderNotFound()
    return errors.ConcurrentUpdate("the provider changed while the decision was applied; read it again")


def move(provider: Provider, target: ProviderStatus, reason: str | None, decided_at: str, decided_by: str) -> Provider:
    """``provider.status -> target``, only if the status is still the one the decision was made from.

    The queue key moves with the status, so the provider leaves one operator queue and enters the next.
    """
    tx = Transaction()
    tx.update(
        P(provider_id=provider.provider_id),
        [
            P.status.set(target.value),
            P.queue.set(queue_of(provider.municipality, target)),
            P.queued_at.set(queued_at(provider.applied_at, provider.provider_id)),
            P.reason.set(reason) if reason else P.reason.remove(),
            P.decided_at.set(decided_at),
            P.decided_by.set(decided_by),
            P.version.add(1),
        ],
        P.provider_id.exists() & (P.status == provider.status.value),
        _not_found_or_changed,
        want_old_image=True,
    )
    tx.commit()
    return get(provider.provider_id)


def _document_refusal(image: dict[str, Any] | None) -> Exception:
    if image is None:
        return errors.ProviderNotFound()
    if image_string(image, "status") == ProviderStatus.REJECTED.value:
        return errors.InvalidTransition("a rejected application takes no documents")
    return errors.DocumentRejected(f"a provider keeps at most {MAX_DOCUMENTS} documents")


def record_document(provider_id: str, document: Document) -> None:
    """Keeps the document's record in the provider's item; confirming the same document again replaces it.

    Refused for an unknown or rejected provider, and past ``MAX_DOCUMENTS`` (an item holds at most 400 KB).
    """
    tx = Transaction()
    tx.update(
        P(provider_id=provider_id),
        [
            P.documents[document.document_id].set(
                {
                    "kind": document.kind.value,
                    "key": document.key,
                    "sha256": document.sha256,
                    "size": document.size,
                    "content_type": document.content_type,
                    "uploaded_at": document.uploaded_at,
                }
            ),
            P.version.add(1),
        ],
        P.provider_id.exists()
        & (P.status != ProviderStatus.REJECTED.value)
        & (P.documents[document.document_id].exists() | (size(P.documents) < MAX_DOCUMENTS)),
        _document_refusal,
        want_old_image=True,
    )
    tx.commit()


# --- only an approved provider contracts and charges ---------------------------------------------------------------


def _approval_refusal(provider_id: str) -> Any:
    def explain(image: dict[str, Any] | None) -> Exception:
        # A ConditionCheck reports no old image (Transaction.check does not ask for one), so the refusal is
        # explained by a read made after the transaction failed: diagnosis only, nothing is decided on it.
        status = image_string(image, "status")
        if status is None:
            try:
                status = get(provider_id).status.value
            except errors.ProviderNotFound as missing:
                return missing
        try:
            refuse_unless_approved(ProviderStatus(status))
        except errors.DomainError as refusal:
            return refusal
        return errors.ConcurrentUpdate("the provider's status changed; retry")

    return explain


def add_approved_check(tx: Transaction, provider_id: str) -> None:
    """Adds to ``tx`` the condition that the provider is approved: a suspended provider takes no new contracts and
    makes no charges. The transaction then fails with ``ProviderSuspended``, ``ProviderNotApproved`` or
    ``ProviderNotFound``."""
    tx.check(P, provider_id, None, P.status == ProviderStatus.APPROVED.value, _approval_refusal(provider_id))


def require_approved(provider_id: str) -> Provider:
    """The provider, if it is approved (publishing a program); one GetItem."""
    provider = get(provider_id)
    refuse_unless_approved(provider.status)
    return provider
