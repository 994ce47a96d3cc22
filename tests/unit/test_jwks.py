"""Cognito token verification: RS256 against the pool's JWKS, claims checked, keys cached and refetched sparingly.

Keys are generated here and the JWKS is served by a small fake fetcher: no network.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import urllib.error
from collections.abc import Mapping
from functools import cache
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import RSAAlgorithm

from chalicelib.domain import errors
from chalicelib.domain.actors import Role
from chalicelib.platform.auth import principal_from_claims
from chalicelib.platform.jwks import CognitoVerifier, https_fetcher, principal_claims, signing_keys

REGION = "eu-central-1"
POOL = "eu-central-1_AbC123xyz"
ISSUER = f"https://cognito-idp.{REGION}.amazonaws.com/{POOL}"
WEB_CLIENT = "3n4b5urk1ft4fl3mg5e62d9ado"
OTHER_CLIENT = "7qv0h2k8m1r5t9w3y6z4x2c0b1"
NOW = 1_800_000_000
REFETCH = 30.0
CACHE = 3600.0


@cache
def private_key(name: str) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_jwk(name: str, kid: str) -> dict[str, Any]:
    jwk: dict[str, Any] = RSAAlgorithm.to_jwk(private_key(name).public_key(), as_dict=True)
    return {**jwk, "kid": kid, "alg": "RS256", "use": "sig"}


class Clock:
    """Wall time (for exp/iat) and monotonic time (for the key cache), moved together by the test."""

    def __init__(self) -> None:
        self.elapsed = 0.0

    def wall(self) -> float:
        return NOW + self.elapsed

    def monotonic(self) -> float:
        return self.elapsed


class FakeJwks:
    """The pool's JWKS endpoint: serves ``keys``, counts the calls, fails while ``failure`` is set."""

    def __init__(self, *keys: dict[str, Any]) -> None:
        self.keys = list(keys)
        self.calls = 0
        self.failure: Exception | None = None

    def __call__(self) -> Mapping[str, Any]:
        self.calls += 1
        if self.failure is not None:
            raise self.failure
        return {"keys": list(self.keys)}


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def jwks() -> FakeJwks:
    return FakeJwks(public_jwk("a", "key-a"))


@pytest.fixture
def verifier(jwks: FakeJwks, clock: Clock) -> CognitoVerifier:
    return CognitoVerifier(
        REGION,
        POOL,
        [WEB_CLIENT],
        jwks,
        cache_seconds=CACHE,
        refetch_seconds=REFETCH,
        leeway_seconds=10,
        clock=clock.wall,
        monotonic=clock.monotonic,
    )


def id_claims(**changes: Any) -> dict[str, Any]:
    """An ID token's claims as Cognito issues them (custom attributes included)."""
    claims = {
        "sub": "0f6c1b2e-58a1-4c1e-9d51-3f2d8c7e9a10",
        "email_verified": True,
        "iss": ISSUER,
        "cognito:username": "0f6c1b2e-58a1-4c1e-9d51-3f2d8c7e9a10",
        "origin_jti": "b1c2d3e4-0000-4000-8000-000000000001",
        "aud": WEB_CLIENT,
        "event_id": "e1f2a3b4-0000-4000-8000-000000000002",
        "token_use": "id",
        "auth_time": NOW - 60,
        "exp": NOW + 3540,
        "iat": NOW - 60,
        "jti": "c1d2e3f4-0000-4000-8000-000000000003",
        "email": "parent@example.ru",
        "custom:role": "parent",
    }
    claims.update(changes)
    return {name: value for name, value in claims.items() if value is not None}


def access_claims(**changes: Any) -> dict[str, Any]:
    """An access token's claims: no audience and no custom attributes; the app client is ``client_id``."""
    claims = {
        "sub": "0f6c1b2e-58a1-4c1e-9d51-3f2d8c7e9a10",
        "cognito:groups": ["parent"],
        "iss": ISSUER,
        "client_id": WEB_CLIENT,
        "origin_jti": "b1c2d3e4-0000-4000-8000-000000000001",
        "event_id": "e1f2a3b4-0000-4000-8000-000000000002",
        "token_use": "access",
        "scope": "aws.cognito.signin.user.admin",
        "auth_time": NOW - 60,
        "exp": NOW + 3540,
        "iat": NOW - 60,
        "jti": "d1e2f3a4-0000-4000-8000-000000000004",
        "username": "0f6c1b2e-58a1-4c1e-9d51-3f2d8c7e9a10",
    }
    claims.update(changes)
    return {name: value for name, value in claims.items() if value is not None}


def sign(claims: dict[str, Any], key: str = "a", kid: str = "key-a") -> str:
    return jwt.encode(claims, private_key(key), algorithm="RS256", headers={"kid": kid})


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def refused(verifier: CognitoVerifier, token: str) -> str:
    with pytest.raises(errors.Unauthenticated) as failure:
        verifier.verify(token)
    return failure.value.message


# --- good tokens ------------------------------------------------------------------------------------------------


def test_a_valid_id_token_names_the_parent(verifier: CognitoVerifier) -> None:
    claims = verifier.verify(sign(id_claims()))
    assert claims == {"sub": "0f6c1b2e-58a1-4c1e-9d51-3f2d8c7e9a10", "role": "parent"}
    principal = principal_from_claims(claims)
    assert principal.role is Role.PARENT and principal.sub == claims["sub"]


def test_an_id_token_carries_the_scope_of_operators_and_providers(verifier: CognitoVerifier) -> None:
    operator = principal_from_claims(
        verifier.verify(sign(id_claims(**{"custom:role": "operator", "custom:municipality": "elizovo"})))
    )
    assert operator.role is Role.OPERATOR and operator.municipality == "elizovo"
    provider = principal_from_claims(
        verifier.verify(sign(id_claims(**{"custom:role": "provider", "custom:provider_id": "prv-1"})))
    )
    assert provider.role is Role.PROVIDER and provider.provider_id == "prv-1"


def test_a_valid_access_token_takes_the_role_from_its_group(verifier: CognitoVerifier) -> None:
    principal = principal_from_claims(verifier.verify(sign(access_claims())))
    assert principal.role is Role.PARENT


def test_the_custom_role_attribute_wins_over_the_groups() -> None:
    claims = principal_claims({"sub": "s", "custom:role": "provider", "cognito:groups": ["parent"]})
    assert claims["role"] == "provider"


def test_groups_naming_two_roles_are_refused() -> None:
    with pytest.raises(errors.Unauthenticated):
        principal_claims({"sub": "s", "cognito:groups": ["operator", "parent", "auditors"]})
    with pytest.raises(errors.Unauthenticated):
        principal_claims({"sub": "s", "cognito:groups": "operator"})
    assert "role" not in principal_claims({"sub": "s", "cognito:groups": ["auditors"]})


def test_a_token_just_past_expiry_is_accepted_within_the_leeway(verifier: CognitoVerifier) -> None:
    assert verifier.verify(sign(id_claims(exp=NOW - 5)))["role"] == "parent"


# --- bad tokens -------------------------------------------------------------------------------------------------


def test_an_expired_token_is_refused(verifier: CognitoVerifier) -> None:
    assert "expired" in refused(verifier, sign(id_claims(iat=NOW - 7200, exp=NOW - 3600)))


@pytest.mark.parametrize(
    "changes",
    [
        {"iat": NOW + 600, "exp": NOW + 4000},  # issued in the future
        {"nbf": NOW + 600},  # not valid yet
        {"iat": NOW - 60, "exp": NOW + 7 * 24 * 3600},  # lives longer than Cognito ever issues
        {"iat": NOW + 5, "exp": NOW + 5},  # expires as it is issued
        {"exp": str(NOW + 3540)},
        {"iat": True},
        {"iat": None},
        {"exp": None},
    ],
    ids=["iat_future", "nbf_future", "too_long", "zero_lifetime", "exp_string", "iat_bool", "no_iat", "no_exp"],
)
def test_implausible_times_are_refused(verifier: CognitoVerifier, changes: dict[str, Any]) -> None:
    refused(verifier, sign(id_claims(**changes)))


def test_an_id_token_for_another_app_client_is_refused(verifier: CognitoVerifier) -> None:
    assert "app client" in refused(verifier, sign(id_claims(aud=OTHER_CLIENT)))
    refused(verifier, sign(id_claims(aud=[WEB_CLIENT])))  # Cognito's aud is one string
    refused(verifier, sign(id_claims(aud=None)))


def test_an_access_token_for_another_app_client_is_refused(verifier: CognitoVerifier) -> None:
    assert "app client" in refused(verifier, sign(access_claims(client_id=OTHER_CLIENT)))
    # An access token is judged by client_id: an audience claim does not stand in for it.
    refused(verifier, sign(access_claims(client_id=None, aud=WEB_CLIENT)))


def test_a_token_of_another_user_pool_is_refused(verifier: CognitoVerifier) -> None:
    other_pool = f"https://cognito-idp.{REGION}.amazonaws.com/{REGION}_Other999"
    assert "another user pool" in refused(verifier, sign(id_claims(iss=other_pool)))
    refused(verifier, sign(id_claims(iss=ISSUER + "/")))
    refused(verifier, sign(id_claims(iss=None)))


def test_a_tampered_payload_is_refused(verifier: CognitoVerifier) -> None:
    header, _payload, signature = sign(id_claims()).split(".")
    forged = b64(json.dumps(id_claims(**{"custom:role": "operator", "custom:municipality": "*"})).encode())
    assert "invalid token" in refused(verifier, f"{header}.{forged}.{signature}")


def test_a_token_signed_by_another_key_under_a_known_kid_is_refused(verifier: CognitoVerifier) -> None:
    refused(verifier, sign(id_claims(), key="intruder", kid="key-a"))


def test_a_token_without_token_use_is_refused(verifier: CognitoVerifier) -> None:
    assert "neither" in refused(verifier, sign(id_claims(token_use=None)))
    refused(verifier, sign(id_claims(token_use="refresh")))


def test_alg_none_is_refused_before_any_key_is_fetched(verifier: CognitoVerifier, jwks: FakeJwks) -> None:
    token = jwt.encode(id_claims(), "", algorithm="none", headers={"kid": "key-a"})
    assert "RS256" in refused(verifier, token)
    assert jwks.calls == 0


def test_hs256_signed_with_the_public_key_is_refused(verifier: CognitoVerifier, jwks: FakeJwks) -> None:
    """The classic confusion attack: the published RSA key used as an HMAC secret."""
    verifier.verify(sign(id_claims()))  # the keys are held, so the attack has the key to aim at
    public_pem = (
        private_key("a")
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "key-a"}).encode())
    payload = b64(json.dumps(id_claims(**{"custom:role": "operator", "custom:municipality": "*"})).encode())
    signature = b64(hmac.new(public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest())
    assert "RS256" in refused(verifier, f"{header}.{payload}.{signature}")
    assert jwks.calls == 1


def test_other_asymmetric_algorithms_are_refused(verifier: CognitoVerifier) -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    refused(verifier, jwt.encode(id_claims(), ec_key, algorithm="ES256", headers={"kid": "key-a"}))
    refused(verifier, jwt.encode(id_claims(), private_key("a"), algorithm="PS256", headers={"kid": "key-a"}))
    refused(verifier, jwt.encode(id_claims(), private_key("a"), algorithm="RS512", headers={"kid": "key-a"}))


@pytest.mark.parametrize("token", ["", "not-a-jwt", "a.b.c", "e30.e30.", "...."])
def test_garbage_is_refused(verifier: CognitoVerifier, token: str) -> None:
    refused(verifier, token)


def test_a_token_without_a_kid_is_refused(verifier: CognitoVerifier, jwks: FakeJwks) -> None:
    token = jwt.encode(id_claims(), private_key("a"), algorithm="RS256")
    assert "kid" in refused(verifier, token)
    assert jwks.calls == 0


# --- keys: cache, rotation, failures ----------------------------------------------------------------------------


def test_keys_are_fetched_once_and_kept(verifier: CognitoVerifier, jwks: FakeJwks, clock: Clock) -> None:
    for _ in range(5):
        verifier.verify(sign(id_claims()))
        clock.elapsed += 60
    assert jwks.calls == 1


def test_an_unknown_kid_is_refused_and_a_rotated_key_is_accepted_after_a_refetch(
    verifier: CognitoVerifier, jwks: FakeJwks, clock: Clock
) -> None:
    verifier.verify(sign(id_claims()))
    rotated = sign(id_claims(), key="b", kid="key-b")
    assert "does not publish" in refused(verifier, rotated)
    assert jwks.calls == 1  # fetched moments ago: no second fetch yet

    jwks.keys.append(public_jwk("b", "key-b"))  # the pool publishes its new key
    clock.elapsed += REFETCH
    assert verifier.verify(rotated)["role"] == "parent"
    assert jwks.calls == 2
    assert verifier.verify(sign(id_claims()))["role"] == "parent"  # the old key still works while published
    assert jwks.calls == 2


def test_made_up_kids_cannot_hammer_the_jwks_endpoint(verifier: CognitoVerifier, jwks: FakeJwks, clock: Clock) -> None:
    verifier.verify(sign(id_claims()))
    for second in range(120):
        clock.elapsed = 1 + second
        refused(verifier, sign(id_claims(), kid=f"garbage-{second}"))
    # 120 seconds of garbage at one token a second: at most one fetch per refetch interval.
    assert jwks.calls <= 1 + 120 / REFETCH


def test_the_keys_are_refetched_after_their_time_to_live(
    verifier: CognitoVerifier, jwks: FakeJwks, clock: Clock
) -> None:
    verifier.verify(sign(id_claims()))
    clock.elapsed += CACHE
    verifier.verify(sign(id_claims(exp=NOW + CACHE + 3000, iat=NOW + CACHE - 60)))
    assert jwks.calls == 2


def test_a_failed_refetch_keeps_the_keys_already_held(verifier: CognitoVerifier, jwks: FakeJwks, clock: Clock) -> None:
    verifier.verify(sign(id_claims()))
    jwks.failure = urllib.error.URLError("connection reset")
    clock.elapsed += CACHE
    assert verifier.verify(sign(id_claims(exp=NOW + CACHE + 3000, iat=NOW + CACHE - 60)))["role"] == "parent"
    assert jwks.calls == 2


@pytest.mark.parametrize(
    "failure",
    [
        urllib.error.URLError("timed out"),
        TimeoutError("timed out"),
        ValueError("Expecting value: line 1 column 1"),
    ],
    ids=["url_error", "timeout", "bad_json"],
)
def test_a_fetcher_failure_is_unauthenticated_not_a_crash(
    verifier: CognitoVerifier, jwks: FakeJwks, clock: Clock, failure: Exception
) -> None:
    jwks.failure = failure
    assert "could not be fetched" in refused(verifier, sign(id_claims()))
    refused(verifier, sign(id_claims()))
    assert jwks.calls == 1  # a failing endpoint is not asked again at once

    jwks.failure = None
    clock.elapsed += REFETCH
    assert verifier.verify(sign(id_claims(exp=NOW + 4000)))["role"] == "parent"


def test_a_jwks_without_usable_keys_is_a_fetch_failure(verifier: CognitoVerifier, jwks: FakeJwks) -> None:
    jwks.keys = [{"kty": "EC", "kid": "key-a", "crv": "P-256", "x": "AA", "y": "AA"}]
    assert "could not be fetched" in refused(verifier, sign(id_claims()))


def test_only_rs256_signature_keys_of_2048_bits_or_more_are_taken() -> None:
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    small_jwk = {**RSAAlgorithm.to_jwk(small.public_key(), as_dict=True), "kid": "small"}
    document = {
        "keys": [
            public_jwk("a", "key-a"),
            {**public_jwk("b", "encryption"), "use": "enc"},
            {**public_jwk("b", "rs512"), "alg": "RS512"},
            {**public_jwk("b", "broken"), "n": "!!!"},
            {**public_jwk("b", "no-kid"), "kid": None},
            small_jwk,
            "not-a-key",
        ]
    }
    assert set(signing_keys(document)) == {"key-a"}
    junks: list[dict[str, Any]] = [{}, {"keys": "x"}, {"keys": []}]
    for junk in junks:
        with pytest.raises(ValueError):
            signing_keys(junk)


# --- configuration ----------------------------------------------------------------------------------------------


def test_building_a_verifier_fetches_nothing(jwks: FakeJwks) -> None:
    verifier = CognitoVerifier(REGION, POOL, [WEB_CLIENT], jwks)
    assert jwks.calls == 0
    assert verifier.issuer == ISSUER


def test_the_default_fetcher_speaks_https_only() -> None:
    https_fetcher(f"{ISSUER}/.well-known/jwks.json")  # built, not called
    with pytest.raises(ValueError):
        https_fetcher(f"http://cognito-idp.{REGION}.amazonaws.com/{POOL}/.well-known/jwks.json")


def test_a_misconfigured_verifier_is_refused_at_once(jwks: FakeJwks) -> None:
    with pytest.raises(ValueError):
        CognitoVerifier(REGION, "us-east-1_AbC123xyz", [WEB_CLIENT], jwks)
    with pytest.raises(ValueError):
        CognitoVerifier(REGION, POOL, [], jwks)
