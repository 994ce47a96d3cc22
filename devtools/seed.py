"""The demo region of `make run`: Kamchatka (Asia/Kamchatka), seeded through the services, never item by item.

What it holds:
    - the period of the current calendar year (today in the region's time zone) and the next year's period, so an
      operator can try the rollover with POST /dev/clock; nominal 24 000 rubles, 30 000 for children of 14 and
      older (age at the period's start), quotas for five municipalities (Milkovo's is used up by the seed);
    - families: a parent (``sub`` like "parent-ivanova") with 1-3 children aged 5-17, some certificates funded,
      some left accounting;
    - six providers (five organisations and an entrepreneur, ИНН and ОГРН/ОГРНИП with valid check digits, all of
      Kamchatka's tax region 41) in five municipalities, applied and approved by the regional operator;
    - 42 programs of the current period in all six directions, most certified, a few only published, some free;
    - contracts of seeded children: some requested, some accepted, two charged for the month they were seeded in.

Running it again changes nothing: a period that exists is left alone, a child is registered only if the parent has
no child of that name, funding a funded certificate is a no-op, a provider applies only if the registry has no entry
under its ИНН, a program is published only if its provider has none of that title in the period, an enrolment
carries a fixed Idempotency-Key (so it finds its contract again), and a contract is charged only if it has no charge
yet. So `make run` can seed on every start.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from typing import Any

from chalicelib.domain import errors
from chalicelib.domain.actors import WHOLE_REGION, Principal, Role
from chalicelib.domain.certificate import CertificateStatus
from chalicelib.domain.contract import ContractStatus
from chalicelib.domain.ids import PeriodId
from chalicelib.domain.period import AgeNominal, Month, Period
from chalicelib.domain.program import Direction, Program, ProgramDraft, ProgramStatus
from chalicelib.domain.provider import (
    Application,
    Contacts,
    ProviderDecision,
    ProviderKind,
    ProviderStatus,
    is_valid_inn,
    is_valid_ogrn,
)
from chalicelib.services import certificates, contracts, programs, providers
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
        period_id=PeriodId(str(year)),
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
    ids: list[str] = []
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


# --- providers -------------------------------------------------------------------------------------------------------

TAX_REGION = "41"  # Kamchatka's code: the first two digits of its ИНН


def _with_check_digits(stem: str, valid: Callable[[str], bool], digits: int) -> str:
    """``stem`` completed with the ``digits`` check digits that make it ``valid`` (the validators of
    chalicelib.domain.provider decide; nothing here recomputes their formulas)."""
    for tail in range(10**digits):
        number = f"{stem}{tail:0{digits}d}"
        if valid(number):
            return number
    raise ValueError(f"no check digits make {stem} valid")  # pragma: no cover - every stem has them


@dataclass(frozen=True)
class DemoProvider:
    slug: str
    name: str
    kind: ProviderKind
    serial: int  # makes its ИНН and ОГРН: distinct per provider
    municipality: str
    address: str
    phone: str
    email: str
    licence: str

    @property
    def sub(self) -> str:
        return f"provider-{self.slug}"

    @cached_property
    def inn(self) -> str:
        """Its ИНН, which is its provider_id: 10 digits (one check digit) or 12 for an entrepreneur (two)."""
        if self.kind is ProviderKind.ORGANIZATION:
            return _with_check_digits(f"{TAX_REGION}01{self.serial:05d}", self._inn_valid, 1)
        return _with_check_digits(f"{TAX_REGION}01{self.serial:06d}", self._inn_valid, 2)

    @cached_property
    def ogrn(self) -> str:
        """ОГРН (13 digits, starts with 1) or ОГРНИП (15 digits, starts with 3)."""
        if self.kind is ProviderKind.ORGANIZATION:
            return _with_check_digits(f"10{TAX_REGION}1000{self.serial:04d}", self._ogrn_valid, 1)
        return _with_check_digits(f"31{TAX_REGION}1000{self.serial:06d}", self._ogrn_valid, 1)

    def _inn_valid(self, number: str) -> bool:
        return is_valid_inn(number, self.kind)

    def _ogrn_valid(self, number: str) -> bool:
        return is_valid_ogrn(number, self.kind)

    @property
    def principal(self) -> Principal:
        return Principal(sub=self.sub, role=Role.PROVIDER, provider_id=self.inn)

    def application(self) -> Application:
        return Application(
            name=self.name,
            kind=self.kind,
            inn=self.inn,
            ogrn=self.ogrn,
            licence=self.licence,
            municipality=self.municipality,
            contacts=Contacts(phone=self.phone, email=self.email, address=self.address),
        )


_ORG = ProviderKind.ORGANIZATION
PROVIDERS = (
    DemoProvider(
        "vulkan",
        "МАУ ДО «Детско-юношеская спортивная школа «Вулкан»»",
        _ORG,
        1,
        "petropavlovsk-kamchatsky",
        "г. Петропавловск-Камчатский, ул. Ленинская, 12",
        "+7 (4152) 41-20-01",
        "vulkan@sport.example.ru",
        "Лицензия № 2518 от 14.03.2016",
    ),
    DemoProvider(
        "cdtt",
        "МБУ ДО «Центр детского технического творчества»",
        _ORG,
        2,
        "petropavlovsk-kamchatsky",
        "г. Петропавловск-Камчатский, пр. Победы, 27",
        "+7 (4152) 41-20-02",
        "cdtt@edu.example.ru",
        "Лицензия № 2231 от 02.09.2015",
    ),
    DemoProvider(
        "kamchadalochka",
        "АНО ДО «Школа искусств «Камчадалочка»»",
        _ORG,
        3,
        "elizovo",
        "г. Елизово, ул. Рябикова, 8",
        "+7 (41531) 6-30-03",
        "art@kamchadalochka.example.ru",
        "Лицензия № 2794 от 21.11.2018",
    ),
    DemoProvider(
        "unnat",
        "МБУ ДО «Станция юных натуралистов»",
        _ORG,
        4,
        "vilyuchinsk",
        "г. Вилючинск, ул. Победы, 3",
        "+7 (41535) 3-40-04",
        "unnat@edu.example.ru",
        "Лицензия № 2402 от 10.06.2016",
    ),
    DemoProvider(
        "sledopyt",
        "МБУ ДО «Центр детского туризма и краеведения «Следопыт»»",
        _ORG,
        5,
        "ust-kamchatsky",
        "п. Усть-Камчатск, ул. Советская, 15",
        "+7 (41534) 2-50-05",
        "sledopyt@edu.example.ru",
        "Лицензия № 2650 от 30.01.2017",
    ),
    DemoProvider(
        "belova",
        "ИП Белова Ольга Николаевна (центр развития «Умница»)",
        ProviderKind.ENTREPRENEUR,
        6,
        "milkovo",
        "с. Мильково, ул. Ленинская, 40",
        "+7 (41533) 2-60-06",
        "umnitsa@belova.example.ru",
        "Лицензия № 2987 от 05.04.2020",
    ),
)
# The provider of the PROVIDER token printed by `make run`.
DEMO_PROVIDER = PROVIDERS[0]
_BY_SLUG = {provider.slug: provider for provider in PROVIDERS}


# --- programs --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoProgram:
    provider: str  # DemoProvider.slug
    title: str
    direction: Direction
    age_min: int
    age_max: int
    rubles_per_month: int  # 0: free
    capacity: int
    certified: bool
    schedule: str
    description: str

    def draft(self, provider: DemoProvider) -> ProgramDraft:
        return ProgramDraft(
            title=self.title,
            description=self.description,
            direction=self.direction,
            age_min=self.age_min,
            age_max=self.age_max,
            municipality=provider.municipality,
            address=provider.address,
            schedule=self.schedule,
            price_per_month=self.rubles_per_month * 100,
            capacity=self.capacity,
        )


_T, _N, _S = Direction.TECHNICAL, Direction.NATURAL_SCIENCE, Direction.PHYSICAL_SPORTS
_A, _K, _H = Direction.ARTS, Direction.TOURISM_LOCAL_HISTORY, Direction.SOCIAL_HUMANITARIAN
PROGRAMS = (
    # ДЮСШ «Вулкан», Петропавловск-Камчатский
    DemoProgram(
        "vulkan",
        "Футбол: первые шаги",
        _S,
        7,
        12,
        1500,
        25,
        True,
        "вт, чт 16:00–17:30; сб 11:00–12:30",
        "Техника владения мячом, игра в команде, общая физическая подготовка. Товарищеские матчи с командами края.",
    ),
    DemoProgram(
        "vulkan",
        "Общая физическая подготовка для малышей",
        _S,
        5,
        7,
        1000,
        20,
        True,
        "пн, ср 17:00–17:45",
        "Подвижные игры, координация, гибкость и правильная осанка для дошкольников и первоклассников.",
    ),
    DemoProgram(
        "vulkan",
        "Лыжные гонки",
        _S,
        9,
        17,
        1800,
        20,
        True,
        "вт, чт, сб 15:00–17:00",
        "Классический и коньковый ход, подготовка к краевым соревнованиям; летом — кросс и лыжероллеры.",
    ),
    DemoProgram(
        "vulkan",
        "Спортивное плавание",
        _S,
        7,
        14,
        2500,
        15,
        True,
        "пн, ср, пт 18:00–19:00",
        "Обучение кролю, брассу и плаванию на спине; занятия в бассейне с тренером-преподавателем.",
    ),
    DemoProgram(
        "vulkan",
        "Шахматы для начинающих",
        _S,
        6,
        12,
        0,
        16,
        False,
        "сб 10:00–11:30",
        "Правила игры, основы дебюта и эндшпиля, решение задач, турниры внутри клуба.",
    ),
    DemoProgram(
        "vulkan",
        "Волейбол",
        _S,
        11,
        17,
        1500,
        24,
        True,
        "пн, ср, пт 16:30–18:00",
        "Подача, приём, нападающий удар и блок; игровая практика и участие в школьной лиге.",
    ),
    DemoProgram(
        "vulkan",
        "Горный туризм: юные спасатели",
        _K,
        12,
        17,
        2000,
        12,
        True,
        "сб 10:00–14:00",
        "Техника безопасности в горах, вязка узлов, первая помощь, выходы к подножию Авачинского вулкана.",
    ),
    # Центр детского технического творчества, Петропавловск-Камчатский
    DemoProgram(
        "cdtt",
        "Робототехника на LEGO Education",
        _T,
        10,
        15,
        1200,
        12,
        True,
        "вт, чт 15:30–17:00",
        "Конструирование и программирование роботов, датчики и моторы, подготовка к соревнованиям.",
    ),
    DemoProgram(
        "cdtt",
        "Начальное техническое моделирование",
        _T,
        7,
        10,
        0,
        15,
        True,
        "ср 15:00–16:30",
        "Модели из бумаги и картона, простые механизмы, чтение чертежа, работа с инструментом.",
    ),
    DemoProgram(
        "cdtt",
        "Программирование на Python",
        _T,
        12,
        17,
        2000,
        12,
        True,
        "пн, ср 17:00–18:30",
        "Переменные, циклы, функции, работа с файлами; итоговый проект — собственная игра или бот.",
    ),
    DemoProgram(
        "cdtt",
        "3D-моделирование и прототипирование",
        _T,
        11,
        16,
        2200,
        10,
        True,
        "вт, пт 16:00–17:30",
        "Моделирование в Blender и КОМПАС-3D, печать прототипов на 3D-принтере.",
    ),
    DemoProgram(
        "cdtt",
        "Авиамоделирование",
        _T,
        9,
        15,
        1500,
        10,
        False,
        "сб 12:00–14:00",
        "Постройка и запуск свободнолетающих и кордовых моделей самолётов.",
    ),
    DemoProgram(
        "cdtt",
        "Радиоэлектроника и схемотехника",
        _T,
        12,
        17,
        1800,
        10,
        True,
        "чт 16:00–18:00",
        "Пайка, измерительные приборы, сборка простых устройств на микроконтроллерах Arduino.",
    ),
    DemoProgram(
        "cdtt",
        "Медиацентр: юный журналист",
        _H,
        11,
        16,
        1000,
        15,
        True,
        "пт 15:00–16:30",
        "Жанры журналистики, интервью, фото- и видеосъёмка, выпуск школьной газеты и новостного канала.",
    ),
    # Школа искусств «Камчадалочка», Елизово
    DemoProgram(
        "kamchadalochka",
        "Изобразительное искусство",
        _A,
        7,
        12,
        1200,
        15,
        True,
        "вт, чт 15:00–16:30",
        "Рисунок, живопись и композиция; пленэры и выставки работ учащихся.",
    ),
    DemoProgram(
        "kamchadalochka",
        "Хореография: народный танец",
        _A,
        6,
        14,
        1500,
        20,
        True,
        "пн, ср 17:00–18:30",
        "Танцы народов России и Камчатки, постановка номеров к концертам и фестивалям.",
    ),
    DemoProgram(
        "kamchadalochka",
        "Вокальная студия «Капель»",
        _A,
        7,
        15,
        1300,
        15,
        True,
        "вт, пт 16:00–17:00",
        "Постановка голоса, сольное и ансамблевое пение, выступления на городских праздниках.",
    ),
    DemoProgram(
        "kamchadalochka",
        "Гитара для начинающих",
        _A,
        10,
        17,
        2000,
        8,
        True,
        "ср, сб 14:00–15:00",
        "Аккорды, бой и перебор, чтение табулатур; ансамблевая игра.",
    ),
    DemoProgram(
        "kamchadalochka",
        "Декоративно-прикладное творчество: лепка и роспись",
        _A,
        5,
        10,
        0,
        16,
        True,
        "сб 11:00–12:30",
        "Лепка из глины и солёного теста, роспись по дереву, поделки из природных материалов.",
    ),
    DemoProgram(
        "kamchadalochka",
        "Театральная студия «Маска»",
        _A,
        8,
        14,
        1000,
        20,
        False,
        "пт 16:00–18:00",
        "Актёрское мастерство, сценическая речь, постановка спектаклей для младших школьников.",
    ),
    DemoProgram(
        "kamchadalochka",
        "Корякский орнамент и бисероплетение",
        _A,
        8,
        15,
        900,
        12,
        True,
        "чт 15:00–16:30",
        "Традиционные узоры коренных народов Камчатки, вышивка бисером и работа с мехом.",
    ),
    DemoProgram(
        "kamchadalochka",
        "Английский язык в игре",
        _H,
        6,
        9,
        1500,
        10,
        True,
        "пн, чт 15:00–15:45",
        "Первые слова и фразы, песни и игры на английском языке для младших школьников.",
    ),
    # Станция юных натуралистов, Вилючинск
    DemoProgram(
        "unnat",
        "Юный эколог Камчатки",
        _N,
        8,
        12,
        800,
        15,
        True,
        "вт, чт 15:00–16:00",
        "Растения и животные полуострова, наблюдения в природе, природоохранные акции.",
    ),
    DemoProgram(
        "unnat",
        "Морская биология: жители Авачинской бухты",
        _N,
        11,
        16,
        1200,
        12,
        True,
        "ср 16:00–18:00",
        "Морские беспозвоночные, рыбы и млекопитающие бухты; работа с микроскопом и аквариумом.",
    ),
    DemoProgram(
        "unnat",
        "Вулканология для школьников",
        _N,
        12,
        17,
        1500,
        12,
        True,
        "сб 11:00–13:00",
        "Как устроены вулканы и гейзеры Камчатки, минералы и горные породы, экскурсии с учёными.",
    ),
    DemoProgram(
        "unnat",
        "Химия вокруг нас",
        _N,
        10,
        14,
        1000,
        12,
        True,
        "пн 16:00–17:30",
        "Опыты с веществами из повседневной жизни, лабораторная техника и безопасность.",
    ),
    DemoProgram(
        "unnat",
        "Цветоводство и ландшафтный дизайн",
        _N,
        7,
        12,
        0,
        15,
        False,
        "ср 15:00–16:00",
        "Выращивание рассады, уход за комнатными растениями, оформление пришкольного участка.",
    ),
    DemoProgram(
        "unnat",
        "Астрономия: звёздное небо Камчатки",
        _N,
        10,
        17,
        1000,
        15,
        True,
        "пт 18:00–19:30",
        "Созвездия, планеты и телескоп; наблюдения и фотографирование звёздного неба.",
    ),
    DemoProgram(
        "unnat",
        "Кинология: юный друг собаки",
        _N,
        9,
        15,
        1200,
        10,
        True,
        "сб 10:00–12:00",
        "Породы собак, уход и дрессировка; камчатская ездовая собака и её история.",
    ),
    # Центр детского туризма и краеведения «Следопыт», Усть-Камчатск
    DemoProgram(
        "sledopyt",
        "Школа юного туриста",
        _K,
        10,
        15,
        1000,
        15,
        True,
        "вт, пт 16:00–17:30",
        "Туристское снаряжение, ориентирование, организация бивака, однодневные походы.",
    ),
    DemoProgram(
        "sledopyt",
        "Краеведение: история Камчатского края",
        _K,
        10,
        17,
        0,
        20,
        True,
        "чт 15:00–16:30",
        "От экспедиций Беринга до наших дней: история края, работа с архивами и музейными фондами.",
    ),
    DemoProgram(
        "sledopyt",
        "Этнография коренных народов Камчатки",
        _K,
        11,
        17,
        800,
        15,
        True,
        "ср 15:00–16:30",
        "Быт, промыслы и праздники ительменов, коряков и эвенов; встречи с носителями традиций.",
    ),
    DemoProgram(
        "sledopyt",
        "Спортивное ориентирование",
        _K,
        9,
        16,
        1200,
        15,
        True,
        "пн, ср 16:00–17:30",
        "Карта и компас, выбор пути, тренировки на местности и участие в краевых стартах.",
    ),
    DemoProgram(
        "sledopyt",
        "Юные экскурсоводы краеведческого музея",
        _H,
        12,
        17,
        0,
        12,
        False,
        "сб 12:00–13:30",
        "Подготовка и проведение экскурсий по экспозиции музея, публичные выступления.",
    ),
    DemoProgram(
        "sledopyt",
        "Водный туризм: сплав по рекам Камчатки",
        _K,
        13,
        17,
        2000,
        10,
        False,
        "сб 10:00–15:00",
        "Техника гребли, безопасность на воде, подготовка к сплаву по реке Камчатке.",
    ),
    # ИП Белова, Мильково
    DemoProgram(
        "belova",
        "Подготовка к школе «Грамотейка»",
        _H,
        5,
        7,
        2000,
        10,
        True,
        "пн, ср, пт 10:00–10:40",
        "Звуки и буквы, чтение по слогам, счёт до двадцати, подготовка руки к письму.",
    ),
    DemoProgram(
        "belova",
        "Английский язык: разговорный клуб",
        _H,
        10,
        15,
        1800,
        8,
        True,
        "вт, чт 16:00–17:00",
        "Разговорная практика, ролевые игры и проекты на английском языке.",
    ),
    DemoProgram(
        "belova",
        "Ментальная арифметика",
        _H,
        6,
        11,
        1500,
        10,
        True,
        "пн, чт 17:00–18:00",
        "Устный счёт на абакусе и в уме, развитие внимания и памяти.",
    ),
    DemoProgram(
        "belova",
        "Психология общения для подростков",
        _H,
        13,
        17,
        1000,
        12,
        True,
        "ср 17:00–18:30",
        "Как договариваться, слушать и выступать; тренинги уверенности и работы в команде.",
    ),
    DemoProgram(
        "belova",
        "Финансовая грамотность",
        _H,
        10,
        15,
        0,
        15,
        False,
        "сб 11:00–12:00",
        "Карманные деньги, бюджет семьи, банковская карта и защита от мошенников.",
    ),
    DemoProgram(
        "belova",
        "Скорочтение и развитие памяти",
        _H,
        7,
        12,
        1200,
        10,
        True,
        "вт, пт 15:00–16:00",
        "Техника быстрого чтения, понимание текста, приёмы запоминания.",
    ),
    DemoProgram(
        "belova",
        "Робототехника для малышей",
        _T,
        5,
        8,
        1500,
        8,
        True,
        "сб 10:00–11:00",
        "Первые конструкции с моторами и датчиками, простые алгоритмы в игровой форме.",
    ),
)


# --- contracts -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoContract:
    guardian_sub: str
    child: str  # full name
    provider: str  # DemoProvider.slug
    program: str  # title
    accepted: bool
    charged: bool  # the month it was seeded in (a month that has begun: the contract starts in it)

    @property
    def request_key(self) -> str:
        """The enrolment's Idempotency-Key: the same on every start, so the contract is found, not made again."""
        return f"seed:{self.provider}:{self.program}"


CONTRACTS = (
    DemoContract("parent-ivanova", "Иванов Артём Сергеевич", "vulkan", "Футбол: первые шаги", True, True),
    DemoContract(
        "parent-petrova", "Петров Лев Андреевич", "vulkan", "Общая физическая подготовка для малышей", False, False
    ),
    DemoContract("parent-petrova", "Петрова Мария Андреевна", "cdtt", "Робототехника на LEGO Education", True, False),
    DemoContract(
        "parent-smirnov", "Смирнова Софья Дмитриевна", "kamchadalochka", "Изобразительное искусство", True, False
    ),
    DemoContract(
        "parent-kuznetsova",
        "Кузнецова Ева Ильинична",
        "kamchadalochka",
        "Декоративно-прикладное творчество: лепка и роспись",
        False,
        False,
    ),
    DemoContract("parent-popova", "Попова Варвара Олеговна", "unnat", "Юный эколог Камчатки", True, True),
    DemoContract("parent-lebedeva", "Лебедев Тимофей Романович", "belova", "Ментальная арифметика", True, False),
)


def seed_provider(ctx: Context, provider: DemoProvider, say: Say) -> None:
    """Applies (if the registry has no entry under its ИНН) and has the regional operator approve the application."""
    try:
        entry = providers.view(ctx, provider.principal, provider.inn)
    except errors.ProviderNotFound:
        entry = providers.apply(ctx, provider.principal, provider.application())
        say(f"seed: provider {provider.inn} {provider.name} applied")
    if entry.status is ProviderStatus.APPLIED:
        providers.decide_on(ctx, REGIONAL_OPERATOR, provider.inn, ProviderDecision.APPROVE, None)
        say(f"seed: provider {provider.inn} approved by {REGIONAL_OPERATOR.sub}")


def _programs_of(ctx: Context, provider: DemoProvider) -> list[Program]:
    found: list[Program] = []
    after: dict[str, Any] | None = None
    while True:
        page = programs.of_provider(ctx, provider.principal, provider.inn, 100, after)
        found += page.items
        after = page.next_key
        if after is None:
            return found


def seed_programs(ctx: Context, period_id: str, say: Say) -> dict[tuple[str, str], Program]:
    """Publishes each provider's programs in ``period_id`` that it does not have yet, and certifies those meant to
    be certified; returns them by (provider slug, title)."""
    seeded: dict[tuple[str, str], Program] = {}
    for provider in PROVIDERS:
        existing = {p.title: p for p in _programs_of(ctx, provider) if p.period_id == period_id}
        published = certified = 0
        for demo in (d for d in PROGRAMS if d.provider == provider.slug):
            program = existing.get(demo.title)
            if program is None:
                program = programs.create(ctx, provider.principal, demo.draft(provider), period_id, None)
                published += 1
            if demo.certified and program.status is ProgramStatus.PUBLISHED:
                program = programs.certify(ctx, REGIONAL_OPERATOR, program.program_id)
                certified += 1
            seeded[(provider.slug, demo.title)] = program
        if published or certified:
            say(f"seed: provider {provider.inn}: {published} programs published, {certified} certified")
    return seeded


def seed_contract(ctx: Context, demo: DemoContract, seeded: dict[tuple[str, str], Program], say: Say) -> None:
    """Enrols the child (found again by its fixed key), has the provider accept, and charges the current month."""
    program = seeded.get((demo.provider, demo.program))
    certificate = next((c for c in certificate_store.of_guardian(demo.guardian_sub) if c.full_name == demo.child), None)
    if program is None or certificate is None:
        return
    parent = Principal(sub=demo.guardian_sub, role=Role.PARENT)
    provider = _BY_SLUG[demo.provider].principal
    try:
        contract = contracts.enrol(ctx, parent, certificate.certificate_id, program.program_id, demo.request_key)
        if contract.status is ContractStatus.REQUESTED and demo.accepted:
            contract = contracts.accept(ctx, provider, contract.contract_id)
            say(f"seed: contract {contract.contract_id} ({demo.child}, {demo.program}) accepted")
        if demo.charged and contract.status is ContractStatus.ACTIVE and not contract.charges:
            month = str(Month.of(ctx.today()))
            contracts.charge(ctx, provider, contract.contract_id, month, contract.price_per_month)
            say(f"seed: contract {contract.contract_id} charged {contract.price_per_month} kopecks for {month}")
    except errors.DomainError as refused:  # e.g. the clock was moved, the money spent by hand: the demo still starts
        say(f"seed: {demo.child} in {demo.program!r}: {refused.code}")


def seed_region(ctx: Context, say: Say = print) -> list[str]:
    """Seeds the demo region (idempotent) and returns the parents' subs, in the order of ``FAMILIES``.

    ``ctx`` must be bound to the tables (``storage.models.bind_tables``) and use the region's time zone.
    """
    if ctx.settings.region_timezone != REGION_TIMEZONE:
        say(f"seed: note: the demo region is {REGION_TIMEZONE}, the settings say {ctx.settings.region_timezone}")
    periods = seed_periods(ctx, say)
    for family in FAMILIES:
        seed_family(ctx, family, say)
    for provider in PROVIDERS:
        seed_provider(ctx, provider, say)
    seeded = seed_programs(ctx, periods[0], say)
    for contract in CONTRACTS:
        seed_contract(ctx, contract, seeded, say)
    children = sum(len(family.children) for family in FAMILIES)
    say(
        f"seed: demo region in place: periods {', '.join(periods)}; {len(FAMILIES)} families, {children} children; "
        f"{len(PROVIDERS)} providers, {len(seeded)} programs, {len(CONTRACTS)} contracts"
    )
    return list(PARENT_SUBS)
