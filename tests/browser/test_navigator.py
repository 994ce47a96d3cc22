"""Whole journeys of parents through the Navigator, in Chromium, against the real local stack (conftest.py).

The provider's and the operator's parts go through the API with their tokens, as their own cabinets would; what the
parent does goes through the page only, and what it made is checked through the API afterwards.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Page, Route, expect

from devtools import seed
from tests.browser.conftest import Console, Pages, Stack

pytestmark = pytest.mark.xdist_group("browser")

FOOTBALL = "Футбол: первые шаги"  # ДЮСШ «Вулкан»: 7-12 years, 1 500 ₽ a month, certified
VULKAN = seed.DEMO_PROVIDER
CITY = VULKAN.municipality
TOKEN_KEY = "pfdo.token"


def this_month() -> str:
    return datetime.now(ZoneInfo(seed.REGION_TIMEZONE)).strftime("%Y-%m")


def a_birth_date(years: int) -> str:
    return f"{datetime.now(ZoneInfo(seed.REGION_TIMEZONE)).year - years}-04-12"


def rub(kopecks: int) -> re.Pattern[str]:
    """How the page writes an amount of whole roubles: "1 500 ₽" (any spaces between the groups)."""
    groups = f"{kopecks // 100:,}".split(",")
    return re.compile(r"\s".join(groups) + r"\s₽")


def provider_token(stack: Stack) -> str:
    return stack.token(role="provider", sub=VULKAN.sub, provider_id=VULKAN.inn)


def sign_in_as_new_parent(page: Page, stack: Stack) -> str:
    """Signs in through the local sign-in page as a parent nobody has seen; returns the page's token."""
    page.goto(f"{stack.web}/#/sign-in")
    page.get_by_role("button", name="Войти как новый родитель").click()
    expect(page.get_by_role("heading", level=1, name="Мои дети")).to_be_visible()
    token = page.evaluate(f"sessionStorage.getItem({TOKEN_KEY!r})")
    assert isinstance(token, str)
    return token


def a_funded_child(stack: Stack, token: str, name: str) -> str:
    """Registers and funds a child through the API (the first journey does it through the page); its certificate."""
    status, child = stack.call(
        "POST", "/children", token, {"full_name": name, "birth_date": a_birth_date(9), "municipality": CITY}
    )
    assert status == 201, child
    certificate = str(child["certificate"]["id"])
    status, funded = stack.call("POST", f"/certificates/{certificate}/funding", token)
    assert status == 200 and funded["status"] == "funded", funded
    return certificate


def find_program(stack: Stack, title: str) -> dict[str, Any]:
    query = urlencode({"municipality": CITY, "q": title, "limit": 50})
    for _ in range(20):
        status, page = stack.call("GET", f"/programs?{query}")
        assert status == 200, page
        found = [item for item in page["items"] if item["title"] == title]
        if found:
            return dict(found[0])
        if page["cursor"] is None:
            break
        query = urlencode({"municipality": CITY, "q": title, "limit": 50, "cursor": page["cursor"]})
    raise AssertionError(f"{title!r} is not in the catalog")


def contracts_of(stack: Stack, token: str) -> list[dict[str, Any]]:
    status, body = stack.call("GET", "/contracts?limit=50", token)
    assert status == 200, body
    return list(body["contracts"])


def test_a_new_parent_registers_a_child_funds_it_enrols_and_follows_the_money(
    stack: Stack, page: Page, pages: Pages, console: Console
) -> None:
    page.goto(f"{stack.web}/#/sign-in")
    expect(page.get_by_role("heading", name="Родители")).to_be_visible()
    expect(page.get_by_text(VULKAN.name)).to_be_visible()  # the seeded people are listed
    pages.check("sign-in")
    parent = sign_in_as_new_parent(page, stack)
    pages.check("children-empty")

    # A child and its certificate, then funding under the quota.
    page.get_by_label("Фамилия, имя, отчество ребёнка").fill("Орлова Дарья Павловна")
    page.get_by_label("Дата рождения").fill(a_birth_date(10))
    page.get_by_label("Муниципалитет проживания").select_option(CITY)
    page.get_by_role("button", name="Получить сертификат").click()
    issued = page.get_by_role("status").filter(has_text="выдан")
    expect(issued).to_contain_text("Орлова Дарья Павловна")
    certificate = re.search(r"\d{10}", issued.inner_text())
    assert certificate is not None
    card = page.locator(f"[data-certificate='{certificate[0]}']")
    expect(card).to_contain_text("Сертификат учёта")
    card.get_by_role("button", name="Получить финансирование").click()
    expect(card).to_contain_text("Сертификат финансирования")
    expect(card.get_by_test_id("available")).to_contain_text("₽")
    pages.check("children")

    # The catalog: text search and a filter; the program's page.
    page.get_by_role("link", name="Каталог").click()
    expect(page.get_by_test_id("catalog").get_by_role("listitem").first).to_be_visible()
    pages.check("catalog")
    page.get_by_label("Что ищем").fill("футбол")
    page.get_by_label("Муниципалитет").select_option(CITY)
    page.get_by_role("button", name="Найти").click()
    page.get_by_role("link", name=FOOTBALL).click()
    expect(page.get_by_role("heading", level=1, name=FOOTBALL)).to_be_visible()
    expect(page.get_by_text(VULKAN.name)).to_be_visible()
    pages.check("program")

    # Enrolment: the hold is shown, then in the certificate's cabinet.
    page.get_by_role("radio", name=re.compile("Орлова Дарья")).check()
    page.get_by_role("button", name="Записать ребёнка").click()
    expect(page.get_by_role("status").filter(has_text="Заявка отправлена")).to_contain_text("зарезервировано")
    (contract,) = contracts_of(stack, parent)
    assert contract["status"] == "requested" and contract["held"] == contract["hold"] > 0
    page.get_by_role("link", name="Кабинет сертификата").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(certificate[0])
    expect(page.locator("dd[data-part='held']")).to_have_text(rub(contract["hold"]))
    expect(page.locator("tr[data-kind='hold']")).to_be_visible()

    # The provider accepts and charges the month (its own cabinet: the API).
    vulkan = provider_token(stack)
    status, accepted = stack.call("POST", f"/contracts/{contract['id']}/accept", vulkan)
    assert status == 200 and accepted["status"] == "active", accepted
    month = this_month()
    status, charge = stack.call(
        "POST",
        f"/contracts/{contract['id']}/charges",
        vulkan,
        {"month": month, "amount": contract["price_per_month"]},
        {"Idempotency-Key": f"browser-charge-{contract['id']}"},
    )
    assert status == 201, charge

    # The parent sees the charge in the ledger and downloads the statement.
    page.reload()
    expect(page.locator("tr[data-kind='charge']")).to_contain_text("Оплата занятий")
    expect(page.locator("dd[data-part='spent']")).to_have_text(rub(contract["price_per_month"]))
    pages.check("certificate")
    with page.expect_download() as csv_download:
        page.get_by_role("button", name="Скачать CSV").click()
    csv = csv_download.value.path().read_text(encoding="utf-8-sig")
    assert certificate[0] in csv and "charge" in csv
    with page.expect_download() as pdf_download:
        page.get_by_role("button", name="Скачать PDF").click()
    assert pdf_download.value.path().read_bytes().startswith(b"%PDF")

    # Contracts: the month charged, an objection to it, a rating of the program.
    page.get_by_role("link", name="Договоры").click()
    card = page.locator(f"[data-contract='{contract['id']}']")
    expect(card).to_contain_text("Действует")
    charged = card.locator(f"[data-month='{month}']")
    expect(charged).to_contain_text(rub(contract["price_per_month"]))
    pages.check("contracts")
    charged.get_by_role("button", name="Оспорить списание").click()
    card.get_by_label(re.compile("Почему вы не согласны")).fill("Занятий не было две недели: тренер болел.")
    card.get_by_role("button", name="Подать претензию").click()
    expect(charged).to_contain_text("Претензия: На рассмотрении")
    card.get_by_role("radio", name="5").check()
    card.get_by_label("Отзыв (необязательно)").fill("Хороший тренер, ребёнку нравится.")
    card.get_by_role("button", name="Отправить оценку").click()
    expect(card.get_by_text("Спасибо! Ваша оценка учтена.")).to_be_visible()
    pages.check("contracts-objected")

    status, objections = stack.call("GET", "/objections", parent)
    assert status == 200, objections
    assert [(o["contract_id"], o["month"], o["status"]) for o in objections["objections"]] == [
        (contract["id"], month, "open")
    ]
    status, ratings = stack.call("GET", f"/programs/{contract['program_id']}/ratings")
    assert status == 200 and any(r["score"] == 5 for r in ratings["ratings"]), ratings
    assert len(pages.checked) == 8
    console.assert_clean()


def test_an_enrolment_retried_after_a_busy_server_and_a_lost_answer_or_double_clicked_makes_one_contract(
    stack: Stack, page: Page, console: Console
) -> None:
    parent = sign_in_as_new_parent(page, stack)
    first = a_funded_child(stack, parent, "Морозов Илья Петрович")
    second = a_funded_child(stack, parent, "Морозова Вера Петровна")
    football = find_program(stack, FOOTBALL)

    # The first POST meets a busy server (503, Retry-After: 1): the page retries by itself. The retry reaches the
    # server, which makes the contract, but its answer is lost on the way back: the page offers "Повторить".
    posts: list[dict[str, str]] = []

    def flaky(route: Route) -> None:
        request = route.request
        if request.method != "POST":
            route.continue_()
            return
        posts.append(request.headers)
        if len(posts) == 1:
            cors = {"Access-Control-Allow-Origin": stack.web, "Access-Control-Expose-Headers": "Retry-After"}
            body = {"error": {"code": "unavailable", "message": "busy"}}
            route.fulfill(status=503, headers={**cors, "Retry-After": "1"}, json=body)
        elif len(posts) == 2:
            answer = route.fetch()
            assert answer.status == 201, answer.text()
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route(f"{stack.api}/contracts", flaky)
    page.goto(f"{stack.web}/#/programs/{football['program_id']}")
    page.get_by_role("radio", name=re.compile("Морозов Илья")).check()
    page.get_by_role("button", name="Записать ребёнка").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Нет связи с сервером")
    assert len(posts) == 2  # the 503 was retried without the parent
    alert.get_by_role("button", name="Повторить").click()
    expect(page.get_by_role("status").filter(has_text="Заявка отправлена")).to_be_visible()
    assert len(posts) == 3
    keys = {headers["idempotency-key"] for headers in posts}
    assert len(keys) == 1, keys  # one attempt, one key
    page.unroute(f"{stack.api}/contracts")

    # A double click on another child's enrolment.
    page.reload()
    page.get_by_role("radio", name=re.compile("Морозова Вера")).check()
    page.get_by_role("button", name="Записать ребёнка").dblclick()
    expect(page.get_by_role("status").filter(has_text="Заявка отправлена")).to_be_visible()
    page.wait_for_load_state("networkidle")

    contracts = contracts_of(stack, parent)
    by_certificate = sorted((c["certificate_id"], c["program_id"]) for c in contracts)
    assert by_certificate == sorted([(first, football["program_id"]), (second, football["program_id"])])
    console.assert_clean(r"status of 503", r"net::ERR_CONNECTION_RESET")


def test_a_program_whose_last_seat_went_meanwhile_shows_the_refusal_in_russian(
    stack: Stack, page: Page, pages: Pages, console: Console
) -> None:
    vulkan = provider_token(stack)
    operator = stack.token(role="operator", sub="operator-browser", municipality="*")
    period = str(datetime.now(ZoneInfo(seed.REGION_TIMEZONE)).year)
    draft = {
        "title": "Шахматы: индивидуальные занятия",
        "description": "Одно место: занятия с гроссмейстером один на один.",
        "direction": "social_humanitarian",
        "age_min": 7,
        "age_max": 14,
        "municipality": CITY,
        "address": "г. Петропавловск-Камчатский, ул. Ленинская, 12",
        "schedule": "сб 12:00–13:00",
        "period_id": period,
        "price_per_month": 50000,
        "capacity": 1,
    }
    status, program = stack.call("POST", "/programs", vulkan, draft)
    assert status == 201, program
    status, certified = stack.call("POST", f"/programs/{program['program_id']}/certification", operator)
    assert status == 200, certified

    parent = sign_in_as_new_parent(page, stack)
    a_funded_child(stack, parent, "Зайцев Олег Игоревич")
    page.goto(f"{stack.web}/#/programs/{program['program_id']}")
    expect(page.get_by_test_id("free-seats")).to_contain_text("1 свободное место")

    # Meanwhile another family takes the only seat.
    other = stack.token(role="parent", sub="parent-browser-rival")
    rival = a_funded_child(stack, other, "Волков Пётр Игоревич")
    status, taken = stack.call(
        "POST",
        "/contracts",
        other,
        {"certificate_id": rival, "program_id": program["program_id"]},
        {"Idempotency-Key": "browser-rival"},
    )
    assert status == 201, taken

    page.get_by_role("radio", name=re.compile("Зайцев Олег")).check()
    page.get_by_role("button", name="Записать ребёнка").click()
    expect(page.get_by_role("alert")).to_have_text(re.compile("Свободных мест в программе не осталось"))
    expect(page.get_by_role("alert").get_by_role("button", name="Повторить")).to_have_count(0)  # a refusal
    pages.check("program-no-seats")
    assert contracts_of(stack, parent) == []
    console.assert_clean(r"status of 409")


HOSTED_UI = "https://pfdo-test.auth.eu-central-1.amazoncognito.com"


def send_back(route: Route, location: str) -> None:
    """The Hosted UI's redirect back to the site, as a page that goes there (the routes then see that request;
    Playwright follows a fulfilled 302 without showing its target to the routes)."""
    route.fulfill(content_type="text/html", body=f"<script>location.replace({json.dumps(location)})</script>")


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def test_cognito_sign_in_is_the_authorization_code_flow_with_pkce_and_sign_out_ends_it(
    stack: Stack, browser: Browser, console: Console
) -> None:
    """The Hosted UI is played by routes: /oauth2/authorize sends the browser back with a code, /oauth2/token
    gives an ID token (a local one, which the local API accepts) only for the verifier of the challenge it saw.
    The site's config.json names the Hosted UI. The local site's CSP does not (the deployed one does, tested in
    tests/infra), and a page served by a route is not on the loopback address space, so the context bypasses CSP
    rather than serving the page itself."""
    site = f"{stack.web}/"
    seen: dict[str, Any] = {}

    def config_json(route: Route) -> None:
        response = route.fetch()
        assert response.status == 200
        config = response.json()
        config["people"] = None
        config["cognito"] = {
            "domain": HOSTED_UI,
            "clientId": "web-client",
            "redirectUri": site,
            "scopes": ["openid", "email", "profile"],
        }
        route.fulfill(response=response, json=config)

    def authorize(route: Route) -> None:
        query = {k: v[0] for k, v in parse_qs(urlsplit(route.request.url).query).items()}
        seen["authorize"] = query
        location = f"{query['redirect_uri']}?{urlencode({'code': 'the-code', 'state': query['state']})}"
        send_back(route, location)

    def token(route: Route) -> None:
        cors = {"Access-Control-Allow-Origin": stack.web}
        if route.request.method == "OPTIONS":
            route.fulfill(status=204, headers={**cors, "Access-Control-Allow-Headers": "Content-Type"})
            return
        form = {k: v[0] for k, v in parse_qs(route.request.post_data or "").items()}
        seen["token"] = form
        challenge = seen["authorize"]["code_challenge"]
        if form.get("code") != "the-code" or s256(form.get("code_verifier", "")) != challenge:
            route.fulfill(status=400, headers=cors, json={"error": "invalid_grant"})
            return
        id_token = stack.token(role="parent", sub="parent-cognito")
        route.fulfill(headers=cors, json={"id_token": id_token, "access_token": "a", "token_type": "Bearer"})

    def logout(route: Route) -> None:
        seen["logout"] = {k: v[0] for k, v in parse_qs(urlsplit(route.request.url).query).items()}
        send_back(route, seen["logout"]["logout_uri"])

    context = browser.new_context(bypass_csp=True, locale="ru-RU")
    page = context.new_page()
    console.watch(page)
    page.route(f"{stack.web}/config.json", config_json)
    page.route(f"{HOSTED_UI}/oauth2/authorize?*", authorize)
    page.route(f"{HOSTED_UI}/oauth2/token", token)
    page.route(f"{HOSTED_UI}/logout?*", logout)
    page.goto(f"{stack.web}/#/sign-in?next=%23%2Fchildren")
    page.get_by_role("button", name="Войти или зарегистрироваться").click()
    page.wait_for_url(re.compile(r"#/children$"))

    asked = seen["authorize"]
    assert (asked["response_type"], asked["client_id"], asked["redirect_uri"]) == ("code", "web-client", site)
    assert asked["code_challenge_method"] == "S256" and len(asked["code_challenge"]) == 43
    assert len(asked["state"]) >= 16 and set(asked["scope"].split()) == {"openid", "email", "profile"}
    sent = seen["token"]
    assert sent["grant_type"] == "authorization_code" and sent["redirect_uri"] == site
    assert 43 <= len(sent["code_verifier"]) <= 128
    assert "code=" not in page.url  # the code is off the address bar
    expect(page.get_by_role("heading", level=1, name="Мои дети")).to_be_visible()
    expect(page.get_by_text("Вы ещё не добавили ни одного ребёнка.")).to_be_visible()  # the API took the token

    page.get_by_role("button", name="Выйти").click()
    expect(page.get_by_role("link", name="Войти")).to_be_visible()
    assert seen["logout"] == {"client_id": "web-client", "logout_uri": site}
    assert page.evaluate(f"sessionStorage.getItem({TOKEN_KEY!r})") is None
    context.close()
    console.assert_clean()


def test_every_refusal_code_of_the_api_has_a_russian_message(stack: Stack) -> None:
    """The client's messages (web/src/errors.ts) name every code the stage's OpenAPI document lists."""
    import pathlib

    status, document = stack.call("GET", "/openapi.json")
    assert status == 200
    codes = {
        code
        for operation in (op for path in document["paths"].values() for op in path.values())
        for answer in operation["responses"].values()
        for content in answer.get("content", {}).values()
        for code in content["schema"]
        .get("properties", {})
        .get("error", {})
        .get("properties", {})
        .get("code", {})
        .get("enum", [])
    }
    assert len(codes) > 40
    source = (pathlib.Path(__file__).resolve().parents[2] / "web" / "src" / "errors.ts").read_text(encoding="utf-8")
    block = source.split("export const MESSAGES", 1)[1].split("};", 1)[0]
    messages = dict(re.findall(r"^\s+(\w+): \"([^\"]+)\",?$", block, flags=re.MULTILINE))
    missing = sorted(codes - set(messages))
    assert not missing, missing
    assert all(re.search("[а-яё]", text) for text in messages.values())
    json.dumps(messages)
