"""Bearer tokens: who is calling.

In the ``local`` stage tokens are HS256-signed with a local secret (issued by POST /dev/token). Other stages take
Cognito tokens, verified against the user pool's JWKS (``chalicelib.platform.jwks``); until the pool is configured
they accept nothing.
"""

from __future__ import annotations

import time
from functools import lru_cache
from typing import Any

import jwt

from chalicelib.domain import errors
from chalicelib.domain.actors import WHOLE_REGION, Principal, Role
from chalicelib.domain.period import MUNICIPALITY
from chalicelib.platform.config import Settings
from chalicelib.platform.jwks import CognitoVerifier

LOCAL_TOKEN_SECONDS = 12 * 3600


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    """Checks that the claims name a role and the scope the role needs."""
    try:
        role = Role(claims.get("role"))
    except ValueError:
        raise errors.Unauthenticated("the token names no known role") from None
    sub = claims.get("sub")
    if not isinstance(sub, str) or not 1 <= len(sub) <= 128:
        raise errors.Unauthenticated("the token has no subject")
    municipality = claims.get("municipality")
    provider_id = claims.get("provider_id")
    if role is Role.OPERATOR and not (
        municipality == WHOLE_REGION or (isinstance(municipality, str) and MUNICIPALITY.fullmatch(municipality))
    ):
        raise errors.Unauthenticated("an operator's token names their municipality (or '*' for the region)")
    if role is Role.PROVIDER and not (isinstance(provider_id, str) and provider_id):
        raise errors.Unauthenticated("a provider's token names its provider_id")
    return Principal(
        sub=sub,
        role=role,
        municipality=municipality if role is Role.OPERATOR else None,
        provider_id=provider_id if role is Role.PROVIDER else None,
    )


def issue_local_token(settings: Settings, claims: dict[str, Any], now: float | None = None) -> str:
    """A token for the local stage (POST /dev/token and `make run`)."""
    if not settings.is_local or settings.jwt_secret is None:
        raise errors.Forbidden("local tokens exist only in the local stage")
    principal_from_claims(claims)
    issued = int(now if now is not None else time.time())
    payload = {**claims, "iss": settings.jwt_issuer, "iat": issued, "exp": issued + LOCAL_TOKEN_SECONDS}
    return jwt.encode(payload, settings.jwt_secret.get_secret_value(), algorithm="HS256")


def authenticate(settings: Settings, authorization: str | None) -> Principal:
    """The caller of a request with header ``Authorization: Bearer <JWT>``."""
    if not authorization or not authorization.startswith("Bearer "):
        raise errors.Unauthenticated("send Authorization: Bearer <token>")
    token = authorization[len("Bearer ") :].strip()
    if settings.is_local:
        return principal_from_claims(_local_claims(settings, token))
    return principal_from_claims(cognito_verifier(settings).verify(token))


def _local_claims(settings: Settings, token: str) -> dict[str, Any]:
    if settings.jwt_secret is None:
        raise errors.Unauthenticated("no token verifier is configured for this stage")
    try:
        return jwt.decode(
            token,
            settings.jwt_secret.get_secret_value(),
            algorithms=["HS256"],
            issuer=settings.jwt_issuer,
            options={"require": ["sub", "role", "exp", "iat", "iss"]},
        )
    except jwt.PyJWTError as failure:
        raise errors.Unauthenticated(f"invalid token: {failure}") from None


def cognito_verifier(settings: Settings) -> CognitoVerifier:
    """The verifier of the stage's user pool; one per process, so its keys are fetched once, not per request."""
    pool_id = settings.cognito_user_pool_id
    if pool_id is None or not settings.cognito_client_ids:
        raise errors.Unauthenticated("no token verifier is configured for this stage")
    region = settings.cognito_region or pool_id.split("_", 1)[0]
    return _verifier(
        region, pool_id, settings.cognito_client_ids, settings.jwks_cache_seconds, settings.jwks_refetch_seconds
    )


@lru_cache(maxsize=4)
def _verifier(
    region: str, pool_id: str, client_ids: tuple[str, ...], cache_seconds: float, refetch_seconds: float
) -> CognitoVerifier:
    return CognitoVerifier(region, pool_id, client_ids, cache_seconds=cache_seconds, refetch_seconds=refetch_seconds)
