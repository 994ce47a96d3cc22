"""The provider registry: apply, read, the operators' queue, decisions, and documents (pre-signed upload, confirm,
download link)."""

from typing import Annotated, Literal

from pydantic import Field

from chalicelib.domain import errors
from chalicelib.domain.provider import Application, Contacts, Decision, DocumentKind, ProviderKind, ProviderStatus
from chalicelib.services import providers
from chalicelib.storage.providers import Document, Provider
from functions.http import Call, Reply
from functions.schemas import Out, Strict

DEFAULT_PAGE = 20
MAX_PAGE = 100


# --- bodies ----------------------------------------------------------------------------------------------------------


class ContactsIn(Strict):
    phone: Annotated[str, Field(min_length=5, max_length=32)]
    email: Annotated[str, Field(min_length=3, max_length=254)]
    address: Annotated[str, Field(min_length=1, max_length=300)] | None = None


class ApplicationIn(Strict):
    name: Annotated[str, Field(min_length=1, max_length=300)]
    kind: ProviderKind
    inn: Annotated[str, Field(min_length=10, max_length=12)]
    ogrn: Annotated[str, Field(min_length=13, max_length=15)]
    licence: Annotated[str, Field(min_length=1, max_length=64)]
    municipality: Annotated[str, Field(min_length=2, max_length=48)]
    contacts: ContactsIn


class DecisionIn(Strict):
    decision: Decision
    reason: Annotated[str, Field(max_length=2000)] | None = None


class UploadIn(Strict):
    kind: DocumentKind
    content_type: Literal["application/pdf", "image/jpeg", "image/png"]
    size: Annotated[int, Field(ge=1)]


class DocumentOut(Out):
    document_id: str
    kind: str
    sha256: str
    size: int
    content_type: str
    uploaded_at: str

    @classmethod
    def of(cls, document: Document) -> "DocumentOut":
        return cls(
            document_id=document.document_id,
            kind=document.kind.value,
            sha256=document.sha256,
            size=document.size,
            content_type=document.content_type,
            uploaded_at=document.uploaded_at,
        )


class ContactsOut(Out):
    phone: str
    email: str
    address: str | None


class RatingOut(Out):
    average: float | None
    count: int


class ProviderOut(Out):
    provider_id: str
    name: str
    kind: str
    inn: str
    ogrn: str
    licence: str
    municipality: str
    contacts: ContactsOut
    status: str
    reason: str | None
    applied_at: str
    decided_at: str | None
    decided_by: str | None
    documents: list[DocumentOut]
    rating: RatingOut

    @classmethod
    def of(cls, provider: Provider) -> "ProviderOut":
        count = provider.rating_count
        return cls(
            provider_id=provider.provider_id,
            name=provider.name,
            kind=provider.kind.value,
            inn=provider.inn,
            ogrn=provider.ogrn,
            licence=provider.licence,
            municipality=provider.municipality,
            contacts=ContactsOut(**provider.contacts.__dict__),
            status=provider.status.value,
            reason=provider.reason,
            applied_at=provider.applied_at,
            decided_at=provider.decided_at,
            decided_by=provider.decided_by,
            documents=[
                DocumentOut.of(d)
                for d in sorted(provider.documents.values(), key=lambda d: (d.uploaded_at, d.document_id))
            ],
            rating=RatingOut(average=round(provider.rating_sum / count, 2) if count else None, count=count),
        )


class QueueOut(Out):
    municipality: str
    status: str
    providers: list[ProviderOut]
    cursor: str | None


class UploadOut(Out):
    document_id: str
    upload: dict[str, object]
    expires_in: int
    max_bytes: int


# --- routes ----------------------------------------------------------------------------------------------------------


def apply(call: Call) -> Reply:
    body = call.parse(ApplicationIn)
    application = Application(
        name=body.name,
        kind=body.kind,
        inn=body.inn,
        ogrn=body.ogrn,
        licence=body.licence,
        municipality=body.municipality,
        contacts=Contacts(body.contacts.phone, body.contacts.email, body.contacts.address),
    )
    return Reply(ProviderOut.of(providers.apply(call.ctx, call.actor, application)), 201)


def queue(call: Call) -> Reply:
    """The operator's queue: ?status= (default applied) &municipality= &limit= &cursor=."""
    page = providers.queue(
        call.ctx,
        call.actor,
        call.query.get("municipality"),
        _status(call.query.get("status")),
        _limit(call.query.get("limit")),
        call.query.get("cursor"),
    )
    return Reply(
        QueueOut(
            municipality=page.municipality,
            status=page.status.value,
            providers=[ProviderOut.of(p) for p in page.providers],
            cursor=page.cursor,
        )
    )


def view(call: Call) -> Reply:
    return Reply(ProviderOut.of(providers.view(call.ctx, call.actor, call.params["provider_id"])))


def decide(call: Call) -> Reply:
    body = call.parse(DecisionIn)
    provider = providers.decide_on(call.ctx, call.actor, call.params["provider_id"], body.decision, body.reason)
    return Reply(ProviderOut.of(provider))


def request_upload(call: Call) -> Reply:
    """A pre-signed POST: send ``upload.fields`` and then the file (as ``file``) to ``upload.url``, then confirm."""
    body = call.parse(UploadIn)
    grant = providers.request_upload(
        call.ctx, call.actor, call.params["provider_id"], body.kind, body.content_type, body.size
    )
    return Reply(
        UploadOut(
            document_id=grant.document_id,
            upload={"url": grant.upload.url, "fields": grant.upload.fields},
            expires_in=grant.expires_in,
            max_bytes=grant.max_bytes,
        ),
        201,
    )


def confirm_document(call: Call) -> Reply:
    document = providers.confirm_document(call.ctx, call.actor, call.params["provider_id"], call.params["document_id"])
    return Reply(DocumentOut.of(document))


def download(call: Call) -> Reply:
    """A short-lived download link of a recorded document."""
    link = providers.download(call.ctx, call.actor, call.params["provider_id"], call.params["document_id"])
    return Reply({**DocumentOut.of(link.document).model_dump(), "url": link.url, "expires_in": link.expires_in})


def _status(text: str | None) -> ProviderStatus:
    if text is None:
        return ProviderStatus.APPLIED
    try:
        return ProviderStatus(text)
    except ValueError:
        raise errors.InvalidRequest(f"status must be one of {', '.join(s.value for s in ProviderStatus)}") from None


def _limit(text: str | None) -> int:
    if text is None:
        return DEFAULT_PAGE
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_PAGE:
        raise errors.InvalidRequest(f"limit must be a whole number from 1 to {MAX_PAGE}")
    return int(text)
