"""Configuration: validated data read from the environment when first asked for, never at import time."""

import re
from functools import lru_cache
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# A browser origin: scheme and host (and port), no path, no trailing slash; browsers send hosts in lower case.
ORIGIN = re.compile(r"https?://[a-z0-9.-]+(:[0-9]{1,5})?")
LOCAL_CURSOR_SECRET = "local-cursor-secret"  # noqa: S105 - the local stage's, public on purpose
MIN_SECRET_CHARS = 16


class MissingSetting(RuntimeError):
    """A setting the function needs was not given to it (a deployment error: never answered as the client's fault)."""


class Settings(BaseSettings):
    """Per-stage settings; in AWS they come from the function's environment (.chalice/config.json)."""

    # Built when first read (get_settings), not at import: a cold import pays nothing for it.
    model_config = SettingsConfigDict(env_prefix="PFDO_", frozen=True, defer_build=True)

    # No default: a function that was not told its stage refuses to start (fail closed) rather than serve the local
    # stage's /dev/* routes, its /docs page and its settable clock.
    stage: Literal["local", "dev", "prod"]
    table_prefix: str = Field(default="pfdo-local-", pattern=r"^[A-Za-z0-9_.-]{0,64}$")
    region_timezone: str = "Asia/Kamchatka"
    # The region code groups the periods (one calendar per region).
    region_code: str = "region"
    # Local stage only: HS256 secret of /dev/token. Elsewhere tokens come from Cognito.
    jwt_secret: SecretStr | None = None
    jwt_issuer: str = "pfdo-local"
    # dev/prod: tokens come from this Cognito user pool and are verified against its JWKS (fetched on first use).
    # The region defaults to the pool id's prefix ("eu-central-1_AbC123" is in eu-central-1).
    cognito_region: str | None = Field(default=None, pattern=r"^[a-z]{2}(-[a-z]+)+-[0-9]$")
    cognito_user_pool_id: str | None = Field(default=None, pattern=r"^[a-z]{2}(-[a-z]+)+-[0-9]_[0-9A-Za-z]+$")
    # The app clients (the web clients) whose tokens are accepted; in the environment a JSON list.
    cognito_client_ids: tuple[str, ...] = ()
    # How long the pool's keys are kept, and how often a token naming an unknown key may make us fetch them again.
    jwks_cache_seconds: float = Field(default=3600.0, ge=0)
    jwks_refetch_seconds: float = Field(default=30.0, ge=0)
    # Browser origins of the web clients allowed to call the Function URLs (CORS), matched exactly; "*" allows any, in
    # the local stage only.
    # In the environment a JSON list, e.g. PFDO_CORS_ORIGINS='["https://navigator.example.ru"]'.
    cors_origins: tuple[str, ...] = ()
    # Signs pagination cursors so a client cannot forge one (read through ``cursor_key``). Outside the local stage it
    # has no default: the template passes a generated secret to the HTTP function, and a function without one refuses
    # to sign or read a cursor. The local stage alone has a default, which anyone can read here.
    cursor_secret: SecretStr | None = Field(
        default_factory=lambda data: _local_cursor_secret(data.get("stage")), validate_default=True
    )
    # Parallel scan segments of the top-up job.
    topup_segments: int = Field(default=4, ge=1, le=64)
    # Certificates read per scan page of the top-up job.
    topup_page_size: int = Field(default=500, ge=1, le=5000)
    # How long POST /periods/{id}/topup works before it answers 202 (the caller posts again to resume).
    topup_http_budget_seconds: float = Field(default=20.0, gt=0, le=840)
    # How long a function may keep the period calendar before reading it again.
    period_cache_seconds: float = Field(default=30.0, ge=0)
    # How long an Idempotency-Key is remembered.
    idempotency_ttl_seconds: int = Field(default=24 * 3600, ge=60)

    # Provider documents: a private bucket, uploaded by pre-signed POST (AWS_ENDPOINT_URL_S3 points at moto locally).
    documents_bucket: str = "pfdo-local-documents"
    document_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    document_upload_seconds: int = Field(default=900, ge=60, le=3600)
    # The catalog answers a page with at most this many DynamoDB queries, however large the catalog.
    catalog_max_queries: int = Field(default=4, ge=1, le=20)
    # Days a provider has to accept an enrolment request before it expires and its hold is released.
    contract_response_days: int = Field(default=5, ge=1, le=60)
    # Days after a charge during which the parent may object to it.
    objection_window_days: int = Field(default=14, ge=1, le=365)
    # Notifications to parents: EventBridge (dev/prod) on this bus, under this source; in the local stage JSON lines
    # are logged (and appended to ``notification_log`` when set).
    notification_bus: str = "default"
    notification_source: str = Field(default="pfdo.functions", pattern=r"^[a-z0-9.-]{1,64}$")
    notification_log: str | None = None
    # Days before unspent money expires that the parent is told.
    expiry_notice_days: int = Field(default=30, ge=1, le=180)

    # EventBridge Scheduler: the top-up function it invokes at each period's start, the role it uses, its group.
    topup_function_arn: str | None = None
    scheduler_role_arn: str | None = None
    schedule_group: str = "default"

    @field_validator("cursor_secret")
    @classmethod
    def _cursor_secret_not_blank(cls, secret: SecretStr | None) -> SecretStr | None:
        if secret is not None and len(secret.get_secret_value()) < MIN_SECRET_CHARS:
            raise ValueError(f"cursor_secret: at least {MIN_SECRET_CHARS} characters")
        return secret

    @field_validator("cors_origins")
    @classmethod
    def _bare_origins(cls, origins: tuple[str, ...]) -> tuple[str, ...]:
        for origin in origins:
            if origin != "*" and not ORIGIN.fullmatch(origin):
                raise ValueError(f"{origin!r} is not an origin like https://navigator.example.ru (no path, no slash)")
        return origins

    @model_validator(mode="after")
    def _no_wildcard_origin_outside_local(self) -> "Settings":
        if "*" in self.cors_origins and self.stage != "local":
            raise ValueError("cors_origins: '*' is for the local stage only; name the web clients' origins")
        return self

    @property
    def is_local(self) -> bool:
        return self.stage == "local"

    @property
    def cursor_key(self) -> str:
        """The key that signs pagination cursors; ``MissingSetting`` when the stage was given none (never a default
        outside the local stage)."""
        if self.cursor_secret is None:
            raise MissingSetting("PFDO_CURSOR_SECRET is not set: this function cannot sign or read cursors")
        return self.cursor_secret.get_secret_value()


def _local_cursor_secret(stage: object) -> SecretStr | None:
    """The local stage's public default; any other stage gets none."""
    return SecretStr(LOCAL_CURSOR_SECRET) if stage == "local" else None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The function's settings from its environment; without ``PFDO_STAGE`` this raises, and the function does not
    start (the stage has no default)."""
    return Settings()  # type: ignore[call-arg]  # every field comes from the environment
