"""Wiring: the dev/prod stages verify Cognito tokens; local keeps its HS256 tokens."""

from __future__ import annotations

import jwt
import pytest

from chalicelib.domain import errors
from chalicelib.platform.auth import authenticate, cognito_verifier, issue_local_token
from chalicelib.platform.config import Settings

POOL = "eu-central-1_AbC123xyz"
COGNITO = Settings(stage="prod", cognito_user_pool_id=POOL, cognito_client_ids=("web-client",))


def test_dev_and_prod_verify_with_the_stage_user_pool() -> None:
    verifier = cognito_verifier(COGNITO)
    assert verifier.issuer == f"https://cognito-idp.eu-central-1.amazonaws.com/{POOL}"
    assert verifier.client_ids == {"web-client"}
    assert cognito_verifier(COGNITO) is verifier  # one per process: the keys are fetched once


def test_a_local_token_is_refused_by_a_cognito_stage() -> None:
    token = issue_local_token(Settings(stage="local", jwt_secret="s"), {"sub": "p", "role": "parent"})
    with pytest.raises(errors.Unauthenticated, match="RS256"):
        authenticate(COGNITO, f"Bearer {token}")
    unsigned = jwt.encode({"sub": "p", "role": "operator"}, "", algorithm="none")
    with pytest.raises(errors.Unauthenticated, match="RS256"):
        authenticate(COGNITO, f"Bearer {unsigned}")


def test_a_stage_without_a_user_pool_accepts_nothing() -> None:
    with pytest.raises(errors.Unauthenticated, match="no token verifier"):
        authenticate(Settings(stage="dev"), "Bearer x.y.z")


def test_settings_read_lists_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PFDO_STAGE", "local")
    monkeypatch.setenv("PFDO_COGNITO_CLIENT_IDS", '["a", "b"]')
    monkeypatch.setenv("PFDO_CORS_ORIGINS", '["https://navigator.example.ru", "http://localhost:5173"]')
    settings = Settings()
    assert settings.cognito_client_ids == ("a", "b")
    assert settings.cors_origins == ("https://navigator.example.ru", "http://localhost:5173")


@pytest.mark.parametrize("origin", ["https://navigator.example.ru/", "navigator.example.ru", "https://x.ru/path"])
def test_an_origin_with_a_path_or_no_scheme_is_a_configuration_error(origin: str) -> None:
    with pytest.raises(ValueError):
        Settings(stage="local", cors_origins=(origin,))
