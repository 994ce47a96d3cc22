"""Verification of Cognito user-pool tokens (the dev and prod stages): RS256 JWTs checked against the pool's JWKS.

Framework-free. ``CognitoVerifier.verify(token)`` returns the claims
``chalicelib.platform.auth.principal_from_claims`` reads (``sub``, ``role``, ``municipality``, ``provider_id``) or
raises ``Unauthenticated`` saying why.

The signing keys are fetched on first use (never at import time), kept by ``kid`` for ``cache_seconds``, and fetched
again when a token names a ``kid`` we do not hold, but at most once per ``refetch_seconds``: a rotated key is picked
up, while tokens with made-up ``kid`` values cannot turn every request into a call to Cognito.

PyJWT does the cryptography and the standard checks: each published key is read with ``PyJWK`` (its public members
only), the signature and algorithm (RS256 only) and the issuer are checked by ``jwt.decode``, which also requires the
claims Cognito always sends. Two checks stay here because PyJWT cannot say them: the times (``exp``, ``iat``,
``nbf``, and a lifetime no longer than Cognito issues) are read against an injectable clock, where PyJWT reads the
system's; and the app client is ``aud`` in an ID token but ``client_id`` in an access token (``token_use``). The key
cache with its throttled refetch is ours.

The role and scope come from the user's custom attributes (``custom:role``, ``custom:municipality``,
``custom:provider_id``, present in ID tokens), the role also from the ``cognito:groups`` claim (a group named
``parent``, ``provider`` or ``operator``). Custom attributes are only trustworthy if no app client may write them:
the user pool's app clients must leave them out of their write attributes, or a user could make themselves an operator.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import jwt

from chalicelib.domain import errors

log = logging.getLogger("pfdo.auth")

JwksFetcher = Callable[[], Mapping[str, Any]]

ALGORITHM = "RS256"
TOKEN_USES = ("id", "access")
ROLE_GROUPS = frozenset({"parent", "provider", "operator"})
# Cognito issues ID and access tokens valid for at most one day.
MAX_TOKEN_LIFETIME_SECONDS = 24 * 3600
MIN_KEY_BITS = 2048
MAX_KID_LENGTH = 256
JWKS_MAX_BYTES = 256 * 1024
FETCH_TIMEOUT_SECONDS = 3.0
# What a missing claim means, said as the other refusals say it.
MISSING = {
    "iss": "the token was issued by another user pool",
    "token_use": "the token is neither a Cognito ID token nor an access token",
    "exp": "the token has no valid 'exp' time",
    "iat": "the token has no valid 'iat' time",
}


def https_fetcher(url: str, timeout_seconds: float = FETCH_TIMEOUT_SECONDS) -> JwksFetcher:
    """A fetcher of the JWKS document at ``url`` (HTTPS only), with a short timeout and a size limit."""
    if not url.startswith("https://"):
        raise ValueError(f"the JWKS must be fetched over HTTPS, not from {url!r}")

    def fetch() -> Mapping[str, Any]:
        request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310 (https checked above)
        with urllib.request.urlopen(request, timeout=timeout_seconds) as response:  # noqa: S310 (https checked above)
            body = response.read(JWKS_MAX_BYTES + 1)
        if len(body) > JWKS_MAX_BYTES:
            raise ValueError("the JWKS document is larger than expected")
        document = json.loads(body)
        if not isinstance(document, dict):
            raise ValueError("the JWKS document is not a JSON object")
        return document

    return fetch


# The members of an RSA JWK that make its public key: private parts in a published JWKS are never read.
PUBLIC_MEMBERS = ("kty", "kid", "use", "alg", "n", "e")


def signing_keys(document: Mapping[str, Any]) -> dict[str, jwt.PyJWK]:
    """The RS256 signature keys of a JWKS document, by ``kid``; other keys are skipped.

    Each key is read on its own with ``PyJWK`` (``PyJWKSet`` gives up on the whole set when one key's numbers do not
    decode). Raises ``ValueError`` when the document holds no usable key at all.
    """
    entries = document.get("keys")
    if not isinstance(entries, list):
        raise ValueError("the JWKS document has no 'keys' list")
    keys: dict[str, jwt.PyJWK] = {}
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("kid"), str):
            continue
        try:
            key = jwt.PyJWK({member: entry[member] for member in PUBLIC_MEMBERS if member in entry})
        except (jwt.PyJWTError, ValueError) as failure:
            log.warning("jwks key %s skipped: %s", entry["kid"], failure)
            continue
        if _is_rs256_signature_key(key):
            keys[entry["kid"]] = key
    if not keys:
        raise ValueError("the JWKS document holds no RS256 signature key")
    return keys


def _is_rs256_signature_key(key: jwt.PyJWK) -> bool:
    if key.key_type != "RSA" or key.public_key_use not in (None, "sig") or key.algorithm_name != ALGORITHM:
        return False
    if key.key.key_size < MIN_KEY_BITS:
        log.warning("jwks key %s skipped: fewer than %s bits", key.key_id, MIN_KEY_BITS)
        return False
    return True


class CognitoVerifier:
    """Verifies the ID and access tokens of one Cognito user pool, for the given app clients.

    One instance per process (it holds the key cache); safe to share between threads.
    """

    def __init__(
        self,
        region: str,
        user_pool_id: str,
        client_ids: Iterable[str],
        fetch_jwks: JwksFetcher | None = None,
        *,
        cache_seconds: float = 3600.0,
        refetch_seconds: float = 30.0,
        leeway_seconds: float = 10.0,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if not region or not user_pool_id.startswith(f"{region}_"):
            raise ValueError(f"the user pool id {user_pool_id!r} does not belong to the region {region!r}")
        self.client_ids = frozenset(client_ids)
        if not self.client_ids:
            raise ValueError("name at least one app client whose tokens are accepted")
        self.issuer = f"https://cognito-idp.{region}.amazonaws.com/{user_pool_id}"
        self._fetch = fetch_jwks or https_fetcher(f"{self.issuer}/.well-known/jwks.json")
        self._cache_seconds = cache_seconds
        self._refetch_seconds = refetch_seconds
        self._leeway = leeway_seconds
        self._clock = clock
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = -math.inf
        self._attempted_at = -math.inf
        self._fetch_failed = False

    def verify(self, token: str) -> dict[str, Any]:
        """The caller's claims for ``principal_from_claims``; ``Unauthenticated`` if the token is not good."""
        kid = self._kid(token)
        key = self._key(kid)
        try:
            # PyJWT: the signature, the algorithm, the issuer, and the claims Cognito always sends. The times are
            # checked below against our clock, the app client by the token's use.
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                issuer=self.issuer,
                options={
                    "require": ["iss", "token_use", "exp", "iat"],
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                    "verify_aud": False,
                },
            )
        except jwt.InvalidIssuerError:
            raise errors.Unauthenticated("the token was issued by another user pool") from None
        except jwt.MissingRequiredClaimError as missing:
            raise errors.Unauthenticated(MISSING.get(missing.claim, f"invalid token: {missing}")) from None
        except jwt.PyJWTError as failure:
            raise errors.Unauthenticated(f"invalid token: {failure}") from None
        self._check_times(claims)
        self._check_client(claims)
        return principal_claims(claims)

    @staticmethod
    def _kid(token: str) -> str:
        """The key id, read from the header only after the algorithm is known to be RS256."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise errors.Unauthenticated("the bearer token is not a JWT") from None
        if header.get("alg") != ALGORITHM:
            raise errors.Unauthenticated(f"the token must be signed with {ALGORITHM}")
        kid = header.get("kid")
        if not isinstance(kid, str) or not 1 <= len(kid) <= MAX_KID_LENGTH:
            raise errors.Unauthenticated("the token names no signing key (kid)")
        return kid

    def _key(self, kid: str) -> jwt.PyJWK:
        with self._lock:
            now = self._monotonic()
            if kid not in self._keys or now - self._fetched_at >= self._cache_seconds:
                self._refresh(now)
            key = self._keys.get(kid)
            fetch_failed = self._fetch_failed
        if key is not None:
            return key
        if fetch_failed:
            raise errors.Unauthenticated("the sign-in keys could not be fetched; try again shortly")
        raise errors.Unauthenticated("the token is signed with a key the user pool does not publish")

    def _refresh(self, now: float) -> None:
        """Fetches the keys unless a fetch was tried within ``refetch_seconds``; on failure keeps the keys held."""
        if now - self._attempted_at < self._refetch_seconds:
            return
        self._attempted_at = now
        try:
            keys = signing_keys(self._fetch())
        except (OSError, ValueError) as failure:  # network errors, HTTP errors, bad JSON, no usable key
            self._fetch_failed = True
            log.warning("jwks fetch from %s failed: %s", self.issuer, failure)
            return
        self._keys = keys
        self._fetched_at = now
        self._fetch_failed = False

    def _check_times(self, claims: Mapping[str, Any]) -> None:
        now = self._clock()
        expires = _timestamp(claims, "exp")
        issued = _timestamp(claims, "iat")
        if expires <= now - self._leeway:
            raise errors.Unauthenticated("the token has expired")
        if issued > now + self._leeway:
            raise errors.Unauthenticated("the token is issued in the future")
        if not 0 < expires - issued <= MAX_TOKEN_LIFETIME_SECONDS:
            raise errors.Unauthenticated("the token's lifetime is not plausible")
        if "nbf" in claims and _timestamp(claims, "nbf") > now + self._leeway:
            raise errors.Unauthenticated("the token is not valid yet")

    def _check_client(self, claims: Mapping[str, Any]) -> None:
        """ID tokens name the app client in ``aud``, access tokens in ``client_id``."""
        use = claims.get("token_use")
        if use not in TOKEN_USES:
            raise errors.Unauthenticated("the token is neither a Cognito ID token nor an access token")
        client = claims.get("aud") if use == "id" else claims.get("client_id")
        if not isinstance(client, str) or client not in self.client_ids:
            raise errors.Unauthenticated("the token was issued to another app client")


def _timestamp(claims: Mapping[str, Any], name: str) -> float:
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise errors.Unauthenticated(f"the token has no valid '{name}' time")
    return float(value)


def principal_claims(claims: Mapping[str, Any]) -> dict[str, Any]:
    """Cognito's claims renamed to ours: custom attributes first, ``cognito:groups`` for the role otherwise."""
    mapped: dict[str, Any] = {"sub": claims.get("sub")}
    role = claims.get("custom:role")
    if role is None:
        role = _role_from_groups(claims.get("cognito:groups"))
    if role is not None:
        mapped["role"] = role
    for name in ("municipality", "provider_id"):
        value = claims.get(f"custom:{name}")
        if value is not None:
            mapped[name] = value
    return mapped


def _role_from_groups(groups: Any) -> str | None:
    if groups is None:
        return None
    if not isinstance(groups, list):
        raise errors.Unauthenticated("the token's cognito:groups is not a list")
    roles = {group for group in groups if isinstance(group, str) and group in ROLE_GROUPS}
    if len(roles) > 1:
        raise errors.Unauthenticated("the user is in more than one role group; an operator must keep one")
    return roles.pop() if roles else None
