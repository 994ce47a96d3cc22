"""The demo region of `make run`: Kamchatka (Asia/Kamchatka), seeded through the services, never item by item.

What it holds:
    - the period of the current calendar year (today in the region's time zone) and the next year's period, so an
      operator can try the rollover with POST /dev/clock; nominal 24 000 rubles, 30 000 for children of 14 and
      older (age at the period's start), quotas for five municipalities (Milkovo's is used up by the seed);
    - families: a parent (``sub`` like "parent-ivanova") with 1-3 children aged 5-17, some certificates funded,
      some left accounting.

Running it again changes nothing: a period that exists is left alone, a child is registered only if the parent has
no child of that name, and funding a funded certificate is a no-op. So `make run` can seed on every start.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from chalicelib.domain import errors
from chalicelib.domain.actors import WHOLE_REGION, Principal, Role
from chalicelib.domain.certificate import CertificateStatus
from chalicelib.domain.period import AgeNominal, Period
from chalicelib.services import certificates
from chalicelib.services.context import Context
from chalicelib.services.periods import open_period
from chalicelib.storage import certificates as certificate_store
from chalicelib.storage import periods as period_store

REGION_TIMEZONE = "Asia/Kamchatka"
REGIONAL_OPERATOR = Principal(sub="operator-kamchatka", role=Role.OPERATOR, municipality=WHOLE_REGION)

NOMINAL_KOPECKS = 2_400_000  # 24 000 rubles a year
AGE_NOMINALS = (AgeNominal(age_min=14, age_max=17, nominal=3_000_000),)  # 30 000 rubles from 14 years on
# Funded certificates per municipality and period. Milkovo's two slots go to the seed, so funding a third child
# there answers 409 quota_exhausted.
QUOTAS = {
    "petropavlovsk-kamchatsky": 1200,
    "elizovo": 400,
    "vilyuchinsk": 150,
    "ust-kamchatsky": 60,
    "milkovo": 2,
}


@dataclass(frozen=True)
class DemoChild:
    full_name: str
    # Born this many years before the seed's year, on month/day: 5 to 17 years old on any day of the year.
    years: int
    month: int
    day: int
    funded: bool

    def birth_date(self, today: date) -> date:
        return date(today.year - self.years, self.month, self.day)


@dataclass(frozen=True)
class DemoFamily:
    guardian_sub: str
    municipality: str
    children: tuple[DemoChild, ...]


FAMILIES = (
    DemoFamily(
        "parent-ivanova",
        "petropavlovsk-kamchatsky",
        (
            DemoChild("Иванов Артём Сергеевич", 10, 3, 14, funded=True),
            DemoChild("Иванова Алиса Сергеевна", 7, 9, 2, funded=False),
        ),
    ),
    DemoFamily(
        "parent-petrova",
        "petropavlovsk-kamchatsky",
        (
            DemoChild("Петрова Мария Андреевна", 13, 5, 21, funded=True),
            DemoChild("Петров Никита Андреевич", 16, 11, 8, funded=False),
            DemoChild("Петров Лев Андреевич", 6, 1, 30, funded=True),
        ),
    ),
    DemoFamily(
        "parent-smirnov",
        "elizovo",
        (DemoChild("Смирнова Софья Дмитриевна", 9, 7, 12, funded=True),),
    ),
    DemoFamily(
        "parent-kuznetsova",
        "elizovo",
        (
            DemoChild("Кузнецов Матвей Ильич", 12, 2, 17, funded=True),
            DemoChild("Кузнецова Ева Ильинична", 8, 10, 5, funded=False),
        ),
    ),
    DemoFamily(
        "parent-popova",
        "vilyuchinsk",
        (
            DemoChild("Попов Даниил Олегович", 15, 4, 3, funded=True),
            DemoChild("Попова Варвара Олеговна", 11, 12, 19, funded=True),
        ),
    ),
    DemoFamily(
        "parent-sokolov",
        "ust-kamchatsky",
        (DemoChild("Соколова Анна Викторовна", 14, 6, 25, funded=False),),
    ),
    DemoFamily(
        "parent-lebedeva",
        "milkovo",
        (
            DemoChild("Лебедев Тимофей Романович", 10, 8, 9, funded=True),
            DemoChild("Лебедева Полина Романовна", 7, 3, 1, funded=True),
            DemoChild("Лебедев Егор Романович", 17, 9, 15, funded=False),
        ),
    ),
    DemoFamily(
        "parent-kozlova",
        "petropavlovsk-kamchatsky",
        (DemoChild("Козлов Марк Евгеньевич", 6, 11, 27, funded=False),),
    ),
)

PARENT_SUBS = tuple(family.guardian_sub for family in FAMILIES)

Say = Callable[[str], None]


def year_period(year: int, timezone: str) -> Period:
    """The calendar year as a period: id "2026", 1 January to 31 December."""
    return Period(
        period_id=str(year),
        starts_on=date(year, 1, 1),
        ends_on=date(year, 12, 31),
        nominal=NOMINAL_KOPECKS,
        quotas=dict(QUOTAS),
        timezone=timezone,
        age_nominals=AGE_NOMINALS,
    )


def seed_periods(ctx: Context, say: Say) -> list[str]:
    """Opens this year's and next year's periods if they are not open yet; returns their ids."""
    year, timezone = ctx.today().year, ctx.settings.region_timezone
    ids = []
    for period in (year_period(year, timezone), year_period(year + 1, timezone)):
        ids.append(period.period_id)
        try:
            period_store.get_period(period.period_id)
            continue
        except errors.PeriodNotFound:
            pass
        try:
            open_period(ctx, REGIONAL_OPERATOR, period)
            say(f"seed: opened period {period.period_id} ({period.starts_on} .. {period.ends_on})")
        except (errors.PeriodExists, errors.PeriodOverlaps) as refused:
            say(f"seed: period {period.period_id} not opened: {refused.code}: {refused.message}")
    return ids


def seed_family(ctx: Context, family: DemoFamily, say: Say) -> None:
    """Registers the children the parent does not have yet and funds those meant to be funded."""
    parent = Principal(sub=family.guardian_sub, role=Role.PARENT)
    existing = {c.full_name: c for c in certificate_store.of_guardian(family.guardian_sub)}
    today = ctx.today()
    for child in family.children:
        certificate = existing.get(child.full_name)
        if certificate is None:
            certificate = certificates.register_child(
                ctx, parent, child.full_name, child.birth_date(today), family.municipality
            )
            say(f"seed: {family.guardian_sub}: registered {child.full_name}, certificate {certificate.certificate_id}")
        if child.funded and certificate.status is CertificateStatus.ACCOUNTING:
            try:
                funded = certificates.fund(ctx, parent, certificate.certificate_id)
                say(f"seed: {family.guardian_sub}: funded {funded.certificate_id} in period {funded.period_id}")
            except errors.DomainError as refused:  # e.g. the quota was used up by hand: the demo still starts
                say(f"seed: {family.guardian_sub}: {child.full_name} not funded: {refused.code}")


def seed_region(ctx: Context, say: Say = print) -> list[str]:
    """Seeds the demo region (idempotent) and returns the parents' subs, in the order of ``FAMILIES``.

    ``ctx`` must be bound to the tables (``storage.models.bind_tables``) and use the region's time zone.
    """
    if ctx.settings.region_timezone != REGION_TIMEZONE:
        say(f"seed: note: the demo region is {REGION_TIMEZONE}, the settings say {ctx.settings.region_timezone}")
    periods = seed_periods(ctx, say)
    for family in FAMILIES:
        seed_family(ctx, family, say)
    children = sum(len(family.children) for family in FAMILIES)
    say(f"seed: demo region in place: periods {', '.join(periods)}; {len(FAMILIES)} families, {children} children")
    return list(PARENT_SUBS)
