"""The program (образовательная программа): what a provider offers in a period, its status and who may change it.

A program runs some months of a period at a monthly price (kopecks; 0 means free) for children of an age range,
with a capacity of seats. Its life:

    draft ──publish──▶ published ──certify──▶ certified
                           │                      │
                           └──────close──────┬────┘
                                             ▼
                                           closed

Only ``published`` and ``certified`` programs are in the catalog; only a ``certified`` one may be paid for by a
certificate (сертификат ПФДО). Certification covers the program's terms (``CERTIFIED_TERMS``: its title, description,
monthly price and months): an edit that changes one of them sends a certified program back to ``published``, to be
certified again before a certificate pays for a new enrolment. Contracts keep the terms they were made at.
Ratings (1-5, once per contract) are summed on the program and on its provider.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from typing import Any

from chalicelib.domain import errors
from chalicelib.domain.actors import Principal, Role
from chalicelib.domain.contract import Contract
from chalicelib.domain.ids import PeriodId, ProviderId
from chalicelib.domain.period import MUNICIPALITY, Month, Period

AGE_MIN = 5
AGE_MAX = 17  # a certificate ends on the 18th birthday
CAPACITY_MAX = 10_000
TITLE_MAX = 200
DESCRIPTION_MAX = 5_000
ADDRESS_MAX = 300
SCHEDULE_MAX = 1_000
COMMENT_MAX = 2_000
SCORE_MIN, SCORE_MAX = 1, 5


class Direction(str, enum.Enum):
    """The six official направленности of supplementary education."""

    TECHNICAL = "technical"  # техническая
    NATURAL_SCIENCE = "natural_science"  # естественнонаучная
    PHYSICAL_SPORTS = "physical_sports"  # физкультурно-спортивная
    ARTS = "arts"  # художественная
    TOURISM_LOCAL_HISTORY = "tourism_local_history"  # туристско-краеведческая
    SOCIAL_HUMANITARIAN = "social_humanitarian"  # социально-гуманитарная


class ProgramStatus(str, enum.Enum):
    DRAFT = "draft"  # seen by its provider only
    PUBLISHED = "published"  # in the catalog; free programs take enrolments
    CERTIFIED = "certified"  # an operator certified it: certificates may pay for it
    CLOSED = "closed"  # out of the catalog for good; contracts already made run on


class Action(str, enum.Enum):
    PUBLISH = "publish"
    CERTIFY = "certify"
    CLOSE = "close"


# The transition table: an action moves a program from one of these statuses to the target; nothing else moves it.
TRANSITIONS: dict[Action, tuple[frozenset[ProgramStatus], ProgramStatus]] = {
    Action.PUBLISH: (frozenset({ProgramStatus.DRAFT}), ProgramStatus.PUBLISHED),
    Action.CERTIFY: (frozenset({ProgramStatus.PUBLISHED}), ProgramStatus.CERTIFIED),
    Action.CLOSE: (frozenset({ProgramStatus.PUBLISHED, ProgramStatus.CERTIFIED}), ProgramStatus.CLOSED),
}

# In the catalog (the sparse catalog index keys are set exactly in these statuses).
LISTED = frozenset({ProgramStatus.PUBLISHED, ProgramStatus.CERTIFIED})
# A provider may still edit the program's details.
EDITABLE = frozenset({ProgramStatus.DRAFT, ProgramStatus.PUBLISHED, ProgramStatus.CERTIFIED})
# What an operator certifies: what is taught (title, description) and what a certificate pays for it (the monthly
# price, the months). Changing one withdraws the certification. The age range, direction, municipality and period
# cannot be edited at all; capacity, address and schedule are the organisation of the course, not its terms.
CERTIFIED_TERMS = ("title", "description", "price_per_month", "months")


def next_status(action: Action, current: ProgramStatus) -> ProgramStatus:
    """The status ``action`` moves a program in ``current`` to; ``InvalidTransition`` if it may not."""
    sources, target = TRANSITIONS[action]
    if current not in sources:
        raise errors.InvalidTransition(f"a {current.value} program cannot be {_past(action)}")
    return target


def _past(action: Action) -> str:
    return {Action.PUBLISH: "published", Action.CERTIFY: "certified", Action.CLOSE: "closed"}[action]


def check_editable(current: ProgramStatus) -> None:
    if current not in EDITABLE:
        raise errors.InvalidTransition(f"a {current.value} program cannot be changed")


# --- who may do what -------------------------------------------------------------------------------------------------


def is_owner(actor: Principal | None, provider_id: str) -> bool:
    return actor is not None and actor.role is Role.PROVIDER and actor.provider_id == provider_id


def check_owner(actor: Principal, provider_id: str) -> None:
    """A provider acts on its own programs only."""
    actor.require(Role.PROVIDER)
    if actor.provider_id != provider_id:
        raise errors.Forbidden("a provider changes only its own programs")


def check_may(action: Action, actor: Principal, provider_id: str, municipality: str) -> None:
    """Publish: the owner. Certify: an operator of the program's municipality (or the region). Close: either."""
    if action is Action.PUBLISH:
        check_owner(actor, provider_id)
    elif action is Action.CERTIFY:
        actor.require(Role.OPERATOR)
        if not actor.operates_in(municipality):
            raise errors.Forbidden("an operator certifies programs of their municipality only")
    elif not (is_owner(actor, provider_id) or actor.operates_in(municipality)):
        actor.require(Role.PROVIDER, Role.OPERATOR)
        raise errors.Forbidden("only the program's provider or an operator of its municipality may close it")


def check_may_list(actor: Principal, provider_id: str) -> None:
    """A provider's programs in every status: the provider itself, or an operator."""
    if actor.role is Role.OPERATOR:
        return
    check_owner(actor, provider_id)


# --- what a provider submits -----------------------------------------------------------------------------------------


def clean_text(value: str, field: str, longest: int) -> str:
    """Trimmed, not blank, at most ``longest`` characters, no control characters (new lines are kept)."""
    text = value.strip()
    if not 1 <= len(text) <= longest or any(not (c.isprintable() or c in "\n\t") for c in text):
        raise errors.InvalidRequest(f"{field} must be 1-{longest} printable characters")
    return text


def check_ages(age_min: int, age_max: int) -> None:
    if not AGE_MIN <= age_min <= age_max <= AGE_MAX:
        raise errors.InvalidRequest(f"ages must satisfy {AGE_MIN} <= age_min <= age_max <= {AGE_MAX}")


def check_price(price_per_month: int) -> None:
    if isinstance(price_per_month, bool) or price_per_month < 0:
        raise errors.InvalidRequest("price_per_month is a whole number of kopecks, 0 or more")


def check_capacity(capacity: int) -> None:
    if not 1 <= capacity <= CAPACITY_MAX:
        raise errors.InvalidRequest(f"capacity must be 1-{CAPACITY_MAX}")


def check_municipality(municipality: str) -> None:
    if not MUNICIPALITY.fullmatch(municipality):
        raise errors.InvalidRequest("municipality must be a lower-case code")


def program_months(period: Period, months: list[str] | None) -> list[str]:
    """The months the program runs, sorted, inside ``period``; all of its months when none are given."""
    if months is None:
        return [str(m) for m in period.months]
    if not months:
        raise errors.InvalidRequest("months must name at least one month of the period")
    parsed = sorted({Month.parse(text) for text in months}, key=lambda m: (m.year, m.month))
    inside = set(period.months)
    outside = [str(m) for m in parsed if m not in inside]
    if outside:
        raise errors.InvalidRequest(f"months {', '.join(outside)} are outside period {period.period_id}")
    return [str(m) for m in parsed]


# The program's free texts, with their longest lengths: trimmed and checked (clean_text) wherever they are given.
TEXTS = {"title": TITLE_MAX, "description": DESCRIPTION_MAX, "address": ADDRESS_MAX, "schedule": SCHEDULE_MAX}


@dataclass(frozen=True)
class ProgramDraft:
    """A program as its provider describes it, before it is stored."""

    title: str
    description: str
    direction: Direction
    age_min: int
    age_max: int
    municipality: str
    address: str
    schedule: str
    price_per_month: int
    capacity: int

    def validated(self) -> ProgramDraft:
        check_ages(self.age_min, self.age_max)
        check_price(self.price_per_month)
        check_capacity(self.capacity)
        check_municipality(self.municipality)
        cleaned: dict[str, Any] = {
            name: clean_text(getattr(self, name), name, longest) for name, longest in TEXTS.items()
        }
        return replace(self, **cleaned)


@dataclass(frozen=True)
class ProgramChanges:
    """What a provider may change on a program (None: unchanged). Price applies to new enrolments only."""

    title: str | None = None
    description: str | None = None
    address: str | None = None
    schedule: str | None = None
    price_per_month: int | None = None
    capacity: int | None = None
    months: list[str] | None = None

    @property
    def empty(self) -> bool:
        return all(value is None for value in self.__dict__.values())

    @property
    def touches_text(self) -> bool:
        return self.title is not None or self.description is not None

    @property
    def terms(self) -> dict[str, Any]:
        """The certified terms this change names, with their new values."""
        named = {name: getattr(self, name) for name in CERTIFIED_TERMS}
        return {name: value for name, value in named.items() if value is not None}

    def changes_terms_of(self, program: Program) -> bool:
        """Whether applying this change to ``program`` changes one of its certified terms."""
        return any(getattr(program, name) != value for name, value in self.terms.items())

    def validated(self) -> ProgramChanges:
        if self.empty:
            raise errors.InvalidRequest("name at least one field to change")
        if self.price_per_month is not None:
            check_price(self.price_per_month)
        if self.capacity is not None:
            check_capacity(self.capacity)
        given = {name: getattr(self, name) for name in TEXTS if getattr(self, name) is not None}
        cleaned: dict[str, Any] = {name: clean_text(text, name, TEXTS[name]) for name, text in given.items()}
        return replace(self, **cleaned)


# --- ratings ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RatingSummary:
    """The sum and count of scores; the average is shown rounded to two places (no money here)."""

    total: int = 0
    count: int = 0

    @property
    def average(self) -> float | None:
        return round(self.total / self.count, 2) if self.count else None


# --- the program ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Program:
    """A provider's program in a period: what it teaches, to whom, where and when, the months it runs at its
    monthly price (kopecks; 0 is free), its seats (``seats_taken <= capacity``, I6) and its status.

    ``search_text`` is what the catalog's text search reads (domain.search); ``rating`` sums the parents' scores;
    ``version`` is bumped by every change; ``status_changed_*`` say who moved it to its status, and when.
    """

    program_id: str
    provider_id: ProviderId
    provider_name: str
    title: str
    description: str
    direction: Direction
    age_min: int
    age_max: int
    municipality: str
    address: str
    schedule: str
    period_id: PeriodId
    months: list[str]
    price_per_month: int
    capacity: int
    status: ProgramStatus
    created_at: str
    updated_at: str
    search_text: str = field(default=" ", repr=False)
    seats_taken: int = 0
    rating: RatingSummary = field(default_factory=RatingSummary)
    version: int = 0
    status_changed_at: str | None = None
    status_changed_by: str | None = None

    @property
    def free_seats(self) -> int:
        return max(self.capacity - self.seats_taken, 0)

    @property
    def listed(self) -> bool:
        """In the catalog (its catalog index keys are set)."""
        return self.status in LISTED


def check_rating(score: int, comment: str | None) -> str | None:
    """The comment as stored (trimmed, None when blank)."""
    if isinstance(score, bool) or not SCORE_MIN <= score <= SCORE_MAX:
        raise errors.InvalidRequest(f"score must be a whole number from {SCORE_MIN} to {SCORE_MAX}")
    if comment is None or not comment.strip():
        return None
    return clean_text(comment, "comment", COMMENT_MAX)


@dataclass(frozen=True)
class Rating:
    """A parent's rating of a program, once per contract. ``guardian_sub`` and ``contract_id`` are kept for audit and
    never shown; ``rating_id`` is random (it names the rating without telling whose it is)."""

    program_id: str
    contract_id: str
    provider_id: ProviderId
    score: int
    rated_at: str
    guardian_sub: str
    rating_id: str
    comment: str | None = None

    @property
    def rated_on(self) -> str:
        """The day it was rated (what is shown: never the instant, never who)."""
        return self.rated_at[:10]


def eligible_contract(actor: Principal, program_id: str, contract: Contract | None) -> Contract:
    """A parent rates a program under a contract of their own with it that the provider accepted at some time
    (active now, or ended or cancelled after acceptance). Anything else looks the same: not eligible."""
    actor.require(Role.PARENT)
    if (
        contract is None
        or contract.guardian_sub != actor.sub
        or contract.program_id != program_id
        or not contract.accepted_at
    ):
        raise errors.NotEligibleToRate()
    return contract
