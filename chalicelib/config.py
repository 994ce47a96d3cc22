"""Configuration: validated data read from the environment when first asked for, never at import time."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Per-stage settings; in AWS they come from the function's environment (.chalice/config.json)."""

    model_config = SettingsConfigDict(env_prefix="PFDO_", frozen=True)

    stage: Literal["local", "dev", "prod"] = "local"
    table_prefix: str = Field(default="pfdo-local-", pattern=r"^[A-Za-z0-9_.-]{0,64}$")
    region_timezone: str = "Asia/Kamchatka"
    # The region code groups the periods (one calendar per region).
    region_code: str = "region"
    # Local stage only: HS256 secret of /dev/token. Elsewhere tokens come from Cognito.
    jwt_secret: SecretStr | None = None
    jwt_issuer: str = "pfdo-local"
    # Signs pagination cursors so a client cannot forge one.
    cursor_secret: SecretStr = SecretStr("local-cursor-secret")
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

    # EventBridge Scheduler: the top-up function it invokes at each period's start, the role it uses, its group.
    topup_function_arn: str | None = None
    scheduler_role_arn: str | None = None
    schedule_group: str = "default"

    @property
    def is_local(self) -> bool:
        return self.stage == "local"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
