"""What a view tells the API's documentation: its summary, request and response models, refusals and callers.

``@describe(...)`` only records these on the view; nothing is built at import time (a cold start pays nothing for
the documentation). ``functions/edge/openapi.py`` reads them when ``/openapi.json`` is first asked for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from pydantic import BaseModel

    from chalicelib.domain.errors import DomainError

V = TypeVar("V", bound=Callable[..., Any])
ATTRIBUTE = "api_doc"


@dataclass(frozen=True)
class ApiDoc:
    summary: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    returns: type[BaseModel] | None = None
    status: int = 200
    # The domain's refusals this route may answer with (each brings its own code and status).
    refusals: tuple[type[DomainError], ...] = ()
    # Who may call it, in words ("parent", "operator of the municipality", ...).
    roles: tuple[str, ...] = ()
    # Media types of a success; more than one when a ``format`` query parameter chooses (JSON, CSV, PDF).
    produces: tuple[str, ...] = ("application/json",)
    # Other success statuses with the same body and what they mean (see ``also_answers``).
    also: tuple[tuple[int, str], ...] = ()


def describe(
    *,
    summary: str,
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    returns: type[BaseModel] | None = None,
    status: int = 200,
    refusals: tuple[type[DomainError], ...] = (),
    roles: tuple[str, ...] = (),
    produces: tuple[str, ...] = ("application/json",),
) -> Callable[[V], V]:
    """Records the view's documentation on it (``doc_of``)."""
    doc = ApiDoc(summary, body, query, returns, status, refusals, roles, produces)

    def record(view: V) -> V:
        setattr(view, ATTRIBUTE, doc)
        return view

    return record


def also_answers(status: int, meaning: str) -> Callable[[V], V]:
    """Another success status of a described view (put it above ``@describe``), e.g. 202 for work left to do."""

    def record(view: V) -> V:
        doc = doc_of(view)
        if doc is None:
            raise TypeError(f"{view.__name__}: put @also_answers above @describe")
        setattr(view, ATTRIBUTE, replace(doc, also=(*doc.also, (status, meaning))))
        return view

    return record


def doc_of(view: Callable[..., Any]) -> ApiDoc | None:
    doc = getattr(view, ATTRIBUTE, None)
    return doc if isinstance(doc, ApiDoc) else None
