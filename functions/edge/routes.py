"""The HTTP API's table of contents: every route, how it is called, and the view that answers it.

The table is all the HTTP function loads at a cold start. A view's module (its request and response models, the
services and storage behind them) is imported by the first request that needs it, so a cold start pays for the
route it serves rather than for the whole API; once loaded, a module stays for the life of the process.

A view is ``"module:function"`` in ``functions/``: a plain function of a ``functions.edge.http.Call`` returning a
``functions.edge.http.Reply``. ``functions/edge/http.py`` does the rest (authentication, Idempotency-Key replays,
errors, the request's log line).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from functions.edge.route import Route

if TYPE_CHECKING:
    from chalice import Chalice, Response

ROUTES: tuple[Route, ...] = (
    # Periods and the year-start top-up (operators).
    Route("POST", "/periods", "periods:open_period", idempotency_key="optional"),
    Route("GET", "/periods/{period_id}", "periods:get_period"),
    Route("POST", "/periods/{period_id}/topup", "periods:topup", idempotency_key="optional"),
    Route("PUT", "/periods/{period_id}/population", "reports:set_population", idempotency_key="optional"),
    Route("GET", "/periods/{period_id}/population", "reports:population"),
    # Children and their certificates (parents; operators read and freeze).
    Route("POST", "/children", "certificates:register_child", idempotency_key="optional"),
    Route("GET", "/children", "certificates:list_children"),
    Route("POST", "/certificates/{certificate_id}/funding", "certificates:fund", idempotency_key="optional"),
    Route("GET", "/certificates/{certificate_id}", "certificates:view"),
    Route("GET", "/certificates/{certificate_id}/ledger", "certificates:ledger"),
    Route("POST", "/certificates/{certificate_id}/freeze", "certificates:freeze", idempotency_key="optional"),
    Route("POST", "/certificates/{certificate_id}/unfreeze", "certificates:unfreeze", idempotency_key="optional"),
    Route("GET", "/certificates/{certificate_id}/statement", "statements:statement"),
    Route("POST", "/certificates/{certificate_id}/merge", "duplicates:merge", idempotency_key="optional"),
    # The provider registry: applications, documents, decisions.
    Route("POST", "/providers", "providers:apply", idempotency_key="optional"),
    Route("GET", "/providers", "providers:queue"),
    Route("GET", "/providers/{provider_id}", "providers:view"),
    Route("POST", "/providers/{provider_id}/decision", "providers:decide", idempotency_key="optional"),
    Route("POST", "/providers/{provider_id}/documents", "providers:request_upload", idempotency_key="optional"),
    Route(
        "POST",
        "/providers/{provider_id}/documents/{document_id}/confirm",
        "providers:confirm_document",
        idempotency_key="optional",
    ),
    Route("GET", "/providers/{provider_id}/documents/{document_id}", "providers:download"),
    # Programs and the catalog.
    Route("POST", "/programs", "programs:create_program", idempotency_key="optional"),
    Route("GET", "/programs", "programs:catalog_page", public=True),
    Route("GET", "/programs/{program_id}", "programs:view_program", public=True),
    Route("PATCH", "/programs/{program_id}", "programs:change_program"),
    Route("POST", "/programs/{program_id}/publish", "programs:publish_program", idempotency_key="optional"),
    Route("POST", "/programs/{program_id}/certification", "programs:certify_program", idempotency_key="optional"),
    Route("POST", "/programs/{program_id}/close", "programs:close_program", idempotency_key="optional"),
    Route("GET", "/providers/{provider_id}/programs", "programs:provider_programs"),
    Route("POST", "/programs/{program_id}/ratings", "programs:rate_program", idempotency_key="optional"),
    Route("GET", "/programs/{program_id}/ratings", "programs:program_ratings", public=True),
    # Contracts: enrolment, acceptance, monthly charges, cancelling.
    Route("POST", "/contracts", "contracts:enrol", idempotency_key="required"),
    Route("GET", "/contracts", "contracts:listing"),
    Route("GET", "/contracts/{contract_id}", "contracts:view"),
    Route("POST", "/contracts/{contract_id}/accept", "contracts:accept", idempotency_key="optional"),
    Route("POST", "/contracts/{contract_id}/decline", "contracts:decline", idempotency_key="optional"),
    Route("POST", "/contracts/{contract_id}/cancel", "contracts:cancel", idempotency_key="optional"),
    Route("POST", "/contracts/{contract_id}/charges", "contracts:charge", idempotency_key="in_transaction"),
    # Objections to charges.
    Route(
        "POST",
        "/contracts/{contract_id}/charges/{month}/objection",
        "objections:file_objection",
        idempotency_key="optional",
    ),
    Route("GET", "/objections", "objections:listing"),
    Route("GET", "/objections/{objection_id}", "objections:view"),
    Route("POST", "/objections/{objection_id}/decision", "objections:decide", idempotency_key="optional"),
    # Operators' reports (JSON, or CSV with format=csv).
    Route("GET", "/reports/coverage", "reports:coverage"),
    Route("GET", "/reports/spending", "reports:spending"),
    Route("GET", "/reports/quota", "reports:quota"),
    Route("GET", "/reports/expired", "reports:expired"),
    # The local stage's helpers.
    Route("POST", "/dev/token", "dev:token", public=True, local_only=True),
    Route("POST", "/dev/clock", "dev:set_clock", public=True, local_only=True),
    Route("DELETE", "/dev/clock", "dev:reset_clock", public=True, local_only=True),
    # The API's contract (built from this table and the views' models), and its interactive page (local stage).
    Route("GET", "/openapi.json", "docs:openapi_document", public=True),
    Route("GET", "/docs", "docs:page", public=True, local_only=True),
    Route("GET", "/docs/assets/{name}", "docs:asset", public=True, local_only=True),
)


def routes(*, local: bool) -> tuple[Route, ...]:
    """The routes a stage serves: ``/dev/*`` and ``/docs`` only in the local stage."""
    return tuple(route for route in ROUTES if local or not route.local_only)


def view_of(route: Route) -> Callable[..., Any]:
    """The route's view, importing its module on first use."""
    module, function = route.view.split(":")
    view: Callable[..., Any] = getattr(importlib.import_module(f"functions.{module}"), function)
    return view


def register(app: Chalice, *, local: bool) -> None:
    """Adds every route the stage serves to ``app``; nothing behind them is imported yet."""
    for route in routes(local=local):
        app.route(route.path, methods=[route.method], name=route.name)(_handler(app, route))


def _handler(app: Chalice, route: Route) -> Callable[..., Response]:
    def handler(**params: str) -> Response:
        # The HTTP edge and the view load with the first request that needs them (see the module's docstring).
        from functions.edge import http

        request = app.current_request
        assert request is not None  # Chalice sets it before calling a route's handler
        return http.serve(route, view_of(route), request, params)

    handler.__name__ = route.name
    return handler
