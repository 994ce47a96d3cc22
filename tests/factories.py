"""Test data written straight to the tables: approved providers and programs (their own services have their tests)."""

from __future__ import annotations

import uuid

from chalicelib.domain.period import Period
from chalicelib.storage.models import ProgramRecord, ProviderRecord


def approved_provider(provider_id: str = "7707083893", municipality: str = "elizovo", status: str = "approved") -> str:
    ProviderRecord(
        provider_id=provider_id,
        kind="organization",
        name=f"Центр творчества {provider_id[-3:]}",
        inn=provider_id,
        ogrn="1027700132195",
        licence="Л035-01234-41/00123456",
        municipality=municipality,
        contacts={"phone": "+7 4152 000000"},
        owner_sub=f"user-{provider_id}",
        status=status,
        applied_at="2026-11-01T00:00:00Z",
        queue=f"{municipality}#{status}",
        queued_at=f"2026-11-01T00:00:00Z#{provider_id}",
    ).save()
    return provider_id


def program(
    period: Period,
    provider_id: str = "7707083893",
    *,
    price: int = 100_000,
    capacity: int = 10,
    status: str = "certified",
    ages: tuple[int, int] = (5, 17),
    months: list[str] | None = None,
    municipality: str = "elizovo",
) -> str:
    program_id = f"prg-{uuid.uuid4().hex[:12]}"
    ProgramRecord(
        program_id=program_id,
        record="program",
        provider_id=provider_id,
        provider_name="Центр творчества",
        title="Робототехника",
        description="Конструирование и программирование роботов",
        direction="technical",
        age_min=ages[0],
        age_max=ages[1],
        municipality=municipality,
        address="Елизово, ул. Ленина, 1",
        schedule="вт, чт 16:00",
        period_id=period.period_id,
        months=months if months is not None else [str(m) for m in period.months],
        price_per_month=price,
        capacity=capacity,
        seats_taken=0,
        status=status,
        search_text=" робототехника конструирование и программирование роботов ",
        created_at="2026-11-01T00:00:00Z",
        updated_at="2026-11-01T00:00:00Z",
    ).save()
    return program_id
