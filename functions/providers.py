"""The provider registry: apply, read, the operators' queue, decisions, and documents (pre-signed upload, confirm,
download link)."""

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from chalicelib.domain import errors
from chalicelib.domain.provider import (
    Application,
    Contacts,
    Document,
    DocumentKind,
    ProviderDecision,
    ProviderKind,
    ProviderStatus,
)
from chalicelib.services import providers
from functions.edge.apidoc import describe
from functions.edge.http import DIGITS_ONLY, Call, Query, Reply
from functions.schemas import Out, RatingOut, Seen, Strict

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


class ProviderDecisionIn(Strict):
    decision: ProviderDecision
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


class ContactsOut(Out):
    phone: str
    email: str
    address: str | None


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

    @field_validator("documents", mode="before")
    @classmethod
    def _in_upload_order(cls, documents: Any) -> Any:
        """The registry keeps documents by id; they are shown oldest upload first."""
        if isinstance(documents, dict):
            found: list[Document] = list(documents.values())
            return sorted(found, key=lambda d: (d.uploaded_at, d.document_id))
        return documents


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


class DownloadOut(DocumentOut):
    url: str
    expires_in: int


class QueueQuery(Query):
    status: ProviderStatus = ProviderStatus.APPLIED
    municipality: Annotated[
        str | None, Field(description="The queue's municipality (a municipal operator's own by default).")
    ] = None
    limit: Annotated[int, Field(ge=1, le=MAX_PAGE), DIGITS_ONLY] = DEFAULT_PAGE
    cursor: Annotated[str | None, Field(description="The previous page's cursor.")] = None


# --- routes ----------------------------------------------------------------------------------------------------------


@describe(
    summary="Apply to enter the provider registry",
    body=ApplicationIn,
    returns=ProviderOut,
    status=201,
    refusals=(errors.ProviderExists,),
    roles=("provider (its own ИНН)",),
)
def apply(call: Call) -> Reply:
    body = call.parse(ApplicationIn)
    application = Application(**body.model_dump(exclude={"contacts"}), contacts=Contacts(**body.contacts.model_dump()))
    return Reply(ProviderOut.of(providers.apply(call.ctx, call.actor, application)), 201)


@describe(
    summary="The operators' queue: applications (or providers in a status) of a municipality, oldest first",
    query=QueueQuery,
    returns=QueueOut,
    roles=("operator of the municipality",),
)
def queue(call: Call) -> Reply:
    """The operator's queue: ?status= (default applied) &municipality= &limit= &cursor=."""
    query = call.parse_query(QueueQuery)
    page = providers.queue(call.ctx, call.actor, query.municipality, query.status, query.limit, query.cursor)
    return Reply(
        QueueOut.build(
            municipality=page.municipality,
            status=page.status.value,
            providers=page.providers,
            cursor=page.cursor,
        )
    )


@describe(
    summary="A provider's registry entry",
    returns=ProviderOut,
    refusals=(errors.ProviderNotFound,),
    roles=("the provider itself", "operator of its municipality"),
)
def view(call: Call) -> Reply:
    return Reply(ProviderOut.of(providers.view(call.ctx, call.actor, call.params["provider_id"])))


@describe(
    summary="Approve or reject an application; suspend or reinstate a provider",
    body=ProviderDecisionIn,
    returns=ProviderOut,
    refusals=(errors.ProviderNotFound, errors.InvalidTransition, errors.ConcurrentUpdate),
    roles=("operator of its municipality",),
)
def decide(call: Call) -> Reply:
    body = call.parse(ProviderDecisionIn)
    provider = providers.decide_on(call.ctx, call.actor, call.params["provider_id"], body.decision, body.reason)
    return Reply(ProviderOut.of(provider))


@describe(
    summary="A pre-signed upload for one document",
    body=UploadIn,
    returns=UploadOut,
    status=201,
    refusals=(errors.ProviderNotFound, errors.InvalidTransition, errors.DocumentRejected),
    roles=("the provider itself",),
)
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


@describe(
    summary="Confirm an uploaded document: checked, hashed and recorded",
    returns=DocumentOut,
    refusals=(errors.ProviderNotFound, errors.InvalidTransition, errors.DocumentRejected, errors.ConcurrentUpdate),
    roles=("the provider itself",),
)
def confirm_document(call: Call) -> Reply:
    document = providers.confirm_document(call.ctx, call.actor, call.params["provider_id"], call.params["document_id"])
    return Reply(DocumentOut.of(document))


@describe(
    summary="A short-lived download link of a recorded document",
    returns=DownloadOut,
    refusals=(errors.ProviderNotFound,),
    roles=("the provider itself", "operator of its municipality"),
)
def download(call: Call) -> Reply:
    """A short-lived download link of a recorded document."""
    link = providers.download(call.ctx, call.actor, call.params["provider_id"], call.params["document_id"])
    return Reply(DownloadOut.of(Seen(link.document, url=link.url, expires_in=link.expires_in)))
