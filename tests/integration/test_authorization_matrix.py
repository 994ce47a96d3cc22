"""The authorization matrix (issue 6): every route of the app, called by every kind of caller, answers with the
status the rules give it (design §5, docs/api.md "Routes" and docs/decisions.md "Access"); a refusal is a JSON error
with a code and writes nothing; a frozen certificate and a suspended provider move no money.

Who the columns are and what the placeholders name: tests/integration/authz_world.py.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from chalicelib.platform.config import get_settings
from devtools.ddb_local import LocalEngine
from tests.integration.authz_world import COLUMNS, NOW, POPULATION, PRICE, A, World, application, built

# Read a row as the rule for one route. The callers: anon (no token); P1, the parent of the child; P2, another
# parent; X, the provider of the program and the contracts; Y, another provider; U, a provider not approved yet and
# S, a suspended one (each on its own things where it has some); opA, an operator of their municipality; opB, of
# another; reg, the regional operator (details in authz_world.py).
#
# Anonymous callers get 401 except on the public routes. A parent asking for another family's certificate or
# contract gets 404 (numbers are not enumerable), and so does a provider asking for another provider's contract; an
# operator of another municipality gets 403; a draft program does not exist for anyone but its provider (404). A 409
# is a caller the rules let through, refused by the state of the target (an entry that exists already, a suspended
# provider). /dev/* and /docs exist only in the local stage, where anyone may call them.
#
# Objections: the parent of the contract's child files one (anyone else's contract does not exist for a parent);
# its parent, the provider charged (suspended or not) and the operators of its municipality read it; an operator of
# the municipality decides. Reports and the children population are the operators': an operator of A sees A, the
# regional operator any municipality and the whole region ("*"). Merging duplicate certificates is an operator's,
# refused to everyone else before any certificate is looked up (else a refusal would tell an issued number from an
# unknown one), and it merges one child's certificates only: two children born on different days are no duplicates
# (409). Likewise a provider, who never reads certificates, is refused a statement whether the number exists or not.
MATRIX = """
route                                                      anon P1  P2  X   Y   U   S   opA opB reg
POST   /periods                                            401  403 403 403 403 403 403 403 403 201
GET    /periods/{period}                                   401  403 403 403 403 403 403 200 200 200
POST   /periods/{period}/topup                             401  403 403 403 403 403 403 403 403 200
PUT    /periods/{period}/population                        401  403 403 403 403 403 403 200 403 200
GET    /periods/{period}/population                        401  403 403 403 403 403 403 200 200 200
POST   /children                                           401  201 201 403 403 403 403 403 403 403
GET    /children                                           401  200 200 403 403 403 403 403 403 403
POST   /certificates/{certificate}/funding                 401  200 404 403 403 403 403 403 403 403
GET    /certificates/{certificate}                         401  200 404 403 403 403 403 200 403 200
GET    /certificates/{certificate}/ledger                  401  200 404 403 403 403 403 200 403 200
POST   /certificates/{certificate}/freeze                  401  403 403 403 403 403 403 200 403 200
POST   /certificates/{frozen}/unfreeze                     401  403 403 403 403 403 403 200 403 200
GET    /certificates/{certificate}/statement               401  200 404 403 403 403 403 200 403 200
GET    /certificates/{certificate}/statement?format=pdf    401  200 404 403 403 403 403 200 403 200
POST   /certificates/{duplicate}/merge                     401  403 403 403 403 403 403 200 403 200
POST   /certificates/{unknown}/merge                       401  403 403 403 403 403 403 404 404 404
POST   /certificates/{stranger}/merge                      401  403 403 403 403 403 403 409 403 409
GET    /certificates/{unknown}/statement                   401  404 404 403 403 403 403 404 404 404
POST   /providers                                          401  403 403 409 403 409 409 403 403 403
GET    /providers?municipality={municipality}              401  403 403 403 403 403 403 200 403 200
GET    /providers/{provider}                               401  403 403 200 403 200 200 200 403 200
POST   /providers/{applicant}/decision                     401  403 403 403 403 403 403 200 403 200
POST   /providers/{provider}/documents                     401  403 403 201 403 201 201 403 403 403
POST   /providers/{provider}/documents/{document}/confirm  401  403 403 200 403 200 200 403 403 403
GET    /providers/{provider}/documents/{document}          401  403 403 200 403 200 200 200 403 200
GET    /providers/{provider}/programs                      401  403 403 200 403 200 200 200 200 200
POST   /programs                                           401  403 403 201 201 403 409 403 403 403
GET    /programs                                           200  200 200 200 200 200 200 200 200 200
GET    /programs/{program}                                 200  200 200 200 200 200 200 200 200 200
GET    /programs/{draft}                                   404  404 404 200 404 404 200 404 404 404
PATCH  /programs/{program}                                 401  403 403 200 403 403 409 403 403 403
POST   /programs/{draft}/publish                           401  404 404 200 404 404 409 404 404 404
POST   /programs/{published}/certification                 401  403 403 403 403 403 403 200 403 200
POST   /programs/{program}/close                           401  403 403 200 403 403 200 200 403 200
POST   /programs/{program}/ratings                         401  201 403 403 403 403 403 403 403 403
GET    /programs/{program}/ratings                         200  200 200 200 200 200 200 200 200 200
POST   /contracts                                          401  201 404 403 403 403 403 403 403 403
GET    /contracts                                          401  200 200 200 200 200 200 403 403 403
GET    /contracts/{contract}                               401  200 404 200 404 404 200 200 403 200
POST   /contracts/{request}/accept                         401  403 403 200 404 404 409 403 403 403
POST   /contracts/{request}/decline                        401  403 403 200 404 404 200 403 403 403
POST   /contracts/{contract}/charges                       401  403 403 201 404 404 409 403 403 403
POST   /contracts/{contract}/cancel                        401  200 404 200 404 404 200 403 403 403
POST   /contracts/{contract}/charges/{month}/objection     401  201 404 403 403 403 403 403 403 403
GET    /objections?municipality={municipality}             401  200 200 200 200 200 200 200 403 200
GET    /objections/{objection}                             401  200 404 200 404 404 200 200 403 200
POST   /objections/{objection}/decision                    401  403 403 403 403 403 403 200 403 200
GET    /reports/coverage?municipality={municipality}       401  403 403 403 403 403 403 200 403 200
GET    /reports/coverage?municipality=*                    401  403 403 403 403 403 403 403 403 200
GET    /reports/spending?municipality={municipality}       401  403 403 403 403 403 403 200 403 200
GET    /reports/quota?municipality={municipality}          401  403 403 403 403 403 403 200 403 200
GET    /reports/expired?municipality={municipality}        401  403 403 403 403 403 403 200 403 200
POST   /dev/token                                          201  201 201 201 201 201 201 201 201 201
POST   /dev/clock                                          200  200 200 200 200 200 200 200 200 200
DELETE /dev/clock                                          200  200 200 200 200 200 200 200 200 200
GET    /openapi.json                                       200  200 200 200 200 200 200 200 200 200
GET    /docs                                               200  200 200 200 200 200 200 200 200 200
GET    /docs/assets/{asset}                                200  200 200 200 200 200 200 200 200 200
"""

# A fresh target for a cell allowed to change something: (world, caller) -> placeholders to replace.
Fresh = Callable[[World, str], dict[str, str]]


@dataclass(frozen=True)
class Request:
    """How a row's request is made. ``body`` (or ``body(world)``): "{name}" strings are the caller's targets.
    ``fresh``: the target of a cell allowed to change something, so that no other cell sees the change.
    ``makes_its_own``: the request creates something new by itself, or changes nothing a cell relies on.
    ``headers``: sent besides the caller's token; ``produces``: what a success answers with, when not JSON."""

    body: Any = None
    fresh: Fresh | None = None
    makes_its_own: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    # The media type of a successful answer, where it is not JSON.
    produces: str | None = None


def _provider(world: World, who: str) -> str:
    return world.targets(who)["provider"]


REASON = {"reason": "проверка"}
PROGRAM = {
    "title": "Шахматы",
    "description": "Игра, задачи и турниры",
    "direction": "social_humanitarian",
    "age_min": 7,
    "age_max": 14,
    "municipality": A,
    "address": "Елизово, ул. Ленина, 1",
    "schedule": "пн, ср 15:00",
    "period_id": "2027",
    "price_per_month": PRICE,
    "capacity": 10,
}
MARCH = {"month": "2027-03", "amount": PRICE}
REQUESTS: dict[str, Request] = {
    "POST /periods": Request(body=lambda world: world.next_period(), makes_its_own=True),
    # Every funded certificate already has its money for the running period: the top-up moves none.
    "POST /periods/{period}/topup": Request(makes_its_own=True),
    "POST /children": Request(body=lambda world: world.child_body(), makes_its_own=True),
    "POST /certificates/{certificate}/funding": Request(fresh=lambda world, who: {"certificate": world.child()}),
    "POST /certificates/{certificate}/freeze": Request(REASON, fresh=lambda world, who: {"certificate": world.child()}),
    "POST /certificates/{frozen}/unfreeze": Request(fresh=lambda world, who: {"frozen": world.frozen_certificate()}),
    "POST /providers": Request(body=application("{provider}")),
    "POST /providers/{applicant}/decision": Request(
        {"decision": "approve"}, fresh=lambda world, who: {"applicant": world.applicant()}
    ),
    # A signed upload form: nothing is recorded until the upload is confirmed.
    "POST /providers/{provider}/documents": Request(
        {"kind": "licence", "content_type": "application/pdf", "size": 1024}, makes_its_own=True
    ),
    "POST /providers/{provider}/documents/{document}/confirm": Request(
        fresh=lambda world, who: {"document": world.uploaded_document(_provider(world, who))}
    ),
    "POST /programs": Request(body=PROGRAM, makes_its_own=True),
    "PATCH /programs/{program}": Request(
        {"title": "Робототехника для начинающих"},
        fresh=lambda world, who: {"program": world.program(_provider(world, who))},
    ),
    "POST /programs/{draft}/publish": Request(
        fresh=lambda world, who: {"draft": world.program(_provider(world, who), "draft")}
    ),
    "POST /programs/{published}/certification": Request(
        fresh=lambda world, who: {"published": world.program(_provider(world, who), "published")}
    ),
    "POST /programs/{program}/close": Request(
        fresh=lambda world, who: {"program": world.program(_provider(world, who))}
    ),
    "POST /programs/{program}/ratings": Request(
        {"contract_id": "{contract}", "score": 5},
        fresh=lambda world, who: {"contract": world.active_contract(_provider(world, who))},
    ),
    "POST /contracts": Request(
        {"certificate_id": "{certificate}", "program_id": "{program}"},
        fresh=lambda world, who: {"certificate": world.funded_certificate()},
    ),
    "POST /contracts/{request}/accept": Request(
        fresh=lambda world, who: {"request": world.requested_contract(_provider(world, who))}
    ),
    "POST /contracts/{request}/decline": Request(
        REASON, fresh=lambda world, who: {"request": world.requested_contract(_provider(world, who))}
    ),
    "POST /contracts/{contract}/charges": Request(
        MARCH, fresh=lambda world, who: {"contract": world.active_contract(_provider(world, who))}
    ),
    "POST /contracts/{contract}/cancel": Request(
        REASON, fresh=lambda world, who: {"contract": world.active_contract(_provider(world, who))}
    ),
    # A's figure as the world has it: every cell sees the same population.
    "PUT /periods/{period}/population": Request({"children_population": {A: POPULATION[A]}}, makes_its_own=True),
    "GET /certificates/{certificate}/statement": Request(produces="text/csv"),
    "GET /certificates/{certificate}/statement?format=pdf": Request(
        headers={"Accept": "application/pdf"}, produces="application/pdf"
    ),
    "POST /certificates/{duplicate}/merge": Request(
        {"into": "{survivor}"}, fresh=lambda world, who: world.duplicate_pair()
    ),
    "POST /certificates/{unknown}/merge": Request({"into": "{survivor}"}),
    "POST /certificates/{stranger}/merge": Request({"into": "{stranger_into}"}),
    "POST /contracts/{contract}/charges/{month}/objection": Request(
        {"reason": "занятий в марте не было"},
        fresh=lambda world, who: {"contract": world.charged_contract(_provider(world, who))},
    ),
    "POST /objections/{objection}/decision": Request(
        {"decision": "uphold", "reason": "занятия не проводились"},
        fresh=lambda world, who: {"objection": world.open_objection()},
    ),
    "POST /dev/token": Request({"role": "parent", "sub": "someone"}, makes_its_own=True),
    "POST /dev/clock": Request({"now": NOW}, makes_its_own=True),
    # The world's clock is set again before every cell.
    "DELETE /dev/clock": Request(makes_its_own=True),
}


def parse(matrix: str) -> dict[str, dict[str, int]]:
    """route -> caller -> expected status."""
    header, *lines = [line for line in matrix.strip().splitlines() if line.strip()]
    assert tuple(header.split()[1:]) == COLUMNS, header
    rows: dict[str, dict[str, int]] = {}
    for line in lines:
        method, path, *statuses = line.split()
        assert len(statuses) == len(COLUMNS), line
        route = f"{method} {path}"
        assert route not in rows, f"{route} twice"
        rows[route] = dict(zip(COLUMNS, map(int, statuses), strict=True))
    return rows


EXPECTED = parse(MATRIX)
CELLS = [(route, who) for route in EXPECTED for who in COLUMNS]


def shape(route: str) -> str:
    """``POST /contracts/{request}/accept`` -> ``POST /contracts/{}/accept``: the app's route it calls."""
    method, path = route.split(" ", 1)
    return f"{method} {re.sub(r'{[^}]*}', '{}', path.split('?')[0])}"


def fill(template: Any, targets: dict[str, str]) -> Any:
    if isinstance(template, str):
        return template.format_map(targets)
    if isinstance(template, dict):
        return {key: fill(value, targets) for key, value in template.items()}
    return template


# --- the world ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def authz_world(engine: LocalEngine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """Built once per session (per xdist worker): about a hundred requests, so never once per cell."""
    with built(Path(tmp_path_factory.mktemp("authz"))) as world:
        yield world


@pytest.fixture
def world(authz_world: World) -> Iterator[World]:
    with authz_world.entered() as entered:
        yield entered


# --- the matrix ------------------------------------------------------------------------------------------------


def test_every_route_of_the_app_has_a_row_in_the_matrix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PFDO_STAGE", "local")  # /dev/* is registered only in the local stage
    get_settings.cache_clear()
    import app as app_module

    get_settings.cache_clear()
    served = {shape(f"{method} {path}") for path, routes in app_module.app.routes.items() for method in routes}
    rows = {shape(route) for route in EXPECTED}
    assert sorted(served - rows) == [], f"routes without a row in the matrix: {sorted(served - rows)}"
    assert sorted(rows - served) == [], f"rows for routes the app does not have: {sorted(rows - served)}"
    assert set(REQUESTS) <= set(EXPECTED), "requests for rows the matrix does not have"


@pytest.mark.parametrize(("route", "who"), CELLS, ids=[f"{route} as {who}" for route, who in CELLS])
def test_each_caller_gets_the_status_the_rules_give_it(world: World, route: str, who: str) -> None:
    expected = EXPECTED[route][who]
    method, path = route.split(" ", 1)
    request = REQUESTS.get(route, Request())
    targets = world.targets(who)
    changes = 200 <= expected < 300 and method != "GET"
    if changes:
        assert request.fresh or request.makes_its_own, f"{route} may change something: give it a fresh target"
        targets |= request.fresh(world, who) if request.fresh else {}
    # A refusal must write nothing: compare the tables before and after (before = as the last refusal left them).
    before = (world.settled or world.snapshot()) if expected >= 400 else None
    world.settled = None
    body = request.body(world) if callable(request.body) else request.body
    response = world.call(who, method, fill(path, targets), fill(body, targets), request.headers)
    assert response.status_code == expected, f"{route} as {who}: {response.status_code} {response.body[:300]!r}"
    content_type = response.headers.get("Content-Type", "")
    is_json = content_type.startswith("application/json")
    if before is None:
        assert not is_json or "error" not in json.loads(response.body), response.body
        assert content_type.startswith(request.produces or ""), content_type
        return
    assert is_json, response.headers
    answer = json.loads(response.body)
    assert list(answer) == ["error"] and answer["error"]["code"] and answer["error"]["message"], answer
    after = world.snapshot()
    assert after == before, f"{route} as {who} wrote something"
    world.settled = after


# --- no money moves ------------------------------------------------------------------------------------------------


class NoMoneyCase(NamedTuple):
    who: str
    route: str
    body: Any
    code: str
    on: str | None = None  # whose things the placeholders name (default: the caller's)


NO_MONEY_MOVES = {
    "a parent enrols a frozen certificate": NoMoneyCase(
        "P1", "POST /contracts", {"certificate_id": "{frozen}", "program_id": "{program_2}"}, "certificate_frozen"
    ),
    "the provider charges a contract of a frozen certificate": NoMoneyCase(
        "X", "POST /contracts/{frozen_contract}/charges", MARCH, "certificate_frozen"
    ),
    "the parent cancels a contract of a frozen certificate": NoMoneyCase(
        "P1", "POST /contracts/{frozen_contract}/cancel", None, "certificate_frozen"
    ),
    "the provider cancels a contract of a frozen certificate": NoMoneyCase(
        "X", "POST /contracts/{frozen_contract}/cancel", REASON, "certificate_frozen"
    ),
    "a suspended provider charges its active contract": NoMoneyCase(
        "S", "POST /contracts/{contract}/charges", MARCH, "provider_suspended"
    ),
    "a suspended provider accepts a request": NoMoneyCase(
        "S", "POST /contracts/{request}/accept", None, "provider_suspended"
    ),
    "a parent enrols in a suspended provider's program": NoMoneyCase(
        "P1",
        "POST /contracts",
        {"certificate_id": "{unenrolled}", "program_id": "{program}"},
        "provider_suspended",
        on="S",
    ),
}


@pytest.mark.parametrize("case", list(NO_MONEY_MOVES))
def test_a_frozen_certificate_and_a_suspended_provider_move_no_money(world: World, case: str) -> None:
    who, route, body, code, on = NO_MONEY_MOVES[case]
    targets = world.targets(on or who)
    frozen_balance, _ = world.money(targets["frozen"])
    assert frozen_balance["held"] > 0, "the frozen certificate holds money that could move"
    method, path = route.split(" ", 1)
    before = world.snapshot()
    world.settled = None
    response = world.call(who, method, fill(path, targets), fill(body, targets))
    assert response.status_code == 409, response.body
    assert json.loads(response.body)["error"]["code"] == code
    assert world.snapshot() == before, "balances, ledger or contracts changed"
