"""The provider registry in DynamoDB: applying (one item per ИНН), reading, the operators' queue, decisions, the
documents' records, and the check other transactions add so that only an approved provider contracts and charges.

Every change is one conditional write. An application is a put under ``attribute_not_exists`` (a second one for the
same ИНН fails, however many arrive at once); a decision is an update conditioned on the status it was decided
from, so of two concurrent decisions only one applies.
"""

from __future__ import annotations

from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError
from pynamodb.expressions.condition import size

from chalicelib.domain import errors
from chalicelib.domain.program import RatingSummary
from chalicelib.domain.provider import (
    MAX_DOCUMENTS,
    Contacts,
    Document,
    DocumentKind,
    Provider,
    ProviderKind,
    ProviderStatus,
    queue_of,
    queued_at,
    refuse_unless_approved,
)
from chalicelib.storage.mapping import Conversion, Mapper, Spread, enum_of, plain
from chalicelib.storage.models import ProviderRecord
from chalicelib.storage.pages import Page
from chalicelib.storage.transactions import Transaction


def _contacts_stored(contacts: Contacts) -> dict[str, Any]:
    stored: dict[str, Any] = {"phone": contacts.phone, "email": contacts.email}
    if contacts.address is not None:
        stored["address"] = contacts.address
    return stored


def _contacts_read(stored: Any) -> Contacts:
    found = plain(stored)
    return Contacts(str(found.get("phone", "")), str(found.get("email", "")), found.get("address"))


def document_stored(document: Document) -> dict[str, Any]:
    """A document as the provider's ``documents`` map holds it (its id is its key there)."""
    return {
        "kind": document.kind.value,
        "key": document.key,
        "sha256": document.sha256,
        "size": document.size,
        "content_type": document.content_type,
        "uploaded_at": document.uploaded_at,
    }


def _documents_read(stored: Any) -> dict[str, Document]:
    return {
        document_id: Document(
            document_id=document_id,
            kind=DocumentKind(raw["kind"]),
            key=str(raw["key"]),
            sha256=str(raw["sha256"]),
            size=int(raw["size"]),
            content_type=str(raw["content_type"]),
            uploaded_at=str(raw["uploaded_at"]),
        )
        for document_id, raw in plain(stored).items()
    }


PROVIDERS = Mapper(
    Provider,
    ProviderRecord,
    convert={
        "kind": enum_of(ProviderKind),
        "status": enum_of(ProviderStatus),
        "contacts": Conversion(_contacts_stored, _contacts_read),
        "documents": Conversion(
            lambda documents: {i: document_stored(d) for i, d in documents.items()}, _documents_read
        ),
    },
    spread={"rating": Spread(RatingSummary, {"total": "rating_sum", "count": "rating_count"})},
    derived={
        "queue": lambda provider: queue_of(provider.municipality, provider.status),
        "queued_at": lambda provider: queued_at(provider.applied_at, provider.provider_id),
    },
)


def insert(provider: Provider) -> Provider:
    """Writes the application under its ИНН; a second one for the same ИНН is ``ProviderExists``."""
    try:
        PROVIDERS.record(provider).save(condition=ProviderRecord.provider_id.does_not_exist())
    except PutError as failure:
        if failure.cause_response_code == "ConditionalCheckFailedException":
            raise errors.ProviderExists() from None
        raise
    return provider


def get(provider_id: str, *, consistent: bool = True) -> Provider:
    """One GetItem."""
    try:
        return PROVIDERS.to_entity(ProviderRecord.get(provider_id, consistent_read=consistent))
    except DoesNotExist:
        raise errors.ProviderNotFound() from None


def queue_page(municipality: str, status: ProviderStatus, limit: int, after: dict[str, Any] | None) -> Page[Provider]:
    """One Query on the by_queue index: the municipality's providers in ``status``, oldest application first."""
    result = ProviderRecord.by_queue.query(
        queue_of(municipality, status), scan_index_forward=True, limit=limit, last_evaluated_key=after, page_size=limit
    )
    return Page([PROVIDERS.to_entity(record) for record in result], result.last_evaluated_key)


def names(provider_ids: set[str]) -> dict[str, str]:
    """Each provider's name: BatchGetItem (100 keys a round)."""
    found = ProviderRecord.batch_get(sorted(provider_ids), attributes_to_get=["provider_id", "name"])
    return {record.provider_id: record.name for record in found}


def _not_found_or_changed(image: dict[str, Any] | None) -> Exception:
    if image is None:
        return errors.ProviderNotFound()
    return errors.ConcurrentUpdate("the provider changed while the decision was applied; read it again")


def move(provider: Provider, target: ProviderStatus, reason: str | None, decided_at: str, decided_by: str) -> Provider:
    """``provider.status -> target``, only if the status is still the one the decision was made from.

    The queue key moves with the status, so the provider leaves one operator queue and enters the next.
    """
    V = ProviderRecord
    tx = Transaction()
    tx.update(
        V(provider_id=provider.provider_id),
        [
            V.status.set(target.value),
            V.queue.set(queue_of(provider.municipality, target)),
            V.queued_at.set(queued_at(provider.applied_at, provider.provider_id)),
            V.reason.set(reason) if reason else V.reason.remove(),
            V.decided_at.set(decided_at),
            V.decided_by.set(decided_by),
            V.version.add(1),
        ],
        V.provider_id.exists() & (V.status == provider.status.value),
        _not_found_or_changed,
        want_old_image=True,
    )
    tx.commit()
    return get(provider.provider_id)


def _document_refusal(image: dict[str, Any] | None) -> Exception:
    if image is None:
        return errors.ProviderNotFound()
    if PROVIDERS.from_image(image).status is ProviderStatus.REJECTED:
        return errors.InvalidTransition("a rejected application takes no documents")
    return errors.DocumentRejected(f"a provider keeps at most {MAX_DOCUMENTS} documents")


def record_document(provider_id: str, document: Document) -> None:
    """Keeps the document's record in the provider's item; confirming the same document again replaces it.

    Refused for an unknown or rejected provider, and past ``MAX_DOCUMENTS`` (an item holds at most 400 KB).
    """
    V = ProviderRecord
    tx = Transaction()
    tx.update(
        V(provider_id=provider_id),
        [V.documents[document.document_id].set(document_stored(document)), V.version.add(1)],
        V.provider_id.exists()
        & (V.status != ProviderStatus.REJECTED.value)
        & (V.documents[document.document_id].exists() | (size(V.documents) < MAX_DOCUMENTS)),
        _document_refusal,
        want_old_image=True,
    )
    tx.commit()


# --- only an approved provider contracts and charges ---------------------------------------------------------------


def _approval_refusal(provider_id: str) -> Any:
    def explain(image: dict[str, Any] | None) -> Exception:
        # A ConditionCheck reports no old image (Transaction.check does not ask for one), so the refusal is
        # explained by a read made after the transaction failed: diagnosis only, nothing is decided on it.
        try:
            status = PROVIDERS.from_image(image).status if image else get(provider_id).status
        except errors.ProviderNotFound as missing:
            return missing
        try:
            refuse_unless_approved(status)
        except errors.DomainError as refusal:
            return refusal
        return errors.ConcurrentUpdate("the provider's status changed; retry")

    return explain


def add_approved_check(tx: Transaction, provider_id: str) -> None:
    """Adds to ``tx`` the condition that the provider is approved: a suspended provider takes no new contracts and
    makes no charges. The transaction then fails with ``ProviderSuspended``, ``ProviderNotApproved`` or
    ``ProviderNotFound``."""
    tx.check(
        ProviderRecord,
        provider_id,
        None,
        ProviderRecord.status == ProviderStatus.APPROVED.value,
        _approval_refusal(provider_id),
    )


def require_approved(provider_id: str) -> Provider:
    """The provider, if it is approved (publishing a program); one GetItem."""
    provider = get(provider_id)
    refuse_unless_approved(provider.status)
    return provider
