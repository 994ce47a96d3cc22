"""The Navigator: how much a parent's browser downloads, and how soon the catalog shows.

    .venv/bin/python -m bench.web               # web/dist as built (make web), 15 loads
    .venv/bin/python -m bench.web --loads 5

- **size**: the client's JavaScript and CSS (web/dist/assets) gzipped at level 6, as a server or CDN compresses
  them; index.html and config.json are a few hundred bytes more. Goal: JS + CSS ≤ 100 KB. Apart: what a parent's
  first load fetches (the page's entry script, the chunks it preloads, the CSS): the providers' and operators' pages
  are a chunk loaded only when one of them is opened.
- **the catalog's first render**: `python -m devtools.run` (what `make run` runs: DynamoDB Local on disk, the
  demo region seeded, chalice local, the site on its own origin) on free ports, then headless Chromium (Debian's,
  as in the tests) opens the catalog in a fresh profile each time (no cache): the time from the start of the
  navigation to the page's ``catalog-rendered`` mark, set when the first page of programs is on screen (config.json,
  the bundle, GET /programs across origins, the render). The first load also pays the API's cold start (the
  catalog's modules load with their first request); it is reported apart, and the goal (≤ 1.5 s) is for the
  median of the others.
Nothing is asserted: this prints figures.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from devtools import ddb_local
from devtools.run import READY

ROOT = Path(__file__).resolve().parent.parent
DIST = ROOT / "web" / "dist"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
GZIP_LEVEL = 6
START_TIMEOUT = 300.0
MARK = "catalog-rendered"


def sizes(dist: Path = DIST) -> dict[str, int]:
    """Bytes of the client's JS and CSS, raw and gzipped; and gzipped, what the page itself names (a first load)."""
    found = {"js_bytes": 0, "css_bytes": 0, "js_gzip_bytes": 0, "css_gzip_bytes": 0, "first_load_gzip_bytes": 0}
    page = (dist / "index.html").read_text(encoding="utf-8")
    named = set(re.findall(r'(?:src|href)="/(assets/[^"]+)"', page))
    for path in sorted((dist / "assets").iterdir()):
        kind = path.suffix.lstrip(".")
        if kind not in ("js", "css"):
            continue
        data = path.read_bytes()
        zipped = len(gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0))
        found[f"{kind}_bytes"] += len(data)
        found[f"{kind}_gzip_bytes"] += zipped
        if f"assets/{path.name}" in named:
            found["first_load_gzip_bytes"] += zipped
    return found


@contextmanager
def running_stack() -> Iterator[str]:
    """`python -m devtools.run` on free ports with the demo region; yields the Navigator's URL, stops it after."""
    ports: list[int] = []
    while len(ports) < 4:
        port = ddb_local.free_port()
        if port not in ports:
            ports.append(port)
    with tempfile.TemporaryDirectory(prefix="pfdo-bench-web-") as data:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PFDO_", "AWS_"))}
        env.update(
            PORT=str(ports[0]),
            DDB_PORT=str(ports[1]),
            S3_PORT=str(ports[2]),
            WEB_PORT=str(ports[3]),
            DATA_DIR=data,
            SEED="1",
        )
        log = Path(data) / "run.log"
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
            deadline = time.monotonic() + START_TIMEOUT
            while READY not in log.read_text(encoding="utf-8", errors="replace"):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"devtools.run did not start:\n{log.read_text()[-3000:]}")
                time.sleep(0.2)
            yield f"http://127.0.0.1:{ports[3]}"
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def first_renders(url: str, loads: int) -> list[float]:
    """Milliseconds from navigation start to the catalog's first render, each load in a fresh browser profile."""
    from playwright.sync_api import sync_playwright

    times: list[float] = []
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for _ in range(loads):
                context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="ru-RU")
                page = context.new_page()
                page.goto(f"{url}/#/")
                page.wait_for_function(f"() => performance.getEntriesByName({MARK!r}).length > 0", timeout=60_000)
                times.append(float(page.evaluate(f"() => performance.getEntriesByName({MARK!r})[0].startTime")))
                context.close()
        finally:
            browser.close()
    return times


def run(loads: int = 15) -> dict[str, Any]:
    if not (DIST / "index.html").exists():
        raise RuntimeError("web/dist is not built: `make web` (make bench does it first)")
    measured = sizes()
    with running_stack() as url:
        times = first_renders(url, max(loads, 2))
    cold, warm = times[0], times[1:]
    return {
        **measured,
        "gzip_level": GZIP_LEVEL,
        "loads": len(times),
        "first_render_cold_api_ms": round(cold, 1),
        "first_render_p50_ms": round(statistics.median(warm), 1),
        "first_render_max_ms": round(max(warm), 1),
        "first_render_ms": [round(t, 1) for t in times],
    }


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.web", description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--loads", type=int, default=15, help="catalog loads in fresh profiles (default 15)")
    args = parser.parse_args()
    print(json.dumps(run(args.loads), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
