"""Whole journeys of providers and operators through the Navigator, in Chromium, against the real local stack.

A new provider applies and uploads its licence from the browser straight to the local S3 (CORS and the upload's
signed policy as S3 answers them: devtools/local_s3.py), a municipal operator at another computer opens that document
and approves the provider, certifies its program, and later finds the provider's charge in the spending report (fed
by the stream consumer, so the page is refreshed until it shows) and decides the parent's objection to it. The
regional operator's year: the population, the coverage against its targets, the top-up followed live, a new period,
a certificate frozen and unfrozen, a merge refused. What the parent does goes through the API, as the parents'
journeys (test_navigator.py) already do it through the page.
"""

from __future__ import annotations

import hashlib
import json
import re
import urllib.request
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

from chalicelib.domain.provider import ProviderKind, is_valid_ogrn
from devtools import seed
from tests.browser.conftest import Console, Pages, Stack

pytestmark = pytest.mark.xdist_group("browser")

ELIZOVO = "elizovo"
# A scan of a licence: a PDF's first bytes are what the registry checks the type by.
LICENCE = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n% licence No 3141 of 2024\n%%EOF\n"


def rub(text: str) -> re.Pattern[str]:
    """An amount as the page writes it ("1 300 ₽", any spaces between the groups) inside ``text``."""
    return re.compile(re.escape(text).replace(r"\ ", r"\s"))


def this_month() -> str:
    return datetime.now(ZoneInfo(seed.REGION_TIMEZONE)).strftime("%Y-%m")


def birth_date(years: int) -> str:
    return f"{datetime.now(ZoneInfo(seed.REGION_TIMEZONE)).year - years}-05-20"


def an_ogrn(serial: int) -> str:
    """A 13-digit ОГРН of Kamchatka (tax region 41) with its check digit."""
    stem = f"1024100{serial:05d}"
    return next(stem + str(d) for d in range(10) if is_valid_ogrn(stem + str(d), ProviderKind.ORGANIZATION))


def sign_in(page: Page, stack: Stack, button: str) -> None:
    page.goto(f"{stack.web}/#/sign-in")
    page.get_by_role("button", name=button).click()


def a_family(stack: Stack, sub: str, *children: tuple[str, int]) -> tuple[str, list[str]]:
    """A parent (through the API) with funded children in Elizovo; its token and the certificates."""
    token = stack.token(role="parent", sub=sub)
    certificates = []
    for name, years in children:
        status, child = stack.call(
            "POST", "/children", token, {"full_name": name, "birth_date": birth_date(years), "municipality": ELIZOVO}
        )
        assert status == 201, child
        certificate = str(child["certificate"]["id"])
        status, funded = stack.call("POST", f"/certificates/{certificate}/funding", token)
        assert status == 200 and funded["status"] == "funded", funded
        certificates.append(certificate)
    return token, certificates


def spending_by_provider(stack: Stack, operator: str) -> dict[str, Any]:
    status, report = stack.call("GET", f"/reports/spending?municipality={ELIZOVO}&group_by=provider", operator)
    assert status == 200, report
    return {row["key"]: row for row in report["rows"]}


def test_a_new_provider_applies_with_its_licence_is_approved_certified_and_charges_and_the_operator_reports_it(
    stack: Stack, page: Page, pages: Pages, other_page: Page, other_pages: Pages, console: Console
) -> None:
    provider, operator = page, other_page

    # The provider: a login the registry has not seen applies.
    sign_in(provider, stack, "Войти как новый поставщик")
    expect(provider.get_by_role("heading", level=1, name="Организация")).to_be_visible()
    menu = provider.get_by_role("navigation", name="Основное меню")
    for item in ("Организация", "Программы", "Договоры", "Списания", "Отзывы"):
        expect(menu.get_by_role("link", name=item)).to_be_visible()
    expect(menu.get_by_role("link", name="Мои дети")).to_have_count(0)
    inn = provider.get_by_label("ИНН").input_value()
    assert re.fullmatch(r"41\d{8}", inn), inn
    name = "АНО ДО «Клуб юных исследователей «Гейзер»»"
    provider.get_by_label("Полное наименование организации").fill(name)
    provider.get_by_label("ОГРН").fill("1024100000001")  # a wrong check digit: said before anything is sent
    provider.get_by_label("Лицензия на образовательную деятельность").fill("Лицензия № 3141 от 01.09.2024")
    provider.get_by_label("Муниципалитет").select_option(ELIZOVO)
    provider.get_by_label("Адрес").fill("г. Елизово, ул. Ленина, 5")
    provider.get_by_label("Телефон").fill("+7 (41531) 7-00-01")
    provider.get_by_label("Электронная почта").fill("geyser@club.example.ru")
    provider.get_by_role("button", name="Подать заявку").click()
    expect(provider.get_by_text("проверьте контрольную цифру")).to_be_visible()
    pages.check("provider-application")
    provider.get_by_label("ОГРН").fill(an_ogrn(777))
    provider.get_by_role("button", name="Подать заявку").click()
    expect(provider.get_by_role("heading", level=1, name=name)).to_be_visible()
    expect(provider.locator(".decision")).to_contain_text("Заявка на рассмотрении")

    # Its licence, from the browser straight to the bucket, then confirmed.
    provider.get_by_label("Какой документ").select_option("licence")
    provider.get_by_label("Файл (PDF, JPEG или PNG)").set_input_files(
        {"name": "licence.pdf", "mimeType": "application/pdf", "buffer": LICENCE}
    )
    provider.get_by_role("button", name="Загрузить").click()
    expect(provider.get_by_role("status").filter(has_text="загружен и проверен")).to_contain_text("licence.pdf")
    expect(provider.locator(".documents")).to_contain_text("Лицензия")
    pages.check("provider-organization")
    regional = stack.token(role="operator", sub="operator-browser", municipality="*")
    status, entry = stack.call("GET", f"/providers/{inn}", regional)
    assert status == 200 and entry["status"] == "applied", entry
    (document,) = entry["documents"]
    assert document["sha256"] == hashlib.sha256(LICENCE).hexdigest() and document["size"] == len(LICENCE)

    # The municipal operator finds the application, opens the licence and approves.
    sign_in(operator, stack, "Войти: Муниципальный оператор")
    expect(operator.get_by_role("heading", level=1, name="Поставщики")).to_be_visible()
    expect(operator.get_by_role("link", name=name)).to_be_visible()
    other_pages.check("operator-providers")
    operator.get_by_role("link", name=name).click()
    expect(operator.get_by_role("heading", level=1, name=name)).to_be_visible()
    licence = operator.get_by_role("link", name="Открыть: Лицензия")
    href = licence.get_attribute("href") or ""
    assert href.startswith("http://127.0.0.1:") and f"providers/{inn}/" in href, href
    with operator.expect_popup() as opened:
        licence.click()
    opened.value.close()
    answer = operator.request.get(href)  # what the link serves: the file the provider uploaded
    assert answer.status == 200 and answer.body() == LICENCE
    other_pages.check("operator-provider-review")
    operator.get_by_role("button", name="Одобрить заявку").click()
    operator.get_by_label(re.compile("Комментарий")).fill("Лицензия проверена.")
    operator.get_by_role("button", name="Одобрить заявку").click()
    expect(operator.get_by_role("status").filter(has_text="в реестре")).to_be_visible()
    expect(operator.locator(".decision")).to_contain_text("В реестре")

    # The provider, approved, publishes a program.
    provider.reload()
    expect(provider.locator(".decision")).to_contain_text("Лицензия проверена.")
    provider.get_by_role("link", name="Программы").click()
    provider.get_by_role("link", name="Новая программа").click()
    title = "Юные вулканологи"
    provider.get_by_label("Название").fill(title)
    provider.get_by_label("Описание").fill("Как устроены вулканы Камчатки: опыты, модели, экскурсии к гейзерам.")
    provider.get_by_label("Направленность").select_option("natural_science")
    provider.get_by_label("Возраст от (лет)").fill("8")
    provider.get_by_label("Возраст до (лет)").fill("14")
    provider.get_by_label("Расписание").fill("ср, пт 15:00–16:30")
    provider.get_by_label("Цена в месяц, ₽").fill("1200")
    provider.get_by_label("Мест", exact=True).fill("10")
    pages.check("provider-program-new")
    provider.get_by_role("button", name="Опубликовать").click()
    card = provider.locator(".program-card").filter(has_text=title)
    expect(card).to_contain_text("Ждёт сертификации")
    pages.check("provider-programs")

    # The operator certifies it.
    operator.get_by_role("link", name="Программы").click()
    candidate = operator.locator(".card").filter(has_text=title)
    expect(candidate).to_contain_text(name)
    other_pages.check("operator-certification")
    candidate.get_by_role("button", name=f"Сертифицировать «{title}»").click()
    expect(operator.get_by_role("status").filter(has_text="Сертифицированы")).to_contain_text(f"«{title}»")

    # The provider changes the price of the certified program: what it means is said before saving.
    provider.reload()
    expect(card).to_contain_text("Сертифицирована")
    card.get_by_role("link", name=f"Изменить «{title}»").click()
    provider.get_by_label("Цена в месяц, ₽").fill("1300")
    notice = provider.get_by_test_id("certified-terms")
    expect(notice).to_contain_text("только для новых договоров")
    expect(notice).to_contain_text("вернётся на сертификацию")
    pages.check("provider-program-edit")
    provider.get_by_role("button", name="Сохранить изменения условий").click()
    expect(card).to_contain_text(rub("1 300 ₽"))
    expect(card).to_contain_text("Ждёт сертификации")  # a new price is certified again before a certificate pays it
    program_id = card.get_attribute("data-program")

    # The operator certifies the new terms.
    operator.reload()
    candidate = operator.locator(".card").filter(has_text=title)
    expect(candidate).to_contain_text(rub("1 300 ₽"))
    candidate.get_by_role("button", name=f"Сертифицировать «{title}»").click()
    expect(operator.get_by_role("status").filter(has_text="Сертифицированы")).to_contain_text(f"«{title}»")

    # A family enrols (the parents' pages are tested elsewhere: here, the API).
    parent, (certificate,) = a_family(stack, "parent-browser-geyser", ("Семёнова Ульяна Игоревна", 10))
    status, contract = stack.call(
        "POST",
        "/contracts",
        parent,
        {"certificate_id": certificate, "program_id": program_id},
        {"Idempotency-Key": "browser-geyser-enrolment"},
    )
    assert status == 201 and contract["price_per_month"] == 130000, contract

    # The provider accepts the application and charges the month for every active contract at once.
    provider.get_by_role("link", name="Договоры").click()
    incoming = provider.locator(f"[data-contract='{contract['id']}']")
    expect(incoming).to_contain_text(certificate)
    pages.check("provider-contracts")
    incoming.get_by_role("button", name=f"Принять заявку № {contract['id']}").click()
    expect(provider.get_by_role("status").filter(has_text="принята")).to_be_visible()
    provider.get_by_role("link", name="Списания").click()
    line = provider.locator(f".charge-line[data-contract='{contract['id']}']")
    expect(line).to_contain_text(title)
    provider.get_by_role("button", name=re.compile(r"^Списать за .*: 1 договор на 1\s300\s₽$")).click()
    expect(line).to_contain_text(rub("Списано 1 300 ₽"))
    expect(provider.get_by_test_id("charge-summary")).to_contain_text("Списано по 1 договору")
    pages.check("provider-charges")
    month = this_month()
    provider.goto(f"{stack.web}/#/provider/contracts/{contract['id']}")
    expect(provider.locator(f"[data-month='{month}']")).to_contain_text(rub("списано 1 300 ₽"))
    pages.check("provider-contract")

    # The operator sees the charge in the spending report once the stream consumer counted it.
    operator.get_by_role("link", name="Отчёты").click()
    by_provider = operator.locator("[data-report='spending-provider']")
    for _ in range(60):
        if name in by_provider.inner_text():
            break
        operator.wait_for_timeout(500)
        operator.get_by_role("button", name="Обновить").click()
        operator.wait_for_load_state("networkidle")
    expect(by_provider).to_contain_text(name)
    expect(by_provider.locator("tr", has_text=name)).to_contain_text(rub("1 300 ₽"))
    assert spending_by_provider(stack, regional)[inn]["spent_kopecks"] == 130000
    other_pages.check("operator-reports")
    with operator.expect_download() as csv_download:
        by_provider.get_by_role("button", name=re.compile("Скачать CSV")).click()
    csv = csv_download.value.path().read_text(encoding="utf-8-sig")
    assert inn in csv and "130000" in csv

    # The parent objects to the charge; the operator upholds the objection.
    status, objection = stack.call(
        "POST",
        f"/contracts/{contract['id']}/charges/{month}/objection",
        parent,
        {"reason": "Занятий не было: группа не набралась."},
    )
    assert status == 201, objection
    operator.get_by_role("link", name="Претензии").click()
    filed = operator.locator(f"[data-objection='{objection['id']}']")
    expect(filed).to_contain_text("Занятий не было")
    other_pages.check("operator-objections")
    filed.get_by_role("button", name="Удовлетворить…").click()
    filed.get_by_label(re.compile("Почему претензия обоснована")).fill("Поставщик подтвердил, что занятий не было.")
    filed.get_by_role("button", name="Удовлетворить: вернуть списание").click()
    expect(operator.get_by_role("status").filter(has_text="удовлетворена")).to_be_visible()

    # The provider reads the decision.
    provider.get_by_role("link", name="Отзывы").click()
    expect(provider.get_by_role("region", name="Претензии к списаниям")).to_contain_text("Удовлетворена")
    expect(provider.get_by_text("Поставщик подтвердил, что занятий не было.")).to_be_visible()
    pages.check("provider-feedback")

    status, decided = stack.call("GET", f"/objections/{objection['id']}", parent)
    assert status == 200 and decided["status"] == "upheld" and decided["returned_to"] == "available", decided
    status, balance = stack.call("GET", f"/certificates/{certificate}", parent)
    assert status == 200 and balance["balance"]["spent"] == 0, balance
    assert len(pages.checked) == 14
    # The one failed request: the new login's registry entry, before it applied.
    console.assert_clean(rf"status of 404 .*\[{re.escape(stack.api)}/providers/{inn}\]$")


def test_the_regional_operators_year_population_coverage_top_up_a_new_period_and_a_certificate(
    stack: Stack, page: Page, pages: Pages, console: Console
) -> None:
    parent, (first, second) = a_family(
        stack, "parent-browser-kovaleva", ("Ковалёв Тимур Андреевич", 9), ("Ковалёва Ника Андреевна", 12)
    )
    sign_in(page, stack, "Войти: Региональный оператор")
    menu = page.get_by_role("navigation", name="Основное меню")
    for item in ("Поставщики", "Программы", "Сертификаты", "Периоды", "Отчёты", "Претензии"):
        expect(menu.get_by_role("link", name=item)).to_be_visible()
    year = str(datetime.now(ZoneInfo(seed.REGION_TIMEZONE)).year)

    # The population of the running period: the coverage shares' denominator.
    menu.get_by_role("link", name="Периоды").click()
    running = page.locator(f"[data-period='{year}']")
    expect(running).to_contain_text(f"Текущий период: {year}")
    populations = {"petropavlovsk-kamchatsky": 40, ELIZOVO: 50, "vilyuchinsk": 100, "ust-kamchatsky": 80, "milkovo": 30}
    names = _names(stack)
    for municipality, children in populations.items():
        running.get_by_label(names[municipality]).fill(str(children))
    running.get_by_role("button", name="Сохранить численность").click()
    expect(running.get_by_role("status")).to_contain_text("Численность сохранена")

    # The top-up of the running period, followed live to its end.
    running.get_by_role("button", name="Запустить пополнение").click()
    topup = running.get_by_test_id("topup")
    expect(running.get_by_text("Завершено")).to_be_visible(timeout=60_000)
    expect(topup).to_contain_text("4 из 4")
    pages.check("operator-periods")

    # A new period, with an age group's nominal and two municipalities' quotas.
    opening = page.get_by_role("form", name="Открыть период")
    new_period = opening.get_by_label("Код периода").input_value()
    opening.get_by_label("Номинал, ₽ в год").fill("25000")
    opening.get_by_role("button", name="Добавить возрастную группу").click()
    opening.get_by_label("Номинал, ₽", exact=True).fill("31000")
    opening.get_by_label(names[ELIZOVO]).fill("500")
    opening.get_by_label(names["milkovo"]).fill("10")
    opening.get_by_role("button", name="Открыть период").click()
    opened = page.locator(f"[data-period='{new_period}']")
    expect(opened).to_contain_text(rub("25 000 ₽"))
    expect(opened).to_contain_text(rub("31 000 ₽"))
    expect(opened).to_contain_text("Пополнение начнётся само")
    operator = stack.token(role="operator", sub="operator-browser", municipality="*")
    status, period = stack.call("GET", f"/periods/{new_period}", operator)
    assert status == 200 and period["nominal"] == 2_500_000, period
    assert {q["municipality"]: q["quota"] for q in period["quotas"]} == {ELIZOVO: 500, "milkovo": 10}

    # Coverage drawn against its two targets, with its figures as a table.
    menu.get_by_role("link", name="Отчёты").click()
    chart = page.locator("[data-chart='coverage-chart']")
    expect(chart.locator(".chart-row")).to_have_count(len(populations) + 1)  # and the whole region
    expect(chart).to_contain_text("Минимум 5 %")
    expect(chart).to_contain_text("Целевая модель 25 %")
    assert chart.locator(".chart-target").count() == 2 * 2 * (len(populations) + 1)  # two lines across both bars
    expect(page.locator("#coverage-chart-summary")).to_contain_text("Доля детей с сертификатом финансирования")
    pages.check("operator-reports-region")

    # A certificate: looked up, frozen with a reason, unfrozen; a merge of two children is refused.
    menu.get_by_role("link", name="Сертификаты").click()
    page.get_by_label("Номер сертификата").fill(first)
    page.get_by_role("button", name="Найти").click()
    shown = page.locator(f"[data-certificate='{first}']")
    expect(shown).to_contain_text("Сертификат финансирования")
    shown.get_by_role("button", name="Заблокировать…").click()
    shown.get_by_label("Причина блокировки").fill("Проверка документов о месте жительства.")
    shown.get_by_role("button", name="Заблокировать", exact=True).click()
    expect(shown.get_by_role("status")).to_contain_text("заблокирован")
    expect(shown).to_contain_text("Заблокирован оператором")
    status, frozen = stack.call("GET", f"/certificates/{first}", parent)
    assert status == 200 and frozen["status"] == "frozen", frozen
    pages.check("operator-certificates")
    shown.get_by_role("button", name="Разблокировать").click()
    expect(shown).to_contain_text("Сертификат финансирования")
    shown.get_by_label(re.compile("Основной сертификат")).fill(second)
    shown.get_by_role("button", name="Объединить с основным").click()
    shown.get_by_role("button", name="Да, объединить").click()
    expect(shown.get_by_role("alert").filter(has_text="нельзя объединить")).to_be_visible()
    status, still = stack.call("GET", f"/certificates/{first}", parent)
    assert status == 200 and still["status"] == "funded", still
    assert len(pages.checked) == 3
    console.assert_clean(rf"status of 409 .*\[{re.escape(stack.api)}/certificates/{first}/merge\]$")


def _names(stack: Stack) -> dict[str, str]:
    """The municipalities' Russian names, as the site's config.json gives them."""
    with urllib.request.urlopen(f"{stack.web}/config.json", timeout=10) as answer:
        return dict(json.load(answer)["municipalities"])
