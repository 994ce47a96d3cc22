"""The Navigator in a real browser: Debian's Chromium driven by Playwright, against the real local stack.

One stack for the module: `python -m devtools.run` (what `make run` runs) on free ports with the demo region seeded
(DynamoDB Local, chalice local answering through the Function URL handler, the built web/dist on its own origin, so
CORS and the site's CSP are the real ones). Every page a journey visits is checked by ``Pages.check``: axe-core
finds no serious or critical violation, and a full-page screenshot at 360 and 1280 px goes to test-artifacts/.
Console errors are collected for the whole test and must all be expected by it.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Playwright, sync_playwright

from devtools import ddb_local
from devtools.run import READY, stop_group

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps trying hosts this machine cannot reach.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WIDTHS = (360, 1280)
START_TIMEOUT = 180.0
BLOCKING = ("serious", "critical")


@dataclass
class Stack:
    api: str
    web: str
    process: subprocess.Popen[bytes]
    log: Path

    def call(
        self,
        method: str,
        path: str,
        token: str | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        sent = {"Content-Type": "application/json", **(headers or {})}
        if token:
            sent["Authorization"] = f"Bearer {token}"
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.api + path, data=data, method=method, headers=sent)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as failure:
            return failure.code, json.loads(failure.read() or b"null")

    def token(self, **claims: str) -> str:
        status, body = self.call("POST", "/dev/token", body=claims)
        assert status == 201, body
        return str(body["token"])


def free_ports(count: int) -> list[int]:
    ports: list[int] = []
    while len(ports) < count:
        port = ddb_local.free_port()
        if port not in ports:
            ports.append(port)
    return ports


@pytest.fixture(scope="session")
def built_web() -> Path:
    """web/dist, built by `make web` (which `make test` runs first; again here when the tests run alone)."""
    subprocess.run(["make", "--no-print-directory", "web"], cwd=ROOT, check=True, timeout=600)
    return ROOT / "web" / "dist"


@pytest.fixture(scope="session")
def stack(built_web: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    api_port, ddb_port, s3_port, web_port = free_ports(4)
    data = tmp_path_factory.mktemp("navigator-stack")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PFDO_", "AWS_"))}
    env.update(
        PORT=str(api_port),
        DDB_PORT=str(ddb_port),
        S3_PORT=str(s3_port),
        WEB_PORT=str(web_port),
        DATA_DIR=str(data / "data"),
        SEED="1",
    )
    log = data / "run.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "devtools.run"],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for_ready(process, log)
        yield Stack(f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{web_port}", process, log)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                stop_group(process)
        for pid in re.findall(r"\(pid (\d+)\)", log.read_text(encoding="utf-8", errors="replace")):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(int(pid), 0)  # still there only if run.py itself died
                os.killpg(int(pid), signal.SIGKILL)


def wait_for_ready(process: subprocess.Popen[bytes], log: Path) -> None:
    import time

    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        text = log.read_text(encoding="utf-8", errors="replace")
        if any(line.startswith(READY) for line in text.splitlines()):
            return
        if process.poll() is not None:
            raise AssertionError(f"devtools.run exited with {process.returncode}:\n{text[-4000:]}")
        time.sleep(0.2)
    raise AssertionError(f"devtools.run was not ready in {START_TIMEOUT}s:\n{log.read_text()[-4000:]}")


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@dataclass
class Console:
    """Console errors and uncaught exceptions of every page of a test."""

    errors: list[str] = field(default_factory=list)

    def watch(self, page: Page) -> None:
        page.on("console", self._message)
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))

    def _message(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            # A failed request's message does not name it; its location does (what an expected 404 is of).
            url = message.location.get("url", "")
            self.errors.append(f"{message.text} [{url}]" if url else message.text)

    def assert_clean(self, *expected: str) -> None:
        """Every error matches one of ``expected`` (regexes of the failures the test provoked on purpose)."""
        unexpected = [e for e in self.errors if not any(re.search(pattern, e) for pattern in expected)]
        assert not unexpected, unexpected


@dataclass
class Pages:
    """Checks a page as a person would meet it: accessible, and how it looks on a phone and on a desktop."""

    page: Page
    console: Console
    checked: list[str] = field(default_factory=list)

    def check(self, name: str) -> None:
        page = self.page
        page.wait_for_load_state("networkidle")
        # Settled: nothing the page is still loading (an SPA's later requests are not the document's load state).
        page.wait_for_function("() => !document.querySelector('.loading, [aria-busy=\"true\"]')")
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 800})
            page.wait_for_timeout(100)
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"{name}-{width}.png"), full_page=True)
            violations = page.evaluate(
                """async () => (await axe.run(document, {resultTypes: ["violations"]})).violations.map(v => ({
                    id: v.id, impact: v.impact, help: v.help,
                    nodes: v.nodes.slice(0, 5).map(n => n.target.join(" "))}))"""
            )
            blocking = [v for v in violations if v["impact"] in BLOCKING]
            assert not blocking, f"{name} at {width} px: {json.dumps(blocking, ensure_ascii=False, indent=1)}"
            overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 0, f"{name} at {width} px scrolls sideways by {overflow} px"
        page.set_viewport_size({"width": 1280, "height": 800})
        self.checked.append(name)


@pytest.fixture
def console() -> Console:
    return Console()


def new_context(browser: Browser) -> BrowserContext:
    """A fresh browser profile with axe-core in every page (an init script: the site's CSP allows no inline one)."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="ru-RU", accept_downloads=True)
    context.add_init_script(path=str(AXE))
    return context


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    context = new_context(browser)
    yield context
    context.close()


@pytest.fixture
def other_context(browser: Browser) -> Iterator[BrowserContext]:
    """A second person at another computer (an operator while a provider works in ``context``)."""
    context = new_context(browser)
    yield context
    context.close()


@pytest.fixture
def page(context: BrowserContext, console: Console) -> Page:
    page = context.new_page()
    page.set_default_timeout(20_000)
    console.watch(page)
    return page


@pytest.fixture
def pages(page: Page, console: Console) -> Pages:
    return Pages(page, console)


@pytest.fixture
def other_page(other_context: BrowserContext, console: Console) -> Page:
    page = other_context.new_page()
    page.set_default_timeout(20_000)
    console.watch(page)
    return page


@pytest.fixture
def other_pages(other_page: Page, console: Console, pages: Pages) -> Pages:
    """Checks of the second person's pages, counted with the first's."""
    return Pages(other_page, console, pages.checked)
