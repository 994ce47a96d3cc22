"""Pure pieces of the edges: cursors, tokens, transaction packing."""

from __future__ import annotations

import time
from datetime import date

import jwt
import pytest

from chalicelib.domain import errors
from chalicelib.domain.actors import Role
from chalicelib.domain.rollover import RolloverOutcome, RolloverPlan
from chalicelib.platform import cursor
from chalicelib.platform.auth import authenticate, issue_local_token, principal_from_claims
from chalicelib.platform.config import Settings
from chalicelib.services.rollover import pack
from chalicelib.storage.movements import rollover_items

SECRET = "s3cret"
SETTINGS = Settings(stage="local", jwt_secret=SECRET)


def test_a_cursor_round_trips_and_refuses_tampering_or_another_scope() -> None:
    key = {"certificate_id": {"S": "1"}, "posted": {"S": "2027"}}
    token = cursor.encode(SECRET, "ledger:1", key)
    assert token is not None
    assert cursor.decode(SECRET, "ledger:1", token) == key
    with pytest.raises(errors.InvalidRequest):
        cursor.decode(SECRET, "ledger:2", token)
    signature = token.split(".")[1]
    forged = cursor.encode("other", "ledger:1", {"certificate_id": {"S": "2"}})
    assert forged is not None
    with pytest.raises(errors.InvalidRequest):
        cursor.decode(SECRET, "ledger:1", forged.split(".")[0] + "." + signature)
    for junk in ("x", "a.b", "!!!.???", token + "x"):
        with pytest.raises(errors.InvalidRequest):
            cursor.decode(SECRET, "ledger:1", junk)
    assert cursor.decode(SECRET, "ledger:1", None) is None


def bearer(token: str) -> str:
    return f"Bearer {token}"


def test_a_local_token_names_the_caller() -> None:
    token = issue_local_token(SETTINGS, {"sub": "op", "role": "operator", "municipality": "elizovo"})
    principal = authenticate(SETTINGS, bearer(token))
    assert principal.sub == "op" and principal.role is Role.OPERATOR and principal.municipality == "elizovo"


@pytest.mark.parametrize(
    "token",
    [
        jwt.encode({"sub": "a", "role": "parent", "iss": "pfdo-local", "iat": 1, "exp": 2}, SECRET),  # expired
        jwt.encode(
            {"sub": "a", "role": "parent", "iss": "x", "iat": time.time(), "exp": time.time() + 60}, SECRET
        ),  # wrong issuer
        jwt.encode(
            {"sub": "a", "role": "parent", "iss": "pfdo-local", "iat": time.time(), "exp": time.time() + 60}, "other"
        ),  # wrong key
        jwt.encode({"sub": "a", "role": "parent", "iss": "pfdo-local"}, SECRET),  # no exp
        jwt.encode(
            {"sub": "a", "role": "parent", "iss": "pfdo-local", "iat": time.time(), "exp": time.time() + 60},
            None,
            algorithm="none",
        ),
        "not-a-jwt",
    ],
    ids=["expired", "wrong_issuer", "wrong_key", "no_exp", "alg_none", "not_a_jwt"],
)
def test_a_bad_token_is_refused(token: str) -> None:
    with pytest.raises(errors.Unauthenticated):
        authenticate(SETTINGS, bearer(token))


def test_a_missing_or_malformed_header_is_refused() -> None:
    for header in (None, "", "Basic abc", "Bearer"):
        with pytest.raises(errors.Unauthenticated):
            authenticate(SETTINGS, header)


def test_no_stage_but_local_accepts_local_tokens() -> None:
    token = issue_local_token(SETTINGS, {"sub": "p", "role": "parent"})
    with pytest.raises(errors.Unauthenticated):
        authenticate(Settings(stage="prod", jwt_secret=SECRET), bearer(token))
    with pytest.raises(errors.Forbidden):
        issue_local_token(Settings(stage="dev", jwt_secret=SECRET), {"sub": "p", "role": "parent"})


@pytest.mark.parametrize(
    "claims",
    [
        {"sub": "x", "role": "admin"},
        {"sub": "", "role": "parent"},
        {"sub": "x", "role": "operator"},
        {"sub": "x", "role": "operator", "municipality": "Not A Code"},
        {"sub": "x", "role": "provider"},
    ],
)
def test_claims_must_name_a_role_and_its_scope(claims: dict[str, str]) -> None:
    with pytest.raises(errors.Unauthenticated):
        principal_from_claims(claims)


def plan(n: int, municipality: str = "elizovo", releases: int = 0) -> RolloverPlan:
    return RolloverPlan(
        certificate_id=f"{n:010d}",
        municipality=municipality,
        from_period="2027",
        to_period="2028",
        to_period_starts_on=date(2028, 1, 1),
        expected_version=1,
        releases=tuple((f"c{i}", 1) for i in range(releases)),
        expire_amount=5,
        credit_amount=10,
        outcome=RolloverOutcome.CREDITED,
    )


def test_plans_are_packed_into_transactions_of_at_most_100_items() -> None:
    plans = [plan(i, municipality=f"m{i % 7}", releases=i % 4) for i in range(500)]
    batches = list(pack(plans))
    assert [p for batch in batches for p in batch] == plans
    for batch in batches:
        municipalities = {p.municipality for p in batch}
        assert sum(rollover_items(p) for p in batch) + len(municipalities) + 1 <= 100
    assert len(batches) < 500 / 10  # many certificates per round trip
