"""Providers (поставщики образовательных услуг) and their entry in the registry (реестр поставщиков).

A provider is identified by its ИНН. Organisations have a 10-digit ИНН and a 13-digit ОГРН; individual
entrepreneurs a 12-digit ИНН and a 15-digit ОГРНИП. Both numbers carry check digits, verified here.

An application is ``applied``; a municipal operator approves or rejects it (with a reason), and may later suspend an
approved provider (with a reason) and reinstate it. A suspended provider takes no new contracts and makes no charges.
Documents (licence scan, charter) are uploaded straight to the object store; the registry keeps their keys and hashes.
"""

from __future__ import annotations

import enum
import re
import secrets
from dataclasses import dataclass, field

from chalicelib.domain import errors
from chalicelib.domain.ids import ProviderId
from chalicelib.domain.period import MUNICIPALITY
from chalicelib.domain.program import RatingSummary

_INN10 = (2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN11 = (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN12 = (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)

# ASCII digits only: ``\d`` would also take Arabic-Indic or full-width digits, which ``int`` happily reads.
# The first two digits of an ИНН are a region code; "00" is none.
_INN_ORGANIZATION = re.compile(r"(?!00)[0-9]{10}")
_INN_ENTREPRENEUR = re.compile(r"(?!00)[0-9]{12}")
# The first digit of a registration number says what it registers: 1 or 5 an organisation's ОГРН, 3 an ОГРНИП
# (2, 4, 6-9 are numbers of later records, not of the registration itself).
_OGRN = re.compile(r"[15][0-9]{12}")
_OGRNIP = re.compile(r"3[0-9]{14}")
# A provider is registered under its ИНН: nothing else can name one.
PROVIDER_ID = re.compile(r"[0-9]{10}|[0-9]{12}")


class ProviderKind(str, enum.Enum):
    ORGANIZATION = "organization"  # юридическое лицо (municipal or private)
    ENTREPRENEUR = "entrepreneur"  # индивидуальный предприниматель


class ProviderStatus(str, enum.Enum):
    APPLIED = "applied"
    APPROVED = "approved"
    REJECTED = "rejected"
    SUSPENDED = "suspended"


def _check(digits: str, weights: tuple[int, ...]) -> int:
    return sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11 % 10


def is_valid_inn(inn: str, kind: ProviderKind) -> bool:
    """ИНН: 10 digits for an organisation (one check digit), 12 for an entrepreneur (two)."""
    if kind is ProviderKind.ORGANIZATION:
        return bool(_INN_ORGANIZATION.fullmatch(inn)) and _check(inn[:9], _INN10) == int(inn[9])
    return (
        bool(_INN_ENTREPRENEUR.fullmatch(inn))
        and _check(inn[:10], _INN11) == int(inn[10])
        and _check(inn[:11], _INN12) == int(inn[11])
    )


def is_valid_ogrn(ogrn: str, kind: ProviderKind) -> bool:
    """ОГРН: 13 digits, the last is (first 12 mod 11) mod 10; ОГРНИП: 15 digits, (first 14 mod 13) mod 10."""
    if kind is ProviderKind.ORGANIZATION:
        return bool(_OGRN.fullmatch(ogrn)) and int(ogrn[:12]) % 11 % 10 == int(ogrn[12])
    return bool(_OGRNIP.fullmatch(ogrn)) and int(ogrn[:14]) % 13 % 10 == int(ogrn[14])


def check_registration_numbers(inn: str, ogrn: str, kind: ProviderKind) -> None:
    if not is_valid_inn(inn, kind):
        raise errors.InvalidRequest(
            "inn must be 10 digits for an organisation or 12 for an entrepreneur, with valid check digits"
        )
    if not is_valid_ogrn(ogrn, kind):
        raise errors.InvalidRequest(
            "ogrn must be a 13-digit ОГРН (organisation) or 15-digit ОГРНИП (entrepreneur) with a valid check digit"
        )


# --- the application ---------------------------------------------------------------------------------------------

_PHONE = re.compile(r"\+?[0-9][0-9 ()-]{4,24}")
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+")


def _text(value: str, field: str, longest: int) -> str:
    """One space between words; not blank; at most ``longest`` characters."""
    text = " ".join(value.split())
    if not 1 <= len(text) <= longest or not text.isprintable():
        raise errors.InvalidRequest(f"{field} must be 1-{longest} printable characters")
    return text


@dataclass(frozen=True)
class Contacts:
    phone: str
    email: str
    address: str | None = None

    def normalised(self) -> Contacts:
        phone = " ".join(self.phone.split())
        if not _PHONE.fullmatch(phone):
            raise errors.InvalidRequest("contacts.phone must be a phone number, e.g. +7 415 312-34-56")
        email = self.email.strip()
        if len(email) > 254 or not _EMAIL.fullmatch(email):
            raise errors.InvalidRequest("contacts.email must be an e-mail address")
        address = None if self.address is None else _text(self.address, "contacts.address", 300)
        return Contacts(phone, email, address)


@dataclass(frozen=True)
class Application:
    """What a provider sends to enter the registry (заявка на включение в реестр поставщиков)."""

    name: str
    kind: ProviderKind
    inn: str
    ogrn: str
    licence: str
    municipality: str
    contacts: Contacts

    def validated(self) -> Application:
        """The application with its text normalised; raises ``InvalidRequest`` for what the registry cannot take."""
        check_registration_numbers(self.inn, self.ogrn, self.kind)
        if not MUNICIPALITY.fullmatch(self.municipality):
            raise errors.InvalidRequest("municipality must be a lower-case code")
        return Application(
            name=_text(self.name, "name", 300),
            kind=self.kind,
            inn=self.inn,
            ogrn=self.ogrn,
            licence=_text(self.licence, "licence", 64),
            municipality=self.municipality,
            contacts=self.contacts.normalised(),
        )

    def provider(self, owner_sub: str, applied_at: str) -> Provider:
        """The registry's entry for this application, as applied (under its ИНН)."""
        return Provider(
            provider_id=ProviderId(self.inn),
            kind=self.kind,
            name=self.name,
            inn=self.inn,
            ogrn=self.ogrn,
            licence=self.licence,
            municipality=self.municipality,
            contacts=self.contacts,
            owner_sub=owner_sub,
            status=ProviderStatus.APPLIED,
            applied_at=applied_at,
        )


# --- decisions -----------------------------------------------------------------------------------------------------

# Who moves a provider from where to where: (from, to) pairs an operator may decide.
TRANSITIONS: dict[ProviderStatus, frozenset[ProviderStatus]] = {
    ProviderStatus.APPLIED: frozenset({ProviderStatus.APPROVED, ProviderStatus.REJECTED}),
    ProviderStatus.APPROVED: frozenset({ProviderStatus.SUSPENDED}),
    ProviderStatus.SUSPENDED: frozenset({ProviderStatus.APPROVED}),
    ProviderStatus.REJECTED: frozenset(),
}


def check_transition(current: ProviderStatus, target: ProviderStatus) -> None:
    if target not in TRANSITIONS[current]:
        raise errors.InvalidTransition(f"a provider that is {current.value} cannot become {target.value}")


class ProviderDecision(str, enum.Enum):
    """What an operator decides about a provider."""

    APPROVE = "approve"  # an application enters the registry
    REJECT = "reject"  # an application is refused (reason required)
    SUSPEND = "suspend"  # an approved provider is stopped (reason required)
    REINSTATE = "reinstate"  # a suspended provider is approved again


# Each decision is one transition of TRANSITIONS: approving is for applications, reinstating for suspensions.
MOVES: dict[ProviderDecision, tuple[ProviderStatus, ProviderStatus]] = {
    ProviderDecision.APPROVE: (ProviderStatus.APPLIED, ProviderStatus.APPROVED),
    ProviderDecision.REJECT: (ProviderStatus.APPLIED, ProviderStatus.REJECTED),
    ProviderDecision.SUSPEND: (ProviderStatus.APPROVED, ProviderStatus.SUSPENDED),
    ProviderDecision.REINSTATE: (ProviderStatus.SUSPENDED, ProviderStatus.APPROVED),
}
NEEDS_REASON = frozenset({ProviderDecision.REJECT, ProviderDecision.SUSPEND})
MAX_REASON = 1000


def decide(
    current: ProviderStatus, decision: ProviderDecision, reason: str | None
) -> tuple[ProviderStatus, str | None]:
    """The status ``decision`` leads to from ``current``, and the reason to record (normalised, or None)."""
    text = " ".join(reason.split()) if reason else ""
    if decision in NEEDS_REASON and not text:
        raise errors.InvalidRequest(f"a decision to {decision.value} needs a reason")
    if len(text) > MAX_REASON:
        raise errors.InvalidRequest(f"reason must be at most {MAX_REASON} characters")
    source, target = MOVES[decision]
    if current is not source:
        raise errors.InvalidTransition(f"a provider that is {current.value} cannot be {_done(decision)}")
    check_transition(current, target)
    return target, text or None


def _done(decision: ProviderDecision) -> str:
    return {"approve": "approved", "reject": "rejected", "suspend": "suspended", "reinstate": "reinstated"}[
        decision.value
    ]


# --- the registry's entry ----------------------------------------------------------------------------------------


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
    """A provider's entry in the registry, under its ИНН: its details, who applied, the operators' decision, the
    confirmed documents and the sum of its programs' ratings."""

    provider_id: ProviderId
    kind: ProviderKind
    name: str
    inn: str
    ogrn: str
    licence: str
    municipality: str
    contacts: Contacts
    owner_sub: str
    status: ProviderStatus
    applied_at: str
    reason: str | None = None
    decided_at: str | None = None
    decided_by: str | None = None
    documents: dict[str, Document] = field(default_factory=dict)
    rating: RatingSummary = field(default_factory=RatingSummary)
    version: int = 0


def refuse_unless_approved(status: ProviderStatus) -> None:
    """Only an approved provider publishes programs, takes contracts and charges them."""
    if status is ProviderStatus.SUSPENDED:
        raise errors.ProviderSuspended()
    if status is not ProviderStatus.APPROVED:
        raise errors.ProviderNotApproved(f"the provider is {status.value}, not approved")


def queue_of(municipality: str, status: ProviderStatus) -> str:
    """The operator's queue a provider sits in (the by_queue index's partition)."""
    return f"{municipality}#{status.value}"


def queued_at(applied_at: str, provider_id: str) -> str:
    """Its place in the queue: oldest application first, the ИНН breaking ties."""
    return f"{applied_at}#{provider_id}"


# --- documents -------------------------------------------------------------------------------------------------------


class DocumentKind(str, enum.Enum):
    LICENCE = "licence"  # скан лицензии на образовательную деятельность
    CHARTER = "charter"  # устав
    OTHER = "other"


# Accepted types and the first bytes a file of that type starts with (a renamed text file is not a PDF).
CONTENT_TYPES: dict[str, tuple[bytes, ...]] = {
    "application/pdf": (b"%PDF-",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
}
SIGNATURE_BYTES = max(len(sig) for sigs in CONTENT_TYPES.values() for sig in sigs)
MAX_DOCUMENTS = 20
_DOCUMENT_ID = re.compile(r"(licence|charter|other)-[0-9a-f]{32}")


def new_document_id(kind: DocumentKind) -> str:
    """``{kind}-{32 hex}``: the kind travels in the object's key, so the upload cannot change it."""
    return f"{kind.value}-{secrets.token_hex(16)}"


def document_kind(document_id: str) -> DocumentKind:
    if not _DOCUMENT_ID.fullmatch(document_id):
        raise errors.InvalidRequest("document_id is not one this service issued")
    return DocumentKind(document_id.split("-", 1)[0])


def document_key(provider_id: str, document_id: str) -> str:
    """The object's key in the documents bucket."""
    return f"providers/{provider_id}/{document_id}"


def document_problem(content_type: str | None, size: int, max_bytes: int) -> str | None:
    """Why a (declared or uploaded) document cannot be taken, or None."""
    if content_type not in CONTENT_TYPES:
        return f"content type {content_type!r} is not accepted; send one of {', '.join(sorted(CONTENT_TYPES))}"
    if size < 1:
        return "the document is empty"
    if size > max_bytes:
        return f"the document is {size} bytes; at most {max_bytes} are accepted"
    return None


def content_matches(content_type: str, first_bytes: bytes) -> bool:
    """The file starts as a file of ``content_type`` does."""
    return first_bytes.startswith(CONTENT_TYPES.get(content_type, ()))
