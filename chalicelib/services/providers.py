"""The provider registry (реестр поставщиков): applying, reading, the operators' queue, decisions, and documents
uploaded straight to the documents bucket by pre-signed POST, then confirmed (checked, hashed and recorded)."""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.domain import errors
from chalicelib.domain.actors import Principal, Role
from chalicelib.domain.ledger import utc_stamp
from chalicelib.domain.period import MUNICIPALITY
from chalicelib.domain.provider import (
    MAX_DOCUMENTS,
    PROVIDER_ID,
    SIGNATURE_BYTES,
    Application,
    Document,
    DocumentKind,
    Provider,
    ProviderDecision,
    ProviderStatus,
    content_matches,
    decide,
    document_key,
    document_kind,
    document_problem,
    new_document_id,
)
from chalicelib.platform import cursor
from chalicelib.services.context import Context
from chalicelib.storage import providers as store
from chalicelib.storage.documents import DocumentStore, PresignedPost, StoredObject
from chalicelib.storage.retry import Backoff, retry

DECISION_BACKOFF = Backoff(3)
DOWNLOAD_SECONDS = 300


# --- who may do what -------------------------------------------------------------------------------------------------


def _get(provider_id: str) -> Provider:
    """One GetItem; an id that is no ИНН names no provider (and is never sent to DynamoDB)."""
    if not PROVIDER_ID.fullmatch(provider_id):
        raise errors.ProviderNotFound()
    return store.get(provider_id)


def _own(actor: Principal, provider_id: str) -> Provider:
    """The caller's own provider: a provider user acts only for the provider_id of its token."""
    actor.require(Role.PROVIDER)
    if actor.provider_id != provider_id:
        raise errors.Forbidden("a provider acts only for itself")
    return _get(provider_id)


def _readable(actor: Principal, provider_id: str) -> Provider:
    """Its own provider user, or an operator of its municipality (or of the region)."""
    if actor.role is Role.PROVIDER:
        return _own(actor, provider_id)
    actor.require(Role.OPERATOR)
    provider = _get(provider_id)
    if not actor.operates_in(provider.municipality):
        raise errors.Forbidden("the provider belongs to another municipality")
    return provider


def _decidable(actor: Principal, provider_id: str) -> Provider:
    actor.require(Role.OPERATOR)
    provider = _get(provider_id)
    if not actor.operates_in(provider.municipality):
        raise errors.Forbidden("an operator decides only on providers of their municipality")
    return provider


# --- use cases -------------------------------------------------------------------------------------------------------


def apply(ctx: Context, actor: Principal, application: Application) -> Provider:
    """A provider's user applies to enter the registry; one application per ИНН (a second is ``ProviderExists``)."""
    actor.require(Role.PROVIDER)
    valid = application.validated()
    if valid.inn != actor.provider_id:
        raise errors.Forbidden("a provider applies only under the ИНН of its token")
    return store.insert(valid.provider(actor.sub, utc_stamp(ctx.now())))


def view(ctx: Context, actor: Principal, provider_id: str) -> Provider:
    return _readable(actor, provider_id)


@dataclass(frozen=True)
class QueuePage:
    municipality: str
    status: ProviderStatus
    providers: list[Provider]
    cursor: str | None


def queue(
    ctx: Context, actor: Principal, municipality: str | None, status: ProviderStatus, limit: int, after: str | None
) -> QueuePage:
    """The applications (or providers in ``status``) of a municipality, oldest first. A municipal operator sees only
    their own municipality; a regional operator names one."""
    actor.require(Role.OPERATOR)
    if municipality is None:
        if actor.is_regional_operator:
            raise errors.InvalidRequest("a regional operator names the municipality of the queue")
        municipality = str(actor.municipality)
    if not MUNICIPALITY.fullmatch(municipality):
        raise errors.InvalidRequest("municipality must be a lower-case code")
    if not actor.operates_in(municipality):
        raise errors.Forbidden("an operator sees only the queue of their municipality")
    secret = ctx.settings.cursor_key
    scope = f"providers:{municipality}#{status.value}"
    page = store.queue_page(municipality, status, limit, cursor.decode(secret, scope, after))
    return QueuePage(municipality, status, page.items, cursor.encode(secret, scope, page.next_key))


def decide_on(
    ctx: Context, actor: Principal, provider_id: str, decision: ProviderDecision, reason: str | None
) -> Provider:
    """An operator approves or rejects an application, suspends or reinstates a provider.

    The write is conditioned on the status the decision was made from: of two operators deciding at once only one
    applies; the other reads again and is told the decision no longer fits (``InvalidTransition``).
    """

    def attempt(_n: int) -> Provider:
        provider = _decidable(actor, provider_id)
        target, recorded_reason = decide(provider.status, decision, reason)
        return store.move(provider, target, recorded_reason, utc_stamp(ctx.now()), actor.sub)

    return retry(attempt, DECISION_BACKOFF, on=errors.ConcurrentUpdate, gave_up="the provider kept changing; retry")


# --- documents -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UploadGrant:
    document_id: str
    upload: PresignedPost
    expires_in: int
    max_bytes: int


def _documents(ctx: Context) -> DocumentStore:
    return DocumentStore(ctx.settings.documents_bucket)


def _accepts_documents(provider: Provider) -> None:
    if provider.status is ProviderStatus.REJECTED:
        raise errors.InvalidTransition("a rejected application takes no documents")


def request_upload(
    ctx: Context, actor: Principal, provider_id: str, kind: DocumentKind, content_type: str, size: int
) -> UploadGrant:
    """A pre-signed POST for one document: its key, type and size limit are fixed by the signed policy. Nothing is
    recorded until the upload is confirmed."""
    provider = _own(actor, provider_id)
    _accepts_documents(provider)
    max_bytes = ctx.settings.document_max_bytes
    problem = document_problem(content_type, size, max_bytes)
    if problem:
        raise errors.DocumentRejected(problem)
    if len(provider.documents) >= MAX_DOCUMENTS:
        raise errors.DocumentRejected(f"a provider keeps at most {MAX_DOCUMENTS} documents")
    document_id = new_document_id(kind)
    expires_in = ctx.settings.document_upload_seconds
    upload = _documents(ctx).presigned_post(document_key(provider_id, document_id), content_type, max_bytes, expires_in)
    return UploadGrant(document_id, upload, expires_in, max_bytes)


def confirm_document(ctx: Context, actor: Principal, provider_id: str, document_id: str) -> Document:
    """Checks the uploaded object (present, small enough, of an accepted type that its bytes bear out), hashes it and
    records it. A file that fails the checks is deleted and refused (``DocumentRejected``)."""
    kind = document_kind(document_id)
    provider = _own(actor, provider_id)
    _accepts_documents(provider)
    documents = _documents(ctx)
    key = document_key(provider_id, document_id)
    found = documents.head(key)
    if found is None:
        raise errors.DocumentRejected("nothing was uploaded for this document")
    try:
        document = _checked(ctx, documents, document_id, kind, key, found)
    except errors.DocumentRejected:
        documents.delete(key)
        raise
    store.record_document(provider_id, document)
    return document


def _checked(
    ctx: Context, documents: DocumentStore, document_id: str, kind: DocumentKind, key: str, found: StoredObject
) -> Document:
    """The document's record, if the object is one the registry takes. Real S3 already enforced the upload policy;
    these checks hold wherever the object came from (and moto enforces no policy)."""
    max_bytes = ctx.settings.document_max_bytes
    problem = document_problem(found.content_type, found.size, max_bytes)
    if problem:
        raise errors.DocumentRejected(problem)
    content_type = str(found.content_type)
    hashed = documents.hash(key, found.etag, SIGNATURE_BYTES)
    if not content_matches(content_type, hashed.first_bytes):
        raise errors.DocumentRejected(f"the file's content is not {content_type}")
    return Document(
        document_id=document_id,
        kind=kind,
        key=key,
        sha256=hashed.sha256,
        size=hashed.size,
        content_type=content_type,
        uploaded_at=utc_stamp(ctx.now()),
    )


@dataclass(frozen=True)
class Download:
    document: Document
    url: str
    expires_in: int


def download(ctx: Context, actor: Principal, provider_id: str, document_id: str) -> Download:
    """A short-lived link to a recorded document, for whoever may read the provider (the operator reviewing it)."""
    provider = _readable(actor, provider_id)
    document = provider.documents.get(document_id)
    if document is None:
        raise errors.NotFound("no such document")
    return Download(document, _documents(ctx).presigned_get(document.key, DOWNLOAD_SECONDS), DOWNLOAD_SECONDS)
